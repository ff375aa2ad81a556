"""uTNT against the original TNT on back-to-back LSPs: one router in two MPLS domains (issue 20).

Lab back-to-back: pe2 is the egress of the west LSP and the ingress of the east one (it pops
west's label and pushes east's). tests/golden/tnt/back-to-back.json holds TNT's verbose dumps
of it, recorded on namespaces (Cisco-like and Juniper-like routers; explicit and abrupt; west
ending with PHP or UHP; `python -m testbed.peers.recorded back-to-back
tests/golden/tnt/back-to-back.json` re-records where TNT is built). On every machine uTNT runs
each variant on the sim runtime and must print TNT's dump hop for hop, tags included, and
score the same; where TNT is built, both run live on namespaces and must agree too.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from checks import in_addr
from labnames import N
from testbed.lab import load_lab
from testbed.peers import recorded, tnt
from testbed.peers.dump import parse_dump
from testbed.peers.sidebyside import differences, run_pair

DATA = Path(__file__).resolve().parent / "golden" / "tnt" / "back-to-back.json"
VARIANTS = recorded.load(DATA)


def _vid(v):
    return ",".join(f"{k}={x}" for k, x in sorted(v["params"].items()))


def _key(v):
    return v["params"]["vendor"], v["params"]["mode"], v["params"]["popping"]


def test_the_record_covers_both_signatures_modes_and_endings():
    assert {_key(v) for v in VARIANTS} == {(a, b, c) for a in ("cisco", "juniper") for b in ("explicit", "abrupt")
                                          for c in ("php", "uhp")}
    pe2 = in_addr(load_lab("back-to-back"), "pe2", "p2")      # pe2's address toward p2
    tags = {}
    for v in VARIANTS:
        (run,) = v["runs"]
        (flow,) = run["tnt_flows"]
        assert flow["dst"] == run["targets"][0]
        hops = parse_dump(run["tnt_dump"])[0]["hops"]
        tags[_key(v)] = next((h["mpls"] for h in hops if h["address"] == pe2 and not h["label"].startswith("H")), None)
    # the shared router answers unlabelled between two labelled runs: two tunnels on Cisco-like
    # routers, an inferred LSR (one merged tunnel) where it has Juniper's <255,64> signature
    assert tags[("cisco", "explicit", "php")] == ["EXP", "EGR", "ING"]
    assert tags[("juniper", "explicit", "php")] == ["LSR", "INF"]
    # a UHP west egress quotes its explicit null: an LSR of one long tunnel for TNT
    assert tags[("cisco", "explicit", "uhp")] == ["EXP", "LSR"]


# TNT's score (present, detected, false LSRs) per variant, as recorded: the scorer must see
# what the data plane does (two tunnels) and what TNT makes of it
SCORES = {("cisco", "explicit", "php"): (2, 2, 0), ("cisco", "explicit", "uhp"): (2, 1, 3),
          ("juniper", "explicit", "php"): (2, 1, 3), ("juniper", "abrupt", "uhp"): (2, 1, 0),
          ("cisco", "abrupt", "uhp"): (1, 1, 4)}


@pytest.mark.parametrize("v", VARIANTS, ids=_vid)
def test_utnt_on_the_sim_equals_the_recorded_tnt_dump_and_scores_the_same(v):
    dumps = recorded.utnt_sim_dumps(v)
    assert recorded.compare_record(v, dumps) == []
    t_score, u_score = recorded.scores(v, dumps)
    assert t_score == u_score
    want = SCORES.get(_key(v))
    if want is not None:
        assert (t_score["present"], t_score["detected"], t_score["false_lsrs"]) == want


@pytest.mark.netns
@pytest.mark.parametrize("v", [v for v in VARIANTS if v["params"]["popping"] == "php"
                               or _key(v) == ("cisco", "abrupt", "uhp")], ids=_vid)
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
    assert recorded.compare_record(v, [x["tnt"] for x in r["runs"]]) == []
