"""Every rule of the scorer (testbed/scoring/score.py) and of the truth's tunnel
classes pinned by a test, so that a one-line mutant of the rule fails here
(scripts/mutants.py measures it; docs/scoring-mutants.md).

Traces come from uTNT on the sim runtime (real packets through the engine); where a rule is
about a report no correct detector makes (an off-path hop, a lost revelation, a TNT dump's
ATTEMPT annotation), a real trace is altered in exactly that one respect."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from testbed.controlplane import build
from testbed.experiments.matrix import lab_for
from testbed.api import run as run_lab
from testbed.lab import load_lab
from testbed.scoring import score_run
from testbed.scoring.score import CAUSES, OUTCOMES, choose_path, is_perfect, visibility
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

CELL = {"class": "explicit", "popping": "php", "ler_vendor": "cisco", "lsr_vendor": "cisco", "lsrs": 3,
        "p2p_prefix": 31, "ecmp": False, "ldp": "all", "vps": 1, "dests": 1, "asymmetry": 0}


def _run(name, seed=1, **params):
    lab = load_lab(name, params)
    return lab, run_lab(lab, runtime="sim", seed=seed)


def _score(lab, doc, traces):
    return score_run(lab, ground_truth(build(lab)), traces)


def _addr(lab, node):
    return str(lab.nodes[node].interfaces[0].ip)


def _unrevealed(trace):
    """The trace as a detector that revealed nothing and reported nothing would give it."""
    tr = copy.deepcopy(trace)
    tr["hops"] = [h for h in tr["hops"] if not h.get("revealed")]
    tr["tunnels"] = []
    return tr


def _only(sc):
    (v,) = [v for s in sc["traces"] for v in s["verdicts"]]
    return v


# ---- the codes: every verdict carries an outcome, a cause is one of CAUSES
def test_every_verdict_has_an_outcome_and_known_cause_codes():
    for name in ("explicit", "two-domains-php", "rate-limited", "linux-lsr", "ldp-over-rsvp", "silent-ingress"):
        _, doc = _run(name)
        for s in doc["score"]["traces"]:
            for v in s["verdicts"]:
                assert v["outcome"] in OUTCOMES
                if "cause" in v:
                    assert v["cause"] in CAUSES and v["reason"].startswith(v["cause"] + ": ")


# ---- rule 2: the path, by hop position and revealed hops
def test_choose_path_by_hop_position_when_the_same_routers_show():
    lab = load_lab("explicit")
    fwd = lambda *ns: [{"node": n} for n in ns]           # noqa: E731
    longer = {"forward": fwd("vp", "ce1", "p1", "pe1", "pe2"), "tunnels": []}
    right = {"forward": fwd("vp", "ce1", "pe1", "pe2"), "tunnels": []}
    trace = {"vantage_point": "vp", "hops": [{"address": _addr(lab, n), "probe_ttl": k}
                                             for k, n in enumerate(("ce1", "pe1", "pe2"), 1)]}
    i, _, off = choose_path(lab, [longer, right], trace)
    assert (i, off) == (1, 0)
    # a hidden tunnel's LSRs cost no TTL: pe2 at TTL 3 is on the path through p1 then
    hidden = {"forward": fwd("vp", "ce1", "pe1", "p1", "pe2"),
              "tunnels": [{"hidden": True, "lsrs": ["p1"], "egress": "pe2", "ingress": "pe1"}]}
    assert choose_path(lab, [longer, hidden], trace)[0] == 1


def test_a_tnt_trace_with_no_flow_is_scored_on_the_path_its_revealed_hops_show():
    """Two equal-cost invisible tunnels pe1 -> p1..p3 -> pe2 and pe1 -> q1..q3 -> pe2: the base
    trace shows pe1 and pe2 only; the revealed LSRs say which path it took (no flow_path:
    the truth of a TNT trace does not know its Paris flow)."""
    lab = lab_for({**CELL, "class": "invisible", "ecmp": True})
    truth = ground_truth(build(lab))                     # no flows: no flow_path
    seen = set()
    for seed in range(1, 9):
        doc = run_lab(lab, runtime="sim", seed=seed)
        tr = doc["traces"][0]
        rev = {lab.owner_of(h["address"]) for h in tr["hops"] if h.get("revealed")}
        sc = score_run(lab, truth, [tr])
        s = sc["traces"][0]
        assert rev <= {st["node"] for st in truth["probes"][0]["paths"][s["path_index"]]["forward"]}
        assert _only(sc)["outcome"] == "correct", _only(sc)["verdict"]
        seen.add(s["path_index"])
    assert seen == {0, 1}


# ---- rule 2: off-path traces
def test_a_hop_on_no_listed_path_counts_the_trace_off_path():
    lab, doc = _run("two-vp")
    truth = ground_truth(build(lab))
    tr = copy.deepcopy(doc["traces"][0])
    probe = next(p for p in truth["probes"] if p["from"] == tr["vantage_point"] and p["to"] == tr["dst"])
    on = {st["node"] for path in probe["paths"] for st in path["forward"]}
    off = next(n for n in lab.nodes if n not in on)
    assert score_run(lab, truth, [tr])["totals"]["off_path_traces"] == 0
    tr["hops"][1]["address"] = _addr(lab, off)
    sc = score_run(lab, truth, [tr])
    assert sc["traces"][0]["off_path_hops"] == 1 and sc["totals"]["off_path_traces"] == 1 and not sc["perfect"]
    tr["hops"][1]["address"] = "198.18.0.1"              # an address of no node of the lab: off every path
    assert score_run(lab, truth, [tr])["totals"]["off_path_traces"] == 1


# ---- rule 4: detection needs more than the ingress
def test_sharing_the_ingress_and_egress_detects_sharing_only_the_ingress_does_not():
    lab, doc = _run("explicit")
    tr = copy.deepcopy(doc["traces"][0])
    t = tr["tunnels"][0]
    t["lsrs"] = []                                        # ingress and egress right, no LSR
    sc = _score(lab, doc, [tr])
    v = _only(sc)
    assert v["outcome"] == "partly" and v["wrong"] == ["lsrs"] and v["lsrs_missing"] == 3
    assert sc["totals"]["detected"] == 1 and sc["totals"]["lsrs_found"] == 0 and not sc["perfect"]
    t["egress"] = _addr(lab, "ce2")                        # now only the ingress is the truth's
    sc = _score(lab, doc, [tr])
    assert sc["totals"]["detected"] == 0 and sc["totals"]["false_tunnels"] == 1
    assert [v["outcome"] for s in sc["traces"] for v in s["verdicts"]] == ["missed", "false-tunnel"]


# ---- rule 4: partly, and rule 6: perfect needs every LSR
def test_one_lsr_missing_is_partly_and_not_perfect():
    lab, doc = _run("invisible-php")
    assert doc["score"]["perfect"]
    tr = copy.deepcopy(doc["traces"][0])
    tr["tunnels"][0]["lsrs"] = tr["tunnels"][0]["lsrs"][1:]
    sc = _score(lab, doc, [tr])
    v = _only(sc)
    assert (v["outcome"], v["wrong"], v["lsrs_missing"], v["verdict"]) == \
        ("partly", ["lsrs"], 1, "partly: 1 LSR(s) not found")
    t = sc["totals"]
    assert (t["lsrs_present"], t["lsrs_found"], t["hidden_lsrs_present"], t["hidden_lsrs_revealed"]) == (3, 2, 3, 2)
    assert not sc["perfect"]
    tr["tunnels"][0]["class"] = "OPA"
    tr["tunnels"][0]["ingress"] = None
    v = _only(_score(lab, doc, [tr]))
    assert v["wrong"] == ["class", "ingress", "lsrs"] and v["verdict"] == "partly: class, ingress, 1 LSR(s) not found"


@pytest.mark.parametrize("key", ["detected", "class_correct", "ingress_correct", "egress_correct", "lsrs_found",
                                 "false_tunnels", "false_lsrs", "flagged_not_revealed", "incomplete_traces",
                                 "unmatched_traces", "off_path_traces"])
def test_perfect_needs_every_count_right(key):
    ok = {"present": 2, "detected": 2, "class_correct": 2, "ingress_correct": 2, "egress_correct": 2,
          "lsrs_present": 5, "lsrs_found": 5, "false_tunnels": 0, "false_lsrs": 0, "flagged_not_revealed": 0,
          "incomplete_traces": 0, "unmatched_traces": 0, "off_path_traces": 0}
    assert is_perfect(ok)
    bad = dict(ok)
    bad[key] = ok[key] - 1 if ok[key] else 1
    assert not is_perfect(bad)


# ---- rule 4: flagged but not revealed only after an earlier revealed tunnel
def test_flagged_not_revealed_only_when_an_earlier_tunnel_of_the_trace_was_revealed():
    lab, doc = _run("two-domains-php")
    v = doc["score"]["traces"][0]["verdicts"]
    assert [x["outcome"] for x in v] == ["correct", "flagged-not-revealed"]
    assert v[1]["cause"] == "one-tunnel-per-trace" and v[1]["trigger"] == "FRPLA"
    # the same trace with the first tunnel's revelation lost: nothing explains the second away
    tr = _unrevealed(doc["traces"][0])
    sc = _score(lab, doc, [tr])
    v = sc["traces"][0]["verdicts"]
    assert [x["outcome"] for x in v] == ["missed", "missed"] and sc["totals"]["flagged_not_revealed"] == 0
    assert [x.get("trigger") for x in v] == ["FRPLA", "FRPLA"]
    assert [x.get("cause") for x in v] == ["trigger-not-revealed", "trigger-not-revealed"]


# ---- rule 4: the trace's own stop reason, from uTNT's JSON and from TNT's verbose dump
@pytest.mark.parametrize("attempt,cause", [
    ({"trigger": "FRPLA", "reason": "ING-NF", "buddy": False}, "stop-ingress-not-found"),
    ("ATTEMPT,FRPLA,NTH-RV", "stop-nothing-revealed"),
    ("ATTEMPT,DUPIP,TGT-NR,BUD", "stop-target-not-reached"),
    ("ATTEMPT,NTH-RV", "stop-nothing-revealed"),
])
def test_a_miss_carries_the_detectors_stop_reason(attempt, cause):
    lab, doc = _run("invisible-php")
    tr = _unrevealed(doc["traces"][0])
    eg = next(h for h in tr["hops"] if lab.owner_of(h["address"]) == "pe2")
    eg["attempts"] = [attempt]
    v = _only(_score(lab, doc, [tr]))
    assert v["outcome"] == "missed" and v["cause"] == cause and v["trigger"] == "FRPLA"
    code = [k for k, c in (("ING-NF", "stop-ingress-not-found"), ("NTH-RV", "stop-nothing-revealed"),
                           ("TGT-NR", "stop-target-not-reached")) if c == cause][0]
    assert code in v["reason"] and ("buddy" in v["reason"]) == ("BUD" in str(attempt))
    trig = "brute force" if str(attempt) == "ATTEMPT,NTH-RV" else ("DUPIP" if "DUPIP" in str(attempt) else "FRPLA")
    assert f"attempt ({trig}" in v["reason"]
    # on another hop than the trigger's, it is not this tunnel's stop reason
    eg["attempts"] = []
    tr["hops"][0]["attempts"] = [attempt]
    assert _only(_score(lab, doc, [tr]))["cause"] == "trigger-not-revealed"


def test_rate_limited_ingress_miss_is_named_by_its_ing_nf():
    _, doc = _run("rate-limited")
    v = doc["score"]["traces"][0]["verdicts"][0]
    assert (v["outcome"], v["cause"], v["trigger"]) == ("missed", "stop-ingress-not-found", "FRPLA")
    assert doc["score"]["totals"]["flagged_not_revealed"] == 0


# ---- rule 4: the triggers the trace shows (MTTL, DUPIP, RTLA)
@pytest.mark.parametrize("name,params,trigger", [
    ("opaque", {}, "MTTL"),
    ("invisible-uhp", {}, "DUPIP"),
    ("invisible-php", {}, "FRPLA"),
    ("invisible-php-juniper", {"lsrs": 1}, "RTLA"),
])
def test_the_trigger_on_the_egress_is_named(name, params, trigger):
    lab, doc = _run(name, **params)
    tr = _unrevealed(doc["traces"][0])
    for h in tr["hops"]:
        h["attempts"] = []
    v = _only(_score(lab, doc, [tr]))
    assert (v["outcome"], v["trigger"], v["cause"]) == ("missed", trigger, "trigger-not-revealed")
    # without the trigger's reading there is no cause to name: a plain miss
    for h in tr["hops"]:
        h["frpla"], h["rtla"] = 0, 0
        h["labels"] = [dict(x, ttl=1) for x in h.get("labels") or []]
    if trigger == "DUPIP":
        tr["hops"] = [h for i, h in enumerate(tr["hops"]) if i == 0 or h["address"] != tr["hops"][i - 1]["address"]]
    v = _only(_score(lab, doc, [tr]))
    assert v["outcome"] == "missed" and "cause" not in v and "trigger" not in v


def test_silent_ingress_miss_is_named_from_the_truth():
    lab = lab_for({**CELL, "class": "invisible", "silent": "ingress"})
    doc = run_lab(lab, runtime="sim", seed=1)
    tr = _unrevealed(doc["traces"][0])
    for h in tr["hops"]:
        h["attempts"] = []
    v = _only(score_run(lab, ground_truth(build(lab)), [tr]))
    assert (v["outcome"], v["cause"]) == ("missed", "silent-ingress")


# ---- rule 5: false tunnels and false LSRs
def test_every_lsr_of_a_false_tunnel_is_a_false_lsr():
    lab, doc = _run("explicit")
    tr = copy.deepcopy(doc["traces"][0])
    tr["tunnels"].append({"class": "INV", "ingress": _addr(lab, "ce2"), "egress": _addr(lab, "dst"),
                          "lsrs": [_addr(lab, "ce1"), _addr(lab, "vp")], "trigger": "FRPLA"})
    sc = _score(lab, doc, [tr])
    assert (sc["totals"]["false_tunnels"], sc["totals"]["false_lsrs"]) == (1, 2) and not sc["perfect"]
    tr["tunnels"][0]["lsrs"].append(_addr(lab, "pe2"))      # the egress named as an LSR: false too
    assert _score(lab, doc, [tr])["totals"]["false_lsrs"] == 3


# ---- silent LSRs are never LSRs to find
def test_lsrs_the_truth_marks_silent_are_not_lsrs_to_find():
    lab = lab_for({**CELL, "silent": "lsr"})               # p1 answers no time-exceeded
    doc = run_lab(lab, runtime="sim", seed=1)
    v = doc["score"]["traces"][0]["verdicts"][0]
    assert "p1" in v["lsrs_unseeable"] and v["lsrs_unseeable"]["p1"].startswith("silent: ")
    assert "lsrs" not in v["wrong"] and v["lsrs_missing"] == 0
    assert doc["score"]["totals"]["lsrs_present"] == 2
    # found anyway (a detector that shows it): counted, present and found
    tr = copy.deepcopy(doc["traces"][0])
    tr["tunnels"][0]["lsrs"] = [_addr(lab, "p1")] + tr["tunnels"][0]["lsrs"]
    sc = score_run(lab, ground_truth(build(lab)), [tr])
    assert (sc["totals"]["lsrs_present"], sc["totals"]["lsrs_found"]) == (3, 3)


def test_lsrs_inside_a_stacked_lsp_at_ttl_255_are_not_lsrs_to_find():
    _, doc = _run("ldp-over-rsvp")
    v = doc["score"]["traces"][0]["verdicts"][0]
    assert sorted(v["lsrs_unseeable"]) == ["p2", "p3"] and v["outcome"] == "correct"
    assert doc["score"]["perfect"]


# ---- visibility: from the truth and vendor behaviour, as the engine runs them
def test_a_two_lsr_cisco_implicit_tunnel_is_visible_by_its_u_turn():
    lab = load_lab("implicit", {"lsrs": 2})
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert visibility(lab, t) is None                     # the first LSR tunnels its error: u-turn 4
    _, doc = _run("implicit", lsrs=2)
    assert _only(doc["score"])["outcome"] == "correct" and _only(doc["score"])["reported"]["trigger"] == "UTURN"
    # no ICMP tunnelling (Juniper): no u-turn; the penultimate LSR pops first: qTTL stays 1
    lab = load_lab("implicit", {"lsrs": 2, "vendor": "juniper"})
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert "u-turn run is 0 < 3" in visibility(lab, t)


@pytest.mark.parametrize("knobs,visible", [
    ({}, True),
    ({"tunnel_scope": "udp"}, False),            # ICMP probes' errors are not tunnelled
    ({"tunnel_scope": "multi-label"}, False),    # one label: not tunnelled
    ({"answer_echo": False}, False),             # no echo reply, no u-turn
    ({"answer_time_exceeded": False}, False),
])
def test_u_turn_visibility_follows_the_engine(knobs, visible):
    import dataclasses
    lab = load_lab("implicit", {"lsrs": 2})
    for n in ("p1", "p2"):
        lab.nodes[n].personality = dataclasses.replace(lab.nodes[n].personality, **knobs)
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert (visibility(lab, t) is None) == visible


def test_silent_lsrs_reported_by_the_truth_make_an_implicit_tunnel_undetectable():
    lab = load_lab("implicit", {"lsrs": 2})
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert visibility(lab, t) is None
    assert visibility(lab, t, silent={"p1"}) is not None      # its only u-turn is p1's


# ---- the truth's classes (testbed/truth/tunnels.py)
def test_truth_class_rules():
    def cls(**params):
        lab = lab_for({**CELL, **params})
        return [(t["class"], t["ending"], t["silent"]) for t in ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"]]
    assert cls() == [("explicit", "php", False)]
    assert cls(**{"class": "implicit"}) == [("implicit", "php", False)]
    assert cls(**{"class": "invisible"}) == [("invisible-php", "php", False)]
    assert cls(**{"class": "invisible", "popping": "uhp"}) == [("invisible-uhp", "uhp", False)]
    assert cls(**{"class": "opaque"}) == [("opaque", "abrupt", False)]          # abrupt pipe, RFC 4950 egress
    assert cls(**{"class": "opaque", "ler_vendor": "linux"})[0][0] == "invisible-php"   # no RFC 4950 egress
    # no-decrement-ttl is pipe whatever the domain says (Junos): a uniform explicit LSP turns invisible
    assert cls(no_decrement_ttl=True)[0][0] == "invisible-php"
    # one silent LSR of three leaves the tunnel visible; all silent (Linux) make it silent
    assert cls(silent="lsr")[0][2] is False
    assert cls(lsr_vendor="linux")[0][2] is True


def test_a_router_vantage_points_own_hidden_tunnel_miss_is_named():
    lab = lab_for({**CELL, "class": "invisible", "router_vp": True})
    doc = run_lab(lab, runtime="sim", seed=1)
    s = next(s for s in doc["score"]["traces"] if s["vantage_point"] == "pe1")
    (v,) = s["verdicts"]
    assert (v["outcome"], v["cause"]) == ("missed", "router-vp-no-revelation")
    s = next(s for s in doc["score"]["traces"] if s["vantage_point"] == "vp1")
    assert s["verdicts"][0]["outcome"] == "correct"


def test_implicit_visibility_by_qttl_from_the_second_lsr_and_by_the_u_turn_length():
    # Juniper (no ICMP tunnelling): p2 quotes qTTL 2, p3 pops first: visible by qTTL alone
    lab = load_lab("implicit", {"lsrs": 3, "vendor": "juniper"})
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert visibility(lab, t) is None
    lab = load_lab("implicit", {"lsrs": 2, "vendor": "juniper"})          # p2 pops first: no qTTL
    assert visibility(lab, ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]) is not None
    # one Cisco LSR of a UHP LSP tunnels its error to the egress and back: a u-turn of 2 < 3
    lab = lab_for({**CELL, "class": "implicit", "popping": "uhp", "lsrs": 1})
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert "u-turn run is 2 < 3" in visibility(lab, t)


@pytest.mark.parametrize("vendor,undetectable", [("cisco", True), ("juniper", False)])
def test_uhp_tunnel_ending_before_the_destination_unless_the_egress_answers_explicit_null(vendor, undetectable):
    """Toward ce2, the hop right after the UHP egress pe2 is the destination: it answers the
    probe the egress let through with an echo reply, no address repeats (DUPIP). A Juniper
    egress answers an expiring explicit-null label itself (explicit_null_expiry)."""
    lab = lab_for({**CELL, "class": "invisible", "popping": "uhp", "dests": 2, "ler_vendor": vendor})
    got = {p["to"]: visibility(lab, p["paths"][0]["tunnels"][0]) for p in ground_truth(build(lab))["probes"]}
    to_ce2 = next(p["to"] for p in ground_truth(build(lab))["probes"]
                  if p["paths"][0]["tunnels"][0]["after_egress_is_destination"])
    assert (got[to_ce2] is not None) == undetectable
    assert all(v is None for k, v in got.items() if k != to_ce2)


def test_a_truth_probe_without_paths_scores_no_hop_off_path():
    lab = load_lab("explicit")
    trace = {"vantage_point": "vp", "hops": [{"address": _addr(lab, "ce1"), "probe_ttl": 1}]}
    i, path, off = choose_path(lab, [], trace)
    assert (i, path, off) == (None, {"forward": [], "tunnels": []}, 0)


def test_a_uhp_miss_reads_its_stop_reason_on_the_duplicated_hop():
    """A UHP egress is hidden: TNT's DUPIP candidate, and its ATTEMPT, is the hop after it."""
    lab, doc = _run("invisible-uhp")
    tr = _unrevealed(doc["traces"][0])
    for h in tr["hops"]:
        h["attempts"] = []
    dup = [h for h in tr["hops"] if lab.owner_of(h["address"]) == "ce2"]
    assert len(dup) == 2 and "pe2" not in {lab.owner_of(h["address"]) for h in tr["hops"]}
    dup[0]["attempts"] = ["ATTEMPT,DUPIP,NTH-RV,BUD"]
    v = _only(_score(lab, doc, [tr]))
    assert (v["outcome"], v["trigger"], v["cause"]) == ("missed", "DUPIP", "stop-nothing-revealed")


def test_invisible_below_threshold_names_what_it_lacks():
    lab = load_lab("invisible-php", {"lsrs": 2})           # a Cisco egress: <255,255>, no RTLA
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert visibility(lab, t).endswith("FRPLA 2 < 3 at its egress and no RTLA (egress signature is not "
                                       "<255,x!=255>) (tnt.md 3.2)")
    lab = load_lab("invisible-php-juniper", {"lsrs": 1})    # RTLA 1 at a <255,64> egress
    t = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"][0]
    assert "RTLA 1 < 2" in visibility(lab, t, {"rtla": 2})


def test_lsrs_silent_in_the_truth_are_what_the_scorer_passes_to_visibility():
    """A BGP-free core under Cisco ICMP tunnelling: the LSRs tunnel their errors (they answer),
    the penultimate one pops first and routes its error, with no route back (silent). The
    implicit tunnel stays visible by its u-turn; the silent LSR is not an LSR to find."""
    lab = lab_for({**CELL, "class": "implicit", "bgp_free": True})
    doc = run_lab(lab, runtime="sim", seed=1)
    v = doc["score"]["traces"][0]["verdicts"][0]
    assert v["outcome"] != "undetectable" and list(v["lsrs_unseeable"]) == ["p3"]


def test_an_lsr_of_the_same_tunnel_on_another_equal_cost_path_is_counted_apart():
    lab, doc = _run("ecmp-explicit", seed=3)
    tr = copy.deepcopy(doc["traces"][0])
    shown = {lab.owner_of(a) for a in tr["tunnels"][0]["lsrs"]}
    other = next(n for n in ("a1", "a2", "b1", "b2") if n not in shown)
    tr["tunnels"][0]["lsrs"].append(_addr(lab, other))
    sc = _score(lab, doc, [tr])
    assert (sc["totals"]["lsrs_other_path"], sc["totals"]["false_lsrs"]) == (1, 0)
    assert sc["traces"][0]["verdicts"][0]["lsrs_other_path"] == 1
    tr["tunnels"][0]["lsrs"].append(_addr(lab, "ce2"))        # on no path's tunnel: a false LSR
    sc = _score(lab, doc, [tr])
    assert (sc["totals"]["lsrs_other_path"], sc["totals"]["false_lsrs"]) == (1, 1)


def test_completeness_from_the_last_base_hop_when_no_stop_reason_is_given():
    lab, doc = _run("invisible-php")
    tr = copy.deepcopy(doc["traces"][0])
    del tr["stop_reason"]                                  # a TNT dump gives none: the last base hop decides
    assert any(h.get("revealed") for h in tr["hops"])
    sc = _score(lab, doc, [tr])
    assert sc["traces"][0]["complete"] and sc["totals"]["incomplete_traces"] == 0
    tr["hops"] = tr["hops"][:-1]
    sc = _score(lab, doc, [tr])
    assert not sc["traces"][0]["complete"] and sc["totals"]["incomplete_traces"] == 1


def test_a_prober_with_its_own_address_is_matched_to_the_only_vantage_point_probing_there():
    lab, doc = _run("explicit")
    tr = copy.deepcopy(doc["traces"][0])
    del tr["vantage_point"]
    tr["src"] = "198.18.0.7"                               # a tap's address, no node's
    sc = _score(lab, doc, [tr, copy.deepcopy(tr)])
    assert [s["vantage_point"] for s in sc["traces"]] == ["vp", "vp"] and sc["totals"]["traces"] == 2
    assert sc["totals"]["unmatched_traces"] == 0 and sc["perfect"]


def test_a_missed_tunnel_visible_through_its_answering_lsrs_is_missed_not_undetectable():
    lab = lab_for({**CELL, "class": "implicit", "bgp_free": True})
    doc = run_lab(lab, runtime="sim", seed=1)
    tr = _unrevealed(doc["traces"][0])
    v = _only(score_run(lab, ground_truth(build(lab)), [tr]))
    assert v["outcome"] == "missed"


def test_sixpe_tunnels_never_probed_are_counted_undetectable():
    lab, doc = _run("6pe")
    sc = doc["score"]
    (np,) = sc["not_probed"]
    assert [v["cause"] for v in np["verdicts"]] == ["not-probed-ipv6"]
    assert sc["totals"]["undetectable"] == 1 and sc["per_class"]["explicit"]["undetectable"] == 1
    assert np["verdicts"][0]["truth"]["family"] == "6pe"


@pytest.mark.parametrize("name,vp,cause", [("split-pipe", "pe1", "router-vp-ingress"),
                                           ("silent-ingress", "vp", "silent-ingress")])
def test_an_ingress_no_hop_can_name_is_the_cause_of_partly_ingress(name, vp, cause):
    _, doc = _run(name)
    (v,) = [v for s in doc["score"]["traces"] if s["vantage_point"] == vp for v in s["verdicts"]
            if v["outcome"] != "correct"]
    assert (v["outcome"], v["wrong"], v["cause"]) == ("partly", ["ingress"], cause)
    assert all("cause" not in v for s in doc["score"]["traces"] for v in s["verdicts"] if v["outcome"] == "correct")


def test_truth_tunnel_addresses_and_notes():
    lab = load_lab("ldp-over-rsvp")
    (t,) = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"]
    fwd = {s["node"]: s["address"] for s in ground_truth(build(lab))["probes"][0]["paths"][0]["forward"]}
    assert t["ingress_address"] == fwd[t["ingress"]] and t["egress_address"] == fwd[t["egress"]]
    assert t["lsr_addresses"] == [fwd[n] for n in t["lsrs"]]
    assert any("p2, p3 never see the probe's TTL expire (hidden)" in n for n in t["notes"])


def test_truth_silent_steps_follow_the_engines_reply_routing():
    """silent_reason: in a BGP-free core a Cisco LSR tunnels its error along the LSP (it
    answers); the penultimate one pops first and IP-routes it, with no route back (silent);
    a Huawei LSR under `ttl expiration pop` IP-routes a one-label error (silent)."""
    lab = lab_for({**CELL, "class": "implicit", "bgp_free": True})
    steps = {s["node"]: s for s in ground_truth(build(lab))["probes"][0]["paths"][0]["forward"]}
    assert [bool(steps[n].get("silent")) for n in ("pe1", "p1", "p2", "p3", "pe2")] == [False, False, False, True, False]
    assert steps["p3"]["silent"].startswith("no IP route back to ") and "(the penultimate hop pops first)" in \
        steps["p3"]["silent"]
    lab = load_lab("huawei-bgp-free")
    (t,) = ground_truth(build(lab))["probes"][0]["paths"][0]["tunnels"]
    assert t["silent"] and "(a one-label error under ttl expiration pop)" in t["silent_reason"]
    # Juniper-like LSRs tunnel no error (icmp_tunneling off): each IP-routes it and has no
    # route back; the sim's trace shows the three of them silent, as the truth says
    lab = lab_for({**CELL, "class": "implicit", "lsr_vendor": "juniper", "bgp_free": True})
    cp = build(lab)
    steps = {s["node"]: s for s in ground_truth(cp)["probes"][0]["paths"][0]["forward"]}
    assert all(steps[n]["silent"].endswith("IP-routed (not tunnelled) and dropped (BGP-free core)")
               for n in ("p1", "p2", "p3")) and not steps["pe2"].get("silent")
    hops = ScriptedProber(Sim(lab, cp), "vp1").trace(str(lab.nodes["dst"].primary_address()))
    assert [lab.owner_of(h.address) if h.address else None for h in hops][2:5] == [None, None, None]


def test_a_router_vantage_points_own_packets_take_its_split_pipe_setting():
    lab = load_lab("split-pipe")
    got = {p["from"]: p["paths"][0]["tunnels"][0]["class"] for p in ground_truth(build(lab))["probes"]}
    assert got == {"vp": "invisible-php", "pe1": "explicit"}


# ---- rule 4, multi-domain cells of the matrix (issue 20): causes the trace itself shows
def _mx(**over):
    """A three-domain matrix cell (the defaults below; `over` the axes that differ)."""
    base = {"class": "explicit", "popping": "php", "ler_vendor": "juniper", "lsr_vendor": "cisco", "lsrs": 3,
            "p2p_prefix": 31, "ecmp": False, "ldp": "all", "vps": 1, "dests": 1, "asymmetry": 0,
            "label_order": "vendor", "vpn": False, "sr": False, "entropy_label": False, "ttl_propagate_local": "vendor",
            "router_vp": False, "tunnel_scope": "vendor", "php_ttl_writeback": "vendor", "silent": "none",
            "rate_limit": "none", "no_decrement_ttl": "vendor", "quote_bytes": "vendor",
            "source_time_exceeded": "vendor", "sixpe": False, "rsvp": False, "bgp_free": False, "ip_id": "vendor",
            "domains": 3, "join": "ip", "d2_class": "explicit", "d2_popping": "php", "d2_vendor": "cisco",
            "d2_lsrs": 1, "d3_class": "explicit", "d3_popping": "php", "d3_vendor": "cisco", "d3_lsrs": 1,
            "return_ecmp": False}
    lab = lab_for({**base, **over})
    return lab, run_lab(lab, runtime="sim", seed=0)


def _verdicts(doc, vp, ingress):
    return [(s, v) for s in doc["score"]["traces"] if s["vantage_point"] == vp
            for v in s["verdicts"] if v["truth"] and v["truth"]["ingress"] == ingress]


def test_a_tunnel_beyond_the_end_of_an_incomplete_trace_is_missed_with_the_stop_reason():
    """Domain 1's silent Linux LSRs end the trace at TNT's gap limit: domain 3's explicit tunnel
    lies beyond its last probe (trace-ended-before); the same trace completed is no such cause."""
    lab, doc = _mx(lsr_vendor="linux", lsrs=7, ldp="loopbacks", entropy_label=True, sr=True,
                   ttl_propagate_local=True, tunnel_scope="udp", php_ttl_writeback=False, bgp_free=True,
                   source_time_exceeded="incoming", d2_class="implicit", d2_vendor="junose", d3_vendor="junose",
                   d3_lsrs=2, dests=2, label_order="sequential", quote_bytes=28, ip_id="random")
    (s, v), = _verdicts(doc, "vp1", "pe5")[:1]
    assert s["stop_reason"] == "GAPLIMIT" and not s["complete"]
    assert (v["outcome"], v["cause"]) == ("missed", "trace-ended-before") and "GAPLIMIT" in v["reason"]
    tr = next(t for t in doc["traces"] if t["dst"] == s["dst"] and t.get("vantage_point") == "vp1")
    done = copy.deepcopy(tr)
    done["stop_reason"] = "COMPLETED"
    vs = [x for x in _score(lab, doc, [done])["traces"][0]["verdicts"] if x["truth"]["ingress"] == "pe5"]
    assert vs[0]["outcome"] == "missed" and "cause" not in vs[0]


def test_a_detected_tunnel_left_unrevealed_after_an_earlier_revelation_is_one_tunnel_per_trace():
    """From the router VP pe1: domain 2's opaque tunnel is revealed, domain 3's opaque tunnel is
    detected (MTTL) and not revealed: TNT reveals the first tunnel that yields hops (tnt.md 4.6).
    Without the earlier revelation the same partial detection has no cause."""
    lab, doc = _mx(ler_vendor="h3c", lsr_vendor="ericsson", lsrs=8, ecmp=True, vps=3, dests=2, asymmetry=2,
                   sr=True, ttl_propagate_local=False, router_vp=True, tunnel_scope="multi-label",
                   php_ttl_writeback=False, rate_limit="core", source_time_exceeded="incoming", bgp_free=True,
                   d2_class="opaque", d2_popping="uhp", d2_vendor="juniper", d2_lsrs=3, d3_class="opaque",
                   d3_vendor="brocade", return_ecmp=True)
    s, v = _verdicts(doc, "pe1", "pe5")[0]
    assert (v["outcome"], v["wrong"], v["cause"]) == ("partly", ["lsrs"], "one-tunnel-per-trace-lsrs")
    tr = next(t for t in doc["traces"] if t["dst"] == s["dst"] and t.get("vantage_point") == "pe1")
    lost = copy.deepcopy(tr)
    lost["hops"] = [h for h in lost["hops"] if not h.get("revealed")]
    vs = [x for x in _score(lab, doc, [lost])["traces"][0]["verdicts"] if x["truth"]["ingress"] == "pe5"]
    assert vs[0]["outcome"] == "partly" and "cause" not in vs[0]


def test_tunnels_run_together_by_tnts_tags_are_merged_and_a_tagged_candidate_is_not_tested():
    """A UHP egress quoting qTTL > 1 (Huawei, domain 2) is one more implicit LSR and a <255,64>
    Juniper egress before labelled hops is taken for an implicit LSR (sc_tnt
    identify_juniper_implicit_hop): domain 3's explicit tunnel is reported inside domain 2's
    tunnel (merged-tunnel). Split that report in two and the cause is gone (matched, not missed)."""
    lab, doc = _mx(lsr_vendor="nokia", lsrs=4, d2_class="implicit", d2_popping="uhp", d2_vendor="huawei",
                   d2_lsrs=3, d3_popping="uhp", d3_vendor="juniper", d3_lsrs=3)
    s, v = _verdicts(doc, "vp1", "pe5")[0]
    assert (v["outcome"], v["cause"]) == ("missed", "merged-tunnel")
    assert "t1" in v["reason"]
    tr = next(t for t in doc["traces"] if t["dst"] == s["dst"])
    split = copy.deepcopy(tr)
    big = next(u for u in split["tunnels"] if lab.owner_of(u["egress"]) in ("ce2", "pe6"))
    own = [a for a in big["lsrs"] if a and lab.owner_of(a) in ("t1", "t2", "t3")]
    big["lsrs"] = [a for a in big["lsrs"] if a not in own]
    split["tunnels"].append({**big, "class": "EXP", "lsrs": own})
    vs = [x for x in _score(lab, doc, [split])["traces"][0]["verdicts"] if x["truth"] and x["truth"]["ingress"] == "pe5"]
    assert vs[0]["outcome"] != "missed"


def test_a_trigger_on_a_hop_another_reported_tunnel_holds_is_candidate_tagged():
    """Domain 2's invisible UHP tunnel: DUPIP fires on the hop after it, which the implicit run
    opened by domain 1's UHP egress (qTTL > 1) already took for its egress: sc_tnt queues no test
    there (tnt.md 3.3). Drop that report and the same trigger is a plain trigger-not-revealed."""
    lab, doc = _mx(popping="uhp", ler_vendor="mikrotik", lsr_vendor="juniper", lsrs=2, p2p_prefix=30,
                   domains=2, join="direct", d2_class="invisible", d2_popping="uhp", d2_vendor="nokia", d2_lsrs=3)
    s, v = _verdicts(doc, "vp1", "pe3")[0]
    assert (v["outcome"], v["trigger"], v["cause"]) == ("missed", "DUPIP", "candidate-tagged")
    tr = next(t for t in doc["traces"] if t["dst"] == s["dst"])
    bare = copy.deepcopy(tr)
    bare["tunnels"] = []
    vs = [x for x in _score(lab, doc, [bare])["traces"][0]["verdicts"] if x["truth"]["ingress"] == "pe3"]
    assert (vs[0]["outcome"], vs[0]["cause"]) == ("missed", "trigger-not-revealed")


def test_truth_expects_triggers_for_a_router_vp_reached_through_a_uhp_lsp():
    """pe1 as a router VP behind domain 1's UHP LSP: the replies to it end with the explicit-null
    pop at pe1 itself; the truth counts them delivered, so FRPLA/RTLA are expected (they were
    None, which made a below-threshold invisible tunnel look detectable)."""
    lab = lab_for({**_MX_UHP})
    truth = ground_truth(build(lab))
    pr = next(p for p in truth["probes"] if p["from"] == "pe1")
    t = next(t for p in pr["paths"] for t in p["tunnels"] if t["ingress"] == "pe3")
    assert t["frpla_expected"] is not None
    assert visibility(lab, t) is not None


_MX_UHP = {"class": "explicit", "popping": "uhp", "ler_vendor": "juniper", "lsr_vendor": "mikrotik", "lsrs": 7,
           "p2p_prefix": 31, "ecmp": False, "ldp": "all", "vps": 2, "dests": 1, "asymmetry": 2,
           "label_order": "sequential", "vpn": False, "sr": False, "entropy_label": False,
           "ttl_propagate_local": True, "router_vp": True, "tunnel_scope": "vendor", "php_ttl_writeback": "vendor",
           "silent": "echo", "rate_limit": "none", "no_decrement_ttl": True, "quote_bytes": "vendor",
           "source_time_exceeded": "incoming", "sixpe": False, "rsvp": False, "bgp_free": True, "ip_id": "random",
           "domains": 3, "join": "direct", "d2_class": "invisible", "d2_popping": "php", "d2_vendor": "nokia",
           "d2_lsrs": 1, "d3_class": "invisible", "d3_popping": "php", "d3_vendor": "juniper", "d3_lsrs": 1,
           "return_ecmp": True}


def test_an_lsr_of_a_bgp_free_core_reads_no_u_turn_its_echo_reply_has_no_route_back():
    """Domain 1's implicit tunnel pe2 -> e1 p1 -> pe1 seen from vp2 (reversed, BGP-free core):
    p1 is silent (no route back for its time-exceeded) and e1 tunnels its time-exceeded but its
    echo reply to vp2 has no IP route: the ping goes unanswered (the trace's hop has no echo
    TTL), so no u-turn can be read. The truth lists e1 under echo_unrouted and the tunnel is
    undetectable; without that entry it would be a detectable u-turn."""
    lab, doc = _mx(ler_vendor="huawei", lsr_vendor="cisco", lsrs=2, p2p_prefix=30, ecmp=True, vps=2, dests=2,
                   asymmetry=2, sr=True, router_vp=True, php_ttl_writeback=False, rate_limit="core",
                   quote_bytes=28, bgp_free=True, **{"class": "implicit"}, join="direct", d2_class="implicit",
                   d2_vendor="linux", d2_lsrs=2, d3_vendor="brocade", return_ecmp=True)
    s, v = next((s, v) for s, v in _verdicts(doc, "vp2", "pe2") if s["dst"] == "11.255.0.1")
    t = v["truth"]
    assert "e1" in t["echo_unrouted"]
    assert (v["outcome"], v["cause"]) == ("undetectable", "implicit-no-signal")
    tr = next(x for x in doc["traces"] if x["dst"] == "11.255.0.1" and x.get("vantage_point") == "vp2")
    e1 = next(h for h in tr["hops"] if h.get("address") and lab.owner_of(h["address"]) == "e1")
    assert e1["er_ttl"] is None
    quiet = {st["node"] for p in doc["truth"] for pa in p["paths"] for st in pa["forward"] if st.get("silent")}
    assert visibility(lab, {**t, "echo_unrouted": []}, None, quiet) is None


# ---- rule 4: a revelation toward an egress address whose LSP is as hidden as the tunnel
EGRESS_HIDDEN = Path(__file__).resolve().parent / "golden" / "tnt" / "egress-address-hidden.json.gz"


def _tnt_record(path):
    with gzip.open(path, "rt") as f:
        return json.load(f)


def test_an_egress_answering_from_a_link_it_shares_with_no_lsr_is_named_egress_address_hidden():
    """An opaque tunnel pe1 -> p1 p2 p3 -> pe2 (LDP labels for every prefix, pipe TTL) whose
    egress has a second, equal-cost way back through e1 (matrix return_ecmp): pe2 (Huawei-like,
    source = the interface of the route back) answers the probe from 11.0.0.9 (its link with p3)
    or from 11.0.0.10 (its link with e1), by the reply's hash. The original TNT, recorded on
    namespaces (tests/golden/tnt/egress-address-hidden.json.gz, one run of each), reveals
    p1..p3 through the first address and nothing through the second: the LSP toward the e1
    link ends at pe2 itself and is as hidden as the tunnel (NTH-RV). uTNT on the sim with TNT's
    flow prints the same, and the scorer names the second with the truth's `reveal_from`."""
    from testbed.detectors import tnt_text
    from testbed.peers import oracle
    rec = _tnt_record(EGRESS_HIDDEN)
    diffs, traces, hops = oracle.compare_record(rec)
    assert (diffs, traces) == ([], 2)
    lab = lab_for(rec["params"])
    cp = build(lab)
    truth = ground_truth(cp)
    (t,) = truth["probes"][0]["paths"][0]["tunnels"]
    assert (t["class"], t["ingress"], t["lsrs"], t["egress"]) == ("opaque", "pe1", ["p1", "p2", "p3"], "pe2")
    shared, other = (str(i.ip) for n in ("p3", "e1") for i in lab.nodes["pe2"].interfaces
                     if n in {x.node for x in i.link.interfaces})
    assert t["reveal_from"] == {shared: ["p3"], other: []}
    # the data plane agrees: a trace toward the shared link's address shows p3, the other none
    pr = ScriptedProber(Sim(lab, cp), "vp1")
    shown = {a: [lab.owner_of(h.address) for h in pr.trace(a) if h.address] for a in (shared, other)}
    assert "p3" in shown[shared] and not {"p1", "p2", "p3"} & set(shown[other])
    by_addr = {}
    for run in rec["runs"]:
        (tr,) = tnt_text.parse(run["verbose"], "tnt.txt")
        tr["vantage_point"] = run["from"]
        eg = next(h["address"] for h in tr["hops"] if lab.owner_of(h.get("address")) == "pe2")
        by_addr[eg] = _only(score_run(lab, truth, [tr]))
    assert by_addr[shared]["outcome"] == "correct"
    v = by_addr[other]
    assert (v["outcome"], v["wrong"], v["cause"]) == ("partly", ["lsrs"], "egress-address-hidden")
    assert other in v["reason"] and "NTH-RV" in v["reason"] and f"toward {shared} shows" in v["reason"]
    # without TNT's own NTH-RV on the egress hop, or with a revealed LSR, it is not this cause
    (tr,) = tnt_text.parse(next(r["verbose"] for r in rec["runs"] if f" {other} " in r["verbose"]), "x")
    tr["vantage_point"] = "vp1"
    for h in tr["hops"]:
        h["attempts"] = []
    assert "cause" not in _only(score_run(lab, truth, [tr]))
    # missed (no tunnel reported) with the same stop: the same cause, not a bare NTH-RV
    (tr,) = tnt_text.parse(next(r["verbose"] for r in rec["runs"] if f" {other} " in r["verbose"]), "x")
    tr["vantage_point"], tr["tunnels"] = "vp1", []
    v = _only(score_run(lab, truth, [tr]))
    assert (v["outcome"], v["cause"]) == ("missed", "egress-address-hidden")


# ---- rule 4: the egress that quotes a label under the transport label (docs/tunnels.md)
@pytest.mark.parametrize("name,under", [("l3vpn", 1), ("entropy", 2)])
def test_an_egress_quoting_an_inner_label_is_tnts_lsr_and_named_inner_label_egress(name, under):
    """The truth's egress is where the transport LSP ends and the packet is routed by IP again
    (pe2: it pops the VPN label, or ELI + entropy label, and looks up the VRF / the FIB); TNT
    reads the label pe2 quotes as one more LSR and takes ce2 for the egress. The scorer keeps
    the truth and names TNT's view."""
    lab, doc = _run(name)
    (s,) = doc["score"]["traces"]
    (v,) = s["verdicts"]
    t = v["truth"]
    assert (t["egress"], t["stack_depth"], t["after_egress"]) == ("pe2", under + 1, "ce2")
    assert (v["outcome"], v["wrong"], v["cause"]) == ("partly", ["egress"], "inner-label-egress")
    assert f"with {under} label(s) under" in v["reason"] and "next hop, ce2, the egress" in v["reason"]
    tr = copy.deepcopy(doc["traces"][0])
    (u,) = tr["tunnels"]
    # a report that does not tag pe2 an LSR, or names another egress, is not this
    for change in ("lsrs", "egress"):
        bad = copy.deepcopy(tr)
        if change == "lsrs":
            bad["tunnels"][0]["lsrs"] = [a for a in u["lsrs"] if lab.owner_of(a) != "pe2"]
        else:
            bad["tunnels"][0]["egress"] = _addr(lab, "ce1")
        assert "cause" not in _only(_score(lab, doc, [bad]))
    # a one-label LSP ending the same way is not it either
    one = copy.deepcopy(ground_truth(build(lab)))
    for p in one["probes"]:
        for path in p["paths"]:
            for x in path["tunnels"]:
                x["stack_depth"] = 1
    assert "cause" not in _only(score_run(lab, one, [tr]))


def test_a_walk_that_ends_inside_an_lsp_has_a_tunnel_with_no_egress():
    """tunnels_on on a walked path that stops on a labelled step (a packet dropped inside the
    LSP: the real walk of lab explicit cut after p2, exactly that one change): the labelled
    routers are the LSRs of a tunnel whose egress is unknown ("?", no address), and a pipe
    one is invisible; a walk cut at the egress's explicit-null pop (a UHP LSP's last step)
    ends the tunnel there."""
    from testbed.truth.tunnels import tunnels_on
    from testbed.truth.walk import walk
    for knobs, cls in (({}, "explicit"), ({"class": "invisible"}, "invisible-php")):
        lab = lab_for({**CELL, **knobs})
        cp = build(lab)
        (full,) = walk(cp, "vp1", lab.nodes["dst"].primary_address())
        assert [s.node for s in full] == ["vp1", "ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2", "dst"]
        cut = full[:5]
        assert cut[-1].labels_in and cut[-1].action == "swap"
        (t,) = tunnels_on(lab, cut, cp)
        assert (t.cls, t.ingress, t.lsrs, t.egress, t.egress_addr) == (cls, "pe1", ["p1", "p2"], "?", None)
        assert t.lsr_addrs == [str(s.in_addr) for s in cut[3:5]]
    lab = lab_for({**CELL, "class": "invisible", "popping": "uhp"})
    cp = build(lab)
    (full,) = walk(cp, "vp1", lab.nodes["dst"].primary_address())
    k = next(i for i, s in enumerate(full) if s.action == "pop-explicit-null")
    (t,) = tunnels_on(lab, full[:k + 1], cp)
    assert (t.cls, t.lsrs, t.egress, t.ending) == ("invisible-uhp", ["p1", "p2", "p3"], "pe2", "uhp")
    assert t.egress_addr == str(full[k].in_addr)


def test_the_score_schema_lists_every_cause_code():
    """The generated score schema (docs/score.schema.json, from testbed/documents) names every
    cause the scorer gives, as the cause enum and as the start of the reason pattern."""
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "score.schema.json").read_text())

    def find(o, key):
        """Every value of `key` anywhere in the schema."""
        if isinstance(o, dict):
            return ([o[key]] if key in o else []) + [x for v in o.values() for x in find(v, key)]
        if isinstance(o, list):
            return [x for v in o for x in find(v, key)]
        return []
    enums = [e for e in find(schema, "enum") if "one-tunnel-per-trace" in e]
    assert enums and all(sorted(e) == sorted(CAUSES) for e in enums)
    pats = [p for p in find(schema, "pattern") if "one-tunnel-per-trace" in p]
    assert pats
    for pat in pats:
        assert pat.startswith("^(") and pat.endswith("): .+$")
        assert sorted(pat[2:-len("): .+$")].split("|")) == sorted(CAUSES)


CUT_LAB = """name: cut
description: one domain, two LDP policies (docs/tunnels.md ldp-cut)
routers:
  a: {vendor: cisco}
  b: {vendor: cisco}
  c: {vendor: juniper}
  d: {vendor: juniper}
  e: {vendor: cisco}
hosts:
  vp: {}
  dst: {}
links:
  - {lan: [a, vp], name: vp-lan}
  - [a, b]
  - [b, c]
  - [c, d]
  - [d, e]
  - [e, dst]
mpls:
  core: {routers: [a, b, c, d, e], ttl_propagate: TP, rfc4950: true}
probes:
  - {from: vp, to: dst}
"""


@pytest.mark.parametrize("uniform", [True, False])
def test_an_lsp_cut_inside_its_domain_ends_after_the_popper_only_under_uniform_ttl(tmp_path, uniform):
    """b (ldp all) pops untagged toward c (ldp loopbacks): under uniform TTL b decrements the
    label like any LSR and c, the next router of the domain, is the egress (a -> b -> c);
    under pipe TTL the popper is the egress, a -> b has no LSR and is a zero-LSR segment. The
    sim's trace agrees: b quotes its label (LSE-TTL 1) only under uniform TTL."""
    f = tmp_path / "cut.yaml"
    f.write_text(CUT_LAB.replace("TP", "true" if uniform else "false"))
    lab = load_lab(f)
    cp = build(lab)
    path = ground_truth(cp)["probes"][0]["paths"][0]
    got = [(t["class"], t["ingress"], t["lsrs"], t["egress"], t["ending"]) for t in path["tunnels"]]
    segs = [(s["ingress"], s["egress"], s["ending"]) for s in path.get("segments", [])]
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.nodes["dst"].primary_address()))
    seen = [(lab.owner_of(h.address), [t for _, t in h.labels]) for h in hops if h.address]
    if uniform:
        assert got == [("explicit", "a", ["b"], "c", "abrupt"), ("explicit", "c", ["d"], "e", "php")] and segs == []
        assert any("mixed LDP policies" in n for n in path["tunnels"][0]["notes"])
        assert seen == [("a", []), ("b", [1]), ("c", []), ("d", [1]), ("e", []), ("dst", [])]
    else:
        assert got == [("invisible-php", "c", ["d"], "e", "php")] and segs == [("a", "b", "abrupt")]
        # b quotes the label a pushed, LSE-TTL 255: no LSR spent any; d stays hidden
        assert seen == [("a", []), ("b", [255]), ("c", []), ("e", []), ("dst", [])]
