"""ARP for IPv4 over Ethernet (RFC 826)."""
from __future__ import annotations

import struct

from .errors import WireError
from .ethernet import BROADCAST, ETH_ARP, ETH_IP

__all__ = ["ARP_REQUEST", "ARP_REPLY", "ARP_LEN", "arp_request", "arp_reply", "parse_arp"]

ARP_REQUEST = 1
ARP_REPLY = 2
ARP_LEN = 28
_ZERO_MAC = b"\x00" * 6

# Ethernet header + ARP packet in one struct: dst, src, type, htype, ptype, hlen, plen, op, sha, spa, tha, tpa
_FRAME = struct.Struct("!6s6sHHHBBH6sI6sI")
_ARP = struct.Struct("!HHBBH6sI6sI")


def arp_request(src_mac: bytes, src_ip: int, target_ip: int) -> bytes:
    """Whole Ethernet frame (42 bytes, not padded): broadcast who-has target_ip tell src_ip."""
    return _FRAME.pack(BROADCAST, src_mac, ETH_ARP, 1, ETH_IP, 6, 4, ARP_REQUEST,
                       src_mac, src_ip, _ZERO_MAC, target_ip)


def arp_reply(src_mac: bytes, src_ip: int, dst_mac: bytes, dst_ip: int) -> bytes:
    """Whole Ethernet frame (42 bytes, not padded), unicast to dst_mac: src_ip is-at src_mac."""
    return _FRAME.pack(dst_mac, src_mac, ETH_ARP, 1, ETH_IP, 6, 4, ARP_REPLY,
                       src_mac, src_ip, dst_mac, dst_ip)


def parse_arp(payload, off: int = 0) -> tuple[int, bytes, int, bytes, int]:
    """(op, sha, spa, tha, tpa) of an Ethernet/IPv4 ARP packet starting at `off`.

    Raises WireError if truncated or if hardware/protocol type or address lengths are not
    Ethernet(1)/IPv4(0x0800)/6/4.
    """
    if off < 0 or len(payload) - off < ARP_LEN:
        raise WireError(f"ARP packet truncated: {len(payload) - off} bytes < 28")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(payload, off)
    if htype != 1 or ptype != ETH_IP or hlen != 6 or plen != 4:
        raise WireError(f"not Ethernet/IPv4 ARP (htype={htype} ptype={ptype:#06x} hlen={hlen} plen={plen})")
    return op, sha, spa, tha, tpa
