"""On real namespaces: the same seed gives the same hops, and in FRR mode the
truth is walked through the tables the engine received from FRR (marks netns, frr)."""
import pytest

from labnames import N
from testbed.api import run as run_lab
from testbed.lab import load_lab
from testbed.runtimes.netns import teardown


@pytest.mark.netns
def test_same_seed_gives_the_same_hops_on_namespaces():
    lab = load_lab("ecmp-explicit")
    runs = [run_lab(lab, runtime="netns", seed=5, name=N(f"sd-ecmp{i}")) for i in (1, 2)]
    hops = [[h["address"] for t in r["traces"] for h in t["hops"]] for r in runs]
    assert hops[0] == hops[1]
    for r in runs:
        assert r["score"]["perfect"], [v["verdict"] for s in r["score"]["traces"] for v in s["verdicts"]]
        paths = r["truth"][0]["paths"]
        assert paths[r["score"]["traces"][0]["path_index"]]["flow_path"]   # the walker predicted it
    for i in (1, 2):
        assert teardown.leftovers(N(f"sd-ecmp{i}")) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.mark.netns
@pytest.mark.frr
def test_opaque_on_frr_is_scored_against_the_class_frrs_tables_produce():
    """FRR's ldpd advertises implicit null toward a next hop without LDP, so the computed
    opaque LSP becomes an invisible PHP one on FRR: the truth must say so, and uTNT's INV is right."""
    doc = run_lab(load_lab("opaque"), runtime="netns", control_plane="frr", seed=1, name=N("sc-opq-frr"))
    assert doc["truth_source"] == "frr" and doc["frr"]["differences"]
    classes = [t["class"] for p in doc["truth"] for path in p["paths"] for t in path["tunnels"]]
    assert classes == ["invisible-php"]
    tot = doc["score"]["totals"]
    assert tot["class_correct"] == tot["present"] == 1 and doc["score"]["perfect"]
    computed = run_lab(load_lab("opaque"), runtime="sim", seed=1)
    assert [t["class"] for p in computed["truth"] for path in p["paths"] for t in path["tunnels"]] == ["opaque"]
