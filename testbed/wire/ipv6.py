"""IPv6 header (RFC 8200) and its upper-layer pseudo-header (RFC 8200 8.1).

Addresses are 128-bit ints (`int(IPv6Address(s))`); an IPv4-mapped address (RFC 4291 2.5.5.2,
::ffff:a.b.c.d) is what a 6PE LSR without IPv6 answers from (RFC 4798 3, `mapped`)."""
from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import WireError, span_end

__all__ = ["IPV6_HLEN", "NH_ICMPV6", "NH_UDP", "IPv6Header", "ipv6_header", "ipv6_packet", "parse_ipv6",
           "pseudo_sum", "mapped", "unmapped", "set_hlim"]

IPV6_HLEN = 40
NH_ICMPV6 = 58
NH_UDP = 17
_HDR = struct.Struct("!IHBB16s16s")
_MAPPED = 0xFFFF << 32


class IPv6Header(NamedTuple):
    version: int        # always 6 (anything else raises)
    tc: int             # traffic class
    flow: int           # flow label (20 bits)
    payload_len: int
    next_header: int
    hop_limit: int
    src: int
    dst: int


def ipv6_header(src: int, dst: int, next_header: int, hop_limit: int, payload_len: int,
                tc: int = 0, flow: int = 0) -> bytes:
    """40-byte IPv6 header, no extension headers."""
    if not 0 <= payload_len <= 0xFFFF or not 0 <= hop_limit <= 255 or flow >> 20 or tc >> 8 or tc < 0 or flow < 0:
        raise ValueError("IPv6 header field out of range")
    if src >> 128 or dst >> 128 or src < 0 or dst < 0:
        raise ValueError("IPv6 address out of range")
    return _HDR.pack((6 << 28) | (tc << 20) | flow, payload_len, next_header, hop_limit,
                     src.to_bytes(16, "big"), dst.to_bytes(16, "big"))


def ipv6_packet(src: int, dst: int, next_header: int, hop_limit: int, l4: bytes) -> bytes:
    return ipv6_header(src, dst, next_header, hop_limit, len(l4)) + l4


def parse_ipv6(buf, off: int = 0, end: int | None = None, *, strict_len: bool = True) -> IPv6Header:
    """Parse the fixed IPv6 header at `off`. WireError on truncation, a version other than 6, or
    (strict_len, the default) a payload length beyond `end` (pass False for a quoted header)."""
    end = span_end(buf, off, end, IPV6_HLEN, "IPv6 header")
    w, plen, nh, hl, s, d = _HDR.unpack_from(buf, off)
    if w >> 28 != 6:
        raise WireError(f"IPv6: version {w >> 28} != 6")
    if strict_len and IPV6_HLEN + plen > end - off:
        raise WireError(f"IPv6: payload length {plen} beyond the {end - off - IPV6_HLEN} bytes available")
    return IPv6Header(6, (w >> 20) & 0xFF, w & 0xFFFFF, plen, nh, hl, int.from_bytes(s, "big"),
                      int.from_bytes(d, "big"))


def pseudo_sum(src: int, dst: int, length: int, next_header: int) -> int:
    """The pseudo-header's 16-bit words summed (not folded): source, destination, the
    upper-layer length (32 bits) and the next header (32 bits, three zero bytes first)."""
    s = 0
    for a in (src, dst):
        for k in range(8):
            s += (a >> (16 * k)) & 0xFFFF
    return s + (length >> 16) + (length & 0xFFFF) + next_header


def mapped(v4: int) -> int:
    """::ffff:a.b.c.d for the IPv4 address `v4`."""
    return _MAPPED | (v4 & 0xFFFFFFFF)


def unmapped(a: int) -> int | None:
    """The IPv4 address inside an IPv4-mapped IPv6 address, else None."""
    return a & 0xFFFFFFFF if a >> 32 == 0xFFFF else None


def set_hlim(buf: bytearray, off: int, hop_limit: int) -> None:
    """Rewrite the hop limit of the IPv6 header at `off` (no header checksum in IPv6)."""
    if not 0 <= hop_limit <= 255:
        raise ValueError(f"hop limit {hop_limit} out of range")
    buf[off + 7] = hop_limit
