"""utnt.net.wire, uTNT's own codec, checked against third parties: scapy builds the
messages (and checks the checksums), tcpdump reads the same frames from a pcap. It is
never compared with the testbed's codec (testbed/wire), which is checked the same way on
its own (tests/test_wire.py)."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import ICMP, IP, Ether, raw, wrpcap
from scapy.contrib.mpls import MPLS, ICMPExtension_MPLS
from scapy.layers.inet import ICMPExtension_Header, IPerror, UDPerror
from scapy.utils import checksum as scapy_checksum

from utnt.net.wire import DecodeError, decode_icmp, inet_checksum, ones_sum

SET = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
entry = st.tuples(st.integers(16, 2**20 - 1), st.integers(0, 7), st.integers(0, 255))


def icmp_te(stack, length=32, t=11, code=0, payload=b"ab"):
    """A scapy-built ICMP error with an RFC 4950 object (the IP packet's bytes)."""
    ext = ICMPExtension_Header() / ICMPExtension_MPLS(
        stack=[MPLS(label=l, cos=tc, s=int(k == len(stack) - 1), ttl=ttl) for k, (l, tc, ttl) in enumerate(stack)])
    return raw(IP(src="11.0.0.3", dst="12.0.0.254", ttl=250) /
               ICMP(type=t, code=code, length=length, ext=ext) /
               IPerror(src="12.0.0.254", dst="12.0.1.2", ttl=1, proto=17) /
               UDPerror(sport=40000, dport=33435) / payload)


@SET
@given(st.binary(max_size=300))
def test_checksum_is_scapys(data):
    assert inet_checksum(data) == scapy_checksum(data)
    assert ones_sum(data) == (~scapy_checksum(data)) & 0xFFFF


@SET
@given(stack=st.lists(entry, min_size=1, max_size=8), t=st.sampled_from([3, 11]))
def test_rfc4884_mpls_stack_as_scapy_built_it(stack, t):
    ip = icmp_te(stack, t=t)
    m = decode_icmp(ip, 20)
    assert (m.type, m.checksum_ok, m.ext_found, m.ext_checksum_ok, m.ext_malformed) == (t, True, True, True, False)
    assert m.quote_off == 28 and m.quote_len == 128
    assert [(l, tc, ttl) for l, tc, s, ttl in m.labels] == stack
    assert [s for *_, s, _ in m.labels] == [0] * (len(stack) - 1) + [1]
    # the quoted probe is where the decoder says
    q = ip[m.quote_off:m.quote_off + m.quote_len]
    assert q[9] == 17 and struct.unpack_from("!H", q, 22)[0] == 33435


@SET
@given(stack=st.lists(entry, min_size=1, max_size=4))
def test_legacy_form_fixed_128_byte_quote(stack):
    """Pre-RFC 4884 MPLS routers: length attribute 0, quote padded to 128 bytes, then the
    extension structure (scapy computes the ICMP and extension checksums)."""
    ext = raw(ICMPExtension_Header() / ICMPExtension_MPLS(
        stack=[MPLS(label=l, cos=tc, s=int(k == len(stack) - 1), ttl=ttl) for k, (l, tc, ttl) in enumerate(stack)]))
    quote = raw(IPerror(src="12.0.0.254", dst="12.0.1.2", ttl=1, proto=17) / UDPerror(sport=40000, dport=33435))
    body = quote.ljust(128, b"\0") + ext
    ip = raw(IP(src="11.0.0.3", dst="12.0.0.254") / ICMP(type=11, code=0) / body)
    assert IP(ip)[ICMP].chksum == IP(raw(IP(ip)))[ICMP].chksum
    m = decode_icmp(ip, 20)
    assert m.checksum_ok and m.ext_found and m.quote_len == 128
    assert [(l, tc, ttl) for l, tc, s, ttl in m.labels] == stack


def test_echo_reply_and_plain_errors():
    ip = raw(IP(src="11.0.0.9", dst="12.0.0.254") / ICMP(type=0, id=0x1234, seq=77) / b"uTNT-lab")
    m = decode_icmp(ip, 20)
    assert (m.type, m.ident, m.seq, m.checksum_ok) == (0, 0x1234, 77, True)
    plain = raw(IP(src="11.0.0.9", dst="12.0.0.254") / ICMP(type=3, code=3) /
                IPerror(src="12.0.0.254", dst="11.0.0.9", proto=17) / UDPerror(dport=33435))
    m = decode_icmp(plain, 20)
    assert (m.type, m.code, m.labels, m.ext_found, m.quote_len) == (3, 3, [], False, 28)


def test_corrupt_and_short_messages():
    ip = bytearray(icmp_te([(16, 0, 1)]))
    ip[30] ^= 0xFF                                     # a byte of the quote: ICMP checksum breaks
    assert decode_icmp(bytes(ip), 20).checksum_ok is False
    bad_len = bytearray(icmp_te([(16, 0, 1)]))
    bad_len[25] = 200                                  # length attribute past the message
    m = decode_icmp(bytes(bad_len), 20)
    assert m.ext_malformed and m.labels == []
    with pytest.raises(DecodeError):
        decode_icmp(b"\x0b\x00\x00", 0)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_reads_what_utnt_decodes(tmp_path):
    """tcpdump's reading of the same frames: type, checksum verdicts, top label and TTL."""
    cases = [[(16, 0, 1)], [(299, 2, 7), (17, 0, 255)], [(1048575, 7, 250)]]
    frames = [Ether() / IP(icmp_te(s)) for s in cases]
    pcap = tmp_path / "te.pcap"
    wrpcap(str(pcap), frames)
    out = subprocess.run(["tcpdump", "-nv", "-r", str(pcap)], capture_output=True, text=True, timeout=30).stdout
    blocks = [b for b in out.split("\n") if "label " in b]
    assert len(blocks) == len(cases), out
    assert out.count("ICMP time exceeded in-transit") == len(cases)
    assert out.count("(correct)") == len(cases)
    for s, line in zip(cases, blocks):
        m = decode_icmp(icmp_te(s), 20)
        label, tc, _, ttl = m.labels[0]
        got = re.search(r"label (\d+), tc (\d+).*ttl (\d+)", line)
        assert got and tuple(int(x) for x in got.groups()) == (label, tc, ttl) == s[0]
