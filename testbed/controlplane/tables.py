"""Forwarding state: the contract between the control plane and the data plane (engine).

Every table has `to_json()` and a `from_json()` counterpart that gives back an equal
object (`X.from_json(x.to_json()) == x`): the namespace runtime's FRR mode hands the tables
it reads from FRR to the engine workers as JSON (see testbed.runtimes.netns.frr).
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network

class Prefix(IPv4Network):
    """An IPv4Network whose hash is computed once: FIBs of big labs hash prefixes millions
    of times. Equal to (and hashes like) the plain IPv4Network of the same value."""
    __slots__ = ("_hash",)

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            self._hash = h = super().__hash__()
            return h


_frozen = [0]                # frozen_heap blocks open (no_gc then leaves what it built frozen)


@contextmanager
def no_gc():
    """No cyclic garbage collection while tables are built: they are millions of acyclic
    objects, and every full collection walks all of them again (most of the time a 400-router
    ISP's tables took was spent in collections). The previous state comes back after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what was built is handed to the oldest generation as it is (a list splice), not walked
        # by the first young collection after (a second of a 100,000-router lab's load); full
        # collections still see it
        gc.freeze()
        if not _frozen[0]:               # inside frozen_heap: it stays frozen with the rest
            gc.unfreeze()
        if was:
            gc.enable()


@contextmanager
def frozen_heap():
    """The objects alive now (a lab, its control plane) kept out of cyclic garbage collection
    until the block ends: a campaign on a 100,000-router lab allocates millions of short-lived
    objects, and every full collection walked the lab's millions of long-lived ones again.
    gc.unfreeze() hands them back to the collector after."""
    gc.freeze()
    _frozen[0] += 1
    try:
        yield
    finally:
        _frozen[0] -= 1
        if not _frozen[0]:
            gc.unfreeze()


class Fib(dict):
    """prefix -> Route, with a longest-prefix-match index built on the first lookup and
    dropped by every change: a walk over a 400-router ISP looks up thousands of addresses
    in FIBs of thousands of prefixes (a scan of every prefix per lookup took minutes)."""
    __slots__ = ("_index",)

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._index = None

    def __setitem__(self, k, v):
        self._index = None
        super().__setitem__(k, v)

    def __delitem__(self, k):
        self._index = None
        super().__delitem__(k)

    def __ior__(self, other):
        self._index = None
        return super().__ior__(other)

    def pop(self, *a):
        self._index = None
        return super().pop(*a)

    def popitem(self):
        self._index = None
        return super().popitem()

    def clear(self):
        self._index = None
        super().clear()

    def update(self, *a, **kw):
        self._index = None
        super().update(*a, **kw)

    def setdefault(self, k, default=None):
        self._index = None
        return super().setdefault(k, default)

    def __reduce__(self):
        return (Fib, (dict(self),))

    def longest_match(self, dst) -> "Route | None":
        """The route of the longest prefix holding `dst` (an IPv4Address); prefixes of one
        length never overlap, so this is the route a scan of every prefix picks."""
        idx = self._index
        if idx is None:
            by_len: dict[int, dict[int, Route]] = {}
            for pfx, r in self.items():          # (the attributes behind prefixlen, int(network_address))
                by_len.setdefault(pfx._prefixlen, {})[pfx.network_address._ip] = r
            idx = self._index = [(((1 << 32) - 1) ^ ((1 << (32 - n)) - 1), by_len[n])
                                 for n in sorted(by_len, reverse=True)]
        d = int(dst)
        for mask, nets in idx:
            r = nets.get(d & mask)
            if r is not None:
                return r
        return None


class LazyDict(dict):
    """A dict filled on first use by `fill()` (an iterable of (key, value)): a router's LDP
    bindings, which a 400-router ISP has a million of and a run reads a few routers' of. Every
    read and write fills it first; pickled, it is a plain dict."""

    def __init__(self, fill):
        super().__init__()
        self._fill_from = fill

    def _fill(self):
        f = self._fill_from
        if f is not None:
            self._fill_from = None
            dict.update(self, f())

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        self._fill()
        return dict.__len__(self)

    def __getitem__(self, k):
        self._fill()
        return dict.__getitem__(self, k)

    def __setitem__(self, k, v):
        self._fill()
        dict.__setitem__(self, k, v)

    def __delitem__(self, k):
        self._fill()
        dict.__delitem__(self, k)

    def __contains__(self, k):
        self._fill()
        return dict.__contains__(self, k)

    def __eq__(self, other):
        self._fill()
        if isinstance(other, LazyDict):
            other._fill()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        self._fill()
        return dict.__repr__(self)

    def __reduce__(self):
        self._fill()
        return (dict, (dict(self),))

    def __or__(self, other):
        self._fill()
        return dict(self) | other


for _name in ("get", "items", "keys", "values", "pop", "popitem", "setdefault", "update", "copy", "clear"):
    def _method(name=_name):
        base = getattr(dict, name)

        def f(self, *a, **kw):
            self._fill()
            return base(self, *a, **kw)
        f.__name__ = name
        return f
    setattr(LazyDict, _name, _method())
del _name, _method


IMPLICIT_NULL = 3
EXPLICIT_NULL = 0
UNTAGGED = None   # out-label of an LSP that ends abruptly: pop and forward as IP


@dataclass(frozen=True, init=False)
class NextHop:
    ifname: str
    gateway: IPv4Address | None      # None: on-link, deliver to the destination itself
    neighbor: str | None             # node name on the other side
    push: tuple[int, ...] = ()       # labels pushed by an ingress (outermost first)

    def __init__(self, ifname, gateway, neighbor, push=()):
        # frozen, but filled without object.__setattr__ per field (3x faster: a big ISP's
        # control plane makes millions of next hops)
        d = self.__dict__
        d["ifname"], d["gateway"], d["neighbor"], d["push"] = ifname, gateway, neighbor, push

    def to_json(self):
        return {"interface": self.ifname, "gateway": str(self.gateway) if self.gateway else None,
                "neighbor": self.neighbor, "push": list(self.push)}

    @classmethod
    def from_json(cls, d: dict) -> "NextHop":
        return cls(d["interface"], ip_address(d["gateway"]) if d.get("gateway") else None, d.get("neighbor"),
                   tuple(int(x) for x in d.get("push") or ()))


@dataclass
class Route:
    prefix: IPv4Network
    kind: str                        # connected | local | igp | ldp | bgp | default
    nexthops: list[NextHop]
    via: str = ""                    # e.g. the BGP next hop (exit LER) or FEC

    def to_json(self):
        return {"prefix": str(self.prefix), "kind": self.kind, "via": self.via,
                "nexthops": [n.to_json() for n in self.nexthops]}

    @classmethod
    def from_json(cls, d: dict) -> "Route":
        return cls(ip_network(d["prefix"]), d["kind"], [NextHop.from_json(n) for n in d.get("nexthops", [])],
                   d.get("via", ""))


@dataclass(frozen=True, init=False)
class LabelHop:
    out_label: int | None            # None = untagged (pop, forward as IP); 3 = PHP pop; else swap
    ifname: str
    gateway: IPv4Address
    neighbor: str
    push: tuple[int, ...] = ()       # labels pushed above the swapped one (LDP over RSVP), outermost first
    writeback: bool = True           # a PHP pop writes the LSE-TTL into the IP header (False: the LSP
                                     # was signalled no-decrement-ttl, Junos)

    def __init__(self, out_label, ifname, gateway, neighbor, push=(), writeback=True):
        d = self.__dict__                # frozen, filled fast (as NextHop)
        d["out_label"], d["ifname"], d["gateway"], d["neighbor"] = out_label, ifname, gateway, neighbor
        d["push"], d["writeback"] = push, writeback

    def to_json(self):
        out = "untagged" if self.out_label is None else ("pop" if self.out_label == IMPLICIT_NULL
                                                          else self.out_label)
        d = {"out": out, "interface": self.ifname, "gateway": str(self.gateway), "neighbor": self.neighbor}
        if self.push:
            d["push"] = list(self.push)
        if not self.writeback:
            d["writeback"] = False
        return d

    @classmethod
    def from_json(cls, d: dict) -> "LabelHop":
        out = d["out"]
        label = None if out == "untagged" else (IMPLICIT_NULL if out == "pop" else int(out))
        return cls(label, d["interface"], IPv4Address(d["gateway"]), d.get("neighbor"),
                   tuple(int(x) for x in d.get("push") or ()), bool(d.get("writeback", True)))


@dataclass
class LfibEntry:
    in_label: int
    fec: IPv4Network
    hops: list[LabelHop]

    def to_json(self):
        return {"in": self.in_label, "fec": str(self.fec), "hops": [h.to_json() for h in self.hops]}

    @classmethod
    def from_json(cls, d: dict) -> "LfibEntry":
        return cls(int(d["in"]), IPv4Network(d["fec"]), [LabelHop.from_json(h) for h in d.get("hops", [])])


@dataclass(eq=False)
class RouterTables:
    name: str
    _lfib: dict | None = field(default=None, repr=False)
    bindings: dict[IPv4Network, int] = field(default_factory=dict)   # local LDP label per FEC
    ldp_neighbors: list[str] = field(default_factory=list)
    _fib: dict | None = field(default=None, repr=False)
    _loader: object = field(default=None, repr=False, compare=False)
    _lfib_loader: object = field(default=None, repr=False, compare=False)
    fib6: dict = field(default_factory=dict)   # 6PE labs: IPv6 prefix -> Route (controlplane/sixpe.py)
    # routes and LFIB entries one destination at a time (compute.OnDemand), used while the FIB
    # or LFIB was never built: what a walk or the sim reads costs what it reaches
    _lazy: object = field(default=None, repr=False, compare=False)

    @property
    def lfib(self) -> dict[int, LfibEntry]:
        """in label -> LfibEntry; like the FIB, built on first use when the control plane
        deferred it (a 400-router ISP: a router's tables are built when something reads them)."""
        if self._lfib is None:
            lfib: dict = {}
            loader, self._lfib_loader = self._lfib_loader, None
            if loader is not None:
                with no_gc():
                    loader(lfib)
            if self._lazy is not None:           # entries handed out one label at a time stay the ones
                self._lazy.adopt_entries(lfib)
            self._lfib = lfib
        return self._lfib

    @lfib.setter
    def lfib(self, value: dict):
        self._lfib, self._lfib_loader = value, None

    def __eq__(self, other):
        """Equal tables: the FIB and LFIB as built (a deferred table is built to compare)."""
        if not isinstance(other, RouterTables):
            return NotImplemented
        return (self.name, self.lfib, self.bindings, self.ldp_neighbors, self.fib, self.fib6) == \
            (other.name, other.lfib, other.bindings, other.ldp_neighbors, other.fib, other.fib6)

    __hash__ = None

    @property
    def fib(self) -> dict[IPv4Network, Route]:
        """prefix -> Route; built on first use when the control plane deferred it (big labs:
        each engine worker then builds only its own routers' FIBs)."""
        if self._fib is None:
            fib: dict = {}
            loader, self._loader = self._loader, None
            if loader is not None:
                with no_gc():
                    loader(fib)
            if self._lazy is not None:           # routes handed out one prefix at a time stay the ones
                self._lazy.adopt_routes(fib)
            self._fib = Fib(fib)                 # filled as a plain dict: no index upkeep per insert
        return self._fib

    def lookup(self, dst: IPv4Address) -> Route | None:
        if self._fib is None and self._lazy is not None:
            return self._lazy.lookup(int(dst))
        fib = self.fib
        if not isinstance(fib, Fib):            # a plain dict set from outside: index it from now on
            fib = self._fib = Fib(fib)
        return fib.longest_match(dst)

    @property
    def on_demand(self):
        """The per-destination view of a FIB never built (compute.OnDemand), else None: the
        engine then compiles a router's routes one destination at a time."""
        return self._lazy if self._fib is None else None

    def label_entry(self, label: int) -> "LfibEntry | None":
        """lfib.get(label), without building the whole LFIB when it was deferred."""
        if self._lfib is None and self._lazy is not None:
            return self._lazy.label_entry(label)
        return self.lfib.get(label)

    @property
    def lfib_on_demand(self):
        """The per-label view of an LFIB never built, else None."""
        return self._lazy if self._lfib is None else None

    def to_json(self):
        def key(p):
            return (int(p.network_address), p.prefixlen)
        return {"router": self.name,
                "fib": [self.fib[p].to_json() for p in sorted(self.fib, key=key)],
                "lfib": [self.lfib[k].to_json() for k in sorted(self.lfib)],
                "ldp_bindings": [{"fec": str(p), "label": self.bindings[p]} for p in sorted(self.bindings, key=key)],
                "ldp_neighbors": self.ldp_neighbors,
                **({"fib6": [self.fib6[p].to_json() for p in sorted(self.fib6, key=key)]} if self.fib6 else {})}

    def lookup6(self, dst) -> "Route | None":
        """Longest-prefix match of the IPv6 address `dst` in fib6 (small: a 6PE lab's customer side)."""
        d = int(dst)
        best = None
        for p, r in self.fib6.items():
            if (d >> (128 - p.prefixlen) if p.prefixlen else 0) == (int(p.network_address) >> (128 - p.prefixlen)
                                                                   if p.prefixlen else 0):
                if best is None or p.prefixlen > best.prefix.prefixlen:
                    best = r
        return best

    @classmethod
    def from_json(cls, d: dict) -> "RouterTables":
        t = cls(name=d["router"])
        fib = {}
        for r in d.get("fib", []):
            route = Route.from_json(r)
            fib[route.prefix] = route
        t._fib = Fib(fib)
        for e in d.get("lfib", []):
            entry = LfibEntry.from_json(e)
            t.lfib[entry.in_label] = entry
        for b in d.get("ldp_bindings", []):
            t.bindings[IPv4Network(b["fec"])] = int(b["label"])
        t.ldp_neighbors = list(d.get("ldp_neighbors", []))
        for r in d.get("fib6", []):
            route = Route.from_json(r)
            t.fib6[route.prefix] = route
        return t


@dataclass
class ControlPlane:
    lab: object
    tables: dict[str, RouterTables]
    distance: dict[str, dict[str, float]]

    def __getitem__(self, node: str) -> RouterTables:
        return self.tables[node]
