"""ICMPv6 (RFC 4443): errors with RFC 4884 multi-part extensions and RFC 4950 MPLS objects,
echo, and the two neighbour discovery messages a router needs on a link (RFC 4861 neighbour
solicitation and advertisement, with the link-layer address options).

The checksum covers the IPv6 pseudo-header (RFC 8200 8.1), so every builder and the parser
take the packet's source and destination. In an ICMPv6 error the RFC 4884 length attribute
is byte 4 and counts 64-bit words (RFC 4884 5.1), where ICMP for IPv4 has byte 5 and 32-bit
words; the extension structure itself is the same (icmp.extension_structure, walk_extension).
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import ones_sum
from .errors import WireError, span_end
from .icmp import EXT_ORIG_LEN, EXT_VERSION, IcmpExtensions, _no_ext, extension_structure, walk_extension
from .ipv6 import NH_ICMPV6, pseudo_sum

__all__ = ["DEST_UNREACH6", "PACKET_TOO_BIG", "TIME_EXCEEDED6", "PARAM_PROBLEM6", "ECHO_REQUEST6",
           "ECHO_REPLY6", "NEIGHBOR_SOLICIT", "NEIGHBOR_ADVERT", "PORT_UNREACH6", "NO_ROUTE6",
           "HOP_LIMIT_EXCEEDED", "ERROR_TYPES6", "MIN_MTU", "Icmp6Message", "icmp6_checksum", "echo6",
           "icmp6_error", "neighbor_solicit", "neighbor_advert", "parse_icmp6", "parse_nd",
           "solicited_node", "multicast_mac"]

DEST_UNREACH6 = 1
PACKET_TOO_BIG = 2
TIME_EXCEEDED6 = 3
PARAM_PROBLEM6 = 4
ECHO_REQUEST6 = 128
ECHO_REPLY6 = 129
NEIGHBOR_SOLICIT = 135
NEIGHBOR_ADVERT = 136
NO_ROUTE6 = 0               # codes of DEST_UNREACH6
PORT_UNREACH6 = 4
HOP_LIMIT_EXCEEDED = 0      # code of TIME_EXCEEDED6
ERROR_TYPES6 = frozenset({DEST_UNREACH6, PACKET_TOO_BIG, TIME_EXCEEDED6, PARAM_PROBLEM6})
_EXT_TYPES6 = frozenset({DEST_UNREACH6, TIME_EXCEEDED6})   # RFC 4884 5.1
MIN_MTU = 1280              # an error "must not exceed the minimum IPv6 MTU" (RFC 4443 2.4 c)
_OPT_SRC_LLADDR, _OPT_TGT_LLADDR = 1, 2
_HDR = struct.Struct("!BBHI")


class Icmp6Message(NamedTuple):
    type: int
    code: int
    checksum: int
    checksum_ok: bool       # against the pseudo-header of the given src/dst
    rest: int               # bytes 4..7 as one 32-bit integer
    ident: int              # echo: rest >> 16
    seq: int                # echo: rest & 0xFFFF
    length: int             # errors 1/3: the RFC 4884 length attribute (byte 4, 64-bit words), else 0
    quote_off: int          # errors: the original packet; others: the data after the header
    quote_len: int
    ext: IcmpExtensions


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return 0xFFFF - s


def icmp6_checksum(src: int, dst: int, msg) -> int:
    """The checksum over the pseudo-header and `msg` (its checksum field zero: the value to
    store; the whole message as sent: 0 when it verifies)."""
    c = _fold(pseudo_sum(src, dst, len(msg), NH_ICMPV6) + ones_sum(msg))
    return c


def _finish(src: int, dst: int, head: bytes, body: bytes) -> bytes:
    msg = head + body
    ck = icmp6_checksum(src, dst, msg)
    return msg[:2] + ck.to_bytes(2, "big") + msg[4:]


def echo6(type: int, ident: int, seq: int, payload: bytes, src: int, dst: int) -> bytes:
    """Echo request (128) or reply (129) with its checksum."""
    return _finish(src, dst, struct.pack("!BBHHH", type, 0, 0, ident, seq), bytes(payload))


def icmp6_error(type: int, code: int, original: bytes, src: int, dst: int, mpls_stack=None,
                *, mtu: int = 0, pointer: int = 0) -> bytes:
    """ICMPv6 error. mpls_stack None: as much of the invoking packet as fits in the minimum MTU
    (RFC 4443 2.4 c), length attribute 0. mpls_stack a stack (may be empty): the invoking packet
    truncated or zero-padded to 128 bytes, length attribute 16 (64-bit words), then the RFC 4884
    extension structure with one RFC 4950 MPLS object. Only types 1 and 3 carry extensions."""
    rest = mtu if type == PACKET_TOO_BIG else (pointer if type == PARAM_PROBLEM6 else 0)
    if mpls_stack is None:
        body = bytes(original[:MIN_MTU - 40 - 8])
    else:
        if type not in _EXT_TYPES6:
            raise ValueError(f"ICMPv6 type {type} cannot carry RFC 4884 extensions")
        quote = bytes(original[:EXT_ORIG_LEN])
        quote += bytes(EXT_ORIG_LEN - len(quote))
        body = quote + extension_structure(mpls_stack)
        rest = (EXT_ORIG_LEN // 8) << 24
    return _finish(src, dst, _HDR.pack(type, code, 0, rest), body)


def _lladdr_opt(kind: int, mac: bytes) -> bytes:
    if len(mac) != 6:
        raise ValueError("MAC addresses must be 6 bytes")
    return bytes([kind, 1]) + mac


def neighbor_solicit(target: int, mac: bytes, src: int, dst: int) -> bytes:
    """Neighbour solicitation for `target` with the source link-layer address option."""
    return _finish(src, dst, _HDR.pack(NEIGHBOR_SOLICIT, 0, 0, 0),
                   target.to_bytes(16, "big") + _lladdr_opt(_OPT_SRC_LLADDR, mac))


def neighbor_advert(target: int, mac: bytes, src: int, dst: int, *, router: bool = True,
                    solicited: bool = True, override: bool = True) -> bytes:
    """Neighbour advertisement for `target` (flags R, S, O) with the target link-layer address."""
    flags = (router << 31) | (solicited << 30) | (override << 29)
    return _finish(src, dst, _HDR.pack(NEIGHBOR_ADVERT, 0, 0, flags),
                   target.to_bytes(16, "big") + _lladdr_opt(_OPT_TGT_LLADDR, mac))


def solicited_node(addr: int) -> int:
    """ff02::1:ffXX:XXXX, the solicited-node multicast address of `addr` (RFC 4291 2.7.1)."""
    return (0xFF02 << 112) | (1 << 32) | (0xFF << 24) | (addr & 0xFFFFFF)


def multicast_mac(group: int) -> bytes:
    """33:33 and the group's low 32 bits (RFC 2464 7)."""
    return b"\x33\x33" + (group & 0xFFFFFFFF).to_bytes(4, "big")


def parse_nd(buf, off: int, end: int) -> tuple[int, bytes | None]:
    """(target address, link-layer address option or None) of an NS or NA at `off`."""
    end = span_end(buf, off, end, 24, "ICMPv6 neighbour discovery")
    target = int.from_bytes(buf[off + 8:off + 24], "big")
    pos, mac = off + 24, None
    while pos + 2 <= end:
        kind, ln = buf[pos], buf[pos + 1] * 8
        if ln == 0 or pos + ln > end:
            raise WireError("ICMPv6 neighbour discovery: bad option length")
        if kind in (_OPT_SRC_LLADDR, _OPT_TGT_LLADDR) and ln == 8:
            mac = bytes(buf[pos + 2:pos + 8])
        pos += ln
    return target, mac


def parse_icmp6(buf, off: int, end: int | None, src: int, dst: int) -> Icmp6Message:
    """Parse the ICMPv6 message buf[off:end] carried from `src` to `dst` (for the checksum)."""
    end = span_end(buf, off, end, 8, "ICMPv6 message")
    typ, code, ck, rest = _HDR.unpack_from(buf, off)
    ok = icmp6_checksum(src, dst, bytes(buf[off:end])) == 0
    n = end - off - 8
    ext = _no_ext(n)
    length = 0
    qlen = n
    if typ in _EXT_TYPES6:
        length = rest >> 24
        if length:
            orig = length * 8
            ext_off = off + 8 + orig
            if ext_off < end and end - ext_off >= 4 and buf[ext_off] >> 4 == EXT_VERSION:
                ext = walk_extension(buf, ext_off, end, "rfc4884", orig, orig < EXT_ORIG_LEN)
            qlen = min(orig, n)
    return Icmp6Message(typ, code, ck, ok, rest, rest >> 16, rest & 0xFFFF, length, off + 8, qlen, ext)
