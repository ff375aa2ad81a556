"""Validated spec to resolved Lab: cross-references, addressing and MPLS knobs.

Every problem found is collected (not just the first) and reported as one line each.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from ipaddress import IPv6Interface, IPv6Network, IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from testbed import vendors
from testbed.errors import LabError, Problem

from .model import Interface, Lab, Link, MplsDomain, Node, Probe, make_mac
from .reserved import is_reserved, overlapping_reserved
from .schema import DomainSpec, Endpoint, LabSpec, LinkSpec, RouterSpec
from testbed.inputs import NAME
from testbed.yamlpos import line_of

KNOBS = ("ldp", "ttl_propagate", "rfc4950", "popping", "icmp_tunneling")
Loc = tuple[str | int, ...]          # where in the lab file: ("links", 3, "endpoints", 0)
RawLink = tuple[int, LinkSpec, list[Endpoint]]     # (index in links:, the link, its endpoints)


class _Problems:
    def __init__(self, path: str, lines: Mapping[Loc, int]):
        self.path, self.lines = path, lines
        self.items: list[Problem] = []

    def add(self, loc: Loc, field: str, message: str) -> None:
        self.items.append(Problem(self.path, field, message, line_of(self.lines, loc)))

    def raise_if_any(self) -> None:
        if self.items:
            raise LabError(self.items)


class _Taken:
    """Address blocks in use (CIDR networks): two CIDR blocks overlap only when one holds the
    other, so the test is O(log n) whatever their number (a 100,000-router lab allocates
    hundreds of thousands): a block holding `net` is one of `net`'s supernets (a set lookup per
    prefix length in use), a block inside `net` starts within it (a bisection of the starts)."""

    def __init__(self, nets: Iterable[IPv4Network] = ()):
        self.starts: list[int] = []
        self.blocks: set[tuple[int, int]] = set()
        self.lens: set[int] = set()
        for n in nets:
            self.append(n)

    def append(self, net: IPv4Network) -> None:
        a = int(net.network_address)
        starts = self.starts
        if not starts or a >= starts[-1]:
            starts.append(a)                         # pools hand out addresses in order: the common case
        else:
            bisect.insort(starts, a)
        self.blocks.add((a, net.prefixlen))
        self.lens.add(net.prefixlen)

    def overlaps(self, net: IPv4Network) -> bool:
        a, plen = int(net.network_address), net.prefixlen
        b = a + (1 << (32 - plen)) - 1
        i = bisect.bisect_left(self.starts, a)
        if i < len(self.starts) and self.starts[i] <= b:
            return True                                # a block starting inside net
        blocks = self.blocks
        for n in self.lens:
            if n <= plen and (a & (((1 << n) - 1) << (32 - n)), n) in blocks:
                return True                            # a block holding net
        return False


def _pool(net: IPv4Network, plen: int, taken: _Taken) -> Iterator[IPv4Network]:
    for sub in net.subnets(new_prefix=plen):
        if not taken.overlaps(sub):
            yield sub


def _knobs(P: _Problems, raw: dict[str, object], loc: Loc, where: str) -> dict[str, Any]:
    """The behaviour knobs given, each checked and converted (vendors.check_knob); the problems to P."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        try:
            out[k] = vendors.check_knob(k, v)
        except ValueError as e:
            P.add(loc + (k,), f"{where}.{k}", f"{e} (behaviour knobs: testbed/vendors/README.md)")
    return out



def _components(adj: dict[str, set[str]], members: Iterable[str]) -> list[set[str]]:
    """The connected groups of `members` over links between members only (a plain BFS: the
    graph library it replaces took half a second to import on every lab load)."""
    inside = set(members)
    seen: set[str] = set()
    out = []
    for start in members:
        if start in seen:
            continue
        group, todo = {start}, [start]
        seen.add(start)
        while todo:
            for nb in adj[todo.pop()]:
                if nb in inside and nb not in seen:
                    seen.add(nb)
                    group.add(nb)
                    todo.append(nb)
        out.append(group)
    return out


def _rsvp_pairs(P: _Problems, d: DomainSpec, loc: Loc, dname: str, adj: dict[str, set[str]],
                frr: bool = False) -> list[tuple[str, str]]:
    """mpls.<d>.rsvp: [[head, tail], ...], two different routers of the domain, not neighbours
    (an RSVP LSP of one link would carry no LSR), over domain routers only."""
    out = []
    for j, pair in enumerate(d.rsvp):
        where = f"mpls.{dname}.rsvp[{j}]"
        if len(pair) != 2 or pair[0] == pair[1] or any(r not in d.routers for r in pair):
            P.add(loc + ("rsvp", j), where, "an RSVP LSP is [head, tail]: two different routers of the domain")
            continue
        if pair[1] in adj[pair[0]]:
            P.add(loc + ("rsvp", j), where, f"'{pair[0]}' and '{pair[1]}' are neighbours: an RSVP LSP between them "
                  "has no LSR; pick a tail two hops away or more")
            continue
        if d.sr:
            P.add(loc + ("rsvp", j), where, "LDP over RSVP needs LDP: remove sr: true or the rsvp list")
            continue
        if frr:
            P.add(loc + ("rsvp", j), where, "LDP over RSVP needs control_plane: computed (FRR runs no RSVP-TE "
                  "in the labs)")
            continue
        out.append((pair[0], pair[1]))
    return out

def build_lab(spec: LabSpec, path: str, lines: Mapping[Loc, int], params: dict[str, Any], name: str) -> Lab:
    """The lab model of a validated lab file, built in phases: the address pools, the nodes,
    the links' endpoints, the addresses, the routers' graph and the hosts' gateways, the MPLS
    domains, the behaviour knobs, the probes. Each phase adds what is wrong to P (one line per
    problem, with its file position) and stops the build where later phases would only repeat it."""
    P = _Problems(path, lines)
    _check_pools(P, spec)
    nodes = _nodes(P, spec)
    raw_links = _endpoints(P, spec, nodes)
    links = _addresses(P, spec, name, nodes, raw_links)
    adj = _router_graph(P, nodes, links)
    _gateways(nodes)
    domains = _domains(P, spec, nodes, adj)
    _sixpe(P, spec, domains, nodes, links, raw_links)
    _apply_behaviour(spec, nodes)
    _check_label_room(P, nodes, links)
    probes = _probes(P, spec, nodes)
    return Lab(name=name, description=spec.description, source=path, params=params, nodes=nodes, links=links,
               domains=domains, probes=probes, p2p_prefix=spec.defaults.p2p_prefix, control_plane=spec.control_plane,
               expect=spec.expect, seed=spec.seed)


def _check_pools(P: _Problems, spec: LabSpec) -> None:
    """The address pools: clear of TNT's reserved ranges and of each other."""
    # ---- pools must avoid TNT's reserved ranges (otherwise TNT behaves unlike on the Internet)
    for pool in ("loopbacks", "links", "lans"):
        net = getattr(spec.addressing, pool)
        r = overlapping_reserved(net)
        if r:
            P.add(("addressing", pool), f"addressing.{pool}",
                  f"{net} overlaps {r}, which TNT treats as reserved (never pinged, never a tunnel end); "
                  "pick a public-looking range such as 11.0.0.0/16")
    pools = [("loopbacks", spec.addressing.loopbacks), ("links", spec.addressing.links),
             ("lans", spec.addressing.lans)]
    for a in range(len(pools)):
        for b in range(a + 1, len(pools)):
            if pools[a][1].overlaps(pools[b][1]):
                P.add(("addressing", pools[b][0]), f"addressing.{pools[b][0]}",
                      f"{pools[b][1]} overlaps the {pools[a][0]} pool {pools[a][1]}; give each pool its own range "
                      "(the defaults: loopbacks 11.255.0.0/16, links 11.0.0.0/16, lans 12.0.0.0/16)")



def _nodes(P: _Problems, spec: LabSpec) -> dict[str, Node]:
    """The routers and hosts, each with its vendor's personality and its own knobs."""
    # ---- nodes
    allowed_vendors = vendors.names()
    nodes: dict[str, Node] = {}
    personas: dict[str, vendors.Personality] = {}
    if spec.defaults.vendor not in allowed_vendors:
        P.add(("defaults", "vendor"), "defaults.vendor",
              f"unknown vendor '{spec.defaults.vendor}'; allowed: {', '.join(allowed_vendors)}")
    for kind, table in (("router", spec.routers), ("host", spec.hosts)):
        for nname, nspec in table.items():
            loc = (kind + "s", nname)
            if not re.match(NAME, nname):
                P.add(loc, f"{kind}s.{nname}", "a node name is 1-24 characters: a lowercase letter, then "
                      "lowercase letters, digits, '-' or '_'")
                continue
            if nname in nodes:
                P.add(loc, f"{kind}s.{nname}", f"duplicate node name '{nname}' (also a {nodes[nname].kind}); "
                      "names must be unique across routers and hosts")
                continue
            rs = nspec if isinstance(nspec, RouterSpec) else None       # (a host has no options)
            if kind == "router":
                v = (rs.vendor if rs and rs.vendor else spec.defaults.vendor)
                if v not in allowed_vendors:
                    if rs and rs.vendor:
                        P.add(loc + ("vendor",), f"routers.{nname}.vendor",
                              f"unknown vendor '{v}'; allowed: {', '.join(allowed_vendors)}")
                    continue
            else:
                v = "host"
            pers = personas.get(v)
            if pers is None:
                pers = personas[v] = vendors.load(v)     # once per vendor, not per node
            n = Node(name=nname, kind=kind, vendor=v, personality=pers,
                     loopback=(rs.loopback if rs else None))
            n.ldp, n.popping = pers.ldp, pers.popping
            n.ttl_propagate, n.rfc4950, n.icmp_tunneling = pers.ttl_propagate, pers.rfc4950, pers.icmp_tunneling
            if rs and rs.behaviour:
                n.behaviour = _knobs(P, rs.behaviour, ("routers", nname, "behaviour"),
                                     f"routers.{nname}.behaviour")
            n.icmp_rate_limit = (rs.icmp_rate_limit if rs and rs.icmp_rate_limit
                                 is not None else pers.icmp_rate_limit)
            n.icmp_source = {k: getattr(pers, f"source_{k}") for k in vendors.SOURCE_KINDS}
            if rs and rs.icmp_source:
                n.icmp_source.update({k: v for k, v in rs.icmp_source.model_dump().items() if v})
            n.pos = rs.pos if rs and rs.pos else None
            n.label = rs.label if rs and rs.label else None
            nodes[nname] = n
    return nodes


def _endpoints(P: _Problems, spec: LabSpec, nodes: dict[str, Node]) -> list[RawLink]:
    """Each link's endpoints resolved to nodes: (index, link, endpoints); every host on one link."""
    # ---- links (resolve endpoints)
    raw_links: list[RawLink] = []
    for i, l in enumerate(spec.links):
        if isinstance(l, list):
            if len(l) != 2:
                P.add(("links", i), f"links[{i}]", f"the short form [a, b] joins exactly two nodes, got {len(l)}; "
                      "use {lan: [...]} for a LAN")
                continue
            l = LinkSpec(endpoints=l)
        # a bare name: its node is checked just below (no model validation per endpoint)
        eps = [Endpoint.model_construct(node=e) if isinstance(e, str) else e for e in (l.endpoints or l.lan or [])]
        ok = True
        for j, e in enumerate(eps):
            if e.node not in nodes:
                known = ", ".join(sorted(nodes)) or "none"
                P.add(("links", i, "endpoints" if l.endpoints else "lan", j), f"links[{i}]",
                      f"unknown node '{e.node}'; declare it under routers: or hosts: (known: {known})")
                ok = False
        names = [e.node for e in eps]
        if ok and len(set(names)) != len(names):
            P.add(("links", i), f"links[{i}]", f"a node appears twice on one link ({', '.join(names)})")
            ok = False
        if ok:
            raw_links.append((i, l, eps))
    P.raise_if_any()

    # hosts: exactly one link, with at least one router on it
    host_links: dict[str, list[int]] = {h: [] for h, n in nodes.items() if not n.is_router}
    for i, l, eps in raw_links:
        for e in eps:
            if e.node in host_links:
                host_links[e.node].append(i)
        if all(not nodes[e.node].is_router for e in eps):
            P.add(("links", i), f"links[{i}]", "a link between hosts only cannot route; connect hosts to a router")
    for h, ls in host_links.items():
        if len(ls) != 1:
            P.add(("hosts", h), f"hosts.{h}", f"a host has exactly one link, found {len(ls)}; "
                  "multi-homed hosts are not supported (use a router)")
    P.raise_if_any()
    return raw_links


def _addresses(P: _Problems, spec: LabSpec, name: str, nodes: dict[str, Node], raw_links: list[RawLink]) -> list[Link]:
    """The links with their subnets and interfaces (given or drawn from the pools), the routers'
    loopbacks; no address twice in the lab."""
    # ---- addressing
    taken: list[tuple[IPv4Network, Loc, str]] = []
    explicit_nets: dict[int, IPv4Network] = {}
    for i, l, eps in raw_links:
        nets = {e.address.network for e in eps if e.address is not None}
        kind = "p2p" if l.endpoints else "lan"
        if len(nets) > 1:
            P.add(("links", i), f"links[{i}]", f"endpoint addresses are in different subnets: "
                  f"{', '.join(map(str, sorted(nets)))}; put both ends in one subnet")
            continue
        if nets:
            net = nets.pop()
            if kind == "p2p" and net.prefixlen not in (30, 31):
                P.add(("links", i), f"links[{i}]", f"point-to-point subnet {net} must be a /30 or /31")
                continue
            r = overlapping_reserved(net)
            if r:
                P.add(("links", i), f"links[{i}]", f"{net} overlaps {r}, which TNT treats as reserved (never "
                      "pinged, never a tunnel end); pick a public-looking address such as 11.9.0.0/31")
                continue
            explicit_nets[i] = net
            taken.append((net, ("links", i), f"links[{i}]"))
    for n in nodes.values():
        if n.loopback is not None and is_reserved(n.loopback):
            P.add(("routers", n.name, "loopback"), f"routers.{n.name}.loopback",
                  f"{n.loopback} is in a range TNT treats as reserved (never pinged, never a tunnel end); "
                  "pick a public-looking address such as 11.255.9.9")
        if n.loopback is not None:
            taken.append((IPv4Network(f"{n.loopback}/32"), ("routers", n.name, "loopback"),
                          f"routers.{n.name}.loopback"))
    for a in range(len(taken)):
        for b in range(a + 1, len(taken)):
            if taken[a][0].overlaps(taken[b][0]):
                P.add(taken[b][1], taken[b][2], f"{taken[b][0]} overlaps {taken[a][0]} of {taken[a][2]}; "
                      "give each link and loopback its own addresses")
    P.raise_if_any()

    taken_nets = _Taken(t[0] for t in taken)
    p2p_default = spec.defaults.p2p_prefix
    p2p_pools = {plen: _pool(spec.addressing.links, plen, taken_nets) for plen in (30, 31)}
    lan_pools: dict[int, Iterator[IPv4Network]] = {}
    lo_pool = (IPv4Address(int(spec.addressing.loopbacks.network_address) + k)
               for k in range(1, spec.addressing.loopbacks.num_addresses))
    used_lo = {n.loopback for n in nodes.values() if n.loopback}

    links: list[Link] = []
    ifcount = {n: 0 for n in nodes}
    for i, l, eps in raw_links:
        kind = "p2p" if l.endpoints else "lan"
        if i in explicit_nets:
            net = explicit_nets[i]
        else:
            try:
                if kind == "p2p":
                    plen = l.prefix or p2p_default
                    net = next(p2p_pools[plen])
                    # a /30 and a /31 pool share the range: keep them apart
                    taken_nets.append(net)
                    p2p_pools = {pl: (_pool(spec.addressing.links, pl, taken_nets) if pl != plen
                                      else p2p_pools[pl]) for pl in (30, 31)}
                else:
                    plen = l.prefix or 24
                    if plen not in lan_pools:
                        lan_pools[plen] = _pool(spec.addressing.lans, plen, taken_nets)
                    net = next(lan_pools[plen])
                    taken_nets.append(net)
            except StopIteration:
                P.add(("addressing",), "addressing", f"the {'links' if kind == 'p2p' else 'lans'} pool is "
                      "exhausted; give a larger range")
                P.raise_if_any()
        hosts_iter: Iterator[IPv4Address] = iter(net.hosts()) if net.prefixlen < 31 else iter([net.network_address, net.broadcast_address])
        fixed = {e.address.ip for e in eps if e.address is not None}
        for e in eps:
            if e.address is not None:
                if e.address.ip in (net.network_address, net.broadcast_address) and net.prefixlen < 31:
                    P.add(("links", i), f"links[{i}]", f"{e.address} is the network or broadcast address of {net}")
        lname = l.name or ("-".join(e.node for e in eps) if kind == "p2p" else f"lan{i}")
        link = Link(name=lname, kind=kind, network=net, cost=l.cost or spec.defaults.cost,
                    delay_ms=l.delay_ms if l.delay_ms is not None else spec.defaults.delay_ms,
                    jitter_ms=l.jitter_ms if l.jitter_ms is not None else spec.defaults.jitter_ms,
                    loss=l.loss if l.loss is not None else spec.defaults.loss,
                    delay_set=l.delay_ms is not None or "delay_ms" in spec.defaults.model_fields_set)
        for e in eps:
            if e.address is not None:
                addr = e.address
            else:
                ip = next((h for h in hosts_iter if h not in fixed), None)
                if ip is None:
                    P.add(("links", i), f"links[{i}]", f"subnet {net} has too few addresses for {len(eps)} nodes")
                    break
                addr = IPv4Interface((int(ip), net.prefixlen))     # (no text to parse: 300,000 at 100k routers)
            ifname = f"eth{ifcount[e.node]}"
            ifcount[e.node] += 1
            itf = Interface(node=e.node, name=ifname, address=addr, link=link,
                            mac=make_mac(name, e.node, ifname), cost=e.cost or link.cost)
            link.interfaces.append(itf)
            nodes[e.node].interfaces.append(itf)
        ips = [x.ip for x in link.interfaces]
        if len(set(ips)) != len(ips):
            P.add(("links", i), f"links[{i}]", "two endpoints have the same address")
        links.append(link)
    for n in nodes.values():
        if n.is_router and n.loopback is None:
            ip = next((a for a in lo_pool if a not in used_lo and
                       not taken_nets.overlaps(IPv4Network((int(a), 32)))), None)
            if ip is None:
                P.add(("addressing", "loopbacks"), "addressing.loopbacks",
                      f"the loopbacks pool {spec.addressing.loopbacks} is exhausted; give a larger range")
                break
            n.loopback = ip
            used_lo.add(ip)
    P.raise_if_any()
    # the safety net: no address twice in the whole lab
    owner: dict[IPv4Address, tuple[str, str]] = {}
    for n in nodes.values():
        for itf_or_lo in ([("loopback", n.loopback)] if n.loopback else []) + [(i.name, i.ip) for i in n.interfaces]:
            what, ip = itf_or_lo
            if ip in owner and owner[ip] != (n.name, what):
                P.add(("routers", n.name) if n.is_router else ("hosts", n.name), f"{n.kind}s.{n.name}",
                      f"{ip} ({what}) is also {owner[ip][0]} {owner[ip][1]}; every address in a lab is unique")
            owner.setdefault(ip, (n.name, what))
    P.raise_if_any()
    return links


def _router_graph(P: _Problems, nodes: dict[str, Node], links: list[Link]) -> dict[str, set[str]]:
    """{router: its neighbours}; every router reachable from every other (one IGP area)."""
    # ---- every router reachable: one IGP area
    adj: dict[str, set[str]] = {n.name: set() for n in nodes.values() if n.is_router}
    for link in links:
        rs = [x.node for x in link.interfaces if nodes[x.node].is_router]
        for a in range(len(rs)):
            for b in range(a + 1, len(rs)):
                adj[rs[a]].add(rs[b])
                adj[rs[b]].add(rs[a])
    groups = _components(adj, adj)
    if len(groups) > 1:
        parts = sorted((sorted(c) for c in groups), key=len)
        P.add(("links",), "links", f"the routers form {len(parts)} disconnected groups (smallest: "
              f"{', '.join(parts[0])}); add links so that every router can reach every other")
    return adj


def _gateways(nodes: dict[str, Node]) -> None:
    """Each host's gateway: the first router on its link."""
    # ---- hosts' gateways
    for n in nodes.values():
        if not n.is_router and n.interfaces:
            itf = n.interfaces[0]
            gw = next((p for p in itf.link.interfaces if nodes[p.node].is_router), None)
            n.gateway = gw.ip if gw else None



def _domains(P: _Problems, spec: LabSpec, nodes: dict[str, Node], adj: dict[str, set[str]]) -> dict[str, MplsDomain]:
    """The MPLS domains, their knobs set on their routers."""
    # ---- MPLS domains. A router may be in two domains (back-to-back LSPs, docs/tunnels.md): the
    # egress of one domain's LSPs and the ingress of the next one's; each domain runs its own LDP
    member: dict[str, list[str]] = {}
    domains: dict[str, MplsDomain] = {}
    own_beh = {n.name: dict(n.behaviour) for n in nodes.values()}
    for dname, d in spec.mpls.items():
        loc = ("mpls", dname)
        if not re.match(NAME, dname):
            P.add(loc, f"mpls.{dname}", "a domain name is a lowercase word (letters, digits, '-', '_')")
        bad = False
        for j, r in enumerate(d.routers):
            if r not in nodes:
                P.add(loc + ("routers", j), f"mpls.{dname}.routers", f"unknown router '{r}'; declare it under routers:")
                bad = True
            elif not nodes[r].is_router:
                P.add(loc + ("routers", j), f"mpls.{dname}.routers", f"'{r}' is a host; only routers run MPLS")
                bad = True
            elif dname in member.get(r, ()):
                pass                        # listed twice: said once below
            elif len(member.get(r, ())) >= 2:
                P.add(loc + ("routers", j), f"mpls.{dname}.routers",
                      f"'{r}' is already in domains '{member[r][0]}' and '{member[r][1]}'; a router belongs to at "
                      "most two domains (the router between two LSPs back to back)")
                bad = True
            else:
                member.setdefault(r, []).append(dname)
        if len(set(d.routers)) != len(d.routers):
            P.add(loc + ("routers",), f"mpls.{dname}.routers", "a router is listed twice")
            bad = True
        if bad:
            continue
        if len(_components(adj, d.routers)) > 1:
            P.add(loc + ("routers",), f"mpls.{dname}.routers", "the domain's routers are not connected to each "
                  "other by links; an MPLS domain is one connected set of routers")
            continue
        explicit = {k: getattr(d, k) is not None for k in KNOBS}
        first = nodes[d.routers[0]].personality
        dbeh = _knobs(P, d.behaviour or {}, loc + ("behaviour",), f"mpls.{dname}.behaviour")
        dom = MplsDomain(name=dname, routers=list(d.routers), external=d.external, explicit=explicit,
                         vpn=d.vpn, sr=d.sr, behaviour=dbeh, bgp_free=d.bgp_free, sixpe=d.sixpe,
                         rsvp=_rsvp_pairs(P, d, loc, dname, adj, spec.control_plane == "frr"),
                         **{k: (getattr(d, k) if getattr(d, k) is not None else getattr(first, k)) for k in KNOBS})
        domains[dname] = dom
        for r in d.routers:
            n = nodes[r]
            # a router in two domains: the later domain's router-wide knobs (ttl_propagate, rfc4950,
            # icmp_tunneling) and behaviour win; ldp and popping are kept per domain (the labels it
            # advertises there)
            n.domain = dname
            n.domains.append(dname)
            for k in KNOBS:
                if explicit[k]:
                    setattr(n, k, getattr(d, k))
            n.domain_knobs[dname] = {"ldp": d.ldp if d.ldp is not None else n.personality.ldp,
                                     "popping": d.popping if d.popping is not None else n.personality.popping}
            n.behaviour = {**{k: v for k, v in n.behaviour.items() if k not in own_beh[r]}, **dbeh, **own_beh[r]}
    shared = {r: ds for r, ds in member.items() if len(ds) == 2 and all(x in domains for x in ds)}
    pairs: dict[tuple[str, ...], list[str]] = {}
    for r, ds in shared.items():
        pairs.setdefault(tuple(ds), []).append(r)
    for (a, b), rs in pairs.items():
        if len(rs) > 1:
            P.add(("mpls", b, "routers"), f"mpls.{b}.routers",
                  f"domains '{a}' and '{b}' share {len(rs)} routers ({', '.join(rs)}); two domains in series share "
                  "one router (the egress of one LSP and the ingress of the next): list the others in one domain")
    for r, ds in shared.items():
        why = [k for k in ("vpn", "sr", "sixpe", "rsvp", "bgp_free") if any(getattr(domains[x], k) for x in ds)]
        if why or spec.control_plane == "frr":
            what = f"{', '.join(why)}" if why else "control_plane: frr (FRR's ldpd is one LDP instance per router)"
            P.add(("mpls", ds[1], "routers"), f"mpls.{ds[1]}.routers",
                  f"'{r}' is in domains '{ds[0]}' and '{ds[1]}' (back-to-back LSPs), which is modelled for plain LDP "
                  f"domains only, not with {what}; list '{r}' in one domain or drop that option")
    return domains


def _apply_behaviour(spec: LabSpec, nodes: dict[str, Node]) -> None:
    """Each router's behaviour knobs over its vendor personality."""
    # ---- behaviour knobs over the vendor personality: domain, then router (recorded in the truth)
    for n in nodes.values():
        if n.behaviour:
            n.personality = dataclasses.replace(n.personality, **n.behaviour)
            # the reply source rules follow their knobs (source_time_exceeded ...): the engine and the
            # truth read icmp_source; a router's own icmp_source still wins
            rs = spec.routers.get(n.name) if n.kind == "router" else None
            own = {k for k, v in rs.icmp_source.model_dump().items() if v} if rs and rs.icmp_source else set()
            for k in vendors.SOURCE_KINDS:
                if f"source_{k}" in n.behaviour and k not in own:
                    n.icmp_source[k] = getattr(n.personality, f"source_{k}")



def _check_label_room(P: _Problems, nodes: dict[str, Node], links: list[Link]) -> None:
    """Room for every label a router may bind."""
    # ---- a router binds at most one label per prefix of the lab (links, LANs, loopbacks)
    # and one per VPN prefix: label_base must leave that many 20-bit labels (1048575 handed
    # out labels beyond 20 bits, every hop '*'); the control plane checks the exact count
    room = len(links) + sum(1 for n in nodes.values() if n.is_router) + 16
    for n in nodes.values():
        if n.is_router and n.domain is not None and n.personality.label_base + room - 1 > (1 << 20) - 1:
            P.add(("routers", n.name), f"routers.{n.name}.label_base",
                  f"label_base {n.personality.label_base} leaves fewer than the {room} labels this lab may bind "
                  f"(labels are 20 bits); give a label_base of at most {(1 << 20) - room}")



def _probes(P: _Problems, spec: LabSpec, nodes: dict[str, Node]) -> list[Probe]:
    """The lab's probes, their targets resolved to addresses."""
    # ---- probes
    probes: list[Probe] = []
    addr_map: dict[IPv4Address, str] | None = None   # built only for a target given as an address (most name nodes)
    for i, pr in enumerate(spec.probes):
        loc = ("probes", i)
        if pr.from_ not in nodes:
            P.add(loc + ("from",), f"probes[{i}].from", f"unknown node '{pr.from_}'")
            continue
        targets: list[IPv4Address] = []
        tnames: list[str] = []
        for j, t in enumerate(pr.to):
            if t in nodes:
                targets.append(nodes[t].primary_address())
                tnames.append(t)
                continue
            try:
                a = IPv4Address(t)
            except ValueError:
                P.add(loc + ("to", j), f"probes[{i}].to", f"'{t}' is neither a node nor an IPv4 address")
                continue
            if addr_map is None:
                addr_map = {x: n.name for n in nodes.values() for x in n.addresses()}
            if a not in addr_map:
                P.add(loc + ("to", j), f"probes[{i}].to", f"{a} belongs to no node of the lab")
                continue
            targets.append(a)
            tnames.append(addr_map[a])
        src6 = nodes[pr.from_].addresses6()
        t6 = [(nodes[t].addresses6()[0], t) for t in tnames if src6 and nodes[t].addresses6()]
        probes.append(Probe(source=pr.from_, targets=targets, target_names=tnames, targets6=t6))
    P.raise_if_any()
    return probes


# what a 6PE domain cannot be combined with here, and why (one line each in the lab's errors)
_SIXPE_UNSUPPORTED = {
    "vpn": "6VPE (IPv6 VPNs) is not modelled; use vpn: false",
    "sr": "6PE over SR-MPLS is not modelled; use sr: false",
    "bgp_free": "a BGP-free 6PE core is not modelled; use bgp_free: false",
    "rsvp": "6PE over LDP over RSVP is not modelled; remove rsvp",
}


def _sixpe(P: _Problems, spec: LabSpec, domains: dict[str, MplsDomain], nodes: dict[str, Node], links: list[Link],
           raw_links: list[RawLink]) -> None:
    """6PE (domain knob sixpe): check the domain's other knobs, then give every customer-side
    link (one end outside every 6PE domain) an IPv6 /64 from addressing.ipv6: the link's
    position k in links: is the /64's number, its ends get ::1, ::2, ... in endpoint order."""
    six = [dn for dn, d in spec.mpls.items() if d.sixpe and dn in domains]
    if not six:
        return
    for dn in six:
        d = spec.mpls[dn]
        for knob, why in _SIXPE_UNSUPPORTED.items():
            if getattr(d, knob):
                P.add(("mpls", dn, knob), f"mpls.{dn}.{knob}", f"sixpe: true with {knob}: {why}")
        if d.external != "bgp":
            P.add(("mpls", dn, "external"), f"mpls.{dn}.external",
                  "sixpe: true needs external: bgp (6PE routes are labelled BGP routes, RFC 4798); remove external")
        if domains[dn].popping != "php":
            P.add(("mpls", dn, "popping"), f"mpls.{dn}.popping",
                  "sixpe: true with UHP is not modelled (the egress would see explicit null over label 2); "
                  "use popping: php")
    net = spec.addressing.ipv6
    need = max(1, (len(links) - 1).bit_length())
    if net.prefixlen > 64 - need or net.is_multicast or net.is_link_local \
            or net.overlaps(IPv6Network("::ffff:0:0/96")) or net.is_unspecified:
        P.add(("addressing", "ipv6"), "addressing.ipv6",
              f"{net} cannot number {len(links)} customer links as /64s; give a global unicast prefix of "
              f"length at most /{64 - need}, such as the default 2001:db8:600::/48")
        P.raise_if_any()
        return
    core = {r for dn in six for r in domains[dn].routers}
    for k, (i, l, eps) in enumerate(raw_links):
        link = links[k]
        if all(x.node in core for x in link.interfaces):
            continue                    # the IPv4-only core
        sub = IPv6Network((int(net.network_address) + (k << 64), 64))
        for j, itf in enumerate(link.interfaces, 1):
            itf.address6 = IPv6Interface(f"{sub.network_address + j}/64")
    for dn in six:
        edge = [r for r in domains[dn].routers if nodes[r].addresses6()]
        if len(edge) < 2:
            P.add(("mpls", dn, "sixpe"), f"mpls.{dn}.sixpe", "a 6PE domain needs at least two PEs (routers with a "
                  "link out of the domain); add customer links or use sixpe: false")
    P.raise_if_any()
