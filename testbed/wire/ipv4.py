"""IPv4 header (RFC 791)."""
from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import inet_checksum
from .errors import WireError, span_end

__all__ = [
    "IPPROTO_ICMP", "IPPROTO_TCP", "IPPROTO_UDP", "IPV4_HLEN",
    "IPv4Header", "ipv4_header", "parse_ipv4", "set_ttl",
]

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPV4_HLEN = 20

_HDR = struct.Struct("!BBHHHBBHII")
_pack_hdr = _HDR.pack
# The same 20 bytes seen as 16-bit words (for the checksum) plus the two addresses.
_WORDS = struct.Struct("!HHHHHHII")
_unpack_words = _WORDS.unpack_from


_new = tuple.__new__


class IPv4Header(NamedTuple):
    version: int       # always 4 (anything else raises)
    ihl: int           # in 32-bit words, >= 5
    tos: int
    total_len: int
    ident: int
    flags: int         # 3 bits: 0x2 = DF, 0x1 = MF
    frag_off: int      # in 8-byte units
    ttl: int
    proto: int
    checksum: int      # as found on the wire
    checksum_ok: bool
    src: int
    dst: int
    header_len: int    # ihl * 4, in bytes


def ipv4_header(src: int, dst: int, proto: int, ttl: int, payload_len: int,
                ident: int = 0, tos: int = 0, df: bool = False) -> bytes:
    """20-byte IPv4 header, no options, with its checksum; total length = 20 + payload_len."""
    total = 20 + payload_len
    if not 20 <= total <= 0xFFFF:
        raise ValueError(f"IPv4 total length {total} out of range")
    frag = 0x4000 if df else 0
    # one's complement sum of the header words, computed from the fields (no second pack)
    s = (0x4500 | tos) + total + ident + frag + ((ttl << 8) | proto) \
        + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    try:
        return _pack_hdr(0x45, tos, total, ident, frag, ttl, proto, 0xFFFF - s, src, dst)
    except struct.error as e:
        raise ValueError(f"IPv4 header field out of range: {e}") from None


def parse_ipv4(buf, off: int = 0, end: int | None = None, *, strict_len: bool = True) -> IPv4Header:
    """Parse the IPv4 header at `off` (data ends at `end`, default len(buf)).

    Raises WireError on a truncated header, version != 4, ihl < 5, total length < ihl*4, or
    (when strict_len, the default) a total length beyond `end`.  Pass strict_len=False for the
    header quoted inside an ICMP error, whose total length describes the original datagram.
    The checksum is verified and reported (checksum_ok), never raised on.
    """
    end = span_end(buf, off, end, 20, "IPv4 header")
    w0, total, ident, frag, ttlp, cks, src, dst = _unpack_words(buf, off)
    vihl = w0 >> 8
    if vihl >> 4 != 4:
        raise WireError(f"IPv4: version {vihl >> 4} != 4")
    ihl = vihl & 0x0F
    hl = ihl << 2
    if ihl < 5:
        raise WireError(f"IPv4: ihl {ihl} < 5")
    if end - off < hl:
        raise WireError(f"IPv4 header truncated: {end - off} bytes < ihl*4 = {hl}")
    if total < hl:
        raise WireError(f"IPv4: total length {total} < header length {hl}")
    if strict_len and total > end - off:
        raise WireError(f"IPv4: total length {total} beyond the {end - off} bytes available")
    if ihl == 5:
        # sum of the 16-bit words mod 0xFFFF (never 0 itself: the version nibble is 4)
        ok = (w0 + total + ident + frag + ttlp + cks + src + dst) % 0xFFFF == 0
    else:
        ok = inet_checksum(buf[off:off + hl]) == 0
    # tuple.__new__ builds the same IPv4Header ~2.5x faster than calling the class
    return _new(IPv4Header, (4, ihl, w0 & 0xFF, total, ident, frag >> 13, frag & 0x1FFF,
                             ttlp >> 8, ttlp & 0xFF, cks, ok, src, dst, hl))


def set_ttl(buf: bytearray, off: int, ttl: int) -> None:
    """Rewrite the TTL of the IPv4 header at `off` in place, updating its checksum incrementally
    (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).  A header whose checksum was valid stays valid and
    gets exactly the checksum a full recomputation would give; an invalid one stays invalid."""
    if not 0 <= ttl <= 255:
        raise ValueError(f"TTL {ttl} out of range")
    old = buf[off + 8]
    if old == ttl:
        return
    proto = buf[off + 9]
    hc = (buf[off + 10] << 8) | buf[off + 11]
    s = (0xFFFF - hc) + (0xFFFF - ((old << 8) | proto)) + ((ttl << 8) | proto)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    hc = 0xFFFF - s
    buf[off + 8] = ttl
    buf[off + 10] = hc >> 8
    buf[off + 11] = hc & 0xFF
