"""The sim at Internet scale (issue 23): sim campaigns on AttMpls, AS3356 and synthetic
hierarchical ISPs of 10,000 and 100,000 routers (`testbed import synthetic:isp?routers=N`),
and the control plane's time and memory against routers. Every figure is the median of
--runs runs, each in a fresh process (its peak RSS is the memory figure), with wall and CPU
seconds (CPU: the machine may be shared).

  campaign   load the lab file (`--no-limits`), compute the control plane, then the sim
             campaign: uTNT from every vantage point (seeded), the truth of every probe, the
             score. traces/s over the probing time; "all" is load + control plane + campaign.
  cache      AS3356's control plane cold (cache off) and from the on-disk cache (issue 23:
             `validate`, `truth`, `score` and workers reuse it), and `testbed validate` /
             `testbed truth` end to end with the cache off and on.
  control    the control plane against routers (synthetic ISPs): build() time and peak RSS,
             then the routes of 100 destinations from every 100th router. The peer is the
             whole-table control plane (compute._build: all-pairs SPF, per-(prefix, router)
             masks) where it fits in memory (it needs n^2 numbers: 2,000 routers at most here).

    .venv/bin/python benchmarks/bench_sim_scale.py [--runs 3] [--max-routers 10000|100000] [--skip campaign,cache,control]
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

CAMPAIGN = r"""
import json, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from testbed.lab import load_lab
lab = load_lab(sys.argv[1], no_limits=True)
t1, c1 = time.perf_counter(), time.process_time()
from testbed.controlplane import build
cp = build(lab)
t2, c2 = time.perf_counter(), time.process_time()
from testbed.experiments.campaign import campaign
d = campaign(lab, "sim", cp=cp, workers=1, seed=1)
t3, c3 = time.perf_counter(), time.process_time()
st = getattr(cp, "scale", None)
print(json.dumps({"routers": len(lab.routers), "traces": d["traces"], "load": t1 - t0, "load_cpu": c1 - c0,
                  "cp": t2 - t1, "cp_cpu": c2 - c1, "probing": d["seconds"]["probing"], "truth": d["seconds"]["truth"],
                  "campaign": t3 - t2, "campaign_cpu": c3 - c2, "all": t3 - t0, "all_cpu": c3 - c0,
                  "spf": st.spf_runs if st else None,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CONTROL = r"""
import json, random, resource, sys, time
from ipaddress import IPv4Address
from testbed.lab import load_lab
lab = load_lab(sys.argv[1], no_limits=True)
whole = sys.argv[2] == "whole"
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0, c0 = time.perf_counter(), time.process_time()
if whole:
    from testbed.controlplane.compute import _build
    from testbed.heap import no_gc
    with no_gc():
        cp = _build(lab)
else:
    from testbed.controlplane.scale import build_scale
    cp = build_scale(lab)
t1, c1 = time.perf_counter(), time.process_time()
rnd = random.Random(1)
dsts = [rnd.choice(lab.routers).loopback for _ in range(100)]
for r in lab.routers[::100]:
    for d in dsts:
        cp.tables[r.name].lookup(d)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"routers": len(lab.routers), "build": t1 - t0, "build_cpu": c1 - c0, "routes": t2 - t1,
                  "routes_cpu": c2 - c1, "lab_mb": r0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CACHED = r"""
import json, sys, time
from testbed.lab import load_lab
from testbed.controlplane import build, cache
lab = load_lab(sys.argv[1], no_limits=True)
t0, c0 = time.perf_counter(), time.process_time()
build(lab)
print(json.dumps({"cp": time.perf_counter() - t0, "cp_cpu": time.process_time() - c0, **cache.stats}))
"""


def py(code: str, *args, env=None) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=str(ROOT), capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))
    if r.returncode:
        raise SystemExit(f"benchmark step failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def timed(cmd: list[str], env: dict) -> dict:
    import resource
    import time
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=str(ROOT), capture_output=True, check=True, env=dict(os.environ, **env))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": time.perf_counter() - t0,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def med(rows, k):
    return statistics.median(r[k] for r in rows)


def lab_file(tmp: Path, source: str, name: str, **opts) -> Path:
    from testbed.importers import import_lab, to_yaml
    f = tmp / f"{name}.yaml"
    if not f.exists():
        f.write_text(to_yaml(import_lab(source, **opts)))       # loaded (and checked) by every run
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-routers", type=int, default=10_000,
                    help="the biggest synthetic ISP to run (100000: the 100k rows, about 15 min per run on a busy machine)")
    ap.add_argument("--skip", default="", help="comma-separated: campaign, cache, control")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    runs = max(1, a.runs)
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-scale-"))
    cache_dir = tmp / "cp-cache"
    print(f"sim at scale on {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; medians of {runs} run(s), "
          "each in a fresh process", flush=True)
    rows = []
    if "campaign" not in skip:
        labs = [("AttMpls", "topozoo:AttMpls", {}), ("AS3356", "caida:3356", {}),
                ("synthetic 10k", "synthetic:isp?routers=10000&seed=1", {"vps": 10, "dsts": 100}),
                ("synthetic 100k", "synthetic:isp?routers=100000&seed=1", {"vps": 10, "dsts": 100})]
        for what, source, opts in labs:
            if "synthetic" in what and int(source.split("routers=")[1].split("&")[0]) > a.max_routers:
                continue
            f = lab_file(tmp, source, what.replace(" ", "-").lower(), **opts)
            got = [py(CAMPAIGN, f, env={"TESTBED_CP_CACHE": "off"}) for _ in range(runs)]
            n = med(got, "traces")
            line = (f"{what} ({int(med(got, 'routers'))} routers): {int(n)} traces; load {med(got, 'load'):.1f} s "
                    f"({med(got, 'load_cpu'):.1f} CPU), control plane {med(got, 'cp'):.1f} s ({med(got, 'cp_cpu'):.1f} "
                    f"CPU), probing {n / med(got, 'probing'):.1f} traces/s, truth {med(got, 'truth'):.1f} s, campaign "
                    f"{med(got, 'campaign'):.1f} s ({med(got, 'campaign_cpu'):.1f} CPU), all {med(got, 'all'):.1f} s "
                    f"({med(got, 'all_cpu'):.1f} CPU), peak RSS {med(got, 'rss_mb'):.0f} MB"
                    + (f", {int(med(got, 'spf'))} SPF trees" if got[0]["spf"] is not None else ""))
            print(line, flush=True)
            rows.append(line)
    if "cache" not in skip:
        f = lab_file(tmp, "caida:3356", "as3356")
        cold = [py(CACHED, f, env={"TESTBED_CP_CACHE": "off"}) for _ in range(runs)]
        py(CACHED, f, env={"TESTBED_CP_CACHE": str(cache_dir)})                 # fills the cache
        warm = [py(CACHED, f, env={"TESTBED_CP_CACHE": str(cache_dir)}) for _ in range(runs)]
        assert all(w["hits"] == 1 for w in warm)
        line = (f"AS3356 control plane: computed {med(cold, 'cp'):.1f} s ({med(cold, 'cp_cpu'):.1f} CPU), from the "
                f"cache {med(warm, 'cp'):.1f} s ({med(warm, 'cp_cpu'):.1f} CPU)")
        for cmd in ("validate", "truth"):
            argv = [sys.executable, "-m", "testbed.cli", cmd, "--no-limits", str(f), "--json"]
            off = [timed(argv, {"TESTBED_CP_CACHE": "off", "PYTHONPATH": str(ROOT)}) for _ in range(runs)]
            on = [timed(argv, {"TESTBED_CP_CACHE": str(cache_dir), "PYTHONPATH": str(ROOT)}) for _ in range(runs)]
            line += (f"; `testbed {cmd}` {med(off, 'wall'):.1f} s ({med(off, 'cpu'):.1f} CPU) without the cache, "
                     f"{med(on, 'wall'):.1f} s ({med(on, 'cpu'):.1f} CPU) with it")
        print(line, flush=True)
        rows.append(line)
    if "control" not in skip:
        for n in (1000, 2000, 10_000, 100_000):
            if n > a.max_routers:
                continue
            f = lab_file(tmp, f"synthetic:isp?routers={n}&seed=1", f"isp{n}", vps=10, dsts=100)
            lazy = [py(CONTROL, f, "scale") for _ in range(runs)]
            line = (f"control plane, {n} routers: per destination: build {med(lazy, 'build'):.2f} s "
                    f"({med(lazy, 'build_cpu'):.2f} CPU), 100 destinations from every 100th router "
                    f"{med(lazy, 'routes'):.2f} s, peak RSS {med(lazy, 'rss_mb'):.0f} MB (lab alone "
                    f"{med(lazy, 'lab_mb'):.0f} MB)")
            if n <= 2000:
                whole = [py(CONTROL, f, "whole") for _ in range(runs)]
                line += (f"; whole tables: build {med(whole, 'build'):.2f} s ({med(whole, 'build_cpu'):.2f} CPU), "
                         f"routes {med(whole, 'routes'):.2f} s, peak RSS {med(whole, 'rss_mb'):.0f} MB")
            else:
                line += f"; whole tables: not run (all-pairs state of {n}^2 numbers)"
            print(line, flush=True)
            rows.append(line)
    print("\nREADME rows:\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
