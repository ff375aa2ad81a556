"""How a router answers: the next hop its reply leaves by, and the source address it takes.

One decision, in one place, for the engine (engine/router.py, engine/ipv6.py) and the ground
truth (truth/report.py):

1. The router picks the outgoing next hop of its reply first: among the equal-cost next hops
   of its route back to the prober, the one the flow hash of the packet it answers (the probe
   as received: a Paris traceroute keeps it constant, so one flow sees one return path) gives,
   mixed with the router's own seed (`router_seed`: real routers seed their load-balancing
   hash per router, so the branch a router picks for its reply is not the one an upstream
   router picked for the probe): `reply_hop`. The reply is then sent by that next hop; it is
   not hashed again.
2. The source address follows from that decision and the router's rule for the message kind
   (vendor table, per-router override `source_time_exceeded` etc.): "outgoing" = the address
   of the interface the reply leaves by (RFC 1812 4.3.2.4), "incoming" = the interface the
   probe came in on, "probed" = the probed address of a locally delivered packet:
   `reply_source`. Without a route back the reply goes nowhere and its source is the
   incoming interface's.

So the address a reply shows always names the interface whose return path its TTL counted
(under "outgoing"); routers further along that path may still hash the reply onto their own
equal-cost next hops (they forward it like any packet).
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar, overload

T = TypeVar("T")
A = TypeVar("A", bound="int | IPv4Address | IPv6Address")   # an address: an int in the engine, an object in the truth

OUTGOING, INCOMING, PROBED = "outgoing", "incoming", "probed"


def router_seed(name: str) -> int:
    """The per-router seed of the reply decision."""
    return zlib.crc32(b"reply:" + name.encode())


def reply_hop(hops: Sequence[T], h: int, seed: int) -> T:
    """The equal-cost next hop (an element of `hops`) of a reply about a packet whose flow hash
    is `h` (engine/router.py flow_hash, flow_hash6), at a router of seed `seed`. The flow hash
    is a CRC, linear over its bits: a seed XORed in or prefixed would keep every router's
    choice tied to the others'; a multiplicative mix does not."""
    if len(hops) == 1:
        return hops[0]
    mixed = (((h ^ seed) & 0xFFFFFFFF) * 0x9E3779B1) & 0xFFFFFFFF
    return hops[(mixed >> 16) % len(hops)]


def source_mode(icmp_source: dict[str, str], kind: str) -> str:
    """The router's source rule for a reply of `kind` (time_exceeded, unreachable, echo_reply)."""
    return icmp_source.get(kind, OUTGOING)


@overload
def reply_source(mode: str, outgoing: A | None, incoming: A, probed: A | None = None) -> A: ...
@overload
def reply_source(mode: str, outgoing: A | None, incoming: A | None, probed: A | None = None) -> A | None: ...


def reply_source(mode: str, outgoing: A | None, incoming: A | None, probed: A | None = None) -> A | None:
    """The source address of a reply: `outgoing` is the address of the interface of the next hop
    `reply_hop` chose (None without a route back), `incoming` the address of the interface the
    answered packet came in on, `probed` the local address it was sent to (None when it was not
    delivered locally). With an incoming interface there always is a source."""
    if mode == INCOMING and incoming is not None:
        return incoming
    if mode == PROBED and probed is not None:
        return probed
    return outgoing if outgoing is not None else incoming
