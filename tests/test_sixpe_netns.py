"""6PE on real namespaces: the hosts are dual-stack Linux namespaces (IPv6 on, the routers'
kernels keep it off: the engine carries IPv6 on its packet sockets), and Debian's
`traceroute -6 -e` and scamper (`trace -P icmp-paris`, JSON) traced toward the IPv6
destination from vp's kernel agree with the sim and with what the truth predicts: the
::ffff: mapped sources of the P routers, the two quoted labels with their LSE-TTLs, reply
hop limits (the tunnelled u-turn)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from checks import sixpe_expected
from labnames import N
from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.netns import api, teardown
from testbed.tools import scamper
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not shutil.which("scamper") or not shutil.which("traceroute"),
                                 reason="Debian's scamper and traceroute are needed")]
MPLS = re.compile(r"L=(\d+),E=\d+,S=\d,T=(\d+)")


def traceroute6(ns: str, dst: str) -> dict[int, tuple]:
    """`traceroute -6 -n -e -I -q 1 -w 1`: per TTL (address, [(label, LSE-TTL)])."""
    r = subprocess.run(["ip", "netns", "exec", ns, "traceroute", "-6", "-n", "-e", "-I", "-q", "1", "-w", "1", dst],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    out = {}
    for m in re.finditer(r"^\s*(\d+)\s+(\S+)(?:\s+<MPLS:([^>]*)>)?", r.stdout, re.M):
        labels = [(int(a), int(b)) for a, b in MPLS.findall(m.group(3) or "")]
        out[int(m.group(1))] = (m.group(2), labels)
    return out


def test_traceroute6_and_scamper_through_a_6pe_core_agree_with_the_sim():
    lab = load_lab("6pe")
    cp = build(lab)
    dst = str(lab.probes[0].targets6[0][0])
    sim = [(h.address, h.labels, h.reply_ttl) for h in ScriptedProber(Sim(lab, cp), "vp").trace6(dst)]
    want = sixpe_expected(lab, cp)
    assert sim == want
    name = N("pt-6pe")
    st = api.up(lab, name=name)
    try:
        assert st["status"] == "up" and st["check"]["ok"]
        vp = st["hosts"]["vp"]
        tr = traceroute6(vp, dst)
        doc = scamper.trace(vp, dst, "icmp-paris")
        routers_v6 = [subprocess.run(["ip", "netns", "exec", st["routers"][r],
                                      "sysctl", "-n", "net.ipv6.conf.all.disable_ipv6"],
                                     capture_output=True, text=True).stdout.strip() for r in ("pe1", "p1")]
        lladdr = subprocess.run(["ip", "-n", vp, "-6", "addr", "show", "scope", "link"], capture_output=True,
                                text=True).stdout
    finally:
        api.down(name)
    left = teardown.leftovers(name)
    assert left == {"namespaces": [], "processes": [], "run_dir": []}, left
    assert routers_v6 == ["1", "1"], "the routers' kernels keep IPv6 off: the engine alone answers"
    assert "inet6" not in lladdr, "no link-local address on the host side"
    assert [tr[t] for t in sorted(tr)] == [(a, labels) for a, labels, _ in want]
    hops = scamper.hops_of(doc)
    assert [(h.address, h.labels, h.reply_ttl) for h in hops] == want
    assert [h.icmp_type for h in hops] == [3] * (len(want) - 1) + [129]    # ICMPv6 time exceeded, echo reply
    assert [h.quoted_ttl for h in hops[2:6]] == [1, 2, 3, 4]
