"""The IPv6 and ICMPv6 codec (testbed/wire/ipv6.py, icmpv6.py) checked against scapy: headers,
pseudo-header checksums, RFC 4884 length attribute (64-bit words), RFC 4950 objects, ND."""
from ipaddress import IPv6Address

from scapy.all import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6TimeExceeded, IPv6, UDP, raw)
from scapy.layers.inet import ICMPExtension_Header as ICMPExtensionHeader
from scapy.contrib.mpls import ICMPExtension_MPLS

from testbed.wire import (TIME_EXCEEDED6, echo6, icmp6_error, ipv6_packet, mapped, neighbor_advert,
                          neighbor_solicit, parse_icmp6, parse_ipv6, parse_nd, solicited_node, unmapped)

A = int(IPv6Address("2001:db8:600::1"))
B = int(IPv6Address("2001:db8:600:3::2"))
P = mapped(0x0B000004)           # ::ffff:11.0.0.4


def test_header_and_echo_match_scapy():
    pkt = ipv6_packet(A, B, 58, 7, echo6(128, 0x4d21, 3, b"xyz", A, B))
    s = IPv6(pkt)
    assert (s.src, s.dst, s.hlim, s.nh, s.plen) == ("2001:db8:600::1", "2001:db8:600:3::2", 7, 58, 11)
    e = s[ICMPv6EchoRequest]
    assert (e.id, e.seq, bytes(e.data)) == (0x4d21, 3, b"xyz")
    ref = raw(IPv6(src="2001:db8:600::1", dst="2001:db8:600:3::2", hlim=7) /
              ICMPv6EchoRequest(id=0x4d21, seq=3, data=b"xyz"))
    assert pkt == ref                                   # same bytes, checksum included
    h = parse_ipv6(ref)
    assert (h.src, h.dst, h.hop_limit, h.next_header, h.payload_len) == (A, B, 7, 58, 11)
    m = parse_icmp6(ref, 40, None, A, B)
    assert m.checksum_ok and (m.type, m.ident, m.seq) == (128, 0x4d21, 3)
    reply = raw(IPv6(src="2001:db8:600:3::2", dst="2001:db8:600::1") / ICMPv6EchoReply(id=9, seq=1))
    assert parse_icmp6(reply, 40, None, B, A).checksum_ok
    assert not parse_icmp6(reply, 40, None, B, P).checksum_ok      # the pseudo-header counts


def test_mapped_addresses():
    assert str(IPv6Address(P)) == "::ffff:b00:4" and IPv6Address(P).ipv4_mapped.exploded == "11.0.0.4"
    assert unmapped(P) == 0x0B000004 and unmapped(A) is None


def test_time_exceeded_with_rfc4950_matches_scapy():
    probe = raw(IPv6(src="2001:db8:600::1", dst="2001:db8:600:3::2", hlim=1) / ICMPv6EchoRequest(id=1, seq=2))
    stack = [(20, 0, 0, 1), (2, 0, 1, 1)]
    msg = icmp6_error(TIME_EXCEEDED6, 0, probe, P, A, stack)
    pkt = ipv6_packet(P, A, 58, 255, msg)
    s = IPv6(pkt)
    te = s[ICMPv6TimeExceeded]
    assert s.src == "::ffff:11.0.0.4" and te.code == 0
    assert te.length == 16                           # RFC 4884: 128 bytes in 64-bit words, byte 4
    # scapy recomputes the checksum over the pseudo-header: the same as ours
    assert raw(IPv6(raw(s))[ICMPv6TimeExceeded]) == raw(IPv6(pkt)[ICMPv6TimeExceeded])
    del te.cksum
    assert raw(IPv6(raw(s)))[40:] == msg
    quoted = bytes(msg[8:8 + 128])
    assert quoted[:len(probe)] == probe and quoted[len(probe):] == bytes(128 - len(probe))
    ext = ICMPExtensionHeader(msg[8 + 128:])
    assert ext.version == 2
    mp = ext[ICMPExtension_MPLS]
    got = []
    e = mp.stack[0]
    while e is not None and hasattr(e, "label"):
        got.append((e.label, e.s, e.ttl))
        e = e.payload if hasattr(e.payload, "label") else None
    assert got == [(20, 0, 1), (2, 1, 1)]
    m = parse_icmp6(pkt, 40, None, P, A)
    assert m.checksum_ok and m.length == 16 and m.ext.found and m.ext.checksum_ok
    assert m.ext.mpls == [stack]


def test_unreachable_without_extension_quotes_the_packet():
    probe = raw(IPv6(src="2001:db8:600::1", dst="2001:db8:600:3::2") / UDP(sport=1, dport=33435) / (b"x" * 2000))
    msg = icmp6_error(1, 4, probe, B, A)
    s = IPv6(ipv6_packet(B, A, 58, 64, msg))
    assert s[ICMPv6DestUnreach].code == 4 and len(raw(s)) == 1280     # RFC 4443 2.4 (c)
    assert parse_icmp6(raw(s), 40, None, B, A).checksum_ok


def test_neighbour_discovery_matches_scapy():
    mac = b"\x02\x01\x02\x03\x04\x05"
    ns = neighbor_solicit(B, mac, A, solicited_node(B))
    s = IPv6(ipv6_packet(A, solicited_node(B), 58, 255, ns))
    assert s.dst == "ff02::1:ff00:2" and s[ICMPv6ND_NS].tgt == "2001:db8:600:3::2"
    assert s[ICMPv6NDOptSrcLLAddr].lladdr == "02:01:02:03:04:05"
    ref = raw(IPv6(src="2001:db8:600::1", dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt="2001:db8:600:3::2")
              / ICMPv6NDOptSrcLLAddr(lladdr="02:01:02:03:04:05"))
    assert raw(s) == ref
    na = neighbor_advert(B, mac, B, A)
    s = IPv6(ipv6_packet(B, A, 58, 255, na))
    n = s[ICMPv6ND_NA]
    assert (n.R, n.S, n.O, n.tgt) == (1, 1, 1, "2001:db8:600:3::2")
    assert s[ICMPv6NDOptDstLLAddr].lladdr == "02:01:02:03:04:05"
    ref = raw(IPv6(src="2001:db8:600:3::2", dst="2001:db8:600::1", hlim=255) /
              ICMPv6ND_NA(R=1, S=1, O=1, tgt="2001:db8:600:3::2") / ICMPv6NDOptDstLLAddr(lladdr="02:01:02:03:04:05"))
    assert raw(s) == ref
    assert parse_nd(ref, 40, len(ref)) == (B, mac)
