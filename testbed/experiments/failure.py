"""A link or router failure during a run (sim or namespace runtime).

Phase 1 probes the lab as it is; then the failure happens (a link goes down; a router
failure takes down every link of the router), the control plane is recomputed from the new
state (what an IGP + LDP reconvergence ends in), the ground truth is walked again, and
phase 2 probes with the same vantage points and destinations. Each phase is scored against
its own truth; the result says which probes changed path and how uTNT's view changed.

On namespaces (`run_with_failure(..., runtime="netns")`) the failure is real: every end of
the failed links is set down in its namespace (`ip link set DEV down`: the engine's sends on
it fail, nothing arrives on it). With the computed control plane the recomputed tables go to
the lab's tables file with the next generation number and the engine workers load them (the
mechanism FRR mode uses); the run waits until every worker runs them. With FRR
(`control_plane="frr"`) nothing is recomputed for the data plane: FRR sees its interfaces go
down, OSPF and LDP reconverge, the sync process writes FRR's new tables, and the run waits
for a generation that no longer uses the failed interfaces and stays unchanged for
SETTLE seconds; the truth of each phase is walked through the tables the workers ran.
"""
from __future__ import annotations

import subprocess
import time

from testbed.errors import InputError, TestbedError
from testbed.detectors.registry import check_detector
from testbed.probing import probe_with
from testbed.scored import split_unvouched
from testbed.targets import probes_of
from testbed.inputs import record_json


def _fail(lab, link: str | None, router: str | None) -> list[str]:
    failed = []
    if link:
        a, sep, b = link.partition(",") if "," in link else link.partition("-")
        hits = [ln for ln in lab.links if ln.name == link or (sep and set(ln.nodes) == {a, b})]
        if not hits:
            raise InputError(f"--fail-link: no link '{link}' in {lab.source}; give A,B (two routers) or a link name")
        for ln in hits:
            ln.down = True
            failed.append(ln.name)
    if router:
        if router not in lab.nodes or not lab.nodes[router].is_router:
            raise InputError(f"--fail-router: no router '{router}' in {lab.source}")
        for i in lab.nodes[router].interfaces:
            if not i.link.down:
                i.link.down = True
                failed.append(i.link.name)
    return failed


SETTLE = 3.0            # FRR mode: seconds without a new tables generation = reconverged
FRR_TIMEOUT = 90.0      # FRR mode: at most this long for the reconvergence


def _paths(truth_probe) -> list[str]:
    return [s["node"] for s in truth_probe["paths"][0]["forward"]] if truth_probe["paths"] else []


def _tunnels(truth_probe) -> list[dict]:
    if not truth_probe["paths"]:
        return []
    return [{"class": t["class"], "ingress": t["ingress"], "lsrs": t["lsrs"], "egress": t["egress"]}
            for t in truth_probe["paths"][0].get("tunnels", [])]


def _changed(lab, phases) -> list[dict]:
    changed = []
    for b, a, tb, ta in zip(phases[0]["truth"], phases[1]["truth"], phases[0]["traces"], phases[1]["traces"]):
        pb, pa = _paths(b), _paths(a)
        if pb != pa:
            changed.append({"from": b["from"], "to": b["to_name"], "before": pb, "after": pa,
                            "tunnels_before": _tunnels(b), "tunnels_after": _tunnels(a),
                            "trace_before": [lab.owner_of(h["address"]) if h.get("address") else None
                                             for h in tb["hops"]],
                            "trace_after": [lab.owner_of(h["address"]) if h.get("address") else None
                                            for h in ta["hops"]]})
    return changed


def run_with_failure(lab, link: str | None = None, router: str | None = None, extra=None, progress=None,
                     runtime: str = "sim", name: str | None = None, control_plane: str | None = None,
                     seed=None, up_progress=None, detector=None, detector_cmd: str | None = None,
                     fmt: str | None = None) -> dict:
    """detector: a registered detector's name or a Detector (uTNT by default), or a user's
    command template detector_cmd; checked before anything runs."""
    from testbed.controlplane import build
    from testbed.scoring import score_run
    from testbed.truth import ground_truth
    if not link and not router:
        raise InputError("give --fail-link A,B or --fail-router R")
    from testbed.runtimes import registry
    rt = registry.get(runtime)
    if rt.interactive or (not rt.in_process and not rt.taps):
        raise InputError(f"a failure run takes links down in a lab it brings up: --runtime "
                         f"{' or '.join(registry.names(interactive=False))}")
    detector = check_detector(rt.name, detector, extra, detector_cmd, fmt)
    if not rt.in_process:
        return _netns(lab, link, router, extra, progress, name, control_plane, seed, up_progress, detector)
    rt.control_plane(lab, control_plane)          # FRR asked for where it cannot run: one line
    jobs = probes_of(lab)
    phases = []
    try:
        for phase in ("before", "after"):
            if phase == "after":
                failed = _fail(lab, link, router)
                if progress:
                    progress(f"failure: {', '.join(failed)} down; control plane and truth recomputed")
            cp = build(lab)
            truth = ground_truth(cp)
            if progress:
                progress(f"{phase}: {detector.label} from {len(jobs)} vantage point(s)")
            traces = probe_with(lab, "sim", detector, jobs, extra, cp=cp, seed=seed)[0]
            phases.append({"phase": phase, "truth": truth["probes"], "traces": traces,
                           "score": score_run(lab, truth, traces)})
    finally:
        for ln in lab.links:                               # the lab object is the caller's: restore it
            ln.down = False
    return {"lab": lab.name, "runtime": "sim", "control_plane": "computed", "seed": seed,
            "detector": detector.describe([t for ph in phases for t in ph["traces"]]),
            "failed": {"link": link, "router": router},
            "phases": phases, "changed": _changed(lab, phases)}


# ------------------------------------------------------------------ namespaces
def set_links_down(lab, lab_name: str, links: list[str]) -> list[str]:
    """Every node end of the named links down in its namespace; returns 'node:dev' done."""
    from testbed.runtimes.netns import api
    done = []
    for ln in lab.links:
        if ln.name not in links:
            continue
        for itf in ln.interfaces:
            ns = api.namespace_of(lab_name, itf.node)
            r = subprocess.run(["ip", "-n", ns, "link", "set", itf.name, "down"], capture_output=True, text=True)
            if r.returncode != 0:
                raise TestbedError(f"could not set {itf.node} {itf.name} down in {ns}: {r.stderr.strip()}")
            done.append(f"{itf.node}:{itf.name}")
    return done


def _uses(tables: dict, failed_ifs: set) -> list[str]:
    """Routes and labels of {router: RouterTables} still leaving by a failed (router, ifname)."""
    out = []
    for r, t in tables.items():
        for pfx, route in t.fib.items():
            if any((r, nh.ifname) in failed_ifs for nh in route.nexthops):
                out.append(f"{r} {pfx}")
        for lbl, e in t.lfib.items():
            if any((r, h.ifname) in failed_ifs for h in e.hops):
                out.append(f"{r} label {lbl}")
    return out


def _workers_on(lab_name: str, generation: int, timeout: float = 15.0):
    """Until every engine worker runs tables of at least `generation` (each records the one it
    loaded in RUN_DIR/worker-I.json)."""
    from testbed.runtimes.netns import state
    st = state.read_state(lab_name) or {}
    n = len(st.get("workers", []))
    d = state.run_dir(lab_name)
    deadline = time.monotonic() + timeout
    while True:
        late = []
        for i in range(n):
            try:
                g = record_json(d / f"worker-{i}.json").get("generation", 0)
            except (OSError, ValueError):
                g = 0
            if g < generation:
                late.append(i)
        if not late:
            return
        if time.monotonic() > deadline:
            raise TestbedError(f"engine workers {late} did not load tables generation {generation} within "
                               f"{timeout:.0f} s ({d}/workers.log)")
        time.sleep(0.05)


def _frr_reconverged(lab_name: str, since: int, failed_ifs: set, progress=None) -> tuple[int, float]:
    """The first generation after `since` that no longer uses a failed interface and that FRR
    keeps for SETTLE seconds (the sync process writes one per change it sees), and when the
first generation without the failed interface appeared (monotonic clock)."""
    from testbed.runtimes.netns import frr as frrrt
    path = frrrt.tables_path(lab_name)
    deadline = time.monotonic() + FRR_TIMEOUT
    seen, seen_at, still, clean_at = since, time.monotonic(), None, None
    while True:
        gen, tables = frrrt.read_tables(path)
        now = time.monotonic()
        if gen != seen:
            seen, seen_at = gen, now
            still = _uses(tables, failed_ifs)
            if not still and clean_at is None:
                clean_at = now
            if progress:
                progress(f"FRR tables generation {gen}" + (f": {len(still)} routes still on the failed link"
                                                          if still else ": failed link unused"))
        if seen > since and not still and now - seen_at >= SETTLE:
            return seen, clean_at
        if now > deadline:
            raise TestbedError(f"FRR did not reconverge within {FRR_TIMEOUT:.0f} s after the failure "
                               f"(generation {seen}; still using the failed link: {', '.join((still or [])[:3])})")
        time.sleep(0.2)


def _netns(lab, link, router, extra, progress, name, control_plane, seed, up_progress, detector):
    from testbed.controlplane import build
    from testbed.runtimes.netns.frr import control_plane_now
    from testbed.truth import flows_of
    from testbed.runtimes.netns import api
    from testbed.runtimes.netns import frr as frrrt
    from testbed.scoring import score_run
    from testbed.truth import ground_truth
    cp_mode = control_plane or getattr(lab, "control_plane", None) or "computed"
    jobs = probes_of(lab)
    lab_name = name or lab.name
    # the failure's targets are checked before anything is brought up
    failed = _fail(lab, link, router)
    for ln in lab.links:
        ln.down = False
    phases, info = [], {"failed_links": failed}
    unvouched: list = []
    if progress:
        progress(f"bringing {lab_name} up in network namespaces"
                 + (" with FRR as the control plane" if cp_mode == "frr" else ""))
    api.up(lab, name=lab_name, control_plane=cp_mode, progress=up_progress)
    try:
        cp = build(lab)
        generation = 1 if cp_mode == "frr" else 0
        for phase in ("before", "after"):
            if phase == "after":
                _fail(lab, link, router)
                before_gen = frrrt.read_tables(frrrt.tables_path(lab_name))[0] if cp_mode == "frr" else None
                devs = set_links_down(lab, lab_name, failed)
                info["down"] = devs
                failed_ifs = {tuple(d.split(":", 1)) for d in devs}
                cp = build(lab)                      # the new state's computed control plane
                t0 = time.monotonic()
                if cp_mode == "frr":
                    if progress:
                        progress(f"failure: {', '.join(failed)} down ({len(devs)} interfaces); following FRR")
                    generation, clean_at = _frr_reconverged(lab_name, before_gen, failed_ifs, progress)
                    info["frr_clean_seconds"] = round(clean_at - t0, 3)
                else:
                    generation += 1
                    frrrt.write_tables(lab_name, frrrt.tables_doc(cp, [r.name for r in lab.routers]), generation,
                                       source="computed")
                    if progress:
                        progress(f"failure: {', '.join(failed)} down ({len(devs)} interfaces); control plane "
                                 f"recomputed, tables generation {generation} to the engine")
                _workers_on(lab_name, generation)
                info["reconverged_seconds"] = round(time.monotonic() - t0, 3)
                info["generation"] = generation
            if progress:
                progress(f"{phase}: {detector.label} from {len(jobs)} vantage point(s)")
            skipped: list = []
            traces, bad = split_unvouched(probe_with(lab, "netns", detector, jobs, extra, name=lab_name, seed=seed,
                                                     skipped=skipped)[0])
            # traces the lab's health check (or a failed detector) cannot vouch for are listed, not scored
            unvouched += [{**u, "phase": phase} for u in bad + skipped]
            truth_cp, gen = (control_plane_now(lab, lab_name, cp) if cp_mode == "frr" else (cp, generation))
            truth = ground_truth(truth_cp, flows_of(traces))
            phases.append({"phase": phase, "truth": truth["probes"], "traces": traces, "tables_generation": gen,
                           "score": score_run(lab, truth, traces)})
            if bad or skipped:
                break                   # a broken lab: the phases after it would not be vouched for either
    finally:
        for ln in lab.links:
            ln.down = False
        if progress:
            progress(f"tearing {lab_name} down")
        api.down(lab_name)
    return {"ok": not unvouched, "unvouched": unvouched, "lab": lab.name, "runtime": "netns", "control_plane": cp_mode,
            "detector": detector.describe([t for ph in phases for t in ph["traces"]]),
            "failed": {"link": link, "router": router}, "phases": phases,
            "changed": _changed(lab, phases) if len(phases) == 2 else [], "failure": info}
