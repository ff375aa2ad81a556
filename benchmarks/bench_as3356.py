"""AS3356 (topohub caida:3356: 404 routers, 1,997 links), the biggest imported ISP: the stages of
`testbed import caida:3356 -o as3356.yaml && testbed run as3356.yaml` on the sim (issue 15).

  import     topohub's JSON -> lab file -> loaded back (schema, addressing)
  control    testbed.controlplane.build: SPF, ECMP first hops, LDP bindings (each router's
             FIB and LFIB are completed on first use); then every router's tables completed
             (what the sim runtime read up front before issue 23; it now resolves routes per
             destination: benchmarks/bench_sim_ondemand.py)
  truth      testbed.truth.ground_truth: the walk of every probe (10 vantage points x 30
             destinations), forward, return and the trigger expectations
  campaign   the sim campaign: uTNT from the 10 vantage points, traces per second

Peer in the same run: with --peer, the control plane and the truth walk of the code before
they were made fast (git show e2645e7, the commit this work started from: its compute.py and
the FIB lookup that scanned every prefix), run once (minutes), and checked to give the same
truth. Medians of --runs (3 at most: it is big).

    .venv/bin/python benchmarks/bench_as3356.py [--runs 3] [--peer] [--no-campaign]
Not a test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
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
from testbed.truth import ground_truth  # noqa: E402

BEFORE = "e2645e7"


def med(xs):
    return statistics.median(xs)


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, indent=1, default=str).encode()).hexdigest()[:16]


def old_build():
    """build() of compute.py as it was at BEFORE, loaded beside the current package."""
    return module_at(BEFORE, "testbed/controlplane/compute.py", "testbed.controlplane", ROOT).build


def scan_lookup(self, dst):
    """RouterTables.lookup as it was at BEFORE: a scan of every prefix."""
    best = None
    for pfx, r in self.fib.items():
        if dst in pfx and (best is None or pfx.prefixlen > best.prefix.prefixlen):
            best = r
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer", action="store_true", help="also the code before the speed-up, once (minutes)")
    ap.add_argument("--no-campaign", action="store_true")
    a = ap.parse_args()
    runs = max(1, min(a.runs, 3))
    tmp = Path(tempfile.mkdtemp(prefix="bench-as3356-"))
    f = tmp / "as3356.yaml"
    print(f"AS3356 on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; medians of {runs} run(s)", flush=True)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        write(import_lab("caida:3356"), str(f))
        lab = load_lab(f)
        ts.append(time.perf_counter() - t0)
    probes = sum(len(p.targets) for p in lab.probes)
    print(f"import caida:3356: {len(lab.routers)} routers, {len(lab.links)} links, {probes} probes: "
          f"median {med(ts):.1f} s", flush=True)
    tb, tall, tt, built = [], [], [], []
    truth = None
    for _ in range(runs):
        lab = load_lab(f)
        t0 = time.perf_counter()
        cp = build(lab)
        tb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        truth = ground_truth(cp)
        tt.append(time.perf_counter() - t0)
        built.append(sum(1 for x in cp.tables.values() if x._fib is not None))
        t0 = time.perf_counter()
        for x in cp.tables.values():
            _ = x.fib, x.lfib
        tall.append(tb[-1] + time.perf_counter() - t0)
    print(f"control plane build(): median {med(tb):.1f} s; with every router's FIB and LFIB completed: "
          f"median {med(tall):.1f} s", flush=True)
    print(f"truth walk, {probes} probes: median {med(tt):.1f} s (it completed the tables of "
          f"{int(med(built))} of {len(lab.routers)} routers)", flush=True)
    if a.peer:
        from testbed.controlplane import tables as T
        lab = load_lab(f)
        t0 = time.perf_counter()
        cp_old = old_build()(lab)
        for x in cp_old.tables.values():
            _ = x.fib, x.lfib
        to = time.perf_counter() - t0
        now = T.RouterTables.lookup
        T.RouterTables.lookup = scan_lookup
        try:
            t0 = time.perf_counter()
            truth_old = ground_truth(cp_old)
            tw = time.perf_counter() - t0
        finally:
            T.RouterTables.lookup = now
        same = digest(truth_old) == digest(truth)
        print(f"peer, the code at {BEFORE} (1 run): control plane {to:.1f} s, truth walk {tw:.1f} s; "
              f"same truth: {'yes' if same else 'NO'}", flush=True)
    if not a.no_campaign:
        from testbed.experiments.campaign import campaign
        lab = load_lab(f)
        cp = build(lab)
        d = campaign(lab, "sim", cp=cp, truth=truth, workers=1)
        n = d["traces"]
        print(f"sim campaign, {n} traces from {d['vantage_points']} vantage points, in-process (1 run): "
              f"probing {d['seconds']['probing']:.1f} s, {n / d['seconds']['probing']:.2f} traces/s", flush=True)


if __name__ == "__main__":
    main()
