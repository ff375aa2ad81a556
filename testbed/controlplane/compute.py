"""OSPF-like shortest paths (scipy, numpy) and LDP label distribution, as vendors converge.

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

import zlib
from ipaddress import IPv4Network

from .tables import EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, Prefix, LabelHop, LfibEntry, NextHop, Route, RouterTables

FIRST_LABEL = 16


def _owners(lab):
    """prefix -> [(router, stub cost)] for every advertised prefix."""
    owners: dict[IPv4Network, list[tuple[str, int]]] = {}
    for r in lab.routers:
        owners.setdefault(Prefix(f"{r.loopback}/32"), []).append((r.name, 0))
        for i in r.interfaces:
            owners.setdefault(Prefix(str(i.network)), []).append((r.name, i.cost))
    return owners


def _neighbors(lab):
    """router -> [(ifname, neighbor router, neighbor's address on the link, link cost)]"""
    out = {}
    for r in lab.routers:
        lst = []
        for i in r.interfaces:
            if i.link.down:                # a failed link: no adjacency (its prefix stays advertised)
                continue
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


def apply_bgp(lab, tables, dist, pclass=None, owners=None):
    """BGP with next-hop-self at the exit LER, over whatever IGP and LDP state `tables` hold.

    For a router r of domain D and a prefix that is not internal to D and not label-switched
    by LDP at r, the exit LER e is the D router on a shortest path to the prefix's owner that
    is closest to it; the route then follows r's route to e's loopback, labels included.
    FRR runs no BGP in the labs, so the FRR control plane mode applies this same layer.
    """
    owners = owners or _owners(lab)
    pclass = pclass or classify_prefixes(lab, owners)
    inf = float("inf")
    vpn_labels: dict = {}

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
                hops = list(via.nexthops)
                if dm.vpn:
                    vpn = _vpn_label(lab, tables, e, pfx, vpn_labels)
                    if vpn is None:
                        continue
                    hops = [NextHop(h.ifname, h.gateway, h.neighbor, tuple(h.push) + (vpn,)) for h in hops]
                t.fib[pfx] = Route(pfx, "bgp", hops, via=f"next-hop {lab.nodes[e].loopback} ({e})"
                                   + (f", VPN label {hops[0].push[-1]}" if dm.vpn else ""))


def _allocation_order(owners, router: str, order: str) -> list:
    """The order a router hands out its LDP labels: by address (sequential), or a
    router-specific one (vendor knob label_order: router), standing for the order prefixes
    entered that router's RIB, so the label of one FEC differs hop by hop (issue 13)."""
    by_addr = sorted(owners, key=lambda p: (int(p.network_address), p.prefixlen))
    if order == "sequential":
        return by_addr
    return sorted(by_addr, key=lambda p: zlib.crc32(f"{router}/{p}".encode()))


def _sr_bindings(lab, dm, node, t, own, null):
    """SR-MPLS (domain knob sr): a node SID per domain router, index = its place in the
    domain's router list; every router binds srgb_base + index to that loopback, so the
    label is the same at every hop; the owner advertises the null label (PHP or UHP)."""
    for index, m in enumerate(dm.routers, start=1):
        pfx = Prefix(f"{lab.nodes[m].loopback}/32")
        t.bindings[pfx] = null if pfx in own else node.personality.srgb_base + index


def _vpn_label(lab, tables, egress: str, pfx, memo: dict) -> int | None:
    """The VPN label the egress PE advertises for a customer prefix (per-prefix allocation,
    above the labels it already uses) and its LFIB entry: pop and send the IP packet to the
    CE-side next hop (an untagged entry, like Cisco's VRF label). None: no route there."""
    key = (egress, pfx)
    if key in memo:
        return memo[key]
    t = tables[egress]
    r = t.fib.get(pfx)
    hops = [LabelHop(None, h.ifname, h.gateway, h.neighbor) for h in (r.nexthops if r else []) if h.gateway]
    if not hops:
        memo[key] = None
        return None
    used = [lbl for lbl in list(t.lfib) + list(t.bindings.values()) if lbl > 15]
    label = max(used + [lab.nodes[egress].personality.label_base - 1]) + 1
    t.lfib[label] = LfibEntry(label, pfx, hops)
    memo[key] = label
    return label


def apply_catalogue(lab, tables, dist, pclass=None, owners=None):
    """The domain options and knobs that change forwarding state beyond IGP, LDP and BGP (issue
    13): LDP over RSVP (rsvp), the no-decrement-ttl signal to PHP hops, a BGP-free core. The FRR
    control plane mode applies the same layer after apply_bgp (rsvp excepted: lab check)."""
    owners = owners or _owners(lab)
    pclass = pclass or classify_prefixes(lab, owners)
    for dn, dm in lab.domains.items():
        members = set(dm.routers)
        for head, tail in dm.rsvp:
            _ldp_over_rsvp(lab, tables, dist, owners, members, head, tail)
        if any(lab.nodes[r].personality.no_decrement_ttl for r in members):
            _no_decrement_signal(lab, tables, members)
        if dm.bgp_free:
            _bgp_free_core(lab, tables, members, pclass[dn])


def edge_routers(lab, members) -> set:
    """The domain's LERs: routers with a link to a node outside the domain."""
    return {r for r in members for i in lab.nodes[r].interfaces for p in i.peers() if p.node not in members}


def _free_label(lab, t, router: str) -> int:
    used = [lbl for lbl in list(t.lfib) + list(t.bindings.values()) if lbl > 15]
    return max(used + [lab.nodes[router].personality.label_base - 1]) + 1


def _ldp_over_rsvp(lab, tables, dist, owners, members, head: str, tail: str):
    """LDP over RSVP (domain knob rsvp: [[head, tail]]): an RSVP-TE LSP from head to tail along
    the IGP's first shortest path, a label per router after head, PHP (or explicit null) at
    the router before tail. Head's LDP LFIB entries for FECs whose shortest path crosses tail
    swap to the label tail advertises for the FEC (targeted LDP) and push the RSVP label on
    top (LabelHop.push); the new top label's TTL is head's stacked_push_ttl (copy or 255).
    Head's own FIB routes stay LDP-only (the tunnel carries label-switched traffic)."""
    lo = Prefix(f"{lab.nodes[tail].loopback}/32")
    path, hops = [head], []
    while path[-1] != tail:
        r = tables[path[-1]].fib.get(lo)
        if r is None or not r.nexthops or len(path) > len(lab.nodes):
            return
        nh = r.nexthops[0]
        hops.append(nh)
        path.append(nh.neighbor)
    labels = {x: _free_label(lab, tables[x], x) for x in path[1:-1]}
    tail_null = IMPLICIT_NULL if lab.nodes[tail].popping == "php" else EXPLICIT_NULL
    for k, x in enumerate(path[1:-1], start=1):
        nxt = path[k + 1]
        out = labels[nxt] if nxt != tail else tail_null
        nh = hops[k]
        tables[x].lfib[labels[x]] = LfibEntry(labels[x], lo, [LabelHop(out, nh.ifname, nh.gateway, nxt)])
    first = hops[0]
    inf = float("inf")
    t = tables[head]
    for in_label, e in list(t.lfib.items()):
        own = [(o, c) for o, c in owners.get(e.fec, []) if o in members]
        if not own or in_label in labels.values():
            continue
        best = min(dist[head].get(o, inf) + c for o, c in own)
        if not any(dist[head].get(tail, inf) + dist[tail].get(o, inf) + c == best for o, c in own):
            continue
        tb = tables[tail].bindings.get(e.fec)
        if tb is None:
            continue
        top = labels[path[1]]
        hop = LabelHop(top, first.ifname, first.gateway, path[1]) if tb == IMPLICIT_NULL else \
            LabelHop(tb, first.ifname, first.gateway, path[1], push=(top,))
        t.lfib[in_label] = LfibEntry(in_label, e.fec, [hop])


def _no_decrement_signal(lab, tables, members):
    """Junos no-decrement-ttl is signalled along the LSP (a proprietary RSVP object): the
    penultimate hop pops without writing the LSE-TTL back. LDP merges every ingress's LSP to a
    FEC into one label, so the PHP hops of a FEC drop the write-back when every LER of the
    domain (the ingresses, the FEC's owner aside) has no_decrement_ttl."""
    lers = edge_routers(lab, members)
    for r in members:
        t = tables[r]
        for lbl, e in t.lfib.items():
            if not any(h.out_label == IMPLICIT_NULL for h in e.hops):
                continue
            ingresses = [x for x in lers if e.fec not in tables[x].bindings or
                         tables[x].bindings[e.fec] not in (IMPLICIT_NULL, EXPLICIT_NULL)]
            if ingresses and all(lab.nodes[x].personality.no_decrement_ttl for x in ingresses):
                e.hops = [LabelHop(h.out_label, h.ifname, h.gateway, h.neighbor, h.push, False)
                          if h.out_label == IMPLICIT_NULL else h for h in e.hops]


def _bgp_free_core(lab, tables, members, cls):
    """A BGP-free core (domain knob bgp_free): the routers with no link out of the domain run
    only the IGP and LDP, so external (customer) prefixes, which only the PEs learn by BGP, are
    not in their FIB. What they answer by IP route to such a source is dropped (no route)."""
    for r in members - edge_routers(lab, members):
        fib = tables[r].fib
        for pfx in [p for p in fib if cls.get(p) == "external"]:
            del fib[pfx]


class Distances:
    """All-pairs IGP distances (a matrix from scipy) with dict-like access by router name."""

    def __init__(self, names: list[str], matrix):
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.m = matrix

    def get(self, a, default=None):
        i = self.index.get(a)
        if i is None:
            return default if default is not None else {}
        return _Row(self, i)

    def __getitem__(self, a):
        return _Row(self, self.index[a])


class _Row:
    def __init__(self, d: Distances, i: int):
        self.d, self.i = d, i

    def get(self, b, default=float("inf")):
        j = self.d.index.get(b)
        return default if j is None else float(self.d.m[self.i, j])

    def __getitem__(self, b):
        return float(self.d.m[self.i, self.d.index[b]])


MASK_BITS = 62


def _igp(lab, owners, nbrs):
    """Shortest paths and equal-cost first hops, vectorised: all-pairs distances in C
    (scipy), first-hop sets as bit masks over each router's neighbour list (numpy)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    names = [r.name for r in lab.routers]
    ix = {n: i for i, n in enumerate(names)}
    n = len(names)
    best_edge: dict[tuple[int, int], int] = {}
    for r, lst in nbrs.items():
        for ifn, nb, ip, c in lst:
            k = (ix[r], ix[nb])
            best_edge[k] = min(c, best_edge.get(k, c))
    if best_edge:
        rows, cols = zip(*best_edge)
        g = csr_matrix((list(best_edge.values()), (rows, cols)), shape=(n, n))
        D = dijkstra(g, directed=True)
    else:
        D = np.full((n, n), np.inf)
        np.fill_diagonal(D, 0)
    # C[r, o, w]: bit k of word w set when neighbour 62*w+k of r (in nbrs[r] order) is a first
    # hop toward o; one word unless a router has more than 62 neighbours (ISP cores have hundreds)
    words = max(1, -(-max((len(lst) for lst in nbrs.values()), default=0) // MASK_BITS))
    C = np.zeros((n, n, words), dtype=np.int64)
    for r, lst in nbrs.items():
        i = ix[r]
        for k, (ifn, nb, ip, c) in enumerate(lst):
            C[i, :, k // MASK_BITS] |= ((c + D[ix[nb]] == D[i]) & np.isfinite(D[i])).astype(np.int64) \
                << (k % MASK_BITS)
    return names, ix, D, C


def build(lab) -> ControlPlane:
    import numpy as np
    owners = _owners(lab)
    nbrs = _neighbors(lab)
    names, ix, D, C = _igp(lab, owners, nbrs)
    dist = Distances(names, D)
    routers = names
    members = {dn: set(dm.routers) for dn, dm in lab.domains.items()}
    pclass = classify_prefixes(lab, owners)
    tables = {r: RouterTables(name=r) for r in routers}

    # ---- IGP routes: per prefix, the best owners from every router at once (numpy), the
    # first-hop masks of those owners OR-ed; next-hop lists are shared per (router, mask)
    prefixes = list(owners)
    canon = {p: p for p in prefixes}           # Prefix objects (cached hash) for every key
    own_sets = {r: set() for r in routers}
    for r in routers:
        node = lab.nodes[r]
        own_sets[r].add(canon[IPv4Network(f"{node.loopback}/32")])
        own_sets[r].update(canon[itf.network] for itf in node.interfaces)
    masks = np.zeros((len(prefixes), len(routers), C.shape[2]), dtype=np.int64)
    for pi, pfx in enumerate(prefixes):
        own = owners[pfx]
        cols = [ix[o] for o, _ in own]
        stubs = np.array([c for _, c in own], dtype=float)[:, None]
        M = D[:, cols].T + stubs                       # (owners, routers)
        best = M.min(axis=0)
        row = masks[pi]
        for k, col in enumerate(cols):
            row |= np.where((M[k] == best)[:, None], C[:, col], 0)
        for col in cols:
            row[col] = 0                               # the owner itself: connected, not IGP

    def fib_loader(i: int, r: str):
        def load(fib: dict):
            node = lab.nodes[r]
            lo = canon[IPv4Network(f"{node.loopback}/32")]
            fib[lo] = Route(lo, "local", [])
            for itf in node.interfaces:
                net = canon[itf.network]
                fib[net] = Route(net, "connected", [NextHop(itf.name, None, None)])
            lst = nbrs[r]
            cache: dict[int, list[NextHop]] = {}
            if masks.shape[2] == 1:
                per_prefix = masks[:, i, 0].tolist()
            else:
                per_prefix = [0] * len(prefixes)
                for j, col in enumerate(masks[:, i].T.tolist()):
                    for pi, w in enumerate(col):
                        if w:
                            per_prefix[pi] |= w << (MASK_BITS * j)
            for pfx, m in zip(prefixes, per_prefix):
                if not m:
                    continue
                hops = cache.get(m)
                if hops is None:
                    hops = cache[m] = sorted((NextHop(lst[k][0], lst[k][2], lst[k][1])
                                              for k in range(len(lst)) if m >> k & 1),
                                             key=lambda h: (h.ifname, int(h.gateway)))
                fib[pfx] = Route(pfx, "igp", hops)
        return load

    for i, r in enumerate(routers):
        tables[r]._loader = fib_loader(i, r)

    # ---- LDP bindings
    for dn, dm in lab.domains.items():
        cls = pclass[dn]
        for r in sorted(members[dn]):
            node = lab.nodes[r]
            t = tables[r]
            t.ldp_neighbors = sorted({n for _, n, _, _ in nbrs[r] if n in members[dn]})
            own = own_sets[r]
            pers = node.personality
            label = pers.label_base
            null = IMPLICIT_NULL if node.popping == "php" else EXPLICIT_NULL
            if dm.sr:
                _sr_bindings(lab, dm, node, t, own, null)
                continue
            for pfx in _allocation_order(owners, r, pers.label_order):
                c = cls[pfx]
                if node.ldp == "loopbacks":
                    wanted = c == "internal" and pfx.prefixlen == 32 and any(
                        str(pfx.network_address) == str(lab.nodes[m].loopback) for m in members[dn])
                else:
                    wanted = c in ("internal", "edge") or (c == "external" and dm.external == "igp")
                if not wanted:
                    continue
                if pfx in own:
                    t.bindings[pfx] = null
                else:
                    if node.ldp == "loopbacks" and c == "external":
                        continue  # ordered control: no label without a downstream label
                    t.bindings[pfx] = label
                    label += 1

    # ---- LFIB and ingress pushes
    fec_via: dict = {}                         # one string per FEC, shared by every router's route
    for dn, dm in lab.domains.items():
        cls = pclass[dn]
        for r in sorted(members[dn]):
            t = tables[r]
            # LFIB: swap / PHP pop / untagged
            for pfx, local_label in t.bindings.items():
                if local_label in (IMPLICIT_NULL, EXPLICIT_NULL):
                    continue
                hops = []
                route = t.fib.get(pfx)
                for nh in (route.nexthops if route is not None and route.kind == "igp" else []):
                    n = nh.neighbor
                    if n in members[dn] and pfx in tables[n].bindings:
                        hops.append(LabelHop(tables[n].bindings[pfx], nh.ifname, nh.gateway, n))
                    else:
                        hops.append(LabelHop(None, nh.ifname, nh.gateway, n))
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
                    via = fec_via.get(pfx)
                    if via is None:
                        via = fec_via[pfx] = f"FEC {pfx}"
                    t.fib[pfx] = Route(pfx, "ldp" if any(n.push for n in new) else "igp", new, via=via)
    apply_bgp(lab, tables, dist, pclass, owners)
    apply_catalogue(lab, tables, dist, pclass, owners)

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
