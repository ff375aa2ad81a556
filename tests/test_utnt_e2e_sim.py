"""UTNT end to end in the sim for every library lab: the tags it prints for each
hop against the lab's ground truth; hostile replies counted and ignored."""
import struct

import pytest

from testbed.detectors.utnt import probe_sim, utnt_args
from testbed.lab import lab_names
from testbed.runtimes.sim import Sim
from checks import check_tags_against_truth

def run(labs, name, extra=None, **params):
    lab, cp = labs(name, **params)
    doc = probe_sim(lab, cp, lab.probes[0].source, [str(t) for t in lab.probes[0].targets], utnt_args(extra))
    return lab, cp, doc


@pytest.mark.parametrize("name", lab_names())
def test_hop_tags_agree_with_ground_truth(labs, name):
    lab, cp, doc = run(labs, name)
    check_tags_against_truth(lab, cp, doc, name)


@pytest.mark.parametrize("lsrs", [1, 2, 5])
def test_reveals_tunnels_of_any_length(labs, lsrs):
    lab, cp, doc = run(labs, "invisible-php-juniper", lsrs=lsrs)
    tun = doc["traces"][0]["tunnels"][0]
    assert [lab.owner_of(a) for a in tun["lsrs"]] == [f"p{i}" for i in range(1, lsrs + 1)]
    assert tun["technique"] == ("UNKN" if lsrs == 1 else "DPR")


def test_thresholds_and_brute_force(labs):
    # FRPLA 3 at the egress: a threshold of 4 hides the tunnel, brute force finds it again
    lab, cp, doc = run(labs, "invisible-php", ["-f", "4"])
    assert doc["traces"][0]["tunnels"] == []
    lab, cp, doc = run(labs, "invisible-php", ["-f", "4", "-b"])
    assert doc["traces"][0]["tunnels"][0]["trigger"] == "BTFC"


def test_udp_paris_method(labs):
    lab, cp, doc = run(labs, "invisible-php", ["-m", "udp-paris"])
    tr = doc["traces"][0]
    assert tr["method"] == "udp-paris"
    assert tr["hops"][-1]["icmp_type"] == 3 and tr["hops"][-1]["icmp_code"] == 3
    assert tr["tunnels"][0]["technique"] == "BRPR"


def test_hostile_replies_are_counted_and_ignored(labs):
    from utnt.cli import options_from, params_from
    from utnt.net import NetProber, SimPortAdapter, Stack
    from utnt.tnt import run_tnt
    from testbed.wire import inet_checksum
    lab, cp = labs("invisible-php")
    sim = Sim(lab, cp)
    sp = sim.attach("vp")
    stack = Stack(SimPortAdapter(sp), f"{sp.ip}/{sp.prefixlen}", str(sp.gateway), mac=sp.mac)
    prober = NetProber(stack, params_from(utnt_args([])))
    gw = next(i for i in lab.nodes["ce1"].interfaces if i.link.name == "vp-lan")

    def ip(src, proto, payload, ttl=250):
        h = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0,
                                  int(gw.ip), int(sp.ip)))
        h[10:12] = struct.pack("!H", inet_checksum(bytes(h)))
        return bytes(h) + payload

    def icmp(t, code, rest, body):
        m = bytearray(struct.pack("!BBHI", t, code, 0, rest) + body)
        m[2:4] = struct.pack("!H", inet_checksum(bytes(m)))
        return bytes(m)

    quoted = ip(int(sp.ip), 1, struct.pack("!BBHHH", 8, 0, 0x1234, 0x4242, 7))[:28]
    bad = [
        icmp(0, 0, (0x7777 << 16) | 1, b"spoofed echo reply"),                 # matches no probe
        icmp(11, 0, 0, quoted[:12]),                                           # truncated quote
        icmp(11, 0, 0, quoted),                                                # quote of a probe never sent
        icmp(11, 0, (200 << 8), quoted + b"\x20\x00\xff\xff\x00\x08\x01\x01"),  # bad RFC 4884 length
        icmp(3, 3, 0, b""),                                                    # nothing quoted
    ]
    frames = [sp.mac + gw.mac + b"\x08\x00" + ip(0, 1, m) for m in bad]
    frames.append(sp.mac + gw.mac + b"\x08\x00" + ip(0, 1, bad[0])[:25])     # truncated IP
    orig_recv = sp.recv_all

    def hostile_recv():
        got = orig_recv()
        if frames:
            got.insert(0, frames.pop())
        return got
    sp.recv_all = hostile_recv
    traces = run_tnt(prober, [str(lab.probes[0].targets[0])], options_from(utnt_args([])))
    assert not frames
    c = prober.counters
    assert c.unmatched >= 2 and c.malformed >= 2
    assert stack.counters["bad_ip"] >= 1
    assert traces[0].tunnels and traces[0].tunnels[0].technique == "BRPR"   # the measurement is unharmed


@pytest.mark.parametrize("lsrs", range(2, 9))
def test_implicit_every_length_2_to_8_is_perfect(lsrs):
    """TNT's u-turn run: the hop ending the run is still an LSR and the next one the egress
    (sc_tnt.c identify_uturn_tunnels), so pe1 ING, p1..pN LSR, pe2 EGR for every length."""
    from testbed.api import run as run_lab
    from testbed.lab import load_lab
    doc = run_lab(load_lab("implicit", {"lsrs": lsrs}), runtime="sim")
    assert doc["score"]["perfect"], doc["score"]["totals"]


@pytest.mark.parametrize("p2p", [31, 30])
def test_invisible_uhp_buddy_reveals_egress_and_lsrs(p2p):
    from testbed.api import run as run_lab
    from testbed.lab import load_lab
    doc = run_lab(load_lab("invisible-uhp", {"p2p_prefix": p2p}), runtime="sim")
    assert doc["score"]["perfect"], doc["score"]["totals"]
    techs = [h["mpls"]["technique"] for h in doc["traces"][0]["hops"] if h.get("revealed")]
    assert techs == ["BUDDY"] * 4
