"""The Internet checksum (RFC 1071).

The one's complement sum of 16-bit big-endian words is computed with a single big integer:
reading the whole buffer as one big-endian integer N, N = sum(w_i * 65536**k_i) and since
65536 == 1 (mod 65535), N == sum(w_i) (mod 65535).  The one's complement sum is that residue,
except that a non-zero sum that is a multiple of 65535 is 0xFFFF ("negative zero"), and the
sum of an all-zero buffer is 0.  This is a C-speed O(n) computation (no Python loop).
"""
from __future__ import annotations

__all__ = ["inet_checksum", "ones_sum"]


def ones_sum(data) -> int:
    """One's complement sum (folded to 16 bits) of `data` (bytes-like), odd length zero-padded."""
    n = int.from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8
    s = n % 0xFFFF
    if s:
        return s
    return 0xFFFF if n else 0


def inet_checksum(data) -> int:
    """RFC 1071 checksum of `data` (bytes, bytearray or memoryview).

    Returns the value to store in a checksum field (the checksum field itself being zero in
    `data`); run over a message that already carries its checksum, it returns 0 when valid.
    """
    n = int.from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8
    s = n % 0xFFFF
    if s:
        return 0xFFFF - s
    return 0 if n else 0xFFFF
