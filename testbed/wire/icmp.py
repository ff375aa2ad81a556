"""ICMP for IPv4 (RFC 792), multi-part messages (RFC 4884) and MPLS label stack objects (RFC 4950)."""
from __future__ import annotations

import struct
from typing import NamedTuple

from .checksum import inet_checksum, ones_sum
from .errors import span_end
from .mpls import encode_stack

__all__ = [
    "ECHO_REPLY", "DEST_UNREACH", "SOURCE_QUENCH", "REDIRECT", "ECHO_REQUEST", "TIME_EXCEEDED",
    "PARAM_PROBLEM", "NET_UNREACH", "HOST_UNREACH", "PROTO_UNREACH", "PORT_UNREACH", "FRAG_NEEDED",
    "TTL_EXCEEDED_IN_TRANSIT", "FRAG_REASSEMBLY_EXCEEDED", "ERROR_TYPES", "EXT_TYPES",
    "ICMP_HLEN", "EXT_ORIG_LEN", "EXT_VERSION", "CLASS_MPLS", "CTYPE_MPLS_INCOMING",
    "IcmpExtensions", "IcmpMessage", "echo", "icmp_error", "parse_icmp", "parse_extensions",
    "walk_extension", "extension_structure",
]

# types
ECHO_REPLY = 0
DEST_UNREACH = 3
SOURCE_QUENCH = 4
REDIRECT = 5
ECHO_REQUEST = 8
TIME_EXCEEDED = 11
PARAM_PROBLEM = 12
# codes of DEST_UNREACH
NET_UNREACH = 0
HOST_UNREACH = 1
PROTO_UNREACH = 2
PORT_UNREACH = 3
FRAG_NEEDED = 4
# codes of TIME_EXCEEDED
TTL_EXCEEDED_IN_TRANSIT = 0
FRAG_REASSEMBLY_EXCEEDED = 1

ERROR_TYPES = frozenset({DEST_UNREACH, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED, PARAM_PROBLEM})
EXT_TYPES = frozenset({DEST_UNREACH, TIME_EXCEEDED, PARAM_PROBLEM})  # may carry RFC 4884 extensions

ICMP_HLEN = 8
EXT_ORIG_LEN = 128          # original datagram field length used with extensions
EXT_VERSION = 2
CLASS_MPLS = 1              # RFC 4950 MPLS Label Stack Class
CTYPE_MPLS_INCOMING = 1     # incoming MPLS label stack

_HDR = struct.Struct("!BBHI")
_HDR_ECHO = struct.Struct("!BBHHH")
_HDR_ERR = struct.Struct("!BBHBBH")
_OBJ = struct.Struct("!HBB")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_new = tuple.__new__  # builds a NamedTuple without the Python-level __new__ call


class IcmpExtensions(NamedTuple):
    found: bool          # an extension structure (version-2 header) was located
    form: str            # "rfc4884" (length attribute set), "legacy" (fixed offset 8+128) or ""
    offset: int          # absolute offset of the extension header in buf, -1 if not found
    checksum: int        # extension checksum as found (0: none transmitted)
    checksum_ok: bool    # True if it verifies or is 0 ("no checksum"); False if not found
    malformed: bool      # something did not add up (bad lengths, truncation, bad version...)
    orig_len: int        # length of the original datagram field this reading implies
    mpls: list           # one [(label, tc, s, ttl), ...] per MPLS incoming-stack object, top first
    objects: list        # every object as (class_num, c_type, payload_off, payload_len)


class IcmpMessage(NamedTuple):
    type: int
    code: int
    checksum: int
    checksum_ok: bool
    rest: int            # bytes 4..7 of the header as one big-endian 32-bit integer
    ident: int           # rest >> 16    (meaningful for echo / echo reply)
    seq: int             # rest & 0xFFFF (meaningful for echo / echo reply)
    length: int          # RFC 4884 length attribute (byte 5) for types 3/11/12, else 0
    quote_off: int       # errors: offset of the original datagram; others: of the data after the header
    quote_len: int       # its length (without the extension structure)
    ext: IcmpExtensions  # always present; found=False when there is none


def _fold_ck(s: int) -> int:
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return 0xFFFF - s


def echo(type: int, ident: int, seq: int, payload: bytes = b"") -> bytes:
    """ICMP echo request (type 8) or reply (type 0) message with its checksum."""
    try:
        _HDR_ECHO.pack(type, 0, 0, ident, seq)
    except struct.error as e:
        raise ValueError(f"ICMP echo field out of range: {e}") from None
    ck = _fold_ck((type << 8) + ident + seq + ones_sum(payload))
    return _HDR_ECHO.pack(type, 0, ck, ident, seq) + payload


def icmp_error(type: int, code: int, original: bytes, quote_len: int,
               mpls_stack=None, *, mtu: int = 0, pointer: int = 0) -> bytes:
    """ICMP error message (header with checksum + original datagram [+ extension structure]).

    mpls_stack None: the original datagram is truncated to `quote_len` bytes, no padding, length
    attribute 0.  mpls_stack a sequence of (label, tc, s, ttl) (may be empty; S bits as given):
    RFC 4950 -- the original datagram is truncated or zero-padded to exactly 128 bytes (quote_len is
    ignored), the length attribute (byte 5) is 32, then a version-2 extension header with its
    checksum, then one MPLS object (class 1, c-type 1) holding the entries.  Only types 3, 11 and 12
    can carry extensions (ValueError otherwise).  `mtu` fills bytes 6-7 of type 3 (code 4),
    `pointer` byte 4 of type 12; both are 0 otherwise.
    """
    if quote_len < 0:
        raise ValueError("quote_len must be >= 0")
    if type != DEST_UNREACH:
        mtu = 0
    if type != PARAM_PROBLEM:
        pointer = 0
    if mpls_stack is None:
        body = bytes(original[:quote_len])
        length = 0
    else:
        if type not in EXT_TYPES:
            raise ValueError(f"ICMP type {type} cannot carry RFC 4884 extensions")
        quote = original[:EXT_ORIG_LEN]
        if len(quote) < EXT_ORIG_LEN:
            quote = bytes(quote) + bytes(EXT_ORIG_LEN - len(quote))
        body = quote + extension_structure(mpls_stack)
        length = EXT_ORIG_LEN // 4
    try:
        _HDR_ERR.pack(type, code, 0, pointer, length, mtu)
    except struct.error as e:
        raise ValueError(f"ICMP error field out of range: {e}") from None
    ck = _fold_ck((type << 8) + code + (pointer << 8) + length + mtu + ones_sum(body))
    return _HDR_ERR.pack(type, code, ck, pointer, length, mtu) + body


def extension_structure(mpls_stack) -> bytes:
    """RFC 4884 extension structure (version 2, checksum) holding one RFC 4950 MPLS incoming
    label stack object with the entries of `mpls_stack` (S bits as given)."""
    entries = encode_stack(mpls_stack)
    obj = _OBJ.pack(4 + len(entries), CLASS_MPLS, CTYPE_MPLS_INCOMING) + entries
    return b"".join((b"\x20\x00", _U16.pack(_fold_ck(0x2000 + ones_sum(obj))), obj))


def _no_ext(orig_len: int, malformed: bool = False) -> IcmpExtensions:
    return _new(IcmpExtensions, (False, "", -1, 0, False, malformed, orig_len if orig_len > 0 else 0, [], []))


def parse_extensions(buf, off: int = 0, end: int | None = None, *,
                     strict_legacy: bool = True) -> IcmpExtensions:
    """Locate and parse the RFC 4884 extension structure of the ICMP message buf[off:end].

    Never raises.  Only types 3, 11 and 12 are looked at.  Two forms are accepted:
      * RFC 4884: length attribute (byte 5) L != 0, the structure starts at off + 8 + 4*L;
        it is malformed (but still parsed) when 4*L < 128, and not found when the bytes there
        are not a version-2 header (flagged malformed) or there are none (not malformed);
      * legacy (pre-RFC 4884 MPLS routers): L == 0, the message is at least 8 + 128 + 4 bytes long
        and there is a version-2 header at off + 8 + 128 whose checksum verifies or is 0 (with
        strict_legacy=False a bad checksum is accepted too, and reported in checksum_ok).
    The extension checksum is verified and reported, never enforced in the RFC 4884 form.
    Objects are walked to `end` (the ICMP message end: pass the IP payload end, not the frame end);
    bad object lengths stop the walk and set malformed; objects parsed before are kept.
    """
    try:
        if end is None:
            end = len(buf)
        if off < 0 or end > len(buf) or end - off < ICMP_HLEN:
            return _no_ext(0, True)
        n = end - off
        if buf[off] not in EXT_TYPES:
            return _no_ext(n - ICMP_HLEN)
        la = buf[off + 5]
        malformed = False
        if la:
            orig = la << 2
            ext_off = off + ICMP_HLEN + orig
            if ext_off > end:
                return _no_ext(n - ICMP_HLEN, True)
            if ext_off == end:
                return _no_ext(orig)
            if end - ext_off < 4 or buf[ext_off] >> 4 != EXT_VERSION:
                return _no_ext(orig, True)
            malformed = orig < EXT_ORIG_LEN
            form = "rfc4884"
        else:
            ext_off = off + ICMP_HLEN + EXT_ORIG_LEN
            if end - ext_off < 4 or buf[ext_off] >> 4 != EXT_VERSION:
                return _no_ext(n - ICMP_HLEN)
            orig = EXT_ORIG_LEN
            form = "legacy"
        ck = (buf[ext_off + 2] << 8) | buf[ext_off + 3]
        ck_ok = ck == 0 or inet_checksum(buf[ext_off:end]) == 0
        if form == "legacy" and strict_legacy and not ck_ok:
            return _no_ext(n - ICMP_HLEN)
        return walk_extension(buf, ext_off, end, form, orig, malformed)
    except Exception:  # defensive: this parser is fed hostile bytes and must never raise
        return _no_ext(0, True)


def walk_extension(buf, ext_off: int, end: int, form: str, orig: int, malformed: bool = False) -> IcmpExtensions:
    """The RFC 4884 extension structure located at ext_off (a version-2 header): its checksum
    and objects up to `end`. Shared by ICMP and ICMPv6 (icmpv6.py), which place it alike and
    differ only in where the length attribute sits. Never raises."""
    try:
        ck = (buf[ext_off + 2] << 8) | buf[ext_off + 3]
        ck_ok = ck == 0 or inet_checksum(buf[ext_off:end]) == 0
        mpls = []
        objects = []
        pos = ext_off + 4
        if pos == end:
            malformed = True  # a structure holds one or more objects
        unpack_obj = _OBJ.unpack_from
        unpack_u32 = _U32.unpack_from
        while pos < end:
            if end - pos < 4:
                malformed = True
                break
            olen, cnum, ctype = unpack_obj(buf, pos)
            if olen < 4 or olen > end - pos:
                malformed = True
                break
            objects.append((cnum, ctype, pos + 4, olen - 4))
            if cnum == CLASS_MPLS and ctype == CTYPE_MPLS_INCOMING:
                plen = olen - 4
                if plen & 3:
                    malformed = True
                stack = []
                for p in range(pos + 4, pos + 4 + (plen & ~3), 4):
                    (v,) = unpack_u32(buf, p)
                    stack.append((v >> 12, (v >> 9) & 7, (v >> 8) & 1, v & 0xFF))
                mpls.append(stack)
            pos += olen
        return _new(IcmpExtensions, (True, form, ext_off, ck, ck_ok, malformed, orig, mpls, objects))
    except Exception:  # defensive: this parser is fed hostile bytes and must never raise
        return _no_ext(0, True)


def parse_icmp(buf, off: int = 0, end: int | None = None) -> IcmpMessage:
    """Parse the ICMP message buf[off:end] (end defaults to len(buf); pass the IP payload end).

    Raises WireError only if fewer than 8 bytes are available or end is beyond the buffer.
    The message checksum is verified and reported.  For error types the original datagram is
    at quote_off (off + 8) for quote_len bytes, which excludes any extension structure.
    """
    end = span_end(buf, off, end, ICMP_HLEN, "ICMP message")
    typ, code, ck, rest = _HDR.unpack_from(buf, off)
    ok = inet_checksum(buf[off:end]) == 0
    if typ in EXT_TYPES:
        ext = parse_extensions(buf, off, end)
        length = (rest >> 16) & 0xFF
        qlen = ext.orig_len
        if qlen > end - off - ICMP_HLEN:
            qlen = end - off - ICMP_HLEN
    else:
        ext = _no_ext(end - off - ICMP_HLEN)
        length = 0
        qlen = end - off - ICMP_HLEN
    return _new(IcmpMessage, (typ, code, ck, ok, rest, rest >> 16, rest & 0xFFFF, length,
                              off + ICMP_HLEN, qlen, ext))
