"""Issue 23: one lab across machines -- per-host figures of a lab split onto 2 stand-in
machines (namespaces joined by a veth underlay), its cut links on kernel VXLAN devices, with
the single-host big-lab runtime on the same lab as the peer.

The lab is a ring with one random chord per router (testbed/runtimes/bigrt/shapes.py; hosts
vp on r0's LAN and dst on r{n/2}'s), at 1,000, 3,000 and 10,000 routers. Each run is a fresh process
(python bench_split.py --one ...):
  single  bigrt.up of the whole lab, then down
  split   testbed.runtimes.bigrt.split.split_lab onto h1, h2 (seed 1), then per host, one
          after the other: bigrt.up(..., split=(plan, host, underlay namespace)), then a ping
          from vp to dst across the machines (through the VXLAN devices), then down per host
Figures per host: routers, cut links, up (from loading the lab file to the host's part
forwarding what is local to it), its VXLAN step, MemAvailable drop while that host comes up
(the whole machine), PSS and RSS of the host's engine processes, the 1-minute load average
once it is up, down; for the split, the partition's
time and the first echo reply vp -> dst across the hosts. Medians over --runs (--big-runs
for 3,000 routers or more).

    sudo .venv/bin/python benchmarks/bench_split.py [--sizes 1000,3000,10000] [--runs 3] [--big-runs 1]
         [--cap 300] [--json]
Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_bigrt import Capped, _alarm, mem_available_mb, pss_mb, rss_mb  # noqa: E402

RUN = secrets.token_hex(2)   # lab names unique to this run
HOSTS = {"h1": "10.233.0.1", "h2": "10.233.0.2"}


def one_single(lab_file: str, name: str, cap: float) -> dict:
    from testbed.runtimes import bigrt
    from testbed.runtimes.netns import teardown
    out = {"mode": "single"}
    m0 = mem_available_mb()
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        st = bigrt.up(lab_file, name=name, workers=1)
        out["up"] = time.monotonic() - t0
        signal.setitimer(signal.ITIMER_REAL, 0)
        out["mem"] = m0 - mem_available_mb()
        out["pss"] = pss_mb([w["pid"] for w in st["workers"]])
        out["rss"] = rss_mb([w["pid"] for w in st["workers"]])
        out["routers"] = len(st["routers"])
        out["load"] = os.getloadavg()[0]
    except Capped:
        out["capped"] = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        t1 = time.monotonic()
        teardown.down(name)
        out["down"] = time.monotonic() - t1
        out["left"] = teardown.leftovers(name)
    return out


def one_split(lab_file: str, name: str, cap: float) -> dict:
    from testbed.lab import load_lab
    from testbed.runtimes import bigrt
    from testbed.runtimes.bigrt import split as sp
    from testbed.runtimes.bigrt import vxlan
    from testbed.runtimes.netns import api, check, teardown
    out = {"mode": "split", "hosts": {}}
    lab = load_lab(lab_file, no_limits=True)
    t = time.monotonic()
    doc = sp.split_lab(lab, HOSTS, seed=1)
    out["partition"] = time.monotonic() - t
    out["cut_links"] = doc["summary"]["cut_links"]
    names = {h: f"{name}-{h}" for h in HOSTS}
    signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        with vxlan.underlay(name, HOSTS) as nss:
            try:
                for h in doc["hosts"]:
                    hn = h["name"]
                    m0 = mem_available_mb()
                    t0 = time.monotonic()
                    st = bigrt.up(lab_file, name=names[hn], workers=1, split=(doc, hn, nss[hn]))
                    out["hosts"][hn] = {"routers": len(h["routers"]), "cut_links": h["cut_links"],
                                        "up": time.monotonic() - t0, "vxlan": st["timings"].get("vxlan"),
                                        "mem": m0 - mem_available_mb(),
                                        "pss": pss_mb([w["pid"] for w in st["workers"]]),
                                        "rss": rss_mb([w["pid"] for w in st["workers"]]),
                                        "load": os.getloadavg()[0]}
                src = next(h["name"] for h in doc["hosts"] if "vp" in h["lab_hosts"])
                dst = str(lab.nodes["dst"].primary_address())
                t0 = time.monotonic()
                got = check.ping_from(api.status(names[src])["hosts"]["vp"], [dst], t0 + 30)
                out["cross_ping"] = time.monotonic() - t0 if dst in got else None
            except Capped:
                out["capped"] = True
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                for hn, n in names.items():
                    t1 = time.monotonic()
                    bigrt.down(n)
                    if hn in out["hosts"]:
                        out["hosts"][hn]["down"] = time.monotonic() - t1
                out["left"] = {n: teardown.leftovers(n) for n in names.values()}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return out


def run_child(mode: str, lab_file: Path, name: str, cap: float) -> dict:
    cmd = [sys.executable, __file__, "--one", mode, str(lab_file), name, "--cap", str(cap)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=cap * 2 + 120)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "capped": True}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"mode": mode, "failed": (r.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(lines[-1])


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,3000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=1, help="runs for labs of 3,000 routers or more")
    ap.add_argument("--cap", type=float, default=300.0, help="seconds a run's `up`s may take")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=3, metavar=("MODE", "LAB_FILE", "NAME"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    signal.signal(signal.SIGALRM, _alarm)
    if a.one:
        fn = one_single if a.one[0] == "single" else one_split
        print(json.dumps(fn(a.one[1], a.one[2], a.cap)))
        return
    from testbed.runtimes.bigrt.shapes import ring_chord
    tmp = Path(tempfile.mkdtemp(prefix="bench-split-"))
    rows = []
    fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"   # noqa: E731
    if not a.json:
        print(f"ring + chord labs, 2 stand-in hosts, {os.cpu_count()} cores, medians (seconds; MB)")
        print(f"{'routers':>7} {'where':>7} {'runs':>4} {'routers':>7} {'cut':>5} {'up':>7} {'vxlan':>6} "
              f"{'down':>6} {'mem MB':>7} {'pss MB':>7} {'rss MB':>7} {'load':>5}  note")
    for n in (int(x) for x in a.sizes.split(",")):
        f = tmp / f"ring{n}.yaml"
        f.write_text(ring_chord(n, name=f"ring{n}"))
        runs = a.big_runs if n >= 3000 else a.runs
        single = [run_child("single", f, f"bs{RUN}-s{n}-{k}", a.cap) for k in range(runs)]
        split = [run_child("split", f, f"bs{RUN}-p{n}-{k}", a.cap) for k in range(runs)]
        ok1 = [x for x in single if "up" in x]
        ok2 = [x for x in split if x.get("hosts") and not x.get("capped")]
        row = {"routers": n, "single": {"runs": len(ok1), "up": med([x["up"] for x in ok1]),
                                        "down": med([x["down"] for x in ok1]), "mem_mb": med([x["mem"] for x in ok1]),
                                        "pss_mb": med([x["pss"] for x in ok1]), "rss_mb": med([x.get("rss") for x in ok1]),
                                        "load": med([x.get("load") for x in ok1])},
               "split": {"runs": len(ok2), "partition": med([x["partition"] for x in ok2]),
                         "cut_links": med([x["cut_links"] for x in ok2]),
                         "cross_ping": med([x.get("cross_ping") for x in ok2]), "hosts": {}},
               "all": {"single": single, "split": split}}
        for h in HOSTS:
            xs = [x["hosts"][h] for x in ok2 if h in x["hosts"]]
            row["split"]["hosts"][h] = {k: med([x.get(k) for x in xs]) for k in
                                        ("routers", "cut_links", "up", "vxlan", "down", "mem", "pss", "rss", "load")}
        bad = [x.get("failed") or ("capped" if x.get("capped") else None) for x in single + split]
        left = [x["left"] for x in single if any(x.get("left", {}).values())] + \
            [v for x in split for v in (x.get("left") or {}).values() if any(v.values())]
        note = "; ".join(b for b in bad if b) + (f" LEFT BEHIND: {left[0]}" if left else "")
        row["note"] = note
        rows.append(row)
        if not a.json:
            s = row["single"]
            print(f"{n:>7} {'single':>7} {s['runs']:>4} {n:>7} {0:>5} {fmt(s['up']):>7} {'-':>6} {fmt(s['down']):>6} "
                  f"{fmt(s['mem_mb'], 0):>7} {fmt(s['pss_mb'], 0):>7} {fmt(s['rss_mb'], 0):>7} {fmt(s['load'], 1):>5}  {note}")
            for h, x in row["split"]["hosts"].items():
                print(f"{n:>7} {h:>7} {row['split']['runs']:>4} {fmt(x['routers'], 0):>7} {fmt(x['cut_links'], 0):>5} "
                      f"{fmt(x['up']):>7} {fmt(x['vxlan']):>6} {fmt(x['down']):>6} {fmt(x['mem'], 0):>7} "
                      f"{fmt(x['pss'], 0):>7} {fmt(x['rss'], 0):>7} {fmt(x['load'], 1):>5}")
            print(f"{'':>7} {'split':>7}  partition {fmt(row['split']['partition'])} s, "
                  f"first echo vp -> dst across hosts {fmt(row['split']['cross_ping'], 3)} s", flush=True)
    if a.json:
        print(json.dumps({"shape": "ring_chord", "hosts": 2, "cores": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
