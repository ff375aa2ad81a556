"""AS3356's unexplained misses: an egress whose equal-cost return paths differ in
length. p2 hashes every reply it forwards on its own ICMP header, so the egress's time-exceeded
comes back over either path and TNT's FRPLA reads that path's length: the truth lists the
value of every return path (`frpla_return_paths`), and a miss is named `ecmp-return` only
when the trace's egress hop reads one of the values under the threshold. Revelation traces
toward the egress's address may take the other branch (`ecmp-revelation`).

Real packets on the sim runtime, lab tests/labs/ecmp-return.yaml (see its header)."""
import copy
from pathlib import Path

import pytest

from testbed.controlplane import build
from testbed.api import run as run_lab
from testbed.lab import load_lab
from testbed.scoring import score_run
from testbed.truth import ground_truth

LAB = Path(__file__).resolve().parent / "labs" / "ecmp-return.yaml"
# a seed whose flow gives misses, detections and a revelation on the other branch (seed 1 did
# until p2 picked its replies' interface with its own seed, engine/reply.py: then its BRPR
# steps took x's branch every time)
SEED = 2


@pytest.fixture(scope="module")
def run():
    lab = load_lab(LAB)
    return lab, run_lab(lab, runtime="sim", seed=SEED)


def _egress_hop(lab, trace, egress):
    return next(h for h in trace["hops"] if not h.get("revealed") and h.get("address")
                and lab.owner_of(h["address"]) == egress)


def test_truth_lists_frpla_of_every_equal_cost_return_path():
    lab = load_lab(LAB)
    for probe in ground_truth(build(lab))["probes"]:
        for path in probe["paths"]:
            (t,) = path["tunnels"]
            # pe2 > p2 > p1 > pe1 > vp (R_TE 4) or pe2 > p2 > x > p1 > pe1 > vp (R_TE 5), at probe TTL 2
            assert t["frpla_return_paths"] == [2, 3] and t["frpla_expected"] == 3
            assert t["rtla_return_paths"] is None               # <255,255>: no RTLA
            assert sorted(t["reveal_lsrs"]) == [["p1", "p2"], ["p1", "x", "p2"]]


def test_replies_take_both_return_paths_and_each_miss_names_ecmp_return(run):
    lab, doc = run
    readings = {"missed": set(), "detected": set()}
    for s in doc["score"]["traces"]:
        tr = doc["traces"][s["trace_index"]]
        (v,) = s["verdicts"]
        h = _egress_hop(lab, tr, "pe2")
        if v["verdict"] == "missed":
            assert v["reason"].startswith("ecmp-return: ") and "FRPLA 2 < 3" in v["reason"]
            assert v["cause"] == "ecmp-return" and ("RTLA" in v["reason"]) == bool(v["truth"]["rtla_return_paths"])
            readings["missed"].add(h["frpla"])
        else:
            readings["detected"].add(h["frpla"])
    # the time-exceeded really came back over both paths: 251 (5 hops) and 252 (4 hops)
    assert readings == {"missed": {2}, "detected": {3}}
    assert doc["score"]["totals"]["undetectable"] == 0      # some return path fires FRPLA: present


def test_a_juniper_egress_sees_the_return_tunnel_by_rtla_on_either_path():
    """<255,64>: the echo reply (IP-TTL 64 under the pushed LSE-TTL) does not count the return
    tunnel's LSRs, the time-exceeded does; over either return path, and for any pair of them
    (the two replies are hashed apart), RTLA is 2 or 3 >= 1: detected whatever path FRPLA read."""
    lab = load_lab(LAB, {"vendor": "juniper"})
    doc = run_lab(lab, runtime="sim", seed=1)
    for s in doc["score"]["traces"]:
        (v,) = s["verdicts"]
        assert v["truth"]["rtla_return_paths"] == [2, 3] and v["truth"]["frpla_return_paths"] == [2, 3]
        h = _egress_hop(lab, doc["traces"][s["trace_index"]], "pe2")
        assert h["rtla"] in (2, 3) and v["reported"] is not None and v["reported"]["trigger"] == "RTLA"
    assert doc["score"]["totals"]["detected"] == 8


def test_a_reading_no_return_path_gives_stays_a_plain_miss(run):
    lab, doc = run
    s = next(s for s in doc["score"]["traces"] if s["verdicts"][0]["verdict"] == "missed")
    tr = copy.deepcopy(doc["traces"][s["trace_index"]])
    h = _egress_hop(lab, tr, "pe2")
    h["frpla"], h["reply_ttl"] = 1, h["reply_ttl"] + 1     # a return path 3 hops long: not in the truth
    sc = score_run(lab, {"probes": doc["truth"]}, [tr])
    (v,) = sc["traces"][0]["verdicts"]
    assert v["verdict"] == "missed" and "reason" not in v


def test_lsrs_revealed_on_the_other_branch_name_ecmp_revelation(run):
    lab, doc = run
    named = [v for s in doc["score"]["traces"] for v in s["verdicts"] if v["verdict"].startswith("partly")]
    assert named, "no partly revealed tunnel in this seed"
    for v in named:
        assert v["verdict"] == "partly: 1 LSR(s) not found"
        assert v["truth"]["lsrs"] == ["p1", "x", "p2"]
        assert v["reason"].startswith("ecmp-revelation: ") and "(p1, p2)" in v["reason"]


def test_campaign_names_every_miss_and_its_seed_gives_the_runs_traces(run):
    """The campaign sums the reasons (`misses`); with a seed each vantage point probes with
    the flow `testbed run --seed` gives it, so a campaign's figures are reproducible."""
    from testbed.experiments.campaign import campaign
    lab, doc = run
    camp = campaign(lab, "sim", seed=SEED)
    strip = [{k: v for k, v in t.items() if k not in ("vantage_point", "flow")} for t in doc["traces"]]
    assert [{k: v for k, v in t.items() if k not in ("vantage_point", "flow")} for t in camp["uTNT"]] == strip
    assert [t.get("flow") for t in camp["uTNT"]] == [t.get("flow") for t in doc["traces"]]   # the same flows
    got = {v["verdict"] for s in doc["score"]["traces"] for v in s["verdicts"]}
    assert camp["misses"] == {k: v for k, v in {
        "missed (ecmp-return)": sum(v["verdict"] == "missed" for s in doc["score"]["traces"] for v in s["verdicts"]),
        "partly (ecmp-revelation)": sum(v["verdict"].startswith("partly") for s in doc["score"]["traces"]
                                        for v in s["verdicts"])}.items() if v}
    assert "missed" in got and not any("no reason" in k for k in camp["misses"])


@pytest.mark.netns
def test_on_namespaces_utnt_and_the_original_tnt_miss_by_the_same_rule(tmp_path):
    """Real packets: uTNT on the lab's tap and, when built, the original TNT in the vantage
    point's namespace. For both, every trace's egress hop reads one of the truth's return path
    values, FRPLA 2 exactly where the tunnel is missed (named ecmp-return) and FRPLA 3 where it
    is detected: TNT's own limit, which uTNT shares (which destinations fall on which path
    depends on each detector's probe bytes)."""
    import os
    import shutil
    import tempfile

    from labnames import N
    from testbed.detectors import tnt_text
    from testbed.detectors.utnt import probe_netns
    from testbed.detectors.registry import flow_for
    from testbed.peers import tnt
    from testbed.runtimes.netns import api
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    lab = load_lab(LAB)
    name = N("er-ecmp")
    targets = [str(t) for t in lab.probes[0].targets]
    truth = ground_truth(build(lab))
    api.up(lab, name=name, workers=1)
    run_dir = tempfile.mkdtemp(prefix="er-")        # short: scamper's control socket path
    try:
        runs = {"uTNT": [dict(t, vantage_point="vp") for t in
                         probe_netns(name, "vp", targets, ["--flow", str(flow_for(1, "vp"))])["traces"]]}
        if tnt.find_prefix() is not None:
            r = tnt.run_tnt(name, "vp", targets, run_dir=run_dir)
            runs["TNT"] = [dict(t, vantage_point="vp") for t in tnt_text.parse(r["text"])]
            shutil.rmtree(str(Path(r["warts"]).parent), ignore_errors=True)
    finally:
        api.down(name)
        shutil.rmtree(run_dir, ignore_errors=True)
    for who, traces in runs.items():
        sc = score_run(lab, truth, traces)
        assert len(sc["traces"]) == 8, who
        for s in sc["traces"]:
            (v,) = s["verdicts"]
            got = _egress_hop(lab, traces[s["trace_index"]], "pe2")["frpla"]
            if v["verdict"] == "missed":
                assert got == 2 and v["reason"].startswith("ecmp-return: "), (who, s["dst"], v)
            else:
                assert got == 3 and v["reported"] is not None, (who, s["dst"], v)


def test_a_trigger_at_the_threshold_is_no_ecmp_return_miss(run):
    """ecmp-return names a reading under the threshold: an egress reading FRPLA at the
    threshold fired its trigger, whatever the return paths give."""
    import copy

    from testbed.scoring import score_run
    lab, doc = run
    s = next(s for s in doc["score"]["traces"] if s["verdicts"][0]["verdict"] == "missed")
    v = s["verdicts"][0]
    assert 3 in v["truth"]["frpla_return_paths"]
    tr = copy.deepcopy(doc["traces"][s["trace_index"]])
    _egress_hop(lab, tr, "pe2")["frpla"] = 3
    truth = {"probes": doc["truth"]}
    (w,) = score_run(lab, truth, [tr])["traces"][0]["verdicts"]
    assert (w["outcome"], w["trigger"]) == ("missed", "FRPLA") and w["cause"] != "ecmp-return"
