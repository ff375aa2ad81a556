"""Address ranges TNT treats as reserved (tnt.md 5.2): lab pools must avoid them."""
from ipaddress import IPv4Address, IPv4Network

RESERVED = [IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")]


def is_reserved(addr: object) -> bool:
    a = IPv4Address(str(addr))
    return any(a in n for n in RESERVED)


def overlapping_reserved(net: IPv4Network) -> IPv4Network | None:
    for r in RESERVED:
        if net.overlaps(r):
            return r
    return None
