"""The documents as the code holds them: the same JSON dicts, typed for mypy (TypedDicts).

The classes in testbed.documents (pydantic) validate a document at a boundary; inside, the
truth walk, the scorer and their readers pass the dicts themselves (the JSON is written from
them, key order and all: the golden digests hash it). These TypedDicts give those dicts their
fields, key for key the pydantic class's (tests/test_documents.py checks both agree): a key
the class may leave out is NotRequired, a key whose class field may be null is `| None`.

A detector's documents are open (any other key kept): Hop and Trace list the other keys the
scorer reads (TNT's `frpla`, `rtla` and `attempts`, the testbed's `vantage_point` and
`stop_reason`) as NotRequired, marked "detector's own" (not fields of the class).

Imports nothing from testbed but testbed.documents (any layer may use it).
"""
# (no `from __future__ import annotations`: TypedDict reads NotRequired at run time, the test compares)
from typing import Literal, NotRequired, TypedDict

from testbed.documents import Cause, Outcome, Part, Role, TagClass, TruthClass

# ---------------------------------------------------------------- a detector's traces
FiredTrigger = Literal["FRPLA", "RTLA", "MTTL", "DUPIP"]     # what fired on a missed tunnel's egress hop
LabelRecord = TypedDict("LabelRecord", {"label": int, "tc": NotRequired[int | None], "s": NotRequired[int | None],
                                        "ttl": NotRequired[int | None]})

MplsTagRecord = TypedDict("MplsTagRecord", {
    "class": TagClass | None, "role": Role, "trigger": NotRequired[str | None], "classes": NotRequired[list[TagClass]],
    "roles": NotRequired[list[Role]], "triggers": NotRequired[list[str]], "inferred": NotRequired[bool],
    "incomplete": NotRequired[bool], "technique": NotRequired[str | None], "step": NotRequired[int | None],
    "revealed": NotRequired[bool]})


class AttemptRecord(TypedDict, total=False):
    """uTNT's failed revelation attempt on a hop (TNT's verbose dump writes `(ATTEMPT,<trigger>,<reason>[,BUD])`)."""
    trigger: str | None
    reason: str | None
    buddy: bool


class HopRecord(TypedDict):
    address: str | None
    probe_ttl: NotRequired[int | None]
    revealed: NotRequired[bool]
    rtt_ms: NotRequired[float | None]
    icmp_type: NotRequired[int | None]
    icmp_code: NotRequired[int | None]
    reply_ttl: NotRequired[int | None]
    quoted_ttl: NotRequired[int | None]
    er_ttl: NotRequired[int | None]
    labels: NotRequired[list[LabelRecord]]
    mpls: NotRequired[MplsTagRecord | None]
    frpla: NotRequired[int | None]                      # detector's own: TNT's FRPLA reading on this hop
    rtla: NotRequired[int | None]                       # detector's own: TNT's RTLA reading
    attempts: NotRequired[list[AttemptRecord | str]]    # detector's own: failed revelation attempts here


ReportedTunnelRecord = TypedDict("ReportedTunnelRecord", {
    "class": Literal["EXP", "IMP", "OPA", "INV", "HET"], "ingress": NotRequired[str | None],
    "egress": NotRequired[str | None], "lsrs": NotRequired[list[str | None]], "trigger": NotRequired[str | None],
    "technique": NotRequired[str | None], "complete": NotRequired[bool], "stop_reason": NotRequired[str | None]})


class TraceRecord(TypedDict):
    src: NotRequired[str | None]
    dst: str
    method: NotRequired[str | None]
    detector: NotRequired[str]
    hops: list[HopRecord]
    tunnels: NotRequired[list[ReportedTunnelRecord]]
    vantage_point: NotRequired[str | None]      # detector's own: the testbed's vantage point of the trace
    stop_reason: NotRequired[str | None]        # detector's own: why the base trace stopped (COMPLETED, GAPLIMIT...)


# ---------------------------------------------------------------- the ground truth
ReturnReplyRecord = TypedDict("ReturnReplyRecord", {"from": str | None, "nodes": list[str], "r": int})


class StepRecord(TypedDict):
    node: str
    address: str | None
    labels: list[int]
    action: str
    time_exceeded_from: NotRequired[str | None]
    time_exceeded_returns: NotRequired[list[ReturnReplyRecord]]
    silent: NotRequired[str]


class InnerTunnelRecord(TypedDict):
    head: str
    tail: str | None
    lsrs: list[str]
    push_ttl: Literal["copy", 255]
    hidden: bool


TruthTunnelRecord = TypedDict("TruthTunnelRecord", {
    "class": TruthClass, "ingress": str, "egress": str, "lsrs": list[str], "ingress_address": str | None,
    "egress_address": str | None, "lsr_addresses": list[str | None], "family": NotRequired[Literal["6pe"]],
    "domain": str | None, "silent": bool, "ending": Literal["php", "uhp", "abrupt"], "hidden": bool,
    "notes": list[str], "stack_depth": int, "frpla_expected": int | None, "rtla_expected": int | None,
    "frpla_return_paths": NotRequired[list[int] | None], "rtla_return_paths": NotRequired[list[int] | None],
    "reveal_lsrs": NotRequired[list[list[str]]], "reveal_from": NotRequired[dict[str, list[str]]],
    "echo_unrouted": NotRequired[list[str]], "after_egress": str | None, "after_egress_is_destination": bool,
    "silent_reason": NotRequired[str], "no_decrement": bool, "inner": list[InnerTunnelRecord]})


class SegmentRecord(TypedDict):
    ingress: str
    egress: str
    after: str | None
    domain: str | None
    ending: Literal["uhp", "abrupt"]
    seen_as: Literal["explicit-lsr", "opaque", "duplicate-ip", "nothing"]
    what: str
    notes: list[str]


class PathTruthRecord(TypedDict):
    forward: list[StepRecord]
    tunnels: list[TruthTunnelRecord]
    segments: NotRequired[list[SegmentRecord]]
    flow_path: NotRequired[bool]


ProbeTruthRecord = TypedDict("ProbeTruthRecord", {
    "from": str, "from_address": str, "to": str, "family": NotRequired[Literal["ipv6"]], "to_name": str,
    "ecmp": bool, "paths": list[PathTruthRecord], "return": list[list[str]]})


class NodeTruthRecord(TypedDict):
    kind: Literal["router", "host"]
    vendor: str
    domain: str | None
    addresses: list[str]
    addresses6: NotRequired[list[str]]
    icmp_source: dict[str, Literal["outgoing", "probed", "incoming"]]
    behaviour: dict[str, object]
    behaviour_set: list[str]


class TruthRecord(TypedDict):
    lab: str
    probes: list[ProbeTruthRecord]
    nodes: dict[str, NodeTruthRecord]
    probes6: NotRequired[list[ProbeTruthRecord]]


# ---------------------------------------------------------------- the score
# Counts, Totals and the per-class counts are held as {count name: n} (a Counter while counting;
# the names: testbed.scoring.score COUNTS and TRACE_COUNTS, checked by the Score class at the end)
CountsRecord = dict[str, int]


class VerdictRecord(TypedDict):
    truth: TruthTunnelRecord | None
    reported: ReportedTunnelRecord | None
    verdict: str
    outcome: Outcome
    wrong: NotRequired[list[Part]]
    lsrs_missing: NotRequired[int]
    lsrs_unseeable: NotRequired[dict[str, str]]
    lsrs_other_path: NotRequired[int]
    trigger: NotRequired[FiredTrigger]
    cause: NotRequired[Cause]
    reason: NotRequired[str]


class TraceScoreRecord(TypedDict):
    src: str | None
    dst: str
    vantage_point: str
    path_index: int | None      # None: a probe whose truth lists no path (the walk ends every path in deliver
                                # or drop, so none today; the Score class would reject it)
    off_path_hops: int
    complete: bool
    stop_reason: str | None
    counts: CountsRecord
    per_class: dict[str, CountsRecord]
    verdicts: list[VerdictRecord]
    trace_index: NotRequired[int]           # (added once the trace is placed in the run; the class requires it)


class UnmatchedRecord(TypedDict):
    trace_index: int
    src: str | None
    dst: str | None
    vantage_point: str | None
    verdict: str


NotProbedRecord = TypedDict("NotProbedRecord", {"from": str, "to": str, "to_name": str,
                                                "verdicts": list[VerdictRecord]})


class RunScoreRecord(TypedDict):
    """What the scorer returns (testbed.scoring.score_run): the Score document but for the keys its callers
    add (lab, detector, runtime, visibility: testbed.api.score)."""
    totals: CountsRecord
    per_class: dict[str, CountsRecord]
    traces: list[TraceScoreRecord]
    unmatched: list[UnmatchedRecord]
    perfect: bool
    not_probed: NotRequired[list[NotProbedRecord]]


# the record of each class (tests/test_documents.py: same keys, the same ones required; the
# detector's own keys of the open classes apart)
RECORDS = {"Label": LabelRecord, "MplsTag": MplsTagRecord, "Hop": HopRecord, "ReportedTunnel": ReportedTunnelRecord,
           "Trace": TraceRecord, "ReturnReply": ReturnReplyRecord, "Step": StepRecord,
           "InnerTunnel": InnerTunnelRecord, "TruthTunnel": TruthTunnelRecord, "Segment": SegmentRecord,
           "PathTruth": PathTruthRecord, "ProbeTruth": ProbeTruthRecord, "NodeTruth": NodeTruthRecord,
           "Truth": TruthRecord, "Verdict": VerdictRecord, "TraceScore": TraceScoreRecord,
           "Unmatched": UnmatchedRecord, "NotProbed": NotProbedRecord, "Score": RunScoreRecord}
CALLERS_ADD = {"Score": {"lab", "detector", "runtime", "visibility"}}
DETECTORS_OWN = {"Hop": {"frpla", "rtla", "attempts"}, "Trace": {"vantage_point", "stop_reason"}}
