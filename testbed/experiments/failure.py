"""A link or router failure during a run (sim runtime, computed control plane).

Phase 1 probes the lab as it is; then the failure happens (a link goes down; a router
failure takes down every link of the router), the control plane is recomputed from the new
state (what an IGP + LDP reconvergence ends in), the ground truth is walked again, and
phase 2 probes with the same vantage points and destinations. Each phase is scored against
its own truth; the result says which probes changed path and how uTNT's view changed.
"""
from __future__ import annotations

from testbed.errors import TestbedError
from testbed.experiments.run import probe_lab, probes_of, utnt_args


def _fail(lab, link: str | None, router: str | None) -> list[str]:
    failed = []
    if link:
        a, sep, b = link.partition(",") if "," in link else link.partition("-")
        hits = [ln for ln in lab.links if ln.name == link or (sep and set(ln.nodes) == {a, b})]
        if not hits:
            raise TestbedError(f"--fail-link: no link '{link}' in {lab.source}; give A,B (two routers) or a link name")
        for ln in hits:
            ln.down = True
            failed.append(ln.name)
    if router:
        if router not in lab.nodes or not lab.nodes[router].is_router:
            raise TestbedError(f"--fail-router: no router '{router}' in {lab.source}")
        for i in lab.nodes[router].interfaces:
            if not i.link.down:
                i.link.down = True
                failed.append(i.link.name)
    return failed


def run_with_failure(lab, link: str | None = None, router: str | None = None, extra=None, progress=None) -> dict:
    from testbed.controlplane import build
    from testbed.scoring import score_run
    from testbed.truth import ground_truth
    if not link and not router:
        raise TestbedError("give --fail-link A,B or --fail-router R")
    utnt_args(extra)
    jobs = probes_of(lab)
    phases = []
    for phase in ("before", "after"):
        if phase == "after":
            failed = _fail(lab, link, router)
            if progress:
                progress(f"failure: {', '.join(failed)} down; control plane and truth recomputed")
        cp = build(lab)
        truth = ground_truth(cp)
        if progress:
            progress(f"{phase}: uTNT from {len(jobs)} vantage point(s)")
        traces = probe_lab(lab, "sim", jobs, extra, cp=cp)
        phases.append({"phase": phase, "truth": truth["probes"], "traces": traces,
                       "score": score_run(lab, truth, traces)})
    changed = []
    for b, a, tb, ta in zip(phases[0]["truth"], phases[1]["truth"], phases[0]["traces"], phases[1]["traces"]):
        pb = [s["node"] for s in b["paths"][0]["forward"]] if b["paths"] else []
        pa = [s["node"] for s in a["paths"][0]["forward"]] if a["paths"] else []
        if pb != pa:
            changed.append({"from": b["from"], "to": b["to_name"], "before": pb, "after": pa,
                            "trace_before": [lab.owner_of(h["address"]) if h.get("address") else None
                                             for h in tb["hops"]],
                            "trace_after": [lab.owner_of(h["address"]) if h.get("address") else None
                                            for h in ta["hops"]]})
    for ln in lab.links:                                   # the lab object is the caller's: restore it
        ln.down = False
    return {"lab": lab.name, "runtime": "sim", "failed": {"link": link, "router": router}, "phases": phases,
            "changed": changed}
