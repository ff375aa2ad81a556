"""Whole-frame builders on top of the per-protocol modules."""
from __future__ import annotations

from .ethernet import ETH_IP, ETH_MPLS, eth_header
from .ipv4 import ipv4_header
from .mpls import encode_stack

__all__ = ["ip_packet", "ip_frame", "mpls_frame"]


def ip_packet(src: int, dst: int, proto: int, ttl: int, l4: bytes, ident: int = 0,
              tos: int = 0, df: bool = False) -> bytes:
    """IPv4 header (no options, checksum set) + l4."""
    return ipv4_header(src, dst, proto, ttl, len(l4), ident, tos, df) + l4


def ip_frame(dst_mac: bytes, src_mac: bytes, ip_packet: bytes) -> bytes:
    """Ethernet (type 0x0800) + IPv4 packet. Not padded to 60 bytes."""
    return eth_header(dst_mac, src_mac, ETH_IP) + ip_packet


def mpls_frame(dst_mac: bytes, src_mac: bytes, stack, ip_packet: bytes) -> bytes:
    """Ethernet (type 0x8847) + label stack (top first, (label, tc, s, ttl), S bits as given) + packet.

    An empty stack gives a plain IPv4 frame (type 0x0800), as after popping the last label.
    """
    if not stack:
        return eth_header(dst_mac, src_mac, ETH_IP) + ip_packet
    return eth_header(dst_mac, src_mac, ETH_MPLS) + encode_stack(stack) + ip_packet
