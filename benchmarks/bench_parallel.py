"""Many uTNT instances at once (issue 16): per-instance memory (PSS, from smaps_rollup) and
start to first probe (seen in the lab's switch namespace) against how many run at once, on
five-vp (5 vantage points); medians over the instances of each run. Needs root.

    .venv/bin/python benchmarks/bench_parallel.py [--json]
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.parallel import entries_for, probe_many  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api  # noqa: E402

LEVELS = [(1, 1), (5, 1), (20, 4)]           # (instances at once, instances per vantage point)


def main():
    lab = load_lab("five-vp")
    name = f"bp-{os.getpid()}"
    api.up(lab, name=name)
    rows = []
    try:
        for par, rep in LEVELS:
            entries = entries_for(lab, repeat=rep) if par > 1 else entries_for(lab, "vp1")
            doc = probe_many(lab, name, entries, parallel=par)
            s = doc["summary"]
            rows.append({"parallel": par, "instances": s["instances"], "completed": s["completed"],
                         "perfect": doc["score"]["perfect"], "median_pss_mb": round(s["median_pss_kb"] / 1024, 2),
                         "median_rss_mb": round(s["median_rss_kb"] / 1024, 2),
                         "median_first_probe_ms": round(s["median_first_probe_s"] * 1000),
                         "median_run_s": s["median_seconds"], "wall_s": s["wall_seconds"]})
    finally:
        api.down(name)
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'at once':>8s} {'done':>6s} {'perfect':>8s} {'PSS':>8s} {'RSS':>8s} {'first probe':>12s} "
          f"{'run':>7s} {'wall':>7s}   (medians per instance; load: {os.getloadavg()[0]:.1f})")
    for r in rows:
        print(f"{r['parallel']:8d} {r['completed']:3d}/{r['instances']:<2d} {str(r['perfect']):>8s} "
              f"{r['median_pss_mb']:6.1f}MB {r['median_rss_mb']:6.1f}MB {r['median_first_probe_ms']:10d}ms "
              f"{r['median_run_s']:6.2f}s {r['wall_s']:6.2f}s")
    print("paper (uTNT unikernel, KVM, with KSM): ~3.4 MB guest PSS; its launch-to-start time was not logged")


if __name__ == "__main__":
    main()
