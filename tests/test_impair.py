"""Link impairments (delay_ms, jitter_ms, loss) on real namespaces and on the sim.

One lab, three impaired links side by side behind r1, each with its own destination:
  r1-r2 (routers): delay 20 ms            -> d2: every echo RTT >= 40 ms (20 ms each way)
  r3-d3 (a host's p2p link): 20 +/- 10 ms -> d3: RTT = two draws of U(10, 30) ms: some below
                                             32 ms and some above 48 ms (impossible without the
                                             jitter: >= 40 always), none below 20 ms
  r4 + d4 (a host's LAN): loss 0.3        -> d4: an echo lives if both crossings do: 0.49
The namespace side is Debian's scamper in vp's kernel namespace; the sim side is an echo
prober on the sim's virtual clock. Both are held to the same bounds (the model is one:
testbed/runtimes/impair.py). The host links are impaired by their router (both directions).
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess

import pytest
from scipy.stats import binom

from labnames import N
from testbed.lab import load_lab

LAB = """
name: impair
description: three impaired links behind r1
defaults: {p2p_prefix: 31}
routers: {r1: {}, r2: {}, r3: {}, r4: {}}
hosts: {vp: {}, d2: {}, d3: {}, d4: {}}
links:
  - {lan: [r1, vp], name: vp-lan}
  - {endpoints: [r1, r2], delay_ms: 20}
  - {lan: [r2, d2], name: d2-lan}
  - [r1, r3]
  - {endpoints: [r3, d3], delay_ms: 20, jitter_ms: 10}
  - [r1, r4]
  - {lan: [r4, d4], name: d4-lan, loss: 0.3}
probes:
  - {from: vp, to: [d2, d3, d4]}
seed: 7
"""
PINGS = 60
SURVIVE = 0.7 * 0.7           # both crossings of the lossy link


def loss_bounds(n=PINGS, p=SURVIVE, tail=1e-5):
    return int(binom.ppf(tail, n, p)), int(binom.isf(tail, n, p))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    f = tmp_path_factory.mktemp("impair") / "impair.yaml"
    f.write_text(LAB)
    return load_lab(f)


def check(rtts: dict[str, list], lost: int, n: int):
    """rtts: destination -> RTTs in ms of the echoes answered."""
    d2, d3 = rtts["d2"], rtts["d3"]
    assert len(d2) == n and min(d2) >= 40.0, d2            # 20 ms each way, never less
    assert statistics.median(d2) < 70.0, d2
    assert len(d3) == n and min(d3) >= 19.9, d3            # the jitter never makes a frame early
    assert min(d3) < 32.0 and max(d3) > 48.0, d3           # spread: without jitter all >= 40
    assert statistics.pstdev(d3) > 4.0, d3                 # (U(-10,10) twice: sd 8.2 ms)
    lo, hi = loss_bounds(n)
    assert lo <= n - lost <= hi, (n - lost, lo, hi)


# ----------------------------------------------------------------------------- sim
def sim_pings(sim, lab, host: str, dst: str, n: int) -> list:
    from scapy.all import ICMP, IP, Ether, raw
    from testbed.tools.scripted import ScriptedProber
    pr = ScriptedProber(sim, host)
    addr = str(lab.nodes[dst].primary_address())
    out = []
    for seq in range(n):
        t0 = sim.now
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / IP(src=pr.src, dst=addr) / ICMP(type=8, id=77, seq=seq)))
        sim.run(1.0, until_delivery=True)
        got = [f for f in pr.port.recv_all() if f[12:14] == b"\x08\x00" and f[14 + 20] == 0]
        out.append(round((sim.now - t0) * 1000.0, 3) if got else None)
        sim.run(0.1)
    return out


def test_sim_delay_jitter_loss(lab):
    from testbed.runtimes.sim import Sim
    rtts, lost = {}, 0
    for d in ("d2", "d3", "d4"):
        r = sim_pings(Sim(lab), lab, "vp", d, PINGS)
        rtts[d] = [x for x in r if x is not None]
        if d == "d4":
            lost = r.count(None)
    check(rtts, lost, PINGS)


def test_sim_impairments_are_seeded(lab):
    from testbed.runtimes.sim import Sim
    a = sim_pings(Sim(lab), lab, "vp", "d4", 30)
    assert a == sim_pings(Sim(lab), lab, "vp", "d4", 30)            # the lab's seed: the same run
    b = sim_pings(Sim(lab, seed=8), lab, "vp", "d4", 30)
    assert [x is None for x in a] != [x is None for x in b]         # another seed, other frames lost
    j = sim_pings(Sim(lab), lab, "vp", "d3", 10)
    assert j == sim_pings(Sim(lab), lab, "vp", "d3", 10)


def test_unimpaired_lab_has_no_impairment():
    """Library labs keep the direct path on namespaces (no delay written, no jitter, no loss)."""
    from testbed.runtimes.netns.impair import port_impairments
    lab = load_lab("explicit")
    assert all(port_impairments(lab, r) == (None, None) for r in lab.routers)


def test_bad_values_name_the_field_and_range(tmp_path):
    from testbed.errors import LabError
    for bad, field, allowed in (("loss: 1.5", "loss", "0..1"), ("jitter_ms: -2", "jitter_ms", "0..10000"),
                                ("loss: 30%", "loss", "0..1")):
        f = tmp_path / "bad.yaml"
        f.write_text(LAB.replace("loss: 0.3", bad))
        with pytest.raises(LabError) as e:
            load_lab(f)
        msg = str(e.value)
        assert "bad.yaml:14:" in msg and field in msg and allowed in msg, msg


# ----------------------------------------------------------------------------- netns
def scamper_pings(ns: str, addrs: list[str], n: int) -> dict[str, list]:
    r = subprocess.run(["ip", "netns", "exec", ns, "scamper", "-O", "json", "-p", "200", "-c",
                        f"ping -c {n} -i 0.1 -W 2", "-i"] + addrs, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        d = json.loads(line) if line.startswith("{") else {}
        if d.get("type") == "ping":
            seqs = {x["seq"]: x["rtt"] for x in d.get("responses", [])
                    if x.get("from") == d["dst"] and x.get("icmp_type") == 0}
            out[d["dst"]] = [seqs.get(i) for i in range(n)]
    return out


@pytest.mark.netns
@pytest.mark.skipif(not shutil.which("scamper"), reason="Debian's scamper is not installed")
def test_netns_delay_jitter_loss_seen_by_scamper(lab):
    from testbed.runtimes.netns import api, teardown
    name = N("pt-impair")
    st = api.up(lab, name=name)
    try:
        ns = st["hosts"]["vp"]
        addr = {d: str(lab.nodes[d].primary_address()) for d in ("d2", "d3", "d4")}
        gw = str(lab.nodes["vp"].gateway)
        scamper_pings(ns, list(addr.values()) + [gw], 3)        # ARP caches warm
        got = scamper_pings(ns, list(addr.values()) + [gw], PINGS)
        base = [x for x in got[gw] if x is not None]
        assert base and statistics.median(base) < 15.0, base   # vp-lan is not impaired
        rtts = {d: [x for x in got[a] if x is not None] for d, a in addr.items()}
        check(rtts, got[addr["d4"]].count(None), PINGS)
    finally:
        api.down(name)
    assert not any(teardown.leftovers(name).values())
