"""UDP header (RFC 768) with the IPv4 pseudo-header checksum.

Only the builder: the engine never looks into UDP (a UDP probe to a router is answered from its
IP header alone), so there is no parser here; the probes the tests and benchmarks send are built
with it and checked against scapy (tests/test_wire.py)."""
from __future__ import annotations

import struct

from .checksum import ones_sum

__all__ = ["UDP_HLEN", "udp_header"]

UDP_HLEN = 8
_HDR = struct.Struct("!HHHH")
_IPPROTO_UDP = 17


def _pseudo_sum(src_ip: int, dst_ip: int, length: int) -> int:
    return (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + _IPPROTO_UDP + length


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
