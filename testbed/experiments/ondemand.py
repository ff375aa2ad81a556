"""The uTNT paper's use case in a lab: on-demand probing from a controller (tnt.md 7.4).

    testbed ondemand five-vp --events 59 --interval 1 --nodes 5 [--runtimes utnt-process,utnt-vm-micro,utnt-vm-snap]

Events fire at fixed times (event k at k x interval). There are `nodes` vantage points (the
lab's, in order; more nodes than vantage points share LANs round-robin, each instance still on
its own tap and address); each node runs one detector instance at a time. An event takes the
first free node, and is dropped when none is free. For every runtime available
(ondemand_runtimes.py) the experiment reports completed, dropped and failed events, the mean
time per event (start to end), the accuracy of the completed traces against the truth, and
the completions over time (a PNG).

The paper: 59 events, one per second, 5 OVH nodes over SSH, each event fetching the image and
running one TNT trace; uTNT completed 55.0 of 59 (mean 3.33 s per event), Docker 17.5, VMs 5.0.
"""
from __future__ import annotations

import statistics
import threading
import time

from testbed.errors import TestbedError

PAPER = {"events": 59, "interval": 1.0, "nodes": 5,
         "completed": {"uTNT unikernel (KVM)": 55.0, "Docker": 17.5, "VM (Vagrant)": 5.0},
         "mean_event_s": {"uTNT unikernel (KVM)": 3.33, "Docker": 17.39, "VM (Vagrant)": 216.38}}


def nodes_of(lab, n: int, dest: str | None = None) -> list[tuple[str, str]]:
    """[(vantage point, destination address)] for n nodes."""
    from testbed.experiments.parallel import vantage_points
    from testbed.targets import probe_target
    vps = vantage_points(lab, "all")
    return [(vps[i % len(vps)], probe_target(lab, vps[i % len(vps)], dest)) for i in range(n)]


def run_events(ctx, runtime, nodes: list[tuple[str, str]], events: int, interval: float, progress=None) -> dict:
    """Fire `events` events onto `nodes` with `runtime`; drop those that find no free node."""
    from testbed.experiments.parallel import run_timed
    busy = [False] * len(nodes)
    lock = threading.Lock()
    rows: list[dict] = []
    t0 = time.monotonic()

    def go(k, i):
        start = time.monotonic() - t0
        vp, dst = nodes[i]
        try:
            out = runtime.run(ctx, vp, dst)
        except TestbedError as e:
            out = {"traces": [], "error": str(e)}
        except Exception as e:              # noqa: BLE001 -- this event's failure, said (not a lost row)
            out = {"traces": [], "error": f"{type(e).__name__}: {e}"}
        end = time.monotonic() - t0
        row = {"event": k, "node": i, "vp": vp, "dst": dst, "fired": round(k * interval, 3),
               "start": round(start, 3), "end": round(end, 3), "seconds": round(end - start, 3),
               "status": "failed" if out.get("error") or not out.get("traces") else "completed", **out}
        if row["status"] == "failed" and not row.get("error"):
            row["error"] = "no trace"
        with lock:
            rows.append(row)
            busy[i] = False
        if progress:
            progress(f"{runtime.name}: event {k} on node {i} ({vp}): {row['status']} in {row['seconds']:.2f} s"
                     + (f" ({row['error']})" if row.get("error") else ""))
    def claim(k):
        """The first free node, or None: the event is dropped."""
        with lock:
            free = next((i for i, b in enumerate(busy) if not b), None)
            if free is None:
                rows.append({"event": k, "node": None, "fired": round(k * interval, 3), "status": "dropped"})
            else:
                busy[free] = True
            return free

    def abort():
        if ctx.instances is not None:
            ctx.instances.stop_all()
    from testbed.experiments.parallel import LabHealth
    health = LabHealth(ctx.name)
    try:
        run_timed(range(events), t0, lambda k: k * interval, claim, go, abort)
    except BaseException:
        if ctx.instances is not None:
            ctx.instances.release_own()          # leases of instances that did not end in the grace
        raise
    finally:
        health.close()                           # the health check after probing
    if health.problem is not None:
        # traces that ended after the lab was last seen healthy: not scored, listed, said
        for r in rows:
            if r["status"] == "completed" and t0 + r["end"] > health.last_ok:
                r["status"], r["unvouched"] = "unvouched", health.problem
    return {"rows": sorted(rows, key=lambda r: r["event"]), "wall_s": round(time.monotonic() - t0, 3),
            "health": health.problem}


def score_rows(lab, truth, rows: list[dict]) -> dict:
    from collections import Counter

    from testbed.experiments.parallel import truth_for
    from testbed.scoring.score import COUNTS, score_trace
    total = Counter({k: 0 for k in COUNTS})
    correct = scored = 0
    for r in rows:
        if r["status"] != "completed":
            continue
        for tr in r["traces"]:
            tp = truth_for(truth, r["vp"], tr["dst"])
            if tp is None:
                continue
            s = score_trace(lab, tp, tr)
            total.update(s["counts"])
            scored += 1
            c = s["counts"]
            ok = all(v["outcome"] == "correct" or v.get("cause") == "silent-lsrs" for v in s["verdicts"]) \
                and c["false_tunnels"] == 0 and c["false_lsrs"] == 0
            r["verdicts"] = [v["verdict"] for v in s["verdicts"]]
            correct += ok
    return {"traces_scored": scored, "traces_correct": correct,
            "accuracy": round(correct / scored, 4) if scored else None, "totals": dict(total)}


def summarize(name, label, res: dict, score: dict, events: int) -> dict:
    rows = res["rows"]
    done = [r for r in rows if r["status"] == "completed"]
    times = [r["seconds"] for r in rows if r["status"] != "dropped"]
    out = {"runtime": name, "label": label, "events": events, "completed": len(done),
           "dropped": sum(r["status"] == "dropped" for r in rows),
           "failed": sum(r["status"] == "failed" for r in rows),
           "unvouched": sum(r["status"] == "unvouched" for r in rows), "health": res.get("health"),
           "mean_event_s": round(statistics.mean(times), 3) if times else None,
           "median_event_s": round(statistics.median(times), 3) if times else None,
           "wall_s": res["wall_s"], "accuracy": score["accuracy"], "traces_correct": score["traces_correct"],
           "traces_scored": score["traces_scored"], "score": score["totals"],
           "completions": sorted(r["end"] for r in done)}
    for key in ("pss_kb", "guest_pss_kb", "host_pss_kb", "host_rss_kb", "boot_s", "first_probe_s", "cpu_s"):
        vals = [r[key] for r in done if r.get(key) is not None]
        if vals:
            out[f"median_{key}"] = round(statistics.median(vals), 3)
    accel = next((r["accel"] for r in done if r.get("accel")), None)
    if accel:
        out["accel"] = accel
    for key in ("kernel", "image_bytes", "mem_mb"):           # the micro-VM's guest, as booted
        v = next((r[key] for r in rows if r.get(key) is not None), None)
        if v is not None:
            out[key] = v
    errs = [r["error"] for r in rows if r["status"] == "failed"]
    if errs:
        out["first_error"] = errs[0]
    return out


def ondemand(lab, name: str | None = None, events: int = 59, interval: float = 1.0, nodes: int = 5,
             runtimes: list[str] | None = None, dest: str | None = None, extra=None, progress=None,
             up_progress=None, detector: str | None = None, detector_cmd: str | None = None,
             fmt: str | None = None) -> dict:
    """detector (a registered detector's name) or detector_cmd (a user's command template):
    that detector alone, as one process per event (ondemand_runtimes.DetectorProcess), instead
    of the runtimes list."""
    from testbed.controlplane import build
    from testbed.detectors.utnt import utnt_args
    from testbed.experiments.ondemand_runtimes import Ctx, by_name
    from testbed.experiments.parallel import Instances
    from testbed.runtimes.netns import api
    from testbed.truth import ground_truth
    if events < 1 or nodes < 1 or interval <= 0:
        raise TestbedError("--events and --nodes must be >= 1 and --interval > 0")
    node_list = nodes_of(lab, nodes, dest)
    if detector is not None or detector_cmd is not None:
        from testbed.experiments.ondemand_runtimes import DetectorProcess
        from testbed.detectors.registry import check_detector
        if runtimes:
            raise TestbedError("give --runtimes or --detector/--detector-cmd, not both")
        det = check_detector("netns", detector, extra, detector_cmd, fmt)
        chosen = [DetectorProcess(det)]
    else:
        utnt_args(extra)
        chosen = by_name(runtimes)
    truth = ground_truth(build(lab))
    skipped = []
    todo = []
    for rt in chosen:
        why = rt.missing()
        if why:
            skipped.append({"runtime": rt.name, "reason": why})
            if progress:
                progress(f"skipping {rt.name}: {why}")
        else:
            todo.append(rt)
    name = name or lab.name
    brought_up = False
    if todo and api.status(name).get("status") != "up":
        if progress:
            progress(f"bringing {name} up in network namespaces")
        api.up(lab, name=name, progress=up_progress)
        brought_up = True
    results = []
    try:
        for rt in todo:
            if hasattr(rt, "prepare"):      # before the events' clock starts (a VM snapshot)
                rt.prepare(progress)
            inst = Instances(lab, name, extra)
            try:
                ctx = Ctx(lab, name, extra, inst)
                if progress:
                    progress(f"{rt.name}: {events} events every {interval:g} s onto {nodes} nodes")
                res = run_events(ctx, rt, node_list, events, interval, progress)
            finally:
                inst.close()
            score = score_rows(lab, truth, res["rows"])
            s = summarize(rt.name, rt.label, res, score, events)
            s["rows"] = [{k: v for k, v in r.items() if k != "traces"} for r in res["rows"]]
            results.append(s)
    finally:
        if brought_up:
            if progress:
                progress(f"tearing {name} down")
            api.down(name)
    return {"lab": lab.name, "name": name, "events": events, "interval": interval, "nodes": nodes,
            "node_list": [{"vp": vp, "dst": d} for vp, d in node_list], "runtimes": results,
            "skipped": skipped, "paper": PAPER}


def plot(doc: dict, path: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    horizon = doc["events"] * doc["interval"]
    for r in doc["runtimes"]:
        xs = [0.0] + r["completions"]
        ys = list(range(len(xs)))
        ax.step(xs, ys, where="post", label=f"{r['runtime']}: {r['completed']}/{r['events']}")
        horizon = max(horizon, xs[-1])
    ax.plot([0, doc["events"] * doc["interval"]], [0, doc["events"]], ":", color="grey", label="events fired")
    ax.set_xlabel("seconds since the first event")
    ax.set_ylabel("completed events")
    ax.set_title(f"on-demand probing on {doc['lab']}: {doc['events']} events every {doc['interval']:g} s, "
                 f"{doc['nodes']} nodes", fontsize=9)
    ax.set_xlim(0, horizon * 1.02)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(doc: dict, console):
    from rich.table import Table
    t = Table(title=f"on-demand probing on {doc['lab']}: {doc['events']} events every {doc['interval']:g} s onto "
                    f"{doc['nodes']} nodes, one instance per node at a time")
    for c in ("runtime", "completed", "dropped", "failed", "mean s/event", "accuracy", "memory", "note"):
        t.add_column(c, justify="left" if c in ("runtime", "note", "memory") else "right")
    for r in doc["runtimes"]:
        acc = f"{r['traces_correct']}/{r['traces_scored']}" if r["traces_scored"] else "-"
        mem = ""
        if "median_pss_kb" in r:
            mem = f"PSS {r['median_pss_kb'] / 1024:.1f} MB"
        if "median_guest_pss_kb" in r:
            mem = f"guest {r['median_guest_pss_kb'] / 1024:.0f} MB, qemu {r['median_host_pss_kb'] / 1024:.0f} MB"
        note = r.get("accel", "") or ""
        if r.get("kernel"):
            note += (f"; {r['kernel']} kernel, image {r['image_bytes'] / 1e6:.2f} MB, RAM {r['mem_mb']} MB")
        if r.get("first_error"):
            note = (note + "; " if note else "") + "first error: " + r["first_error"][:60]
        t.add_row(r["runtime"], f"{r['completed']}/{r['events']}", str(r["dropped"]), str(r["failed"]),
                  f"{r['mean_event_s']:.2f}" if r["mean_event_s"] is not None else "-", acc, mem, note)
    for s in doc["skipped"]:
        t.add_row(s["runtime"], "-", "-", "-", "-", "-", "", "skipped: " + s["reason"][:90])
    p = doc["paper"]
    for k in p["completed"]:
        t.add_row(f"[dim]paper: {k}[/]", f"[dim]{p['completed'][k]}/{p['events']}[/]", "", "",
                  f"[dim]{p['mean_event_s'][k]:.2f}[/]", "", "", "[dim]5 OVH nodes over SSH, incl. image fetch[/]")
    console.print(t)
