"""`testbed probe` and `testbed run`: attach a detector (uTNT by default; any of
testbed.detectors.registry) to a lab, score what it saw.

sim runtime: uTNT's stack runs in-process on a sim port that takes over the vantage point's
port. netns runtime: uTNT runs as its own process in the lab's switch namespace, on the
tap attachment point of the vantage point's LAN, with its own address: like a unikernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from testbed.errors import InputError, TestbedError
from testbed.experiments.targets import probes_of


def flow_for(seed, source: str) -> int:
    """The Paris flow identifier (uTNT --flow) of vantage point `source` in a run with `seed`:
    the same seed gives the same probes, hence the same equal-cost paths, on sim and netns."""
    import random
    return random.Random(f"utnt-lab:{seed}:{source}").randint(1, 0xFFFF)


def _annotate(traces: list[dict], source: str, flow) -> list[dict]:
    """Tag each trace with its vantage point (uTNT on a tap has its own source address) and
    flow: the scorer matches traces to the truth by (vantage point, destination)."""
    for tr in traces:
        tr["vantage_point"] = source
        if flow is not None:
            tr["flow"] = flow
    return traces


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


def split_unvouched(traces: list[dict]) -> tuple[list[dict], list[dict]]:
    """(traces to score, [{"vantage_point", "dst", "why"}] of those marked unvouched)."""
    good = [t for t in traces if not t.get("unvouched")]
    bad = [{"vantage_point": t.get("vantage_point"), "dst": t.get("dst"), "why": t["unvouched"]}
           for t in traces if t.get("unvouched")]
    return good, bad


def probe_lab(lab, runtime: str, jobs, extra: list[str] | None, name: str | None = None, cp=None,
              progress=None, seed=None, skipped: list | None = None) -> list[dict]:
    """uTNT's traces for every (vantage point, targets) job (probe_with with the default detector)."""
    return probe_with(lab, runtime, None, jobs, extra, name=name, cp=cp, progress=progress, seed=seed,
                      skipped=skipped)[0]


def flows_of(traces: list[dict]) -> dict:
    """{(vantage point, destination): (source address, method, flow)} of seeded traces."""
    return {(t["vantage_point"], t["dst"]): (t["src"], t["method"], t["flow"]) for t in traces
            if t.get("flow") is not None and t.get("vantage_point")}


def frr_control_plane_now(lab, lab_name: str, computed):
    """The FIB/LFIB the engine workers run on in FRR mode (tables.json, read right after
    probing), with the hosts' tables from the computed control plane: the truth's input."""
    from testbed.controlplane.tables import ControlPlane
    from testbed.runtimes.netns import frr as frrrt
    generation, tables = frrrt.read_tables(frrrt.tables_path(lab_name))
    merged = dict(computed.tables)
    merged.update(tables)
    return ControlPlane(lab, merged, computed.distance), generation


def check_detector(runtime: str, detector=None, extra: list[str] | None = None,
                   detector_cmd: str | None = None, fmt: str | None = None):
    """The registered detector a run uses (testbed.detectors.registry: --detector NAME, or a
    user's --detector-cmd), after the checks that must pass before anything is brought up: the
    runtimes it runs on, its options after `--`, what it needs installed."""
    from testbed.detectors.registry import get
    det = get(detector, detector_cmd, fmt)
    det.check(runtime, extra)
    return det


def flow_of(det, extra, seed, src) -> int | None:
    """The Paris flow a detector probes with from vantage point src: the one its options give
    (uTNT's --flow), else flow_for(seed, src) with a seed; None for a detector that takes none."""
    if not det.flows:
        return None
    given = det.flow_given(extra)
    return given if given is not None else (flow_for(seed, src) if seed is not None else None)


def probe_vp(det, where, src: str, targets: list[str], extra=None, seed=None) -> tuple[str | None, list[dict]]:
    """(raw output or None, traces) of detector det from vantage point src: each trace tagged with
    its vantage point and flow, and given src's address when the detector prints none."""
    flow = flow_of(det, extra, seed, src)
    raw, trs = det.probe(where, src, targets, extra, flow)
    node = where.lab.nodes.get(src)
    for t in trs:
        if not t.get("src") and node is not None:
            t["src"] = str(node.primary_address())
    return raw, _annotate(trs, src, flow)        # scored by (vantage point, destination)


def probe_with(lab, runtime: str, detector, jobs, extra: list[str] | None = None, name: str | None = None,
               cp=None, detector_cmd: str | None = None, fmt: str | None = None, progress=None,
               seed=None, skipped: list | None = None) -> tuple[list[dict], list[str] | None]:
    """(traces, raw outputs or None) of a registered detector (a name, a Detector, or None for
    the default; checked by check_detector) for every (vantage point, targets) job: on the sim
    (in this process), or on the running lab instance `name` (netns). With `seed`, a detector
    that takes a Paris flow probes from each vantage point with flow_for(seed, vp) (unless its
    options give one); its traces carry the flow (the truth follows the equal-cost path it takes)."""
    from testbed.detectors.registry import get
    from testbed.runtimes import registry
    rt = registry.get(runtime)
    ctx = RunContext(lab, rt, get(detector, detector_cmd, fmt), list(extra or []), jobs, seed=seed,
                     instance=None if rt.in_process else name or lab.name, cp=cp, progress=progress)
    traces, raws = probe_all(ctx)
    if skipped is not None:
        skipped += ctx.skipped
    return traces, raws


def probe_all(ctx: RunContext) -> tuple[list[dict], list[str] | None]:
    """(traces, raw outputs or None) of the context's detector for every job of the run, the
    lab's health checked after each vantage point (_checked; what was not probed or not vouched
    for goes to ctx.skipped)."""
    from testbed.detectors.registry import Where
    rt, det = ctx.runtime, ctx.detector
    if rt.in_process and ctx.cp is None:
        from testbed.controlplane import build
        ctx.cp = build(ctx.lab)
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


def score_probed(lab, truth_cp, traces: list[dict], detector="utnt") -> tuple[dict, dict, dict | None]:
    """(truth, score, visibility) of traces probed on a lab whose data plane ran `truth_cp`:
    the truth with the equal-cost path each probe's flow takes, traces without a source
    completed with theirs (traceroute prints none), the scorer's document, and for a labels-only
    baseline what it could not see (testbed.detectors.views.visibility; None otherwise).
    detector: a registered Detector or a name."""
    from testbed.detectors.match import complete_sources
    from testbed.detectors.views import visibility
    from testbed.scoring import score_run
    from testbed.truth import ground_truth
    truth = ground_truth(truth_cp, flows_of(traces))
    complete_sources(lab, truth, traces)
    score = score_run(lab, truth, traces)
    seen_as = getattr(detector, "seen_as", None)
    vis = visibility(seen_as(traces) if seen_as else detector, score)
    return truth, score, vis


@dataclass
class RunContext:
    """One run of a lab, from bringing it up to its score: what every step reads, resolved
    once (the registered runtime and detector, checked; the probe jobs; the instance name)
    instead of being handed down as a long list of arguments."""
    lab: object                         # testbed.lab.Lab
    runtime: object                     # the registered Runtime (testbed.runtimes.registry)
    detector: object                    # the registered Detector, checked (check_detector)
    options: list[str]                  # the detector's options after `--`
    jobs: list                          # [(vantage point, [targets])] (probes_of)
    seed: int | None = None             # every vantage point's Paris flow is drawn from it
    instance: str | None = None         # the running lab instance (None: in this process)
    cp: object = None                   # the computed control plane
    control_plane: str = "computed"     # what the data plane runs on: "computed" or "frr"
    converge_timeout: float | None = None
    progress: object = None             # one line per step (or None)
    up_progress: object = None          # the steps of bringing the lab up (or None)
    skipped: list = field(default_factory=list)     # [{"vantage_point", "dst", "why"}] not probed

    @classmethod
    def of(cls, lab, runtime: str = "sim", extra: list[str] | None = None, source=None, dest=None,
           name: str | None = None, progress=None, control_plane: str | None = None,
           converge_timeout: float | None = None, up_progress=None, detector="utnt",
           detector_cmd: str | None = None, fmt: str | None = None, seed=None) -> RunContext:
        """The context of `testbed run` (run_lab's options), checked before anything is brought
        up: the runtime runs labs unattended, the detector runs there with those options."""
        from testbed.controlplane import build
        from testbed.runtimes import registry
        rt = registry.get(runtime)
        if rt.interactive:
            raise InputError(f"the {rt.name} runtime gives its own prompt (`testbed up LAB --runtime {rt.name}`); "
                             f"run and probe on {' or '.join(registry.names(interactive=False))}")
        # a lab file's `control_plane: frr` applies where FRR can run; elsewhere the tables are computed
        cp_mode = rt.control_plane(lab, control_plane)
        det = check_detector(rt.name, detector, extra, detector_cmd, fmt)
        return cls(lab, rt, det, list(extra or []), [], seed=seed, cp=build(lab), control_plane=cp_mode,
                   instance=None if rt.in_process else name or lab.name, converge_timeout=converge_timeout,
                   progress=progress, up_progress=up_progress)._with_jobs(source, dest)

    def _with_jobs(self, source, dest) -> RunContext:
        self.jobs = probes_of(self.lab, source, dest)
        return self

    def say(self, line: str) -> None:
        if self.progress:
            self.progress(line)


def run_lab(lab, runtime: str = "sim", **options) -> dict:
    """Probe every probe of a lab with a registered detector (uTNT by default; `detector` a name
    of testbed.detectors.registry or a Detector, or a user's `detector_cmd` whose output is read
    as `fmt`) and score it against the truth. options: RunContext.of's (extra, source, dest,
    name, progress, control_plane, converge_timeout, up_progress, detector, detector_cmd, fmt,
    seed).

    control_plane (netns only): "computed" or "frr" (default: the lab's). With FRR the truth
    is walked through the tables the engine received from FRR, read right after probing
    (`up` also reports FRR's differences from the computed control plane in "frr").
    seed: every vantage point probes with a flow drawn from it (reproducible ECMP paths)."""
    return run(RunContext.of(lab, runtime, **options))


def run(ctx: RunContext) -> dict:
    """The run document of a run context: up, probe every job, read FRR's tables (FRR mode),
    down, score against the truth."""
    rt = ctx.runtime
    if ctx.instance:
        ctx.say(f"bringing {ctx.instance} up ({rt.name} runtime)" + (" with FRR as the control plane"
                                                                    if ctx.control_plane == "frr" else ""))
    truth_cp, frr_info = ctx.cp, None
    with rt.running(ctx.lab, ctx.instance, on_down=lambda n: ctx.say(f"tearing {n} down"),
                    control_plane=ctx.control_plane, converge_timeout=ctx.converge_timeout,
                    progress=ctx.up_progress, cp=ctx.cp) as inst:
        if not rt.in_process:
            ctx.instance = inst.name
        if ctx.control_plane == "frr":
            st = inst.state
            frr_info = {"converged_seconds": st["frr"]["converged_seconds"],
                        "differences": st["frr"]["differences"], "daemons": len(st["frr"]["daemons"])}
        all_traces, raws = probe_all(ctx)
        if ctx.control_plane == "frr":
            truth_cp, generation = frr_control_plane_now(ctx.lab, inst.name, ctx.cp)
            frr_info["tables_generation"] = generation
    return scored(ctx, all_traces, raws, truth_cp, frr_info)


def scored(ctx: RunContext, all_traces: list[dict], raws, truth_cp, frr_info) -> dict:
    """The run document: the traces scored against the truth walked through truth_cp."""
    from testbed.experiments.score_files import lab_digest
    lab, skipped = ctx.lab, ctx.skipped
    traces, unvouched = split_unvouched(all_traces)
    truth, score, vis = score_probed(lab, truth_cp, traces, ctx.detector)
    out = {"ok": not unvouched and not skipped, "unvouched": unvouched + skipped,
           "unvouched_traces": [t for t in all_traces if t.get("unvouched")], "lab": lab.name,
           "lab_digest": lab_digest(lab), "runtime": ctx.runtime.name, "params": lab.params, "seed": ctx.seed,
           "traces": traces, "truth": truth["probes"], "truth_source": "frr" if truth_cp is not ctx.cp else "computed",
           "score": score, "control_plane": ctx.control_plane}
    out["detector"] = ctx.detector.describe(traces)
    if raws is not None:
        out["raw"] = raws
    if vis:
        out["visibility"] = vis
    if frr_info is not None:
        out["frr"] = frr_info
    return out
