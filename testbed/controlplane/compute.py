"""OSPF-like shortest paths (networkx) and LDP label distribution, as vendors converge.

Model (tnt.md 2.2, 4.1):
- One IGP area over all routers; every loopback and subnet is advertised. A LAN is a
  pseudo-node (router->LAN costs the interface cost, LAN->router costs 0), as in OSPF.
- Equal-cost next hops are all kept; the data plane picks one per flow.
- In an MPLS domain D, prefixes are *internal* (loopbacks of D routers, subnets whose every
  node is a D router), *edge* (other subnets attached to a D router) or *external*.
  LDP `all` (Cisco, independent control) binds every internal and edge prefix, and also
  external ones when the domain carries them in its IGP (`external: igp`); the router that
  owns a prefix advertises implicit null (PHP) or explicit null (UHP). An external FEC whose
  next hop leaves the domain gets an *untagged* out-label: the LSP ends abruptly (opaque).
  LDP `loopbacks` (Juniper, ordered control) binds the loopbacks of D routers only.
- External prefixes not bound by LDP are BGP routes with next-hop-self at the exit LER:
  an ingress pushes the label of the exit LER's loopback (`external: bgp`, the default).
"""
from __future__ import annotations

from ipaddress import IPv4Network

import networkx as nx

from .tables import EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, LabelHop, LfibEntry, NextHop, Route, RouterTables

FIRST_LABEL = 16


def _graph(lab):
    g = nx.DiGraph()
    for r in lab.routers:
        g.add_node(r.name)
    for link in lab.links:
        rifs = [i for i in link.interfaces if lab.nodes[i.node].is_router]
        if link.kind == "p2p":
            if len(rifs) == 2:
                a, b = rifs
                g.add_edge(a.node, b.node, weight=a.cost)
                g.add_edge(b.node, a.node, weight=b.cost)
        elif len(rifs) >= 2:
            pseudo = f"lan:{link.name}"
            for i in rifs:
                g.add_edge(i.node, pseudo, weight=i.cost)
                g.add_edge(pseudo, i.node, weight=0)
    return g


def _owners(lab):
    """prefix -> [(router, stub cost)] for every advertised prefix."""
    owners: dict[IPv4Network, list[tuple[str, int]]] = {}
    for r in lab.routers:
        owners.setdefault(IPv4Network(f"{r.loopback}/32"), []).append((r.name, 0))
        for i in r.interfaces:
            owners.setdefault(i.network, []).append((r.name, i.cost))
    return owners


def _neighbors(lab):
    """router -> [(ifname, neighbor router, neighbor's address on the link, link cost)]"""
    out = {}
    for r in lab.routers:
        lst = []
        for i in r.interfaces:
            for p in i.peers():
                if lab.nodes[p.node].is_router:
                    lst.append((i.name, p.node, p.ip, i.cost))
        out[r.name] = lst
    return out


def classify_prefixes(lab, owners=None) -> dict[str, dict[IPv4Network, str]]:
    """Per domain: every advertised prefix is internal, edge or external (module docstring)."""
    owners = owners or _owners(lab)
    members = {dn: set(dm.routers) for dn, dm in lab.domains.items()}
    link_nodes = {link.network: link.nodes for link in lab.links}
    pclass: dict[str, dict[IPv4Network, str]] = {}
    for dn in lab.domains:
        cls = {}
        for pfx, own in owners.items():
            owned_in = [o for o, _ in own if o in members[dn]]
            if pfx.prefixlen == 32 and owned_in and len(own) == 1 and \
                    str(pfx.network_address) == str(lab.nodes[own[0][0]].loopback):
                cls[pfx] = "internal"
            elif owned_in and pfx in link_nodes and all(n in members[dn] for n in link_nodes[pfx]):
                cls[pfx] = "internal"
            elif owned_in:
                cls[pfx] = "edge"
            else:
                cls[pfx] = "external"
        pclass[dn] = cls
    return pclass


def apply_bgp(lab, tables, dist, pclass=None):
    """BGP with next-hop-self at the exit LER, over whatever IGP and LDP state `tables` hold.

    For a router r of domain D and a prefix that is not internal to D and not label-switched
    by LDP at r, the exit LER e is the D router on a shortest path to the prefix's owner that
    is closest to it; the route then follows r's route to e's loopback, labels included.
    FRR runs no BGP in the labs, so the FRR control plane mode applies this same layer.
    """
    pclass = pclass or classify_prefixes(lab)
    owners = _owners(lab)
    inf = float("inf")

    def d(a, b):
        return dist.get(a, {}).get(b, inf)

    for dn, dm in lab.domains.items():
        members = set(dm.routers)
        cls = pclass[dn]
        for r in sorted(members):
            t = tables[r]
            for pfx, route in list(t.fib.items()):
                if route.kind not in ("igp", "ldp") or cls.get(pfx) == "internal":
                    continue
                if route.kind == "ldp" or pfx in t.bindings:
                    continue        # label-switched by LDP (or popped by an implicit-null neighbour)
                cands = [(d(r, o) + c, o) for o, c in owners.get(pfx, [])]
                if not cands:
                    continue
                best = min(x[0] for x in cands)
                exits = []
                for cost, o in cands:
                    if cost != best:
                        continue
                    on_path = [x for x in members if d(r, x) + d(x, o) == d(r, o)]
                    if on_path:
                        exits.append(min(on_path, key=lambda x: (d(x, o), x)))
                if not exits:
                    continue
                e = min(exits, key=lambda x: (d(r, x), x))
                if e == r:
                    continue
                lo = IPv4Network(f"{lab.nodes[e].loopback}/32")
                via = t.fib.get(lo)
                if via is None or not via.nexthops:
                    continue
                t.fib[pfx] = Route(pfx, "bgp", list(via.nexthops), via=f"next-hop {lab.nodes[e].loopback} ({e})")


def build(lab) -> ControlPlane:
    g = _graph(lab)
    dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="weight"))
    owners = _owners(lab)
    nbrs = _neighbors(lab)
    routers = [r.name for r in lab.routers]
    inf = float("inf")

    def d(a, b):
        return dist.get(a, {}).get(b, inf)

    # next hops from router r toward router o (all equal-cost first hops)
    nh_cache: dict[tuple[str, str], list[tuple[str, str, object]]] = {}

    def nexthops_to(r, o):
        key = (r, o)
        if key not in nh_cache:
            total = d(r, o)
            nh_cache[key] = sorted({(ifn, n, ip) for ifn, n, ip, c in nbrs[r] if c + d(n, o) == total},
                                   key=lambda x: (x[0], str(x[2])))
        return nh_cache[key]

    # best owners of each prefix, from each router
    def best_owners(r, pfx):
        cands = [(d(r, o) + c, o) for o, c in owners[pfx]]
        best = min(x[0] for x in cands)
        return best, sorted({o for cost, o in cands if cost == best})

    domain_of = {r.name: r.domain for r in lab.routers}
    members = {dn: set(dm.routers) for dn, dm in lab.domains.items()}

    pclass = classify_prefixes(lab, owners)

    tables = {r: RouterTables(name=r) for r in routers}

    # ---- IGP routes
    igp: dict[str, dict[IPv4Network, list[tuple[str, str, object]]]] = {r: {} for r in routers}
    for r in routers:
        node = lab.nodes[r]
        t = tables[r]
        local = {i.network: i for i in node.interfaces}
        t.fib[IPv4Network(f"{node.loopback}/32")] = Route(IPv4Network(f"{node.loopback}/32"), "local", [])
        for pfx, itf in local.items():
            t.fib[pfx] = Route(pfx, "connected", [NextHop(itf.name, None, None)])
        for pfx in owners:
            if pfx in t.fib:
                continue
            cost, best = best_owners(r, pfx)
            if cost == inf:
                continue
            hops = sorted({h for o in best for h in nexthops_to(r, o)}, key=lambda x: (x[0], str(x[2])))
            igp[r][pfx] = hops
            t.fib[pfx] = Route(pfx, "igp", [NextHop(ifn, ip, n) for ifn, n, ip in hops])

    # ---- LDP bindings
    for dn, dm in lab.domains.items():
        cls = pclass[dn]
        for r in sorted(members[dn]):
            node = lab.nodes[r]
            t = tables[r]
            t.ldp_neighbors = sorted({n for _, n, _, _ in nbrs[r] if n in members[dn]})
            label = FIRST_LABEL
            null = IMPLICIT_NULL if node.popping == "php" else EXPLICIT_NULL
            for pfx in sorted(owners, key=lambda p: (int(p.network_address), p.prefixlen)):
                c = cls[pfx]
                if node.ldp == "loopbacks":
                    wanted = c == "internal" and pfx.prefixlen == 32 and any(
                        str(pfx.network_address) == str(lab.nodes[m].loopback) for m in members[dn])
                else:
                    wanted = c in ("internal", "edge") or (c == "external" and dm.external == "igp")
                if not wanted:
                    continue
                if r in [o for o, _ in owners[pfx]]:
                    t.bindings[pfx] = null
                else:
                    if node.ldp == "loopbacks" and c == "external":
                        continue  # ordered control: no label without a downstream label
                    t.bindings[pfx] = label
                    label += 1

    # ---- LFIB and ingress pushes
    for dn, dm in lab.domains.items():
        cls = pclass[dn]
        for r in sorted(members[dn]):
            t = tables[r]
            # LFIB: swap / PHP pop / untagged
            for pfx, local_label in t.bindings.items():
                if local_label in (IMPLICIT_NULL, EXPLICIT_NULL):
                    continue
                hops = []
                for ifn, n, ip in igp[r].get(pfx, []):
                    if n in members[dn] and pfx in tables[n].bindings:
                        hops.append(LabelHop(tables[n].bindings[pfx], ifn, ip, n))
                    else:
                        hops.append(LabelHop(None, ifn, ip, n))
                if hops:
                    t.lfib[local_label] = LfibEntry(local_label, pfx, hops)
            # FIB: labelled routes
            for pfx, route in list(t.fib.items()):
                if route.kind != "igp":
                    continue
                if pfx in t.bindings:
                    new = []
                    for nh in route.nexthops:
                        lbl = tables[nh.neighbor].bindings.get(pfx) if nh.neighbor in members[dn] else None
                        push = () if lbl is None or lbl == IMPLICIT_NULL else (lbl,)
                        new.append(NextHop(nh.ifname, nh.gateway, nh.neighbor, push))
                    t.fib[pfx] = Route(pfx, "ldp" if any(n.push for n in new) else "igp", new, via=f"FEC {pfx}")
    apply_bgp(lab, tables, dist, pclass)

    # ---- hosts: connected subnet and a default route
    for h in lab.hosts:
        t = RouterTables(name=h.name)
        itf = h.interfaces[0]
        t.fib[itf.network] = Route(itf.network, "connected", [NextHop(itf.name, None, None)])
        if h.gateway is not None:
            gwnode = lab.owner_of(h.gateway)
            t.fib[IPv4Network("0.0.0.0/0")] = Route(IPv4Network("0.0.0.0/0"), "default",
                                                    [NextHop(itf.name, h.gateway, gwnode)])
        tables[h.name] = t

    return ControlPlane(lab=lab, tables=tables, distance=dist)
