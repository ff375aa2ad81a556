"""A seeded sample of the evaluation matrix (testbed.experiments.matrix).

On the part of the grid whose routers behave as TNT was built against (Cisco- and
Juniper-like LERs and LSRs, PHP), every verdict that is not `correct` must be one of the
named TNT limitations (matrix.LIMITS: the rule that causes it); anything else fails."""
import pytest

from testbed.experiments.matrix import (BEHAVIOUR_AXES, DOMAIN_AXES, GRID, LIMITS, cells, generate, lab_for, run_cell,
                                        summarize)
from testbed.truth import ground_truth
from testbed.controlplane import build

TNT_GRID = {**GRID, "popping": ["php"], "ler_vendor": ["cisco", "juniper"], "lsr_vendor": ["cisco", "juniper"],
            **{k: [v] for k, v in {**BEHAVIOUR_AXES, **DOMAIN_AXES}.items()}}


def test_generate_is_seeded_and_builds_valid_labs():
    a = [c for c, _ in generate(TNT_GRID, seed=11, limit=5)]
    assert a == [c for c, _ in generate(TNT_GRID, seed=11, limit=5)]
    assert a != [c for c, _ in generate(TNT_GRID, seed=12, limit=5)]
    assert len(cells(TNT_GRID, 0, None)) == 4 * 2 * 2 * 8 * 2 * 2 * 2 * 3 * 2 * 2


@pytest.mark.parametrize("cls,want", [("explicit", "explicit"), ("implicit", "implicit"),
                                      ("opaque", "opaque"), ("invisible", "invisible-php")])
def test_cell_truth_has_the_class_asked_for(cls, want):
    p = dict(cells(TNT_GRID, 0, 1)[0][1], **{"class": cls, "lsrs": 3, "ecmp": False, "vps": 2, "ldp": "all",
                                              "ler_vendor": "cisco", "lsr_vendor": "cisco"})
    gt = ground_truth(build(lab_for(p)))
    classes = {t["class"] for pr in gt["probes"] for path in pr["paths"] for t in path["tunnels"]}
    assert classes == {want}
    assert {pr["from"] for pr in gt["probes"]} == {"vp1", "vp2"}


def test_matrix_sample_misses_only_by_named_tnt_rules():
    results = [run_cell(c, seed=0) for c in cells(TNT_GRID, seed=2026, limit=40)]
    s = summarize(results)
    assert not s["errors"], s["errors"][:3]
    assert not s["failing"], s["failing"][:3]
    assert s["perfect"] >= 10
    for name in s["explained"]:
        assert name in LIMITS and "tnt.md" in LIMITS[name]
    rows = {r["class"]: r for r in s["per_class"]}
    assert rows["explicit"]["recall"] == 1.0 and rows["explicit"]["precision"] == 1.0


def test_conformance_variants_draw_from_the_matrix(tmp_path):
    """The conformance suite (uTNT vs the original TNT) can run on matrix cells: variants with
    source "matrix" are the generator's cells written as lab files that load to the same lab."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conformance.variants import conformance_grid, matrix_variants, variants
    from testbed.lab import load_lab
    vs = matrix_variants(4, seed=5, folder=str(tmp_path))
    grid = conformance_grid()
    assert grid["ecmp"] == [False] and grid["vps"] == GRID["vps"] and grid["router_vp"] == GRID["router_vp"]
    want = cells(grid, 5, 4)
    assert [v["cell"] for v in vs] == [c for c, _ in want]
    for v, (_, params) in zip(vs, want):
        a, b = load_lab(v["lab"]), lab_for(params)
        assert a.name == b.name and [p.source for p in a.probes] == [p.source for p in b.probes]
        assert {n: x.personality for n, x in a.nodes.items()} == {n: x.personality for n, x in b.nodes.items()}
    assert variants(3, source="library")[0]["lab"] == "asymmetric"


def test_an_invisible_uhp_tunnel_whose_revelation_revealed_nothing_is_the_uhp_lsrs_limit():
    """A Juniper UHP egress with entropy labels answers labelled (MTTL): TNT tries the tunnel and
    its revelation stops with nothing revealed (NTH-RV), since the LSP toward the egress's own
    address pops explicit null at the egress too. The limit is named from the detector's stop
    reason and the truth's UHP class, never for another class with the same stop."""
    p = {"class": "invisible", "popping": "uhp", "ler_vendor": "juniper", "lsr_vendor": "iosxr", "lsrs": 3,
         "p2p_prefix": 30, "ecmp": True, "ldp": "all", "vps": 2, "dests": 2, "asymmetry": 0,
         "label_order": "sequential", "vpn": False, "sr": False, "entropy_label": True, "ttl_propagate_local": True,
         "router_vp": True, "tunnel_scope": "vendor", "php_ttl_writeback": False, "silent": "lsr",
         "rate_limit": "none", "no_decrement_ttl": True, "quote_bytes": 28, "source_time_exceeded": "vendor",
         "sixpe": False, "rsvp": False, "bgp_free": True, "ip_id": "random", "domains": 2, "join": "direct",
         "d2_class": "implicit", "d2_popping": "uhp", "d2_vendor": "juniper", "d2_lsrs": 1, "d3_class": "explicit",
         "d3_popping": "php", "d3_vendor": "cisco", "d3_lsrs": 1, "return_ecmp": False}
    from testbed.experiments.matrix import _limit_of
    r = run_cell(("uhp-nthrv", p), seed=0)
    assert not r["problems"], r["problems"]
    hit = [x for x in r["limits"] if "[uhp-lsrs]" in x and "stop-nothing-revealed" in x and "invisible-uhp" in x]
    assert hit
    lab = lab_for(p)
    v = {"outcome": "missed", "cause": "stop-nothing-revealed"}
    assert _limit_of(lab, v, {"class": "invisible-uhp", "egress": "pe1", "lsrs": []}, None, []) == "uhp-lsrs"
    # an opaque tunnel: the limit only where its egress pops UHP (pe1 here), not at a PHP egress
    php = lab_for({**p, "d2_popping": "php"})
    assert lab.nodes["pe1"].popping == "uhp" and php.nodes["pe4"].popping == "php"
    assert _limit_of(lab, v, {"class": "opaque", "egress": "pe1", "lsrs": [], "hidden": True}, None, []) == "uhp-lsrs"
    assert _limit_of(php, v, {"class": "opaque", "egress": "pe4", "lsrs": [], "hidden": True}, None, []) is None
    # a false tunnel's verdict has no truth tunnel: no limit, and no crash
    assert _limit_of(lab, {"outcome": "false-tunnel"}, None, {"class": "OPA", "lsrs": []}, []) is None
