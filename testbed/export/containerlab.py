"""A lab as a containerlab topology: FRR routers on the Linux kernel's MPLS data plane.

`export_containerlab(lab, out_dir)` writes

    <name>.clab.yml        the topology (pyyaml, checked against containerlab's JSON schema,
                           testbed/export/schema/clab.schema.json, before it is written)
    nodes/<router>/        zebra.conf, ospfd.conf, ldpd.conf, daemons, vtysh.conf: bound to
                           the router's /etc/frr (FRR daemons also log there)
    README.md              how to deploy it, what each node is, which tunnel classes a
                           Linux/FRR data plane reproduces, management network, LANs, scale-out
    host-bridges.sh        only with lan="bridge": creates/removes the host bridges

Mapping (every choice is explained to the user in templates/README.md.j2):

* Routers are `kind: linux` nodes running an FRR image. The model's eth0, eth1, ... become
  eth1, eth2, ... (containerlab keeps eth0 for its management network); the FRR configs are
  rendered by testbed.frr from a copy of the lab with the renamed interfaces, so every name
  in them (interface stanzas, LDP interfaces, peer names in descriptions) is the renamed one.
* Kernel MPLS: `net.mpls.platform_labels` and `net.mpls.ip_ttl_propagate` (the router's
  ttl_propagate, i.e. its domain's knob over the vendor default) go in `sysctls:` (set in the
  container's own network namespace when it is created). `net.mpls.conf.<if>.input` cannot:
  containerlab creates the container before it attaches the links, and the per-interface
  sysctl only exists once the interface does. It is set by `exec:` (run after the links are
  attached) for every interface that zebra.conf marks `mpls enable`.
* Hosts are `kind: linux` nodes with a small Linux image; `exec:` gives them their address and a
  default route into the lab.
* Management network: by default containerlab's usual one (eth0) is kept but carries no lab
  traffic: hosts' default route points into the lab, routers lose the management default route,
  and OSPF/LDP run on lab interfaces only. `mgmt=False` removes it (`network-mode: none` on every
  node and `mgmt.skip-when-unused`).
* LANs: lan="switch" (default) puts one small `kind: linux` container per LAN that bridges its
  ports (no host set-up, nothing in the host's root namespace, accepted by the Kubernetes
  runtime); lan="bridge" uses containerlab's `kind: bridge`, whose host bridge must exist first.

Everything is written in a fixed order from the lab alone (no time stamps, no absolute paths),
so exporting the same lab twice gives byte-identical files.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from testbed.paths import REPO_ROOT, TOPOLOGIES
from testbed.errors import TestbedError
from testbed.frr.render import TEMPLATES as FRR_TEMPLATES
from testbed.frr.render import render_router
from testbed.lab.model import Interface, Lab, Node

from .defaults import DEFAULT_HOST_IMAGE, DEFAULT_IMAGE, LAN_MODES  # noqa: F401 (re-exported)
HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema" / "clab.schema.json"
TEMPLATES = HERE / "templates"
FRR_DIR = "/etc/frr"                # where the node folder is bound in a router container
NODES_DIR = "nodes"                 # DIR/nodes/<router>/ holds the router's FRR files
PLATFORM_LABELS = 100000            # as FRR's topotests; the kernel's default (0) disables MPLS
LAN_BRIDGE = "br0"                  # the bridge inside a LAN switch container
ICMP_UNLIMITED = {"net.ipv4.icmp_msgs_per_sec": 100000, "net.ipv4.icmp_msgs_burst": 10000}
# per network namespace only in recent kernels (global before, so absent in a container's namespace):
# in `sysctls:` they would stop the container from starting on such a host, so `exec:` sets them
EXEC_SYSCTLS = ("net.ipv4.icmp_msgs_per_sec", "net.ipv4.icmp_msgs_burst")
CONTAINERLAB_INSTALL = "https://containerlab.dev/install/"

FRR_FILES = tuple(FRR_TEMPLATES)     # every file testbed.frr.render can write for a router


# ---------------------------------------------------------------- names

def clab_ifname(model_name: str) -> str:
    """The model's eth0, eth1, ... -> containerlab's eth1, eth2, ... (eth0 is management)."""
    m = re.fullmatch(r"eth(\d+)", model_name)
    if not m:
        raise ValueError(f"interface '{model_name}' is not named eth<N>; cannot map it to a containerlab name")
    return f"eth{int(m[1]) + 1}"


def clab_name(lab: Lab) -> str:
    """The lab name as containerlab accepts it (^[a-zA-Z0-9][a-zA-Z0-9-._]*$)."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", lab.name)
    return name if re.match(r"[a-zA-Z0-9]", name) else f"lab-{name}"


def renamed_lab(lab: Lab) -> Lab:
    """A deep copy of the lab whose interfaces carry their containerlab names."""
    out = copy.deepcopy(lab)
    for node in out.nodes.values():
        for itf in node.interfaces:
            itf.name = clab_ifname(itf.name)
    if hasattr(out, "_addr_map"):
        del out._addr_map
    return out


def _short_hash(*parts: str, n: int = 8) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Lan:
    """How one LAN of the lab is realised: a switch container or a host bridge."""
    link: str                 # the lab's link name
    network: str
    node: str                 # the clab node standing for the LAN
    ports: tuple[tuple[str, str, str], ...]   # (member node, member clab ifname, LAN-side port name)


def _lans(lab: Lab, mode: str) -> list[Lan]:
    out = []
    for link in lab.links:
        if link.kind != "lan":
            continue
        if mode == "switch":
            node = f"sw-{link.name}"
            ports = tuple((i.node, clab_ifname(i.name), f"eth{k}") for k, i in enumerate(link.interfaces, 1))
        else:
            # a host bridge and its ports live in the host's root namespace: short (IFNAMSIZ 15),
            # derived from the lab and the LAN so two labs on one host never share one
            h = _short_hash(lab.name, link.name)
            node = f"br-{h}"
            ports = tuple((i.node, clab_ifname(i.name), f"ut{h}p{k}") for k, i in enumerate(link.interfaces, 1))
        if node in lab.nodes:
            raise TestbedError(f"lab {lab.name}: node name '{node}' is taken; containerlab needs it for "
                               f"LAN {link.name}: rename the node")
        out.append(Lan(link=link.name, network=str(link.network), node=node, ports=ports))
    return out


# ---------------------------------------------------------------- the document

@dataclass
class ClabExport:
    doc: dict                                        # the topology document
    files: dict[str, str] = field(default_factory=dict)   # relative path -> text (FRR files, README, ...)
    clab_file: str = ""                               # relative path of the topology file
    command: str = ""                                 # the `testbed export` command that makes it


def export_command(lab: Lab, *, image: str = DEFAULT_IMAGE, host_image: str = DEFAULT_HOST_IMAGE,
                   mgmt: bool = True, lan: str = "switch", out_dir: str = "DIR") -> str:
    """The command line that writes this export (template parameters and non-default options)."""
    import shlex
    src = Path(lab.source)
    ref = (src.name.removesuffix(".yaml") if src.resolve().parent == TOPOLOGIES.resolve() else _source(lab))
    words = ["testbed", "export", ref, "--to", "containerlab", out_dir]
    for k, v in sorted(lab.params.items()):
        words += ["--set", f"{k}={v}"]
    if image != DEFAULT_IMAGE:
        words += ["--image", image]
    if host_image != DEFAULT_HOST_IMAGE:
        words += ["--host-image", host_image]
    if lan != "switch":
        words += ["--lan", lan]
    if not mgmt:
        words.append("--no-mgmt")
    return shlex.join(words)


class _Flow(list):
    """A list pyyaml writes on one line ([a, b]): link endpoints."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):   # never anchors/aliases, even for equal objects
        return True


_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump_yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096,
                     allow_unicode=True)


def _sysctls(d: dict) -> dict[str, str]:
    return {k: str(int(v) if isinstance(v, bool) else v) for k, v in sorted(d.items())}


def _labels(lab: Lab, role: str, **extra) -> dict[str, str]:
    out = {"utnt-lab": lab.name, "utnt-role": role}
    out.update({f"utnt-{k}": str(v) for k, v in extra.items() if v not in (None, "")})
    return dict(sorted(out.items()))


def _mpls_ifaces(lab: Lab, node: Node) -> list[Interface]:
    """The interfaces of a router that zebra.conf marks `mpls enable` (a same-domain router behind)."""
    if node.domain is None:
        return []
    out = []
    for itf in node.interfaces:
        if any(lab.nodes[p.node].is_router and set(lab.nodes[p.node].domains) & set(node.domains) for p in itf.peers()):
            out.append(itf)
    return out


def _router_sysctls(node: Node) -> dict:
    """Every sysctl of a router; those in EXEC_SYSCTLS go to `exec:`, the others to `sysctls:`."""
    s = {"net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
         "net.ipv4.icmp_errors_use_inbound_ifaddr": 1, "net.ipv4.icmp_ratelimit": 0}
    if node.icmp_rate_limit:
        s.update({"net.ipv4.icmp_msgs_per_sec": node.icmp_rate_limit, "net.ipv4.icmp_msgs_burst": node.icmp_rate_limit})
    else:
        s.update(ICMP_UNLIMITED)
    if node.domain is not None:
        s.update({"net.mpls.platform_labels": PLATFORM_LABELS, "net.mpls.ip_ttl_propagate": node.ttl_propagate})
    return s


def _split_sysctls(s: dict) -> tuple[dict[str, str], list[str]]:
    """(the `sysctls:` map, the `exec:` commands for EXEC_SYSCTLS)."""
    return (_sysctls({k: v for k, v in s.items() if k not in EXEC_SYSCTLS}),
            [f"sysctl -w {k}={v}" for k, v in _sysctls(s).items() if k in EXEC_SYSCTLS])


def _gateway_iface(node: Node) -> Interface | None:
    if node.gateway is None:
        return None
    for itf in node.interfaces:
        if node.gateway in itf.network:
            return itf
    return None


def _router_node(lab: Lab, node: Node, image: str, mgmt: bool) -> dict:
    sysctls, execs = _split_sysctls(_router_sysctls(node))
    execs += [f"sysctl -w net.mpls.conf.{clab_ifname(i.name)}.input=1" for i in _mpls_ifaces(lab, node)]
    if mgmt:
        execs.append("ip route del default")   # the management gateway: no way out of the lab
    n = {"kind": "linux", "image": image, "group": "router",
         "labels": _labels(lab, "router", vendor=node.vendor, domain=node.domain),
         "binds": [f"{NODES_DIR}/{node.name}:{FRR_DIR}"],
         "sysctls": sysctls}
    if execs:
        n["exec"] = execs
    return n


def _host_node(lab: Lab, node: Node, image: str, mgmt: bool) -> dict:
    sysctls, execs = _split_sysctls({"net.ipv4.icmp_ratelimit": 0, **ICMP_UNLIMITED})
    for itf in node.interfaces:
        ifn = clab_ifname(itf.name)
        execs += [f"ip link set {ifn} up", f"ip addr add {itf.address} dev {ifn}"]
    gw = _gateway_iface(node)
    if gw is not None:
        execs.append(f"ip route replace default via {node.gateway} dev {clab_ifname(gw.name)}")
    elif mgmt:
        execs.append("ip route del default")
    n = {"kind": "linux", "image": image, "group": "host",
         "labels": _labels(lab, "host", vendor=node.vendor),
         "sysctls": sysctls}
    if execs:
        n["exec"] = execs
    return n


def _lan_node(lab: Lab, lan: Lan, image: str, mode: str) -> dict:
    labels = _labels(lab, "switch" if mode == "switch" else "bridge", lan=lan.link)
    if mode == "bridge":
        return {"kind": "bridge", "group": "lan", "labels": labels}
    execs = [f"ip link add {LAN_BRIDGE} type bridge", f"ip link set {LAN_BRIDGE} up"]
    for _, _, port in lan.ports:
        execs += [f"ip link set {port} master {LAN_BRIDGE}", f"ip link set {port} up"]
    return {"kind": "linux", "image": image, "group": "lan", "labels": labels, "exec": execs}


@dataclass(frozen=True)
class SplitPart:
    """One machine's part of a lab split across machines (testbed split's plan): its nodes,
    and per cut link it has an end of, that end and the peer machine's underlay address."""
    host: str
    nodes: frozenset                 # routers and lab hosts on this machine
    vxlan: tuple                     # ((link index, router, vni, remote underlay address, dst port), ...)
    command: str = ""


def split_part(lab: Lab, plan: dict, host: str) -> SplitPart:
    """The SplitPart of `host` in a plan of testbed.runtimes.bigrt.split (checked by the caller)."""
    from testbed.runtimes.bigrt import split as sp
    underlay = {h["name"]: h["underlay"] for h in plan["hosts"]}
    port = int(plan["vxlan"]["dstport"])
    vx = []
    for c in plan["cut"]:
        ends = c["ends"]
        for e, other in ((ends[0], ends[1]), (ends[1], ends[0])):
            if e["host"] == host:
                vx.append((int(c["index"]), e["router"], int(c["vni"]), underlay[other["host"]], port))
    return SplitPart(host=host, nodes=frozenset(sp.local_nodes(lab, plan, host)), vxlan=tuple(sorted(vx)))


def build_containerlab(lab: Lab, *, image: str = DEFAULT_IMAGE, host_image: str = DEFAULT_HOST_IMAGE,
                       mgmt: bool = True, lan: str = "switch", part: SplitPart | None = None) -> ClabExport:
    """The topology document and every file of the export, in memory (nothing written).

    part: one machine's share of a lab split across machines (split_part): only its routers,
    hosts and LANs (a LAN is never cut), and each cut link as containerlab's VXLAN link
    (`type: vxlan`: the router's end is a VXLAN interface in its container, toward the peer
    machine's underlay address, with the plan's VNI and UDP port)."""
    if lan not in LAN_MODES:
        raise ValueError(f"lan must be one of {', '.join(LAN_MODES)}, not '{lan}'")
    name = clab_name(lab) if part is None else clab_name(lab) + "-" + re.sub(r"[^a-zA-Z0-9._-]", "-", part.host)
    here = (lambda n: True) if part is None else (lambda n: n in part.nodes)
    lans = [ln for ln in _lans(lab, lan) if any(here(m) for m, _, _ in ln.ports)]
    nodes: dict[str, dict] = {}
    for node in lab.nodes.values():
        if not here(node.name):
            continue
        nodes[node.name] = (_router_node(lab, node, image, mgmt) if node.is_router
                            else _host_node(lab, node, host_image, mgmt))
    for ln in lans:
        nodes[ln.node] = _lan_node(lab, ln, host_image, lan)
    if not mgmt:
        for n in nodes.values():
            if n["kind"] != "bridge":
                n["network-mode"] = "none"
    nodes = {k: _ordered_node(nodes[k]) for k in sorted(nodes)}

    links: list[dict] = []
    lan_of = {ln.link: ln for ln in lans}
    cut = {} if part is None else {(k, r): (vni, remote, port) for k, r, vni, remote, port in part.vxlan}
    for k, link in enumerate(lab.links):
        if link.kind == "p2p":
            mine = [i for i in link.interfaces if here(i.node)]
            if len(mine) == 2:
                links.append({"endpoints": _Flow(f"{i.node}:{clab_ifname(i.name)}" for i in link.interfaces)})
            elif mine:
                i = mine[0]
                if part is None or (k, i.node) not in cut:
                    raise TestbedError(f"lab {lab.name}: link {link.name} has one end on {part and part.host} but the "
                                       "split plan does not list it as cut; split the lab again")
                vni, remote, port = cut[(k, i.node)]
                links.append({"type": "vxlan", "endpoint": {"node": i.node, "interface": clab_ifname(i.name)},
                              "remote": remote, "vni": vni, "dst-port": port})
        elif link.name in lan_of:
            ln = lan_of[link.name]
            for member, ifname, port in ln.ports:
                links.append({"endpoints": _Flow([f"{member}:{ifname}", f"{ln.node}:{port}"])})

    doc: dict = {"name": name}
    if not mgmt:
        doc["mgmt"] = {"skip-when-unused": True}
    doc["topology"] = {"nodes": nodes, "links": links}

    exp = ClabExport(doc=doc, clab_file=f"{name}.clab.yml",
                     command=part.command if part is not None and part.command else
                     export_command(lab, image=image, host_image=host_image, mgmt=mgmt, lan=lan))
    rlab = renamed_lab(lab)
    for node in sorted((r for r in lab.routers if here(r.name)), key=lambda n: n.name):
        for fname, text in render_router(rlab, node.name, log_dir=FRR_DIR).items():
            exp.files[f"{NODES_DIR}/{node.name}/{fname}"] = text
    if lan == "bridge" and lans:
        exp.files["host-bridges.sh"] = _render("host-bridges.sh.j2", lab=lab, name=name, lans=lans, command=exp.command)
    if part is None:
        exp.files["README.md"] = _render("README.md.j2", **_readme_context(lab, exp, image=image, host_image=host_image,
                                                                           mgmt=mgmt, lan=lan, lans=lans))
        what = ""
    else:
        exp.files["README.md"] = _render("split-README.md.j2", lab=lab, name=name, part=part, clab_file=exp.clab_file,
                                         source=_source(lab), command=exp.command, nodes_dir=NODES_DIR,
                                         routers=sum(1 for r in lab.routers if here(r.name)),
                                         hosts=sorted(h.name for h in lab.hosts if here(h.name)), lan=lan,
                                         cuts=[{"link": lab.links[k].name,
                                                "end": f"{x['endpoint']['node']}:{x['endpoint']['interface']}",
                                                "vni": x["vni"], "remote": x["remote"]}
                                               for k, x in _cut_rows(lab, links)])
        what = f", machine {part.host}'s part ({len(part.vxlan)} cut links as VXLAN)"
    header = (f"# containerlab topology of uTNT-lab's lab '{lab.name}' ({_source(lab)}){what}.\n"
              f"# Generated by `{exp.command}`; see README.md next to it.\n")
    exp.files[exp.clab_file] = header + dump_yaml(doc)
    return exp


def _cut_rows(lab: Lab, links: list) -> list:
    """(link index, VXLAN link) of each cut link in a split part's links."""
    index = {(i.node, clab_ifname(i.name)): k for k, link in enumerate(lab.links) for i in link.interfaces}
    return [(index[(x["endpoint"]["node"], x["endpoint"]["interface"])], x) for x in links if x.get("type") == "vxlan"]


_NODE_KEYS = ("kind", "image", "group", "network-mode", "labels", "binds", "sysctls", "exec")


def _ordered_node(n: dict) -> dict:
    return {k: n[k] for k in _NODE_KEYS if k in n} | {k: n[k] for k in sorted(n) if k not in _NODE_KEYS}


def _source(lab: Lab) -> str:
    p = Path(lab.source)
    try:
        return p.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p.name


# ---------------------------------------------------------------- README

@lru_cache(maxsize=1)
def _env():
    import jinja2
    from testbed.frr.render import one_line      # no value ends a line of the script or the README
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
                              finalize=one_line)


def _render(template: str, **ctx) -> str:
    return _env().get_template(template).render(**ctx)


def tunnel_verdict(t: dict, lab: Lab) -> tuple[bool, str]:
    """(reproduced?, why) for one ground-truth tunnel on a Linux/FRR data plane."""
    cls = t["class"]
    if cls.startswith("invisible"):
        dom = lab.domain_of(t["ingress"])
        sysctl = f"net.mpls.ip_ttl_propagate={int(dom.ttl_propagate) if dom else 0}"
        return True, (f"pipe model ({sysctl} on the domain's routers): the LSRs never see an expiring TTL, "
                      "so they are hidden as with the vendor")
    if t.get("silent"):
        return True, ("Linux LSRs drop a packet whose label TTL expires without any ICMP reply, "
                      "so they show as `*` hops: the silent tunnel of the ground truth")
    return False, (f"a Linux LSR sends no time-exceeded for an expiring label (and never "
                   f"RFC 4950 label objects), so the LSRs show as `*` hops instead of an {cls} tunnel; "
                   f"use the engine (`testbed run {lab.name} --runtime netns`) or vendor images")


def _readme_context(lab: Lab, exp: ClabExport, *, image, host_image, mgmt, lan, lans) -> dict:
    from testbed.controlplane import build
    from testbed.truth import ground_truth

    gt = ground_truth(build(lab))
    tunnels, seen = [], set()
    for p in gt["probes"]:
        for path in p["paths"]:
            for t in path["tunnels"]:
                key = (t["class"], t["ingress"], t["egress"], tuple(t["lsrs"]))
                if key in seen:
                    continue
                seen.add(key)
                ok, why = tunnel_verdict(t, lab)
                tunnels.append({"class": t["class"], "ingress": t["ingress"], "egress": t["egress"],
                                "lsrs": list(t["lsrs"]), "silent": bool(t.get("silent")), "ok": ok, "why": why,
                                "probe": f"{p['from']} -> {p['to_name']}"})
    rows = []
    for node in sorted(lab.nodes.values(), key=lambda n: (not n.is_router, n.name)):
        rows.append({
            "name": node.name, "role": node.kind, "vendor": node.vendor, "domain": node.domain or "",
            "loopback": str(node.loopback) if node.loopback else "",
            "gateway": str(node.gateway) if node.gateway else "",
            "ifaces": [{"model": i.name, "clab": clab_ifname(i.name), "address": str(i.address), "link": i.link.name,
                        "mpls": any(i is m for m in _mpls_ifaces(lab, node))} for i in node.interfaces],
        })
    domains = [{"name": d.name, "routers": d.routers, "ttl_propagate": d.ttl_propagate, "rfc4950": d.rfc4950,
                "icmp_tunneling": d.icmp_tunneling, "popping": d.popping, "ldp": d.ldp}
               for d in sorted(lab.domains.values(), key=lambda d: d.name)]
    return {"lab": lab, "name": exp.doc["name"], "clab_file": exp.clab_file, "source": _source(lab),
            "command": exp.command,
            "image": image, "host_image": host_image, "mgmt": mgmt, "lan": lan, "lans": lans,
            "tunnels": tunnels, "rows": rows, "domains": domains, "nodes_dir": NODES_DIR, "frr_dir": FRR_DIR,
            "platform_labels": PLATFORM_LABELS, "has_mpls": any(n.domain for n in lab.routers), "install_url": CONTAINERLAB_INSTALL}


# ---------------------------------------------------------------- schema

@lru_cache(maxsize=None)
def _py_regex(pattern: str) -> re.Pattern:
    # the schema's patterns are ECMA/Go regexes; the only construct Python's re lacks is the
    # Unicode class [\p{N}\p{L}] (a zone suffix of an address): letters and digits = [^\W_]
    return re.compile(pattern.replace(r"[\p{N}\p{L}]", r"[^\W_]"))


def load_schema() -> dict:
    return json.loads(SCHEMA.read_text())


@lru_cache(maxsize=1)
def clab_validator():
    """A jsonschema validator for clab.schema.json that never looks anything up online."""
    import jsonschema
    import referencing
    from jsonschema.exceptions import ValidationError

    schema = load_schema()
    base = jsonschema.validators.validator_for(schema)     # draft-07, from $schema
    # the schema must itself be valid against its metaschema, with its regexes read as above
    fc = jsonschema.FormatChecker()
    fc.checks("regex", raises=re.error)(lambda s: not isinstance(s, str) or bool(_py_regex(s)))
    bad = next(base(base.META_SCHEMA, format_checker=fc).iter_errors(schema), None)
    if bad is not None:
        raise jsonschema.exceptions.SchemaError.create_from(bad)

    def pattern(validator, patrn, instance, _schema):
        if validator.is_type(instance, "string") and not _py_regex(patrn).search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    cls = jsonschema.validators.extend(base, {"pattern": pattern})
    # the only resource is the schema itself (its $id); with no `retrieve`, a $ref outside it is
    # an error, never a download
    registry = referencing.Registry().with_resource(schema["$id"], referencing.Resource.from_contents(schema))
    return cls(schema, registry=registry)


def lint_clab(doc: dict) -> list[str]:
    """What containerlab itself checks at deploy time and the draft-07 schema cannot say:
    endpoints are node:interface of declared nodes, no interface used twice, no data link on eth0."""
    out = []
    nodes = (doc.get("topology") or {}).get("nodes") or {}
    used: set[str] = set()
    for k, link in enumerate((doc.get("topology") or {}).get("links") or []):
        if isinstance(link, dict) and link.get("type") in ("vxlan", "vxlan-stitch"):
            ep = link.get("endpoint") or {}
            full = f"{ep.get('node')}:{ep.get('interface')}"
            if ep.get("node") not in nodes:
                out.append(f"links[{k}]: endpoint {full!r} names no node of the topology")
            if full in used:
                out.append(f"links[{k}]: interface {full} is used by two links")
            if ep.get("interface") == "eth0":
                out.append(f"links[{k}]: {full}: eth0 is containerlab's management interface")
            used.add(full)
            continue
        eps = link.get("endpoints") if isinstance(link, dict) else None
        if not isinstance(eps, list) or len(eps) != 2:
            out.append(f"links[{k}]: endpoints must be a list of two 'node:interface' strings")
            continue
        for ep in eps:
            m = re.fullmatch(r"(\S+):(\S+)", ep) if isinstance(ep, str) else None
            if not m:
                out.append(f"links[{k}]: endpoint {ep!r} is not 'node:interface'")
                continue
            if m[1] not in nodes:
                out.append(f"links[{k}]: endpoint {ep!r} names no node of the topology")
            if ep in used:
                out.append(f"links[{k}]: interface {ep} is used by two links")
            if m[2] == "eth0" and (nodes.get(m[1]) or {}).get("kind") != "bridge":
                out.append(f"links[{k}]: {ep}: eth0 is containerlab's management interface")
            used.add(ep)
    return out


def validate_clab(doc: dict) -> list[str]:
    """Problems of a containerlab topology document ([] = valid): schema, then lint_clab()."""
    def leaves(e):
        # a oneOf/anyOf failure (a node is `null` or a node-config) says little: report the
        # errors of the alternative that got deepest into the instance, which name the fields
        if not e.context:
            return [e]
        branches: dict = {}
        for c in e.context:
            branches.setdefault(c.relative_schema_path[0] if c.relative_schema_path else 0, []).append(c)
        # an extended link's own `type` (vxlan, veth, ...) picks its alternative: not one whose
        # `type: const` it fails
        best = max(branches.values(), key=lambda cs: (not any(c.validator == "const" and list(c.path)[-1:] == ["type"]
                                                              for c in cs),
                                                       max(len(c.absolute_path) for c in cs),
                                                       any(c.validator != "type" for c in cs), -len(cs)))
        return [x for c in best for x in leaves(c)]
    errs = [x for e in clab_validator().iter_errors(doc) for x in leaves(e)]
    out = sorted({f"{'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message}" for e in errs})
    return out + lint_clab(doc)


# ---------------------------------------------------------------- write

def export_containerlab(lab: Lab, out_dir: str | os.PathLike, image: str = DEFAULT_IMAGE, *,
                        host_image: str = DEFAULT_HOST_IMAGE, mgmt: bool = True, lan: str = "switch") -> list[Path]:
    """Write the export into out_dir; returns the written files (the .clab.yml first).

    Raises TestbedError if the document does not validate (a bug of this exporter, never written).
    FRR files of ours left in out_dir/nodes/ from an earlier export (a router that no longer
    has an ldpd.conf, or no longer exists) are removed; nothing else is.
    """
    exp = build_containerlab(lab, image=image, host_image=host_image, mgmt=mgmt, lan=lan)
    return write_export(exp, lab, out_dir)


def export_split(lab: Lab, plan: dict, out_dir: str | os.PathLike, image: str = DEFAULT_IMAGE, *,
                 host_image: str = DEFAULT_HOST_IMAGE, mgmt: bool = True, lan: str = "switch",
                 command: str = "") -> dict[str, list[Path]]:
    """A lab split across machines (a checked plan of testbed.runtimes.bigrt.split), one
    containerlab topology per machine: out_dir/<host>/ as export_containerlab writes, each with
    only that machine's nodes and its cut links as VXLAN links. {host: written files}."""
    out = {}
    for h in plan["hosts"]:
        part = split_part(lab, plan, h["name"])
        part = SplitPart(part.host, part.nodes, part.vxlan, command)
        exp = build_containerlab(lab, image=image, host_image=host_image, mgmt=mgmt, lan=lan, part=part)
        out[h["name"]] = write_export(exp, lab, Path(out_dir) / h["name"])
    return out


def write_export(exp: ClabExport, lab: Lab, out_dir: str | os.PathLike) -> list[Path]:
    """Validate exp against containerlab's schema and write it (export_containerlab's files)."""
    problems = validate_clab(exp.doc)
    if problems:
        raise TestbedError(f"the containerlab export of {lab.name} is invalid (a bug): {'; '.join(problems[:5])}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nodes_dir = out / NODES_DIR
    if nodes_dir.is_dir():
        for d in sorted(nodes_dir.iterdir()):
            if d.is_dir():
                for f in FRR_FILES:
                    if f"{NODES_DIR}/{d.name}/{f}" not in exp.files:
                        (d / f).unlink(missing_ok=True)
    if "host-bridges.sh" not in exp.files:
        (out / "host-bridges.sh").unlink(missing_ok=True)
    written = []
    for rel in [exp.clab_file] + sorted(f for f in exp.files if f != exp.clab_file):
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(exp.files[rel])
        p.chmod(0o755 if rel.endswith(".sh") else 0o644)
        written.append(p)
    return written


# ---------------------------------------------------------------- deploy

def require_containerlab() -> str:
    """The containerlab binary, or TestbedError with a one-line explanation."""
    exe = shutil.which("containerlab")
    if exe is None:
        raise TestbedError(f"containerlab is not installed (no `containerlab` on PATH): install it ({CONTAINERLAB_INSTALL}) "
                           "and Docker, or copy the export to a machine that has them; "
                           "`testbed export LAB --to containerlab DIR` writes it without deploying")
    return exe


def host_problems(doc: dict, clab_file: Path, *, proc: Path = Path("/proc/sys/net/mpls"),
                  sys_net: Path = Path("/sys/class/net")) -> list[str]:
    """What this host lacks for the topology: kernel MPLS (for the net.mpls sysctls) and host bridges."""
    out = []
    nodes = (doc.get("topology") or {}).get("nodes") or {}
    if any(k.startswith("net.mpls.") for n in nodes.values() for k in (n or {}).get("sysctls", {})) \
            and not (proc / "platform_labels").exists():
        out.append(f"kernel MPLS is missing on this host ({proc} does not exist): "
                   "`modprobe mpls_router mpls_iptunnel` (package linux-modules-extra on some distributions)")
    missing = sorted(name for name, n in nodes.items() if (n or {}).get("kind") == "bridge"
                     and not (sys_net / name / "bridge").is_dir())
    if missing:
        out.append(f"host bridge(s) {', '.join(missing)} missing: run `sh {clab_file.parent / 'host-bridges.sh'} up`")
    return out


def deploy_containerlab(clab_file: str | os.PathLike, *, extra_args: list[str] | tuple[str, ...] = ()) -> int:
    """`containerlab deploy -t clab_file [extra_args]`; returns its exit status.

    Raises TestbedError (one line) when containerlab is not installed or the host lacks what
    the topology needs (kernel MPLS modules, host bridges), before anything is started.
    """
    clab_file = Path(clab_file)
    exe = require_containerlab()
    if not clab_file.is_file():
        raise TestbedError(f"{clab_file}: no such topology file; write it with `testbed export LAB --to containerlab DIR`")
    from testbed.inputs import read_yaml
    doc = read_yaml(clab_file, "import", "containerlab file") or {}
    if not isinstance(doc, dict):
        raise TestbedError(f"{clab_file}: not a containerlab topology (a mapping); write it with `testbed export`")
    problems = host_problems(doc, clab_file)
    if problems:
        raise TestbedError("; ".join(problems))
    return subprocess.run([exe, "deploy", "-t", str(clab_file), *extra_args]).returncode
