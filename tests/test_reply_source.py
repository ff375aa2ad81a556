"""A reply's source address and its path are one decision (testbed/engine/reply.py).

A router with equal-cost next hops back to the prober picks the next hop of its reply first
(the hash of the packet it answers) and takes its source from it (RFC 1812 4.3.2.4, rule
"outgoing"), so the address a reply shows names the interface whose return path its TTL
counted. Checked on real packets over 100 Paris flows, on the ecmp-return lab (p2 has two
equal-cost next hops back, p1 direct and x: 3 and 4 hops; pe2's reply is hashed by p2 onto
either), Cisco-like and Juniper-like: for every time-exceeded quoting no label (IP-routed from
the answering router), the reply TTL is initial TTL - r + 1 for a return path r of the truth
(truth/report.py reply_paths) that leaves by the interface the source address names. The
engine before this rule (source hashed on the probe, path on the reply) gave p2's 11.0.0.3
(its p1 interface) with the reply TTL of the path through x.

Probes: scapy-built ICMP Paris echo requests (ICMP id = flow) through the sim (testbed/tools/
scripted.py) and through the namespaces from the vantage point's kernel (tests/reply_probe.py);
uTNT with 100 flows on the sim; on namespaces uTNT and, when built, the original TNT."""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest

from testbed.controlplane import build
from testbed.engine.reply import INCOMING, source_mode
from testbed.lab import load_lab
from testbed.truth import ground_truth
from testbed.truth.report import reply_paths

LAB = Path(__file__).resolve().parent / "labs" / "ecmp-return.yaml"
FLOWS = 100
VENDORS = [{}, {"vendor": "juniper"}]


def _targets(lab, cp):
    """d1 (pe2 answers at TTL 2, its reply hashed by p2) and pe2's address toward p2, the
    revelation target (p2 answers it unlabelled: the LSP toward it ends at p2)."""
    fwd = ground_truth(cp)["probes"][0]["paths"][0]["forward"]
    return [str(lab.probes[0].targets[0]), next(s["address"] for s in fwd if s["node"] == "pe2")]


def check(lab, cp, vp: str, replies) -> tuple[list, Counter]:
    """Replies [(address, reply TTL, ICMP type, quoted labels)] against the truth's return paths:
    (the inconsistent ones, how many were checked per (router, source) of a router with several
    sources)."""
    to = lab.nodes[vp].primary_address()
    paths, bad, seen = {}, [], Counter()
    for addr, rttl, itype, labels in replies:
        if itype != 11 or labels or addr is None:
            continue
        owner = lab.owner_of(addr)
        if owner not in paths:
            paths[owner] = reply_paths(cp, owner, to)
        ps = paths[owner]
        node = lab.nodes[owner]
        ittl = node.personality.ttl_time_exceeded
        incoming = source_mode(node.icmp_source, "time_exceeded") == INCOMING
        want = {ittl - p["r"] + 1 for p in ps if incoming or p["from"] == addr}
        if rttl not in want:
            bad.append((owner, addr, rttl, sorted(want)))
        if len({p["from"] for p in ps}) > 1:
            seen[(owner, addr)] += 1
    return bad, seen


def _assert(bad, seen, who):
    assert not bad, f"{who}: replies whose source names another return path than their TTL: {bad[:5]}"
    p2 = {a for (o, a) in seen if o == "p2"}
    assert len(p2) == 2, f"{who}: p2 answered from {p2}, not from both of its interfaces back"


@pytest.mark.parametrize("params", VENDORS, ids=["cisco", "juniper"])
def test_scripted_paris_probes_on_the_sim(params):
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    lab = load_lab(LAB, params)
    cp = build(lab)
    pr = ScriptedProber(Sim(lab, cp), "vp", wait=0.05)
    replies, targets = [], _targets(lab, cp)
    for f in range(1, FLOWS + 1):
        pr.icmp_id = f
        for dst in targets:
            for ttl in (1, 2):          # pe1, then p2 (toward pe2's address) or pe2 (toward d1)
                h = pr.probe(dst, ttl)
                replies.append((h.address, h.reply_ttl, h.icmp_type, h.labels))
    bad, seen = check(lab, cp, "vp", replies)
    _assert(bad, seen, "scripted probes")
    assert sum(seen.values()) >= FLOWS        # every flow's p2 and pe2 replies were checked


def test_return_lengths_through_a_uniform_tunnel_without_write_back():
    """A reply crossing a uniform (ttl_propagate) PHP tunnel whose penultimate hop does not
    write the LSE-TTL back (php_ttl_writeback false, a matrix axis) leaves the pop with the
    IP-TTL the ingress wrote: the tunnel's LSRs do not count. Every router's echo reply to a
    scapy-built ping arrives with the TTL of a return path of the truth, write-back on and
    off, and the knob moves those of pe2 and ce2 (behind the tunnel) by its two LSRs. (Found
    by `make conformance`: both detectors saw a router answer with TTL 249 over two
    equal-cost paths where the truth said 248. Probes cannot expire behind such a tunnel, the
    IP-TTL it hands on being the one it took in, so pings show the return side.)"""
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    lab_file = Path(__file__).resolve().parent / "labs" / "writeback-return.yaml"
    seen: dict = {}
    for wb in ("true", "false"):
        lab = load_lab(lab_file, {"writeback": wb})
        cp = build(lab)
        pr = ScriptedProber(Sim(lab, cp), "vp", wait=0.5)
        to = lab.nodes["vp"].primary_address()
        for node in ("ce1", "pe1", "p1", "p2", "pe2", "ce2"):
            got = pr.ping(str(lab.nodes[node].primary_address()))
            ittl = lab.nodes[node].personality.ttl_echo_reply
            want = {ittl - p["r"] + 1 for p in reply_paths(cp, node, to, kind="echo_reply")}
            assert got in want, f"writeback={wb}: {node}'s echo reply arrived with TTL {got}, truth {want}"
            seen[wb, node] = got
    assert [seen["false", n] - seen["true", n] for n in ("ce1", "pe1", "pe2", "ce2")] == [0, 0, 2, 2]


@pytest.mark.parametrize("params", VENDORS, ids=["cisco", "juniper"])
def test_utnt_over_100_flows_on_the_sim(params):
    """Every hop of uTNT's traces and revelations (time-exceeded, no quoted label)."""
    from testbed.detectors.utnt import probe_sim, utnt_args
    lab = load_lab(LAB, params)
    cp = build(lab)
    replies = []
    for f in range(1, FLOWS + 1):
        doc = probe_sim(lab, cp, "vp", [str(lab.probes[0].targets[0])], utnt_args(["--flow", str(f)]))
        replies += [(h.get("address"), h.get("reply_ttl"), h.get("icmp_type"), h.get("labels"))
                    for tr in doc["traces"] for h in tr["hops"]]
    bad, seen = check(lab, cp, "vp", replies)
    _assert(bad, seen, "uTNT")


def _dump_replies(hops) -> list:
    """(address, TE reply TTL, 11, quoted labels) of a verbose dump's hops (a hop with a qttl is
    a time-exceeded)."""
    out = []
    for h in hops:
        te = (h.get("rttls") or "<*,*>").strip("<>").split(",")[0]
        out.append((h["address"], None if te == "*" else int(te), 11 if h["qttl"] is not None else None,
                    h["labels"]))
    return out


@pytest.mark.netns
@pytest.mark.parametrize("params", VENDORS, ids=["cisco", "juniper"])
def test_on_namespaces_kernel_probes_and_utnt(params):
    """The lab as namespaces: 100 Paris flows from vp's kernel (reply_probe.py) and uTNT from
    the tap: every reply consistent with the return path its source names."""
    from labnames import N
    from testbed.detectors.utnt import probe_netns
    from testbed.runtimes.netns import api
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    lab = load_lab(LAB, params)
    cp = build(lab)
    targets = _targets(lab, cp)
    name = N("rs-ecmp")
    api.up(lab, params=params, name=name, workers=1)
    try:
        r = api.exec_in(name, "vp", [sys.executable, str(Path(__file__).with_name("reply_probe.py")),
                                     str(lab.nodes["vp"].primary_address()), "1", str(FLOWS), "3", *targets],
                        capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        kernel = [(x["address"], x["reply_ttl"], x["icmp_type"], x["labels"]) for x in json.loads(r.stdout)]
        doc = probe_netns(name, "vp", [str(t) for t in lab.probes[0].targets], ["--flow", "7"])
    finally:
        api.down(name)
    assert len(kernel) == FLOWS * 2 * 3            # every probe answered
    bad, seen = check(lab, cp, "vp", kernel)
    _assert(bad, seen, "kernel probes")
    assert sum(seen.values()) >= FLOWS
    bad, _ = check(lab, cp, "vp", [(h.get("address"), h.get("reply_ttl"), h.get("icmp_type"), h.get("labels"))
                                   for tr in doc["traces"] for h in tr["hops"]])
    assert not bad, f"uTNT: {bad[:5]}"


@pytest.mark.netns
@pytest.mark.parametrize("params", VENDORS, ids=["cisco", "juniper"])
def test_on_namespaces_utnt_and_the_original_tnt_differ_only_by_their_flows(params):
    """Both detectors on the same running lab (testbed/peers/sidebyside.run_pair): every reply
    in each verbose dump consistent with the return path its source names; every revealed LSR
    sequence one of the truth's; and a TNT trace and a uTNT trace are identical whenever the
    flow decisions they read are: the egress hop's reply TTLs (which return branch p2 hashed its
    reply onto) and the revealed hops' addresses (which forward branch the revelation took,
    which interface p2 answered from), across destinations (the destination's hop aside): the
    dumps differ only where the flows made other decisions. (Whether any pair reads the same
    decisions depends on the two flows of the run; printed.)"""
    from labnames import N
    from testbed.peers import tnt
    from testbed.peers.dump import parse_dump
    from testbed.peers.sidebyside import run_pair
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())
    lab = load_lab(LAB, params)
    cp = build(lab)
    (tunnel,) = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"]
    pair = run_pair(str(LAB), params, [], N("rs-pair"))
    (run,) = pair["runs"]
    dumps = {"TNT": {t["dst"]: t["hops"] for t in parse_dump(run["tnt"])},
             "uTNT": {t["dst"]: t["hops"] for t in parse_dump(run["utnt"])}}
    assert set(dumps["TNT"]) == set(dumps["uTNT"]) and len(dumps["TNT"]) == 8

    def decisions(hops):
        # the egress's reply TTLs, the revealed hops' addresses, and their reply TTLs too: p2's
        # echo reply (sourced from the probed address) is hashed onto a return branch of its own
        egress = [h["rttls"] for h in hops if h["address"] and not h["label"].startswith("H")
                  and lab.owner_of(h["address"]) == "pe2"]
        revealed = [h for h in hops if h["label"].startswith("H")]
        return egress, [h["address"] for h in revealed], [h["rttls"] for h in revealed]
    same = 0
    for who, traces in dumps.items():
        for dst, hops in traces.items():
            bad, _ = check(lab, cp, "vp", _dump_replies(hops))
            assert not bad, (who, dst, bad)
            rev = [lab.owner_of(a) for a in decisions(hops)[1]]
            assert not rev or rev in tunnel["reveal_lsrs"], (who, dst, rev)
    def plain(hops, dst):                   # the destination's own hop named alike
        return [dict(h, address="DST") if h["address"] == dst else h for h in hops]
    for dt, th in dumps["TNT"].items():
        for du, uh in dumps["uTNT"].items():
            if decisions(th) == decisions(uh):
                assert plain(th, dt) == plain(uh, du), (dt, du)
                same += 1
    print(f"{same} of 64 (TNT, uTNT) trace pairs read the same flow decisions: identical dumps")


def test_the_conformance_allowance_is_the_reply_rule():
    """tests/conformance's reply_ecmp covers a difference on a hop only when each dump's reply is
    one the router sends by the rule: p2 answering from its p1 interface with the TTL of the
    path through p1 (253) and from its x interface with that of the path through x (252) is a
    flow difference; the same addresses with the TTLs swapped (what the engine sent before the
    rule) are not, nor is a router with one return path."""
    from conformance.test_conformance import reply_ecmp
    from testbed.peers.dump import parse_hop
    v = {"lab": str(LAB), "params": {}}

    def d(field, a, b):
        return reply_ecmp(v, {"from": "vp", "dst": "12.0.1.2", "pos": 2, "field": field},
                          (parse_hop(a), parse_hop(b)))
    ok = (" H3  11.0.0.3  0.1 ms  rTTLs=<253,253>  qttl=1", " H3  11.0.0.7  0.1 ms  rTTLs=<252,252>  qttl=1")
    swapped = (" H3  11.0.0.3  0.1 ms  rTTLs=<252,252>  qttl=1", " H3  11.0.0.7  0.1 ms  rTTLs=<253,253>  qttl=1")
    assert d("address", *ok) and d("rttls", *ok)
    assert d("address", *swapped) is None and d("rttls", *swapped) is None
    assert d("mpls", *ok) is None                         # not a field the return path decides
    one = (" H1  11.0.0.1  0.1 ms  rTTLs=<254,254>  qttl=1", " H1  11.0.0.1  0.1 ms  rTTLs=<253,253>  qttl=1")
    assert d("rttls", *one) is None                       # p1: one return path


def test_under_the_incoming_rule_the_source_names_where_the_probe_came_in():
    """--set source=incoming (p2's knob source_time_exceeded: incoming, vendors.md): p2 still picks
    its reply's next hop by the probe's hash, but answers from the interface the probe came in
    on (p1's or x's link, the forward branch p1 hashed it onto): every reply TTL is one of p2's
    return paths, and the address no longer names the path (both combinations are seen)."""
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    lab = load_lab(LAB, {"source": "incoming"})
    assert lab.nodes["p2"].icmp_source["time_exceeded"] == INCOMING
    cp = build(lab)
    pr = ScriptedProber(Sim(lab, cp), "vp", wait=0.05)
    replies = []
    target = _targets(lab, cp)[1]
    for f in range(1, FLOWS + 1):
        pr.icmp_id = f
        h = pr.probe(target, 2)
        replies.append((h.address, h.reply_ttl, h.icmp_type, h.labels))
    bad, seen = check(lab, cp, "vp", replies)
    assert not bad and {a for (o, a) in seen if o == "p2"} == {"11.0.0.3", "11.0.0.7"}
    by_path = {(p["from"], 255 - p["r"] + 1) for p in reply_paths(build(load_lab(LAB)), "p2",
                                                                   lab.nodes["vp"].primary_address())}
    pairs = {(a, t) for a, t, *_ in replies}
    assert pairs - by_path and pairs & by_path, pairs    # the outgoing rule's pairs, and others
