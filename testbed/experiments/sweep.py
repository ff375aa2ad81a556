"""`testbed sweep`: TNT's threshold calibration (tnt.md 3.5) replayed on labs with known truth.

For every cell of the grid (FRPLA threshold x RTLA threshold, and any lab parameters given
with --set k=a..b), uTNT runs in brute-force mode on the sim runtime. Each tested (entry,
exit) pair is then classified as TNT's calibration did:
  TP  a trigger (FRPLA or RTLA) fired and a tunnel was revealed
  FN  no trigger fired, but brute force revealed a tunnel
  FP  a trigger fired and nothing was revealed
  TN  no trigger and nothing revealed
  IP / IN  inconclusive (TGT-NR or ING-NF) with / without a trigger
TPR = TP/(TP+FN), FPR = FP/(FP+TN). Because the truth is known, each cell also reports the
ground-truth view: hidden tunnels present and detected, false tunnels.
"""
from __future__ import annotations

import itertools
import json
from collections import Counter

from testbed.controlplane import build
from testbed.detectors.registry import flow_for
from testbed.errors import TestbedError
from testbed.lab import load_lab
from testbed.probing import annotate
from testbed.scoring import score_run
from testbed.targets import probes_of
from testbed.truth import ground_truth

TRIGGERS = {"FRPLA", "RTLA"}
CELLS = ("TP", "FP", "FN", "TN", "IP", "IN")


def parse_range(text: str, what: str) -> list:
    """'0..4' -> [0, 1, 2, 3, 4]; '1,3,5' -> [1, 3, 5]; 'cisco,juniper' -> strings."""
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            a, b = int(a), int(b)
            if b < a:
                raise ValueError
            return list(range(a, b + 1))
        vals = [v.strip() for v in text.split(",") if v.strip()]
        return [int(v) if v.lstrip("-").isdigit() else v for v in vals]
    except ValueError:
        raise TestbedError(f"{what}: '{text}' is not a range like 0..4 or a list like 1,3,5") from None


def template_variables(name: str) -> set:
    """Parameters a lab template reads (so --set only multiplies the labs that use it)."""
    import jinja2
    from jinja2 import meta

    from testbed.lab.loader import find_lab, limits, read_lab_text
    src = read_lab_text(find_lab(name), limits()["file_bytes"])
    return meta.find_undeclared_variables(jinja2.Environment().parse(src))


def classify(trace: dict) -> Counter:
    c = Counter({k: 0 for k in CELLS})
    for t in trace.get("tunnels", []):
        trig = t.get("trigger")
        if trig not in TRIGGERS | {"BTFC"}:
            continue
        revealed = any(a for a in t.get("lsrs", []))
        if trig == "BTFC":
            c["FN" if revealed else "TN"] += 1
        else:
            c["TP" if revealed else "FP"] += 1
    for h in trace.get("hops", []):
        if h.get("revealed"):
            continue        # the stop reason of a productive revelation (TNT prints it there)
        for a in h.get("attempts", []):
            trig = a["trigger"] or "BTFC"      # a failed brute-force test has no trigger
            if trig not in TRIGGERS | {"BTFC"}:
                continue
            fired = trig != "BTFC"
            if a["reason"] in ("TGT-NR", "ING-NF"):
                c["IP" if fired else "IN"] += 1
            else:
                c["FP" if fired else "TN"] += 1
    return c


_CACHE: dict = {}


def _lab_state(name: str, params: dict):
    """(lab, control plane, truth, probe jobs) of one lab and parameters, kept per process:
    the cells of one lab (every threshold pair) reuse it."""
    key = (name, json.dumps(params, sort_keys=True))
    if key not in _CACHE:
        lab = load_lab(name, params)
        cp = build(lab)
        _CACHE.clear()
        _CACHE[key] = (lab, cp, ground_truth(cp), probes_of(lab))
    return _CACHE[key]


def sweep_cell(item: dict) -> dict:
    """One cell of the sweep: a lab (and parameters) at one (FRPLA, RTLA) threshold pair
    (module level, picklable: it runs wherever the executor sends it)."""
    from testbed.detectors.registry import Where, get
    name, params, f, r, seed = item["lab"], item["params"], item["frpla"], item["rtla"], item["seed"]
    lab, cp, truth, jobs = _lab_state(name, params)
    det = get(item.get("detector"))

    def traces_at(brute: bool) -> list[dict]:
        out = []
        for src, targets in jobs:
            flow = flow_for(seed, src)
            out += annotate(det.calibrate(Where(lab, "sim", cp=cp), src, targets, f, r, brute, flow), src, flow)
        return out

    c = Counter({k: 0 for k in CELLS})
    for tr in traces_at(brute=True):
        c.update(classify(tr))
    # the ground-truth view, from a normal (non brute-force) run at the same thresholds
    sc = score_run(lab, truth, traces_at(brute=False), thresholds={"frpla": f, "rtla": r})
    hidden = {k: v for k, v in sc["per_class"].items() if k in ("opaque", "invisible-php", "invisible-uhp")}
    return {"lab": name, "params": params, "frpla": f, "rtla": r, **dict(c),
            "truth_hidden_present": sum(v["present"] for v in hidden.values()),
            "truth_hidden_detected": sum(v["detected"] for v in hidden.values()),
            "truth_false_tunnels": sc["totals"]["false_tunnels"]}


def sweep(labs: list[str], frpla: list[int], rtla: list[int], sets: dict[str, list] | None = None,
          progress=None, seed: int = 0, workers: int | None = 1, scheduler=None, detector: str | None = None) -> dict:
    """Every cell probes with the same flows (flow_for(seed, vantage point)), so on the sim
    every cell replays the same base traces and only the thresholds differ. The cells run
    through the executor (testbed.experiments.pool: this process, local processes or a Dask
    cluster); the result is the same wherever they ran. detector: a registered detector that
    takes TNT's thresholds and brute force (`thresholds`, on the sim: uTNT by default)."""
    from testbed.errors import InputError
    from testbed.experiments.pool import Executor, check_args
    from testbed.detectors.registry import check_detector
    check_args(workers, scheduler)
    det = check_detector("sim", detector)
    if not det.thresholds:
        raise InputError(f"--detector {det.name} takes no FRPLA/RTLA thresholds: a sweep calibrates TNT's triggers "
                         "(tnt.md 3.5), so it runs a detector that has them (uTNT)")
    sets = sets or {}
    plan = []
    for name in labs:
        used = template_variables(name)
        keys = sorted(k for k in sets if k in used)
        plan.append((name, keys, list(itertools.product(*[sets[k] for k in keys])) or [()]))
    unused = [k for k in sets if not any(k in p[1] for p in plan)]
    if unused:
        raise TestbedError(f"--set {', '.join(unused)}: no lab of the sweep has such a parameter")
    items = [{"lab": name, "params": dict(zip(keys, combo)), "frpla": f, "rtla": r, "seed": seed, "detector": detector}
             for name, keys, combos in plan for combo in combos for f in frpla for r in rtla]
    for it in items[:1]:
        _lab_state(it["lab"], it["params"])     # a bad lab fails here, in this process, with its message
    if len(items) <= 1 and scheduler is None:
        workers = 1
    with Executor(workers=workers, scheduler=scheduler) as ex:
        cells = ex.map(sweep_cell, items, progress=progress)
        kind = ex.kind
    return {"labs": labs, "frpla": frpla, "rtla": rtla, "sets": sets, "seed": seed, "executor": kind,
            "detector": det.describe([]),
            "cells": cells, "grid": aggregate(cells)}


def aggregate(cells: list[dict]) -> list[dict]:
    """Sum the cells of all labs and parameters per (frpla, rtla)."""
    agg: dict[tuple, Counter] = {}
    for c in cells:
        k = (c["frpla"], c["rtla"])
        agg.setdefault(k, Counter()).update({x: c[x] for x in CELLS + ("truth_hidden_present",
                                                                       "truth_hidden_detected",
                                                                       "truth_false_tunnels")})
    out = []
    for (f, r), c in sorted(agg.items()):
        tpr = c["TP"] / (c["TP"] + c["FN"]) if c["TP"] + c["FN"] else None
        fpr = c["FP"] / (c["FP"] + c["TN"]) if c["FP"] + c["TN"] else None
        out.append({"frpla": f, "rtla": r, **{k: c[k] for k in CELLS}, "TPR": tpr, "FPR": fpr,
                    "truth_hidden_present": c["truth_hidden_present"],
                    "truth_hidden_detected": c["truth_hidden_detected"],
                    "truth_false_tunnels": c["truth_false_tunnels"]})
    return out


def plot(doc: dict, path: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labs = doc["labs"]
    if len(labs) > 1:
        # several labs: the aggregate, then one small panel per lab (same axes), so a lab that
        # behaves differently stays visible instead of vanishing in the sum
        cols = min(4, len(labs) + 1)
        rows = -(-(len(labs) + 1) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), dpi=110, squeeze=False)
        flat = [x for r in axes for x in r]
        _roc(flat[0], doc["grid"], f"all {len(labs)} labs", plt, legend=True)
        for ax, name in zip(flat[1:], labs):
            _roc(ax, aggregate([c for c in doc["cells"] if c["lab"] == name]), name, plt)
        for ax in flat[len(labs) + 1:]:
            ax.axis("off")
        fig.suptitle("TNT trigger calibration (brute force, sim runtime; f = FRPLA threshold)", fontsize=9)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    pts = [g for g in doc["grid"] if g["TPR"] is not None and g["FPR"] is not None]
    rtlas = sorted({g["rtla"] for g in pts})
    cmap = plt.get_cmap("viridis", max(len(rtlas), 2))
    for i, r in enumerate(rtlas):
        row = sorted((g for g in pts if g["rtla"] == r), key=lambda g: g["frpla"])
        ax.plot([g["FPR"] for g in row], [g["TPR"] for g in row], "o-", color=cmap(i), label=f"RTLA >= {r}")
        for g in row:
            ax.annotate(f"f{g['frpla']}", (g["FPR"], g["TPR"]), textcoords="offset points", xytext=(4, 4),
                        fontsize=7, color=cmap(i))
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("FPR = FP / (FP + TN)")
    ax.set_ylabel("TPR = TP / (TP + FN)")
    ax.set_title(f"TNT trigger calibration on {', '.join(doc['labs'])}\n(brute force, sim runtime; "
                 "f = FRPLA threshold)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _roc(ax, grid, title, plt, legend=False):
    pts = [g for g in grid if g["TPR"] is not None and g["FPR"] is not None]
    rtlas = sorted({g["rtla"] for g in grid})
    cmap = plt.get_cmap("viridis", max(len(rtlas), 2))
    for i, r in enumerate(rtlas):
        row = sorted((g for g in pts if g["rtla"] == r), key=lambda g: g["frpla"])
        if row:
            ax.plot([g["FPR"] for g in row], [g["TPR"] for g in row], "o-", ms=3, color=cmap(i), label=f"RTLA >= {r}")
            for g in row:
                ax.annotate(f"f{g['frpla']}", (g["FPR"], g["TPR"]), textcoords="offset points", xytext=(3, 3),
                            fontsize=6, color=cmap(i))
    if not pts:
        ax.text(0.5, 0.5, "TPR or FPR undefined\n(no positives or no negatives)", ha="center", va="center", fontsize=8, color="grey")
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("FPR", fontsize=7)
    ax.set_ylabel("TPR", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    if legend and pts:
        ax.legend(fontsize=6, loc="lower right")


def write_json(doc: dict, path: str):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
