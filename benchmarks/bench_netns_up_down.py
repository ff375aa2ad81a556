"""`up` and `down` times of the namespace runtime for generated labs of 10 to 1,000 routers.

Labs are written to a temporary folder: a square-ish grid of N routers (each linked to its
right and lower neighbours), or a line (--shape line), with a host on a LAN at each end and
a probe between them. `up` is the whole API call (namespaces, links, engine workers ready,
forwarding checked from vp to dst); its parts are printed too:
  build   namespaces, sysctls, veths, bridges and taps, addresses (our code, batched)
  cp      the control plane computed in the engine workers (testbed.controlplane.build)
  compile compile_node of the worker's share of routers (testbed.engine)
  engines waiting for the workers after the build (overlaps cp + compile)
  check   the forwarding check (echo replies through the lab)
Usage (root): .venv/bin/python benchmarks/bench_netns_up_down.py [--sizes 10,100,300,1000]
              [--runs 3] [--big-runs 1] [--shape grid|line] [--workers N]
Prints medians over the runs (labs of 1,000 routers: --big-runs). Not a test.
"""
from __future__ import annotations

import secrets
import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api, nsutil, teardown  # noqa: E402

RUN = secrets.token_hex(2)   # lab names unique to this run: benchmarks run beside anyone's labs


def lab_text(n: int, shape: str) -> str:
    lines = [f"name: gen{n}", "routers:"] + [f"  r{i}: {{}}" for i in range(n)]
    lines += ["hosts:", "  vp: {}", "  dst: {}", "links:", "  - {lan: [r0, vp], name: vp-lan}"]
    if shape == "line":
        lines += [f"  - [r{i}, r{i + 1}]" for i in range(n - 1)]
    else:
        w = int(math.ceil(math.sqrt(n)))
        for i in range(n):
            if (i % w) + 1 < w and i + 1 < n:
                lines.append(f"  - [r{i}, r{i + 1}]")
            if i + w < n:
                lines.append(f"  - [r{i}, r{i + w}]")
    lines += [f"  - {{lan: [r{n - 1}, dst], name: dst-lan}}", "probes:", "  - {from: vp, to: dst}"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,300,1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=1, help="runs for labs of 1,000 routers or more")
    ap.add_argument("--shape", choices=["grid", "line"], default="grid")
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-updown-"))
    print(f"namespace runtime up/down, generated {a.shape} labs, {api.default_workers()} cores "
          f"(medians; seconds)")
    print(f"{'routers':>8} {'links':>6} {'runs':>4} {'up':>8} {'build':>7} {'cp':>7} {'compile':>8} "
          f"{'engines':>8} {'check':>6} {'down':>6}")
    for n in (int(x) for x in a.sizes.split(",")):
        f = tmp / f"gen{n}.yaml"
        f.write_text(lab_text(n, a.shape))
        lab = load_lab(str(f), no_limits=True)   # generated on purpose, up to any size
        runs = a.big_runs if n >= 1000 else a.runs
        name = f"bench{RUN}-{n}"
        api.down(name)
        rec = []
        for _ in range(runs):
            t0 = time.monotonic()
            st = api.up(lab, name=name, workers=a.workers)
            t_up = time.monotonic() - t0
            t0 = time.monotonic()
            rep = api.down(name)
            t_down = time.monotonic() - t0
            left = teardown.leftovers(name)
            assert not any(left.values()) and not rep["left"], left
            tm = st["timings"]
            build = sum(tm.get(k, 0) for k in ("namespaces", "sysctls", "links", "switch", "addresses"))
            rec.append((t_up, build, tm.get("control_plane", 0), tm.get("compile", 0), tm.get("engines_wait", 0),
                        tm.get("forwarding", 0), t_down))
        med = [statistics.median(c) for c in zip(*rec)]
        print(f"{n:>8} {len(lab.links):>6} {runs:>4} {med[0]:8.2f} {med[1]:7.2f} {med[2]:7.2f} {med[3]:8.2f} "
              f"{med[4]:8.2f} {med[5]:6.2f} {med[6]:6.2f}", flush=True)
    assert not [x for x in nsutil.list_netns() if x.startswith("tb-bench-")]


if __name__ == "__main__":
    main()
