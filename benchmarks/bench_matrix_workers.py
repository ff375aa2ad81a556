"""The matrix's speed-up with 2 local workers (issue 15): the same N seeded cells run in this
process (1 worker: the peer, measured in the same run) and over 2 local processes through the
executor (testbed.experiments.pool); with --dask also on a local Dask cluster of 2 worker
processes. Prints the median wall time of each over the runs and the speed-up, and checks
that every executor gave the same cells (a benchmark of wrong results would be worthless).

    .venv/bin/python benchmarks/bench_matrix_workers.py [--cells 60] [--runs 3] [--dask]

Not a test. On a machine shared with other work the speed-up is bounded by the free cores.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.matrix import run_matrix  # noqa: E402


def _cells(doc):
    return [{k: v for k, v in c.items() if k != "cpu_seconds"} for c in doc["cells"]]


def timed(**kw):
    t = time.perf_counter()
    doc = run_matrix(**kw)
    return time.perf_counter() - t, doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dask", action="store_true", help="also on a local Dask cluster (2 worker processes)")
    a = ap.parse_args()
    print(f"matrix, {a.cells} cells (seed {a.seed}), {a.runs} runs each; load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)
    kinds = [("1 worker (in-process, peer)", {"workers": 1}), ("2 local processes", {"workers": 2})]
    cluster = None
    if a.dask:
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1")
        kinds.append(("Dask, 2 local workers", {"scheduler": cluster.scheduler_address}))
    walls: dict[str, list[float]] = {k: [] for k, _ in kinds}
    ref = None
    try:
        for _ in range(a.runs):
            for name, kw in kinds:                      # interleaved: load changes hit every kind alike
                w, doc = timed(seed=a.seed, limit=a.cells, **kw)
                walls[name].append(w)
                ref = ref or _cells(doc)
                assert _cells(doc) == ref, f"{name}: other results than the in-process run"
    finally:
        if cluster is not None:
            cluster.close()
    base = statistics.median(walls[kinds[0][0]])
    for name, _ in kinds:
        m = statistics.median(walls[name])
        print(f"  {name:30s} median {m:6.1f} s wall  ({m / a.cells * 1000:.0f} ms per cell)  "
              f"speed-up {base / m:.2f}x", flush=True)
    print("  same cells from every executor: yes")


if __name__ == "__main__":
    main()
