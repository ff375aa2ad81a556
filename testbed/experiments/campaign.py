"""`testbed campaign LAB`: many vantage points x many destinations as one measurement campaign.

Every (vantage point, destinations) job of the lab runs a registered detector (uTNT by
default; testbed.detectors.registry) (sim: in-process, or over a pool of processes / a Dask
cluster, pool.py; netns: on the running lab, one vantage point at a time). Each vantage point's traces are scored with the
project's scorer (testbed.scoring.score_run) against the truth probes of that vantage
point, and the campaign sums them up:

  per class (uTNT's classes EXP IMP OPA INV): truth tunnels present, detected, with the right
    class (TP), reported by uTNT, precision = TP / reported, recall = TP / present
    (tunnels with silent LSRs are counted apart: undetectable by design);
  per trigger (FRPLA, RTLA, DUP-IP, ...) and per revelation technique (DPR, BRPR, ...);
  misses (missed tunnels, unrevealed LSRs) by the cause code the scorer names, or "no reason named";
  probes spent (per trace and in total), traces per second, and a per-trace table.
"""
from __future__ import annotations

import time
from collections import Counter

from testbed.errors import InputError, TestbedError
from testbed.targets import probes_of
from testbed.scoring import score_run
from testbed.scoring.score import CLASS_MAP

CLASSES = ("EXP", "IMP", "OPA", "INV")
_CACHE: dict = {}


CAMPAIGN_MIN_VPS = 10


def is_campaign(lab) -> bool:
    """A lab with tens of vantage points (10 or more) is measured as a campaign by `testbed run`;
    a library lab with a few (two-vp, five-vp) keeps the ordinary per-trace run report."""
    return len({p.source for p in lab.probes}) >= CAMPAIGN_MIN_VPS


# ------------------------------------------------------------- one vantage point (a pool cell)
def _lab_and_cp(source: str, params: dict, name: str | None):
    import json
    key = (source, json.dumps(params, sort_keys=True), name)
    if key not in _CACHE:
        from testbed.controlplane import build
        from testbed.lab import load_lab
        lab = load_lab(source, params, name=name)
        _CACHE.clear()
        _CACHE[key] = (lab, build(lab))
    return _CACHE[key]


def sim_cell(job: dict) -> dict:
    """The detector from one vantage point on the sim: {'source', 'traces', 'seconds'} (module
    level: picklable; job["detector"] is (name, command template, format) for the registry)."""
    from testbed.detectors.registry import Where, get
    from testbed.probing import probe_vp
    lab, cp = _lab_and_cp(job["lab"], job["params"], job["name"])
    det = get(*job["detector"])
    t0 = time.perf_counter()
    _, traces = probe_vp(det, Where(lab, "sim", cp=cp), job["source"], job["targets"], job["extra"], job["seed"])
    return {"source": job["source"], "traces": traces, "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------- the campaign
def campaign(lab, runtime: str = "sim", extra: list[str] | None = None, name: str | None = None,
             progress=None, up_progress=None, workers: int | None = 1, scheduler=None, cp=None,
             truth=None, keep_up: bool = False, seed=None, detector: str | None = None,
             detector_cmd: str | None = None, fmt: str | None = None) -> dict:
    """seed: each vantage point probes with the Paris flow flow_for(seed, vp) (uTNT --flow,
    unless given in `extra`): the same probes, hence the same equal-cost paths and the same
    reply hashes (return paths), run after run; None: uTNT draws a random flow.
    detector: a registered detector's name (or a user's command template detector_cmd, its
    output read as fmt); checked before anything runs."""
    from testbed.heap import frozen_heap
    with frozen_heap():
        return _campaign(lab, runtime, extra, name, progress, up_progress, workers, scheduler, cp, truth, keep_up,
                         seed, detector, detector_cmd, fmt)


def _campaign(lab, runtime, extra, name, progress, up_progress, workers, scheduler, cp, truth, keep_up, seed,
              detector, detector_cmd, fmt) -> dict:
    from testbed.controlplane import build
    from testbed.detectors.registry import Where
    from testbed.detectors.registry import check_detector
    from testbed.probing import probe_vp
    from testbed.truth import ground_truth
    det = check_detector(runtime, detector, extra, detector_cmd, fmt)
    spec = (detector, detector_cmd, fmt)
    jobs = probes_of(lab)
    t0 = time.perf_counter()
    if cp is None:
        import gc
        cp = build(lab)
        gc.freeze()                     # with the lab, out of the collector's walks (frozen_heap)
    seeded = seed is not None and det.flows and det.flow_given(extra) is None
    if truth is None and not seeded:
        if progress:
            progress(f"ground truth for {sum(len(t) for _, t in jobs)} probes")
        truth = ground_truth(cp)
    t_truth = time.perf_counter() - t0
    cells = []
    unvouched: list[dict] = []      # netns: traces the lab's health cannot vouch for (not scored)
    t1 = time.perf_counter()
    up_seconds = None
    from testbed.experiments.pool import check_args, default_workers
    check_args(workers, scheduler, runtime)
    workers = default_workers() if workers is None else workers
    from testbed.runtimes import registry
    rt = registry.get(runtime)
    if rt.interactive:
        raise InputError(f"the {rt.name} runtime gives its own prompt; a campaign runs on "
                         f"{' or '.join(registry.names(interactive=False))}")
    if rt.in_process:
        from testbed.experiments.pool import Executor
        _CACHE.clear()
        import json
        _CACHE[(lab.source, json.dumps(lab.params, sort_keys=True), lab.name)] = (lab, cp)
        items = [{"lab": lab.source, "params": lab.params, "name": lab.name, "source": s, "targets": t,
                  "extra": list(extra or []), "seed": seed, "detector": spec} for s, t in jobs]
        with Executor(workers=workers, scheduler=scheduler) as ex:
            def step(done, total):
                if progress:
                    progress(f"vantage points done: {done}/{total} ({ex.kind})")
            cells = ex.map(sim_cell, items, progress=step)
    else:
        lab_name = name or lab.name
        if progress:
            progress(f"bringing {lab_name} up in {rt.label} ({len(lab.routers)} routers, "
                     f"{len(lab.hosts)} hosts)")

        def going_down(n):
            if progress:
                progress(f"tearing {n} down")
        tu = time.perf_counter()
        running = rt.running(lab, lab_name, on_down=going_down, progress=up_progress)    # as run and testbed.up
        running.__enter__()
        up_seconds = time.perf_counter() - tu
        t1 = time.perf_counter()
        try:
            from testbed.probing import lab_problem
            for k, (src, targets) in enumerate(jobs, 1):
                if progress:
                    progress(f"{det.label} from {src} ({k}/{len(jobs)}) to {len(targets)} destinations")
                tc = time.perf_counter()
                try:
                    doc = {"traces": probe_vp(det, Where(lab, rt.name, lab_name), src, targets, extra, seed)[1]}
                except TestbedError as e:          # this vantage point's detector failed (killed): listed
                    unvouched += [{"vantage_point": src, "dst": d, "why": str(e)} for d in targets]
                    doc = {"traces": []}
                problem = lab_problem(lab_name, rt)    # the health check after each vantage point
                if problem is not None:
                    unvouched += [{"vantage_point": src, "dst": t["dst"], "why": problem} for t in doc["traces"]]
                    unvouched += [{"vantage_point": s, "dst": d, "why": problem} for s, ts in jobs[k:] for d in ts]
                    break
                cells.append({"source": src, "traces": doc["traces"], "seconds": time.perf_counter() - tc})
        finally:
            if not keep_up:
                running.__exit__(None, None, None)
    probe_seconds = time.perf_counter() - t1
    if truth is None:
        # seeded: the truth knows each probe's flow, hence which equal-cost path it took
        # (`flow_path`, the scorer's tie-break when the trace's hops fit several), as in `testbed run --seed`
        if progress:
            progress(f"ground truth for {sum(len(t) for _, t in jobs)} probes (their flows)")
        t2 = time.perf_counter()
        flows = {(c["source"], tr["dst"]): (tr["src"], tr["method"], det.flow(extra, seed, c["source"]))
                 for c in cells for tr in c["traces"]}
        truth = ground_truth(cp, flows)
        t_truth += time.perf_counter() - t2
    doc = summarise(lab, truth, jobs, cells, runtime=runtime, seconds={
        "truth": round(t_truth, 3), "up": None if up_seconds is None else round(up_seconds, 3),
        "probing": round(probe_seconds, 3)}, executor=None if not rt.in_process else
        ("dask" if scheduler is not None else "inline" if workers == 1 else f"{workers} processes"))
    doc["_truth"] = truth               # for the pictures; not written to campaign.json
    doc["detector"] = det.describe([t for c in cells for t in c["traces"]])
    doc["unvouched"] = unvouched
    doc["ok"] = not unvouched
    return doc


def _ratio(a, b):
    return None if not b else round(a / b, 4)


def summarise(lab, truth: dict, jobs, cells: list[dict], runtime: str, seconds: dict, executor=None) -> dict:
    names = {str(t): n for p in lab.probes for t, n in zip(p.targets, p.target_names)}
    per = {c: Counter(present=0, undetectable=0, detected=0, tp=0, reported=0) for c in CLASSES}
    truth_class = Counter()
    triggers, techniques, attempts = Counter(), Counter(), Counter()
    misses = Counter()          # missed tunnels and unrevealed LSRs: by the named reason (scorer rule 4)
    totals = Counter()
    rows = []
    traces_all, scores = [], []
    for cell in cells:
        src = cell["source"]
        sub = {"probes": [p for p in truth["probes"] if p["from"] == src]}
        sc = score_run(lab, sub, cell["traces"])
        scores.append(sc)
        totals.update(sc["totals"])
        by_dst = {s["dst"]: s for s in sc["traces"]}
        for tr in cell["traces"]:
            traces_all.append({"vantage_point": src, **tr})
            for u in tr.get("tunnels", []):
                cls = u.get("class")
                if cls in per:
                    per[cls]["reported"] += 1
                triggers[f"{cls} {u.get('trigger') or '-'}"] += 1
                if u.get("technique"):
                    techniques[u["technique"]] += 1
            for h in tr.get("hops", []):
                for a in h.get("attempts") or []:
                    attempts[f"{a.get('trigger')} {a.get('reason')}"] += 1
            s = by_dst.get(tr["dst"])
            verdicts = s["verdicts"] if s else []
            for v in verdicts:
                t, u = v["truth"], v["reported"]
                if t is None:
                    continue
                truth_class[t["class"]] += 1
                x = CLASS_MAP.get(t["class"])
                if x not in per:
                    continue
                if v["outcome"] == "undetectable":      # the scorer's rule: no TNT signal sees it
                    per[x]["undetectable"] += 1
                    continue
                per[x]["present"] += 1
                if u is not None:
                    per[x]["detected"] += 1
                    per[x]["tp"] += u.get("class") == x
            for v in verdicts:
                # the scorer's codes: every miss, and every partly or flagged verdict it names a cause for
                oc = v.get("outcome")
                if oc == "missed" or (oc in ("partly", "flagged-not-revealed") and v.get("cause")):
                    misses[f"{oc} ({v['cause']})" if v.get("cause") else f"{oc} (no reason named)"] += 1
            verdict = ("no tunnel" if not verdicts else
                       "correct" if all(v["outcome"] == "correct" for v in verdicts) else
                       "; ".join(sorted({v["verdict"] + (f" ({v['cause']})" if v.get("cause") else "")
                                         for v in verdicts if v["outcome"] != "correct"})))
            rows.append({"vantage_point": src, "dst": tr["dst"], "dst_name": names.get(tr["dst"]),
                         "hops": len(tr.get("hops", [])),
                         "truth": [f"{v['truth']['class']} {v['truth']['ingress']}>{v['truth']['egress']} ({len(v['truth']['lsrs'])} LSRs)"
                                   for v in verdicts if v["truth"]],
                         "reported": [f"{u['class']} {u.get('trigger') or ''} {u.get('technique') or ''}".strip()
                                      for u in tr.get("tunnels", [])],
                         "verdict": verdict, "probes": tr.get("total_probes") or 0})
    classes = {}
    for c, k in per.items():
        classes[c] = {**dict(k), "precision": _ratio(k["tp"], k["reported"]), "recall": _ratio(k["tp"], k["present"])}
    all_tp = sum(k["tp"] for k in per.values())
    all_rep = sum(k["reported"] for k in per.values())
    all_pres = sum(k["present"] for k in per.values())
    n_traces = len(rows)
    probes = sum(r["probes"] for r in rows)
    return {
        "lab": lab.name, "runtime": runtime, "executor": executor,
        "vantage_points": len(jobs), "destinations": len({t for _, ts in jobs for t in ts}), "traces": n_traces,
        "routers": len(lab.routers), "domains": {d: len(m.routers) for d, m in lab.domains.items()},
        "classes": classes,
        "overall": {"present": all_pres, "reported": all_rep, "tp": all_tp, "precision": _ratio(all_tp, all_rep),
                    "recall": _ratio(all_tp, all_pres), "false_tunnels": totals["false_tunnels"],
                    "false_lsrs": totals["false_lsrs"], "lsrs_found": totals["lsrs_found"],
                    "lsrs_present": totals["lsrs_present"]},
        "truth_classes": dict(truth_class),
        "triggers": dict(triggers.most_common()), "techniques": dict(techniques.most_common()),
        "attempts_without_tunnel": dict(attempts.most_common()),
        "misses": dict(misses.most_common()),
        "probes": {"total": probes, "per_trace": _ratio(probes, n_traces)},
        "seconds": seconds, "traces_per_second": _ratio(n_traces, seconds.get("probing") or 0),
        "per_trace": rows, "score_totals": dict(totals), "uTNT": traces_all,
    }


# ------------------------------------------------------------- the short report
def _pct(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def report(doc: dict, console, max_rows: int = 15):
    from rich.table import Table
    s = doc["seconds"]
    who = (doc.get("detector") or {}).get("name") or "uTNT"
    console.print(f"[bold]campaign {doc['lab']}[/] ({who}) on {doc['runtime']}"
                  + (f" ({doc['executor']})" if doc.get("executor") else "")
                  + f": {doc['routers']} routers, {len(doc['domains'])} MPLS domain(s), "
                  f"{doc['vantage_points']} vantage points x {doc['destinations']} destinations = "
                  f"{doc['traces']} traces, {doc['probes']['total']} probes "
                  f"({doc['probes']['per_trace']} per trace)")
    console.print(f"truth {s['truth']} s" + (f", up {s['up']} s" if s.get("up") is not None else "")
                  + f", probing {s['probing']} s ({doc['traces_per_second']} traces/s)")
    t = Table(title="per class (TNT's classes; truth tunnels with silent LSRs are undetectable)")
    for col in ("class", "present", "undetectable", "detected", "class right", "reported", "precision", "recall"):
        t.add_column(col, justify="right")
    for c, k in doc["classes"].items():
        if not (k["present"] or k["reported"] or k["undetectable"]):
            continue
        t.add_row(c, str(k["present"]), str(k["undetectable"]), str(k["detected"]), str(k["tp"]), str(k["reported"]),
                  _pct(k["precision"]), _pct(k["recall"]))
    o = doc["overall"]
    t.add_row("all", str(o["present"]), str(sum(k["undetectable"] for k in doc["classes"].values())),
              str(sum(k["detected"] for k in doc["classes"].values())), str(o["tp"]), str(o["reported"]),
              _pct(o["precision"]), _pct(o["recall"]))
    console.print(t)
    console.print(f"LSRs found {o['lsrs_found']}/{o['lsrs_present']}, false tunnels {o['false_tunnels']}, "
                  f"false LSRs {o['false_lsrs']}")
    if doc["triggers"]:
        console.print("triggers: " + ", ".join(f"{k} {v}" for k, v in doc["triggers"].items()))
    if doc["techniques"]:
        console.print("techniques: " + ", ".join(f"{k} {v}" for k, v in doc["techniques"].items()))
    if doc.get("misses"):
        console.print("misses: " + ", ".join(f"{k} {v}" for k, v in doc["misses"].items()))
    if doc["attempts_without_tunnel"]:
        console.print("attempts without a tunnel: " + ", ".join(f"{k} {v}" for k, v in
                                                               doc["attempts_without_tunnel"].items()))
    rows = doc["per_trace"]
    bad = [r for r in rows if r["verdict"] not in ("correct", "no tunnel")]
    shown = (bad + [r for r in rows if r not in bad])[:max_rows]
    pt = Table(title=f"per trace ({len(shown)} of {len(rows)}, problems first; all in the JSON)")
    for col in ("vp", "destination", "hops", "truth", who, "verdict", "probes"):
        pt.add_column(col)
    for r in shown:
        pt.add_row(r["vantage_point"], f"{r['dst_name'] or ''} {r['dst']}", str(r["hops"]), ", ".join(r["truth"]) or "-",
                   ", ".join(r["reported"]) or "-", r["verdict"], str(r["probes"]))
    console.print(pt)


def write_outputs(doc: dict, lab, folder: str, pictures: bool = True) -> dict:
    """campaign.json (everything, uTNT's traces included), the per-class bars, the topology as
    PNG with truth and uTNT's overlay, and the zoomable HTML view."""
    import json
    from pathlib import Path
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": str(out / "campaign.json")}
    with open(files["json"], "w") as f:
        json.dump({k: v for k, v in doc.items() if k != "_truth"}, f, indent=1, default=str)
    if pictures:
        from testbed.experiments.charts import campaign_bars
        from testbed.experiments.graph import draw
        from testbed.truth import ground_truth
        files["classes"] = str(out / "classes.png")
        campaign_bars(doc, files["classes"])
        truth = doc.get("_truth") or ground_truth(_lab_cp(lab))
        result = {"traces": doc["uTNT"]}
        files["topology"] = str(out / "topology.png")
        draw(lab, truth, files["topology"], result)
        files["html"] = str(out / "topology.html")
        draw(lab, truth, files["html"], result)
    return files


def _lab_cp(lab):
    from testbed.controlplane import build
    return build(lab)
