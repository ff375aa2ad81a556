"""The AS3356 sim campaign (topohub caida:3356: 404 routers, 10 vantage points x 30
destinations = 300 traces, uTNT seeded: `testbed run as3356.yaml --runtime sim --seed 1`)
with forwarding state on demand (issue 23: a router compiled on its first packet, its routes
and labels per destination) against the code before (c9cf895: Sim() compiled every router's
whole FIB and LFIB), each run in a fresh process (its peak RSS is the figure):

  setup      load the lab file and compute the control plane (wall and CPU seconds)
  campaign   uTNT from the 10 vantage points in-process (a Sim per vantage point), traces/s
             over the probing time; then the truth walk (seeded: every probe's flow)
  memory     the process's peak RSS (ru_maxrss)
  identical  a digest of the campaign's traces and scores: the same from both

The peer is the tree at BEFORE (git archive into a temporary folder, run with it first on
sys.path), once with --peer (minutes). Medians of --runs; prints the README's table rows.

    .venv/bin/python benchmarks/bench_sim_ondemand.py [--runs 3] [--peer]
Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "c9cf895"

WORKER = r"""
import hashlib, json, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from testbed.controlplane import build
from testbed.experiments.campaign import campaign
from testbed.lab import load_lab
lab = load_lab(sys.argv[1])
cp = build(lab)
setup, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
import testbed.experiments.campaign as cm
cell, probe_cpu = cm.sim_cell, [0.0]
def timed(job):
    c = time.process_time()
    try:
        return cell(job)
    finally:
        probe_cpu[0] += time.process_time() - c
cm.sim_cell = timed                       # the probing's CPU seconds (the vantage points run inline)
d = campaign(lab, "sim", cp=cp, workers=1, seed=1)
keep = {k: v for k, v in d.items() if k not in ("seconds", "traces_per_second", "_truth")}  # all but timings
print(json.dumps({"setup": setup, "setup_cpu": setup_cpu, "traces": d["traces"],
                  "probing": d["seconds"]["probing"], "probing_cpu": probe_cpu[0], "truth": d["seconds"]["truth"],
                  "total": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "digest": hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]}))
"""


def run(tree: Path, lab: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    r = subprocess.run([sys.executable, "-c", WORKER, str(lab)], env=env, cwd=str(tree),
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def show(what, rows):
    n = med(rows, "traces")
    print(f"{what}: setup {med(rows, 'setup'):.1f} s ({med(rows, 'setup_cpu'):.1f} s CPU), "
          f"{int(n)} traces in {med(rows, 'probing'):.2f} s = {n / med(rows, 'probing'):.1f} traces/s "
          f"({n / med(rows, 'probing_cpu'):.0f} per CPU second), truth {med(rows, 'truth'):.1f} s, "
          f"all {med(rows, 'total'):.1f} s ({med(rows, 'cpu'):.1f} s CPU), peak RSS {med(rows, 'rss_mb'):.0f} MB; "
          f"digest {rows[0]['digest']}", flush=True)


def cell(rows) -> str:
    n = med(rows, "traces")
    return (f"{med(rows, 'setup'):.1f} s ({med(rows, 'setup_cpu'):.1f} s CPU); {n / med(rows, 'probing'):.1f} "
            f"traces/s ({n / med(rows, 'probing_cpu'):.0f} per CPU second); {med(rows, 'rss_mb'):.0f} MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer", action="store_true", help=f"also the code at {BEFORE}, once (minutes)")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from testbed.importers import import_lab, write
    with tempfile.TemporaryDirectory(prefix="bench-ondemand-") as tmp:
        lab = Path(tmp) / "as3356.yaml"
        write(import_lab("caida:3356"), str(lab))
        print(f"AS3356 sim campaign on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
              f"medians of {a.runs} run(s), each in a fresh process", flush=True)
        now = [run(ROOT, lab) for _ in range(max(1, a.runs))]
        show("on demand (this tree)", now)
        row = (f"| AS3356 sim campaign, 300 traces (`testbed run as3356.yaml --runtime sim --seed 1`), load "
               f"{os.getloadavg()[0]:.0f}: setup (lab file + control plane); traces/s; peak RSS; the code before "
               f"({BEFORE}: every router's FIB compiled per vantage point) in the same run | {cell(now)} "
               f"(targets 5 s, 100 traces/s, 500 MB)")
        if a.peer:
            old = Path(tmp) / "before"
            old.mkdir()
            tar = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE], capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
            was = [run(old, lab)]
            show(f"before ({BEFORE}, every FIB compiled up front)", was)
            same = was[0]["digest"] == now[0]["digest"]
            print(f"identical campaign (traces, truth, scores): {'yes' if same else 'NO'}", flush=True)
            row += f"; before: {cell(was)}, {'identical' if same else 'DIFFERENT'} campaign"
        rows = [row + f" | `benchmarks/bench_sim_ondemand.py{' --peer' if a.peer else ''}` |"]
        print("\nREADME rows:\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
