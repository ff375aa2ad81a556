"""The probing step of a run: a registered detector (uTNT by default; any of
testbed.detectors.registry) from every vantage point of the run to its targets, the lab's
health checked after each.

sim runtime: uTNT's stack runs in-process on a sim port that takes over the vantage point's
port. netns runtime: uTNT runs as its own process in the lab's switch namespace, on the
tap attachment point of the vantage point's LAN, with its own address: like a unikernel.
The run that brings a lab up, probes it and scores it is testbed.api.run; this module is
its probing step, and what `testbed probe`, the failure runs and the scoreboards call.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from testbed.errors import InputError, TestbedError

if TYPE_CHECKING:
    from testbed.controlplane.tables import ControlPlane
    from testbed.detectors.registry import Detector
    from testbed.lab.model import Lab
    from testbed.runtimes.base import Runtime


@dataclass
class RunContext:
    """One run of a lab, from bringing it up to its score: what every step reads, resolved
    once (the registered runtime and detector, checked; the probe jobs; the instance name)
    instead of being handed down as a long list of arguments (testbed.api.run makes it)."""
    lab: Lab
    runtime: Runtime                    # the registered runtime (testbed.runtimes.registry)
    detector: Detector                  # the registered detector, checked (registry.check_detector)
    options: list[str]                  # the detector's options after `--`
    jobs: list                          # [(vantage point, [targets])] (testbed.targets.probes_of)
    seed: int | None = None             # every vantage point's Paris flow is drawn from it
    instance: str | None = None         # the running lab instance (None: in this process)
    cp: ControlPlane | None = None      # the computed control plane
    control_plane: str = "computed"     # what the data plane runs on: "computed" or "frr"
    converge_timeout: float | None = None
    progress: Callable[[str], None] | None = None      # one line per step
    up_progress: object = None          # the steps of bringing the lab up (a Reporter, or None)
    skipped: list = field(default_factory=list)     # [{"vantage_point", "dst", "why"}] not probed

    def say(self, line: str) -> None:
        if self.progress:
            self.progress(line)


def lab_problem(name: str, runtime=None) -> str | None:
    """The health check after probing: None when lab instance `name` is up and whole (every
    engine worker, namespace and FRR sync alive), else one line naming what is dead.
    runtime: the one running it (a name or a Runtime; default: whichever owns `name`)."""
    from testbed.runtimes import registry
    rt = registry.get(runtime) if runtime is not None else registry.owner(name)
    if rt is None:
        return f"lab '{name}' is not up"
    try:
        rt.require_healthy(name)
    except TestbedError as e:
        return str(e)
    return None


def annotate(traces: list[dict], source: str, flow) -> list[dict]:
    """Tag each trace with its vantage point (uTNT on a tap has its own source address) and
    flow: the scorer matches traces to the truth by (vantage point, destination)."""
    for tr in traces:
        tr["vantage_point"] = source
        if flow is not None:
            tr["flow"] = flow
    return traces


def probe_vp(det, where, src: str, targets: list[str], extra=None, seed=None) -> tuple[str | None, list[dict]]:
    """(raw output or None, traces) of detector det from vantage point src: each trace tagged with
    its vantage point and flow, and given src's address when the detector prints none."""
    flow = det.flow(extra, seed, src)
    raw, trs = det.probe(where, src, targets, extra, flow)
    node = where.lab.nodes.get(src)
    for t in trs:
        if not t.get("src") and node is not None:
            t["src"] = str(node.primary_address())
    return raw, annotate(trs, src, flow)        # scored by (vantage point, destination)


def probe_all(ctx: RunContext) -> tuple[list[dict], list[str] | None]:
    """(traces, raw outputs or None) of the context's detector for every job of the run, the
    lab's health checked after each vantage point (_checked; what was not probed or not vouched
    for goes to ctx.skipped)."""
    from testbed.detectors.registry import Where
    rt, det = ctx.runtime, ctx.detector
    where = Where(ctx.lab, rt.name, None if rt.in_process else ctx.instance, ctx.cp)
    raws: list[str] = []

    def one(src, targets):
        if ctx.progress:
            place = rt.name if rt.in_process else "tap" if det.on_tap else f"in {src}'s namespace"
            ctx.progress(f"{det.label if det.command is None else det.command} from {src} to {', '.join(targets)} "
                         f"({place})")
        raw, trs = probe_vp(det, where, src, targets, ctx.options, ctx.seed)
        if raw is not None:
            raws.append(raw)
        return trs
    traces = _checked(ctx.jobs, where.name, one, ctx.skipped, rt)
    return traces, (raws if raws else None)


def _checked(jobs, name: str | None, probe_one, skipped: list | None, runtime=None) -> list[dict]:
    """probe_one(src, targets) -> traces for each job, with the lab's health checked after
    each (name: a running lab; None: the sim, nothing to check). Once a check fails, that
    job's traces are marked "unvouched" (the check's line: silent hops of a dead engine worker
    look like a real miss) and the remaining jobs are not probed (appended to `skipped`). A job
    whose detector fails on a running lab has its targets appended to `skipped` too."""
    traces, failed = [], []
    for k, (src, targets) in enumerate(jobs):
        try:
            trs = probe_one(src, targets)
        except TestbedError as e:
            if name is None or isinstance(e, InputError):
                raise
            # this vantage point's detector failed (killed, a bad answer): its targets are listed,
            # the other vantage points still run (below: unless the lab itself is broken)
            trs = []
            failed.append(e)
            if len(failed) == len(jobs):
                raise                   # every vantage point failed alike (a tool missing...): one line
            if skipped is not None:
                skipped += [{"vantage_point": src, "dst": d, "why": str(e)} for d in targets]
        problem = lab_problem(name, runtime) if name is not None else None
        if problem is not None:
            for t in trs:
                t["unvouched"] = problem
            traces += trs
            if skipped is not None:
                skipped += [{"vantage_point": s, "dst": d, "why": problem} for s, ts in jobs[k + 1:] for d in ts]
            break
        traces += trs
    return traces


def probe_with(lab, runtime: str, detector, jobs, extra: list[str] | None = None, name: str | None = None,
               cp=None, detector_cmd: str | None = None, fmt: str | None = None, progress=None,
               seed=None, skipped: list | None = None) -> tuple[list[dict], list[str] | None]:
    """(traces, raw outputs or None) of a registered detector (a name, a Detector, or None for
    the default; checked by registry.check_detector) for every (vantage point, targets) job: on
    the sim (in this process), or on the running lab instance `name` (netns). With `seed`, a
    detector that takes a Paris flow probes from each vantage point with flow_for(seed, vp)
    (unless its options give one); its traces carry the flow (the truth follows the equal-cost
    path it takes)."""
    from testbed.detectors.registry import get
    from testbed.runtimes import registry
    rt = registry.get(runtime)
    if rt.in_process and cp is None:
        from testbed.controlplane import build
        cp = build(lab)
    ctx = RunContext(lab, rt, get(detector, detector_cmd, fmt), list(extra or []), jobs, seed=seed,
                     instance=None if rt.in_process else name or lab.name, cp=cp, progress=progress)
    traces, raws = probe_all(ctx)
    if skipped is not None:
        skipped += ctx.skipped
    return traces, raws


def probe_lab(lab, runtime: str, jobs, extra: list[str] | None, name: str | None = None, cp=None,
              progress=None, seed=None, skipped: list | None = None) -> list[dict]:
    """uTNT's traces for every (vantage point, targets) job (probe_with with the default detector)."""
    return probe_with(lab, runtime, None, jobs, extra, name=name, cp=cp, progress=progress, seed=seed,
                      skipped=skipped)[0]
