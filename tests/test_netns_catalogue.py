"""The catalogue's second round (issue 13) in real namespaces, seen by independent tools:
Debian's scamper (JSON: icmpext mpls_labels, reply_ttl, icmp_q_ttl, reply_size), traceroute -e
and tcpdump. Each lab comes up under a run-unique name and is checked gone afterwards. The
library labs ldp-over-rsvp and huawei-bgp-free are also compared with the sim field by field in
test_netns_signatures.py (every library lab is)."""
from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from checks import in_addr, traceroute_e
from labnames import N
from test_catalogue_knobs import expected_quote_sizes, no_decrement_lab, quote_lab
from test_netns_signatures import assert_gone, row
from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.netns import api
from testbed.tools import scamper
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not (shutil.which("scamper") and shutil.which("traceroute") and shutil.which("tcpdump")),
                                 reason="Debian's scamper, traceroute and tcpdump are needed")]


def test_no_decrement_ttl_scamper_and_traceroute_see_two_hops(tmp_path):
    lab, cp = no_decrement_lab(tmp_path)
    dst = str(lab.probes[0].targets[0])
    sim_hops = ScriptedProber(Sim(lab, cp), "vp").trace(dst)
    name = N("pt-nodec")
    st = api.up(lab, name=name)
    try:
        hops = scamper.trace_with_pings(st["hosts"]["vp"], dst)
        lines = traceroute_e(st["hosts"]["vp"], dst)
    finally:
        api.down(name)
    assert_gone(name)
    assert [row(h) for h in hops] == [row(h) for h in sim_hops]
    pe2 = hops[2]
    assert (hops[1].address, pe2.address) == (in_addr(lab, "pe1", "ce1"), in_addr(lab, "pe2", "p3"))
    assert pe2.labels == [] and (255 - pe2.reply_ttl) - (64 - pe2.er_ttl) == 0   # no RTLA
    assert pe2.reply_ttl == 255 - 2                    # pe2 -> ce1 -> vp: the return LSP counts nothing
    assert in_addr(lab, "pe2", "p3") in lines[3] and "MPLS" not in "".join(lines.values())


def test_quote_lengths_as_scamper_and_tcpdump_see_them(tmp_path):
    """Reply sizes: scamper's reply_size for its own probes (probe_size bytes) and the IP
    lengths tcpdump records for traceroute's 328-byte probes (plus the UDP port-unreachable of
    dst, a real Linux kernel: 548 bytes at most, RFC 1812 4.3.2.3) equal 20 + 8 + min(quote, probe)."""
    lab, cp = quote_lab(tmp_path)
    dst = str(lab.probes[0].targets[0])
    name = N("pt-quotes")
    st = api.up(lab, name=name)
    pcap = tmp_path / "vp.pcap"
    try:
        ns = st["hosts"]["vp"]
        doc = scamper.trace(ns, dst)
        cap = subprocess.Popen(api.capture_argv(name, "vp", "eth0", str(pcap)), stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
        assert b"listening" in cap.stderr.readline()
        traceroute_e(ns, dst, "300")                   # ICMP probes of 300 bytes (traceroute's packetlen: IP total)
        subprocess.run(["ip", "netns", "exec", ns, "traceroute", "-n", "-U", "-q", "1", "-w", "1", "-f", "4", dst, "328"],
                       capture_output=True, timeout=60)
        time.sleep(1.5)                                # tcpdump hands packets over per ring block (1 s timeout)
        cap.terminate()
        cap.wait()
    finally:
        api.down(name)
    assert_gone(name)
    size = doc["hops"][0]["probe_size"] if "probe_size" in doc["hops"][0] else doc["probe_size"]
    want = expected_quote_sizes(lab, size)
    got = {lab.owner_of(h["addr"]): h["reply_size"] for h in doc["hops"] if h.get("icmp_type") == 11}
    assert got == {n: want[n] for n in ("r1", "r2", "r3")}, (size, got)
    from scapy.all import ICMP, IP, rdpcap
    seen = {}
    for p in rdpcap(str(pcap)):
        if IP in p and ICMP in p and p[ICMP].type in (3, 11):
            seen.setdefault((lab.owner_of(p[IP].src), p[ICMP].type), set()).add(p[IP].len)
    want = expected_quote_sizes(lab, 300)
    assert seen[("r1", 11)] == {want["r1"]}
    assert seen[("r2", 11)] == {want["r2"]} and seen[("r3", 11)] == {want["r3"]}
    assert seen[("dst", 3)] == {expected_quote_sizes(lab, 328)["dst"]}


@pytest.mark.parametrize("vendor", ["juniper", "cisco"])
def test_ldp_over_rsvp_traceroute_e(vendor):
    """traceroute -e: Junos (255) shows p1 and p4 with one LDP label; Cisco (copy) shows p2 and
    p3 with the RSVP label (S=0, T=1) over the LDP label (S=1), values equal to the sim's."""
    lab = load_lab("ldp-over-rsvp", {"vendor": vendor})
    dst = str(lab.probes[0].targets[0])
    sim_hops = ScriptedProber(Sim(lab, build(lab)), "vp").trace(dst)
    name = N("pt-ldprsvp")
    st = api.up(lab, name=name)
    try:
        lines = traceroute_e(st["hosts"]["vp"], dst)
    finally:
        api.down(name)
    assert_gone(name)
    seen = set(re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", " ".join(lines.values())))
    shown = [n for n in ("p1", "p2", "p3", "p4") if seen & {str(a) for a in lab.nodes[n].addresses()}]
    for ttl, h in enumerate(sim_hops, start=1):
        if not h.labels:
            continue
        lses = re.findall(r"L=(\d+),E=0,S=(\d),T=(\d+)", lines[ttl])
        assert [(int(lbl), int(t)) for lbl, _, t in lses] == h.labels, (lines[ttl], h.labels)
        assert [s for _, s, _ in lses] == ["0"] * (len(lses) - 1) + ["1"]
    if vendor == "juniper":
        assert shown == ["p1", "p4"]
    else:
        assert shown == ["p1", "p2", "p3", "p4"] and len(re.findall(r"L=", lines[4])) == 2


def test_bgp_free_core_traceroute_stars():
    lab = load_lab("huawei-bgp-free")
    dst = str(lab.probes[0].targets[0])
    name = N("pt-bgpfree")
    st = api.up(lab, name=name)
    try:
        lines = traceroute_e(st["hosts"]["vp"], dst)
        pings = scamper.ping(st["hosts"]["vp"], [str(lab.nodes["p2"].loopback), str(lab.nodes["pe2"].loopback)])
    finally:
        api.down(name)
    assert_gone(name)
    assert [lines[t].strip() for t in (3, 4, 5)] == ["*"] * 3
    assert in_addr(lab, "pe2", "p3") in lines[6] and "MPLS" not in lines[6]
    assert pings[str(lab.nodes["p2"].loopback)] is None and pings[str(lab.nodes["pe2"].loopback)] is not None
