"""UDP header (RFC 768) with the IPv4 pseudo-header checksum."""
from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import ones_sum
from .errors import span_end

__all__ = ["UDP_HLEN", "UDPHeader", "udp_header", "parse_udp", "udp_checksum"]

UDP_HLEN = 8
_HDR = struct.Struct("!HHHH")
_IPPROTO_UDP = 17
_new = tuple.__new__


class UDPHeader(NamedTuple):
    sport: int
    dport: int
    length: int               # as found on the wire (header + data)
    checksum: int
    checksum_ok: bool | None  # None: not verifiable (no addresses given, checksum 0, or length beyond data)
    payload_off: int


def _pseudo_sum(src_ip: int, dst_ip: int, length: int) -> int:
    return (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + _IPPROTO_UDP + length


def udp_checksum(src_ip: int, dst_ip: int, segment) -> int:
    """Checksum of a whole UDP segment (header with checksum field 0, plus data) over IPv4.
    A computed 0 is returned as 0xFFFF (RFC 768: 0 means 'no checksum')."""
    s = _pseudo_sum(src_ip, dst_ip, len(segment)) + ones_sum(segment)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (0xFFFF - s) or 0xFFFF


def udp_header(sport: int, dport: int, payload_len: int, src_ip: int, dst_ip: int,
               payload: bytes = b"") -> bytes:
    """8-byte UDP header, length = 8 + payload_len, checksum over pseudo-header + header + payload.

    `payload` must be the payload_len bytes that will follow (ValueError otherwise), except that
    an empty `payload` with payload_len > 0 yields checksum 0 ('no checksum', legal over IPv4).
    """
    length = UDP_HLEN + payload_len
    if length > 0xFFFF or payload_len < 0:
        raise ValueError(f"UDP length {length} out of range")
    try:
        hdr = _HDR.pack(sport, dport, length, 0)
    except struct.error as e:
        raise ValueError(f"UDP port out of range: {e}") from None
    if not payload and payload_len:
        return hdr
    if len(payload) != payload_len:
        raise ValueError(f"UDP payload is {len(payload)} bytes, payload_len says {payload_len}")
    s = _pseudo_sum(src_ip, dst_ip, length) + sport + dport + length + ones_sum(payload)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return hdr[:6] + ((0xFFFF - s) or 0xFFFF).to_bytes(2, "big")


def parse_udp(buf, off: int = 0, end: int | None = None,
              src_ip: int | None = None, dst_ip: int | None = None) -> UDPHeader:
    """Parse the UDP header at `off`.  Only a header shorter than 8 bytes raises WireError: the
    length field is reported as found (a header quoted in an ICMP error describes the original).
    The checksum is verified when both addresses are given and the segment is entirely in buf."""
    end = span_end(buf, off, end, UDP_HLEN, "UDP header")
    sport, dport, length, cks = _HDR.unpack_from(buf, off)
    ok = None
    if cks and src_ip is not None and dst_ip is not None and UDP_HLEN <= length <= end - off:
        s = _pseudo_sum(src_ip, dst_ip, length) + ones_sum(buf[off:off + length])
        ok = s % 0xFFFF == 0
    return _new(UDPHeader, (sport, dport, length, cks, ok, off + UDP_HLEN))
