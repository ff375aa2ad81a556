"""FRR configuration files for every router of a lab, rendered from router-configs/*.j2.

One file per daemon (FRR's per-daemon start with ``-f DIR/<daemon>.conf``, as measured in
platform.md), plus the Debian ``daemons`` file and a ``vtysh.conf``:

    zebra.conf   hostname, addresses (loopback on lo), ``mpls enable`` toward same-domain routers
    ospfd.conf   area 0 on every interface, p2p/broadcast, hello 1 / dead 4, link costs,
                 passive where only hosts sit behind the interface, router-id = loopback,
                 LSA min-arrival 0 (fast start-up flooding)
    ldpd.conf    only for routers in an MPLS domain: router-id, transport address, hello 1 /
                 holdtime 4, label policy
                 (``ldp: loopbacks`` -> host-routes only; ``popping: uhp`` -> explicit null)
    daemons      zebra + ospfd (+ ldpd for MPLS routers)
    vtysh.conf   ``no service integrated-vtysh-config`` (the files above are per daemon)

Hosts get no FRR configuration.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from testbed.paths import ROUTER_CONFIGS
from testbed.lab.model import Interface, Lab, Node

# OSPF timers on every OSPF interface (platform.md: point-to-point with hello 1 / dead 4
# converged in ~12 s; the broadcast wait timer equals the dead interval, so LANs get them too).
# lsa_min_arrival 0: at start-up every router re-originates its router-LSA several times
# within a second; with FRR's default (1000 ms) a neighbour discards the later instances and
# waits for the 5 s retransmission, twice along a line: routes came ~10 s after the
# adjacencies were full. With 0 they come within a second (namespace runtime, FRR mode).
OSPF_TIMERS = {"hello": 1, "dead": 4, "lsa_min_arrival": 0}
# LDP discovery: hellos every second (FRR's default is 5 s, so a session whose active side
# started after its peer's first hello waited up to 5 s for the next one); holdtime 4 like
# OSPF's dead interval.
LDP_TIMERS = {"hello": 1, "holdtime": 4}

# the daemons listed in Debian's /etc/frr/daemons (frrcommon.sh), in its order
ALL_DAEMONS = ("bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "pim6d", "ldpd", "nhrpd",
               "eigrpd", "babeld", "sharpd", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd")

# rendered file -> template
TEMPLATES = {
    "zebra.conf": "zebra.conf.j2",
    "ospfd.conf": "ospfd.conf.j2",
    "ldpd.conf": "ldpd.conf.j2",
    "daemons": "daemons.j2",
    "vtysh.conf": "vtysh.conf.j2",
}
# rendered file -> what testbed.frr.check.check_config() feeds it to
CHECKER = {
    "zebra.conf": "zebra",
    "ospfd.conf": "ospfd",
    "ldpd.conf": "ldpd",
    "daemons": "daemons",
    "vtysh.conf": "vtysh.conf",
}


@dataclass(frozen=True)
class IfaceView:
    """What the templates need to know about one interface of a router."""
    name: str
    address: str          # "A/P"
    kind: str             # "p2p" or "lan"
    cost: int
    ospf_network: str     # "point-to-point" or "broadcast"
    passive: bool         # no router behind it (only hosts): OSPF passive
    mpls: bool            # a router of the same MPLS domain behind it: mpls enable + LDP
    description: str
    peers: tuple[str, ...]


def one_line(value) -> str:
    """The escaping of every value a config template prints (jinja's finalize): FRR configs
    are line commands and the daemons file is shell sourced by FRR's start-up script as
    root, so a value can never end a line or start another (a newline, a terminal escape or
    any other control character is written escaped, as text). Names are checked against the
    name rule before they get here; this holds whatever a value is."""
    from testbed.errors import printable
    return printable("" if value is None else str(value))


def _env(template_dir: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir or ROUTER_CONFIGS)),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, autoescape=False, finalize=one_line)


def _iface_view(lab: Lab, node: Node, itf: Interface) -> IfaceView:
    peers = itf.peers()
    peer_nodes = [lab.nodes[p.node] for p in peers]
    routers = [n for n in peer_nodes if n.is_router]
    same_domain = any(set(n.domains) & set(node.domains) for n in routers)   # an LDP session (back to back: either domain)
    link = itf.link
    if link.kind == "p2p":
        p = peers[0]
        desc = f"to {p.node} {p.name} (link {link.name}, p2p, cost {itf.cost})"
    else:
        desc = f"LAN {link.name} with {', '.join(p.node for p in peers)} (cost {itf.cost})"
    return IfaceView(
        name=itf.name, address=str(itf.address), kind=link.kind, cost=itf.cost,
        ospf_network="point-to-point" if link.kind == "p2p" else "broadcast",
        passive=not routers, mpls=same_domain, description=desc,
        peers=tuple(p.node for p in peers))


def router_files(lab: Lab, node_name: str) -> list[str]:
    """The file names render_router() produces for a node (empty for a host)."""
    node = _node(lab, node_name)
    if not node.is_router:
        return []
    files = ["zebra.conf", "ospfd.conf"]
    if node.domain is not None:
        files.append("ldpd.conf")
    return files + ["daemons", "vtysh.conf"]


def _node(lab: Lab, node_name: str) -> Node:
    try:
        return lab.nodes[node_name]
    except KeyError:
        raise KeyError(f"no node '{node_name}' in lab {lab.name}; "
                       f"routers: {', '.join(n.name for n in lab.routers)}") from None


def _ldp_fecs(lab: Lab, node_name: str) -> list[str]:
    """The prefixes this router binds a label to in the lab model (testbed.controlplane):
    its vendor's policy (all prefixes of the domain, or loopbacks only) minus customer
    prefixes that the model carries in BGP. Rendered as an access-list so FRR's ldpd
    allocates exactly these (`label local allocate for`), whatever else its RIB holds."""
    cache = getattr(lab, "_frr_cp", None)
    if cache is None:
        from testbed.controlplane import build
        cache = build(lab)
        lab._frr_cp = cache
    b = cache.tables[node_name].bindings
    return [str(p) for p in sorted(b, key=lambda p: (int(p.network_address), p.prefixlen))]


def render_router(lab: Lab, node_name: str, *, log_dir: str | Path | None = None,
                  template_dir: Path | None = None) -> dict[str, str]:
    """{file name: text} of the FRR configuration of one router ({} for a host).

    log_dir: if given, each daemon logs to <log_dir>/<daemon>.log (a path as seen by the
    daemon, usually the router's run directory); by default the configs contain no log line.
    """
    node = _node(lab, node_name)
    if not node.is_router:
        return {}
    if node.loopback is None:  # the lab builder assigns one to every router
        raise ValueError(f"router {node.name} has no loopback")
    env = _env(template_dir)
    enabled = ["ospfd"] + (["ldpd"] if node.domain is not None else [])
    fecs = _ldp_fecs(lab, node_name) if node.domain is not None else []
    ctx = {
        "lab": lab,
        "node": node,
        "ifaces": [_iface_view(lab, node, i) for i in node.interfaces],
        "ospf": OSPF_TIMERS,
        "ldp": LDP_TIMERS,
        "enabled": enabled,
        "all_daemons": ALL_DAEMONS,
        "log_dir": str(log_dir).rstrip("/") if log_dir else None,
        "ldp_fecs": fecs,
    }
    return {f: env.get_template(TEMPLATES[f]).render(**ctx) for f in router_files(lab, node_name)}


def render_lab(lab: Lab, out_dir: Path, *, log_dir: str | Path | None = None) -> list[Path]:
    """Write out_dir/<router>/<file> for every router; returns the written paths.

    Files of ours left over from an earlier rendering (an ldpd.conf of a router that is no
    longer in an MPLS domain) are removed. log_dir, if given, is a directory under which each
    router logs to <log_dir>/<router>/<daemon>.log.
    """
    out_dir = Path(out_dir)
    written: list[Path] = []
    for node in lab.routers:
        files = render_router(lab, node.name,
                              log_dir=(f"{str(log_dir).rstrip('/')}/{node.name}" if log_dir else None))
        d = out_dir / node.name
        d.mkdir(parents=True, exist_ok=True)
        for stale in set(TEMPLATES) - set(files):
            (d / stale).unlink(missing_ok=True)
        for fname, text in files.items():
            p = d / fname
            p.write_text(text)
            p.chmod(0o644)
            written.append(p)
    return written
