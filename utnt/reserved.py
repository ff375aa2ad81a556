"""Reserved IPv4 ranges (tnt.md 5.2).

TNT never pings a hop whose address is reserved, never takes it as a tunnel ingress or
egress (nor as the start point or "next" hop of a revelation test) and prints ``rsvd`` on
its line.

``allow_private=True`` lifts that rule for every range a lab could address routers from
(private, shared, link-local, documentation, benchmarking, ...).  The ranges that can never
be the source of a router's reply -- "this network" 0/8, loopback 127/8, multicast 224/4
and the future-use/broadcast block 240/4 -- stay reserved even then.
"""

from __future__ import annotations

import ipaddress

RESERVED_RANGES: tuple[str, ...] = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
"""The list of tnt.md 5.2, in its order."""

NEVER_UNICAST_RANGES: tuple[str, ...] = ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
"""Ranges still reserved under ``allow_private=True``."""

_RESERVED = tuple(ipaddress.IPv4Network(n) for n in RESERVED_RANGES)
_NEVER_UNICAST = tuple(ipaddress.IPv4Network(n) for n in NEVER_UNICAST_RANGES)


def is_reserved(addr: str, allow_private: bool = False) -> bool:
    """True if ``addr`` lies in a reserved range of tnt.md 5.2.

    With ``allow_private`` only 0/8, 127/8, 224/4 and 240/4 count as reserved.
    Raises ``ValueError`` for something that is not a dotted-quad IPv4 address
    (TNT is IPv4 only, tnt.md 5.2).
    """
    ip = ipaddress.IPv4Address(addr)
    ranges = _NEVER_UNICAST if allow_private else _RESERVED
    return any(ip in net for net in ranges)
