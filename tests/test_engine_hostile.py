"""Malformed and hostile frames never crash a router and never produce a
malformed reply (property-based, hypothesis)."""
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.engine import compile_node
from testbed.wire import inet_checksum
from testbed.wire.icmp import ERROR_TYPES, parse_icmp
from testbed.wire.mpls import parse_stack

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _routers(labs):
    out = []
    for name, node in (("explicit", "p1"), ("explicit", "pe1"), ("invisible-uhp", "pe2"), ("opaque", "pe2"),
                       ("linux-lsr", "p2"), ("invisible-php-juniper", "p1")):
        lab, cp = labs(name)
        r = compile_node(lab.nodes[node], cp.tables[node])
        for itf in lab.nodes[node].interfaces:      # neighbours already resolved: replies go out as frames
            for p in itf.peers():
                r.arp[(r.ports.index(next(x for x in r.ports if x.name == itf.name)), int(p.ip))] = p.mac
        out.append((r, lab.nodes[node]))
    return out


def check_frame(frame: bytes, own: set):
    """Assert that a frame a router emitted is well formed (transport checks on what it generated)."""
    assert len(frame) >= 14
    et = frame[12:14]
    assert et in (b"\x08\x00", b"\x08\x06", b"\x88\x47")
    if et == b"\x08\x06":
        assert len(frame) >= 42
        return
    off = 14
    if et == b"\x88\x47":
        stack, off = parse_stack(frame, 14)
        assert 1 <= len(stack) <= 32
    ip = frame[off:]
    if et == b"\x88\x47" and (len(ip) < 20 or struct.unpack_from("!I", ip, 12)[0] not in own):
        return      # a label-switched transit frame: an LSR does not look behind the labels
    assert len(ip) >= 20 and ip[0] >> 4 == 4
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack_from("!H", ip, 2)[0]
    assert tot == len(ip), "total length matches the frame"
    assert inet_checksum(ip[:ihl]) == 0, "IPv4 header checksum"
    if ip[9] == 1 and struct.unpack_from("!I", ip, 12)[0] in own:
        m = parse_icmp(ip, ihl, tot)
        assert m.checksum_ok, "ICMP checksum"
        if m.type in ERROR_TYPES and m.ext.found:
            assert not m.ext.malformed and m.ext.checksum_ok


def _valid_ip(ttl, proto, payload, src=0x0C000002, dst=0x0C000102):
    hdr = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0, src, dst))
    c = inet_checksum(bytes(hdr))
    hdr[10:12] = struct.pack("!H", c)
    return bytes(hdr) + payload


@st.composite
def hostile(draw):
    kind = draw(st.sampled_from(["random", "ip", "mpls", "arp"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    ttl = draw(st.integers(0, 255))
    proto = draw(st.sampled_from([1, 6, 17, draw(st.integers(0, 255))]))
    payload = draw(st.binary(max_size=120))
    if proto == 1 and draw(st.booleans()):
        t = draw(st.sampled_from([0, 3, 8, 11, 12]))
        body = bytes([t, 0, 0, 0]) + draw(st.binary(max_size=100))
        c = inet_checksum(body)
        payload = body[:2] + struct.pack("!H", c) + body[4:]
    ip = bytearray(_valid_ip(ttl, proto, payload, dst=draw(st.sampled_from(
        [0x0C000102, 0x0B000003, 0x0B000005, 0x0BFF0004, draw(st.integers(0, 2**32 - 1))]))))
    # corruptions
    if draw(st.booleans()):
        i = draw(st.integers(0, len(ip) - 1))
        ip[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        ip = ip[:draw(st.integers(0, len(ip)))]
    if kind == "ip":
        return b"\x00" * 6 + b"\x02" * 6 + b"\x08\x00" + bytes(ip)
    if kind == "arp":
        return b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + draw(st.binary(max_size=40))
    depth = draw(st.integers(0, 33))
    labels = draw(st.lists(st.sampled_from([0, 3, 16, 17, 18, 19, 20, 21, 22, 23, 1048575]),
                           min_size=depth, max_size=depth))
    stack = b""
    for i, lbl in enumerate(labels):
        s = 1 if (i == depth - 1 and draw(st.booleans())) or (i == depth - 1 and depth < 33) else 0
        stack += struct.pack("!I", (lbl << 12) | (s << 8) | draw(st.integers(0, 255)))
    return b"\x00" * 6 + b"\x02" * 6 + b"\x88\x47" + stack + bytes(ip)


def test_hostile_frames_never_crash_and_replies_are_well_formed(labs):
    routers = _routers(labs)

    @SETTINGS
    @given(frame=hostile(), which=st.integers(0, len(routers) - 1), port=st.integers(0, 1))
    def prop(frame, which, port):
        r, node = routers[which]
        pidx = min(port, len(r.ports) - 1)
        frame = r.ports[pidx].mac + frame[6:] if len(frame) >= 6 and frame[:6] != b"\xff" * 6 else frame
        for opidx, out in r.handle(pidx, frame, 0.0):
            assert 0 <= opidx < len(r.ports)
            check_frame(out, set(r.my))

    prop()
    total = sum(r.counters.rx for r, _ in routers)
    assert total >= 400
    # the corruptions were really exercised: some frames were dropped as malformed or bad checksum
    assert sum(r.counters.dropped_malformed + r.counters.dropped_checksum for r, _ in routers) > 0
    assert sum(r.counters.icmp_sent for r, _ in routers) > 0
