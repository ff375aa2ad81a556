"""The control plane of labs too big for all-pairs tables (issue 23: 10,000 and 100,000 routers).

compute._build() holds all-pairs distances and per-(prefix, router) first-hop masks: n^2 numbers,
80 GB for 100,000 routers. build_scale() holds only what is linear in the lab (neighbour lists,
prefix owners, each domain's wanted FECs) and computes the rest per destination when first
asked, with the same results as compute._build() (tests/test_scale_cp.py compares every route
and LFIB entry on library labs):

- IGP: one shortest-path tree toward each owner router (scipy's Dijkstra on the reversed graph,
  kept in a bounded cache); a router's next hops toward a prefix are its neighbours on a
  shortest path to the prefix's best owners (cost + the neighbour's distance = its distance).
- LDP: the label a router binds to a FEC is its rank among the domain's wanted FECs in the
  router's allocation order (by address, or by the CRC-32 of "router/prefix": the CRC of a
  running start is affine in it, so one router's keys for every FEC are one numpy XOR).
- BGP next-hop-self (apply_bgp): the exit LER is found on the shortest-path DAG toward the
  prefix's owner (the routers on a shortest path from r are those reachable from r in it).

Memory and time then follow what is probed. What stays out at this scale (refused with one
line: the lab check names the knob): LDP over RSVP, BGP-free cores, VPNs, 6PE and
no-decrement-ttl, whose layers rewrite whole tables.
"""
from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast, overload

from .tables import EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, LfibEntry, NextHop, Prefix, Route, RouterTables
from .views import NONE, DestinationView, label_hops, labelled_route

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values
    from collections.abc import Iterator

    import numpy as np
    import numpy.typing as npt
    from scipy.sparse import csr_matrix

    from testbed.lab.model import Lab, Node

    from .aliases import BoolArray, IntArray
    from .tables import DistanceRow

    Dists = npt.NDArray[np.int32 | np.int64]      # distances to one router or prefix (INF: unreachable)
    Crcs = npt.NDArray[np.uint32]

# A domain's wanted FECs in one allocation (ScaleState._w): address positions, prefix indices, CRC
# starts and suffix-length classes of each (in address order), and the per-prefix mask
Fecs = TypedDict("Fecs", {"pos": "IntArray", "pi": "IntArray", "crc": "Crcs", "lcls": "IntArray", "is": "BoolArray"})

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")

INF = (1 << 31) - 1
SCALE_ROUTERS = 2000          # build() switches to build_scale() above this many routers
SPF_CACHE = 768               # shortest-path trees kept (int32 per router: 400 KB each at 100k routers)
KEYS_CACHE = 64               # routers whose allocation-order keys are kept


def unsupported(lab: Lab) -> list[str]:
    """The knobs build_scale() does not model, as 'what (where)'."""
    out = []
    for dn, dm in lab.domains.items():
        for what, on in (("rsvp", bool(dm.rsvp)), ("bgp_free", dm.bgp_free), ("vpn", dm.vpn),
                         ("sixpe", dm.sixpe)):
            if on:
                out.append(f"mpls.{dn}.{what}")
        if any(lab.nodes[r].personality.no_decrement_ttl for r in dm.routers):
            out.append(f"mpls.{dn}: no_decrement_ttl")
    out += [f"mpls: {r} in domains {' and '.join(doms)} (back-to-back LSPs)" for r, doms in lab.shared_routers().items()]
    return out


class _LRU(OrderedDict[_K, _V]):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __reduce__(self) -> tuple[Any, ...]:     # pickled with its size (one host's part of a split lab)
        return (_LRU, (self.size,), None, None, iter(self.items()))

    def put(self, k: _K, v: _V) -> _V:
        self[k] = v
        if len(self) > self.size:
            self.popitem(last=False)
        return v


class ScaleState:
    """What every router's view shares: the graph, the prefixes, the domains' wanted FECs."""

    def __init__(self, lab: Lab) -> None:
        import numpy as np
        from scipy.sparse import csr_matrix

        from .compute import MAX_LABEL, _label_room, _neighbors, _owners
        self.lab = lab
        owners = _owners(lab)
        self.nbrs = nbrs = _neighbors(lab)
        names = [r.name for r in lab.routers]
        self.names, self.ix = names, {n: i for i, n in enumerate(names)}
        ix = self.ix
        n = len(names)
        best: dict[tuple[int, int], int] = {}
        for r, lst in nbrs.items():
            i = ix[r]
            for _, nb, _, c in lst:
                k = (ix[nb], i)                       # reversed: Dijkstra from an owner gives distances to it
                if c < best.get(k, INF):
                    best[k] = c
        if best:
            rows, cols = zip(*best)
            self.rgraph: csr_matrix = csr_matrix((np.fromiter(best.values(), dtype=float, count=len(best)), (rows, cols)),
                                     shape=(n, n))
        else:
            self.rgraph = csr_matrix((n, n))
        self._leaves(best, n)
        self.nbr_ix = {r: [(ifn, nb, ip, c, ix[nb]) for ifn, nb, ip, c in lst] for r, lst in nbrs.items()}
        self.prefixes = prefixes = list(owners)      # Prefix objects (cached hash)
        self.pindex = {p: k for k, p in enumerate(prefixes)}
        self.owners = [[(ix[o], c) for o, c in own] for own in owners.values()]
        self.owner_names = [{o for o, _ in own} for own in owners.values()]
        P = len(prefixes)
        addr = np.array([int(p.network_address) for p in prefixes], dtype=np.int64)
        plen = np.array([p.prefixlen for p in prefixes], dtype=np.int64)
        by_addr = np.lexsort((plen, addr))            # address order, shorter prefix first on ties
        self.pos = np.empty(P, dtype=np.int64)
        self.pos[by_addr] = np.arange(P)
        self.by_addr = by_addr
        suffixes = [f"/{prefixes[k]}".encode() for k in by_addr.tolist()]
        self.crc0 = np.fromiter(map(zlib.crc32, suffixes), dtype=np.uint32, count=P)
        lens = sorted({len(s) for s in suffixes})
        self.lens = lens
        li = {L: k for k, L in enumerate(lens)}
        self.lcls = np.fromiter((li[len(s)] for s in suffixes), dtype=np.int64, count=P)
        self.zeros = [bytes(L) for L in lens]
        by_len: dict[int, dict[int, int]] = {}
        for pi, p in enumerate(prefixes):
            by_len.setdefault(p.prefixlen, {})[int(p.network_address)] = pi
        self.index = [(((1 << 32) - 1) ^ ((1 << (32 - k)) - 1), by_len[k]) for k in sorted(by_len, reverse=True)]

        # ---- domains: per prefix its class (compute.classify_prefixes), per domain the wanted FECs
        self.dnames = list(lab.domains)
        dom_id = {r: d for d, dn in enumerate(self.dnames) for r in lab.domains[dn].routers}
        self.dom_id = dom_id
        self.members = [set(lab.domains[dn].routers) for dn in self.dnames]
        internal = np.full(P, -1, dtype=np.int64)
        owned_in = np.zeros((len(self.dnames), P), dtype=bool)
        link_nodes = {link.network: link.nodes for link in lab.links}
        for pi, (pfx, own) in enumerate(owners.items()):
            doms = {dom_id[o] for o, _ in own if o in dom_id}
            if not doms:
                continue
            for d in doms:
                owned_in[d, pi] = True
            if pfx.prefixlen == 32 and len(own) == 1 and str(pfx.network_address) == str(lab.nodes[own[0][0]].loopback):
                internal[pi] = dom_id[own[0][0]]
            elif pfx in link_nodes:
                ns = link_nodes[pfx]
                d0 = dom_id.get(ns[0])
                if d0 is not None and d0 in doms and all(dom_id.get(x) == d0 for x in ns):
                    internal[pi] = d0
        self.internal = internal
        self.wanted: list[dict[str, Fecs]] = []       # per domain: {"all": W, "loopbacks": W}
        for d, dn in enumerate(self.dnames):
            dm = lab.domains[dn]
            w_all = np.ones(P, dtype=bool) if dm.external == "igp" else owned_in[d]
            los = {int(cast(IPv4Address, lab.nodes[m].loopback)) for m in dm.routers}     # (routers have one)
            w_lo = (internal == d) & (plen == 32) & np.isin(addr, np.fromiter(los, dtype=np.int64, count=len(los)))
            self.wanted.append({"all": self._w(w_all), "loopbacks": self._w(w_lo)})
        self.sr_index: list[dict[int, int] | None] = []   # SR domains: loopback prefix index -> node index
        for d, dn in enumerate(self.dnames):
            dm = lab.domains[dn]
            self.sr_index.append({self.pindex[Prefix(f"{lab.nodes[m].loopback}/32")]: k
                                  for k, m in enumerate(dm.routers, start=1)} if dm.sr else None)
        self.own: dict[str, set[int]] = {}            # router -> prefix indices it owns (filled per router)
        # every router's label range holds its labels (compute._label_room), checked up front
        for r, d in dom_id.items():
            if self.sr_index[d] is not None:
                continue
            node = lab.nodes[r]
            W = self.wanted[d]["loopbacks" if node.ldp == "loopbacks" else "all"]
            if node.personality.label_base + len(W["pi"]) - 1 <= MAX_LABEL:
                continue                              # room even without the ones it owns (no own set)
            mine = self.own_of(r)
            n_own = sum(1 for pi in mine if W["is"][pi])
            if len(W["pi"]) - n_own:
                _label_room(lab, r, node.personality.label_base + len(W["pi"]) - n_own - 1)
        self.spf: _LRU[int, Dists] = _LRU(SPF_CACHE)
        self.dist_cache: _LRU[int, Dists] = _LRU(64)
        self.keys: _LRU[tuple[str, int], Crcs] = _LRU(KEYS_CACHE)
        self.fec_via: dict[int, str] = {}
        self.labels: dict[tuple[str, int], int] = {}  # (router, prefix index) -> label (NONE: no binding)
        self.rev: dict[str, dict[int, int]] = {}      # router -> label -> prefix index, for labels handed out
        self.spf_runs = 0

    def _leaves(self, best: Mapping[tuple[int, int], float], n: int) -> None:
        """Routers with one neighbour (a synthetic ISP's single-homed access routers and tails:
        half of them) lie on no shortest path but their own: Dijkstra runs on the graph without
        them (rcore) and each leaf's distance is its link's cost plus its neighbour's (tree())."""
        import numpy as np
        from scipy.sparse import csr_matrix
        out: dict[int, set[int]] = {}
        into: dict[int, set[int]] = {}
        for a, b in best:                             # edge a <- b: b's link toward a
            out.setdefault(b, set()).add(a)
            into.setdefault(a, set()).add(b)
        leaf = {x: next(iter(s)) for x, s in out.items() if len(s) == 1 and into.get(x) == s}
        leaf = {x: p for x, p in leaf.items() if p not in leaf}   # a pair of routers alone: keep both
        self.leaf_of = leaf
        if not leaf:
            self.rcore = self.rgraph
            self.leaf_ix = None
            return
        xs = np.fromiter(leaf, dtype=np.int64, count=len(leaf))
        ps = np.fromiter(leaf.values(), dtype=np.int64, count=len(leaf))
        self.leaf_ix = (xs, ps, np.array([best[(p, x)] for x, p in leaf.items()], dtype=float))  # x -> p
        self.leaf_in = {x: best[(x, p)] for x, p in leaf.items()}                            # p -> x
        keep = [(k, c) for k, c in best.items() if k[0] not in leaf and k[1] not in leaf]
        if keep:
            rows, cols = zip(*(k for k, _ in keep))
            self.rcore = csr_matrix((np.fromiter((c for _, c in keep), dtype=float, count=len(keep)), (rows, cols)),
                                    shape=(n, n))
        else:
            self.rcore = csr_matrix((n, n))

    def _w(self, mask: BoolArray) -> Fecs:
        import numpy as np
        w_pos = np.flatnonzero(mask[self.by_addr])     # address positions of the wanted FECs, sorted
        return {"pos": w_pos, "pi": self.by_addr[w_pos], "crc": self.crc0[w_pos], "lcls": self.lcls[w_pos],
                "is": mask}

    def own_of(self, r: str) -> set[int]:
        got = self.own.get(r)
        if got is None:
            node = self.lab.nodes[r]
            got = {self.pindex[IPv4Network((int(cast(IPv4Address, node.loopback)), 32))]}
            got.update(self.pindex[i.network] for i in node.interfaces)
            self.own[r] = got
        return got

    # ---- IGP
    def tree(self, o: int) -> Dists:
        """Distances from every router to router index o (int32 unless they need more; INF:
        unreachable), kept in a bounded cache."""
        got = self.spf.get(o)
        if got is not None:
            self.spf.move_to_end(o)
            return got
        import numpy as np
        from scipy.sparse.csgraph import dijkstra
        p = self.leaf_of.get(o)
        d = dijkstra(self.rcore, directed=True, indices=o if p is None else p)
        if p is not None:
            d += self.leaf_in[o]                      # to the leaf o: to its neighbour, then its link
        if self.leaf_ix is not None:
            xs, ps, cs = self.leaf_ix
            d[xs] = d[ps] + cs                        # from a leaf: its link, then its neighbour's
        if p is not None:
            d[o] = 0.0
        self.spf_runs += 1
        fin = np.isfinite(d)
        big = fin.any() and d[fin].max() >= INF
        out = np.full(d.shape[0], INF, dtype=np.int64 if big else np.int32)
        out[fin] = d[fin]
        return self.spf.put(o, out)

    def dist(self, pi: int) -> Dists:
        """Distances from every router to prefix pi, up to a constant: the next-hop test only
        compares them (one owner: its tree; several: the best owner plus its stub cost)."""
        own = self.owners[pi]
        if len(own) == 1:
            return self.tree(own[0][0])
        got = self.dist_cache.get(pi)
        if got is not None:
            self.dist_cache.move_to_end(pi)
            return got
        import numpy as np
        d: Dists | None = None
        for o, c in own:
            t = self.tree(o).astype(np.int64)
            x = np.where(t >= INF, INF, t + c)
            d = x if d is None else np.minimum(d, x)
        assert d is not None                          # (a prefix has owners)
        return self.dist_cache.put(pi, d)

    def hops(self, r: str, pi: int) -> list[NextHop] | None:
        """Router r's IGP next hops toward prefix pi, sorted as compute's (None: no IGP route)."""
        if r in self.owner_names[pi]:
            return None                               # the owner: connected, not IGP
        dv = self.dist(pi)
        dr = dv[self.ix[r]]
        if dr >= INF:
            return None
        got = [NextHop(ifn, ip, nb) for ifn, nb, ip, c, j in self.nbr_ix[r] if dv[j] < INF and c + dv[j] == dr]
        if not got:
            return None
        got.sort(key=lambda h: (h.ifname, int(h.gateway or 0)))    # (IGP next hops have a gateway)
        return got

    # ---- LDP
    def label(self, r: str, pi: int) -> int:
        """The label router r binds to prefix pi (NONE: no binding)."""
        key = (r, pi)
        got = self.labels.get(key)
        if got is not None:
            return got
        lbl = self._label(r, pi)
        self.labels[key] = lbl
        if lbl != NONE and lbl != IMPLICIT_NULL and lbl != EXPLICIT_NULL:
            self.rev.setdefault(r, {})[lbl] = pi
        return lbl

    def _null(self, node: Node) -> int:
        return IMPLICIT_NULL if node.popping == "php" else EXPLICIT_NULL

    def _label(self, r: str, pi: int) -> int:
        import numpy as np
        d = self.dom_id.get(r)
        if d is None:
            return NONE
        node = self.lab.nodes[r]
        sr = self.sr_index[d]
        if sr is not None:
            k = sr.get(pi)
            if k is None:
                return NONE
            return self._null(node) if pi in self.own_of(r) else node.personality.srgb_base + k
        W = self.wanted[d]["loopbacks" if node.ldp == "loopbacks" else "all"]
        if not W["is"][pi]:
            return NONE
        own = self.own_of(r)
        if pi in own:
            return self._null(node)
        p_pos = int(self.pos[pi])
        own_w = [int(self.pos[x]) for x in own if W["is"][x]]
        if node.personality.label_order == "sequential":
            rank = int(np.searchsorted(W["pos"], p_pos)) - sum(1 for x in own_w if x < p_pos)
        else:
            keys = self._keys(r, W)
            j = int(np.searchsorted(W["pos"], p_pos))
            kp = keys[j]
            rank = int(np.count_nonzero(keys < kp)) + int(np.count_nonzero(keys[:j] == kp))
            for x in own_w:
                jx = int(np.searchsorted(W["pos"], x))
                if (keys[jx], x) < (kp, p_pos):
                    rank -= 1
        return node.personality.label_base + rank

    def _keys(self, r: str, W: Fecs) -> Crcs:
        """Router r's allocation-order key (compute._allocation_order) of every wanted FEC."""
        import numpy as np
        k = (r, id(W))
        got = self.keys.get(k)
        if got is None:
            h = zlib.crc32(r.encode())
            shift = np.array([zlib.crc32(z, h) ^ zlib.crc32(z, 0) for z in self.zeros], dtype=np.uint32)
            got = self.keys.put(k, W["crc"] ^ shift[W["lcls"]])
        return got

    def all_labels(self, r: str) -> list[tuple[int, int]]:
        """(prefix index, label) of every binding of router r, in its allocation order (a whole LFIB)."""
        import numpy as np
        d = self.dom_id.get(r)
        if d is None:
            return []
        node = self.lab.nodes[r]
        sr = self.sr_index[d]
        if sr is not None:
            return [(pi, self.label(r, pi)) for pi in sr]
        W = self.wanted[d]["loopbacks" if node.ldp == "loopbacks" else "all"]
        if node.personality.label_order == "sequential":
            order = np.arange(len(W["pi"]))
        else:
            order = np.lexsort((W["pos"], self._keys(r, W)))
        own = self.own_of(r)
        out, nxt = [], node.personality.label_base
        for j in order.tolist():
            pi = int(W["pi"][j])
            if pi in own:
                lbl = self._null(node)
            else:
                lbl, nxt = nxt, nxt + 1
            self.labels[(r, pi)] = lbl
            if lbl != IMPLICIT_NULL and lbl != EXPLICIT_NULL:
                self.rev.setdefault(r, {})[lbl] = pi
            out.append((pi, lbl))
        return out


class ScaleView(DestinationView[ScaleState]):
    """One router's tables, per destination (the interface of compute._RouterView)."""
    __slots__ = ("all_done",)

    def __init__(self, st: ScaleState, r: str):
        super().__init__(st, r)
        self.all_done = False

    def hops(self, pi: int) -> list[NextHop] | None:
        return self.src.hops(self.r, pi)

    def _routed(self, pi: int, hops: list[NextHop]) -> Route:
        st, r = self.src, self.r
        d = st.dom_id.get(r)
        mine = st.label(r, pi) if d is not None else NONE
        if mine == NONE:
            rt = None if d is None else self._bgp(pi, d, hops)
            return rt if rt is not None else Route(st.prefixes[pi], "igp", hops)
        assert d is not None                          # (a label: r is in a domain)
        mem = st.members[d]
        return labelled_route(st.prefixes[pi], pi, hops, [
            st.label(n, pi) if (n := nh.neighbor) is not None and n in mem else NONE for nh in hops], st.fec_via)

    def _bgp(self, pi: int, d: int, hops: list[NextHop]) -> Route | None:
        """compute.apply_bgp for one route: next-hop-self at the exit LER (None: stays IGP)."""
        st, r = self.src, self.r
        if st.internal[pi] == d:
            return None
        mem = st.members[d]
        ri = st.ix[r]
        cands = []
        for o, c in st.owners[pi]:
            t = st.tree(o)
            if t[ri] < INF:
                cands.append((int(t[ri]) + c, o))
        if not cands:
            return None
        best = min(x[0] for x in cands)
        exits = []
        for cost, o in cands:
            if cost != best:
                continue
            t = st.tree(o)
            # the routers on a shortest path r -> o: those reachable from r in o's shortest-path DAG
            seen, stack = {r}, [r]
            while stack:
                x = stack.pop()
                dx = t[st.ix[x]]
                for _, nb, _, c, j in st.nbr_ix[x]:
                    if nb not in seen and t[j] < INF and c + t[j] == dx:
                        seen.add(nb)
                        stack.append(nb)
            on_path = [x for x in seen if x in mem]
            if on_path:
                exits.append((min(on_path, key=lambda x: (int(t[st.ix[x]]), x)), o))
        if not exits:
            return None
        # d(r, x) for x on a shortest path to o = d(r, o) - d(x, o)
        e, _ = min(exits, key=lambda eo: (int(st.tree(eo[1])[ri]) - int(st.tree(eo[1])[st.ix[eo[0]]]), eo[0]))
        if e == r:
            return None
        lo = st.pindex.get(IPv4Network(f"{st.lab.nodes[e].loopback}/32"))
        via = self.route(lo) if lo is not None else None
        if via is None or not via.nexthops:
            return None
        return Route(st.prefixes[pi], "bgp", list(via.nexthops), via=f"next-hop {st.lab.nodes[e].loopback} ({e})")

    def _entry(self, label: int) -> LfibEntry | None:
        st, r = self.src, self.r
        pi = st.rev.get(r, {}).get(label)
        if pi is None and not self.all_done and st.dom_id.get(r) is not None:
            st.all_labels(r)                          # a label nobody was handed: the whole allocation
            self.all_done = True
            pi = st.rev.get(r, {}).get(label)
        hops = st.hops(r, pi) if pi is not None else None
        if pi is None or hops is None:
            return None
        mem = st.members[st.dom_id[r]]
        return LfibEntry(label, st.prefixes[pi], label_hops(hops, [
            st.label(n, pi) if (n := nh.neighbor) is not None and n in mem else NONE for nh in hops]))

    # whole tables (a command that prints a router's FIB): every prefix, slow on a big lab
    def fib_loader(self, fib: dict[IPv4Network, Route]) -> None:
        own = self.own if self.own is not None else self._own()
        prefixes = self.src.prefixes                 # (each route's prefix is the very object)
        for pi, rt in own.items():
            fib[prefixes[pi]] = rt
        for pi in range(len(self.src.prefixes)):
            if pi in own:
                continue
            got = self.route(pi)
            if got is not None:
                fib[prefixes[pi]] = got

    def lfib_loader(self, lfib: dict[int, LfibEntry]) -> None:
        for pi, lbl in self.src.all_labels(self.r):
            if lbl == IMPLICIT_NULL or lbl == EXPLICIT_NULL:
                continue
            e = self.label_entry(lbl)
            if e is not None:
                lfib[lbl] = e


class _Bindings(dict[IPv4Network, int]):
    """A router's LDP bindings (prefix -> label), computed whole on first use (a command that
    prints them; the forwarding path asks ScaleState.label per prefix)."""
    _st: ScaleState | None

    def __init__(self, st: ScaleState, r: str):
        super().__init__()
        self._st, self._r = st, r

    def _fill(self) -> None:
        st, self._st = self._st, None
        if st is not None:
            dict.update(self, {st.prefixes[pi]: lbl for pi, lbl in st.all_labels(self._r)})

    def __iter__(self) -> Iterator[IPv4Network]:
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def __getitem__(self, k: IPv4Network) -> int:
        self._fill()
        return dict.__getitem__(self, k)

    def __contains__(self, k: object) -> bool:
        self._fill()
        return dict.__contains__(self, k)

    @overload                   # dict.get's three forms
    def get(self, k: IPv4Network, default: None = None, /) -> int | None: ...
    @overload
    def get(self, k: IPv4Network, default: int, /) -> int: ...
    @overload
    def get(self, k: IPv4Network, default: _T, /) -> int | _T: ...

    def get(self, k: IPv4Network, default: object = None, /) -> object:
        self._fill()
        return dict.get(self, k, default)

    def items(self) -> dict_items[IPv4Network, int]:
        self._fill()
        return dict.items(self)

    def keys(self) -> dict_keys[IPv4Network, int]:
        self._fill()
        return dict.keys(self)

    def values(self) -> dict_values[IPv4Network, int]:
        self._fill()
        return dict.values(self)

    def __eq__(self, other: object) -> bool:
        self._fill()
        return dict.__eq__(self, other)

    __hash__ = None

    def __reduce__(self) -> tuple[type[dict[IPv4Network, int]], tuple[dict[IPv4Network, int]]]:
        self._fill()
        return (dict, (dict(self),))


class LazyDistances:
    """cp.distance for a big lab: a router's row (distances to every router) on first use."""

    def __init__(self, st: ScaleState):
        self.st = st
        self.rows: _LRU[str, dict[str, float]] = _LRU(64)
        self.fwd: csr_matrix | None = None

    def get(self, a: str, default: DistanceRow | None = None) -> DistanceRow:
        i = self.st.ix.get(a)
        if i is None:
            return default if default is not None else {}
        return self[a]

    def __getitem__(self, a: str) -> dict[str, float]:
        row = self.rows.get(a)
        if row is None:
            from scipy.sparse.csgraph import dijkstra
            if self.fwd is None:
                self.fwd = self.st.rgraph.T.tocsr()
            d = dijkstra(self.fwd, directed=True, indices=self.st.ix[a])
            row = self.rows.put(a, {n: float(d[i]) for n, i in self.st.ix.items()})
        return row


@dataclass
class ScaleControlPlane(ControlPlane):
    """A big lab's control plane (build_scale): its tables computed per destination from `scale`,
    the state they all share (the graph, the prefixes, the domains' wanted FECs), which one host
    of a lab split across machines trims to its part (bigrt.split.shed)."""
    scale: ScaleState = field(repr=False, compare=False)


def build_scale(lab: Lab, only: set[str] | None = None) -> ScaleControlPlane:
    """The control plane of compute._build(), per destination on demand (module docstring).
    only: the nodes whose tables are wanted (one machine's part of a lab split across machines);
    the routes are the same, computed on the whole lab's graph."""
    bad = unsupported(lab)
    if bad:
        from testbed.errors import LabError, Problem
        raise LabError([Problem(lab.source, bad[0].split(":")[0],
                                f"{bad[0]}: not modelled for labs over {SCALE_ROUTERS} routers (this one has "
                                f"{len(lab.routers)}); drop the knob or cut the lab")])
    from .compute import host_tables
    from .sixpe import apply_6pe
    from testbed.heap import no_gc
    with no_gc():
        st = ScaleState(lab)
        tables: dict[str, RouterTables] = {}
        for r in st.names:
            if only is not None and r not in only:
                continue
            t = RouterTables(name=r)
            v = ScaleView(st, r)
            t._lazy = v
            t._loader = v.fib_loader
            d = st.dom_id.get(r)
            if d is not None:
                t._lfib_loader = v.lfib_loader
                t.bindings = _Bindings(st, r)
                t.ldp_neighbors = sorted({n for _, n, _, _ in st.nbrs[r] if n in st.members[d]})
            tables[r] = t
        for h in lab.hosts:
            if only is not None and h.name not in only:
                continue
            tables[h.name] = host_tables(lab, h)
        apply_6pe(lab, tables)
    return ScaleControlPlane(lab=lab, tables=tables, distance=LazyDistances(st), scale=st)
