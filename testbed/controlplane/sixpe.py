"""6PE (RFC 4798): IPv6 routes of the dual-stack nodes of a lab whose MPLS domain has sixpe.

The customer side (hosts, CEs, the PEs' customer interfaces) is dual stack with the same
topology, so each node's IPv6 route to a customer /64 follows its IPv4 route to the same
link's IPv4 prefix (the one IGP of the lab), next hop the neighbour's IPv6 address on that
link. Where that IPv4 route enters the IPv4-only core (a PE), the IPv6 route is the labelled
BGP route of 6PE: the egress PE e (the domain router where the IPv4 path leaves the core, or
that owns the prefix) advertises it with next hop ::ffff:<e's loopback> and the IPv6
explicit-null label 2 (RFC 4798 3; Junos requires explicit-null for 6PE, Cisco and Brocade
may advertise a per-prefix label instead: not modelled), so the ingress PE pushes its LDP
label toward e's loopback (none if e is its neighbour and signalled implicit null) over
label 2. P routers get no IPv6 route at all. Hosts: their subnet and a default route to the
gateway's IPv6 address.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from .tables import NextHop, Route, RouterTables

if TYPE_CHECKING:
    from testbed.lab.model import Lab, MplsDomain

IPV6_EXPLICIT_NULL = 2
DEFAULT6 = IPv6Network("::/0")


def sixpe_domains(lab: Lab) -> list[MplsDomain]:
    return [d for d in lab.domains.values() if d.sixpe]


def _egress(lab: Lab, tables: dict[str, RouterTables], start: str, net4: IPv4Network, core: set[str]) -> str | None:
    """The core router where the IPv4 path from `start` to `net4` leaves the core (first hop
    of each router taken: a 6PE route has one BGP next hop)."""
    cur, seen = start, set()
    while cur not in seen:
        seen.add(cur)
        node = lab.nodes[cur]
        if any(i.network == net4 for i in node.interfaces):
            return cur
        r = tables[cur].fib.get(net4)
        if r is None or not r.nexthops:
            return None
        nh = r.nexthops[0]
        if cur != start and node.iface(nh.ifname).address6 is not None:
            return cur
        if nh.neighbor is None or nh.neighbor not in core:
            return cur
        cur = nh.neighbor
    return None


def apply_6pe(lab: Lab, tables: dict[str, RouterTables]) -> None:
    """Fill `fib6` (IPv6 prefix -> Route) of every dual-stack node's tables."""
    six = sixpe_domains(lab)
    if not six:
        return
    core = {r for d in six for r in d.routers}
    v6_of: dict[IPv4Address, IPv6Address] = {}   # IPv4 interface address -> its IPv6 address
    links6: list[tuple[IPv4Network, IPv6Network]] = []
    for link in lab.links:
        if link.interfaces and link.interfaces[0].address6 is not None:
            links6.append((link.network, link.interfaces[0].address6.network))
            for itf in link.interfaces:
                if itf.address6 is not None:         # (every end of a numbered link has one)
                    v6_of[itf.ip] = itf.address6.ip
    for n in lab.nodes.values():
        if not n.addresses6():
            continue
        t = tables[n.name]
        fib6: dict[IPv6Network, Route] = {}
        for itf in n.interfaces:
            if itf.address6 is not None:
                fib6[itf.address6.network] = Route(itf.address6.network, "connected", [NextHop(itf.name, None, None)])
        if not n.is_router:
            gw = v6_of.get(n.gateway) if n.gateway is not None else None
            if gw is not None:
                fib6[DEFAULT6] = Route(DEFAULT6, "default", [NextHop(n.interfaces[0].name, gw, lab.owner_of(gw))])
            t.fib6 = fib6
            continue
        for net4, net6 in links6:
            if net6 in fib6:
                continue
            r4 = t.fib.get(net4)
            if r4 is None or not r4.nexthops:
                continue
            hops: list[NextHop] = []
            via, kind = "", "igp"
            for nh in r4.nexthops:
                if n.iface(nh.ifname).address6 is not None:
                    gw6 = v6_of.get(nh.gateway) if isinstance(nh.gateway, IPv4Address) else None
                    if gw6 is not None:
                        hops.append(NextHop(nh.ifname, gw6, nh.neighbor, ()))
            if not hops and n.name in core:
                e = _egress(lab, tables, n.name, net4, core)
                if e is not None and e != n.name:
                    lo = lab.nodes[e].loopback
                    to_e = t.fib.get(IPv4Network(f"{lo}/32"))
                    if to_e is not None and to_e.nexthops:
                        hops = [NextHop(h.ifname, h.gateway, h.neighbor, tuple(h.push) + (IPV6_EXPLICIT_NULL,))
                                for h in to_e.nexthops]
                        kind, via = "bgp", f"6PE next-hop ::ffff:{lo} ({e}), label {IPV6_EXPLICIT_NULL}"
            if hops:
                fib6[net6] = Route(net6, kind, hops, via=via)
        t.fib6 = fib6
