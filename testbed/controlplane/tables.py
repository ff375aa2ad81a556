"""Forwarding state: the contract between the control plane and the data plane (engine)."""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

IMPLICIT_NULL = 3
EXPLICIT_NULL = 0
UNTAGGED = None   # out-label of an LSP that ends abruptly: pop and forward as IP


@dataclass(frozen=True)
class NextHop:
    ifname: str
    gateway: IPv4Address | None      # None: on-link, deliver to the destination itself
    neighbor: str | None             # node name on the other side
    push: tuple[int, ...] = ()       # labels pushed by an ingress (outermost first)

    def to_json(self):
        return {"interface": self.ifname, "gateway": str(self.gateway) if self.gateway else None,
                "neighbor": self.neighbor, "push": list(self.push)}


@dataclass
class Route:
    prefix: IPv4Network
    kind: str                        # connected | local | igp | ldp | bgp | default
    nexthops: list[NextHop]
    via: str = ""                    # e.g. the BGP next hop (exit LER) or FEC

    def to_json(self):
        return {"prefix": str(self.prefix), "kind": self.kind, "via": self.via,
                "nexthops": [n.to_json() for n in self.nexthops]}


@dataclass(frozen=True)
class LabelHop:
    out_label: int | None            # None = untagged (pop, forward as IP); 3 = PHP pop; else swap
    ifname: str
    gateway: IPv4Address
    neighbor: str

    def to_json(self):
        out = "untagged" if self.out_label is None else ("pop" if self.out_label == IMPLICIT_NULL
                                                          else self.out_label)
        return {"out": out, "interface": self.ifname, "gateway": str(self.gateway), "neighbor": self.neighbor}


@dataclass
class LfibEntry:
    in_label: int
    fec: IPv4Network
    hops: list[LabelHop]

    def to_json(self):
        return {"in": self.in_label, "fec": str(self.fec), "hops": [h.to_json() for h in self.hops]}


@dataclass
class RouterTables:
    name: str
    fib: dict[IPv4Network, Route] = field(default_factory=dict)
    lfib: dict[int, LfibEntry] = field(default_factory=dict)
    bindings: dict[IPv4Network, int] = field(default_factory=dict)   # local LDP label per FEC
    ldp_neighbors: list[str] = field(default_factory=list)

    def lookup(self, dst: IPv4Address) -> Route | None:
        best = None
        for pfx, r in self.fib.items():
            if dst in pfx and (best is None or pfx.prefixlen > best.prefix.prefixlen):
                best = r
        return best

    def to_json(self):
        def key(p):
            return (int(p.network_address), p.prefixlen)
        return {"router": self.name,
                "fib": [self.fib[p].to_json() for p in sorted(self.fib, key=key)],
                "lfib": [self.lfib[k].to_json() for k in sorted(self.lfib)],
                "ldp_bindings": [{"fec": str(p), "label": self.bindings[p]} for p in sorted(self.bindings, key=key)],
                "ldp_neighbors": self.ldp_neighbors}


@dataclass
class ControlPlane:
    lab: object
    tables: dict[str, RouterTables]
    distance: dict[str, dict[str, float]]

    def __getitem__(self, node: str) -> RouterTables:
        return self.tables[node]
