"""Forwarding state: the contract between the control plane and the data plane (engine).

Every table has `to_json()` and a `from_json()` counterpart that gives back an equal
object (`X.from_json(x.to_json()) == x`): the namespace runtime's FRR mode hands the tables
it reads from FRR to the engine workers as JSON (see testbed.runtimes.netns.frr).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from collections.abc import Callable, Iterable, Iterator

from testbed.heap import no_gc
from typing import TYPE_CHECKING, Any, ClassVar, NotRequired, Protocol, TypedDict, TypeVar, cast, overload

if TYPE_CHECKING:
    from _typeshed import SupportsKeysAndGetItem
    from typing_extensions import Self

    from testbed.lab.model import Lab

_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")
_T2 = TypeVar("_T2")

class Prefix(IPv4Network):
    """An IPv4Network whose hash is computed once: FIBs of big labs hash prefixes millions
    of times. Equal to (and hashes like) the plain IPv4Network of the same value."""
    __slots__ = ("_hash",)
    _hash: int

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            self._hash = h = super().__hash__()
            return h


class _AddressInternals(Protocol):
    _ip: int                          # what int(IPv4Address) reads


class _NetworkInternals(Protocol):
    """The attributes of an IPv4Network behind prefixlen and int(network_address) (CPython's
    ipaddress; typeshed leaves private attributes out)."""
    _prefixlen: int

    @property
    def network_address(self) -> _AddressInternals: ...


class Fib(dict[IPv4Network, "Route"]):
    """prefix -> Route, with a longest-prefix-match index built on the first lookup and
    dropped by every change: a walk over a 400-router ISP looks up thousands of addresses
    in FIBs of thousands of prefixes (a scan of every prefix per lookup took minutes)."""
    __slots__ = ("_index",)
    _index: list[tuple[int, dict[int, Route]]] | None

    def __init__(self, *a: SupportsKeysAndGetItem[IPv4Network, Route] | Iterable[tuple[IPv4Network, Route]]) -> None:
        super().__init__(*a)
        self._index = None

    def __setitem__(self, k: IPv4Network, v: Route) -> None:
        self._index = None
        super().__setitem__(k, v)

    def __delitem__(self, k: IPv4Network) -> None:
        self._index = None
        super().__delitem__(k)

    def __ior__(self, other: dict[IPv4Network, Route], /) -> Self:   # type: ignore[override,misc]
        # (mypy wants |= as wide as dict's generic |, which makes a new dict of other types; |= on
        # a Fib keeps its types: typeshed's dict.__ior__ is narrower than its __or__ the same way)
        self._index = None
        return super().__ior__(other)

    @overload                   # dict.pop's three forms
    def pop(self, k: IPv4Network, /) -> Route: ...
    @overload
    def pop(self, k: IPv4Network, default: Route, /) -> Route: ...
    @overload
    def pop(self, k: IPv4Network, default: _T, /) -> Route | _T: ...

    def pop(self, *a: Any) -> object:          # (the overloads above type it; *a is key[, default])
        self._index = None
        return super().pop(*a)

    def popitem(self) -> tuple[IPv4Network, Route]:
        self._index = None
        return super().popitem()

    def clear(self) -> None:
        self._index = None
        super().clear()

    @overload                   # dict.update's three forms
    def update(self, other: SupportsKeysAndGetItem[IPv4Network, Route], /, **kw: Route) -> None: ...
    @overload
    def update(self, other: Iterable[tuple[IPv4Network, Route]], /, **kw: Route) -> None: ...
    @overload
    def update(self, /, **kw: Route) -> None: ...

    def update(self, /, *a: Any, **kw: Route) -> None:    # (the overloads above type a: [other])
        self._index = None
        super().update(*a, **kw)

    def setdefault(self, k: IPv4Network, default: Route) -> Route:   # (a FIB holds no None)
        self._index = None
        return super().setdefault(k, default)

    def __reduce__(self) -> tuple[type[Fib], tuple[dict[IPv4Network, Route]]]:
        return (Fib, (dict(self),))

    def longest_match(self, dst: IPv4Address) -> "Route | None":
        """The route of the longest prefix holding `dst` (an IPv4Address); prefixes of one
        length never overlap, so this is the route a scan of every prefix picks."""
        idx = self._index
        if idx is None:
            by_len: dict[int, dict[int, Route]] = {}
            items = cast("Iterable[tuple[_NetworkInternals, Route]]", self.items())
            for pfx, route in items:             # (the attributes behind prefixlen, int(network_address))
                by_len.setdefault(pfx._prefixlen, {})[pfx.network_address._ip] = route
            idx = self._index = [(((1 << 32) - 1) ^ ((1 << (32 - n)) - 1), by_len[n])
                                 for n in sorted(by_len, reverse=True)]
        d = int(dst)
        for mask, nets in idx:
            r = nets.get(d & mask)
            if r is not None:
                return r
        return None


class LazyDict(dict[_K, _V]):
    """A dict filled on first use by `fill()` (an iterable of (key, value)): a router's LDP
    bindings, which a 400-router ISP has a million of and a run reads a few routers' of. Every
    read and write fills it first; pickled, it is a plain dict."""

    def __init__(self, fill: Callable[[], Iterable[tuple[_K, _V]]] | None) -> None:
        super().__init__()
        self._fill_from = fill

    def _fill(self) -> None:
        f = self._fill_from
        if f is not None:
            self._fill_from = None
            dict.update(self, f())

    def __iter__(self) -> Iterator[_K]:
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def __getitem__(self, k: _K) -> _V:
        self._fill()
        return dict.__getitem__(self, k)

    def __setitem__(self, k: _K, v: _V) -> None:
        self._fill()
        dict.__setitem__(self, k, v)

    def __delitem__(self, k: _K) -> None:
        self._fill()
        dict.__delitem__(self, k)

    def __contains__(self, k: object) -> bool:
        self._fill()
        return dict.__contains__(self, k)

    def __eq__(self, other: object) -> bool:
        self._fill()
        if isinstance(other, LazyDict):
            other._fill()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        self._fill()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[type[dict[_K, _V]], tuple[dict[_K, _V]]]:
        self._fill()
        return (dict, (dict(self),))

    @overload                   # dict.__or__'s two forms
    def __or__(self, other: dict[_K, _V], /) -> dict[_K, _V]: ...
    @overload
    def __or__(self, other: dict[_T, _T2], /) -> dict[_K | _T, _V | _T2]: ...

    def __or__(self, other: dict[Any, Any], /) -> dict[Any, Any]:     # (the overloads above type it)
        self._fill()
        return dict(self) | other


for _name in ("get", "items", "keys", "values", "pop", "popitem", "setdefault", "update", "copy", "clear"):
    def _method(name: str = _name) -> Callable[..., object]:
        base = getattr(dict, name)

        def f(self: LazyDict[object, object], /, *a: object, **kw: object) -> object:
            self._fill()
            return base(self, *a, **kw)
        f.__name__ = name
        return f
    setattr(LazyDict, _name, _method())
del _name, _method


IMPLICIT_NULL = 3
EXPLICIT_NULL = 0
UNTAGGED = None   # out-label of an LSP that ends abruptly: pop and forward as IP


# The tables' JSON (to_json writes every key; a key from_json reads with a default is NotRequired)
class NextHopJson(TypedDict):
    interface: str
    gateway: NotRequired[str | None]
    neighbor: NotRequired[str | None]
    push: NotRequired[list[int]]


class RouteJson(TypedDict):
    prefix: str
    kind: str
    via: NotRequired[str]
    nexthops: NotRequired[list[NextHopJson]]


class LabelHopJson(TypedDict):
    out: str | int                   # "untagged", "pop" or the out label
    interface: str
    gateway: str
    neighbor: NotRequired[str | None]
    push: NotRequired[list[int]]
    writeback: NotRequired[bool]


LfibEntryJson = TypedDict("LfibEntryJson", {"in": int, "fec": str, "hops": NotRequired[list[LabelHopJson]]})


class LdpBindingJson(TypedDict):
    fec: str
    label: int


class RouterTablesJson(TypedDict):
    router: str
    fib: NotRequired[list[RouteJson]]
    lfib: NotRequired[list[LfibEntryJson]]
    ldp_bindings: NotRequired[list[LdpBindingJson]]
    ldp_neighbors: NotRequired[list[str]]
    fib6: NotRequired[list[RouteJson]]


class TablesView(Protocol):
    """A router's FIB and LFIB one destination or label at a time, for tables never built whole
    (RouterTables._lazy: views.DestinationView, compute's and scale's)."""
    def lookup(self, d: int, forwarding: bool = ...) -> Route | None: ...
    def label_entry(self, label: int) -> LfibEntry | None: ...
    def adopt_routes(self, fib: dict[IPv4Network, Route]) -> None: ...
    def adopt_entries(self, lfib: dict[int, LfibEntry]) -> None: ...


@dataclass(frozen=True, init=False)
class NextHop:
    ifname: str
    gateway: IPv4Address | IPv6Address | None   # None: on-link, deliver to the destination itself (IPv6: fib6)
    neighbor: str | None             # node name on the other side
    push: tuple[int, ...] = ()       # labels pushed by an ingress (outermost first)

    def __init__(self, ifname: str, gateway: IPv4Address | IPv6Address | None, neighbor: str | None,
                 push: tuple[int, ...] = ()) -> None:
        # frozen, but filled without object.__setattr__ per field (3x faster: a big ISP's
        # control plane makes millions of next hops)
        d = self.__dict__
        d["ifname"], d["gateway"], d["neighbor"], d["push"] = ifname, gateway, neighbor, push

    def to_json(self) -> NextHopJson:
        return {"interface": self.ifname, "gateway": str(self.gateway) if self.gateway else None,
                "neighbor": self.neighbor, "push": list(self.push)}

    @classmethod
    def from_json(cls, d: NextHopJson) -> "NextHop":
        gw = d.get("gateway")
        return cls(d["interface"], ip_address(gw) if gw else None, d.get("neighbor"),
                   tuple(int(x) for x in d.get("push") or ()))


@dataclass
class Route:
    prefix: IPv4Network | IPv6Network    # IPv6: a 6PE lab's fib6
    kind: str                        # connected | local | igp | ldp | bgp | default
    nexthops: list[NextHop]
    via: str = ""                    # e.g. the BGP next hop (exit LER) or FEC

    def to_json(self) -> RouteJson:
        return {"prefix": str(self.prefix), "kind": self.kind, "via": self.via,
                "nexthops": [n.to_json() for n in self.nexthops]}

    @classmethod
    def from_json(cls, d: RouteJson) -> "Route":
        return cls(ip_network(d["prefix"]), d["kind"], [NextHop.from_json(n) for n in d.get("nexthops", [])],
                   d.get("via", ""))


@dataclass(frozen=True, init=False)
class LabelHop:
    out_label: int | None            # None = untagged (pop, forward as IP); 3 = PHP pop; else swap
    ifname: str
    gateway: IPv4Address
    neighbor: str | None             # None: an address of no node of the lab (as FRR reported it)
    push: tuple[int, ...] = ()       # labels pushed above the swapped one (LDP over RSVP), outermost first
    writeback: bool = True           # a PHP pop writes the LSE-TTL into the IP header (False: the LSP
                                     # was signalled no-decrement-ttl, Junos)

    def __init__(self, out_label: int | None, ifname: str, gateway: IPv4Address, neighbor: str | None,
                 push: tuple[int, ...] = (), writeback: bool = True) -> None:
        d = self.__dict__                # frozen, filled fast (as NextHop)
        d["out_label"], d["ifname"], d["gateway"], d["neighbor"] = out_label, ifname, gateway, neighbor
        d["push"], d["writeback"] = push, writeback

    def to_json(self) -> LabelHopJson:
        out = "untagged" if self.out_label is None else ("pop" if self.out_label == IMPLICIT_NULL
                                                          else self.out_label)
        d: LabelHopJson = {"out": out, "interface": self.ifname, "gateway": str(self.gateway), "neighbor": self.neighbor}
        if self.push:
            d["push"] = list(self.push)
        if not self.writeback:
            d["writeback"] = False
        return d

    @classmethod
    def from_json(cls, d: LabelHopJson) -> "LabelHop":
        out = d["out"]
        label = None if out == "untagged" else (IMPLICIT_NULL if out == "pop" else int(out))
        return cls(label, d["interface"], IPv4Address(d["gateway"]), d.get("neighbor"),
                   tuple(int(x) for x in d.get("push") or ()), bool(d.get("writeback", True)))


@dataclass
class LfibEntry:
    in_label: int
    fec: IPv4Network
    hops: list[LabelHop]

    def to_json(self) -> LfibEntryJson:
        return {"in": self.in_label, "fec": str(self.fec), "hops": [h.to_json() for h in self.hops]}

    @classmethod
    def from_json(cls, d: LfibEntryJson) -> "LfibEntry":
        return cls(int(d["in"]), IPv4Network(d["fec"]), [LabelHop.from_json(h) for h in d.get("hops", [])])


@dataclass(eq=False)
class RouterTables:
    name: str
    _lfib: dict[int, LfibEntry] | None = field(default=None, repr=False)
    bindings: dict[IPv4Network, int] = field(default_factory=dict)   # local LDP label per FEC
    ldp_neighbors: list[str] = field(default_factory=list)
    _fib: dict[IPv4Network, Route] | None = field(default=None, repr=False)
    # what fills the FIB, the LFIB when first read (the control plane's deferred tables)
    _loader: Callable[[dict[IPv4Network, Route]], None] | None = field(default=None, repr=False, compare=False)
    _lfib_loader: Callable[[dict[int, LfibEntry]], None] | None = field(default=None, repr=False, compare=False)
    fib6: dict[IPv6Network, Route] = field(default_factory=dict)   # 6PE labs: IPv6 prefix -> Route (controlplane/sixpe.py)
    # routes and LFIB entries one destination at a time (compute.OnDemand), used while the FIB
    # or LFIB was never built: what a walk or the sim reads costs what it reaches
    _lazy: TablesView | None = field(default=None, repr=False, compare=False)

    @property
    def lfib(self) -> dict[int, LfibEntry]:
        """in label -> LfibEntry; like the FIB, built on first use when the control plane
        deferred it (a 400-router ISP: a router's tables are built when something reads them)."""
        if self._lfib is None:
            lfib: dict[int, LfibEntry] = {}
            loader, self._lfib_loader = self._lfib_loader, None
            if loader is not None:
                with no_gc():
                    loader(lfib)
            if self._lazy is not None:           # entries handed out one label at a time stay the ones
                self._lazy.adopt_entries(lfib)
            self._lfib = lfib
        return self._lfib

    @lfib.setter
    def lfib(self, value: dict[int, LfibEntry]) -> None:
        self._lfib, self._lfib_loader = value, None

    def __eq__(self, other: object) -> bool:
        """Equal tables: the FIB and LFIB as built (a deferred table is built to compare)."""
        if not isinstance(other, RouterTables):
            return NotImplemented
        return (self.name, self.lfib, self.bindings, self.ldp_neighbors, self.fib, self.fib6) == \
            (other.name, other.lfib, other.bindings, other.ldp_neighbors, other.fib, other.fib6)

    # unhashable: mutable, compared by value (mypy types object's __hash__ as never None)
    __hash__: ClassVar[None] = None     # type: ignore[assignment]

    @property
    def fib(self) -> dict[IPv4Network, Route]:
        """prefix -> Route; built on first use when the control plane deferred it (big labs:
        each engine worker then builds only its own routers' FIBs)."""
        if self._fib is None:
            fib: dict[IPv4Network, Route] = {}
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
    def on_demand(self) -> TablesView | None:
        """The per-destination view of a FIB never built (compute.OnDemand), else None: the
        engine then compiles a router's routes one destination at a time."""
        return self._lazy if self._fib is None else None

    def label_entry(self, label: int) -> "LfibEntry | None":
        """lfib.get(label), without building the whole LFIB when it was deferred."""
        if self._lfib is None and self._lazy is not None:
            return self._lazy.label_entry(label)
        return self.lfib.get(label)

    @property
    def lfib_on_demand(self) -> TablesView | None:
        """The per-label view of an LFIB never built, else None."""
        return self._lazy if self._lfib is None else None

    def to_json(self) -> RouterTablesJson:
        def key(p: IPv4Network | IPv6Network) -> tuple[int, int]:
            return (int(p.network_address), p.prefixlen)
        d: RouterTablesJson = {
            "router": self.name,
            "fib": [self.fib[p].to_json() for p in sorted(self.fib, key=key)],
            "lfib": [self.lfib[k].to_json() for k in sorted(self.lfib)],
            "ldp_bindings": [{"fec": str(p), "label": self.bindings[p]} for p in sorted(self.bindings, key=key)],
            "ldp_neighbors": self.ldp_neighbors}
        if self.fib6:
            d["fib6"] = [self.fib6[p].to_json() for p in sorted(self.fib6, key=key)]
        return d

    def lookup6(self, dst: IPv6Address | IPv4Address) -> "Route | None":   # (truth.report: an Address, IPv6 in fact)
        """Longest-prefix match of the IPv6 address `dst` in fib6 (small: a 6PE lab's customer side)."""
        d = int(dst)
        best: Route | None = None
        for p, r in self.fib6.items():
            if (d >> (128 - p.prefixlen) if p.prefixlen else 0) == (int(p.network_address) >> (128 - p.prefixlen)
                                                                   if p.prefixlen else 0):
                if best is None or p.prefixlen > best.prefix.prefixlen:
                    best = r
        return best

    @classmethod
    def from_json(cls, d: RouterTablesJson) -> "RouterTables":
        t = cls(name=d["router"])
        fib: dict[IPv4Network, Route] = {}
        for r in d.get("fib", []):
            route = Route.from_json(r)
            assert isinstance(route.prefix, IPv4Network), route.prefix      # (fib: IPv4 prefixes only)
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
            assert isinstance(route.prefix, IPv6Network), route.prefix     # (fib6: IPv6 prefixes only)
            t.fib6[route.prefix] = route
        return t


class DistanceRow(Protocol):
    """One router's IGP distances: to router b, or `default` (unreachable, unknown)."""
    def get(self, b: str, default: float, /) -> float: ...


class DistanceTable(Protocol):
    """cp.distance: router -> its row of IGP distances (compute.Distances, scale.LazyDistances; a
    router it does not know: `default`, else an empty row)."""
    def get(self, a: str, default: DistanceRow | None = None, /) -> DistanceRow: ...
    def __getitem__(self, a: str) -> DistanceRow: ...


@dataclass
class ControlPlane:
    lab: Lab
    tables: dict[str, RouterTables]
    distance: DistanceTable

    def __getitem__(self, node: str) -> RouterTables:
        return self.tables[node]
