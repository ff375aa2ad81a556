"""One router's tables per destination (RouterTables._lazy): what the two views share, compute's
_RouterView (a lab on whole-lab arrays) and scale's ScaleView (a big lab's graph), so that a
route, an LFIB entry and a longest-prefix lookup are made by one code whichever control plane
computed their next hops and labels."""
from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from .tables import IMPLICIT_NULL, LabelHop, LfibEntry, NextHop, Route

if TYPE_CHECKING:
    from testbed.lab.model import Lab

NONE = -1           # no label: the router binds none to the FEC, or the next hop advertises none


class Destinations(Protocol):
    """What a view reads of the state every router's view shares (compute.OnDemand, scale.ScaleState)."""
    @property
    def lab(self) -> Lab: ...
    @property
    def prefixes(self) -> list[IPv4Network]: ...             # prefix index -> the Prefix object
    @property
    def pindex(self) -> dict[IPv4Network, int]: ...
    @property
    def index(self) -> list[tuple[int, dict[int, int]]]: ...   # longest first: (mask, {network: prefix index})
    @property
    def fec_via(self) -> dict[int, str]: ...                 # one "FEC prefix" string per FEC, every router's


S = TypeVar("S", bound=Destinations)


def labelled_route(pfx: IPv4Network, pi: int, hops: list[NextHop], labels: Iterable[int],
                   fec_via: dict[int, str]) -> Route:
    """The route to a FEC the router binds a label to: through each IGP next hop, the label that
    neighbour advertises for it (`labels`, one per hop) pushed, none where it advertises none or
    implicit null; "ldp" when a hop pushes, else "igp"."""
    new: list[NextHop] = []
    pushed = False
    for nh, lbl in zip(hops, labels):
        if lbl == NONE or lbl == IMPLICIT_NULL:
            new.append(nh)
        else:
            new.append(NextHop(nh.ifname, nh.gateway, nh.neighbor, (lbl,)))
            pushed = True
    via = fec_via.get(pi)
    if via is None:
        via = fec_via[pi] = f"FEC {pfx}"
    return Route(pfx, "ldp" if pushed else "igp", new, via=via)


def label_hops(hops: list[NextHop], labels: Iterable[int]) -> list[LabelHop]:
    """An LFIB entry's hops toward IGP next hops: swap to the label each advertises (`labels`, one
    per hop), untagged where it advertises none."""
    return [LabelHop(None if out == NONE else out, nh.ifname, cast(IPv4Address, nh.gateway), nh.neighbor)
            for nh, out in zip(hops, labels)]             # (IGP next hops have an IPv4 gateway)


class DestinationView(Generic[S]):
    """One router's routes by prefix index and LFIB entries by label, each made when first asked
    and kept: its own prefixes' local and connected routes, the others' from hops() and _routed()
    (the subclass's), the longest-prefix lookup over them; and when its whole FIB or LFIB is
    built after the view handed some routes or entries out, the whole table keeps the objects
    already handed out (equal ones)."""
    __slots__ = ("src", "r", "routes", "own", "entries")

    def __init__(self, src: S, r: str) -> None:
        self.src, self.r = src, r
        self.routes: dict[int, Route | None] = {}
        self.own: dict[int, Route] | None = None
        self.entries: dict[int, LfibEntry | None] = {}

    def hops(self, pi: int) -> list[NextHop] | None:
        """The router's IGP next hops toward prefix pi (None: no IGP route, e.g. its own)."""
        raise NotImplementedError

    def _routed(self, pi: int, hops: list[NextHop]) -> Route:
        """The route toward prefix pi through its IGP next hops `hops` (labels, BGP)."""
        raise NotImplementedError

    def _entry(self, label: int) -> LfibEntry | None:
        """The LFIB entry of `label`, or None."""
        raise NotImplementedError

    def _own(self) -> dict[int, Route]:
        """prefix index -> the local or connected route (later interfaces win, as in a whole FIB)."""
        src = self.src
        node, prefixes, pindex = src.lab.nodes[self.r], src.prefixes, src.pindex
        own: dict[int, Route] = {}
        pi = pindex[IPv4Network(f"{node.loopback}/32")]
        own[pi] = Route(prefixes[pi], "local", [])
        for itf in node.interfaces:
            pi = pindex[itf.network]
            own[pi] = Route(prefixes[pi], "connected", [NextHop(itf.name, None, None)])
        self.own = own
        return own

    def route(self, pi: int) -> Route | None:
        try:
            return self.routes[pi]
        except KeyError:
            pass
        hops = self.hops(pi)
        if hops is None:
            own = self.own if self.own is not None else self._own()
            rt = own.get(pi)
        else:
            rt = self._routed(pi, hops)
        self.routes[pi] = rt
        return rt

    def lookup(self, d: int, forwarding: bool = False) -> Route | None:
        """The route of the longest prefix holding address `d` (an int); with `forwarding`,
        of the longest one whose route has next hops (what the engine's compiled FIB holds:
        a local route is not in it)."""
        for mask, nets in self.src.index:
            pi = nets.get(d & mask)
            if pi is None:
                continue
            rt = self.route(pi)
            if rt is None or (forwarding and not rt.nexthops):
                continue
            return rt
        return None

    def label_entry(self, label: int) -> LfibEntry | None:
        """The LFIB entry of `label` (what the whole LFIB holds for it), or None."""
        try:
            return self.entries[label]
        except KeyError:
            pass
        e = self.entries[label] = self._entry(label)
        return e

    def adopt_routes(self, fib: dict[IPv4Network, Route]) -> None:
        for rt in self.routes.values():         # (IPv4 routes: the FIB's, never fib6's)
            if rt is not None and isinstance(rt.prefix, IPv4Network) and fib.get(rt.prefix) == rt:
                fib[rt.prefix] = rt

    def adopt_entries(self, lfib: dict[int, LfibEntry]) -> None:
        for lbl, e in self.entries.items():
            if e is not None and lfib.get(lbl) == e:
                lfib[lbl] = e
