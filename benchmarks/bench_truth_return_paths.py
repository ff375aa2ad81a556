"""The truth walk of AS3356 (topohub caida:3356, 10 vantage points x 30 destinations) with
every equal-cost return path and the revelation paths (issue 15: frpla_return_paths,
rtla_return_paths, reveal_lsrs), against the walk before that change (testbed/truth/report.py
at a8265a7, which read the first return path only), loaded beside the current package and
run in the same process on the same control plane. Prints the medians and how many tunnels
the two truths call detectable (present) and undetectable.

    .venv/bin/python benchmarks/bench_truth_return_paths.py [--runs 3]
Not a test.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from timing import module_at  # noqa: E402

from testbed.controlplane import build  # noqa: E402
from testbed.importers import import_lab, write  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.scoring.score import visibility  # noqa: E402
from testbed.truth import ground_truth  # noqa: E402

BEFORE = "a8265a7"


def old_ground_truth():
    return module_at(BEFORE, "testbed/truth/report.py", "testbed.truth", ROOT).ground_truth


def counts(lab, truth):
    present = undetectable = 0
    for p in truth["probes"]:
        for t in p["paths"][0]["tunnels"]:
            if visibility(lab, t):
                undetectable += 1
            else:
                present += 1
    return present, undetectable


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "as3356.yaml"
        write(import_lab("caida:3356"), str(f))
        lab = load_lab(f)
    cp = build(lab)
    for r in cp.tables.values():       # complete every router's tables first: both walks read the same
        r.to_json()
    before = old_ground_truth()
    t_new, t_old = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        new = ground_truth(cp)
        t_new.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        old = before(cp)
        t_old.append(time.perf_counter() - t0)
    med = statistics.median
    print(f"truth walk, AS3356 300 probes: {med(t_new):.2f} s (every return path) vs {med(t_old):.2f} s "
          f"(first return path, {BEFORE}); median of {a.runs}")
    print("tunnels on the first listed path, present / undetectable: now %d / %d, before %d / %d"
          % (*counts(lab, new), *counts(lab, old)))


if __name__ == "__main__":
    main()
