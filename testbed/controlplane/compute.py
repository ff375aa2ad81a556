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

import itertools
import zlib
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from .aliases import Nbr, Nbrs, Owners
from .tables import (EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, DistanceRow, DistanceTable, LazyDict, Prefix,
                     LabelHop, LfibEntry, NextHop, Route, RouterTables)
from .views import NONE, DestinationView, label_hops, labelled_route
from .sixpe import apply_6pe

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from testbed.lab.model import Lab, MplsDomain, Node

    from .aliases import BoolArray, Bound, FloatArray, IntArray
    Masks: TypeAlias = "IntArray | _LazyMasks"    # masks[prefix, router, word]: first-hop bits (_build)

PClass = dict[str, dict[IPv4Network, str]]                 # domain -> prefix -> internal | edge | external
Tables = dict[str, RouterTables]

FIRST_LABEL = 16


def _by_interface(h: NextHop) -> tuple[str, int]:
    """IGP next hops in (interface, address) order (an IGP next hop always has an address)."""
    return h.ifname, int(h.gateway) if h.gateway is not None else -1


def _owners(lab: Lab) -> Owners:
    """prefix -> [(router, stub cost)] for every advertised prefix."""
    owners: dict[IPv4Network, list[tuple[str, int]]] = {}
    for r in lab.routers:       # from (integer, length): parsing text was most of a 100,000-router lab's setup
        assert r.loopback is not None          # (every router has one once the lab is built)
        owners.setdefault(Prefix((int(r.loopback), 32)), []).append((r.name, 0))
        for i in r.interfaces:
            n = i.network
            got = owners.get(n)         # (a /31's network object is in a reference cycle: made once)
            if got is None:
                got = owners[Prefix((int(n.network_address), n.prefixlen))] = []
            got.append((r.name, i.cost))
    return owners


def _neighbors(lab: Lab) -> Nbrs:
    """router -> [(ifname, neighbor router, neighbor's address on the link, link cost)]"""
    out: Nbrs = {}
    for r in lab.routers:
        lst: list[Nbr] = []
        for i in r.interfaces:
            if i.link.down:                # a failed link: no adjacency (its prefix stays advertised)
                continue
            for p in i.peers():
                if lab.nodes[p.node].is_router:
                    lst.append((i.name, p.node, p.ip, i.cost))
        out[r.name] = lst
    return out


def classify_prefixes(lab: Lab, owners: Owners | None = None) -> PClass:
    """Per domain: every advertised prefix is internal, edge or external (module docstring)."""
    owners = owners or _owners(lab)
    members = {dn: set(dm.routers) for dn, dm in lab.domains.items()}
    link_nodes = {link.network: link.nodes for link in lab.links}
    pclass: dict[str, dict[IPv4Network, str]] = {}
    for dn in lab.domains:
        cls: dict[IPv4Network, str] = {}
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


def apply_bgp(lab: Lab, tables: Tables, dist: DistanceTable, pclass: PClass | None = None,
              owners: Owners | None = None, candidates: dict[str, list[IPv4Network]] | None = None) -> None:
    """BGP with next-hop-self at the exit LER, over whatever IGP and LDP state `tables` hold.

    For a router r of domain D and a prefix that is not internal to D and not label-switched
    by LDP at r, the exit LER e is the D router on a shortest path to the prefix's owner that
    is closest to it; the route then follows r's route to e's loopback, labels included.
    FRR runs no BGP in the labs, so the FRR control plane mode applies this same layer.
    `candidates` (router -> prefixes, in FIB order): the only routes that can be rewritten
    (IGP routes without an LDP binding, not internal), so a router without any keeps its
    FIB unbuilt (build() defers FIBs to their first use).
    """
    owners = owners or _owners(lab)
    pclass = pclass or classify_prefixes(lab, owners)
    inf = float("inf")
    vpn_labels: dict[tuple[str, IPv4Network], int | None] = {}
    nowhere: dict[str, float] = {}

    def d(a: str, b: str) -> float:
        return dist.get(a, nowhere).get(b, inf)

    for dn, dm in lab.domains.items():
        members = set(dm.routers)
        cls = pclass[dn]
        for r in sorted(members):
            t = tables[r]
            if candidates is not None:
                if not candidates.get(r):
                    continue
                items = [(p, t.fib[p]) for p in candidates[r]]
            else:
                items = list(t.fib.items())
            for pfx, route in items:
                if route.kind not in ("igp", "ldp") or cls.get(pfx) == "internal":
                    continue
                if route.kind == "ldp" or pfx in t.bindings:
                    continue        # label-switched by LDP (or popped by an implicit-null neighbour)
                cands = [(d(r, o) + c, o) for o, c in owners.get(pfx, [])]
                if not cands:
                    continue
                best = min(x[0] for x in cands)
                exits: list[str] = []
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


def _allocation_order(suffixes: list[bytes], router: str, order: str) -> list[int]:
    """The order a router hands out its LDP labels, as indices into the prefixes sorted by
    address (`suffixes`: b"/" + each one as text): by address (sequential), or a router-specific
    one (vendor knob label_order: router), standing for the order prefixes entered that
    router's RIB, so the label of one FEC differs hop by hop (issue 13): by the CRC-32 of
    "router/prefix" (a running CRC over the router's name), a stable sort (ties: address order)."""
    if order == "sequential":
        return list(range(len(suffixes)))
    keys = list(map(zlib.crc32, suffixes, itertools.repeat(zlib.crc32(router.encode()), len(suffixes))))
    return sorted(range(len(suffixes)), key=keys.__getitem__)


def _sr_bindings(lab: Lab, dm: MplsDomain, node: Node, t: RouterTables, own: set[IPv4Network], null: int) -> None:
    """SR-MPLS (domain knob sr): a node SID per domain router, index = its place in the
    domain's router list; every router binds srgb_base + index to that loopback, so the
    label is the same at every hop; the owner advertises the null label (PHP or UHP)."""
    for index, m in enumerate(dm.routers, start=1):
        pfx = Prefix(f"{lab.nodes[m].loopback}/32")
        t.bindings[pfx] = null if pfx in own else node.personality.srgb_base + index


def _vpn_label(lab: Lab, tables: Tables, egress: str, pfx: IPv4Network,
               memo: dict[tuple[str, IPv4Network], int | None]) -> int | None:
    """The VPN label the egress PE advertises for a customer prefix (per-prefix allocation,
    above the labels it already uses) and its LFIB entry: pop and send the IP packet to the
    CE-side next hop (an untagged entry, like Cisco's VRF label). None: no route there."""
    key = (egress, pfx)
    if key in memo:
        return memo[key]
    t = tables[egress]
    r = t.fib.get(pfx)
    hops = [LabelHop(None, h.ifname, h.gateway, h.neighbor) for h in (r.nexthops if r else [])
            if isinstance(h.gateway, IPv4Address)]       # (an IPv4 route's gateway, when it has one)
    if not hops:
        memo[key] = None
        return None
    used = [lbl for lbl in list(t.lfib) + list(t.bindings.values()) if lbl > 15]
    label = _label_room(lab, egress, max(used + [lab.nodes[egress].personality.label_base - 1]) + 1)
    t.lfib[label] = LfibEntry(label, pfx, hops)
    memo[key] = label
    return label


def apply_catalogue(lab: Lab, tables: Tables, dist: DistanceTable, pclass: PClass | None = None,
                    owners: Owners | None = None) -> None:
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


def edge_routers(lab: Lab, members: set[str]) -> set[str]:
    """The domain's LERs: routers with a link to a node outside the domain."""
    return {r for r in members for i in lab.nodes[r].interfaces for p in i.peers() if p.node not in members}


MAX_LABEL = (1 << 20) - 1        # an MPLS label is 20 bits


def _label_room(lab: Lab, router: str, label: int) -> int:
    """A label the router allocates, or a LabError when its label_base leaves no room for it
    (label_base: 1048575 handed out labels beyond 20 bits: every hop '*')."""
    if label > MAX_LABEL:
        from testbed.errors import LabError, Problem
        base = lab.nodes[router].personality.label_base
        raise LabError([Problem(lab.source, f"routers.{router}.label_base",
                                f"label_base {base} leaves room for {MAX_LABEL - base + 1} labels, but {router} "
                                f"allocates at least {label - base + 1}; give a lower label_base (labels are 20 bits)")])
    return label


def _free_label(lab: Lab, t: RouterTables, router: str) -> int:
    used = [lbl for lbl in list(t.lfib) + list(t.bindings.values()) if lbl > 15]
    return _label_room(lab, router, max(used + [lab.nodes[router].personality.label_base - 1]) + 1)


def _ldp_over_rsvp(lab: Lab, tables: Tables, dist: DistanceTable, owners: Owners, members: set[str], head: str,
                   tail: str) -> None:
    """LDP over RSVP (domain knob rsvp: [[head, tail]]): an RSVP-TE LSP from head to tail along
    the IGP's first shortest path, a label per router after head, PHP (or explicit null) at
    the router before tail. Head's LDP LFIB entries for FECs whose shortest path crosses tail
    swap to the label tail advertises for the FEC (targeted LDP) and push the RSVP label on
    top (LabelHop.push); the new top label's TTL is head's stacked_push_ttl (copy or 255).
    Head's own FIB routes stay LDP-only (the tunnel carries label-switched traffic)."""
    lo = Prefix(f"{lab.nodes[tail].loopback}/32")
    path = [head]
    hops: list[tuple[str, IPv4Address]] = []     # (interface, next hop address) out of each router of the path
    while path[-1] != tail:
        r = tables[path[-1]].fib.get(lo)
        if r is None or not r.nexthops or len(path) > len(lab.nodes):
            return
        nh = r.nexthops[0]
        if nh.neighbor is None or not isinstance(nh.gateway, IPv4Address):
            return                                  # (an IGP next hop names its router and address: never)
        hops.append((nh.ifname, nh.gateway))
        path.append(nh.neighbor)
    labels = {x: _free_label(lab, tables[x], x) for x in path[1:-1]}
    tail_null = IMPLICIT_NULL if lab.nodes[tail].popping == "php" else EXPLICIT_NULL
    for k, x in enumerate(path[1:-1], start=1):
        nxt = path[k + 1]
        out = labels[nxt] if nxt != tail else tail_null
        ifname, gw = hops[k]
        tables[x].lfib[labels[x]] = LfibEntry(labels[x], lo, [LabelHop(out, ifname, gw, nxt)])
    first_if, first_gw = hops[0]
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
        hop = LabelHop(top, first_if, first_gw, path[1]) if tb == IMPLICIT_NULL else \
            LabelHop(tb, first_if, first_gw, path[1], push=(top,))
        t.lfib[in_label] = LfibEntry(in_label, e.fec, [hop])


def _no_decrement_signal(lab: Lab, tables: Tables, members: set[str]) -> None:
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


def _bgp_free_core(lab: Lab, tables: Tables, members: set[str], cls: dict[IPv4Network, str]) -> None:
    """A BGP-free core (domain knob bgp_free): the routers with no link out of the domain run
    only the IGP and LDP, so external (customer) prefixes, which only the PEs learn by BGP, are
    not in their FIB. What they answer by IP route to such a source is dropped (no route)."""
    for r in members - edge_routers(lab, members):
        fib = tables[r].fib
        for pfx in [p for p in fib if cls.get(p) == "external"]:
            del fib[pfx]


class Distances:
    """All-pairs IGP distances (a matrix from scipy) with dict-like access by router name."""

    def __init__(self, names: list[str], matrix: FloatArray | _LazyIgp):
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.m = matrix

    def get(self, a: str, default: DistanceRow | None = None) -> DistanceRow:
        i = self.index.get(a)
        if i is None:
            return default if default is not None else {}
        return _Row(self, i)

    def __getitem__(self, a: str) -> _Row:
        return _Row(self, self.index[a])


class _Row:
    def __init__(self, d: Distances, i: int):
        self.d, self.i = d, i

    def get(self, b: str, default: float = float("inf")) -> float:
        j = self.d.index.get(b)
        return default if j is None else float(self.d.m[self.i, j])

    def __getitem__(self, b: str) -> float:
        return float(self.d.m[self.i, self.d.index[b]])


MASK_BITS = 62


# labs with more routers than this keep no all-pairs matrices (a 10,000-router lab's would
# take 2.4 GB for the first-hop masks alone and a minute to fill): distances to a router and
# the first-hop masks toward a prefix are computed when first asked (one Dijkstra on the
# reversed graph each) and kept; the values are the same numbers as the matrices' (_LazyIgp)
LAZY_ROUTERS = 1500


def _graph(lab: Lab, nbrs: Nbrs, ix: dict[str, int]) -> csr_matrix | None:
    from scipy.sparse import csr_matrix
    n = len(ix)
    best_edge: dict[tuple[int, int], int] = {}
    for r, lst in nbrs.items():
        for ifn, nb, ip, c in lst:
            k = (ix[r], ix[nb])
            best_edge[k] = min(c, best_edge.get(k, c))
    if not best_edge:
        return None
    rows, cols = zip(*best_edge)
    return csr_matrix((list(best_edge.values()), (rows, cols)), shape=(n, n))


class _LazyIgp:
    """What _igp's D (all-pairs distances) and the per-prefix first-hop masks hold, one
    column or prefix at a time: D[i, j] (a row of distances from i, cached), column(j)
    (distances from every router to j: Dijkstra from j on the reversed graph, cached),
    first_hops(j) (C[:, j]: per router, the bits of its neighbours on a shortest path to j)."""

    def __init__(self, lab: Lab, nbrs: Nbrs, ix: dict[str, int]) -> None:
        import numpy as np
        self.n = len(ix)
        g = _graph(lab, nbrs, ix)
        self.g = g
        self.gt = g.T.tocsr() if g is not None else None
        self.words = max(1, -(-max((len(lst) for lst in nbrs.values()), default=0) // MASK_BITS))
        src: list[int] = []
        nb: list[int] = []
        cost: list[int] = []
        word: list[int] = []
        bit: list[int] = []
        for r, lst in nbrs.items():
            for k, (ifn, nbr, ip, c) in enumerate(lst):
                src.append(ix[r])
                nb.append(ix[nbr])
                cost.append(c)
                word.append(k // MASK_BITS)
                bit.append(1 << (k % MASK_BITS))
        self.src = np.array(src, dtype=np.int64)
        self.nb = np.array(nb, dtype=np.int64)
        self.cost = np.array(cost, dtype=float)
        self.word = np.array(word, dtype=np.int64)
        self.bit = np.array(bit, dtype=np.int64)
        self.rows: dict[int, FloatArray] = {}
        self.cols: dict[int, FloatArray] = {}
        self.hops: dict[int, IntArray] = {}

    def _sssp(self, g: csr_matrix | None, i: int) -> FloatArray:
        import numpy as np
        if g is None:
            d = np.full(self.n, np.inf)
            d[i] = 0
            return d
        from scipy.sparse.csgraph import dijkstra
        out: FloatArray = dijkstra(g, directed=True, indices=i)
        return out

    def row(self, i: int) -> FloatArray:
        got = self.rows.get(i)
        if got is None:
            got = self.rows[i] = self._sssp(self.g, i)
        return got

    def column(self, j: int) -> FloatArray:
        got = self.cols.get(j)
        if got is None:
            got = self.cols[j] = self._sssp(self.gt, j)
        return got

    def __getitem__(self, ij: tuple[int, int]) -> float:
        i, j = ij
        return float(self.row(i)[j])

    def first_hops(self, j: int) -> IntArray:
        """(routers, words) int64: C[:, j] of _igp."""
        import numpy as np
        got = self.hops.get(j)
        if got is None:
            d = self.column(j)
            ok = (self.cost + d[self.nb] == d[self.src]) & np.isfinite(d[self.src])
            got = np.zeros((self.n, self.words), dtype=np.int64)
            np.bitwise_or.at(got, (self.src[ok], self.word[ok]), self.bit[ok])
            self.hops[j] = got
        return got


class _LazyMasks:
    """_build's masks[prefix, router] (first-hop bits toward a prefix's best owners), one
    prefix at a time (_LazyIgp); the whole array only when asked for with [:, i] or full()."""

    def __init__(self, igp: _LazyIgp, prefixes: list[IPv4Network], owners: Owners, ix: dict[str, int]):
        self.igp, self.prefixes, self.owners, self.ix = igp, prefixes, owners, ix
        self.shape = (len(prefixes), igp.n, igp.words)
        self.done: dict[int, IntArray] = {}
        self._full: IntArray | None = None

    def prefix(self, pi: int) -> IntArray:
        got = self.done.get(pi)
        if got is None:
            got = self.done[pi] = _prefix_mask(self.owners[self.prefixes[pi]], self.ix,
                                               self.igp.column, self.igp.first_hops, self.shape[1:])
        return got

    def full(self) -> IntArray:
        import numpy as np
        if self._full is None:
            out = np.zeros(self.shape, dtype=np.int64)
            for pi in range(self.shape[0]):
                out[pi] = self.prefix(pi)
            self._full = out
        return self._full

    def __getitem__(self, key: tuple[Any, ...]) -> Any:     # (numpy's own indexing: an array or a number)
        pi = key[0]
        if isinstance(pi, int):
            return self.prefix(pi)[key[1:]] if len(key) > 1 else self.prefix(pi)
        return self.full()[key]

    def any(self, axis: int) -> BoolArray:
        return cast("BoolArray", self.full().any(axis=axis))      # (with an axis: an array, never one bool)


def _prefix_mask(own: list[tuple[str, int]], ix: dict[str, int], column: Callable[[int], FloatArray],
                 first_hops: Callable[[int], IntArray], shape: tuple[int, ...]) -> IntArray:
    """masks[pi]: (routers, words), OR of the first hops toward the prefix's best owners."""
    import numpy as np
    cols = [ix[o] for o, _ in own]
    M = np.array([column(col) + c for col, (_, c) in zip(cols, own)])     # (owners, routers)
    best = M.min(axis=0)
    row = np.zeros(shape, dtype=np.int64)
    for k, col in enumerate(cols):
        row |= np.where((M[k] == best)[:, None], first_hops(col), 0)
    for col in cols:
        row[col] = 0                               # the owner itself: connected, not IGP
    return row


def _igp(lab: Lab, owners: Owners, nbrs: Nbrs) -> tuple[list[str], dict[str, int], FloatArray, IntArray]:
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
            edge = (ix[r], ix[nb])
            best_edge[edge] = min(c, best_edge.get(edge, c))
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


class OnDemand:
    """Forwarding state per destination, on demand: the route of router r to one prefix and
    its LFIB entry for one label, each exactly what r's whole FIB (fib_loader) and LFIB
    (lfib_loader) would hold, computed from the shared per-prefix equal-cost sets (`masks`)
    when first asked and kept. RouterTables uses it while a router's table was never built
    (RouterTables.lookup, .label_entry, .route_out): a walk or a sim run over a 400-router
    ISP then pays for the prefixes it reaches, not for routers x prefixes."""

    def __init__(self, lab: Lab, prefixes: list[IPv4Network], masks: Masks, nbrs: Nbrs, ix: dict[str, int],
                 blab: dict[str, list[int]], bound: dict[str, Bound], peer_rows: dict[str, dict[str, list[int]]],
                 dom_of: dict[str, str], fec_via: dict[int, str]):
        self.lab, self.prefixes, self.masks, self.nbrs, self.ix = lab, prefixes, masks, nbrs, ix
        self.blab, self.bound, self.peer_rows, self.dom_of = blab, bound, peer_rows, dom_of
        self.fec_via = fec_via
        self.pindex = {p: k for k, p in enumerate(prefixes)}
        by_len: dict[int, dict[int, int]] = {}
        for pi, p in enumerate(prefixes):
            by_len.setdefault(p.prefixlen, {})[int(p.network_address)] = pi
        # longest prefix first: (mask, {network: prefix index}); prefixes of one length never overlap
        self.index = [(((1 << 32) - 1) ^ ((1 << (32 - n)) - 1), by_len[n]) for n in sorted(by_len, reverse=True)]

    def view(self, r: str) -> "_RouterView":
        return _RouterView(self, r)


class _RouterView(DestinationView[OnDemand]):
    """One router's on-demand tables (OnDemand): routes per prefix index, LFIB entries per label."""
    __slots__ = ("i", "hop_lists", "labels")

    def __init__(self, od: OnDemand, r: str):
        super().__init__(od, r)
        self.i = od.ix[r]
        self.hop_lists: dict[int | tuple[int, ...], list[NextHop] | None] = {}
        self.labels: dict[int, int] | None = None

    def hops(self, pi: int) -> list[NextHop] | None:
        """The router's IGP next hops toward prefix pi (None: no IGP route), one list per
        distinct equal-cost set (as router_hops decodes them)."""
        row = self.src.masks[pi, self.i]
        words = int(row[0]) if row.shape[0] == 1 else tuple(int(w) for w in row)
        if words in self.hop_lists:
            return self.hop_lists[words]
        m = 0
        for j, w in enumerate(words if isinstance(words, tuple) else (words,)):
            m |= w << (MASK_BITS * j)
        lst = self.src.nbrs[self.r]
        got = self.hop_lists[words] = sorted(
            (NextHop(lst[k][0], lst[k][2], lst[k][1]) for k in range(len(lst)) if m >> k & 1),
            key=_by_interface) or None
        return got

    def _routed(self, pi: int, hops: list[NextHop]) -> Route:
        """As fib_loader: the labels the next hops advertise where the router binds one to pi."""
        od, r = self.src, self.r
        mine = od.blab.get(r) if od.dom_of.get(r) is not None else None
        if mine is None or mine[pi] == NONE:
            return Route(od.prefixes[pi], "igp", hops)
        peers = od.peer_rows[r]
        return labelled_route(od.prefixes[pi], pi, hops, [
            row[pi] if (row := peers.get(nh.neighbor or "")) is not None else NONE for nh in hops],
            od.fec_via)

    def _entry(self, label: int) -> LfibEntry | None:
        """What lfib_loader builds for `label`."""
        od, r = self.src, self.r
        if self.labels is None:
            self.labels = {lbl: pi for pi, lbl in _pairs(od.bound.get(r))
                           if lbl != IMPLICIT_NULL and lbl != EXPLICIT_NULL}
        pi = self.labels.get(label)
        hops = self.hops(pi) if pi is not None else None
        if pi is None or hops is None:
            return None
        peers = od.peer_rows[r]
        return LfibEntry(label, od.prefixes[pi], label_hops(hops, [
            row[pi] if (row := peers.get(nh.neighbor or "")) is not None else NONE for nh in hops]))


def host_tables(lab: Lab, h: Node) -> RouterTables:
    """A host's tables (whole tables and scale's alike): its connected subnet and a default route
    to its gateway."""
    t = RouterTables(name=h.name)
    itf = h.interfaces[0]
    t.fib[itf.network] = Route(itf.network, "connected", [NextHop(itf.name, None, None)])
    if h.gateway is not None:
        gwnode = lab.owner_of(h.gateway)
        t.fib[IPv4Network("0.0.0.0/0")] = Route(IPv4Network("0.0.0.0/0"), "default",
                                                [NextHop(itf.name, h.gateway, gwnode)])
    return t


def _pairs(b: Bound | None) -> list[tuple[int, int]]:
    """(prefix index, label) pairs of one router's bindings (bound[r]: two numpy arrays)."""
    return [] if b is None else list(zip(b[0].tolist(), b[1].tolist()))


def _bindings_of(prefixes: list[IPv4Network], pis: IntArray,
                 labels: IntArray) -> Callable[[], Iterator[tuple[IPv4Network, int]]]:
    """What fills a router's LazyDict of bindings: prefix -> label, in allocation order."""
    return lambda: zip([prefixes[k] for k in pis.tolist()], labels.tolist())


def _build(lab: Lab) -> ControlPlane:
    import numpy as np
    from . import cache
    owners = _owners(lab)
    nbrs = _neighbors(lab)
    # the on-disk cache (controlplane/cache.py) holds whole-table labs; not the lazy IGP of big
    # labs, nor labs with routers in two domains (their label rows are built below)
    ckey = cache.key(lab, owners, nbrs) if len(lab.routers) <= LAZY_ROUTERS and not lab.shared_routers() else None
    words = max(1, -(-max((len(lst) for lst in nbrs.values()), default=0) // MASK_BITS))
    cached = cache.load(ckey, len(lab.routers), len(owners), words, [len(nbrs[r.name]) for r in lab.routers],
                        [r.name for r in lab.routers]) if ckey else None
    D: FloatArray | _LazyIgp
    masks: Masks
    if cached is not None:
        names = [r.name for r in lab.routers]
        ix = {n: i for i, n in enumerate(names)}
        D, masks, cached_bound = cached
    elif len(lab.routers) > LAZY_ROUTERS:
        names = [r.name for r in lab.routers]
        ix = {n: i for i, n in enumerate(names)}
        D = _LazyIgp(lab, nbrs, ix)
    else:
        names, ix, D, C = _igp(lab, owners, nbrs)
    dist = Distances(names, D)
    routers = names
    members = {dn: set(dm.routers) for dn, dm in lab.domains.items()}
    pclass = classify_prefixes(lab, owners)
    tables = {r: RouterTables(name=r) for r in routers}

    # ---- IGP routes: per prefix, the best owners from every router at once (numpy), the
    # first-hop masks of those owners OR-ed; next-hop lists are shared per (router, mask)
    prefixes = list(owners)
    pindex = {p: k for k, p in enumerate(prefixes)}
    canon = {p: p for p in prefixes}           # Prefix objects (cached hash) for every key
    own_sets: dict[str, set[IPv4Network]] = {r: set() for r in routers}
    for r in routers:
        node = lab.nodes[r]
        own_sets[r].add(canon[IPv4Network(f"{node.loopback}/32")])
        own_sets[r].update(canon[itf.network] for itf in node.interfaces)
    if cached is not None:
        pass                                           # the cache's masks (checked: cache.load)
    elif isinstance(D, _LazyIgp):
        masks = _LazyMasks(D, prefixes, owners, ix)
    else:
        full_d = D
        masks = full = np.zeros((len(prefixes), len(routers), C.shape[2]), dtype=np.int64)
        for pi, pfx in enumerate(prefixes):
            full[pi] = _prefix_mask(owners[pfx], ix, lambda col: full_d[:, col], lambda col: C[:, col],
                                    full.shape[1:])

    def router_hops(i: int, r: str) -> tuple[list[list[NextHop] | None], list[int]]:
        """Router i's IGP next hops per prefix: (hop lists, the index of each prefix's list in
        them, None where the prefix has no IGP route). A router has few distinct first-hop
        sets, so the masks are grouped and each distinct one is decoded once."""
        rows = masks[:, i, 0].tolist() if masks.shape[2] == 1 else map(tuple, masks[:, i, :].tolist())
        group: dict[int | tuple[int, ...], int] = {}
        ids = [group.setdefault(row, len(group)) for row in rows]
        lst = nbrs[r]
        lists: list[list[NextHop] | None] = []
        for words in group:                    # in order of first use: index = position
            m = 0
            for j, w in enumerate(words if isinstance(words, tuple) else (words,)):
                m |= w << (MASK_BITS * j)
            lists.append(sorted((NextHop(lst[k][0], lst[k][2], lst[k][1]) for k in range(len(lst)) if m >> k & 1),
                                key=_by_interface) or None)
        return lists, ids

    # ---- LDP bindings (labels handed out in each router's allocation order, _allocation_order);
    # `bound[r]` keeps them as (prefix index, label) in t.bindings' order for the steps below.
    # Per router with numpy: the wanted FECs in allocation order, the null label for its own
    # prefixes, the next label of the router's range for the others
    by_addr_pi = sorted(range(len(prefixes)), key=lambda k: (int(prefixes[k].network_address),
                                                             prefixes[k].prefixlen))
    by_addr = [prefixes[k] for k in by_addr_pi]
    pos = {pi: k for k, pi in enumerate(by_addr_pi)}
    suffixes = [f"/{p}".encode() for p in by_addr]
    by_addr_pi_arr = np.array(by_addr_pi, dtype=np.int64)
    bound: dict[str, Bound] = {}               # router -> (prefix indices, labels), numpy
    shared = lab.shared_routers()              # back-to-back LSPs: routers in two domains
    shared_wanted: dict[str, list[tuple[str, BoolArray, int]]] = {}   # such a router -> [(domain, wanted, null)]
    for dn, dm in lab.domains.items():
        cls = pclass[dn]
        cls_list = [cls[p] for p in by_addr]
        loopbacks = {str(lab.nodes[m].loopback) for m in members[dn]}
        # LDP all: internal and edge FECs (external ones too with `external: igp`); LDP
        # loopbacks (ordered control): the loopbacks of the domain's routers only
        wanted = {"all": np.array([c in ("internal", "edge") or (c == "external" and dm.external == "igp")
                                   for c in cls_list], dtype=bool),
                  "loopbacks": np.array([c == "internal" and p.prefixlen == 32 and str(p.network_address) in loopbacks
                                         for c, p in zip(cls_list, by_addr)], dtype=bool)}
        for r in sorted(members[dn]):
            node = lab.nodes[r]
            t = tables[r]
            t.ldp_neighbors = sorted({n for _, n, _, _ in nbrs[r] if n in members[dn]})
            own = own_sets[r]
            pers = node.personality
            null = IMPLICIT_NULL if node.popping == "php" else EXPLICIT_NULL
            if r in shared:                    # its labels once both domains are known (below)
                knobs = node.domain_knobs[dn]
                shared_wanted.setdefault(r, []).append(
                    (dn, wanted["loopbacks" if knobs["ldp"] == "loopbacks" else "all"],
                     IMPLICIT_NULL if knobs["popping"] == "php" else EXPLICIT_NULL))
                continue
            if cached is not None:              # the cache's bindings (checked: cache.load)
                pis, labels = bound[r] = cached_bound.get(r, (np.zeros(0, np.int64),) * 2)
                t.bindings = LazyDict(_bindings_of(prefixes, pis, labels))
                continue
            if dm.sr:
                _sr_bindings(lab, dm, node, t, own, null)
                bound[r] = (np.array([pindex[p] for p in t.bindings], dtype=np.int64),
                            np.array(list(t.bindings.values()), dtype=np.int64))
                continue
            order = np.array(_allocation_order(suffixes, r, pers.label_order), dtype=np.int64)
            kept = order[wanted["loopbacks" if node.ldp == "loopbacks" else "all"][order]]
            own_pos = np.zeros(len(by_addr), dtype=bool)
            own_pos[[pos[pindex[p]] for p in own]] = True
            is_own = own_pos[kept]
            labels = np.where(is_own, null, pers.label_base + np.cumsum(~is_own) - 1).astype(np.int64)
            if labels.size:
                _label_room(lab, r, int(labels.max()))
            pis = by_addr_pi_arr[kept]
            bound[r] = (pis, labels)
            # the dict of prefix -> label is built on first use: a 400-router ISP has a million
            t.bindings = LazyDict(_bindings_of(prefixes, pis, labels))

    if ckey and cached is None and not isinstance(D, _LazyIgp) and not isinstance(masks, _LazyMasks):
        # (a cache key only for labs of at most LAZY_ROUTERS routers: whole arrays, never lazy)
        cache.save(ckey, D, masks, bound, ix)

    # a router in two domains has one label space: one label per FEC it binds in either domain,
    # in its allocation order, and per domain the FECs it binds there (its own prefixes with that
    # domain's null label); each domain's LDP hears only that domain's bindings (adv)
    adv: dict[tuple[str, str], list[int]] = {}
    for r, per in shared_wanted.items():
        node, t = lab.nodes[r], tables[r]
        t.ldp_neighbors = sorted({n for _, n, _, _ in nbrs[r] for dn, _, _ in per if n in members[dn]})
        order = np.array(_allocation_order(suffixes, r, node.personality.label_order), dtype=np.int64)
        union = np.zeros(len(by_addr), dtype=bool)
        for _, w, _ in per:
            union |= w
        kept = order[union[order]]
        own_pos = np.zeros(len(by_addr), dtype=bool)
        own_pos[[pos[pindex[p]] for p in own_sets[r]]] = True
        is_own = own_pos[kept]
        lbls: list[int] = np.where(is_own, per[0][2], node.personality.label_base + np.cumsum(~is_own) - 1).tolist()
        if lbls:
            _label_room(lab, r, max(lbls))
        kept_l = kept.tolist()
        t.bindings.update(zip([by_addr[k] for k in kept_l], lbls))
        bound[r] = (by_addr_pi_arr[kept], np.array(lbls, dtype=np.int64))
        for dn, w, null in per:
            arow = adv[(dn, r)] = [-1] * len(prefixes)
            for k, lbl, own in zip(kept_l, lbls, is_own.tolist()):
                if w[k]:
                    arow[by_addr_pi[k]] = null if own else lbl

    # ---- LFIB and ingress pushes: per router, the label of each prefix (NONE: no binding).
    # Both are built per router on first use (RouterTables.lfib / .fib): a 400-router ISP has a
    # million (router, FEC) entries, and a walk or an engine worker reads a few routers' tables
    blab: dict[str, list[int]] = {}
    for r, (pis, labels) in bound.items():
        row = np.full(len(prefixes), NONE, dtype=np.int64)
        row[pis] = labels
        blab[r] = row.tolist()
    fec_via: dict[int, str] = {}               # one string per FEC, shared by every router's route
    dom_of = {r: dn for dn in lab.domains for r in members[dn]}
    # per router, its LDP peers' rows: the label each next hop advertises to it per FEC (NONE:
    # none, or the router binds no label for that FEC in their common domain)
    peer_rows: dict[str, dict[str, list[int]]] = {}
    for r in dom_of:
        mine_doms = lab.nodes[r].domains
        prows: dict[str, list[int]] = {}
        peer_rows[r] = prows
        for _, n, _, _ in nbrs[r]:
            common = [d for d in mine_doms if d in lab.nodes[n].domains]
            if not common or n not in blab:
                continue
            d = common[0]
            prow = adv.get((d, n), blab[n])
            if r in shared:
                mine = adv[(d, r)]
                prow = [x if m != NONE else NONE for x, m in zip(prow, mine)]
            prows[n] = prow
    hops_ready: dict[str, tuple[list[list[NextHop] | None], list[int]]] = {}

    def hops_for(r: str) -> tuple[list[list[NextHop] | None], list[int]]:
        got = hops_ready.get(r)
        if got is None:
            got = hops_ready[r] = router_hops(ix[r], r)
        return got

    def lfib_loader(r: str) -> Callable[[dict[int, LfibEntry]], None]:
        """Swap / PHP pop / untagged toward the IGP next hops of each FEC r binds a label to."""
        def load(lfib: dict[int, LfibEntry]) -> None:
            peers = peer_rows[r]
            lists, ids = hops_for(r)
            for pi, local_label in _pairs(bound[r]):
                if local_label == IMPLICIT_NULL or local_label == EXPLICIT_NULL:
                    continue
                hops = lists[ids[pi]]
                if hops is None:
                    continue               # no IGP route there (the router's own prefix, or unreachable)
                # (views.label_hops and labelled_route below, written out: this loop builds whole
                # tables, a million entries on a big ISP, where a call and a list per entry cost 15-30%)
                lfib[local_label] = LfibEntry(local_label, prefixes[pi], [
                    LabelHop(None if (out := (row[pi] if (row := peers.get(nh.neighbor or "")) is not None else NONE))
                             == NONE else out, nh.ifname, cast(IPv4Address, nh.gateway), nh.neighbor)   # (IGP hops)
                    for nh in hops])
        return load

    # the IGP routes apply_bgp may rewrite (no LDP binding, not internal), in FIB order: found
    # with numpy, so routers without any keep their FIB unbuilt
    bgp_candidates: dict[str, list[IPv4Network]] = {}
    if lab.domains:
        reach = cast("BoolArray", masks.any(axis=2))     # (prefixes, routers): an IGP route exists
    for dn in lab.domains:
        internal = np.array([pclass[dn][p] == "internal" for p in prefixes], dtype=bool)
        for r in members[dn]:
            free = reach[:, ix[r]] & ~internal & (np.array(blab[r]) == NONE)
            cands = [prefixes[pi] for pi in np.flatnonzero(free).tolist()]
            if r in shared and r in bgp_candidates:        # in two domains: either's, in FIB order
                have = set(bgp_candidates[r]) | set(cands)
                cands = [p for p in prefixes if p in have]
            bgp_candidates[r] = cands

    def fib_loader(i: int, r: str) -> Callable[[dict[IPv4Network, Route]], None]:
        """The FIB of router r, built on first use: local and connected routes, IGP routes,
        and where r has an LDP binding for the prefix, the labels its next hops advertise."""
        def load(fib: dict[IPv4Network, Route]) -> None:
            node = lab.nodes[r]
            lo = canon[IPv4Network(f"{node.loopback}/32")]
            fib[lo] = Route(lo, "local", [])
            for itf in node.interfaces:
                net = canon[itf.network]
                fib[net] = Route(net, "connected", [NextHop(itf.name, None, None)])
            dn = dom_of.get(r)
            mine = blab.get(r) if dn is not None else None
            peers = peer_rows.get(r, {})
            lists, ids = hops_for(r)
            for pi, u in enumerate(ids):
                hops = lists[u]
                if hops is None:
                    continue
                pfx = prefixes[pi]
                if mine is None or mine[pi] == NONE:
                    fib[pfx] = Route(pfx, "igp", hops)
                    continue
                new: list[NextHop] = []
                pushed = False
                for nh in hops:
                    row = peers.get(nh.neighbor) if nh.neighbor is not None else None
                    lbl = row[pi] if row is not None else NONE
                    if lbl == NONE or lbl == IMPLICIT_NULL:
                        new.append(nh)
                    else:
                        new.append(NextHop(nh.ifname, nh.gateway, nh.neighbor, (lbl,)))
                        pushed = True
                via = fec_via.get(pi)
                if via is None:
                    via = fec_via[pi] = f"FEC {pfx}"
                fib[pfx] = Route(pfx, "ldp" if pushed else "igp", new, via=via)
        return load

    on_demand = OnDemand(lab, prefixes, masks, nbrs, ix, blab, bound, peer_rows, dom_of, fec_via)
    for i, r in enumerate(routers):
        tables[r]._loader = fib_loader(i, r)
        tables[r]._lazy = on_demand.view(r)
        if r in bound:
            tables[r]._lfib_loader = lfib_loader(r)
    apply_bgp(lab, tables, dist, pclass, owners, candidates=bgp_candidates)
    apply_catalogue(lab, tables, dist, pclass, owners)

    for h in lab.hosts:
        tables[h.name] = host_tables(lab, h)
    apply_6pe(lab, tables)

    return ControlPlane(lab=lab, tables=tables, distance=dist)
