"""The control plane of big labs (issue 23): above compute.LAZY_ROUTERS routers no all-pairs
matrices are built, distances and first-hop masks come one destination at a time. Forced on
every lab (LAZY_ROUTERS = 0), it must give the tables and truth recorded in
tests/golden/truth/digests.json byte for byte, and the same tables as the matrices on a
generated ring-with-chords lab; and a lab of 10,000 routers computes in bounded memory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.controlplane import build, compute
from testbed.lab import load_lab
from testbed.runtimes.bigrt.shapes import ring_chord

ROOT = Path(__file__).resolve().parents[1]


def test_lazy_control_plane_gives_the_recorded_tables_and_truth(tmp_path, monkeypatch):
    from test_truth_golden import DIGESTS, _cases, _digest
    from testbed.truth import ground_truth
    monkeypatch.setattr(compute, "LAZY_ROUTERS", 0)
    recorded = json.loads(DIGESTS.read_text())
    now = {}
    for case, make in _cases(tmp_path):
        if case.startswith("import:"):
            continue                 # the imported ISPs: the slowest cases, and big labs are checked below
        cp = build(make())
        truth = _digest(ground_truth(cp))
        now[case] = {"tables": _digest({r: t.to_json() for r, t in sorted(cp.tables.items())}), "truth": truth}
    assert len(now) >= 40 and set(now) <= set(recorded)
    changed = sorted(k for k in now if now[k] != recorded[k])
    assert not changed, f"the lazy control plane differs for: {changed}"


def _tables(lab):
    cp = build(lab)
    return {r.name: cp.tables[r.name].to_json() for r in lab.routers}


def test_lazy_and_matrix_tables_agree_on_a_ring(tmp_path, monkeypatch):
    f = tmp_path / "ring.yaml"
    f.write_text(ring_chord(60))
    lab = load_lab(str(f))
    monkeypatch.setattr(compute, "LAZY_ROUTERS", 10 ** 9)
    whole = _tables(lab)
    monkeypatch.setattr(compute, "LAZY_ROUTERS", 0)
    lazy = _tables(lab)
    assert whole == lazy and len(whole) == 60
    # the ring's diameter stays low: r0 reaches r30 (30 ring hops away) in under 10 hops of cost 10
    cp = build(lab)
    assert lab.links[1].cost == 10 and cp.distance["r0"]["r30"] < 100


@pytest.mark.skipif(not os.environ.get("UTNT_BIG"), reason="heavy (20 s): UTNT_BIG=1 runs it (make test-big)")
def test_ten_thousand_routers_load_and_compute_in_bounded_memory(tmp_path):
    """In a fresh process: the lab file and the control plane of 10,000 routers (the all-pairs
    matrices alone would be 1.6 GB), one route resolved, the peak RSS under 1 GB."""
    f = tmp_path / "ring.yaml"
    f.write_text(ring_chord(10000))
    code = ("import resource, sys; from testbed.lab import load_lab; from testbed.controlplane import build; "
            f"lab = load_lab({str(f)!r}, no_limits=True); cp = build(lab); "
            "d = lab.nodes['dst'].interfaces[0].ip; rt = cp.tables['r0'].lookup(d); "
            "print(rt.nexthops[0].neighbor, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    hop, rss_kb = r.stdout.split()
    assert hop.startswith("r") and int(rss_kb) < 1 << 20
