"""Ethernet II framing."""
from __future__ import annotations

import struct

from .errors import WireError

__all__ = [
    "ETH_IP", "ETH_ARP", "ETH_MPLS", "ETH_IP6", "BROADCAST", "ETH_HLEN",
    "eth_header", "parse_eth",
]

ETH_IP = 0x0800
ETH_ARP = 0x0806
ETH_IP6 = 0x86DD
ETH_MPLS = 0x8847
BROADCAST = b"\xff" * 6
ETH_HLEN = 14

_ETH = struct.Struct("!6s6sH")
_pack_eth = _ETH.pack
_unpack_eth = _ETH.unpack_from


def eth_header(dst: bytes, src: bytes, ethertype: int) -> bytes:
    """14-byte Ethernet II header. `dst`/`src` are 6-byte MAC addresses."""
    if len(dst) != 6 or len(src) != 6:
        raise ValueError("MAC addresses must be 6 bytes")
    return _pack_eth(dst, src, ethertype)


def parse_eth(frame, off: int = 0) -> tuple[bytes, bytes, int, int]:
    """(dst, src, ethertype, payload_offset). No 802.1Q handling: the ethertype is returned as is."""
    if off < 0 or len(frame) - off < ETH_HLEN:
        raise WireError(f"Ethernet frame truncated: {len(frame) - off} bytes < 14")
    dst, src, ethertype = _unpack_eth(frame, off)
    return dst, src, ethertype, off + ETH_HLEN
