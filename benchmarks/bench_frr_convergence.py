"""FRR control plane: `up` time to convergence for generated line labs of 10 and 50 routers.

Each lab is a line r0 - r1 - ... - r(N-1) in one MPLS domain (Cisco, LDP for all prefixes),
with a host on a LAN at each end and a probe between them; the YAML is written to a
temporary folder. For each size the lab is brought up `--runs` times with the FRR control
plane (zebra, ospfd and ldpd in every router namespace; `up` returns once OSPF is full,
LDP operational and the tables read from FRR equal the computed ones, and forwarding is
checked) and as many times with the computed control plane, in the same run, for the ratio.
Columns (medians, seconds):
  up(frr)    the whole `api.up(..., control_plane="frr")` call
  daemons    starting zebra and ospfd in every router
  converge   from then until converged (ldpd starts inside this step)
  frr-conv   FRR's own convergence time as `up` measured it (first poll that found it done)
  up(comp)   the whole `api.up(...)` call with the computed control plane
  ratio      up(frr) / up(comp)
Usage (root, Debian's frr): .venv/bin/python benchmarks/bench_frr_convergence.py
                           [--sizes 10,50] [--runs 3] [--workers N]
Not a test.
"""
from __future__ import annotations

import secrets
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api, frr as frrrt, teardown  # noqa: E402

RUN = secrets.token_hex(2)   # lab names unique to this run: benchmarks run beside anyone's labs


def line_lab(n: int) -> str:
    routers = [f"r{i}" for i in range(n)]
    lines = [f"name: frr-line{n}", f"description: {n} routers in a line, one MPLS domain (benchmark)", "routers:"]
    lines += [f"  {r}: {{vendor: cisco}}" for r in routers]
    lines += ["hosts:", "  vp: {}", "  dst: {}", "links:", "  - {lan: [r0, vp], name: vp-lan}"]
    lines += [f"  - [{a}, {b}]" for a, b in zip(routers, routers[1:])]
    lines += [f"  - {{lan: [r{n - 1}, dst], name: dst-lan}}"]
    lines += ["mpls:", "  core:", f"    routers: [{', '.join(routers)}]", "    ldp: all"]
    lines += ["probes:", "  - {from: vp, to: dst}"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,50")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    frrrt.require()
    tmp = Path(tempfile.mkdtemp(prefix="bench-frr-"))
    print(f"FRR control plane: up to convergence, generated line labs, one MPLS domain, "
          f"{api.default_workers()} cores (medians of {a.runs}; seconds)")
    print(f"{'routers':>8} {'up(frr)':>8} {'daemons':>8} {'converge':>9} {'frr-conv':>9} {'up(comp)':>9} "
          f"{'ratio':>6}")
    try:
        for n in (int(x) for x in a.sizes.split(",")):
            f = tmp / f"frr-line{n}.yaml"
            f.write_text(line_lab(n))
            lab = load_lab(str(f))
            name = f"bench{RUN}-frr-{n}"
            api.down(name)
            frr, comp = [], []
            for _ in range(a.runs):
                t0 = time.monotonic()
                st = api.up(lab, name=name, workers=a.workers, control_plane="frr")
                t_up = time.monotonic() - t0
                assert st["frr"]["differences"] == [], st["frr"]["differences"][:3]
                frr.append((t_up, st["timings"]["frr_daemons"], st["timings"]["convergence"],
                            st["frr"]["converged_seconds"]))
                api.down(name)
                assert not any(teardown.leftovers(name).values())
                t0 = time.monotonic()
                api.up(lab, name=name, workers=a.workers, control_plane="computed")
                comp.append(time.monotonic() - t0)
                api.down(name)
            med = [statistics.median(x[i] for x in frr) for i in range(4)]
            c = statistics.median(comp)
            print(f"{n:>8} {med[0]:>8.2f} {med[1]:>8.2f} {med[2]:>9.2f} {med[3]:>9.2f} {c:>9.2f} "
                  f"{med[0] / c:>6.1f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
