"""The project's documents as typed classes (pydantic models): a detector's traces (Hop,
ReportedTunnel, Trace, Result), the ground truth (Truth, ProbeTruth, PathTruth, TruthTunnel,
...), the scorer's verdicts and score (Verdict, TraceScore, Score) and a lab instance's state
(LabInstance). Field names are exactly the JSON's (`class`, `from`, `return` through aliases),
so every file and consumer stays valid; the JSON schemas in docs/ are generated from these
classes (`python -m testbed.documents --write-schemas`; tests/test_documents.py fails when a
committed schema differs from the generated one).

The boundaries validate through them: every detector parser's traces (check_traces: one line
naming the file, the trace/hop and the field), the truth walk's output and the scorer's
(check). Validation keeps the dicts as they are: model_dump(by_alias=True, exclude_unset=True)
of a validated document gives the same dict back, so the golden digests stay byte-identical.

Imports nothing from testbed (any layer may use it).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError
from pydantic.json_schema import SkipJsonSchema

IPV4_PATTERN = (r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
                r"(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")
IPV6_PATTERN = r"^[0-9a-f:]*:[0-9a-f:]*(:[0-9]+(\.[0-9]+){3})?$"

IPv4 = Annotated[str, Field(pattern=IPV4_PATTERN)]
IPv6 = Annotated[str, Field(pattern=IPV6_PATTERN, description="an IPv6 address (6PE labs); IPv4-mapped ones as "
                                                             "::ffff:a.b.c.d")]
IP = Union[IPv4, IPv6]
TTL = Annotated[int, Field(ge=0, le=255)]
Count = Annotated[int, Field(ge=0)]
NodeName = Annotated[str, Field(description="a router or host of the lab ('?' for a tunnel whose egress the walk "
                                            "never reached)")]
Absent = SkipJsonSchema[None]        # a key that may be left out, but is never null

# ---------------------------------------------------------------- codes
TagClass = Literal["EXP", "IMP", "OPA", "INV"]
Role = Literal["ING", "LSR", "EGR"]
Trigger = Literal["DUPIP", "RTLA", "FRPLA", "MTTL", "QTTL", "UTURN", "BTFC"]
TruthClass = Literal["explicit", "implicit", "opaque", "invisible-php", "invisible-uhp"]
Outcome = Literal["correct", "partly", "undetectable", "flagged-not-revealed", "missed", "false-tunnel"]
Part = Literal["class", "ingress", "egress", "lsrs"]
# the causes a verdict may name (testbed/scoring/score.py CAUSES holds the English of each;
# tests/test_documents.py checks the two lists agree)
Cause = Literal["candidate-tagged", "destination-after-egress", "ecmp-return", "ecmp-revelation",
                "egress-address-hidden", "implicit-no-signal", "inner-label-egress", "invisible-below-threshold", "merged-tunnel", "not-probed-ipv6",
                "one-tunnel-per-trace", "one-tunnel-per-trace-lsrs", "router-vp-ingress",
                "router-vp-no-revelation", "silent-ingress", "silent-lsrs", "stop-ingress-not-found",
                "stop-nothing-revealed", "stop-target-not-reached", "trace-ended-before", "trigger-not-revealed",
                "uhp-destination-after-egress"]
CAUSES: tuple[str, ...] = Cause.__args__       # type: ignore[attr-defined]
OUTCOMES: tuple[str, ...] = Outcome.__args__   # type: ignore[attr-defined]
VERDICT_TEXT = r"^(correct|partly: .+|undetectable: .+|flagged but not revealed .+|missed|false tunnel)$"
REASON_TEXT = "^(" + "|".join(CAUSES) + "): .+$"


class _Open(BaseModel):
    """A detector's document: other keys are kept (detectors add their own)."""
    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True, defer_build=True)


class _Closed(BaseModel):
    """A document the project writes: no other key."""
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


# ---------------------------------------------------------------- a detector's traces
class Label(_Open):
    label: int = Field(ge=0, le=1048575)
    tc: int | None = None
    s: int | None = None
    ttl: TTL | None = None


class MplsTag(_Open):
    """TNT's [MPLS,...] tag of a hop, normalized."""
    class_: TagClass | None = Field(alias="class", description="the first class; null for an inferred LSR (INF)")
    role: Role = Field(description="LSR, else EGR, else ING")
    trigger: Annotated[str, Field(pattern=r"^(DUPIP|RTLA|FRPLA|MTTL|QTTL|UTURN|BTFC)"
                                          r"(,(DUPIP|RTLA|FRPLA|MTTL|QTTL|UTURN|BTFC))*$")] | None = Field(
        default=None, description="the triggers and implicit signatures, comma-joined")
    classes: list[TagClass] | Absent = None
    roles: list[Role] | Absent = Field(default=None, description="every role, e.g. [EGR, ING] for the hop between "
                                                                  "two LSPs")
    triggers: list[Trigger] | Absent = None
    inferred: bool | Absent = None
    incomplete: bool | Absent = None
    technique: Literal["DPR", "BRPR", "BUDDY", "UNKN"] | None = None
    step: int | None = None
    revealed: bool | Absent = None


class Hop(_Open):
    address: IPv4 | None = Field(description="null for a silent hop")
    probe_ttl: Annotated[int, Field(ge=0, le=65535)] | None = Field(
        default=None, description="the probe's TTL; a text dump's hop index (as the parsers read it: a small whole "
                                  "number)")
    revealed: bool | Absent = Field(default=None, description="a hidden hop the detector revealed (TNT's H lines)")
    rtt_ms: float | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    reply_ttl: TTL | None = None
    quoted_ttl: TTL | None = None
    er_ttl: TTL | None = None
    labels: list[Label] | Absent = None
    mpls: MplsTag | None = None


class ReportedTunnel(_Open):
    """A tunnel a detector reported."""
    class_: Literal["EXP", "IMP", "OPA", "INV", "HET"] = Field(alias="class",
                                                               description="HET: hops of different classes")
    ingress: IPv4 | None = None
    egress: IPv4 | None = None
    lsrs: list[IPv4 | None] | Absent = Field(default=None, description="null items: a silent revealed hop")
    trigger: str | None = None
    technique: str | None = None
    complete: bool | Absent = None
    stop_reason: str | None = None


class Trace(_Open):
    """One trace of a detector toward one destination."""
    src: IPv4 | None = Field(default=None, description="the prober's address; null or absent: taken from the lab's "
                                                       "probe toward dst")
    dst: IPv4
    method: str | None = Field(default=None, description="e.g. icmp-paris, udp-paris")
    detector: str | Absent = Field(default=None, description="who produced the trace (scores are grouped by it)")
    hops: list[Hop]
    tunnels: list[ReportedTunnel] | Absent = None


class TraceList(RootModel[list[Trace]]):
    model_config = ConfigDict(defer_build=True)


class Result(_Open):
    """A run document (`testbed probe --json`, `testbed run --json`, Result.to_json()): the
    traces, and what was run (any other keys are kept)."""
    lab: str | Absent = None
    lab_digest: str | Absent = None
    detector: str | dict[str, Any] | Absent = Field(default=None, description="the detector's name (or, in `testbed "
                                                                               "run --json`, an object naming it)")
    runtime: str | None = None
    traces: list[Trace]


class ResultFile(RootModel[Union[Result, list[Trace], Trace]]):
    """What `testbed score` reads: {"traces": [...]} (other top-level keys kept), a list of
    traces, or one trace."""
    model_config = ConfigDict(defer_build=True)


# ---------------------------------------------------------------- the ground truth
class ReturnReply(_Closed):
    from_: IP | None = Field(alias="from", description="the reply's source address")
    nodes: list[str] = Field(description="the return path, this node first, the vantage point last")
    r: int = Field(description="its length as the reply's TTL counts it: a reply sent with initial TTL i arrives "
                               "with i - r + 1")


class Step(_Closed):
    """A node of a forward path, as the packet arrives there."""
    node: NodeName
    address: IP | None = Field(description="the interface the packet came in on (null at the source)")
    labels: list[Annotated[int, Field(ge=-1, le=1048575)]] = Field(
        description="label stack on arrival, top first (-1: an entropy label, whose value is per flow)")
    action: Literal["source", "push", "swap", "php", "untagged", "pop-explicit-null", "ip", "deliver", "drop",
                    "swap-push"]
    time_exceeded_from: IP | None | Absent = Field(
        default=None, description="the source address of this node's time-exceeded to the vantage point")
    time_exceeded_returns: list[ReturnReply] | Absent = Field(
        default=None, description="a router with equal-cost next hops back whose time-exceeded is IP-routed: every "
                                  "reply it can send, one per return path")
    silent: str | Absent = Field(default=None, description="why this router sends nothing back when a probe expires "
                                                            "here")


class InnerTunnel(_Closed):
    head: NodeName
    tail: NodeName | None
    lsrs: list[NodeName]
    push_ttl: Literal["copy", 255] = Field(description="the head's stacked_push_ttl")
    hidden: bool = Field(description="its LSRs are absent from a plain trace")


class TruthTunnel(_Closed):
    """A tunnel to find (docs/tunnels.md): at least one LSR."""
    class_: TruthClass = Field(alias="class")
    ingress: NodeName
    egress: NodeName
    lsrs: list[NodeName] = Field(description="in path order")
    ingress_address: IP | None
    egress_address: IP | None
    lsr_addresses: list[IP | None]
    family: Literal["6pe"] | Absent = Field(default=None, description="6PE: IPv6 over the IPv4 core (absent: IPv4)")
    domain: str | None = Field(description="the MPLS domain (lab file mpls:)")
    silent: bool = Field(description="its LSRs send no time-exceeded: no traceroute signal shows them")
    ending: Literal["php", "uhp", "abrupt"]
    hidden: bool = Field(description="opaque or invisible: its LSRs are absent from a plain trace")
    notes: list[str]
    stack_depth: int = Field(ge=1, description="most labels carried inside (2: L3VPN)")
    frpla_expected: int | None = Field(description="what TNT's FRPLA should read at the egress hop")
    rtla_expected: int | None = Field(description="what TNT's RTLA should read there (null: no RTLA signature)")
    frpla_return_paths: list[int] | None | Absent = None
    rtla_return_paths: list[int] | None | Absent = None
    reveal_lsrs: list[list[NodeName]] | Absent = Field(
        default=None, description="hidden tunnels: the routers between ingress and egress on every equal-cost path "
                                  "toward the egress's address")
    reveal_from: dict[str, list[NodeName]] | Absent = Field(
        default=None, description="hidden tunnels: per address the egress can answer the probe from (one per "
        "equal-cost next hop back), the routers between ingress and egress that the first revelation trace toward "
        "it can show (not hidden in a tunnel of that trace; empty: the LSP toward that address ends at the egress "
        "itself and TNT's revelation stops with NTH-RV, tnt.md 4.3)")
    echo_unrouted: list[NodeName] | Absent = Field(
        default=None, description="LSRs with no IP route back to the prober: their echo reply is dropped")
    after_egress: str | None
    after_egress_is_destination: bool
    silent_reason: str | Absent = Field(default=None, description="why every LSR is silent")
    no_decrement: bool = Field(description="the LSP's ingress has Junos no-decrement-ttl: the cloud costs no TTL")
    inner: list[InnerTunnel] = Field(description="tunnels pushed over this one's label (LDP over RSVP)")


class Segment(_Closed):
    """A zero-LSR segment: the ingress pushes a label the next router removes (not a tunnel)."""
    ingress: NodeName
    egress: NodeName = Field(description="the router that removes the label")
    after: str | None
    domain: str | None
    ending: Literal["uhp", "abrupt"]
    seen_as: Literal["explicit-lsr", "opaque", "duplicate-ip", "nothing"]
    what: str
    notes: list[str]


class PathTruth(_Closed):
    forward: list[Step]
    tunnels: list[TruthTunnel]
    segments: list[Segment] | Absent = None
    flow_path: bool | Absent = Field(default=None, description="with ECMP and a known probe flow: the path that flow "
                                                                "takes")


class ProbeTruth(_Closed):
    """One (vantage point, destination) of the lab's probes."""
    from_: NodeName = Field(alias="from", description="the vantage point (a host)")
    from_address: IP
    to: IP
    family: Literal["ipv6"] | Absent = Field(default=None, description="a probe of probes6 (absent: IPv4)")
    to_name: str = Field(description="the node owning `to` (or the address itself)")
    ecmp: bool = Field(description="more than one equal-cost forward path")
    paths: list[PathTruth]
    return_: list[list[NodeName]] = Field(alias="return", description="the return paths (node names), destination "
                                                                      "first")


class NodeTruth(_Closed):
    kind: Literal["router", "host"]
    vendor: str
    domain: str | None
    addresses: list[IPv4]
    addresses6: list[IPv6] | Absent = None
    icmp_source: dict[str, Literal["outgoing", "probed", "incoming"]]
    behaviour: dict[str, bool | int | float | str | list[Any] | None] = Field(
        description="every vendor behaviour knob in force")
    behaviour_set: list[str] = Field(description="the knobs the lab file set")


class Truth(_Closed):
    """The ground truth: paths and tunnels per probe, identity and behaviour per node."""
    lab: str
    probes: list[ProbeTruth]
    nodes: dict[str, NodeTruth]
    probes6: list[ProbeTruth] | Absent = Field(default=None, description="6PE labs: the probes over IPv6")


# ---------------------------------------------------------------- the score
class Counts(_Closed):
    present: Count
    undetectable: Count
    detected: Count
    class_correct: Count
    ingress_correct: Count
    egress_correct: Count
    lsrs_present: Count
    lsrs_found: Count
    hidden_lsrs_present: Count
    hidden_lsrs_revealed: Count
    false_tunnels: Count
    false_lsrs: Count
    flagged_not_revealed: Count
    lsrs_other_path: Count


class Totals(Counts):
    traces: Count
    incomplete_traces: Count
    unmatched_traces: Count
    off_path_traces: Count


PerClass = dict[TruthClass, Counts]


class Verdict(_Closed):
    """The scorer's verdict on one true tunnel (or one false one): codes (outcome, wrong,
    cause) and the English beside them (verdict, reason)."""
    truth: TruthTunnel | None = Field(description="null: a false tunnel")
    reported: ReportedTunnel | None = Field(description="null: nothing reported for it")
    verdict: str = Field(pattern=VERDICT_TEXT, description="the verdict in English")
    outcome: Outcome = Field(description="the verdict as a code")
    wrong: list[Part] | Absent = Field(default=None, description="partly: the parts of a detected tunnel that are "
                                                                  "wrong")
    lsrs_missing: Count | Absent = None
    lsrs_unseeable: dict[str, str] | Absent = None
    lsrs_other_path: Count | Absent = None
    trigger: Literal["FRPLA", "RTLA", "MTTL", "DUPIP"] | Absent = Field(
        default=None, description="missed or flagged-not-revealed: the trigger that fired on the egress hop")
    cause: Cause | Absent = Field(default=None, description="the named cause of a verdict that is not correct (a "
                                                            "stable code; the English is in reason); absent: none "
                                                            "is known")
    reason: Annotated[str, Field(pattern=REASON_TEXT)] | Absent = Field(default=None,
                                                                       description="the cause code, then the English")


class TraceScore(_Closed):
    src: IPv4 | None
    dst: IPv4
    vantage_point: str
    path_index: Count = Field(description="the truth's equal-cost path the trace was scored against")
    off_path_hops: Count
    complete: bool = Field(description="the base trace reached its destination")
    stop_reason: str | None
    counts: Counts
    per_class: PerClass
    verdicts: list[Verdict]
    trace_index: Count = Field(description="the trace's index in the result's traces")


class Unmatched(_Closed):
    trace_index: Count
    src: IPv4 | None
    dst: str | None
    vantage_point: str | None
    verdict: str


class ClassSeen(_Closed):
    present: Count
    detected: Count


class Visibility(_Closed):
    """A labels-only baseline (scamper, traceroute): what it can see, and per true class what
    it could not."""
    baseline: Literal[True]
    sees: str
    per_class: dict[str, ClassSeen]
    not_visible: dict[str, Count]
    misread: dict[str, Count]


class NotProbed(_Closed):
    from_: str = Field(alias="from", description="the vantage point")
    to: IPv6
    to_name: str
    verdicts: list[Verdict]


class Score(_Closed):
    """The scorer's verdicts on a detector's traces (rules: testbed/scoring/score.py)."""
    lab: str | Absent = None
    detector: str | Absent = None
    runtime: str | None | Absent = None
    totals: Totals
    per_class: PerClass
    traces: list[TraceScore]
    unmatched: list[Unmatched]
    perfect: bool = Field(description="rule 6: every present tunnel right, nothing false, every trace complete and "
                                      "matched")
    visibility: Visibility | Absent = None
    not_probed: list[NotProbed] | Absent = Field(default=None, description="rule 7 (6PE labs): the truth's IPv6 "
                                                                            "probes no trace went to")


# ---------------------------------------------------------------- a running lab
class LabInstance(_Open):
    """A lab instance's state (`testbed status --json`; Runtime.status): its name, live status
    and runtime; each runtime adds its own keys."""
    name: str
    status: str = Field(description="up, down, orphaned, degraded, corrupt, ...")
    runtime: str | Absent = None


# ---------------------------------------------------------------- validation at the boundaries
class DocumentError(ValueError):
    """A document that does not fit its class: `where` names the field (traces[0].hops[3].address)."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


def _where(loc: tuple, prefix: str) -> str:
    out = prefix
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        elif "[" in str(p) or p in ("str", "int", "float", "bool", "none", "constrained-str", "constrained-int"):
            continue                      # a union's alternative (literal[...], function-after[...]), not a field
        else:
            out += ("." if out else "") + str(p)
    return out or "document"


def _first(e: ValidationError, prefix: str) -> DocumentError:
    errs = e.errors(include_url=False)
    # of a union's alternatives, the deepest error names the field best
    err = max(errs, key=lambda x: len(x["loc"]))
    msg = err["msg"]
    if err.get("type") == "missing":
        msg = "missing"
    elif "input" in err and err["type"] not in ("extra_forbidden",) and isinstance(err["input"], (int, float, bool)):
        msg += f" (got {err['input']!r})"
    return DocumentError(_where(err["loc"], prefix), msg)


KINDS: dict[str, type[BaseModel]] = {"trace": Trace, "result": ResultFile, "truth": Truth, "score": Score,
                                     "verdict": Verdict, "lab-instance": LabInstance}


def check(kind: str, doc: Any, where: str = "") -> Any:
    """Validate `doc` as a document of `kind` (KINDS); returns it unchanged. A misfit raises
    DocumentError naming the field."""
    try:
        KINDS[kind].model_validate(doc)
    except ValidationError as e:
        raise _first(e, where) from None
    return doc


def check_traces(traces: list, where: str = "traces") -> list:
    """Validate a parser's traces (each a Trace); returns them unchanged."""
    for i, t in enumerate(traces):
        check("trace", t, f"{where}[{i}]")
    return traces


def load(kind: str, doc: Any) -> BaseModel:
    """The typed object of a document (the scorer and tools that read fields rather than keys)."""
    try:
        return KINDS[kind].model_validate(doc)
    except ValidationError as e:
        raise _first(e, "") from None


def dump(obj: BaseModel) -> Any:
    """The JSON dict of a typed document, keys exactly as given."""
    return obj.model_dump(by_alias=True, exclude_unset=True, mode="json")


# ---------------------------------------------------------------- JSON schemas (docs/*.schema.json)
SCHEMAS: dict[str, tuple[type[BaseModel], str, str]] = {
    "result.schema.json": (ResultFile, "uTNT-lab result: a detector's traces as `testbed score` reads them",
                           "Either {\"traces\": [...]} (any other top-level keys are kept), a list of traces, or "
                           "one trace. See docs/result-format.md."),
    "truth.schema.json": (Truth, "uTNT-lab ground truth: paths and tunnels per probe, identity and behaviour per node",
                          "`testbed truth LAB --json`, testbed.ground_truth(lab).to_json(). See "
                          "docs/result-format.md and docs/tunnels.md."),
    "score.schema.json": (Score, "uTNT-lab score: a detector's traces against the ground truth",
                          "testbed.score(lab, result).to_json(); the `score` of `testbed run --json` and `testbed "
                          "score --json`. The rules: docs/result-format.md."),
    "lab-instance.schema.json": (LabInstance, "uTNT-lab lab instance: the state of a lab that is up",
                                 "`testbed status --json`: name, live status, runtime, and each runtime's own keys."),
}


def _clean(s: Any) -> Any:
    """Without pydantic's generated titles and null defaults (noise in a schema read by people)."""
    if isinstance(s, dict):
        return {k: _clean(v) for k, v in s.items()
                if not (k == "title" and isinstance(v, str)) and not (k == "default" and v is None)}
    if isinstance(s, list):
        return [_clean(v) for v in s]
    return s


def schema(name: str) -> dict:
    """The JSON schema `name` (SCHEMAS), generated from its class."""
    model, title, description = SCHEMAS[name]
    s = _clean(model.model_json_schema(by_alias=True, mode="validation"))
    s.pop("description", None)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://utnt-lab.invalid/docs/{name}", "title": title,
            "description": description + " Generated from testbed/documents (python -m testbed.documents "
                                         "--write-schemas).", **s}


def schema_text(name: str) -> str:
    import json
    return json.dumps(schema(name), indent=1) + "\n"
