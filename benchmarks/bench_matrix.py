"""The evaluation matrix's run time (issue 12): N generated labs on the sim runtime in a pool
of 2 workers (target: 1,000 labs within 10 minutes on 2 cores), with CPU time per lab.

Peer, measured in the same run: labs one by one in this process (1 worker), on a
50-lab subset, so the pool's speed-up is visible. Run it once (it takes minutes):

    .venv/bin/python benchmarks/bench_matrix.py [N]
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.matrix import run_matrix  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    t = time.perf_counter()
    doc = run_matrix(limit=n, seed=0, workers=2)
    wall = time.perf_counter() - t
    cpu = [c["cpu_seconds"] for c in doc["cells"] if "cpu_seconds" in c]
    print(f"matrix, {n} labs, 2 workers: {wall:.1f} s wall, {sum(cpu):.1f} s CPU, "
          f"median {statistics.median(cpu) * 1000:.0f} ms CPU per lab")
    t = time.perf_counter()
    peer = run_matrix(limit=50, seed=0, workers=1)
    pw = time.perf_counter() - t
    print(f"peer: 50 labs sampled with the same seed, 1 worker: {pw:.1f} s wall "
          f"({pw / 50 * 1000:.0f} ms per lab; pool: {wall / n * 1000:.0f} ms per lab)")
    assert peer["cells"]


if __name__ == "__main__":
    main()
