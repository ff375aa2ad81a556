"""The engine's hot paths (label swap, push, PHP pop, IP forward TTL rewrite) are hand-rolled for
speed; here they are checked against the testbed's codec (testbed/wire, itself checked against
scapy and tcpdump in tests/test_wire.py and tests/test_codec_differential.py) on many frames.

Every frame in is built with testbed/wire, every frame out is decoded with it, and the expected
frame is built with it from what the tables say (LFIB out label, FIB push, vendor TTL rule):
byte for byte, not just "well formed"."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.controlplane.tables import IMPLICIT_NULL
from testbed.engine import compile_node
from testbed.engine.router import Router
from testbed.wire import (ETH_IP, ETH_MPLS, encode_stack, ip_packet, mpls_frame, parse_eth, parse_ipv4,
                          parse_stack, set_ttl)
from testbed.wire.frames import ip_frame

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])
SRC_MAC = b"\x02\x00\x00\x00\x00\x99"


def _router(labs, lab_name, node):
    lab, cp = labs(lab_name)
    r = compile_node(lab.nodes[node], cp.tables[node])
    for i, itf in enumerate(lab.nodes[node].interfaces):     # neighbours resolved: the fast paths apply
        for p in itf.peers():
            r.arp[(i, int(p.ip))] = p.mac
    return lab, r


packets = st.builds(
    lambda src, dst, proto, ttl, ident, tos, payload: (src, dst, proto, ttl, ident, tos, payload),
    st.integers(0x01000000, 0xDFFFFFFF), st.integers(0x01000000, 0xDFFFFFFF), st.sampled_from([1, 6, 17]),
    st.integers(2, 255), st.integers(0, 0xFFFF), st.integers(0, 255), st.binary(min_size=8, max_size=96))


def _ip(src, dst, proto, ttl, ident, tos, payload, df=False):
    return ip_packet(src, dst, proto, ttl, payload, ident, tos, df)


# ------------------------------------------------------------------ label swap (LSR)
@pytest.fixture(scope="module")
def lsr(labs):
    lab, r = _router(labs, "explicit", "p2")
    swaps = sorted(lbl for lbl, hops in r.lfib.items()
                   if len(hops) == 1 and hops[0][0] not in (None, IMPLICIT_NULL))
    assert swaps, "p2 of explicit swaps labels"
    return r, swaps


@SETTINGS
@given(data=st.data(), pkt=packets, tc=st.integers(0, 7), lse_ttl=st.integers(2, 255), port=st.integers(0, 1))
def test_label_swap_equals_the_codecs_frame(lsr, data, pkt, tc, lse_ttl, port):
    r, swaps = lsr
    label = data.draw(st.sampled_from(swaps))
    ip = _ip(*pkt)
    frame = mpls_frame(r.ports[port].mac, SRC_MAC, [(label, tc, 1, lse_ttl)], ip)
    before = r.counters.label_switched
    out = r.handle(port, frame)
    assert r.counters.label_switched == before + 1
    assert len(out) == 1
    pidx, got = out[0]
    out_label, opidx, gw = r.lfib[label][0]
    assert pidx == opidx
    assert got == mpls_frame(r.arp[(pidx, gw)], r.ports[pidx].mac, [(out_label, tc, 1, lse_ttl - 1)], ip)
    dst, src, et, off = parse_eth(got)
    assert et == ETH_MPLS
    stack, ipoff = parse_stack(got, off)
    assert stack == [(out_label, tc, 1, lse_ttl - 1)] and got[ipoff:] == ip


# ------------------------------------------------------------------ IP forward (TTL rewrite)
@pytest.fixture(scope="module")
def ip_router(labs):
    lab, r = _router(labs, "plain-ip", "r2")
    dsts = [int(h.interfaces[0].ip) for h in lab.nodes.values() if h.personality.is_host]
    return r, dsts


@SETTINGS
@given(data=st.data(), pkt=packets, df=st.booleans())
def test_ip_forward_equals_the_codecs_frame(ip_router, data, pkt, df):
    r, dsts = ip_router
    src, _, proto, ttl, ident, tos, payload = pkt
    dst = data.draw(st.sampled_from(dsts))
    port = data.draw(st.integers(0, len(r.ports) - 1))
    ip = _ip(src, dst, proto, ttl, ident, tos, payload, df)
    out = r.handle(port, ip_frame(r.ports[port].mac, SRC_MAC, ip))
    assert len(out) == 1
    pidx, got = out[0]
    route = r._lpm(dst).hops[0]
    assert pidx == route[0]
    nh = route[1] if route[1] is not None else dst
    want = ip_frame(r.arp[(pidx, nh)], r.ports[pidx].mac, _ip(src, dst, proto, ttl - 1, ident, tos, payload, df))
    assert got == want
    h = parse_ipv4(got, 14)
    assert h.ttl == ttl - 1 and h.checksum_ok


# ------------------------------------------------------------------ ingress push (LER)
@pytest.fixture(scope="module")
def ler(labs):
    lab, r = _router(labs, "explicit", "pe1")
    dst = int(lab.probes[0].targets[0])
    pidx, gw, push = r._lpm(dst).hops[0]
    assert push, "pe1 of explicit pushes a label toward the destination"
    return lab, r, dst


@SETTINGS
@given(pkt=packets)
def test_ingress_push_equals_the_codecs_frame(ler, pkt):
    lab, r, dst = ler
    src, _, proto, ttl, ident, tos, payload = pkt
    ip = _ip(src, dst, proto, ttl, ident, tos, payload)
    inport = next(i for i, p in enumerate(r.ports) if p.name == lab.nodes["pe1"].interfaces[0].name)
    out = r.handle(inport, ip_frame(r.ports[inport].mac, SRC_MAC, ip))
    assert len(out) == 1
    pidx, gw, push = r._lpm(dst).hops[0]
    ip_ttl = ttl - 1 if r.personality.decrement_at_ingress else ttl
    lse_ttl = ip_ttl if r.ttl_propagate else r.personality.pipe_lse_ttl
    stack = [(lbl, 0, int(i == len(push) - 1), lse_ttl) for i, lbl in enumerate(push)]
    assert out[0] == (pidx, mpls_frame(r.arp[(pidx, gw)], r.ports[pidx].mac, stack,
                                       _ip(src, dst, proto, ip_ttl, ident, tos, payload)))


# ------------------------------------------------------------------ PHP pop (penultimate hop)
@pytest.fixture(scope="module")
def php(labs):
    lab, r = _router(labs, "explicit", "p3")
    pops = sorted(lbl for lbl, hops in r.lfib.items() if len(hops) == 1 and hops[0][0] == IMPLICIT_NULL)
    assert pops, "p3 of explicit is a penultimate hop"
    return r, pops


@SETTINGS
@given(data=st.data(), pkt=packets, lse_ttl=st.integers(2, 255), tc=st.integers(0, 7))
def test_php_pop_equals_the_codecs_frame(php, data, pkt, lse_ttl, tc):
    r, pops = php
    label = data.draw(st.sampled_from(pops))
    src, dst, proto, ttl, ident, tos, payload = pkt
    ip = _ip(*pkt)
    out = r.handle(0, mpls_frame(r.ports[0].mac, SRC_MAC, [(label, tc, 1, lse_ttl)], ip))
    assert len(out) == 1
    _, pidx, gw = r.lfib[label][0]
    # vendor rule at the pop (cisco): IP-TTL := min(IP-TTL, decremented LSE-TTL)
    assert r.personality.min_ttl_at_pop and r.personality.php_ttl_writeback
    want_ttl = min(ttl, lse_ttl - 1)
    assert out[0] == (pidx, ip_frame(r.arp[(pidx, gw)], r.ports[pidx].mac,
                                     _ip(src, dst, proto, want_ttl, ident, tos, payload)))
    assert parse_eth(out[0][1])[2] == ETH_IP and parse_ipv4(out[0][1], 14).checksum_ok


# ------------------------------------------------------------------ the helpers the hot paths share
@settings(max_examples=300, deadline=None)
@given(pkt=packets, new_ttl=st.integers(0, 255), corrupt=st.integers(0, 0xFFFF))
def test_set_ttl_equals_the_codecs(pkt, new_ttl, corrupt):
    """Router._set_ttl (RFC 1624 in the hot path) gives the bytes wire.set_ttl gives, on headers
    whose checksum is valid and on ones whose checksum is not."""
    for hdr in (bytearray(_ip(*pkt)), bytearray(_ip(*pkt))):
        if corrupt:
            hdr[10] ^= corrupt >> 8
            hdr[11] ^= corrupt & 0xFF
        mine, ref = bytearray(hdr), bytearray(hdr)
        Router._set_ttl(mine, new_ttl)
        set_ttl(ref, 0, new_ttl)
        assert mine == ref
        corrupt = 0


@settings(max_examples=200, deadline=None)
@given(push=st.lists(st.integers(16, (1 << 20) - 1), min_size=1, max_size=8), ttl=st.integers(0, 255))
def test_pushed_labels_equal_the_codecs(push, ttl):
    want = encode_stack([(lbl, 0, int(i == len(push) - 1), ttl) for i, lbl in enumerate(push)])
    assert Router._labels(tuple(push), ttl) == want


@settings(max_examples=200, deadline=None)
@given(push=st.lists(st.integers(16, (1 << 20) - 1), min_size=1, max_size=4), ttl=st.integers(0, 255),
       pkt=packets)
def test_entropy_labels_decode_with_the_codec(push, ttl, pkt):
    """RFC 6790 under the pushed labels: the ELI (7) with the transport TTL, then the EL with S=1
    and TTL 0; S cleared on the last pushed label."""
    ip = _ip(*pkt)
    b = Router._with_entropy(Router._labels(tuple(push), ttl), ip, ttl)
    stack, end = parse_stack(b + ip, 0)
    assert end == len(b)
    assert stack[:-2] == [(lbl, 0, 0, ttl) for lbl in push]
    assert stack[-2] == (7, 0, 0, ttl)
    assert stack[-1][1:] == (0, 1, 0) and 16 <= stack[-1][0] < 1 << 20
