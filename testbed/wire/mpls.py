"""MPLS label stack encoding (RFC 3032; TC renamed from EXP by RFC 5462)."""
from __future__ import annotations

import struct

from .errors import WireError

__all__ = [
    "EXPLICIT_NULL", "ROUTER_ALERT", "IPV6_EXPLICIT_NULL", "IMPLICIT_NULL", "MAX_STACK",
    "lse", "encode_stack", "parse_stack",
]

EXPLICIT_NULL = 0          # IPv4 explicit null
ROUTER_ALERT = 1
IPV6_EXPLICIT_NULL = 2
IMPLICIT_NULL = 3          # signalled only, never on the wire
MAX_STACK = 32             # parse_stack gives up past this many entries without S=1

_U32 = struct.Struct("!I")
_pack_u32 = _U32.pack
_unpack_u32 = _U32.unpack_from


def lse(label: int, tc: int, s: int, ttl: int) -> bytes:
    """One 4-byte label stack entry: label(20) | TC(3) | S(1) | TTL(8). S is taken as given."""
    if label >> 20 or tc >> 3 or s >> 1 or ttl >> 8 or label < 0 or tc < 0 or s < 0 or ttl < 0:
        raise ValueError(f"label stack entry out of range: {(label, tc, s, ttl)}")
    return _pack_u32((label << 12) | (tc << 9) | (s << 8) | ttl)


def encode_stack(stack) -> bytes:
    """Concatenated entries of `stack` (iterable of (label, tc, s, ttl), top first), S bits as given."""
    return b"".join([lse(*e) for e in stack])


def parse_stack(buf, off: int, end: int | None = None) -> tuple[list[tuple[int, int, int, int]], int]:
    """Read entries from `off` up to and including the bottom of stack (S=1).

    Returns ([(label, tc, s, ttl), ...] top first, offset of the payload after the stack).
    Raises WireError if the data ends first, or if 32 entries were read without S=1.
    """
    if end is None:
        end = len(buf)
    elif end > len(buf):
        raise WireError(f"MPLS: end {end} beyond buffer of {len(buf)} bytes")
    if off < 0:
        raise WireError("MPLS: negative offset")
    stack: list[tuple[int, int, int, int]] = []
    append = stack.append
    for _ in range(MAX_STACK):
        if end - off < 4:
            raise WireError(f"MPLS label stack truncated after {len(stack)} entries")
        (v,) = _unpack_u32(buf, off)
        off += 4
        s = (v >> 8) & 1
        append((v >> 12, (v >> 9) & 7, s, v & 0xFF))
        if s:
            return stack, off
    raise WireError(f"MPLS label stack: no bottom of stack within {MAX_STACK} entries")
