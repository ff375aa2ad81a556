"""Real networks: import time, bring-up on namespaces, and campaign speed (traces per second).

  import    `testbed import` of topozoo:AttMpls (25 routers) and caida:3356 (404 routers, 1,997
            links): reading topohub's JSON, writing the lab file, loading it back
  up        api.up of the imported lab on namespaces (control plane, engine workers, check)
  campaign  traces per second of a 10 x 30 campaign: sim in-process, sim over 2 local
            processes (the executor's speed-up: the peer in the same run), and namespaces
Usage (root for namespaces): .venv/bin/python benchmarks/bench_realnet.py [--runs 3]
          [--big] (also AS3356 up and campaign: minutes) [--no-netns]
Prints medians over the runs. Not a test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.campaign import campaign  # noqa: E402
from testbed.importers import import_lab, write  # noqa: E402
from testbed.lab import load_lab  # noqa: E402


def med(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--no-netns", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-realnet-"))
    sources = [("topozoo:AttMpls", "attmpls")] + ([("caida:3356", "as3356")] if a.big else [])
    netns = not a.no_netns and os.geteuid() == 0
    tag = f"b{os.getpid() % 10000}"
    for src, base in sources:
        f = tmp / f"{base}.yaml"
        ts = []
        for _ in range(a.runs if base == "attmpls" else 1):
            t0 = time.perf_counter()
            write(import_lab(src), str(f))
            lab = load_lab(f)
            ts.append(time.perf_counter() - t0)
        print(f"import {src}: {len(lab.routers)} routers, {len(lab.links)} links: median {med(ts):.2f} s "
              f"({len(ts)} runs)", flush=True)
        runs = a.runs if base == "attmpls" else 1
        sim1 = [campaign(lab, "sim", workers=1) for _ in range(runs)]
        sim2 = [campaign(lab, "sim", workers=2) for _ in range(runs)]
        s1 = med([d["seconds"]["probing"] for d in sim1])
        s2 = med([d["seconds"]["probing"] for d in sim2])
        n = sim1[0]["traces"]
        print(f"campaign {base} sim: {n} traces: in-process {n / s1:.1f} traces/s, 2 processes {n / s2:.1f} "
              f"traces/s (speed-up {s1 / s2:.2f}x); truth {med([d['seconds']['truth'] for d in sim1]):.1f} s",
              flush=True)
        if netns:
            ups, tps = [], []
            for k in range(runs):
                d = campaign(lab, "netns", name=f"{tag}-{base[:6]}{k}")
                ups.append(d["seconds"]["up"])
                tps.append(d["traces"] / d["seconds"]["probing"])
            print(f"namespaces {base}: up median {med(ups):.1f} s, campaign {med(tps):.1f} traces/s "
                  f"({runs} runs)", flush=True)


if __name__ == "__main__":
    main()
