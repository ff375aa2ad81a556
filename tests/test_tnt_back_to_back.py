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


# three LSPs back to back, two of them ending UHP: the egress of the second never decrements and
# the third is opaque, so one router answers three probe TTLs in a row (matrix join=shared)
LOOP_CELL = {"class": "invisible", "popping": "uhp", "ler_vendor": "h3c", "lsr_vendor": "huawei", "lsrs": 1,
             "domains": 3, "join": "shared", "d2_class": "invisible", "d2_popping": "uhp", "d2_vendor": "mikrotik",
             "d2_lsrs": 3, "d3_class": "opaque", "d3_popping": "php", "d3_vendor": "juniper", "d3_lsrs": 1}


def _loop_lab():
    from testbed.experiments.matrix import GRID, lab_for
    return lab_for({**{k: v[0] for k, v in GRID.items()}, **LOOP_CELL})


def test_one_address_at_three_ttls_in_a_row_is_scampers_loop():
    """scamper's trace_isloop: an address that answered before at a hop other than the one
    just before stops the trace (LOOP); the original TNT's trace on this lab stops at the third
    reply from the same router (seen on namespaces), and so must uTNT's."""
    from testbed.api import run as run_lab
    doc = run_lab(_loop_lab(), runtime="sim", seed=1)
    t = doc["traces"][0]
    addrs = [h["address"] for h in t["hops"]]
    assert t["stop_reason"] == "LOOP"
    assert addrs[-1] == addrs[-2] == addrs[-3] != addrs[-4]


@pytest.mark.netns
def test_live_tnt_and_utnt_agree_where_one_router_answers_three_ttls(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())
    from testbed.experiments.matrix import GRID, lab_text
    f = tmp_path / f"{_loop_lab().name}.yaml"
    f.write_text(lab_text({**{k: v[0] for k, v in GRID.items()}, **LOOP_CELL}))
    r = run_pair(str(f), {}, [], N("b2bloop"))
    assert differences(r) == []
    (tr,) = [x for x in parse_dump(r["runs"][0]["tnt"]) if x["dst"] == str(_loop_lab().nodes["dst"].primary_address())]
    assert len({h["address"] for h in tr["hops"][-3:]}) == 1       # TNT stopped at the third reply too
