"""The scoring step of a run: the traces a detector saw, scored against the ground truth walked
through the control plane the data plane ran, and the run document `testbed run --json`
prints (testbed.api.run calls it last; `testbed.score` scores a saved result the same way)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from testbed.documents.records import RunScoreRecord, TraceRecord, TruthRecord


def split_unvouched(traces: list[dict]) -> tuple[list[dict], list[dict]]:
    """(traces to score, [{"vantage_point", "dst", "why"}] of those marked unvouched)."""
    good = [t for t in traces if not t.get("unvouched")]
    bad = [{"vantage_point": t.get("vantage_point"), "dst": t.get("dst"), "why": t["unvouched"]}
           for t in traces if t.get("unvouched")]
    return good, bad


def score_probed(lab: Any, truth_cp: Any, traces: list[dict[str, Any]],
                 detector: Any = "utnt") -> tuple[dict[str, Any], RunScoreRecord, dict[str, Any] | None]:
    """(truth, score, visibility) of traces probed on a lab whose data plane ran `truth_cp`:
    the truth with the equal-cost path each probe's flow takes, traces without a source
    completed with theirs (traceroute prints none), the scorer's document, and for a labels-only
    baseline what it could not see (testbed.detectors.views.visibility; None otherwise).
    detector: a registered Detector or a name."""
    from testbed.detectors.match import complete_sources
    from testbed.detectors.views import visibility
    from testbed.scoring import score_run
    from testbed.truth import flows_of, ground_truth
    truth = ground_truth(truth_cp, flows_of(traces))
    complete_sources(lab, truth, traces)
    score = score_run(lab, cast("TruthRecord", truth), cast("list[TraceRecord]", traces))
    seen_as = getattr(detector, "seen_as", None)
    vis = visibility(seen_as(traces) if seen_as else detector, score)
    return truth, score, vis


def document(ctx, all_traces: list[dict], raws, truth_cp, frr_info) -> dict:
    """The run document of a run context (testbed.probing.RunContext): the traces scored
    against the truth walked through truth_cp (the computed control plane, or FRR's tables)."""
    from testbed.truth import lab_digest
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
