"""A link failure during a run: the path moves, the truth is recomputed from the new state, and
uTNT's second trace follows the new path and is scored against the new truth (sim runtime)."""
from __future__ import annotations

import pytest

from testbed.experiments.failure import run_with_failure
from testbed.lab import load_lab

pytest.importorskip("topohub", reason="topohub not installed (pip install 'utnt-lab[topo]')")


def test_link_failure_changes_path_truth_and_trace(tmp_path):
    from testbed.importers import import_lab, write
    f = tmp_path / "att.yaml"
    write(import_lab("topozoo:AttMpls", vps=1, dsts=4, classes="explicit", seed=2), str(f))
    lab = load_lab(f)
    from testbed.controlplane import build
    from testbed.truth import ground_truth
    truth = ground_truth(build(lab))
    # the longest path's middle link (between two routers)
    p = max(truth["probes"], key=lambda p: len(p["paths"][0]["forward"]))
    fwd = [s["node"] for s in p["paths"][0]["forward"]]
    routers = [n for n in fwd if lab.nodes[n].is_router]
    k = len(routers) // 2
    a, b = routers[k - 1], routers[k]
    doc = run_with_failure(lab, link=f"{a},{b}")
    before, after = doc["phases"]
    ch = [c for c in doc["changed"] if c["to"] == p["to_name"]]
    assert ch, "the failed link was on this path: the truth must move"
    c = ch[0]
    assert (a, b) in zip(c["before"], c["before"][1:]) or (b, a) in zip(c["before"], c["before"][1:])
    assert (a, b) not in zip(c["after"], c["after"][1:]) and (b, a) not in zip(c["after"], c["after"][1:])
    # uTNT's trace after the failure shows routers of the new path only, in its order
    seen = [n for n in c["trace_after"] if n]
    assert seen and set(seen) <= set(c["after"])
    assert seen != [n for n in c["trace_before"] if n]
    # each phase is scored against its own truth: the explicit tunnels are found both times
    for ph in (before, after):
        assert ph["score"]["totals"]["present"] > 0
        assert ph["score"]["totals"]["false_lsrs"] == 0
    assert not any(ln.down for ln in lab.links)          # the caller's lab is restored
