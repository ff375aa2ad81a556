"""testbed.wire: builders checked by scapy, parsers fed scapy packets, and property-based fuzzing."""
from __future__ import annotations

import random
import struct
from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import ARP, ICMP, IP, UDP, Ether, raw
from scapy.contrib.mpls import MPLS, ICMPExtension_MPLS
from scapy.layers.inet import ICMPExtension_Header, IPerror, IPOption_NOP, IPOption_RR, UDPerror
from scapy.utils import checksum as scapy_checksum

from testbed import wire as w
from testbed.wire import WireError

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SCAPY = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
A = int(IPv4Address("10.0.0.1"))
B = int(IPv4Address("10.9.9.9"))
R = int(IPv4Address("192.0.2.7"))

u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
entry = st.tuples(st.integers(0, (1 << 20) - 1), st.integers(0, 7), st.integers(0, 1), u8)


def ref_checksum(data: bytes) -> int:
    """RFC 1071 the slow, obvious way."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def scapy_stack(lst) -> list:
    """Flatten scapy's MPLS list (an entry with S=0 swallows the next ones as its payload)."""
    out = []
    for m in lst:
        while isinstance(m, MPLS):
            out.append((m.label, m.cos, m.s, m.ttl))
            m = m.payload
    return out


def bottom(stack):
    """Make S=1 on the last entry only."""
    return [(l, tc, int(i == len(stack) - 1), ttl) for i, (l, tc, _, ttl) in enumerate(stack)]


def scapy_recomputed(pkt, layer):
    """Rebuild with the layer's checksum deleted: what scapy thinks it should be."""
    q = pkt.copy()
    del q[layer].chksum
    return q.__class__(raw(q))[layer].chksum


def probe(ttl=1, payload=b"uTNT-probe-0123456789"):
    udp = w.udp_header(40000, 33434, len(payload), A, B, payload) + payload
    return w.ip_packet(A, B, w.IPPROTO_UDP, ttl, udp, ident=0x1234)


# ----------------------------------------------------------------------------- checksum

def test_checksum_rfc1071_example():
    # RFC 1071 section 3 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d
    assert w.inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert w.inet_checksum(b"") == 0xFFFF
    assert w.inet_checksum(b"\x00\x00\x00") == 0xFFFF
    assert w.inet_checksum(b"\xff\xff") == 0
    assert w.inet_checksum(b"\x01") == 0xFEFF  # odd byte padded on the right


@FAST
@given(st.binary(max_size=300))
def test_checksum_matches_reference_and_scapy(data):
    c = w.inet_checksum(data)
    assert c == ref_checksum(data) == scapy_checksum(data)
    assert w.inet_checksum(bytearray(data)) == c
    assert w.inet_checksum(memoryview(data)) == c
    if len(data) % 2 == 0:  # a message carrying its checksum verifies to 0
        assert w.inet_checksum(data + c.to_bytes(2, "big")) == 0


# ----------------------------------------------------------------------------- ethernet / ARP

def test_eth_header_roundtrip_with_scapy():
    h = w.eth_header(MAC_B, MAC_A, w.ETH_MPLS)
    assert len(h) == 14
    e = Ether(h)
    assert (e.dst, e.src, e.type) == ("02:00:00:00:00:02", "02:00:00:00:00:01", 0x8847)
    frame = raw(Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01") / IP())
    assert w.parse_eth(frame) == (MAC_B, MAC_A, w.ETH_IP, 14)
    assert w.parse_eth(b"\0" * 14) == (b"\0" * 6, b"\0" * 6, 0, 14)
    with pytest.raises(WireError):
        w.parse_eth(frame[:13])
    with pytest.raises(ValueError):
        w.eth_header(b"\1" * 5, MAC_A, w.ETH_IP)


def test_arp_request_parsed_by_scapy():
    f = w.arp_request(MAC_A, A, B)
    p = Ether(f)
    assert p.dst == "ff:ff:ff:ff:ff:ff" and p.src == "02:00:00:00:00:01" and p.type == 0x0806
    a = p[ARP]
    assert (a.hwtype, a.ptype, a.hwlen, a.plen, a.op) == (1, 0x0800, 6, 4, 1)
    assert (a.hwsrc, a.psrc, a.hwdst, a.pdst) == ("02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.9.9.9")
    assert w.parse_arp(f, 14) == (1, MAC_A, A, b"\0" * 6, B)


def test_arp_reply_parsed_by_scapy():
    f = w.arp_reply(MAC_B, B, MAC_A, A)
    p = Ether(f)
    assert p.dst == "02:00:00:00:00:01" and p.src == "02:00:00:00:00:02"
    a = p[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (2, "02:00:00:00:00:02", "10.9.9.9", "02:00:00:00:00:01", "10.0.0.1")
    assert w.parse_arp(f[14:]) == (w.ARP_REPLY, MAC_B, B, MAC_A, A)


def test_parse_arp_of_scapy_packets_and_rejects():
    pkt = raw(ARP(op=2, hwsrc="02:00:00:00:00:09", psrc="192.0.2.7", hwdst="02:00:00:00:00:01", pdst="10.0.0.1"))
    assert w.parse_arp(pkt) == (2, bytes.fromhex("020000000009"), R, MAC_A, A)
    with pytest.raises(WireError):
        w.parse_arp(pkt[:27])
    with pytest.raises(WireError):  # IPv6 protocol type
        w.parse_arp(raw(ARP(ptype=0x86DD)))
    with pytest.raises(WireError):  # not Ethernet
        w.parse_arp(raw(ARP(hwtype=6)))
    for lens in (b"\x08\x04", b"\x06\x10"):  # wrong hardware / protocol address lengths
        with pytest.raises(WireError):
            w.parse_arp(bytes(pkt[:4]) + lens + bytes(pkt[6:]))


# ----------------------------------------------------------------------------- IPv4

@SCAPY
@given(src=u32, dst=u32, proto=u8, ttl=u8, ident=u16, tos=u8, df=st.booleans(), payload=st.binary(max_size=64))
def test_ipv4_header_parsed_by_scapy(src, dst, proto, ttl, ident, tos, df, payload):
    h = w.ipv4_header(src, dst, proto, ttl, len(payload), ident=ident, tos=tos, df=df)
    assert len(h) == 20 and ref_checksum(h) == 0
    p = IP(h + payload)
    assert (p.version, p.ihl, p.tos, p.len, p.id, p.ttl, p.proto) == (4, 5, tos, 20 + len(payload), ident, ttl, proto)
    assert (p.src, p.dst) == (str(IPv4Address(src)), str(IPv4Address(dst)))
    assert int(p.flags) == (2 if df else 0) and p.frag == 0
    assert scapy_recomputed(p, IP) == p.chksum
    got = w.parse_ipv4(h + payload)
    assert got == w.IPv4Header(4, 5, tos, 20 + len(payload), ident, 2 if df else 0, 0, ttl, proto,
                               p.chksum, True, src, dst, 20)


def test_ipv4_header_rejects_out_of_range():
    with pytest.raises(ValueError):
        w.ipv4_header(A, B, 17, 64, 65516)
    with pytest.raises(ValueError):
        w.ipv4_header(A, B, 17, 256, 0)


@SCAPY
@given(ttl=u8, ident=u16, tos=u8, flags=st.integers(0, 7), frag=st.integers(0, 0x1FFF),
       nopts=st.integers(0, 3), payload=st.binary(max_size=40))
def test_parse_ipv4_of_scapy_packets(ttl, ident, tos, flags, frag, nopts, payload):
    opts = [IPOption_NOP()] * (4 * nopts)
    if nopts == 3:
        opts = [IPOption_RR(routers=["1.2.3.4", "5.6.7.8"])]
    p = IP(src="10.0.0.1", dst="192.0.2.7", ttl=ttl, id=ident, tos=tos, flags=flags, frag=frag,
           proto=17, options=opts) / payload
    b = raw(p)
    q = IP(b)
    h = w.parse_ipv4(b)
    assert (h.ihl, h.tos, h.total_len, h.ident, h.flags, h.frag_off) == (q.ihl, tos, q.len, ident, flags, frag)
    assert (h.ttl, h.proto, h.src, h.dst, h.checksum) == (ttl, 17, A, R, q.chksum)
    assert h.checksum_ok and h.header_len == q.ihl * 4
    bad = bytearray(b)
    bad[10] ^= 0x01
    assert not w.parse_ipv4(bad).checksum_ok
    # trailing Ethernet padding is fine; end can cut it off
    assert w.parse_ipv4(b + b"\0" * 7) == h
    assert w.parse_ipv4(b"xx" + b + b"pad", 2, 2 + len(b)) == h


def test_parse_ipv4_rejects():
    good = probe()
    assert w.parse_ipv4(good).total_len == len(good)
    cases = {
        "truncated": good[:19],
        "version 6": bytes([0x65]) + good[1:],
        "ihl 4": bytes([0x44]) + good[1:],
        "options truncated": bytes([0x4F]) + good[1:40],
        "total < hl": good[:2] + (19).to_bytes(2, "big") + good[4:],
        "total beyond": good[:2] + (len(good) + 1).to_bytes(2, "big") + good[4:],
    }
    for name, buf in cases.items():
        with pytest.raises(WireError):
            w.parse_ipv4(buf)
    with pytest.raises(WireError):
        w.parse_ipv4(good, 0, len(good) + 1)
    with pytest.raises(WireError):
        w.parse_ipv4(good, -1)
    # a quoted header: its total length describes the original datagram, not the quote
    quote = good[:28]
    with pytest.raises(WireError):
        w.parse_ipv4(quote)
    h = w.parse_ipv4(quote, strict_len=False)
    assert h.total_len == len(good) and h.checksum_ok and h.src == A


@st.composite
def ipv4_headers(draw, valid=True):
    ihl = draw(st.integers(5, 15))
    fields = struct.pack("!BBHHHBBH", 0x40 | ihl, draw(u8), draw(u16), draw(u16), draw(u16), draw(u8), draw(u8), 0)
    hdr = bytearray(fields + draw(st.binary(min_size=8, max_size=8)) + draw(st.binary(min_size=4 * ihl - 20, max_size=4 * ihl - 20)))
    ck = ref_checksum(bytes(hdr)) if valid else draw(u16)
    hdr[10:12] = ck.to_bytes(2, "big")
    return hdr


@FAST
@given(hdr=ipv4_headers(), new_ttl=u8, prefix=st.binary(max_size=5))
def test_set_ttl_incremental_equals_recomputation(hdr, new_ttl, prefix):
    buf = bytearray(prefix) + hdr
    off = len(prefix)
    w.set_ttl(buf, off, new_ttl)
    expect = bytearray(hdr)
    expect[8] = new_ttl
    expect[10:12] = b"\0\0"
    expect[10:12] = ref_checksum(bytes(expect)).to_bytes(2, "big")
    assert buf[off:] == expect
    assert buf[:off] == prefix


@FAST
@given(hdr=ipv4_headers(valid=False), new_ttl=u8)
def test_set_ttl_preserves_checksum_validity(hdr, new_ttl):
    hl = (hdr[0] & 15) * 4
    buf = bytearray(hdr)
    buf[2:4] = hl.to_bytes(2, "big")  # total length = header length, so that parse_ipv4 accepts it
    ok = ref_checksum(bytes(buf)) == 0
    assert w.parse_ipv4(buf).checksum_ok == ok
    w.set_ttl(buf, 0, new_ttl)
    assert buf[8] == new_ttl
    assert (ref_checksum(bytes(buf)) == 0) == ok == w.parse_ipv4(buf).checksum_ok


def test_set_ttl_exhaustive_at_checksum_carry_edges():
    """Every (old TTL, new TTL) pair on headers whose checksum sits where end-around carries happen."""
    for target in (0x0000, 0x0001, 0x00FF, 0xFF00, 0xFFFE):
        for old in range(256):
            hdr = bytearray(w.ipv4_header(A, B, 17, old, 0))
            # choose the ident so that the header checksum is `target`
            ck = int.from_bytes(hdr[10:12], "big")
            ident = (ck - target) % 0xFFFF
            hdr = bytearray(w.ipv4_header(A, B, 17, old, 0, ident=ident))
            assert int.from_bytes(hdr[10:12], "big") == target
            for new in range(256):
                buf = bytearray(hdr)
                w.set_ttl(buf, 0, new)
                assert buf == w.ipv4_header(A, B, 17, new, 0, ident=ident), (target, old, new)


def test_set_ttl_decrement_keeps_packet_valid_for_scapy():
    buf = bytearray(probe(ttl=64))
    for ttl in range(63, -1, -1):
        w.set_ttl(buf, 0, ttl)
        p = IP(bytes(buf))
        assert p.ttl == ttl and scapy_recomputed(p, IP) == p.chksum
    with pytest.raises(ValueError):
        w.set_ttl(buf, 0, 256)


# ----------------------------------------------------------------------------- MPLS

@FAST
@given(entry)
def test_lse_matches_scapy(e):
    label, tc, s, ttl = e
    b = w.lse(*e)
    assert b == raw(MPLS(label=label, cos=tc, s=s, ttl=ttl))
    assert w.parse_stack(b"..." + bytes([b[0], b[1], b[2] | 1, b[3]]), 3) == ([(label, tc, 1, ttl)], 7)


def test_lse_rejects_out_of_range():
    for bad in ((1 << 20, 0, 1, 1), (0, 8, 1, 1), (0, 0, 2, 1), (0, 0, 1, 256), (-1, 0, 1, 1)):
        with pytest.raises(ValueError):
            w.lse(*bad)
    assert (w.IMPLICIT_NULL, w.EXPLICIT_NULL) == (3, 0)


@FAST
@given(st.lists(entry, min_size=0, max_size=32))
def test_label_stack_roundtrip_depth_0_to_32(stack):
    stack = bottom(stack)
    pkt = probe()
    frame = w.mpls_frame(MAC_B, MAC_A, stack, pkt)
    dst, src, et, off = w.parse_eth(frame)
    assert (dst, src) == (MAC_B, MAC_A)
    if not stack:  # popping the last label leaves an IPv4 frame
        assert et == w.ETH_IP and frame[off:] == pkt
        return
    assert et == w.ETH_MPLS
    got, poff = w.parse_stack(frame, off)
    assert got == stack and poff == 14 + 4 * len(stack) and frame[poff:] == pkt
    assert w.parse_ipv4(frame, poff).dst == B
    # any truncation inside the stack is an error
    for cut in range(off, poff, 3):
        with pytest.raises(WireError):
            w.parse_stack(frame[:cut], off)


@SCAPY
@given(st.lists(entry, min_size=1, max_size=12))
def test_mpls_frame_parsed_by_scapy(stack):
    stack = bottom(stack)
    pkt = probe(ttl=9)
    p = Ether(w.mpls_frame(MAC_B, MAC_A, stack, pkt))
    assert p.type == 0x8847
    got, layer = [], p.payload
    while isinstance(layer, MPLS):
        got.append((layer.label, layer.cos, layer.s, layer.ttl))
        layer = layer.payload
    assert got == stack
    assert isinstance(layer, IP) and raw(layer) == pkt and layer.ttl == 9


@SCAPY
@given(st.lists(entry, min_size=1, max_size=12), st.binary(max_size=30))
def test_parse_stack_of_scapy_frames(stack, tail):
    stack = bottom(stack)
    p = Ether(dst="02:00:00:00:00:02", src="02:00:00:00:00:01")
    for label, tc, s, ttl in stack:
        p = p / MPLS(label=label, cos=tc, s=s, ttl=ttl)
    b = raw(p / IP(src="10.0.0.1", dst="10.9.9.9") / tail)
    _, _, et, off = w.parse_eth(b)
    assert et == w.ETH_MPLS
    got, poff = w.parse_stack(b, off)
    assert got == stack and w.parse_ipv4(b, poff).src == A


def test_parse_stack_limits():
    deep = b"".join(w.lse(16 + i, 0, int(i == 31), 64) for i in range(32))
    stack, off = w.parse_stack(deep, 0)
    assert len(stack) == 32 and off == 128
    no_bos = b"".join(w.lse(16 + i, 0, 0, 64) for i in range(32)) + w.lse(99, 0, 1, 64)
    with pytest.raises(WireError):
        w.parse_stack(no_bos, 0)
    with pytest.raises(WireError):
        w.parse_stack(no_bos[:20], 0)
    with pytest.raises(WireError):
        w.parse_stack(deep, 0, len(deep) + 4)
    # end bounds the read even when the buffer goes on
    with pytest.raises(WireError):
        w.parse_stack(deep, 0, 124)


# ----------------------------------------------------------------------------- UDP

@SCAPY
@given(sport=u16, dport=u16, src=u32, dst=u32, payload=st.binary(max_size=64))
def test_udp_header_checksum_matches_scapy(sport, dport, src, dst, payload):
    udp = w.udp_header(sport, dport, len(payload), src, dst, payload) + payload
    pkt = w.ip_packet(src, dst, w.IPPROTO_UDP, 64, udp)
    p = IP(pkt)
    u = p[UDP]
    assert (u.sport, u.dport, u.len) == (sport, dport, 8 + len(payload))
    assert u.chksum != 0 and scapy_recomputed(p, UDP) == u.chksum


def test_udp_header_without_payload_bytes():
    h = w.udp_header(1, 2, 10, A, B)
    assert h == struct.pack("!HHHH", 1, 2, 18, 0)  # checksum 0: not computed
    with pytest.raises(ValueError):
        w.udp_header(1, 2, 3, A, B, b"toolong")
    with pytest.raises(ValueError):
        w.udp_header(70000, 2, 0, A, B)
    # a computed checksum of 0 is sent as 0xFFFF: find a payload that makes it so
    base = w.udp_header(1, 2, 2, A, B, b"\0\0")
    ck = int.from_bytes(base[6:8], "big")
    payload = ck.to_bytes(2, "big")   # adding the word ck brings the sum to 0xFFFF
    h = w.udp_header(1, 2, 2, A, B, payload)
    assert h[6:8] == b"\xff\xff"
    p = IP(w.ip_packet(A, B, w.IPPROTO_UDP, 64, h + payload))
    assert scapy_recomputed(p, UDP) == 0xFFFF


# ----------------------------------------------------------------------------- ICMP

@SCAPY
@given(t=st.sampled_from([w.ECHO_REQUEST, w.ECHO_REPLY]), ident=u16, seq=u16, payload=st.binary(max_size=56))
def test_echo_parsed_by_scapy(t, ident, seq, payload):
    m = w.echo(t, ident, seq, payload)
    p = IP(w.ip_packet(A, B, w.IPPROTO_ICMP, 64, m))
    i = p[ICMP]
    assert (i.type, i.code, i.id, i.seq) == (t, 0, ident, seq)
    assert bytes(i.payload) == payload
    assert scapy_recomputed(p, ICMP) == i.chksum
    got = w.parse_icmp(m)
    assert (got.type, got.code, got.ident, got.seq, got.checksum_ok) == (t, 0, ident, seq, True)
    assert m[got.quote_off:got.quote_off + got.quote_len] == payload and not got.ext.found


def test_icmp_error_without_extension_parsed_by_scapy():
    orig = probe()
    m = w.icmp_error(w.DEST_UNREACH, w.PORT_UNREACH, orig, 28)
    assert len(m) == 8 + 28 and m[5] == 0
    p = IP(w.ip_packet(R, A, w.IPPROTO_ICMP, 255, m))
    i = p[ICMP]
    assert (i.type, i.code, i.length) == (3, 3, 0)
    assert scapy_recomputed(p, ICMP) == i.chksum
    q = p[IPerror]
    assert (q.src, q.dst, q.id, q.ttl) == ("10.0.0.1", "10.9.9.9", 0x1234, 1)
    assert p[UDPerror].dport == 33434
    got = w.parse_icmp(m)
    assert got.checksum_ok and got.quote_off == 8 and got.quote_len == 28 and not got.ext.found
    # quote_len longer than the datagram: the whole datagram, no padding
    m2 = w.icmp_error(w.TIME_EXCEEDED, 0, orig, 1000)
    assert m2[8:] == orig and w.parse_icmp(m2).checksum_ok
    # odd quote length: checksum still right
    m3 = w.icmp_error(w.TIME_EXCEEDED, 0, orig, 33)
    assert len(m3) == 41 and ref_checksum(m3) == 0
    # frag needed carries the next-hop MTU
    m4 = w.icmp_error(w.DEST_UNREACH, w.FRAG_NEEDED, orig, 28, mtu=1400)
    assert IP(w.ip_packet(R, A, 1, 64, m4))[ICMP].nexthopmtu == 1400
    assert w.parse_icmp(m4).rest & 0xFFFF == 1400


@SCAPY
@given(t=st.sampled_from([w.TIME_EXCEEDED, w.DEST_UNREACH]), stack=st.lists(entry, min_size=1, max_size=10),
       payload_len=st.integers(0, 200))
def test_rfc4950_icmp_error_parsed_by_scapy(t, stack, payload_len):
    stack = bottom(stack)  # scapy dissects the entries after an S=1 one as IP, not as a stack
    orig = probe(payload=bytes(range(256))[:payload_len])
    m = w.icmp_error(t, 0, orig, 28, stack)
    quote = (orig + bytes(128))[:128]
    assert len(m) == 8 + 128 + 4 + 4 + 4 * len(stack) and m[5] == 32 and m[8:136] == quote
    p = IP(w.ip_packet(R, A, w.IPPROTO_ICMP, 255, m))
    i = p[ICMP]
    assert (i.type, i.code, i.length) == (t, 0, 32)
    ext = i.ext
    assert isinstance(ext, ICMPExtension_Header) and ext.version == 2
    obj = ext.payload
    assert isinstance(obj, ICMPExtension_MPLS)
    assert (obj.len, obj.classnum, obj.classtype) == (4 + 4 * len(stack), 1, 1)
    assert scapy_stack(obj.stack) == stack
    # both checksums are what scapy computes
    e2 = ext.copy()
    e2.chksum = None
    assert ICMPExtension_Header(raw(e2)).chksum == ext.chksum
    assert scapy_recomputed(p, ICMP) == i.chksum
    assert p[IPerror].src == "10.0.0.1" and p[UDPerror].dport == 33434


@FAST
@given(st.lists(entry, min_size=0, max_size=32))
def test_rfc4950_roundtrip_depth_0_to_32(stack):
    orig = probe()
    m = w.icmp_error(w.TIME_EXCEEDED, 0, orig, 28, stack)
    got = w.parse_icmp(m)
    assert got.checksum_ok and got.length == 32 and got.quote_off == 8 and got.quote_len == 128
    e = got.ext
    assert (e.found, e.form, e.offset, e.checksum_ok, e.malformed) == (True, "rfc4884", 136, True, False)
    assert e.mpls == [stack]  # S bits exactly as given
    assert e.objects == [(1, 1, 144, 4 * len(stack))]
    assert ref_checksum(m[136:]) == 0
    # with an IP header in front, offsets are absolute
    pkt = w.ip_packet(R, A, 1, 255, m)
    got2 = w.parse_icmp(pkt, 20)
    assert got2.ext.mpls == [stack] and got2.ext.offset == 156 and got2.quote_off == 28


def test_icmp_error_quote_longer_than_128_is_truncated_with_extension():
    orig = probe(payload=bytes(300))
    m = w.icmp_error(w.TIME_EXCEEDED, 0, orig, 500, [(16, 0, 1, 1)])
    assert m[8:136] == orig[:128] and len(m) == 8 + 128 + 4 + 4 + 4
    with pytest.raises(ValueError):
        w.icmp_error(w.REDIRECT, 0, orig, 28, [(16, 0, 1, 1)])
    with pytest.raises(ValueError):
        w.icmp_error(w.TIME_EXCEEDED, 0, orig, -1)


def scapy_te(stack, length, payload=b"", t=11, code=0):
    """A scapy-built RFC 4950 ICMP error (IP header included)."""
    ext = ICMPExtension_Header() / ICMPExtension_MPLS(
        stack=[MPLS(label=l, cos=tc, s=s, ttl=ttl) for l, tc, s, ttl in stack])
    return raw(IP(src="192.0.2.7", dst="10.0.0.1") /
               ICMP(type=t, code=code, length=length, ext=ext) /
               IPerror(src="10.0.0.1", dst="10.9.9.9", ttl=1, proto=17) /
               UDPerror(sport=40000, dport=33434) / payload)


@SCAPY
@given(stack=st.lists(entry, min_size=1, max_size=8), payload=st.binary(max_size=100),  # scapy pads to 136 only
       rfc4884=st.booleans(), t=st.sampled_from([3, 11]))
def test_parse_icmp_of_scapy_rfc4950_messages(stack, payload, rfc4884, t):
    stack = bottom(stack)
    b = scapy_te(stack, 32 if rfc4884 else 0, payload, t=t)
    ip = w.parse_ipv4(b)
    assert ip.checksum_ok and ip.proto == w.IPPROTO_ICMP
    m = w.parse_icmp(b, ip.header_len, ip.total_len)
    assert m.type == t and m.checksum_ok
    assert m.length == (32 if rfc4884 else 0)
    e = m.ext
    assert e.found and e.form == ("rfc4884" if rfc4884 else "legacy") and not e.malformed
    assert e.checksum_ok and e.mpls == [stack] and e.offset == 20 + 136
    assert m.quote_off == 28 and m.quote_len == 128
    q = w.parse_ipv4(b, m.quote_off, m.quote_off + m.quote_len, strict_len=False)
    assert (q.src, q.dst, q.ttl, q.proto) == (A, B, 1, 17)
    assert struct.unpack_from("!H", b, m.quote_off + q.header_len + 2)[0] == 33434


def test_parse_icmp_plain_scapy_time_exceeded():
    b = raw(IP(src="192.0.2.7", dst="10.0.0.1") / ICMP(type=11, code=0) /
            IPerror(src="10.0.0.1", dst="10.9.9.9", ttl=1, proto=17) / UDPerror(sport=1, dport=2))
    m = w.parse_icmp(b, 20)
    assert (m.type, m.code, m.checksum_ok, m.length, m.quote_off, m.quote_len) == (11, 0, True, 0, 28, 28)
    assert not m.ext.found and not m.ext.malformed and m.ext.mpls == []
    bad = bytearray(b)
    bad[-1] ^= 1
    assert not w.parse_icmp(bad, 20).checksum_ok
    with pytest.raises(WireError):
        w.parse_icmp(b, 20, 27)
    with pytest.raises(WireError):
        w.parse_icmp(b, 20, len(b) + 1)


def _fix_icmp_checksum(m: bytearray) -> bytearray:
    m[2:4] = b"\0\0"
    m[2:4] = ref_checksum(bytes(m)).to_bytes(2, "big")
    return m


def _fix_ext_checksum(m: bytearray, ext_off: int) -> bytearray:
    m[ext_off + 2:ext_off + 4] = b"\0\0"
    m[ext_off + 2:ext_off + 4] = ref_checksum(bytes(m[ext_off:])).to_bytes(2, "big")
    return _fix_icmp_checksum(m)


def test_extensions_malformed_and_checksum_cases():
    orig = probe()
    good = bytearray(w.icmp_error(w.TIME_EXCEEDED, 0, orig, 28, [(100, 0, 0, 1), (200, 0, 1, 1)]))

    # bad extension checksum: reported, still parsed (RFC 4884 form)
    m = bytearray(good)
    m[138] ^= 0x55
    e = w.parse_extensions(_fix_icmp_checksum(m))
    assert e.found and not e.checksum_ok and e.mpls == [[(100, 0, 0, 1), (200, 0, 1, 1)]]
    # zero extension checksum means "none transmitted"
    m = bytearray(good)
    m[138:140] = b"\0\0"
    e = w.parse_extensions(m)
    assert e.found and e.checksum == 0 and e.checksum_ok
    # length attribute beyond the message: not found, malformed, the quote is everything
    m = bytearray(good)
    m[5] = 60
    e = w.parse_extensions(m)
    assert (e.found, e.malformed, e.orig_len) == (False, True, len(m) - 8)
    assert w.parse_icmp(m).quote_len == len(m) - 8
    # length attribute pointing at something that is not a version-2 header
    m = bytearray(good)
    m[5] = 31
    e = w.parse_extensions(m)
    assert (e.found, e.malformed) == (False, True)
    # length attribute below 128 bytes with an extension there: parsed but flagged
    short = bytearray(w.icmp_error(w.TIME_EXCEEDED, 0, orig, 28)) + good[136:]
    short[5] = 7
    e = w.parse_extensions(short)
    assert e.found and e.malformed and e.offset == 36 and e.mpls == [[(100, 0, 0, 1), (200, 0, 1, 1)]]
    # length attribute set, nothing after the quote: fine, no extension
    m = bytearray(good[:136])
    e = w.parse_extensions(m)
    assert (e.found, e.malformed, e.orig_len) == (False, False, 128)
    # object length 0, and object length beyond the end
    for olen in (0, 3, 13, 0xFFFF):
        m = bytearray(good)
        m[140:142] = olen.to_bytes(2, "big")
        e = w.parse_extensions(_fix_ext_checksum(m, 136))
        assert e.found and e.malformed and e.mpls == [] and e.checksum_ok
    # MPLS object whose payload is not a multiple of 4: whole entries kept, flagged
    m = bytearray(good) + b"\xaa\xbb"
    m[140:142] = (14).to_bytes(2, "big")
    e = w.parse_extensions(_fix_ext_checksum(m, 136))
    assert e.malformed and e.mpls == [[(100, 0, 0, 1), (200, 0, 1, 1)]]
    # trailing bytes too short for an object header
    m = bytearray(good) + b"\0\0"
    e = w.parse_extensions(_fix_ext_checksum(m, 136))
    assert e.malformed and e.mpls == [[(100, 0, 0, 1), (200, 0, 1, 1)]]
    # header and no object at all
    m = bytearray(good[:140])
    e = w.parse_extensions(_fix_ext_checksum(m, 136))
    assert e.found and e.malformed and e.objects == []
    # two objects: an unknown class then an MPLS one
    other = struct.pack("!HBB", 8, 2, 0) + b"\x01\x02\x03\x04"
    m = bytearray(good[:140]) + other + good[140:]
    e = w.parse_extensions(_fix_ext_checksum(m, 136))
    assert not e.malformed and [o[:2] for o in e.objects] == [(2, 0), (1, 1)]
    assert e.mpls == [[(100, 0, 0, 1), (200, 0, 1, 1)]]


def test_extensions_legacy_form_detection():
    orig = probe()
    good = bytearray(w.icmp_error(w.TIME_EXCEEDED, 0, orig, 28, [(100, 0, 1, 1)]))
    legacy = bytearray(good)
    legacy[5] = 0
    legacy = _fix_icmp_checksum(legacy)
    e = w.parse_extensions(legacy)
    assert (e.found, e.form, e.offset, e.orig_len, e.mpls) == (True, "legacy", 136, 128, [[(100, 0, 1, 1)]])
    # legacy with a bad extension checksum is a long quote, unless asked to be lenient
    bad = bytearray(legacy)
    bad[138] ^= 1
    assert not w.parse_extensions(bad).found and w.parse_extensions(bad).orig_len == len(bad) - 8
    e = w.parse_extensions(bad, strict_legacy=False)
    assert e.found and not e.checksum_ok and e.mpls == [[(100, 0, 1, 1)]]
    # a long quote whose byte 128 does not look like a version-2 header
    long_quote = w.icmp_error(w.TIME_EXCEEDED, 0, probe(payload=bytes(200)), 1000)
    m = w.parse_icmp(long_quote)
    assert not m.ext.found and not m.ext.malformed and m.quote_len == len(long_quote) - 8
    # too short to hold a header at 136
    assert not w.parse_extensions(legacy[:139]).found
    # echo messages never carry extensions, however long
    echo = bytearray(w.echo(w.ECHO_REPLY, 1, 1, bytes(128) + legacy[136:]))
    assert not w.parse_icmp(echo).ext.found


# ----------------------------------------------------------------------------- fuzzing

PARSERS = [
    lambda b, o, e: w.parse_eth(b, o),
    lambda b, o, e: w.parse_arp(b, o),
    lambda b, o, e: w.parse_ipv4(b, o, e),
    lambda b, o, e: w.parse_ipv4(b, o, e, strict_len=False),
    lambda b, o, e: w.parse_stack(b, o, e),
    lambda b, o, e: w.parse_icmp(b, o, e),
]


@FAST
@given(data=st.binary(max_size=300), off=st.integers(-4, 310), end=st.one_of(st.none(), st.integers(-4, 320)))
def test_parsers_raise_only_wireerror_on_random_bytes(data, off, end):
    for parse in PARSERS:
        try:
            parse(data, off, end)
        except WireError:
            pass
    e = w.parse_extensions(data, off, end)
    assert isinstance(e, w.IcmpExtensions)


@st.composite
def icmp_like(draw):
    """Random bytes shaped like an ICMP error, so that the extension code paths are reached."""
    t = draw(st.sampled_from([3, 11, 12, 0]))
    la = draw(st.sampled_from([0, 32, 7, 31, 33, 255, draw(u8)]))
    quote = draw(st.binary(min_size=0, max_size=140))
    ext = b""
    if draw(st.booleans()):
        objs = draw(st.lists(st.tuples(st.integers(0, 40), st.sampled_from([1, 2, 3]), st.sampled_from([1, 0]),
                                       st.binary(max_size=40)), max_size=3))
        body = b"".join(struct.pack("!HBB", olen, c, ct) + p for olen, c, ct, p in objs)
        ext = bytes([draw(st.sampled_from([0x20, 0x2F, 0x10])), 0]) + draw(st.binary(min_size=2, max_size=2)) + body
        if draw(st.booleans()):
            ext = ext[:2] + w.inet_checksum(ext[:2] + b"\0\0" + ext[4:]).to_bytes(2, "big") + ext[4:]
    return bytes([t, 0, 0, 0, 0, la, 0, 0]) + quote + ext


@FAST
@given(msg=icmp_like(), cut=st.integers(0, 400))
def test_icmp_and_extension_parsers_on_hostile_messages(msg, cut):
    for m in (msg, msg[:cut]):
        e = w.parse_extensions(m)
        assert isinstance(e, w.IcmpExtensions)
        assert e.orig_len >= 0
        for stack in e.mpls:
            assert all(len(x) == 4 for x in stack)
        try:
            got = w.parse_icmp(m)
        except WireError:
            assert len(m) < 8
            continue
        assert got.quote_off + got.quote_len <= len(m)
        if got.ext.found:
            assert got.quote_off + got.quote_len <= got.ext.offset


def _valid_frames():
    orig = probe()
    te = w.ip_packet(R, A, 1, 255, w.icmp_error(11, 0, orig, 28, [(100, 1, 0, 3), (200, 0, 1, 1)]))
    return [
        w.arp_request(MAC_A, A, B),
        w.ip_frame(MAC_B, MAC_A, te),
        w.mpls_frame(MAC_B, MAC_A, [(16, 0, 0, 5), (17, 0, 1, 5)], te),
        w.mpls_frame(MAC_B, MAC_A, [(16, 0, 1, 5)], orig),
        w.ip_frame(MAC_B, MAC_A, w.ip_packet(A, B, 1, 64, w.echo(8, 7, 9, b"x" * 33))),
    ]


def _parse_frame(frame):
    """A receive path through the codec: every layer down to the extensions."""
    _, _, et, off = w.parse_eth(frame)
    if et == w.ETH_ARP:
        return w.parse_arp(frame, off)
    if et == w.ETH_MPLS:
        _, off = w.parse_stack(frame, off)
    ip = w.parse_ipv4(frame, off)
    end = off + ip.total_len
    off += ip.header_len
    if ip.proto == w.IPPROTO_UDP:
        return ip
    m = w.parse_icmp(frame, off, end)
    if m.type in w.ERROR_TYPES:
        w.parse_ipv4(frame, m.quote_off, m.quote_off + m.quote_len, strict_len=False)
    return m


def test_valid_frames_parse_and_every_truncation_raises_wireerror():
    for frame in _valid_frames():
        _parse_frame(frame)
        for cut in range(len(frame)):
            with pytest.raises(WireError):
                _parse_frame(frame[:cut])


@FAST
@given(idx=st.integers(0, 4), flips=st.lists(st.tuples(st.integers(0, 400), u8), min_size=1, max_size=6))
def test_corrupted_frames_raise_only_wireerror(idx, flips):
    frame = bytearray(_valid_frames()[idx])
    for pos, val in flips:
        frame[pos % len(frame)] = val
    try:
        _parse_frame(bytes(frame))
    except WireError:
        pass


def test_frames_builders():
    pkt = w.ip_packet(A, B, 17, 3, b"12345678", ident=5)
    h = w.parse_ipv4(pkt)
    assert (h.total_len, h.ident, h.ttl, h.proto, h.checksum_ok) == (28, 5, 3, 17, True)
    f = w.ip_frame(MAC_B, MAC_A, pkt)
    p = Ether(f)
    assert p.type == 0x0800 and p[IP].ttl == 3 and raw(p[IP]) == pkt
    assert w.mpls_frame(MAC_B, MAC_A, [], pkt) == f
    assert w.parse_eth(w.mpls_frame(MAC_B, MAC_A, [(w.EXPLICIT_NULL, 0, 1, 3)], pkt))[2] == w.ETH_MPLS


def test_wireerror_is_valueerror():
    assert issubclass(WireError, ValueError)
    rnd = random.Random(1)
    assert isinstance(w.parse_extensions(bytes(rnd.randrange(256) for _ in range(50)), 0, 10 ** 9),
                      w.IcmpExtensions)


def test_parsers_accept_bytearray_and_memoryview():
    for frame in _valid_frames():
        want = _parse_frame(frame)
        assert _parse_frame(bytearray(frame)) == want
        assert _parse_frame(memoryview(frame)) == want
