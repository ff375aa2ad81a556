"""Which destinations uTNT probes: IPv4 only, like TNT (sc_tnt allocates every target as an
IPv4 scamper address); an IPv6 target is refused with one line."""
from __future__ import annotations

from ipaddress import IPv6Address

IPV6_REFUSED = "is an IPv6 address; uTNT, like TNT (sc_tnt), probes IPv4 only (give an IPv4 destination)"


def is_ipv6(s: str) -> bool:
    try:
        IPv6Address(s)
    except ValueError:
        return False
    return True
