"""The engine's records, as the hot paths keep them: plain tuples (no object per packet or per
route), named here so the code says what each is; and the few objects a router keeps of itself
(its ports, its counters, a compiled route), which the IPv4 path (router) and the IPv6 path
(ipv6) both read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

Buf = bytes | bytearray | memoryview         # a frame or packet as received, or being rewritten
Out = list[tuple[int, bytes]]                # frames to send: (port index, frame)
FibHop = tuple[int, int | None, tuple[int, ...]]     # (port index, gateway or None: on-link, labels pushed)
LfibHop = tuple[int | None, int, int]        # (out label or None: untagged, port index, gateway)
LfibExtra = tuple[tuple[int, ...], bool]     # (labels pushed above the out label, PHP TTL write-back)
Lse = tuple[int, int, int, int]              # a label stack entry: (label, TC, S, TTL)
Neighbour = tuple[int, int]                  # (port index, IPv4 or IPv6 address)


class LabelTable(Protocol):
    """What the engine reads of an LFIB: label -> its next hops (a dict, or one compiled per label
    on first lookup: router._LabelsOnDemand)."""
    def get(self, label: int, /) -> list[LfibHop] | None: ...


@dataclass
class Port:
    index: int
    name: str
    mac: bytes
    ip: int
    plen: int
    net: int
    mask: int
    ip6: int | None = None     # 6PE labs: the port's IPv6 address (customer side)


@dataclass
class Counters:
    rx: int = 0
    tx: int = 0
    forwarded: int = 0
    label_switched: int = 0
    local: int = 0
    icmp_sent: int = 0
    icmp_suppressed: int = 0
    dropped_malformed: int = 0
    dropped_checksum: int = 0
    dropped_no_route: int = 0
    dropped_no_label: int = 0
    dropped_ttl_silent: int = 0
    dropped_other_mac: int = 0
    arp_sent: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class CompiledRoute:
    hops: list[FibHop]
