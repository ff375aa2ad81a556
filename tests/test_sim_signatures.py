"""Every library lab, traced in the sim by a scripted Paris traceroute (scapy),
shows hop by hop the signatures the reference (tnt.md 1-3) predicts."""
import pytest

from checks import (check_asymmetric, check_explicit, check_implicit, check_invisible_php, check_juniper,
                    check_linux, check_mixed, check_opaque, check_plain, check_uhp, in_addr)
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber


def run(labs, name, **params):
    lab, cp = labs(name, **params)
    sim = Sim(lab, cp)
    pr = ScriptedProber(sim, "vp")
    dst = str(lab.probes[0].targets[0])
    return lab, pr, pr.trace(dst)


@pytest.mark.parametrize("lsrs", [3, 5])
def test_explicit_labels_lse_ttl_1_and_rising_qttl(labs, lsrs):
    lab, pr, hops = run(labs, "explicit", lsrs=lsrs)
    check_explicit(lab, hops, lsrs)


def test_implicit_no_labels_but_qttl_and_uturn(labs):
    lab, pr, hops = run(labs, "implicit", lsrs=4)
    check_implicit(lab, hops, 4)


@pytest.mark.parametrize("lsrs", [2, 3, 6])
def test_opaque_egress_quotes_255_minus_hidden(labs, lsrs):
    lab, pr, hops = run(labs, "opaque", lsrs=lsrs)
    check_opaque(lab, hops, lsrs)


@pytest.mark.parametrize("lsrs", [3, 5])
def test_invisible_php_frpla_equals_tunnel_length(labs, lsrs):
    lab, pr, hops = run(labs, "invisible-php", lsrs=lsrs)
    check_invisible_php(lab, hops, lsrs)


def test_invisible_php_juniper_rtla_equals_tunnel_length(labs):
    lab, pr, hops = run(labs, "invisible-php-juniper", lsrs=4)
    check_juniper(lab, hops, 4)


def test_invisible_uhp_duplicate_ip(labs):
    lab, pr, hops = run(labs, "invisible-uhp")
    check_uhp(lab, hops)


def test_linux_lsrs_are_silent(labs):
    lab, pr, hops = run(labs, "linux-lsr", lsrs=3)
    check_linux(lab, hops, 3)


def test_plain_ip_shows_nothing(labs):
    lab, pr, hops = run(labs, "plain-ip")
    check_plain(lab, hops)


def test_asymmetric_return_path_lifts_frpla(labs):
    lab, pr, hops = run(labs, "asymmetric")
    check_asymmetric(lab, hops)


def test_mixed_two_domains(labs):
    lab, pr, hops = run(labs, "mixed")
    check_mixed(lab, hops)


# ---- what the revelation techniques assume (tnt.md 4.2, 4.4)

def _between(hops, a, b):
    addrs = [h.address for h in hops]
    return addrs[addrs.index(a) + 1:addrs.index(b)]


def test_brpr_reveals_one_lsr_per_trace(labs):
    lab, cp = labs("invisible-php")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    pe1 = in_addr(lab, "pe1", "ce1")
    target = in_addr(lab, "pe2", "p3")
    revealed = []
    for expect in ("p3", "p2", "p1"):
        hops = pr.trace(target, fingerprint=False)
        assert hops[-1].address == target
        new = _between(hops, pe1, target)
        assert new == [in_addr(lab, expect, {"p3": "p2", "p2": "p1", "p1": "pe1"}[expect])]
        revealed.append(new[0])
        target = new[0]
    hops = pr.trace(target, fingerprint=False)
    assert _between(hops, pe1, target) == []    # nothing more: the end of BRPR


def test_dpr_reveals_all_lsrs_in_one_trace(labs):
    lab, cp = labs("invisible-php-juniper")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    pe1 = in_addr(lab, "pe1", "ce1")
    target = in_addr(lab, "pe2", "p3")
    hops = pr.trace(target, fingerprint=False)
    assert _between(hops, pe1, target) == [in_addr(lab, "p1", "pe1"), in_addr(lab, "p2", "p1"),
                                           in_addr(lab, "p3", "p2")]


def test_buddy_udp_trace_ends_in_port_unreachable_from_hidden_egress(labs):
    lab, cp = labs("invisible-uhp")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    dup = in_addr(lab, "ce2", "pe2")
    buddy = in_addr(lab, "pe2", "ce2")
    # /31 buddy arithmetic: the other address of the /31
    assert int.from_bytes(bytes(map(int, dup.split("."))), "big") ^ 1 == \
        int.from_bytes(bytes(map(int, buddy.split("."))), "big")
    hops = pr.trace(buddy, method="udp-paris", fingerprint=False)
    last = hops[-1]
    # the hidden egress answers from its interface toward the prober (RFC 1812 4.3.2.4), not
    # from the probed buddy: that source is what TNT reveals (tnt.md 4.4)
    assert last.address == in_addr(lab, "pe2", "p3") != buddy
    assert last.icmp_type == 3 and last.icmp_code == 3
    assert hops[-2].address == in_addr(lab, "pe1", "ce1")   # the start point: second-to-last hop


def test_linux_router_answers_port_unreachable_from_the_probed_address(labs):
    # Linux (net/ipv4/icmp.c): a locally delivered packet is answered from its destination
    lab, cp = labs("invisible-uhp", vendor="linux")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    buddy = in_addr(lab, "pe2", "ce2")
    hops = pr.trace(buddy, method="udp-paris", fingerprint=False)
    assert (hops[-1].address, hops[-1].icmp_type, hops[-1].icmp_code) == (buddy, 3, 3)


def test_per_router_icmp_source_override():
    # a lab file may override the vendor's rule per router (routers.X.icmp_source)
    import pydantic

    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.lab.schema import RouterSpec
    assert RouterSpec(icmp_source={"unreachable": "probed"}).icmp_source.unreachable == "probed"
    with pytest.raises(pydantic.ValidationError):
        RouterSpec(icmp_source={"unreachable": "loopback"})
    lab = load_lab("invisible-uhp")
    lab.nodes["pe2"].icmp_source = {**lab.nodes["pe2"].icmp_source, "unreachable": "probed"}
    pr = ScriptedProber(Sim(lab, build(lab)), "vp")
    buddy = in_addr(lab, "pe2", "ce2")
    assert pr.trace(buddy, method="udp-paris", fingerprint=False)[-1].address == buddy


def test_paris_flow_stays_on_one_ecmp_path(labs, tmp_path):
    lab_file = tmp_path / "ecmp.yaml"
    lab_file.write_text("""
routers: {a: {}, b1: {}, b2: {}, b3: {}, b4: {}, c: {}}
hosts: {vp: {}, dst: {}}
links:
  - [vp, a]
  - [a, b1]
  - [a, b2]
  - [a, b3]
  - [a, b4]
  - [b1, c]
  - [b2, c]
  - [b3, c]
  - [b4, c]
  - [c, dst]
probes: [{from: vp, to: dst}]
""")
    lab, cp = labs(str(lab_file))
    sim = Sim(lab, cp)
    pr = ScriptedProber(sim, "vp")
    dst = str(lab.probes[0].targets[0])
    seen = set()
    for _ in range(3):
        hops = pr.trace(dst, fingerprint=False)
        seen.add(hops[1].address)
    assert len(seen) == 1, "one Paris flow must stay on one path"
    # different flows spread over the equal-cost paths
    from scapy.all import ICMP, IP
    mids = set()
    for ident in range(40):
        for r in pr.exchange(IP(src=pr.src, dst=dst, ttl=2) / ICMP(type=8, id=ident)):
            mids.add(r[IP].src)
    assert len(mids) >= 3


def test_icmp_rate_limit_per_router(labs, tmp_path):
    """An optional per-router ICMP rate limit (off in the library): a burst of 100 probes that
    expire at r1 gets about `limit` time-exceeded per second of virtual time."""
    from scapy.all import ICMP, IP
    text = """
routers: {r1: {icmp_rate_limit: 10}, r2: {}}
hosts: {vp: {}, dst: {}}
links: [[vp, r1], [r1, r2], [r2, dst]]
probes: [{from: vp, to: dst}]
"""
    f = tmp_path / "rl.yaml"
    f.write_text(text)
    lab, cp = labs(str(f))
    sim = Sim(lab, cp)
    pr = ScriptedProber(sim, "vp")
    dst = str(lab.probes[0].targets[0])
    from scapy.all import Ether, raw
    for i in range(100):
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / IP(src=pr.src, dst=dst, ttl=1) / ICMP(id=i)))
    sim.run(0.5)
    te = [f for f in pr.port.recv_all() if f[12:14] == b"\x08\x00" and Ether(f)[ICMP].type == 11]
    assert 8 <= len(te) <= 12                      # the bucket holds `limit` tokens
    assert sim.nodes["r1"].counters.icmp_suppressed >= 85
    # r2 has no limit: every probe expiring there is answered
    for i in range(100):
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / IP(src=pr.src, dst=dst, ttl=2) / ICMP(id=i)))
    sim.run(0.5)
    te = [f for f in pr.port.recv_all() if f[12:14] == b"\x08\x00" and Ether(f)[ICMP].type == 11]
    assert len(te) == 100


def test_truth_records_the_address_each_router_answers_from(labs):
    # the ground truth says which address a router's time-exceeded comes from; on the
    # asymmetric lab that is what a Paris traceroute through the engine shows, hop for hop
    from testbed.truth import ground_truth
    lab, cp = labs("asymmetric")
    doc = ground_truth(cp)
    steps = doc["probes"][0]["paths"][0]["forward"]
    expected = [s["time_exceeded_from"] for s in steps if s.get("time_exceeded_from")][:-1]
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(doc["probes"][0]["to"], fingerprint=False)
    assert [h.address for h in hops[:-1]] == expected
    r4 = next(s for s in steps if s["node"] == "r4")
    assert r4["time_exceeded_from"] != r4["address"]          # asymmetric: not its incoming interface
    assert doc["nodes"]["r4"]["icmp_source"]["time_exceeded"] == "outgoing"


# ---- the behaviour catalogue's labs (issue 13)

@pytest.mark.parametrize("name", ["l3vpn", "huawei-lsp", "silent-ingress", "rate-limited", "sr-mpls", "entropy"])
def test_catalogue_lab_signatures(labs, name):
    from checks import CHECKS
    lab, pr, hops = run(labs, name)
    CHECKS[name](lab, hops)


def test_rate_limited_router_is_silent_on_a_second_trace_at_once(labs):
    lab, pr, hops = run(labs, "rate-limited")
    again = pr.trace(str(lab.probes[0].targets[0]), fingerprint=False)
    assert again[0].address == hops[0].address           # ce1: no limit
    assert again[1].address is None                      # pe1: bucket of 1, 0.1 token per second
    pr.sim.run(10.0)
    assert pr.trace(str(lab.probes[0].targets[0]), fingerprint=False)[1].address == hops[1].address


def test_silent_ingress_still_answers_pings(labs):
    lab, pr, hops = run(labs, "silent-ingress")
    assert pr.ping(in_addr(lab, "pe1", "ce1")) is not None


def test_split_pipe_invisible_from_a_ce_explicit_from_the_pe(labs):
    """Cisco `no mpls ip propagate-ttl forwarded`: a vantage point on the PE router itself
    (its own locally generated traceroute) sees the LSRs with labels and rising qTTL, and the
    truth walked from pe1 says explicit; from vp the same LSP is invisible."""
    from checks import check_invisible_php
    from testbed.truth import tunnels_on, walk
    lab, pr, hops = run(labs, "split-pipe")
    check_invisible_php(lab, hops, 3)
    lab, cp = labs("split-pipe")
    dst = str(lab.probes[0].targets[0])
    own = ScriptedProber(Sim(lab, cp), "pe1").trace(dst)
    addrs = [in_addr(lab, n, p) for p, n in (("pe1", "p1"), ("p1", "p2"), ("p2", "p3"), ("p3", "pe2"))]
    assert [h.address for h in own[:4]] == addrs
    assert [h.labels[0][1] for h in own[:3]] == [1, 1, 1] and [h.quoted_ttl for h in own[:3]] == [1, 2, 1]
    assert [t.cls for t in tunnels_on(lab, walk(cp, "pe1", dst)[0])] == ["explicit"]
    assert [t.cls for t in tunnels_on(lab, walk(cp, "vp", dst)[0])] == ["invisible-php"]
    # without the split (pipe for local packets too) the PE's own trace is as blind as the CE's
    import dataclasses
    from testbed.controlplane import build
    from testbed.lab import load_lab
    lab2 = load_lab("split-pipe")
    for n in lab2.routers:
        if n.domain:
            n.personality = dataclasses.replace(n.personality, ttl_propagate_local=False)
    own = ScriptedProber(Sim(lab2, build(lab2)), "pe1").trace(dst)
    assert own[0].address == in_addr(lab2, "pe2", "p3")
