"""uTNT against the original TNT's recorded dumps on two LSPs back to back (issue 20).

tests/golden/tnt/two-lsps.json holds TNT's verbose dumps of lab two-lsps (Cisco-like,
Juniper-like and Linux routers; explicit and abrupt; TNT's defaults, -b, -m udp-paris),
recorded on namespaces with the lab, TNT's Paris flow and options
(`python -m testbed.peers.recorded two-lsps tests/golden/tnt/two-lsps.json` re-records where
TNT is built). On every machine, uTNT runs the same variant on the sim runtime and its dump
must equal TNT's hop for hop, tags included, and both must score the same. Where TNT is built,
the live test runs both on namespaces (testbed/peers/sidebyside.py) and asks the same.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labnames import N
from testbed.peers import recorded, tnt
from testbed.peers.dump import parse_dump
from testbed.peers.sidebyside import differences, run_pair

DATA = Path(__file__).resolve().parent / "golden" / "tnt" / "two-lsps.json"
VARIANTS = recorded.load(DATA)


def _vid(v):
    return ",".join(f"{k}={x}" for k, x in sorted(v["params"].items())) + ("," + " ".join(v["options"])
                                                                         if v["options"] else "")


def test_the_record_covers_every_vendor_signature_and_mode():
    seen = {(v["params"]["vendor"], v["params"]["mode"]) for v in VARIANTS}
    assert seen == {(a, b) for a in ("cisco", "juniper", "linux") for b in ("explicit", "abrupt")}
    for v in VARIANTS:
        (run,) = v["runs"]
        (flow,) = run["tnt_flows"]
        assert flow["src"] and flow["dst"] == run["targets"][0]
        assert ("sport" in flow) == ("udp-paris" in v["options"])        # TNT's Paris flow is recorded
    # the hop between the two labelled runs, as the original TNT tagged it
    tags = {(v["params"]["vendor"], v["params"]["mode"], tuple(v["options"])):
            parse_dump(v["runs"][0]["tnt_dump"])[0]["hops"][5]["mpls"] for v in VARIANTS}
    assert tags[("cisco", "explicit", ())] == ["EXP", "EGR", "ING"]
    assert tags[("juniper", "explicit", ())] == ["LSR", "INF"]


@pytest.mark.parametrize("v", VARIANTS, ids=_vid)
def test_utnt_on_the_sim_equals_the_recorded_tnt_dump_and_scores_the_same(v):
    dumps = recorded.utnt_sim_dumps(v)
    assert recorded.compare_record(v, dumps) == []
    t_score, u_score = recorded.scores(v, dumps)
    assert t_score == u_score
    # TNT's view, as scored: two tunnels split at the hop between on Cisco-like routers, one
    # merged tunnel (its LSRs partly false) where that hop is Juniper-like <255,64>
    want = DETECTED.get((v["params"]["vendor"], v["params"]["mode"]))
    if want is not None:
        assert (t_score["present"], t_score["detected"], t_score["false_lsrs"]) == want


DETECTED = {("cisco", "explicit"): (2, 2, 1), ("juniper", "explicit"): (2, 1, 4),
            ("linux", "explicit"): (0, 0, 0)}


@pytest.mark.parametrize("vendor,tunnels", [("juniper", 1), ("cisco", 2)])
def test_testbed_score_reads_the_real_tnt_dump(tmp_path, vendor, tunnels):
    """`testbed score LAB tntdump.txt` on TNT's own dump ([MPLS,LSR,INF] on Juniper-like routers,
    [MPLS,EXP,EGR,ING] on Cisco-like ones) scores it (it used to exit 2: 'lacks a class or a role')."""
    v = next(v for v in VARIANTS if v["params"] == {"vendor": vendor, "mode": "explicit"} and not v["options"])
    f = tmp_path / "tnt.txt"
    f.write_text(v["runs"][0]["tnt_dump"])
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "score", "--set", f"vendor={vendor}", "--set",
                        "mode=explicit", "--json", "two-lsps", str(f)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (tr,) = doc["traces"]
    assert len(tr["tunnels"]) == tunnels and doc["score"]["totals"]["detected"] == tunnels


@pytest.mark.netns
@pytest.mark.parametrize("v", [v for v in VARIANTS if v["params"]["mode"] == "explicit" and not v["options"]
                               and v["params"]["vendor"] != "linux"], ids=_vid)
def test_live_tnt_and_utnt_on_namespaces_agree(v):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())
    r = run_pair(v["lab"], v["params"], v["options"], N("b2b"))
    assert differences(r) == []
    live = {**v, "runs": [{**run, "tnt_dump": x["tnt"]} for run, x in zip(v["runs"], r["runs"])]}
    t_score, u_score = recorded.scores(live, [x["utnt"] for x in r["runs"]])
    assert t_score == u_score
    # and the live TNT still prints what was recorded (tags and addresses; RTTs aside)
    assert recorded.compare_record(v, [x["tnt"] for x in r["runs"]]) == []


def test_the_parsed_dumps_follow_the_result_schema():
    """TNT's tags of every variant ([MPLS,LSR,INF]: class null; [MPLS,EXP,EGR,ING]: two roles)
    read into the result format validate against docs/result.schema.json."""
    import jsonschema

    from testbed.detectors import tnt_text
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "result.schema.json").read_text())
    for v in VARIANTS:
        parsed = tnt_text.parse(v["runs"][0]["tnt_dump"], "tnt.txt")
        jsonschema.validate({"traces": parsed}, schema)
    roles = {tuple(h["mpls"]["roles"]) for v in VARIANTS for t in tnt_text.parse(v["runs"][0]["tnt_dump"], "x")
             for h in t["hops"] if h["mpls"]}
    assert ("EGR", "ING") in roles
