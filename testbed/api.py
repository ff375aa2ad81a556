"""The public Python API: load a lab, bring it up, probe it, score what a detector saw.

    import testbed
    lab = testbed.load("invisible-php", lsrs=4)          # a library name or a lab file; parameters
    with testbed.up(lab, runtime="sim") as net:          # or runtime="netns" (root): namespaces
        result = net.probe(detector="utnt")              # any registered detector (docs/tutorial.md)
    score = testbed.score(lab, result)
    print(score.summary())

It is the one code path: `testbed run` is run() below, which takes a lab through its steps in
order (check the runtime and detector, bring it up, probe: testbed.probing, read FRR's
tables, score: testbed.scored), and up(), Net.probe() and score() are the same steps one at a
time, so a script and the CLI cannot disagree. Result, Truth and Score are dataclasses
whose to_json() documents are the CLI's (`testbed probe/run/truth --json`); their JSON
schemas are docs/result.schema.json, docs/truth.schema.json and docs/score.schema.json.
Errors are the CLI's: testbed.errors.LabError (bad lab file: one Problem per line with file,
line, field and fix), InputError (bad argument), TestbedError (a failed run).
"""
from __future__ import annotations

import itertools
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from testbed.errors import InputError, TestbedError

__all__ = ["load", "up", "attach", "run", "ground_truth", "score", "status", "down", "exec_argv", "Net", "Result", "Truth", "Score"]

_counter = itertools.count()


def load(lab: str | Path, *, name: str | None = None, no_limits: bool = False, local_includes: bool = False,
         **params):
    """A validated Lab (testbed.lab.model.Lab) from a library lab name or a lab file; keyword
    arguments are the template's parameters (`lsrs=4` is `--set lsrs=4`)."""
    from testbed.lab import load_lab
    return load_lab(str(lab), params, name=name, no_limits=no_limits, local_first=local_includes)


def _lab(lab):
    return load(lab) if isinstance(lab, (str, Path)) else lab


# ---------------------------------------------------------------- documents
@dataclass
class Result:
    """What a detector saw on a lab: its traces in the scorer's shape (docs/result.schema.json),
    tagged with their vantage point (and Paris flow when seeded)."""
    lab: str
    runtime: str
    traces: list[dict]
    detector: str = "utnt"
    name: str | None = None              # the lab instance probed (netns)
    params: dict = field(default_factory=dict)
    seed: int | None = None
    control_plane: str = "computed"
    raw: list[str] | None = None         # other detectors' own output, one per vantage point
    truth: "Truth | None" = None         # FRR control plane: the truth walked through FRR's tables
    # not part of the document: the detector's own description (name, version, command) and the
    # probes a failed check left out ({"vantage_point", "dst", "why"}), for `testbed probe`
    described: dict | None = field(default=None, compare=False, repr=False)
    skipped: list[dict] = field(default_factory=list, compare=False, repr=False)

    def to_json(self) -> dict:
        doc = {"format": "utnt", "version": 1, "lab": self.lab, "runtime": self.runtime, "detector": self.detector,
               "name": self.name, "params": dict(self.params), "seed": self.seed,
               "control_plane": self.control_plane, "traces": self.traces}
        if self.raw is not None:
            doc["raw"] = self.raw
        if self.truth is not None:
            doc["truth_document"] = self.truth.to_json()
        return doc

    def typed(self):
        """The traces as a typed document (testbed.documents.Result)."""
        from testbed.documents import Result as ResultDoc
        from testbed.documents import load
        doc = load("result", self.to_json()).root
        assert isinstance(doc, ResultDoc)
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "Result":
        """From to_json(), `testbed probe --json` or `testbed run --json` (whose `detector` is
        an object, and whose truth is scored again from the lab)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("traces"), list) or "lab" not in doc:
            raise InputError("a result document is a JSON object with 'lab' and 'traces' (testbed probe --json, "
                             "testbed run --json or Result.to_json())")
        from testbed.documents import DocumentError, check_traces
        try:
            check_traces(doc["traces"])               # each a Trace (testbed/documents)
        except DocumentError as e:
            raise InputError(f"result document: {e}") from None
        det = doc.get("detector") or "utnt"
        if isinstance(det, dict):
            det = det.get("name") or "utnt"
        truth = doc.get("truth_document")
        return cls(lab=doc["lab"], runtime=doc.get("runtime", "files"), traces=doc["traces"], detector=det,
                   name=doc.get("name"), params=dict(doc.get("params") or {}), seed=doc.get("seed"),
                   control_plane=doc.get("control_plane") or "computed", raw=doc.get("raw"),
                   truth=Truth.from_json(truth) if truth else None)


@dataclass
class Truth:
    """The ground truth (docs/truth.schema.json): per probe (vantage point, destination) the
    forward paths (every equal-cost one), the tunnels on them and the return paths; per node
    its identity and the vendor behaviour in force. `testbed truth LAB --json` prints it."""
    lab: str
    probes: list[dict]
    nodes: dict[str, dict]
    probes6: list[dict] = field(default_factory=list)   # 6PE labs: the same probes over IPv6

    def typed(self):
        """The truth as a typed document (testbed.documents.Truth)."""
        from testbed.documents import load
        return load("truth", self.to_json())

    def tunnels(self) -> list[dict]:
        """Every tunnel on a first listed path of a probe (one per probe and tunnel)."""
        return [t for p in self.probes if p["paths"] for t in p["paths"][0]["tunnels"]]

    def to_json(self) -> dict:
        doc = {"lab": self.lab, "probes": self.probes, "nodes": self.nodes}
        if self.probes6:
            doc["probes6"] = self.probes6
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "Truth":
        return cls(lab=doc["lab"], probes=doc["probes"], nodes=doc.get("nodes") or {},
                   probes6=doc.get("probes6") or [])


@dataclass
class Score:
    """The scorer's verdict (docs/score.schema.json; rules in testbed/scoring/score.py):
    `totals` and `per_class` counts, one entry per scored trace with a verdict per tunnel,
    the traces the truth has no probe for, and `perfect`."""
    lab: str
    detector: str
    totals: dict[str, int]
    per_class: dict[str, dict[str, int]]
    traces: list[dict]
    unmatched: list[dict]
    perfect: bool
    runtime: str | None = None
    visibility: dict | None = None       # plain tracers: true tunnels they could not see, or misread
    not_probed: list = field(default_factory=list)   # 6PE: IPv6 probes no trace went to (rule 7)

    def typed(self):
        """The score as a typed document (testbed.documents.Score): fields, not keys."""
        from testbed.documents import load
        return load("score", self.to_json())

    def summary(self) -> str:
        """A few lines of plain text: the counts, then a verdict per true tunnel."""
        t = self.totals
        head = (f"{self.lab} ({self.runtime or 'files'}, {self.detector}): "
                f"{'perfect score' if self.perfect else 'not perfect'}; {t['detected']}/{t['present']} tunnels "
                f"detected (class {t['class_correct']}, ingress {t['ingress_correct']}, egress "
                f"{t['egress_correct']}), LSRs {t['lsrs_found']}/{t['lsrs_present']}, hidden LSRs revealed "
                f"{t['hidden_lsrs_revealed']}/{t['hidden_lsrs_present']}, false tunnels {t['false_tunnels']}, "
                f"false LSRs {t['false_lsrs']}, undetectable {t['undetectable']}; {t['traces']} traces "
                f"({t['incomplete_traces']} incomplete, {t['unmatched_traces']} unmatched)")
        lines = [head]
        doc = self.typed()
        for s in doc.traces:
            for v in s.verdicts:
                tr = v.truth
                what = (f"{tr.class_} {tr.ingress} -> {' '.join(tr.lsrs)} -> {tr.egress}" if tr
                        else f"reported {v.reported.class_ if v.reported else None} tunnel")
                lines.append(f"  {s.vantage_point} -> {s.dst}: {what}: {v.verdict}")
        for n in doc.not_probed or []:
            for v in n.verdicts:
                tr = v.truth
                lines.append(f"  {n.from_} -> {n.to}: {tr.class_} {tr.ingress} -> {' '.join(tr.lsrs)} -> "
                             f"{tr.egress}: {v.verdict}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        doc = asdict(self)
        if doc["visibility"] is None:
            doc.pop("visibility")
        if not doc["not_probed"]:
            doc.pop("not_probed")
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> "Score":
        """From to_json(), or a `testbed run --json` / `testbed score --json` document (its `score`)."""
        if "score" in doc and "totals" not in doc:
            det = doc.get("detector") or "utnt"
            doc = {**doc["score"], "lab": doc["lab"], "runtime": doc.get("runtime"),
                   "detector": det.get("name") if isinstance(det, dict) else det, "visibility": doc.get("visibility")}
        return cls(lab=doc["lab"], detector=doc.get("detector") or "utnt", totals=doc["totals"],
                   per_class=doc["per_class"], traces=doc["traces"], unmatched=doc["unmatched"],
                   perfect=doc["perfect"], runtime=doc.get("runtime"), visibility=doc.get("visibility"),
                   not_probed=doc.get("not_probed") or [])


# ---------------------------------------------------------------- truth and score
def ground_truth(lab, result: Result | None = None) -> Truth:
    """The lab's ground truth from its computed control plane; with a result, each probe's
    equal-cost path its flow took is marked `flow_path` (and a result probed under FRR carries
    the truth of FRR's tables). (Named ground_truth: `testbed.truth` is the truth package.)"""
    from testbed.controlplane import build
    from testbed.truth import flows_of
    from testbed.truth import ground_truth as walk_truth
    if result is not None and result.truth is not None:
        return result.truth
    doc = walk_truth(build(_lab(lab)), flows_of(result.traces) if result is not None else None)
    return Truth.from_json(doc)


def score(lab, result: Result | dict) -> Score:
    """Score a detector's result against the lab's ground truth (what `testbed run` and
    `testbed score` do): a Result, or a result document (Result.from_json)."""
    from testbed.controlplane import build
    from testbed.scored import score_probed
    from testbed.scoring import score_run
    lab = _lab(lab)
    if not isinstance(result, Result):
        result = Result.from_json(result)
    if result.lab != lab.name:
        raise InputError(f"the result is of lab '{result.lab}', not '{lab.name}'; load the lab it was probed on")
    traces = [dict(t) for t in result.traces]     # the scorer may complete other detectors' sources
    if result.truth is not None:                  # FRR: the tables the data plane ran, read after probing
        from testbed.detectors.match import complete_sources
        truth = result.truth.to_json()
        complete_sources(lab, truth, traces)      # (only traces without a source: traceroute's)
        sc = score_run(lab, truth, traces)
        from testbed.detectors.views import visibility
        vis = visibility(result.detector, sc)
    else:
        _, sc, vis = score_probed(lab, build(lab), traces, result.detector)
    return Score(lab=lab.name, detector=result.detector, runtime=result.runtime, visibility=vis or None, **sc)


# ---------------------------------------------------------------- a running lab
class Net:
    """A lab that is up (sim: in this process; netns: namespaces named `name`). Made by up()."""

    def __init__(self, lab, runtime: str, name: str | None, control_plane: str, cp=None, state: dict | None = None):
        self.lab, self.runtime, self.name, self.control_plane = lab, runtime, name, control_plane
        self.cp = cp                     # the computed control plane (sim: what the data plane runs)
        self.state = state               # netns: the run record (testbed/runtimes/netns/state.py)
        self.closed = False

    def __repr__(self):
        return f"<Net {self.lab.name} on {self.runtime}{' as ' + self.name if self.name else ''}>"

    def probe(self, detector: str = "utnt", options: list[str] | None = None, source: str | None = None,
              dest: str | None = None, seed: int | None = None, cmd: str | None = None, fmt: str | None = None,
              progress=None, truth: bool = True) -> Result:
        """Probe the lab's probes (or `source` -> `dest`) with a registered detector
        (testbed.detectors.registry): "utnt" (options: uTNT's, as after `testbed run --`), "labels",
        on netns "scamper", "traceroute", "tnt" (the original, if built), an installed package's
        (entry-point group utnt_lab.detectors), or `cmd` ('CMD ... {dst}', its output read as `fmt`). seed: every vantage point
        probes with a Paris flow drawn from it. truth: with FRR's control plane, walk the truth
        through its tables as they are now (Result.truth)."""
        from testbed.cliargs import check_endpoints
        from testbed.detectors.registry import check_detector
        from testbed.probing import probe_with
        from testbed.targets import probes_of
        if self.closed:
            raise TestbedError(f"{self!r} is down; probe inside the `with testbed.up(...)` block")
        options = list(options or [])
        det = check_detector(self.runtime, detector, options, cmd, fmt)
        check_endpoints(self.lab, source, dest)
        jobs = probes_of(self.lab, source, dest)
        skipped: list[dict] = []
        traces, raws = probe_with(self.lab, self.runtime, det, jobs, options, name=self.name, cp=self.cp,
                                  progress=progress, seed=seed, skipped=skipped)
        walked = None
        if truth and self.control_plane == "frr":
            from testbed.runtimes.netns.frr import control_plane_now
            from testbed.truth import flows_of
            from testbed.truth import ground_truth as walk_truth
            ran, _generation = control_plane_now(self.lab, self.name, self.computed())
            walked = Truth.from_json(walk_truth(ran, flows_of(traces)))
        described = det.describe(traces)
        return Result(lab=self.lab.name, runtime=self.runtime, traces=traces, detector=described["name"],
                      name=self.name, params=dict(self.lab.params), seed=seed, control_plane=self.control_plane,
                      raw=raws, truth=walked, described=described, skipped=skipped)

    def computed(self):
        if self.cp is None:
            from testbed.controlplane import build
            self.cp = build(self.lab)
        return self.cp

    def status(self) -> dict:
        """The live state of the lab instance (`testbed status NAME --json`); in process: {"status": "up"}."""
        from testbed.runtimes import registry
        rt = registry.get(self.runtime)
        if rt.in_process:
            return {"name": None, "status": "down" if self.closed else "up"}
        return rt.status(self.name)


def default_name(lab) -> str:
    """A lab instance name unique on this machine while this process lives: the lab's name
    (shortened), this process's id and a counter, within the runtime's 24 characters."""
    tail = f"-{os.getpid():x}{next(_counter):x}"
    return lab.name[:24 - len(tail)].rstrip("-_") + tail


class up:
    """`with testbed.up(lab, runtime="netns") as net:` brings the lab up, and down again when
    the block ends, also on an exception, Ctrl-C or SIGTERM (in the main thread, SIGTERM is
    turned into KeyboardInterrupt while the lab is up; the teardown itself is not
    interruptible). runtime "sim" runs in this process on a virtual clock (no root).
    name: the namespaces' instance name (default: default_name(lab), unique);
    control_plane (netns): "computed" or "frr" (default: the lab's)."""

    def __init__(self, lab, runtime: str = "netns", name: str | None = None, control_plane: str | None = None,
                 converge_timeout: float | None = None, progress=None):
        from testbed.runtimes import registry
        rt = registry.get(runtime)
        if rt.interactive:
            raise InputError(f"the {rt.name} runtime gives its own prompt (`testbed up LAB --runtime {rt.name}`); "
                             f"testbed.up takes {' or '.join(registry.names(interactive=False))}")
        self.lab = _lab(lab)
        self.rt, self.runtime = rt, rt.name
        self.control_plane = rt.control_plane(self.lab, control_plane)
        self.name = None
        if not rt.in_process:
            from testbed.runtimes.netns.names import check_name
            self.name = check_name(name) if name is not None else default_name(self.lab)
        self.converge_timeout, self.progress = converge_timeout, progress
        self.net: Net | None = None
        self._running = None

    def __enter__(self) -> Net:
        self._running = self.rt.running(self.lab, self.name, control_plane=self.control_plane,
                                        converge_timeout=self.converge_timeout, progress=self.progress)
        inst = self._running.__enter__()
        self.net = Net(self.lab, self.runtime, inst.name, self.control_plane, cp=inst.cp,
                       state=None if self.rt.in_process else inst.state)
        return self.net

    def __exit__(self, *exc):
        if self.net is not None:
            self.net.closed = True
        return self._running.__exit__(*exc) if self._running is not None else False


def _context(lab, runtime: str, extra, source, dest, name, progress, control_plane, converge_timeout,
             up_progress, detector, detector_cmd, fmt, seed):
    """The run's context (testbed.probing.RunContext), checked before anything is brought up:
    the runtime runs labs unattended, the detector runs there with those options, the
    endpoints are the lab's; the computed control plane and the probe jobs."""
    from testbed.controlplane import build
    from testbed.detectors.registry import check_detector
    from testbed.probing import RunContext
    from testbed.runtimes import registry
    from testbed.targets import probes_of
    rt = registry.get(runtime)
    if rt.interactive:
        raise InputError(f"the {rt.name} runtime gives its own prompt (`testbed up LAB --runtime {rt.name}`); "
                         f"run and probe on {' or '.join(registry.names(interactive=False))}")
    # a lab file's `control_plane: frr` applies where FRR can run; elsewhere the tables are computed
    cp_mode = rt.control_plane(lab, control_plane)
    det = check_detector(rt.name, detector, extra, detector_cmd, fmt)
    cp = build(lab)
    return RunContext(lab, rt, det, list(extra or []), probes_of(lab, source, dest), seed=seed, cp=cp,
                      control_plane=cp_mode, instance=None if rt.in_process else name or lab.name,
                      converge_timeout=converge_timeout, progress=progress, up_progress=up_progress)


def run(lab, runtime: str = "sim", *, extra: list[str] | None = None, source: str | None = None,
        dest: str | None = None, name: str | None = None, progress=None, control_plane: str | None = None,
        converge_timeout: float | None = None, up_progress=None, detector="utnt", detector_cmd: str | None = None,
        fmt: str | None = None, seed: int | None = None) -> dict:
    """`testbed run`: bring the lab up on `runtime`, probe every probe with a registered
    detector (uTNT by default; `detector` a name of testbed.detectors.registry or a Detector,
    or a user's `detector_cmd` whose output is read as `fmt`; `extra`: its options after
    `--`), score it against the truth, take it down; the run document `testbed run --json`
    prints. source/dest: one vantage point and destination instead of the lab's probes.

    control_plane (netns only): "computed" or "frr" (default: the lab's). With FRR the truth
    is walked through the tables the engine received from FRR, read right after probing
    (`up` also reports FRR's differences from the computed control plane in "frr").
    seed: every vantage point probes with a flow drawn from it (reproducible ECMP paths).

    The steps, in order, each in its own module: the context, checked before anything is
    brought up (_context); up (the runtime); probe every job (testbed.probing); FRR's tables
    (testbed.runtimes.netns.frr); down; score (testbed.scored)."""
    from testbed.probing import probe_all
    from testbed.runtimes.netns.frr import control_plane_now
    from testbed.scored import document
    lab = _lab(lab)
    ctx = _context(lab, runtime, extra, source, dest, name, progress, control_plane, converge_timeout,
                   up_progress, detector, detector_cmd, fmt, seed)
    rt = ctx.runtime
    if ctx.instance:
        ctx.say(f"bringing {ctx.instance} up ({rt.name} runtime)" + (" with FRR as the control plane"
                                                                    if ctx.control_plane == "frr" else ""))
    truth_cp, frr_info = ctx.cp, {}
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
            truth_cp, generation = control_plane_now(ctx.lab, inst.name, ctx.cp)
            frr_info["tables_generation"] = generation
    return document(ctx, all_traces, raws, truth_cp, frr_info or None)


# ---------------------------------------------------------------- lab instances by name
def attach(lab, runtime: str, name: str | None = None, control_plane: str = "computed") -> Net:
    """A Net for lab instance `name`, already up on `runtime` (`testbed probe NAME`), or for
    the lab in this process on an in-process runtime (the sim). Unlike up(), it neither
    brings the lab up nor takes it down."""
    from testbed.runtimes import registry
    rt = registry.get(runtime)
    if not rt.in_process and (name is None or rt.record(name) is None):
        raise InputError(f"lab instance '{name}' is not up on the {rt.name} runtime; start it with `testbed up`")
    return Net(_lab(lab), rt.name, None if rt.in_process else name, control_plane)


def instance_runtime(name: str):
    """The runtime (testbed.runtimes.base.Runtime) running lab instance `name`, None when none is."""
    from testbed.runtimes import registry
    from testbed.runtimes.netns.names import check_name
    return registry.owner(check_name(name))


def status(name: str | None = None):
    """Lab instance `name`'s state with a live "status" (`testbed status NAME --json`), whichever
    runtime runs it; without a name, a list of every instance on the machine."""
    from testbed.runtimes import registry
    if name is None:
        return [status(n) for n in registry.instances()]
    from testbed.documents import check
    rt = instance_runtime(name)
    if rt is None:
        return {"name": name, "status": "down", "namespaces": []}
    return check("lab-instance", rt.status(name))      # a LabInstance document (testbed/documents)


def down(name: str) -> dict:
    """Take lab instance `name` down, whichever runtime runs it (`testbed down NAME`)."""
    rt = instance_runtime(name)
    if rt is None:
        return {"name": name, "was_up": False, "namespaces_removed": 0, "workers_stopped": [], "left": [],
                "frr_stopped": [], "captures_stopped": [], "detectors_stopped": [], "processes_still_inside": []}
    return rt.down(name)


def exec_argv(name: str, node: str, cmd: list[str]) -> list[str]:
    """The argv that runs cmd in node `node` of lab instance `name` (`testbed exec`)."""
    from testbed.runtimes import registry
    from testbed.runtimes.netns.names import check_name
    return registry.owner_of_up(check_name(name)).exec_argv(name, node, cmd)
