"""Issue 23: `up`, `down` and memory of a big lab on three runtimes, the same lab for each.

The lab is a ring with one random chord per router (testbed/runtimes/bigrt/shapes.py: a low
diameter at any size; hosts vp and dst on LANs, probes vp -> dst and r0 -> dst), at 1,000,
3,000 and 10,000 routers, on
  bigrt    the big-lab runtime: routers in engine processes, links between them in memory,
           namespaces for hosts and vantage points only (testbed.runtimes.bigrt)
  netns    the namespace runtime: a namespace per router, veth pairs, engine workers on
           packet sockets (testbed.runtimes.netns)
  mininet  Debian's Mininet through the project's Mininet runtime (routers and hosts as
           Mininet nodes, LANs on Linux bridges, the same engine; testbed.runtimes.mininet)
Each run is a fresh process (python bench_bigrt.py --one ...):
  up      from loading the lab file to a lab that forwards (each runtime's own readiness:
          bigrt and netns ping every probe's target through the lab; Mininet's driver waits
          for the engine workers) -- seconds
  down    until every namespace, process and run folder is gone -- seconds
  mem     MemAvailable before `up` minus MemAvailable once up (the whole machine: kernel
          objects, engine processes, Mininet's shells; other load on the machine adds noise)
  pss     proportional set size of the lab's own processes once up (the bench process that
          holds the lab and the engine workers; not Mininet's)
A run over --cap seconds is stopped (its `up` tears down what it built) and shown as
"> cap"; a run that fails shows where and why in one line (Mininet: the driver's own error,
e.g. the node it could not make and the kernel's reason). Mininet is torn down by its own
net.stop() and then by the recorded PIDs of its driver, shells and engine workers; never by
`mn -c`, which kills by name (pkill -f 'mininet:', killall of controllers) and deletes every
'*-eth*' link of the root namespace, other people's labs included. netns at 10,000 routers is skipped unless --netns-big (issue 23 measured it failing
after 310 s); Mininet is skipped at a size once it was over the cap at a smaller one.
Medians over --runs (sizes of 3,000 routers or more: --big-runs).

    sudo .venv/bin/python benchmarks/bench_bigrt.py [--sizes 1000,3000,10000] [--runs 3]
         [--big-runs 1] [--runtimes bigrt,netns,mininet] [--cap 300] [--workers N] [--json]
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

RUN = secrets.token_hex(2)   # lab names unique to this run: benchmarks run beside anyone's labs
RUNTIMES = ("bigrt", "netns", "mininet")


def mem_available_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def _proc_mb(pids, file: str, field: str) -> float:
    """The kB figure `field` of /proc/PID/`file`, added up over these processes, in MB (a
    process gone meanwhile adds nothing)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{file}") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024.0


def pss_mb(pids) -> float:
    """Proportional set size of these processes, added up (shared pages split between them)."""
    return _proc_mb(pids, "smaps_rollup", "Pss:")


def rss_mb(pids) -> float:
    """Resident set size of these processes, added up (VmRSS: shared pages counted in each)."""
    return _proc_mb(pids, "status", "VmRSS:")


class Capped(KeyboardInterrupt):
    pass


def _alarm(signum, frame):
    raise Capped()


def one(runtime: str, lab_file: str, name: str, cap: float, workers: int | None) -> dict:
    """One up and down in this process; the figures as a dict."""
    from testbed.lab import load_lab
    signal.signal(signal.SIGALRM, _alarm)
    out = {"runtime": runtime, "name": name}
    m0 = mem_available_mb()
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, cap)
    if runtime == "mininet":
        try:
            return _one_mininet(lab_file, name, out, m0, t0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            from testbed.runtimes.netns import teardown
            teardown.down(name)                 # nothing left after the driver's own teardown
            out["left"] = teardown.leftovers(name)
    try:
        if runtime == "bigrt":
            from testbed.runtimes import bigrt
            st = bigrt.up(lab_file, name=name, workers=workers)
        else:
            from testbed.runtimes.netns import api
            st = api.up(load_lab(lab_file, no_limits=True), name=name, workers=workers)
        out["up"] = time.monotonic() - t0
        signal.setitimer(signal.ITIMER_REAL, 0)
        out["mem"] = m0 - mem_available_mb()
        out["pss"] = pss_mb([os.getpid()] + [w["pid"] for w in st["workers"]])
        out["timings"] = st.get("timings")
    except Capped:
        out["capped"] = True
        out["up"] = time.monotonic() - t0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        t1 = time.monotonic()
        from testbed.runtimes.netns import teardown
        teardown.down(name)
        out["down"] = time.monotonic() - t1
        out["left"] = teardown.leftovers(name)
    return out


def _one_mininet(lab_file: str, name: str, out: dict, m0: float, t0: float) -> dict:
    """The Mininet runtime with a batch of two CLI commands run once the network is up: the
    time and /proc/meminfo at that moment, written by `sh` (the root namespace's shell)."""
    from testbed.lab import load_lab
    from testbed.runtimes import mininet
    why = mininet.available()
    if why:
        return {**out, "skipped": why}
    lab = load_lab(lab_file, no_limits=True)
    with tempfile.TemporaryDirectory(prefix="bench-bigrt-mn-") as d:
        mark = Path(d) / "up.txt"
        batch = Path(d) / "batch.txt"
        batch.write_text(f"sh date +%s.%N > {mark}\nsh grep MemAvailable /proc/meminfo >> {mark}\n")
        wall0 = time.time()
        err = open(Path(d) / "driver.err", "w+")
        try:
            rc = mininet.up(lab, name=name, batch=str(batch), stderr=err)
        except Capped:
            out["capped"] = True
            out["up"] = time.monotonic() - t0
            return out
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            err.seek(0)
            errors = [ln[len("error: "):] for ln in err.read().splitlines() if ln.startswith("error: ")]
            err.close()
        end = time.time()
        if rc != 0 or not mark.exists():
            # where it stopped and why, in one line (the driver's own error), and when
            return {**out, "failed": f"after {end - wall0:.0f} s: " + (errors[-1] if errors else f"driver status {rc}")}
        lines = mark.read_text().split("\n")
        t_up = float(lines[0])
        out["up"] = t_up - wall0
        out["down"] = end - t_up
        out["mem"] = m0 - int(lines[1].split()[1]) / 1024.0
        out["pss"] = None
    return out


def run_child(runtime: str, lab_file: Path, name: str, cap: float, workers: int | None) -> dict:
    cmd = [sys.executable, __file__, "--one", runtime, str(lab_file), name, "--cap", str(cap)]
    if workers:
        cmd += ["--workers", str(workers)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=cap * 2 + 120)
    except subprocess.TimeoutExpired:
        from testbed.runtimes.netns import teardown
        teardown.down(name)
        return {"runtime": runtime, "capped": True, "up": cap}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"runtime": runtime, "failed": (r.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(lines[-1])


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,3000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=1, help="runs for labs of 3,000 routers or more")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--cap", type=float, default=300.0, help="seconds an `up` may take before it is stopped")
    ap.add_argument("--netns-big", action="store_true", help="also run netns at 10,000 routers or more")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", nargs=3, metavar=("RUNTIME", "LAB_FILE", "NAME"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    if a.one:
        print(json.dumps(one(a.one[0], a.one[1], a.one[2], a.cap, a.workers)))
        return
    from testbed.runtimes.bigrt.shapes import ring_chord
    runtimes = [r for r in a.runtimes.split(",") if r]
    for r in runtimes:
        if r not in RUNTIMES:
            sys.exit(f"--runtimes: unknown runtime '{r}'; choose from {', '.join(RUNTIMES)}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-bigrt-"))
    rows, capped_at = [], {}
    if not a.json:
        print(f"ring + chord labs, {os.cpu_count()} cores, medians (seconds; MB)")
        print(f"{'routers':>8} {'runtime':>8} {'runs':>4} {'up':>8} {'down':>7} {'mem MB':>8} {'pss MB':>8}  note")
    for n in (int(x) for x in a.sizes.split(",")):
        f = tmp / f"ring{n}.yaml"
        f.write_text(ring_chord(n, name=f"ring{n}"))
        for rt in runtimes:
            note = ""
            if rt == "netns" and n >= 10000 and not a.netns_big:
                note = "skipped: issue 23 saw netns fail at 10,000 routers after 310 s (--netns-big runs it)"
            elif rt in capped_at:
                note = f"skipped: over the {a.cap:.0f} s cap at {capped_at[rt]} routers"
            if note:
                rows.append({"routers": n, "runtime": rt, "runs": 0, "note": note})
                if not a.json:
                    print(f"{n:>8} {rt:>8} {0:>4} {'-':>8} {'-':>7} {'-':>8} {'-':>8}  {note}")
                continue
            res = []
            for k in range(a.big_runs if n >= 3000 else a.runs):
                res.append(run_child(rt, f, f"bb{RUN}-{rt[:2]}{n}-{k}", a.cap, a.workers))
                if res[-1].get("capped") or res[-1].get("failed") or res[-1].get("skipped"):
                    break
            bad = next((x for x in res if x.get("capped") or x.get("failed") or x.get("skipped")), None)
            if bad and bad.get("capped"):
                capped_at[rt] = n
                note = f"> cap ({a.cap:.0f} s): stopped and torn down"
            elif bad:
                note = bad.get("failed") or bad.get("skipped")
            left = [x.get("left") for x in res if x.get("left") and any(x["left"].values())]
            if left:
                note += f" LEFT BEHIND: {left[0]}"
            ok = [x for x in res if not (x.get("capped") or x.get("failed") or x.get("skipped"))]
            row = {"routers": n, "runtime": rt, "runs": len(ok), "up": med([x["up"] for x in ok]),
                   "down": med([x["down"] for x in ok]), "mem_mb": med([x.get("mem") for x in ok]),
                   "pss_mb": med([x.get("pss") for x in ok]), "note": note, "all": res}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "all"}), file=sys.stderr, flush=True)
            if not a.json:
                fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"   # noqa: E731
                print(f"{n:>8} {rt:>8} {len(ok):>4} {fmt(row['up']):>8} {fmt(row['down']):>7} "
                      f"{fmt(row['mem_mb'], 0):>8} {fmt(row['pss_mb'], 0):>8}  {note}", flush=True)
    if a.json:
        print(json.dumps({"shape": "ring_chord", "cores": os.cpu_count(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
