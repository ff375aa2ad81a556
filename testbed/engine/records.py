"""The engine's records, as the hot paths keep them: plain tuples (no object per packet or per
route), named here so the code says what each is."""
from __future__ import annotations

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
