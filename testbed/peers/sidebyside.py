"""uTNT and the original TNT on the same running namespace lab, one after the other.

:func:`run_pair` brings a lab up (unique instance name), runs uTNT on the vantage point's
LAN tap and the original TNT in the vantage point's namespace toward the same targets with
the same TNT options, tears the lab down on every exit path, and returns both verbose
dumps with wall times and probe counts.  The conformance suite (tests/conformance/) and
benchmarks/bench_tnt_vs_utnt.py are built on it.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from testbed.detectors.utnt import probe_netns
from testbed.targets import probes_of
from testbed.lab import load_lab
from testbed.runtimes.netns import api
from utnt.jsonload import dump_text_json

from . import tnt
from .dump import compare, parse_dump


def warts_probe_counts(path: str) -> list[int]:
    """probe_count of every trace in a warts file (sc_warts2json reads TNT's)."""
    from testbed.peers.dump import warts_traces
    return [int(d.get("probe_count", 0)) for d in warts_traces(path) or []]


def run_pair(lab: str, params: dict | None, options: list[str], name: str, workers: int = 1,
             keep_warts: bool = False, extra_targets: list[str] | None = None) -> dict:
    """Run both detectors on lab `lab` (library name or path) with template `params`.

    Returns ``{"lab", "params", "options", "name", "utnt": {"text", "seconds", "probes"},
    "tnt": {"text", "seconds", "probes", "warts"}, "runs": [{"from", "tnt", "utnt"}], "up_seconds"}``
    (texts are verbose dumps; ``runs`` has both dumps per vantage point, which is how
    :func:`differences` pairs traces: two vantage points may trace the same destination)."""
    model = load_lab(lab, params or {})
    jobs = probes_of(model)
    # more destinations per run: TNT measures them concurrently (its time is its pings)
    extra = [str(model.nodes[n].primary_address()) for n in (extra_targets or []) if n in model.nodes]
    jobs = [(src, targets + [x for x in extra if x not in targets]) for src, targets in jobs]
    t0 = time.monotonic()
    api.up(model, name=name, workers=workers)
    up_s = time.monotonic() - t0
    res = {"lab": lab, "params": dict(params or {}), "options": list(options), "name": name,
           "up_seconds": up_s}
    warts: list[str] = []
    try:
        u_traces, u_s = [], 0.0
        t_s, t_probes = 0.0, 0
        runs = []
        for src, targets in jobs:
            t1 = time.monotonic()
            u = probe_netns(name, src, targets, options)
            u_s += time.monotonic() - t1
            u_traces += u["traces"]
            r = tnt.run_tnt(name, src, targets, options)
            warts.append(r["warts"])
            t_s += r["elapsed_s"]
            t_probes += sum(warts_probe_counts(r["warts"]))
            runs.append({"from": src, "tnt": r["verbose_text"], "utnt": dump_text_json(u["traces"], verbose=True)})
        # TNT's warts probe_count is everything its tnt trace sent: the base trace, the
        # fingerprinting pings and the revelation probes (explicit: 8 hops + 8 pings = 16;
        # invisible-php: 20 + 8 = 28, as uTNT's three counters add up on the same labs), so
        # uTNT's probes are counted the same way
        # the whole dumps are the vantage points' dumps one after the other
        res["utnt"] = {"text": "".join(x["utnt"] for x in runs), "seconds": u_s,
                       "probes": sum(int(t.get("probe_count") or 0) + int(t.get("reveal_probes") or 0)
                                     + int(t.get("ping_probes") or 0) for t in u_traces),
                       "ping_probes": sum(int(t.get("ping_probes") or 0) for t in u_traces)}
        res["tnt"] = {"text": "".join(x["tnt"] for x in runs), "seconds": t_s, "probes": t_probes,
                      "warts": list(warts) if keep_warts else []}
        res["runs"] = runs
    finally:
        api.down(name)
        if not keep_warts:
            for w in warts:
                shutil.rmtree(str(Path(w).parent), ignore_errors=True)
    return res


def differences(pair: dict) -> list[dict]:
    """Per-hop differences between the two dumps of a run_pair result, paired per (vantage
    point, destination): each difference carries the vantage point in ``from``."""
    if "runs" not in pair:          # a result without per-vantage-point dumps: pair by destination
        return compare(parse_dump(pair["tnt"]["text"]), parse_dump(pair["utnt"]["text"]))
    return [{"from": r["from"], **d} for r in pair["runs"]
            for d in compare(parse_dump(r["tnt"]), parse_dump(r["utnt"]))]
