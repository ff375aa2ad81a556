"""Router vantage points on namespaces (issue 13): the split-pipe lab seen from the CE side
(vp, a host) and from the PE itself (pe1's own stack), with Debian's scamper and
`traceroute -e` in pe1's prober namespace and uTNT on pe1's tap, each compared hop for hop
with the sim (the scripted prober and uTNT on the sim's RouterPort).

Cisco split pipe (`no mpls ip propagate-ttl forwarded`): from vp the LSP is invisible
(pe1, then pe2 with FRPLA 3); from pe1 it is explicit (p1..p3 quote their labels with
LSE-TTL 1, qTTL 1 2 1). Containment: the attachment lives in lab namespaces only; the root
namespace gains no interface, and `down` leaves nothing behind.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from checks import in_addr
from labnames import N
from testbed.controlplane import build
from testbed.detectors import traceroute_text
from testbed.detectors.utnt import probe_sim, utnt_args
from testbed.probing import probe_lab
from testbed.lab import load_lab
from testbed.runtimes.netns import api, teardown
from testbed.tools import scamper
from testbed.runtimes.sim import Sim
from testbed.scoring import score_run
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not shutil.which("scamper"), reason="Debian's scamper is not installed")]


def row(h):
    return (h.ttl, h.address, h.icmp_type, h.icmp_code, h.reply_ttl, h.quoted_ttl, tuple(h.labels), h.er_ttl)


def utnt_row(h):
    return (h["address"], h["probe_ttl"], h["icmp_type"], h["reply_ttl"], h["quoted_ttl"], h["er_ttl"],
            [(x["label"], x["ttl"]) for x in h["labels"]], h["frpla"], h["rtla"], h["uturn"],
            (h["mpls"] or {}).get("class"), (h["mpls"] or {}).get("role"), h["revealed"])


def root_links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


@pytest.fixture(scope="module")
def lab_up():
    lab = load_lab("split-pipe")
    name = N("pt-rvp")
    before = root_links()
    st = api.up(lab, name=name)
    try:
        yield lab, name, st
    finally:
        api.down(name)
        assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
        assert root_links() == before


def test_router_attachment_is_in_lab_namespaces_only(lab_up):
    lab, name, st = lab_up
    att = api.attachment(name, "pe1")
    assert att["namespace"] == st["routers"]["pe1"]
    assert att["prober_namespace"].startswith(st["prefix"])
    assert att["address"] == str(lab.nodes["pe1"].loopback)
    # forwarding was checked from pe1's prober namespace too (an echo reply through the engine)
    assert {"pe1", "vp"} <= {p["from"] for p in st["check"]["pings"]}
    links = subprocess.run(["ip", "-n", att["prober_namespace"], "-o", "addr", "show"], capture_output=True,
                           text=True, check=True).stdout
    assert f"{att['address']}/32" in links


def test_scamper_from_the_ce_side_and_from_the_pe_match_the_sim(lab_up):
    lab, name, st = lab_up
    cp = build(lab)
    dst = str(lab.probes[0].targets[0])
    from_vp = scamper.trace_with_pings(st["hosts"]["vp"], dst)
    from_pe = scamper.trace_with_pings(api.prober_namespace(name, "pe1"), dst)
    sim_vp = ScriptedProber(Sim(lab, cp), "vp").trace(dst)
    sim_pe = ScriptedProber(Sim(lab, cp), "pe1").trace(dst)
    assert [row(h) for h in from_vp] == [row(h) for h in sim_vp]
    assert [row(h) for h in from_pe] == [row(h) for h in sim_pe]
    # the split pipe itself: invisible from vp, explicit from pe1
    assert [lab.owner_of(h.address) for h in from_vp] == ["ce1", "pe1", "pe2", "ce2", "dst"]
    assert [h.address for h in from_pe[:4]] == [in_addr(lab, n, p) for p, n in
                                                (("pe1", "p1"), ("p1", "p2"), ("p2", "p3"), ("p3", "pe2"))]
    assert [h.labels[0][1] for h in from_pe[:3]] == [1, 1, 1] and [h.quoted_ttl for h in from_pe[:3]] == [1, 2, 1]


def test_traceroute_e_from_the_pe_matches_the_sim(lab_up):
    lab, name, st = lab_up
    dst = str(lab.probes[0].targets[0])
    out = subprocess.run(["ip", "netns", "exec", api.prober_namespace(name, "pe1"), "traceroute", "-e", "-n", "-I",
                          "-q", "1", "-w", "1", "-N", "1", dst], capture_output=True, text=True, check=True).stdout
    got = traceroute_text.parse(out, "traceroute from pe1")[0]["hops"]
    sim = ScriptedProber(Sim(lab, build(lab)), "pe1").trace(dst, fingerprint=False)
    assert [(h["address"], [(x["label"], x["ttl"]) for x in h.get("labels") or []]) for h in got] == \
        [(h.address, list(h.labels)) for h in sim]


def test_utnt_on_the_pe_tap_matches_utnt_on_the_sim_and_the_truth(lab_up):
    lab, name, st = lab_up
    cp = build(lab)
    dst = str(lab.probes[0].targets[0])
    net = probe_lab(lab, "netns", [("pe1", [dst]), ("vp", [dst])], [], name=name, seed=0)
    sim = probe_lab(lab, "sim", [("pe1", [dst]), ("vp", [dst])], [], cp=cp, seed=0)
    assert net[0]["src"] == sim[0]["src"]          # the router's loopback (a host's uTNT has its own address)
    for a, b in zip(net, sim):
        assert [utnt_row(h) for h in a["hops"]] == [utnt_row(h) for h in b["hops"]]
    assert net[0]["src"] == str(lab.nodes["pe1"].loopback)
    tun = net[0]["tunnels"][0]
    assert tun["class"] == "EXP" and [lab.owner_of(x) for x in tun["lsrs"]] == ["p1", "p2", "p3"]
    assert net[1]["tunnels"][0]["class"] == "INV"
    sc = score_run(lab, ground_truth(cp), net)
    verdicts = {(s["vantage_point"], v["truth"]["class"]): v["verdict"] for s in sc["traces"] for v in s["verdicts"]}
    # from the PE the only miss is the ingress: the trace has no hop for its own router (tnt.md 3)
    assert verdicts == {("vp", "invisible-php"): "correct", ("pe1", "explicit"): "partly: ingress"}
    reasons = {s["vantage_point"]: v.get("reason") for s in sc["traces"] for v in s["verdicts"]}
    assert reasons["vp"] is None and reasons["pe1"].startswith("router-vp-ingress: the vantage point is the ingress")
    assert probe_sim(lab, cp, "pe1", [dst], utnt_args([]))["traces"][0]["hops"][0]["address"] == net[0]["hops"][0]["address"]
