"""The matrix's real-network axes (testbed/experiments/matrix.py DOMAIN_AXES): MPLS
domains in series with their own class, popping and vendor, joined LER to LER or through an IP
router, and equal-cost return paths at the first domain's egress; checked on the labs they
build, their computed control plane and their ground truth."""
from ipaddress import IPv4Address

import pytest

from testbed.controlplane import build
from testbed.experiments.matrix import DOMAIN_AXES, GRID, _cell, cell_id, cells, lab_doc, lab_for, run_cell
from testbed.truth import ground_truth

BASE = {k: v[0] for k, v in GRID.items()}


def _tunnels(lab, src="vp1", dst="dst"):
    gt = ground_truth(build(lab))
    pr = next(p for p in gt["probes"] if p["from"] == src and p["to"] == str(lab.nodes[dst].primary_address()))
    return [[(t["class"], t["ingress"], t["lsrs"], t["egress"]) for t in path["tunnels"]] for path in pr["paths"]]


def test_one_domain_cells_are_the_cells_before_the_axes():
    p = dict(BASE)
    assert "domains" not in cell_id(p) and "join" not in cell_id(p)
    assert list(lab_doc(p)["mpls"]) == ["core"]


def test_three_domains_in_series_have_the_classes_vendors_and_joins_asked_for():
    p = {**BASE, "lsrs": 2, "domains": 3, "join": "ip", "d2_class": "opaque", "d2_popping": "uhp",
         "d2_vendor": "juniper", "d2_lsrs": 2, "d3_class": "invisible", "d3_vendor": "nokia", "d3_lsrs": 3}
    lab = lab_for(p)
    doc = lab_doc(p)
    assert list(doc["mpls"]) == ["core", "d2", "d3"]
    assert doc["mpls"]["d2"]["popping"] == "uhp" and lab.nodes["s1"].vendor == "juniper"
    assert lab.nodes["t3"].vendor == "nokia" and lab.nodes["pe1"].vendor == "cisco"
    assert ["pe2", "j1"] in doc["links"] and ["j1", "pe3"] in doc["links"] and ["pe6", "ce2"] in doc["links"]
    assert "j1" not in {r for d in doc["mpls"].values() for r in d["routers"]}
    paths = _tunnels(lab)
    assert len(paths) == 1
    assert [(c, i, e) for c, i, _, e in paths[0]] == [("explicit", "pe1", "pe2"), ("opaque", "pe3", "pe4"),
                                                       ("invisible-php", "pe5", "pe6")]
    assert [ls for _, _, ls, _ in paths[0]] == [["p1", "p2"], ["s1", "s2"], ["t1", "t2", "t3"]]


def test_direct_join_puts_the_next_ingress_right_after_the_egress():
    p = {**BASE, "domains": 2, "join": "direct", "d2_class": "explicit"}
    doc = lab_doc(p)
    assert ["pe2", "pe3"] in doc["links"] and not any(r.startswith("j") for r in doc["routers"])
    assert [(i, e) for _, i, _, e in _tunnels(lab_for(p))[0]] == [("pe1", "pe2"), ("pe3", "pe4")]


def test_a_domain_axis_without_its_domain_is_the_cell_without_it():
    grid = {**{k: [v] for k, v in BASE.items()}, "d2_class": ["implicit"], "d3_vendor": ["linux"], "join": ["ip"]}
    (cid, p), = cells(grid)
    assert p["d2_class"] == DOMAIN_AXES["d2_class"] and p["join"] == "direct"
    assert p["d3_vendor"] == DOMAIN_AXES["d3_vendor"] and cid == cell_id(BASE)
    two = _cell({**grid, "domains": [2], "vpn": [True], "sixpe": [True]}, 0)
    assert two["d2_class"] == "implicit" and two["join"] == "ip" and two["d3_vendor"] == DOMAIN_AXES["d3_vendor"]
    assert not two["vpn"] and not two["sixpe"]      # modelled for one domain only


@pytest.mark.parametrize("lsrs", [1, 3])
def test_return_ecmp_gives_the_egress_two_equal_cost_paths_back_and_one_forward(lsrs):
    p = {**BASE, "lsrs": lsrs, "return_ecmp": True}
    lab = lab_for(p)
    cp = build(lab)
    back = cp["pe2"].lookup(IPv4Address(str(lab.nodes["vp1"].primary_address())))
    assert sorted(h.neighbor for h in back.nexthops) == sorted(["e1", f"p{lsrs}"])
    before = f"p{lsrs - 1}" if lsrs > 1 else "pe1"
    fwd = cp[before].lookup(IPv4Address(str(lab.nodes["dst"].primary_address())))
    assert [h.neighbor for h in fwd.nexthops] == [f"p{lsrs}"]
    assert len(_tunnels(lab)) == 1          # one forward path
    assert "return_ecmp=true" in cell_id(p)


def test_multi_domain_cells_run_and_score():
    """A few seeded multi-domain cells run on the sim and are scored (no cell errors)."""
    grid = {**GRID, "domains": [2, 3], "return_ecmp": [False, True]}
    for c in cells(grid, seed=7, limit=3):
        r = run_cell(c, seed=0)
        assert "error" not in r, r.get("error")
        assert r["totals"]["present"] + r["totals"]["undetectable"] >= 1
        # one tunnel per domain on vp1's way (each domain's LSP ends at its egress)
        assert all(len(path) == c[1]["domains"] for path in _tunnels(lab_for(c[1])))


def test_shared_join_puts_two_lsps_back_to_back_through_one_router():
    """join shared (opt-in: --set join=shared): pe2 is the egress of the core and the ingress of
    d2 (a router in both domains), pe4 of d2 and d3; the truth has one tunnel per domain, each
    ending where the next one starts."""
    p = {**BASE, "lsrs": 2, "domains": 3, "join": "shared", "d2_lsrs": 2, "d3_lsrs": 1}
    doc = lab_doc(p)
    assert doc["mpls"]["d2"]["routers"] == ["pe2", "s1", "s2", "pe4"]
    assert doc["mpls"]["d3"]["routers"] == ["pe4", "t1", "pe6"]
    assert "pe3" not in doc["routers"] and "pe5" not in doc["routers"]
    lab = lab_for(p)
    assert lab.shared_routers() == {"pe2": ["core", "d2"], "pe4": ["d2", "d3"]}
    assert [(i, ls, e) for _, i, ls, e in _tunnels(lab)[0]] == [("pe1", ["p1", "p2"], "pe2"),
                                                                 ("pe2", ["s1", "s2"], "pe4"), ("pe4", ["t1"], "pe6")]


def test_shared_join_is_opt_in_and_keeps_one_ttl_mode_per_shared_router():
    from testbed.errors import TestbedError
    from testbed.experiments.matrix import OPT_IN, parse_grid
    assert "shared" not in GRID["join"] and "shared" in OPT_IN["join"]       # the default draw stays as it was
    assert parse_grid({"join": "shared"})["join"] == ["shared"]
    with pytest.raises(TestbedError, match="choose from direct, ip, shared"):
        parse_grid({"join": "nope"})
    grid = {**{k: [v] for k, v in BASE.items()}, "domains": [2], "join": ["shared"], "class": ["invisible"],
            "d2_class": ["explicit"], "sr": [True], "rsvp": [True], "bgp_free": [True]}
    p = _cell(grid, 0)
    # the shared router has one ttl-propagate: d2 takes the core's pipe mode; no SR, RSVP or BGP-free
    assert p["d2_class"] == "invisible" and not (p["sr"] or p["rsvp"] or p["bgp_free"])
    assert {c for c, _, _, _ in _tunnels(lab_for(p))[0]} == {"invisible-php"}


def test_a_tunnel_reported_through_the_shared_router_is_the_back_to_back_limit():
    """Juniper-like back-to-back LSPs: TNT (and uTNT) infer the shared router pe2 an LSR and
    report one tunnel over both; the verdicts that merge causes are named back-to-back-merged,
    and only where the reported tunnel runs through a router in two domains."""
    from testbed.experiments.matrix import LIMITS, _parts_limit
    from testbed.api import run as run_lab
    from testbed.lab import load_lab
    assert "back-to-back-merged" in LIMITS
    for lab_name, named in (("back-to-back", True), ("two-lsps", False)):
        lab = load_lab(lab_name, {"vendor": "juniper"})
        doc = run_lab(lab, runtime="sim", seed=1)
        (s,) = doc["score"]["traces"]
        reported = [x["reported"] for x in s["verdicts"] if x["reported"]]
        wrong = [v for v in s["verdicts"] if v["outcome"] != "correct"]
        assert wrong, lab_name
        got = {_parts_limit(lab, v, v["truth"], v["reported"], s["vantage_point"], reported=reported) for v in wrong}
        assert (got == {"back-to-back-merged"}) == named, (lab_name, got)


def test_a_trace_ended_by_scampers_loop_at_a_shared_router_is_the_loop_limit():
    """Three LSPs back to back, two ending UHP: one router answers three TTLs in a row, TNT's
    (and uTNT's) trace stops on scamper's loop rule; the incomplete trace and the hidden tunnels
    at the shared routers are named loop-stop, and nothing of the cell is left unexplained."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_tnt_back_to_back import LOOP_CELL
    p = {**BASE, **LOOP_CELL}
    r = run_cell((cell_id(p), p), seed=3)
    assert r["problems"] == []
    assert any(x.startswith("[loop-stop]") and "incomplete trace (LOOP)" in x for x in r["limits"])


def test_the_matrix_names_an_egress_answering_from_its_e1_link_and_five_silent_hops_in_a_row():
    """The two kinds of failing cell found at 1,000 cells (seeds 0 and 1), each checked against
    the original TNT on namespaces (same NTH-RV; same five stars and GAPLIMIT): an opaque
    tunnel whose egress answers from its link to e1 (return_ecmp) reveals nothing, and a trace
    through a silent ingress, three P routers of a BGP-free core with no route back and a
    Linux UHP egress stops at the gap limit. Both are named limits, not failures."""
    p = {**BASE, "class": "opaque", "ler_vendor": "huawei", "lsrs": 3, "return_ecmp": True}
    r = run_cell((cell_id(p), p), seed=1)
    assert r["problems"] == [] and any(x.startswith("[egress-address-hidden] vp1->") for x in r["limits"])
    q = {**BASE, "popping": "uhp", "ler_vendor": "linux", "lsr_vendor": "junose", "lsrs": 3,
         "tunnel_scope": "multi-label", "silent": "ingress", "bgp_free": True}
    r = run_cell((cell_id(q), q), seed=1)
    assert r["problems"] == [] and any(x.startswith("[gap-limit] vp1->") and "GAPLIMIT" in x for x in r["limits"])
    # four silent hops (the egress answers): no gap limit, the trace completes
    q["ler_vendor"] = "cisco"
    r = run_cell((cell_id(q), q), seed=1)
    assert not any("GAPLIMIT" in x for x in r["problems"] + r["limits"])


def test_a_shared_router_that_answers_at_no_hop_is_the_unseen_limit():
    """Back-to-back LSPs, the first ending UHP at a Cisco-like shared router pe2: it leaves an
    IP-TTL of 1 as 1 and pushes into the next (pipe) LSP, so no probe expires at pe2 and the
    trace goes from pe1 to pe4 (twice): uTNT reports one opaque tunnel over both. The verdicts
    of both tunnels ending or starting at pe2 are named shared-router-unseen. A Juniper-like pe2
    expires the probe on the explicit null and answers: the rule does not fire there."""
    from testbed.experiments.matrix import LIMITS, _cell_lab, _unseen_shared
    from testbed.api import run as run_lab
    assert "shared-router-unseen" in LIMITS
    p = {**BASE, "class": "invisible", "popping": "uhp", "lsrs": 2, "domains": 2, "join": "shared",
         "d2_class": "opaque"}
    for vendor, unseen in (("cisco", True), ("juniper", False)):
        q = {**p, "ler_vendor": vendor}
        with _cell_lab(q, "sim") as lab:
            doc = run_lab(lab, runtime="sim", seed=3, name=lab.name)
        tr = next(t for t in doc["traces"] if t.get("vantage_point") == "vp1")
        assert ("pe2" not in {lab.owner_of(h["address"]) for h in tr["hops"] if h.get("address")}) == unseen
        s = next(x for x in doc["score"]["traces"] if x["vantage_point"] == "vp1")
        ends = [_unseen_shared(lab, doc, s, v["truth"]) for v in s["verdicts"] if v["truth"]]
        assert ends == ([{"pe2"}, {"pe2"}] if unseen else [set(), set()]), ends
        r = run_cell((cell_id(q), q), seed=3)
        named = [x for x in r["limits"] if x.startswith("[shared-router-unseen]")]
        assert r["problems"] == [], (vendor, r["problems"])
        if unseen:
            assert len(named) == 2 and all("pe1->p1 p2->pe2" in x or "pe2->s1->pe4" in x for x in named), named
        else:
            assert named == [], named


def test_an_ingress_no_revelation_trace_shows_is_the_ing_nf_limit():
    """Three domains back to back with asymmetric link costs: the probe toward dst crosses pe2
    unlabelled and s1 pushes (truth invisible-php s1 -> s2 -> pe4), but toward pe4's address
    pe2 pushes d2's LSP itself and s1 is one of its hidden LSRs: the revelation trace shows no
    hop of s1 and uTNT (as TNT) stops with ING-NF. That miss is named ingress-hidden-on-revelation;
    the core tunnel's ingress pe1 is on the trace toward its egress, so the rule does not hold
    there, and without the asymmetry nothing is named."""
    from testbed.experiments.matrix import LIMITS, _cell_lab, _ingress_hidden_toward
    from testbed.api import run as run_lab
    assert "ingress-hidden-on-revelation" in LIMITS
    p = {**BASE, "class": "opaque", "ler_vendor": "mikrotik", "lsrs": 3, "domains": 3, "join": "shared",
         "d2_class": "invisible", "d2_vendor": "iosxr", "d2_lsrs": 2, "d3_class": "invisible",
         "d3_vendor": "junose", "d3_lsrs": 2, "asymmetry": 2}
    r = run_cell((cell_id(p), p), seed=3)
    named = [x for x in r["limits"] if x.startswith("[ingress-hidden-on-revelation]")]
    assert r["problems"] == [] and named and all("s1->s2->pe4" in x and "stop-ingress-not-found" in x
                                                 for x in named), (r["problems"], named)
    with _cell_lab(p, "sim") as lab:
        doc = run_lab(lab, runtime="sim", seed=3, name=lab.name)
    s = next(x for x in doc["score"]["traces"] if x["vantage_point"] == "vp1")
    got = {(v["truth"]["ingress"], v["truth"]["egress"]): _ingress_hidden_toward(lab, "vp1", v["truth"])
           for v in s["verdicts"] if v["truth"] and v["truth"]["hidden"]}
    assert got[("s1", "pe4")] is True and got[("pe1", "pe2")] is False, got
    q = {**p, "asymmetry": BASE["asymmetry"]}
    r = run_cell((cell_id(q), q), seed=3)
    assert not any(x.startswith("[ingress-hidden-on-revelation]") for x in r["limits"])


def test_an_ingress_answering_from_another_address_is_the_address_ecmp_limit():
    """With equal-cost routes back (return_ecmp) and its reply's source taken from the outgoing
    link, the shared router pe2 answers the trace toward dst and the trace toward the next
    egress's address (TNT's revelation target) from two different addresses: TNT, which looks
    for the ingress hop's address, stops with ING-NF. The rule's condition holds there and not
    without the equal-cost return; a cell where uTNT stops so is named ingress-address-ecmp."""
    from testbed.controlplane import build
    from testbed.experiments.matrix import LIMITS, _cell_lab, _ingress_answers_apart
    from testbed.api import run as run_lab
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    assert "ingress-address-ecmp" in LIMITS
    p = {**BASE, "class": "invisible", "lsrs": 6, "domains": 3, "join": "shared", "d2_class": "invisible",
         "d2_vendor": "huawei", "d2_lsrs": 3, "d3_class": "invisible", "d3_popping": "uhp", "d3_vendor": "linux",
         "return_ecmp": True}
    for ecmp in (True, False):
        with _cell_lab({**p, "return_ecmp": ecmp}, "sim") as lab:
            doc = run_lab(lab, runtime="sim", seed=3, name=lab.name)
            s = next(x for x in doc["score"]["traces"] if x["vantage_point"] == "vp1")
            t = next(v["truth"] for v in s["verdicts"] if v["truth"] and v["truth"]["ingress"] == "pe2")
            assert _ingress_answers_apart(lab, doc, s, t) == ecmp
            if ecmp:
                pr = ScriptedProber(Sim(lab, build(lab)), "vp1")
                at = [{h.address for h in pr.trace(d) if h.address and lab.owner_of(h.address) == "pe2"}
                      for d in (s["dst"], t["egress_address"])]
                assert len(at[0]) == 1 and len(at[1]) == 1 and at[0] != at[1], at
    # a router VP too: the tunnel reported from its tags, its revelation cut short by ING-NF
    r = run_cell((cell_id({**p, "router_vp": True}), {**p, "router_vp": True}), seed=3)
    assert r["problems"] == [] and any(x.startswith("[ingress-address-ecmp] vp1->") and "partly" in x
                                       for x in r["limits"]), r
    q = {**BASE, "class": "invisible", "lsr_vendor": "h3c", "lsrs": 8, "ldp": "loopbacks", "dests": 2,
         "label_order": "sequential", "entropy_label": True, "router_vp": True, "php_ttl_writeback": True,
         "silent": "lsr", "no_decrement_ttl": True, "ip_id": "random", "domains": 2, "join": "shared",
         "d2_class": "invisible", "d2_popping": "uhp", "d2_vendor": "iosxr", "d2_lsrs": 3, "return_ecmp": True}
    r = run_cell((cell_id(q), q), seed=3)
    assert r["problems"] == [] and any(x.startswith("[ingress-address-ecmp] pe1->") for x in r["limits"]), r


def test_lsrs_hidden_on_the_last_revelation_target_are_the_target_hides_limit():
    """One FEC swapped through both domains (truth opaque pe1 -> p1 pe2 s1 -> pe4, p1 silent):
    the revelation reveals s1 toward pe4's address, then traces toward s1's address, where pe2
    is again inside the LSP: nothing new, NTH-RV, pe2 not found. A scripted trace toward s1's
    address shows no pe2 (named revelation-target-hides); toward pe4's address it shows s1, so
    the rule does not hold for a report that had revealed nothing."""
    from testbed.experiments.matrix import LIMITS, _cell_lab, _target_hides
    from testbed.api import run as run_lab
    assert "revelation-target-hides" in LIMITS
    p = {**BASE, "class": "opaque", "popping": "uhp", "ler_vendor": "iosxr", "lsr_vendor": "iosxr", "lsrs": 1,
         "silent": "lsr", "domains": 2, "join": "shared", "d2_class": "opaque"}
    r = run_cell((cell_id(p), p), seed=3)
    named = [x for x in r["limits"] if x.startswith("[revelation-target-hides]")]
    assert r["problems"] == [] and named and all("pe1->p1 pe2 s1->pe4" in x for x in named), (r["problems"], named)
    with _cell_lab(p, "sim") as lab:
        doc = run_lab(lab, runtime="sim", seed=3, name=lab.name)
    s = next(x for x in doc["score"]["traces"] if x["vantage_point"] == "vp1")
    v = next(x for x in s["verdicts"] if x["truth"] and "pe2" in x["truth"]["lsrs"])
    u = v["reported"]
    assert [lab.owner_of(a) for a in u["lsrs"]] == ["s1"] and u["stop_reason"] == "NTH-RV"
    assert _target_hides(lab, "vp1", v, v["truth"], u)
    assert not _target_hides(lab, "vp1", v, v["truth"], {**u, "lsrs": []})     # toward pe4: s1 answers


def test_a_tunnel_behind_five_silent_linux_lsrs_is_the_gap_limit():
    """Router VP pe1 with uniform TTL for its own probes (ttl_propagate_local) into an LSP
    swapped through the shared router pe2: its five Linux LSRs drop every expiring label, the
    trace stops at TNT's gap limit before any router of the tunnel answers, and the missed
    explicit tunnel is named gap-limit with the incomplete trace."""
    from testbed.experiments.matrix import _answered, _cell_lab
    from testbed.api import run as run_lab
    p = {**BASE, "class": "opaque", "ler_vendor": "iosxr", "lsr_vendor": "linux", "lsrs": 5,
         "ttl_propagate_local": True, "router_vp": True, "domains": 2, "join": "shared", "d2_class": "opaque",
         "d2_vendor": "h3c", "d2_lsrs": 3}
    r = run_cell((cell_id(p), p), seed=3)
    assert r["problems"] == [], r["problems"]
    assert any(x.startswith("[gap-limit] pe1->") and "missed [truth explicit pe1->" in x for x in r["limits"])
    with _cell_lab(p, "sim") as lab:
        doc = run_lab(lab, runtime="sim", seed=3, name=lab.name)
    s = next(x for x in doc["score"]["traces"] if x["vantage_point"] == "pe1")
    assert s["stop_reason"] == "GAPLIMIT" and _answered(lab, doc, s) == set()
