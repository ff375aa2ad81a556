"""The namespace runtime seen by independent tools: Debian's scamper (and traceroute), run in
the vantage point's namespace against every library lab, see hop by hop what the sim sees.

No code of ours is in the probe path: scamper's probes leave vp's kernel, cross the engine
workers' packet sockets, and the replies come back to scamper. Each test brings its lab up
under a test name (pt-...), traces, compares with a sim run of the same lab field by field
(address, ICMP type and code, reply TTL, quoted TTL, label stack with LSE-TTLs, echo-reply
TTL), checks the class signature explicitly (the assertions of test_sim_signatures.py), then
takes the lab down and verifies that nothing of it is left.
"""
from __future__ import annotations

import re
import shutil

import pytest

from checks import CHECKS, check_juniper, in_addr, traceroute_e
from testbed.controlplane import build
from testbed.lab import lab_names, load_lab
from testbed.runtimes.netns import api, teardown
from testbed.tools import scamper
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from labnames import N
from testbed.truth.walk import walk

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not shutil.which("scamper"), reason="Debian's scamper is not installed")]


def row(h):
    # an entropy label (the entry under ELI 7) is a hash of the probe's flow: scamper's probes
    # are not the sim prober's, so only its place and TTL are compared
    labels = tuple(("EL", t) if i and h.labels[i - 1][0] == 7 else (lbl, t) for i, (lbl, t) in enumerate(h.labels))
    return (h.ttl, h.address, h.icmp_type, h.icmp_code, h.reply_ttl, h.quoted_ttl, labels, h.er_ttl)


def assert_gone(name):
    left = teardown.leftovers(name)
    assert left == {"namespaces": [], "processes": [], "run_dir": []}, left


SCENARIOS = [(n, {}) for n in lab_names()] + [
    ("explicit", {"lsrs": 5}), ("implicit", {"lsrs": 4}), ("opaque", {"lsrs": 6}), ("invisible-php", {"lsrs": 5}),
    ("invisible-php-juniper", {"lsrs": 4}), ("invisible-php", {"vendor": "juniper"}),
    ("ldp-over-rsvp", {"vendor": "cisco"}),
]


def _ids(sc):
    n, p = sc
    return n + "".join(f"-{k}{v}" for k, v in p.items())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[_ids(s) for s in SCENARIOS])
def test_scamper_in_namespaces_matches_sim(scenario):
    lab_name, params = scenario
    lab = load_lab(lab_name, params)
    dst = str(lab.probes[0].targets[0])
    src = lab.probes[0].source                  # "vp" in the chain labs, vp1 in five-vp
    sim_hops = ScriptedProber(Sim(lab, build(lab)), src).trace(dst)
    name = N("pt-" + lab_name)
    st = api.up(lab, name=name)
    try:
        assert st["status"] == "up" and st["check"]["ok"]
        hops = scamper.trace_with_pings(st["hosts"][src], dst)
    finally:
        api.down(name)
    assert_gone(name)
    if len(walk(build(lab), src, dst)) > 1:
        # equal-cost paths: scamper's own Paris flow picked one; the sim, probing with other flows,
        # finds the same path and must then agree field by field
        addrs = [h.address for h in hops]
        for flow in range(0x4d21, 0x4d21 + 64):
            cand = ScriptedProber(Sim(lab, build(lab)), src, icmp_id=flow).trace(dst)
            if [h.address for h in cand][:len(addrs)] == addrs:
                sim_hops = cand
                break
    last = max(h.ttl for h in sim_hops if h.address)
    assert [row(h) for h in hops] == [row(h) for h in sim_hops if h.ttl <= last]
    check = CHECKS.get(lab_name)
    if check is None:
        return
    if lab_name == "invisible-php" and params.get("vendor") == "juniper":
        return check_juniper(lab, hops, 3)
    if "lsrs" in params:
        return check(lab, hops, params["lsrs"])
    check(lab, hops)


def test_every_library_lab_has_a_scamper_check():
    assert set(lab_names()) <= set(CHECKS), "a new library lab needs its class check here"


# ---- revelation, as scamper sees it in real namespaces

def test_brpr_and_dpr_with_scamper():
    lab = load_lab("invisible-php")
    name = N("pt-reveal")
    st = api.up(lab, name=name)
    try:
        vp = st["hosts"]["vp"]
        pe1 = in_addr(lab, "pe1", "ce1")
        target = in_addr(lab, "pe2", "p3")
        for expect, prev in (("p3", "p2"), ("p2", "p1"), ("p1", "pe1")):
            hops = scamper.trace_with_pings(vp, target, fingerprint=False)
            addrs = [h.address for h in hops]
            assert addrs[-1] == target
            revealed = addrs[addrs.index(pe1) + 1:-1]
            assert revealed == [in_addr(lab, expect, prev)], "BRPR reveals one LSR per trace"
            target = revealed[0]
    finally:
        api.down(name)
    assert_gone(name)
    lab = load_lab("invisible-php-juniper")
    st = api.up(lab, name=name)
    try:
        target = in_addr(lab, "pe2", "p3")
        hops = scamper.trace_with_pings(st["hosts"]["vp"], target, fingerprint=False)
        addrs = [h.address for h in hops]
        pe1 = in_addr(lab, "pe1", "ce1")
        assert addrs[addrs.index(pe1) + 1:-1] == [in_addr(lab, "p1", "pe1"), in_addr(lab, "p2", "p1"),
                                                  in_addr(lab, "p3", "p2")], "DPR reveals all LSRs at once"
    finally:
        api.down(name)
    assert_gone(name)


@pytest.mark.parametrize("p2p", [31, 30])
def test_buddy_udp_trace_ends_in_port_unreachable(p2p):
    # scamper sees the hidden UHP egress answer the probe to its far-side address from its
    # interface toward the prober (RFC 1812 4.3.2.4), on /31 and /30 links; a Linux egress
    # answers from the probed address (what defeats TNT's buddy technique, tnt.md 4.4)
    lab = load_lab("invisible-uhp", {"p2p_prefix": p2p})
    linux = load_lab("invisible-uhp", {"p2p_prefix": p2p, "ler_vendor": "linux"})
    name = N(f"pt-buddy{p2p}")
    out = []
    for lb in (lab, linux):
        st = api.up(lb, name=name)
        try:
            buddy = in_addr(lb, "pe2", "ce2")
            out.append((buddy, scamper.trace_with_pings(st["hosts"]["vp"], buddy, method="udp-paris",
                                                        fingerprint=False)))
        finally:
            api.down(name)
        assert_gone(name)
    (buddy, hops), (lbuddy, lhops) = out
    assert hops[-1].address == in_addr(lab, "pe2", "p3") != buddy
    assert hops[-1].icmp_type == 3 and hops[-1].icmp_code == 3
    assert hops[-2].address == in_addr(lab, "pe1", "ce1")
    assert (lhops[-1].address, lhops[-1].icmp_type, lhops[-1].icmp_code) == (lbuddy, 3, 3)


@pytest.mark.skipif(not shutil.which("traceroute"), reason="Debian's traceroute is not installed")
def test_traceroute_e_shows_labels_on_explicit_lsrs():
    lab = load_lab("explicit")
    name = N("pt-traceroute")
    st = api.up(lab, name=name)
    try:
        dst = str(lab.probes[0].targets[0])
        lines = traceroute_e(st["hosts"]["vp"], dst, timeout=60)
    finally:
        api.down(name)
    assert_gone(name)
    for ttl, node, prev in ((3, "p1", "pe1"), (4, "p2", "p1"), (5, "p3", "p2")):
        assert in_addr(lab, node, prev) in lines[ttl]
        assert re.search(r"<MPLS:L=\d+,E=0,S=1,T=1>", lines[ttl]), lines[ttl]
    for ttl in (1, 2, 6, 7):
        assert "MPLS" not in lines[ttl]


@pytest.mark.skipif(not shutil.which("traceroute"), reason="Debian's traceroute is not installed")
@pytest.mark.parametrize("lab_name", ["l3vpn", "sr-mpls"])
def test_traceroute_e_shows_the_catalogue_stacks(lab_name):
    """Issue 13 with Debian's traceroute: the L3VPN LSRs quote two LSEs (transport with S=0
    and T=1 over the VPN label with S=1), labels that differ hop by hop; SR-MPLS quotes the
    same node SID at every LSR. Label values are compared with the sim's."""
    lab = load_lab(lab_name)
    dst = str(lab.probes[0].targets[0])
    sim_hops = ScriptedProber(Sim(lab, build(lab)), "vp").trace(dst)
    name = N("pt-tre-" + lab_name)
    st = api.up(lab, name=name)
    try:
        lines = traceroute_e(st["hosts"]["vp"], dst, timeout=60)
    finally:
        api.down(name)
    assert_gone(name)
    seen = {}
    for ttl, node, prev in ((3, "p1", "pe1"), (4, "p2", "p1"), (5, "p3", "p2")):
        assert in_addr(lab, node, prev) in lines[ttl]
        lses = re.findall(r"L=(\d+),E=0,S=(\d),T=(\d+)", lines[ttl])
        seen[node] = [int(x[0]) for x in lses]
        assert seen[node] == [lbl for lbl, _ in sim_hops[ttl - 1].labels], (lines[ttl], sim_hops[ttl - 1].labels)
        if lab_name == "l3vpn":
            assert [(s, t) for _, s, t in lses][0] == ("0", "1") and lses[1][1] == "1"
        else:
            assert len(lses) == 1 and lses[0][1:] == ("1", "1")
    tops = [v[0] for v in seen.values()]
    if lab_name == "l3vpn":
        assert len(set(tops)) == 3 and len({v[1] for v in seen.values()}) == 1
    else:
        assert len(set(tops)) == 1
