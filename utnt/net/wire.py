"""uTNT's own wire code: what a unikernel prober carries, and nothing it does not need.

* the Internet checksum (RFC 1071), as a folded one's-complement sum and its complement;
* decoding of a received ICMP message (RFC 792): type, code, checksum, echo identifier and
  sequence, where the quoted datagram of an error lies, and its MPLS label stack from an
  RFC 4884 extension structure holding an RFC 4950 object -- both the RFC 4884 form (the
  length attribute gives the quoted datagram's size in 32-bit words) and the legacy form of
  older MPLS routers (length 0, a 128-byte quote followed by the extensions).

Independent of the testbed's codec on purpose: each is checked against scapy and tcpdump
(tests/test_utnt_wire.py), never against the other.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

ERROR_TYPES = (3, 11, 12)         # ICMP types that quote a datagram and may carry extensions
LEGACY_QUOTE = 128                # the fixed quote of pre-RFC 4884 MPLS extensions
EXT_VERSION = 2
MPLS_CLASS, MPLS_CTYPE = 1, 1     # RFC 4950 incoming MPLS label stack object


class DecodeError(ValueError):
    """A message too short or inconsistent to decode at all."""


def ones_sum(data: bytes) -> int:
    """One's-complement sum of 16-bit big-endian words, folded to 16 bits (odd tail padded)."""
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return int(total)


def inet_checksum(data: bytes) -> int:
    """RFC 1071 checksum; 0 when computed over data that already carries a valid one."""
    return ~ones_sum(data) & 0xFFFF


@dataclass
class IcmpReply:
    type: int
    code: int
    checksum_ok: bool
    ident: int = 0                # echo messages
    seq: int = 0
    quote_off: int = 0            # errors: where the quoted datagram starts in the buffer
    quote_len: int = 0
    labels: list[tuple[int, int, int, int]] = field(default_factory=list)   # (label, tc, s, ttl)
    ext_found: bool = False
    ext_checksum_ok: bool = True
    ext_malformed: bool = False   # an extension structure or object with impossible lengths


def _mpls_entries(obj: bytes) -> list[tuple[int, int, int, int]]:
    out = []
    for k in range(0, len(obj) - 3, 4):
        w, = struct.unpack_from("!I", obj, k)
        out.append((w >> 12, (w >> 9) & 7, (w >> 8) & 1, w & 0xFF))
    return out


def _extensions(r: IcmpReply, ext: bytes) -> None:
    """Parse an extension structure (RFC 4884 section 7) into r."""
    if len(ext) < 4 or ext[0] >> 4 != EXT_VERSION:
        return
    r.ext_found = True
    stored, = struct.unpack_from("!H", ext, 2)
    r.ext_checksum_ok = stored == 0 or inet_checksum(ext) == 0
    k = 4
    while k + 4 <= len(ext):
        olen, cls, ctype = struct.unpack_from("!HBB", ext, k)
        if olen < 4 or k + olen > len(ext):
            r.ext_malformed = True
            return
        if cls == MPLS_CLASS and ctype == MPLS_CTYPE and not r.labels:
            r.labels = _mpls_entries(ext[k + 4:k + olen])
        k += olen
    if k != len(ext):
        r.ext_malformed = True


def decode_icmp(buf: bytes, off: int = 0, end: int | None = None) -> IcmpReply:
    """Decode the ICMP message buf[off:end] (end defaults to the buffer's end)."""
    end = len(buf) if end is None else end
    if end - off < 8 or end > len(buf):
        raise DecodeError(f"ICMP message of {end - off} bytes (at least 8 expected)")
    msg = bytes(buf[off:end])
    typ, code = msg[0], msg[1]
    r = IcmpReply(type=typ, code=code, checksum_ok=inet_checksum(msg) == 0)
    if typ in (0, 8):
        r.ident, r.seq = struct.unpack_from("!HH", msg, 4)
        return r
    body = len(msg) - 8
    r.quote_off = off + 8
    r.quote_len = body
    if typ not in ERROR_TYPES:
        return r
    words = msg[5]
    if words:
        qlen = 4 * words
        if qlen > body:
            r.ext_malformed = True        # a length attribute past the message: keep it all as the quote
            return r
        r.quote_len = qlen
        if body - qlen >= 4:
            _extensions(r, msg[8 + qlen:])
        return r
    if body >= LEGACY_QUOTE + 4 and msg[8 + LEGACY_QUOTE] >> 4 == EXT_VERSION:
        r.quote_len = LEGACY_QUOTE
        _extensions(r, msg[8 + LEGACY_QUOTE:])
    return r
