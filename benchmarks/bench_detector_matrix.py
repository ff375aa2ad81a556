"""What a matrix costs a detector of one's own (issue 22): the same N seeded cells with
examples/labelseer as a Python entry point on the sim (cells over --workers processes) and as
a command template on namespaces (each cell a lab brought up, probed by real packets, torn
down, one at a time). Prints the wall time of each, the median per cell, and checks that the
two scored the same tunnels the same way (per-class detected counts).

    .venv/bin/python benchmarks/bench_detector_matrix.py [--cells 100] [--seed 5] [--workers 2]

Not a test; needs root for the namespace half (--sim-only skips it).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sim-only", action="store_true")
    a = ap.parse_args()
    from test_detector_registry import install_on_path

    from testbed.detectors import registry
    from testbed.experiments.matrix import run_matrix
    site = install_on_path(Path(tempfile.mkdtemp(prefix="bench-site-")))
    sys.path.insert(0, str(site))
    registry.reset()
    out = {}
    t = time.perf_counter()
    doc = run_matrix(seed=a.seed, limit=a.cells, workers=a.workers, detector="labelseer")
    out["sim (entry point)"] = (time.perf_counter() - t, doc)
    if not a.sim_only:
        cmd = f"{sys.executable} {site / 'labelseer.py'} --tap {{tap}} --ip {{ip}} --gw {{gw}} --mac {{mac}} {{dst}}"
        t = time.perf_counter()
        doc = run_matrix(seed=a.seed, limit=a.cells, runtime="netns", detector_cmd=cmd)
        out["netns (command template)"] = (time.perf_counter() - t, doc)
    for k, (wall, doc) in out.items():
        cpu = [c["cpu_seconds"] for c in doc["cells"] if "cpu_seconds" in c]
        s = doc["summary"]
        print(f"{k}: {s['cells']} cells in {wall:.1f} s wall ({wall / s['cells']:.2f} s per cell), median "
              f"{statistics.median(cpu) if cpu else 0:.3f} s CPU per cell in this process, {s['perfect']} perfect, "
              f"{len(s['errors'])} errors")
    if len(out) == 2:
        a_, b_ = (d["summary"]["per_class"] for _, d in out.values())
        same = {r["class"]: r["detected"] for r in a_} == {r["class"]: r["detected"] for r in b_}
        print(f"per-class detected counts {'the same' if same else 'DIFFER'} on sim and netns")


if __name__ == "__main__":
    main()
