"""The scoring rules: every rule that turns (truth, traces) into counts lives in this module.

Routers are compared by identity (any interface address maps to its router). Per trace:

 1. Matching. A trace is scored against the truth probe with the same vantage point and
    destination (the trace's `vantage_point`, set by the testbed, else the owner of its source
    address). A trace whose (vantage point, destination) the truth does not know is reported
    under `unmatched`, never dropped.
 2. Path. With ECMP the truth lists every equal-cost path; the trace is scored against the one
    its hops show: the most of its base-trace routers on the path, then the fewest off it, then
    the most base hops at the probe TTL the path puts their router at (its position less the
    hidden LSRs before it, _expected_ttl), then the path the trace's flow takes (`flow_path`,
    known for the testbed's seeded uTNT traces), then the most revealed hops on it (a TNT
    trace's flow is unknown: its revealed LSRs tell the equal-cost paths of a hidden tunnel
    apart), then the first. A trace with a hop on none of the listed paths (an address of no
    node of the lab included) is a finding (`off_path_traces`).
 3. Incomplete trace: a base trace that did not reach its destination (gap limit, loop,
    unreachable) is counted (`incomplete_traces`); its tunnels are still scored.
 4. Per truth tunnel on the path, the best unused reported tunnel is the one sharing most of
    the truth's LSRs and egress (the ingress alone never matches). LSRs no probe can make
    answer (their truth step is `silent`, or they sit inside a stacked LSP pushed with TTL
    255) are not LSRs to find unless found (`lsrs_unseeable`). Each verdict has an `outcome`
    code (OUTCOMES) and, when something explains it, a `cause` code (CAUSES, a stable enum)
    with the English beside it in `reason` ("code: text"):
    - correct, or partly: detected (a reported tunnel shares an LSR or the egress) with the
      parts in `wrong` (class, ingress, egress, lsrs; `lsrs_missing` LSRs to find not found);
      causes ecmp-revelation (the revealed LSRs are those of another equal-cost path,
      _revelation_reason), router-vp-ingress (a router vantage point's own tunnel),
      silent-ingress (the truth's ingress is silent and no ingress was reported),
      one-tunnel-per-trace-lsrs (only LSRs wrong, none found, and a tunnel before it in the
      same trace was revealed: TNT reveals the first tunnel that yields hops, tnt.md 4.6),
      inner-label-egress (only the egress wrong: the truth's egress received the packet with
      labels under the transport label, quoted them and was reported as an LSR, and the hop
      after it as the egress, docs/tunnels.md), egress-address-hidden (only LSRs wrong, none found, the detector's NTH-RV on the egress
      hop, and the truth's `reveal_from` shows nothing toward the address it answered from:
      the LSP toward that address ends at the egress itself, as hidden as the tunnel,
      _hidden_target);
    - undetectable: no TNT signal can see it, decided from the truth and the routers' vendor
      behaviour as the engine runs them, never from the detector (`visibility`): silent LSRs,
      an implicit tunnel with neither qTTL > 1 nor a u-turn run >= 3 (a u-turn needs an LSR
      that tunnels the probe's error: icmp_tunneling within its tunnel_scope, and answers
      echo), an invisible PHP tunnel below the thresholds, an invisible UHP tunnel ending at
      the destination's last hop. Not `present` (recall ignores it) unless detected anyway;
    - flagged-not-revealed (cause one-tunnel-per-trace): not detected, a trigger fired on its
      egress's hop (`trigger`: MTTL, RTLA, FRPLA, DUPIP, in sc_tnt's order) and a tunnel
      BEFORE it in the same trace was revealed: TNT reveals the first tunnel that yields hops
      (tnt.md 4.6). Never given on a trace where nothing was revealed;
    - missed: not detected, with the cause the trace or the truth shows, never a guess:
      trace-ended-before (the incomplete base trace stopped before the tunnel's ingress,
      _ended_before), else the detector's own stop reason on the trigger hop (uTNT's `attempts`, TNT's verbose
      `(ATTEMPT,<trigger>,NTH-RV|ING-NF|TGT-NR[,BUD])`: egress-address-hidden when the truth
      explains an NTH-RV as above, else stop-nothing-revealed,
      stop-ingress-not-found, stop-target-not-reached), else ecmp-return (the egress's
      time-exceeded read a shorter equal-cost return path, under the threshold, _miss_reason),
      else router-vp-no-revelation (a hidden tunnel whose ingress is the router vantage point
      itself: no hop before it to start a revelation from), else merged-tunnel (its LSRs or egress
      inside the reported tunnel matched with another truth tunnel, _merged), else candidate-tagged
      (the trigger's hop, or the ingress hop before it, already in another reported tunnel: sc_tnt
      queues no test there, _candidate_tagged), else with a trigger fired: silent-ingress (the truth's ingress is silent),
      destination-after-egress, or trigger-not-revealed; with no trigger and no stop reason,
      no cause: a plain `missed`, a finding.
 5. False tunnels: reported tunnels matched to no truth tunnel. False LSRs: reported LSRs that
    are not LSRs of the truth tunnel they were matched with, on-path routers included (an LSR of
    the same ingress/egress tunnel on another listed equal-cost path is counted apart, as
    `lsrs_other_path`); every LSR of a false tunnel.
 6. perfect: every present tunnel detected with class, ingress, egress and all LSRs right, and
    no false tunnel, false LSR, flagged-not-revealed, incomplete, unmatched or off-path trace.
 7. Not probed (6PE labs): the truth's IPv6 probes (`probes6`) that no trace went to are listed under
    `not_probed`, their tunnels counted `undetectable` with the reason (TNT and uTNT probe IPv4
    only, NOT_PROBED_IPV6), never as misses.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from testbed.documents import Cause, Part, check
from testbed.documents.records import (CountsRecord, FiredTrigger, HopRecord, NotProbedRecord, PathTruthRecord,
                                       ProbeTruthRecord, RunScoreRecord, TraceRecord, TraceScoreRecord, TruthRecord,
                                       TruthTunnelRecord, UnmatchedRecord, VerdictRecord)

if TYPE_CHECKING:
    from testbed.lab.model import Lab, Node

Thresholds = dict[str, int]          # TNT's trigger thresholds by name (THRESHOLDS: frpla, rtla)
Attempt = tuple[str | None, str | None, bool]      # (trigger, stop reason, buddy) of a failed revelation

CLASS_MAP = {"explicit": "EXP", "implicit": "IMP", "opaque": "OPA", "invisible-php": "INV", "invisible-uhp": "INV"}
COUNTS = ("present", "undetectable", "detected", "class_correct", "ingress_correct", "egress_correct",
          "lsrs_present", "lsrs_found", "hidden_lsrs_present", "hidden_lsrs_revealed", "false_tunnels",
          "false_lsrs", "flagged_not_revealed", "lsrs_other_path")
TRACE_COUNTS = ("traces", "incomplete_traces", "unmatched_traces", "off_path_traces")
THRESHOLDS = {"frpla": 3, "rtla": 1}      # TNT's defaults (-f 3, -r 1)
UTURN_RUN = 3                             # sc_tnt's hard-coded UTURN_SEQ_THRESHOLD (tnt.md 3.2)
NOT_PROBED_IPV6 = ("not probed: a 6PE tunnel carries IPv6 and TNT (sc_tnt, like uTNT) probes IPv4 only; the "
                   "lab's IPv4 traffic crosses the same core in a tunnel of its own (matrix LIMITS ipv4-only)")


# the causes a verdict may name (`cause`, with the English beside it in `reason`): a stable enum
CAUSES = {
    # undetectable: no TNT signal can see the tunnel (from the truth and vendor behaviour)
    "silent-lsrs": "every LSR is silent: none answers a probe whose TTL expires there",
    "implicit-no-signal": "an implicit tunnel with neither qTTL > 1 nor a u-turn run >= 3 (tnt.md 3.2)",
    "invisible-below-threshold": "an invisible PHP tunnel whose FRPLA and RTLA stay under TNT's thresholds (tnt.md 3.2)",
    "uhp-destination-after-egress": "an invisible UHP tunnel whose egress is the destination's last hop: no "
                                    "address repeats (DUPIP, tnt.md 3.2)",
    "not-probed-ipv6": "a 6PE tunnel: TNT and uTNT probe IPv4 only",
    # flagged but not revealed
    "one-tunnel-per-trace": "a trigger fired on its egress and a tunnel before it in the same trace was revealed: "
                            "TNT reveals the first tunnel that yields hops (tnt.md 4.6)",
    # missed: the detector's own stop reason (verbose dump / uTNT JSON `attempts`)
    "stop-nothing-revealed": "the revelation traces revealed nothing (NTH-RV, tnt.md 4.3)",
    "stop-ingress-not-found": "the revelation trace did not show the start point (ING-NF, tnt.md 4.3)",
    "stop-target-not-reached": "the revelation trace did not reach its target (TGT-NR, tnt.md 4.3)",
    # missed: what the trace and the truth show
    "ecmp-return": "the egress's time-exceeded came back over a shorter equal-cost return path, under the "
                   "trigger's threshold",
    "silent-ingress": "the ingress is silent: no hop of the trace names it",
    "router-vp-no-revelation": "the vantage point is the ingress router of the hidden tunnel: its trace has no hop "
                               "before the tunnel for the revelation to start from (tnt.md 3.3)",
    "destination-after-egress": "a trigger fired on the egress and the destination is the next hop",
    "trigger-not-revealed": "a trigger fired on its egress and no tunnel was reported",
    "trace-ended-before": "the base trace stopped (its stop reason: gap limit, loop, unreachable) before the "
                          "tunnel: no hop of it reached the ingress or any router after it (tnt.md 4.6)",
    "merged-tunnel": "its LSRs or egress were reported inside the tunnel matched with an earlier truth tunnel: "
                     "TNT's tags ran the two together (a UHP egress quoting qTTL > 1 is one more implicit LSR, "
                     "a <255,64> egress before labelled hops is taken for an implicit LSR; tnt.md 3.3)",
    "candidate-tagged": "the hop its trigger fired on (or the ingress hop before it) is already part of another "
                        "reported tunnel: TNT queues no revelation for a hop that is an LSR or egress already, nor "
                        "from an ingress inside an explicit or implicit tunnel (tnt.md 3.3)",
    "egress-address-hidden": "the egress answered from the address of a link it shares with no router of the "
                             "tunnel: the LSP toward that address ends at the egress itself, as hidden as the "
                             "tunnel (pipe TTL), so the revelation trace toward it shows nothing between ingress "
                             "and egress (NTH-RV, tnt.md 4.3)",
    # partly
    "inner-label-egress": "the egress pops the transport LSP's last label and routes the packet, but it received "
                          "it with a label under that one (an L3VPN's VPN label, ELI 7 + entropy label): under "
                          "uniform TTL its time-exceeded quotes that label, so TNT tags it an LSR and names the "
                          "next hop the egress (tnt.md 3; docs/tunnels.md)",
    "ecmp-revelation": "the revelation traces took another equal-cost path than the probe (tnt.md 4.3)",
    "router-vp-ingress": "the vantage point is the ingress itself, and no hop of its trace comes before the "
                         "first LSR",
    "one-tunnel-per-trace-lsrs": "detected, none of its LSRs revealed, and a tunnel before it in the same trace "
                                 "was revealed: TNT reveals the first tunnel that yields hops (tnt.md 4.6)",
}
STOP_REASONS: dict[str, Cause] = {"NTH-RV": "stop-nothing-revealed", "ING-NF": "stop-ingress-not-found",
                "TGT-NR": "stop-target-not-reached"}
OUTCOMES = ("correct", "partly", "undetectable", "flagged-not-revealed", "missed", "false-tunnel")
PARTS = ("class", "ingress", "egress", "lsrs")


def _node(lab: Lab, addr: str | None) -> str | None:
    return lab.owner_of(addr) if addr else None


def _zero(keys: Iterable[str] = COUNTS) -> Counter[str]:
    return Counter({k: 0 for k in keys})


# ---------------------------------------------------------------- visibility (truth + vendor)
def visibility(lab: Lab, t: TruthTunnelRecord, thresholds: Thresholds | None = None,
               silent: Iterable[str] | None = None) -> str | None:
    """None if some TNT signal can see the truth tunnel `t`, else the reason it cannot (the
    English of undetectable())."""
    why = undetectable(lab, t, thresholds, silent)
    return why[1] if why else None


def undetectable(lab: Lab, t: TruthTunnelRecord, thresholds: Thresholds | None = None,
                 silent: Iterable[str] | None = None) -> tuple[Cause, str] | None:
    """None if some TNT signal can see the truth tunnel `t`, else (cause code of CAUSES, the
    reason in English). Decided from the truth (class, LSRs, ending, return-path lengths) and
    the routers' vendor behaviour, never from a detector's output."""
    th = {**THRESHOLDS, **(thresholds or {})}
    if t.get("silent"):
        if t.get("silent_reason"):
            return "silent-lsrs", f"silent LSRs: {t['silent_reason']}"
        return "silent-lsrs", "silent LSRs: they drop packets whose LSE-TTL expires and never answer (Linux)"
    cls, lsrs = t["class"], t["lsrs"]
    nodes = [lab.nodes[n] for n in lsrs]
    if cls == "implicit":
        n = len(nodes)
        quiet = set(silent or ())
        pops_first = t.get("ending") == "php"

        def answers(x: Node) -> bool:
            # the engine: lse_expiry drop sends nothing, answer_time_exceeded false neither,
            # and the truth's walker marks a router whose routed reply has no way back
            return x.personality.lse_expiry != "drop" and x.personality.answer_time_exceeded and x.name not in quiet

        def pops_before_answer(i: int, x: Node) -> bool:
            return i == n and pops_first and x.personality.php_expiry == "pop-first"

        def tunnelled(x: Node) -> bool:
            # engine/router.py _lse_expired: icmp_tunneling sends the error along the LSP when
            # the probe is in its tunnel_scope (TNT probes with ICMP: all, or multi-label with
            # two labels or more; a udp scope never tunnels an ICMP probe's error)
            scope = x.personality.tunnel_scope
            return x.icmp_tunneling and (scope == "all" or (scope == "multi-label" and t.get("stack_depth", 1) >= 2))
        answering = [(i, x) for i, x in enumerate(nodes, 1) if answers(x)]
        qttl = any(i >= 2 and not pops_before_answer(i, x) for i, x in answering)
        # the u-turn is R_TE - R_ER: it needs the echo reply (answer_echo) as well
        # (truth echo_unrouted: an LSR of a BGP-free core has no route back for its echo reply)
        no_echo = set(t.get("echo_unrouted") or ())
        uturn = sum(2 * (n - i + 1) for i, x in answering
                    if tunnelled(x) and x.personality.answer_echo and x.name not in no_echo
                    and not pops_before_answer(i, x))
        if not qttl and uturn < UTURN_RUN:
            return "implicit-no-signal", (
                f"implicit tunnel of {n} LSR(s) with no TNT signal: qTTL stays 1 (the penultimate LSR "
                f"pops before answering) and the u-turn run is {uturn} < {UTURN_RUN} (tnt.md 3.2)")
        return None
    if cls == "invisible-uhp" and t.get("after_egress_is_destination") and \
            not lab.nodes[t["egress"]].personality.explicit_null_expiry:
        return "uhp-destination-after-egress", (
            "invisible UHP tunnel whose egress is the destination's last hop: the destination answers the "
            "probe the egress let through with an echo reply, so no address repeats (DUPIP, tnt.md 3.2) "
            "and no time-exceeded carries a trigger")
    if cls == "invisible-php":
        frpla, rtla = t.get("frpla_expected"), t.get("rtla_expected")
        if frpla is None:
            return None
        if frpla < th["frpla"] and (rtla or 0) < th["rtla"]:
            why = "no RTLA (egress signature is not <255,x!=255>)" if rtla is None else f"RTLA {rtla} < {th['rtla']}"
            return "invisible-below-threshold", (
                f"invisible PHP tunnel of {len(lsrs)} LSR(s) below TNT's thresholds: FRPLA {frpla} < "
                f"{th['frpla']} at its egress and {why} (tnt.md 3.2)")
    return None


# ---------------------------------------------------------------- one trace
def _hop_nodes(lab: Lab, trace: TraceRecord, revealed: bool) -> list[tuple[int | None, str | None]]:
    """(probe TTL, router) of the base trace's hops (revealed=False) or of the revealed hops;
    None for an unknown address."""
    return [(h.get("probe_ttl"), _node(lab, h["address"])) for h in trace["hops"]
            if bool(h.get("revealed")) == revealed and h.get("address")]


def _expected_ttl(path: PathTruthRecord) -> dict[str, int]:
    """node -> the probe TTL at which a probe expires there on this path: its position, less
    the hidden tunnels' LSRs before it (a pipe tunnel costs its ingress and egress only)."""
    hidden: set[str] = set()
    for t in path["tunnels"]:
        if t.get("hidden"):
            hidden |= set(t["lsrs"])
    out: dict[str, int] = {}
    k = 0
    for i, s in enumerate(path["forward"]):
        if i and s["node"] not in hidden:
            k += 1
        out.setdefault(s["node"], k)
    return out


def choose_path(lab: Lab, paths: list[PathTruthRecord], trace: TraceRecord) -> tuple[int | None, PathTruthRecord, int]:
    """(index, path, hops off it): the listed path the trace's hops show (rule 2)."""
    if not paths:
        return None, {"forward": [], "tunnels": []}, 0
    base = _hop_nodes(lab, trace, False)
    seen = [n for _, n in base]
    rev = {n for _, n in _hop_nodes(lab, trace, True)}
    src_owner = trace.get("vantage_point")

    def key(ip: tuple[int, PathTruthRecord]) -> tuple[int, int, int, bool, int, int]:
        i, p = ip
        on = {s["node"] for s in p["forward"]}
        hits = len({n for n in seen if n in on})
        off = sum(1 for n in seen if n not in on and n != src_owner)
        ttl = _expected_ttl(p)
        placed = sum(1 for k, n in base if k is not None and n is not None and ttl.get(n) == k)
        revealed = len(rev & on)
        return (hits, -off, placed, bool(p.get("flow_path")), revealed, -i)
    i, p = max(enumerate(paths), key=key)
    on = {s["node"] for s in p["forward"]}
    return i, p, sum(1 for n in seen if n not in on and n != src_owner)


def _flagged(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord, thresholds: Thresholds) -> FiredTrigger | None:
    """The trigger that fired on the hop of truth tunnel t's egress, if any (rule 4)."""
    hops = [h for h in trace["hops"] if not h.get("revealed")]
    for h in hops:
        if not h.get("address") or _node(lab, h["address"]) != t["egress"]:
            continue
        # sc_tnt's order: an opaque egress (a top LSE-TTL not in {0, 1, 255}) is an MTTL
        # candidate before any RTLA or FRPLA reading is looked at
        if any(lse.get("ttl") not in (0, 1, 255) for lse in (h.get("labels") or [])[:1]):
            return "MTTL"
        if (h.get("rtla") or 0) >= thresholds["rtla"]:
            return "RTLA"
        if (h.get("frpla") or 0) >= thresholds["frpla"]:
            return "FRPLA"
    # UHP: the egress is hidden; the hop after it appears twice
    for a, b in zip(hops, hops[1:]):
        if (t.get("ending") == "uhp" and a.get("address") and a.get("address") == b.get("address")
                and _node(lab, a["address"]) == t.get("after_egress")):
            return "DUPIP"
    return None


def _trigger_index(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> int | None:
    """Index in the trace's hops of the hop a trigger for truth tunnel t fires on: its egress's,
    or for a UHP tunnel the hop after it (the duplicated address)."""
    want = {t["egress"]} | ({t.get("after_egress")} if t.get("ending") == "uhp" else set())
    for i, h in enumerate(trace["hops"]):
        if not h.get("revealed") and h.get("address") and _node(lab, h["address"]) in want:
            return i
    return None


def _revealed_before(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> bool:
    """TNT reveals the first tunnel that yields hops and tries the next ones only while the
    earlier ones reveal nothing (tnt.md 4.6): did a tunnel before t's trigger hop yield hops?"""
    k = _trigger_index(lab, trace, t)
    if k is None:
        return False
    mine = set(t["lsrs"]) | {t["egress"]}
    return any(h.get("revealed") and h.get("address") and _node(lab, h["address"]) not in mine
               for h in trace["hops"][:k])


def _attempts(h: HopRecord) -> list[Attempt]:
    """A hop's failed revelation attempts as (trigger, stop reason, buddy): uTNT's JSON gives
    {trigger, reason, buddy}, TNT's verbose dump `(ATTEMPT,<trigger>,<reason>[,BUD])`."""
    out: list[Attempt] = []
    for a in h.get("attempts") or []:
        if isinstance(a, dict):
            out.append((a.get("trigger"), a.get("reason"), bool(a.get("buddy"))))
            continue
        parts = [x.strip() for x in str(a).strip("()").split(",")][1:]
        reason = next((x for x in parts if x in STOP_REASONS), None)
        trig = next((x for x in parts if x not in STOP_REASONS and x != "BUD"), None)
        out.append((trig, reason, "BUD" in parts))
    return out


def _stop_reason(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> tuple[str | None, str, bool] | None:
    """TNT's (or uTNT's) own stop reason for a failed revelation of truth tunnel t: the
    attempt recorded on its trigger hop (verbose dump), if any."""
    k = _trigger_index(lab, trace, t)
    if k is None:
        return None
    for trig, reason, buddy in _attempts(trace["hops"][k]):
        if reason is not None and reason in STOP_REASONS:
            return trig, reason, buddy
    return None


def _ended_before(lab: Lab, trace: TraceRecord, path: PathTruthRecord, t: TruthTunnelRecord) -> str | None:
    """The base trace's stop reason when it stopped before truth tunnel t (rule 4): the trace did
    not complete, its highest probe TTL stays under the TTL at which a probe expires at t's
    ingress (_expected_ttl), and none of its hops is the ingress or a router after it on the
    path. None otherwise."""
    stop = trace.get("stop_reason")
    last = next((h for h in reversed(trace["hops"]) if not h.get("revealed") and h.get("address")), None)
    if stop in (None, "COMPLETED") or (last and last["address"] == trace["dst"]):
        return None
    fwd = [s["node"] for s in path["forward"]]
    if t["ingress"] not in fwd:
        return None
    beyond = set(fwd[fwd.index(t["ingress"]):])
    base = [h for h in trace["hops"] if not h.get("revealed")]
    if any(h.get("address") and _node(lab, h["address"]) in beyond for h in base):
        return None
    ttls = [k for h in base if (k := h.get("probe_ttl")) is not None]
    if not ttls or max(ttls) >= _expected_ttl(path).get(t["ingress"], 0):
        return None
    return stop


def _merged(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord, used: dict[int, TruthTunnelRecord]) -> str | None:
    """Truth tunnel t's LSRs or egress inside a reported tunnel already matched with another
    truth tunnel (rule 4): the trace shows one tunnel where the truth has two."""
    core = {t["egress"], *t["lsrs"]}
    for i, o in used.items():
        u = trace["tunnels"][i]
        mine = sorted(core & {_node(lab, a) for a in [u.get("egress"), *u.get("lsrs", [])] if a})
        if mine and o is not t:
            return (f"{', '.join(mine)} reported inside the {u.get('class')} tunnel matched with the truth tunnel "
                    f"{o['ingress']}->{o['egress']}: TNT's tags ran the two together (tnt.md 3.3)")
    return None


def _candidate_tagged(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord, trig: str | None) -> str | None:
    """The hop truth tunnel t's trigger fired on, or the ingress hop before it, already in another
    reported tunnel (rule 4; tnt.md 3.3: sc_tnt queues no test for a hop that is an LSR or an
    egress already, for a DUPIP pair whose first hop is, nor from an ingress inside an explicit
    or implicit tunnel unless the hop is opaque)."""
    k = _trigger_index(lab, trace, t)
    if trig is None or k is None:
        return None
    addr = trace["hops"][k]["address"]
    for u in trace.get("tunnels", []):
        if addr == u.get("egress") or addr in (u.get("lsrs") or []):
            role = "egress" if addr == u.get("egress") else "an LSR"
            return (f"{trig} fired on {_node(lab, addr)}, which is {role} of the reported {u.get('class')} tunnel "
                    f"{_node(lab, u.get('ingress'))}->{_node(lab, u.get('egress'))}: TNT queues no revelation there "
                    "(tnt.md 3.3)")
    if trig == "MTTL":
        return None
    base = [j for j in range(k) if not trace["hops"][j].get("revealed")]
    prev = trace["hops"][base[-1]] if base else None
    if prev is not None and prev.get("address") and prev.get("probe_ttl") == (trace["hops"][k].get("probe_ttl") or 0) - 1:
        for u in trace.get("tunnels", []):
            if u.get("class") != "OPA" and prev["address"] in (u.get("lsrs") or []):
                return (f"{trig} fired on {_node(lab, addr)}; its ingress hop {_node(lab, prev['address'])} is an LSR "
                        f"of the reported {u.get('class')} tunnel: TNT starts no revelation from inside an explicit or "
                        "implicit tunnel (tnt.md 3.3)")
    return None


def _egress_hop(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> HopRecord | None:
    """The base trace's time-exceeded from truth tunnel t's egress router, if any."""
    for h in trace["hops"]:
        if not h.get("revealed") and h.get("address") and h.get("icmp_type", 11) == 11 \
                and _node(lab, h["address"]) == t["egress"]:
            return h
    return None


def _miss_reason(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord, thresholds: Thresholds) -> str | None:
    """Why a tunnel that some return path makes detectable was missed, when a named router
    behaviour explains it (rule 4), else None.

    ecmp-return: the equal-cost return paths from the egress to the vantage point differ in
    length, and the data plane hashes each reply on its own header (engine/router.py
    flow_hash: ICMP type, code and checksum, which the quoted probe changes), so the
    egress's time-exceeded may come back over a path whose length leaves FRPLA (and RTLA)
    under TNT's thresholds. The truth lists the value of every return path; the trace's
    egress hop must read one of those values below the threshold."""
    if t["class"] != "invisible-php":
        return None
    fr, rt = t.get("frpla_return_paths") or [], t.get("rtla_return_paths")
    if len(fr) < 2 and len(rt or []) < 2:
        return None
    h = _egress_hop(lab, trace, t)
    if h is None:
        return None
    got_f, got_r = h.get("frpla") or 0, h.get("rtla") or 0
    if got_f >= thresholds["frpla"] or got_r >= thresholds["rtla"]:
        return None                          # a trigger fired: not this reason
    if got_f not in fr or (rt and got_r not in rt and got_r != 0):
        return None                          # the reading matches no known return path
    vals = "/".join(str(x) for x in fr)
    return (f"the egress's equal-cost return paths give FRPLA {vals}; its time-exceeded took one "
            f"reading FRPLA {got_f} < {thresholds['frpla']}" + (f" and RTLA {got_r} < {thresholds['rtla']}" if rt else "")
            + " (each reply is hashed on its own ICMP header, engine flow_hash; tnt.md 3.2)")


def _revelation_reason(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> str | None:
    """Why LSRs of a detected hidden tunnel were not revealed, when a named TNT rule explains it.

    ecmp-revelation: TNT's revelation traces go toward the egress's (and then the revealed
    LSRs') addresses, other destinations than the probe's, hence other Paris flows and
    possibly other equal-cost paths (tnt.md 4.3): the revealed hops, in order, are exactly
    the LSRs of one equal-cost path from the ingress to the egress's address (truth
    `reveal_lsrs`) that is not the probe's."""
    if not t.get("hidden"):
        return None
    rev = [_node(lab, h["address"]) for h in trace["hops"] if h.get("revealed") and h.get("address")]
    if not rev or rev == t["lsrs"]:
        return None
    for alt in t.get("reveal_lsrs") or []:
        if alt == rev:
            return (f"the revelation traces toward the egress's address took another equal-cost "
                    f"path ({', '.join(alt)}) than the probe ({', '.join(t['lsrs'])}) (tnt.md 4.3)")
    return None


def _hidden_target(lab: Lab, trace: TraceRecord, t: TruthTunnelRecord) -> str | None:
    """Why the revelation of hidden truth tunnel t revealed nothing, when the truth shows it:
    the detector stopped on the egress hop with NTH-RV, and no trace toward the address that
    hop answered from can show a router between ingress and egress (truth `reveal_from`: the
    LSP toward that address ends at the egress itself and is as hidden as the tunnel; BRPR
    works through the address of the link the egress shares with the last LSR, tnt.md 4.3)."""
    k = _trigger_index(lab, trace, t)
    if k is None:
        return None
    h = trace["hops"][k]
    addr = h.get("address")
    if addr is None or _node(lab, addr) != t["egress"] or (t.get("reveal_from") or {}).get(addr) != []:
        return None
    stop = next(((trig, r) for trig, r, _ in _attempts(h) if r == "NTH-RV"), None)
    if stop is None:
        return None
    shared = sorted(a for a, shown in t["reveal_from"].items() if shown)
    return (f"the egress {t['egress']} answered from {addr}, and the LSP toward that address ends at the egress "
            f"itself, as hidden as the tunnel: the revelation ({stop[0] or 'brute force'}) toward it stopped with "
            "NTH-RV" + (f" (a trace toward {', '.join(shared)} shows its last LSR)" if shared else "")
            + " (tnt.md 4.3)")


def _alt_lsrs(other_paths: list[PathTruthRecord], t: TruthTunnelRecord) -> set[str]:
    """LSRs of the same (ingress, egress) tunnel on the other listed equal-cost paths."""
    alt: set[str] = set()
    for p in other_paths:
        for o in p["tunnels"]:
            if o["ingress"] == t["ingress"] and o["egress"] == t["egress"]:
                alt |= set(o["lsrs"])
    return alt


def _with_cause(v: VerdictRecord, code: Cause | None, text: str | None = None) -> VerdictRecord:
    """A verdict with its cause: the code (CAUSES) and the English beside it (`reason`)."""
    if code:
        v["cause"] = code
        v["reason"] = f"{code}: {text or CAUSES[code]}"
    return v


def _unseeable(lab: Lab, path: PathTruthRecord, t: TruthTunnelRecord) -> dict[str, str]:
    """LSRs of truth tunnel t that no probe of this trace can make answer, with why: the truth
    marks their step silent (drops an expiring label, sends no time-exceeded, or has no route
    back for a routed reply), or they sit inside an LSP stacked with TTL 255 (LDP over RSVP
    with a Junos head: the probe's TTL never expires there)."""
    out: dict[str, str] = {}
    steps = {s["node"]: s for s in path["forward"]}
    for n in t["lsrs"]:
        st = steps.get(n)
        if st is not None and st.get("silent"):
            out[n] = f"silent: {st['silent']}"
    for inner in t.get("inner") or []:
        if inner.get("hidden"):
            for n in inner["lsrs"]:
                out.setdefault(n, f"inside {inner['head']}'s stacked LSP toward {inner['tail']} "
                                  f"(TTL {inner['push_ttl']}): the probe's TTL never expires there")
    return out


def score_trace(lab: Lab, truth_probe: ProbeTruthRecord, trace: TraceRecord,
                thresholds: Thresholds | None = None) -> TraceScoreRecord:
    """truth_probe: one entry of ground_truth()['probes']; trace: one uTNT JSON trace."""
    th = {**THRESHOLDS, **(thresholds or {})}
    pi, path, off = choose_path(lab, truth_probe["paths"], trace)
    others = [p for j, p in enumerate(truth_probe["paths"]) if j != pi]
    truth = path["tunnels"]
    quiet = {s["node"] for s in path["forward"] if s.get("silent")}
    reported = trace.get("tunnels", [])
    c = _zero()
    per_class: dict[str, Counter[str]] = {}
    verdicts: list[VerdictRecord] = []
    used: dict[int, TruthTunnelRecord] = {}            # reported index -> truth tunnel it matched
    for t in truth:
        cls = t["class"]
        pc = per_class.setdefault(cls, _zero())
        core = {t["egress"], *t["lsrs"]}
        best_i, best_ov = None, 0
        for i, u in enumerate(reported):
            if i in used:
                continue
            mem = {_node(lab, a) for a in [u.get("egress"), *u.get("lsrs", [])] if a}
            ov = len(mem & core)
            if ov > best_ov:
                best_i, best_ov = i, ov
        blind = undetectable(lab, t, th, quiet)
        if best_i is None and blind:
            code, why_not = blind
            for cc in (c, pc):
                cc["undetectable"] += 1
            verdicts.append(_with_cause({"truth": t, "reported": None, "verdict": f"undetectable: {why_not}",
                                         "outcome": "undetectable"}, code, why_not))
            continue
        found = {_node(lab, a) for a in (reported[best_i].get("lsrs", []) if best_i is not None else []) if a}
        # LSRs no probe can make answer are not LSRs to find, unless found anyway
        unseen = {n: w for n, w in _unseeable(lab, path, t).items() if n not in found}
        to_find = [n for n in t["lsrs"] if n not in unseen]
        for cc in (c, pc):
            cc["present"] += 1
            cc["lsrs_present"] += len(to_find)
            if t["hidden"]:
                cc["hidden_lsrs_present"] += len(to_find)
        if best_i is None:
            trig = _flagged(lab, trace, t, th)
            if trig and _revealed_before(lab, trace, t):
                for cc in (c, pc):
                    cc["flagged_not_revealed"] += 1
                verdicts.append(_with_cause(
                    {"truth": t, "reported": None, "outcome": "flagged-not-revealed", "trigger": trig,
                     "verdict": f"flagged but not revealed ({trig} on its egress; TNT reveals one "
                                "tunnel per trace, tnt.md 4.6)"},
                    "one-tunnel-per-trace", f"{trig} fired on its egress, and a tunnel before it in the same trace "
                                            "was revealed: TNT reveals the first tunnel that yields hops (tnt.md 4.6)"))
                continue
            v: VerdictRecord = {"truth": t, "reported": None, "verdict": "missed", "outcome": "missed"}
            if trig:
                v["trigger"] = trig
            stop = _stop_reason(lab, trace, t)
            ecmp = _miss_reason(lab, trace, t, th)
            ing = next((s for s in path["forward"] if s["node"] == t["ingress"]), None)
            ended = None if trig else _ended_before(lab, trace, path, t)
            merged = _merged(lab, trace, t, used)
            tagged = _candidate_tagged(lab, trace, t, trig) if not stop else None
            if ended:
                top = max(k for h in trace["hops"] if not h.get("revealed") and (k := h.get("probe_ttl")) is not None)
                _with_cause(v, "trace-ended-before", f"the base trace stopped ({ended}) at probe TTL {top}, "
                                                     f"before the ingress {t['ingress']}: no hop of it reached the tunnel")
            elif stop and _hidden_target(lab, trace, t):
                _with_cause(v, "egress-address-hidden", _hidden_target(lab, trace, t))
            elif stop:
                code = STOP_REASONS[stop[1]]
                _with_cause(v, code, f"the detector's attempt ({stop[0] or 'brute force'}{', buddy' if stop[2] else ''}) "
                                     f"on the trigger hop stopped with {stop[1]}: {CAUSES[code]}")
            elif ecmp:
                _with_cause(v, "ecmp-return", ecmp)
            elif t.get("hidden") and t["ingress"] == truth_probe["from"]:
                _with_cause(v, "router-vp-no-revelation")
            elif merged:
                _with_cause(v, "merged-tunnel", merged)
            elif tagged:
                _with_cause(v, "candidate-tagged", tagged)
            elif trig and ing is not None and ing.get("silent"):
                _with_cause(v, "silent-ingress", f"{trig} fired on its egress; the ingress {t['ingress']} is silent "
                                                 f"({ing['silent']}), so the revelation has no ingress to start from")
            elif trig and t.get("hidden") and t.get("after_egress_is_destination"):
                _with_cause(v, "destination-after-egress", f"{trig} fired on its egress {t['egress']}; the "
                                                           "destination is the next hop")
            elif trig:
                _with_cause(v, "trigger-not-revealed", f"{trig} fired on its egress and no tunnel was reported")
            verdicts.append(v)
            continue
        best = reported[best_i]
        used[best_i] = t
        ok: dict[Part, bool] = {
            "class": CLASS_MAP.get(cls) == best["class"],
            "ingress": _node(lab, best.get("ingress")) == t["ingress"],
            "egress": _node(lab, best.get("egress")) == t["egress"],
        }
        lsrs_found = len(found & set(t["lsrs"]))
        missing = len(to_find) - len(found & set(to_find))
        for cc in (c, pc):
            cc["detected"] += 1
            cc["class_correct"] += ok["class"]
            cc["ingress_correct"] += ok["ingress"]
            cc["egress_correct"] += ok["egress"]
            cc["lsrs_found"] += lsrs_found
            if t["hidden"]:
                cc["hidden_lsrs_revealed"] += lsrs_found
        wrong = [k for k, v in ok.items() if not v]
        text: list[str] = list(wrong)
        if missing:
            wrong.append("lsrs")
            text.append(f"{missing} LSR(s) not found")
        alt = _alt_lsrs(others, t)
        v = {"truth": t, "reported": best, "verdict": "correct" if not wrong else "partly: " + ", ".join(text),
             "outcome": "correct" if not wrong else "partly", "wrong": wrong, "lsrs_missing": missing,
             "lsrs_other_path": len((found - set(t["lsrs"])) & alt)}
        if unseen:
            v["lsrs_unseeable"] = unseen
        why = _revelation_reason(lab, trace, t) if missing else None
        ing = next((s for s in path["forward"] if s["node"] == t["ingress"]), None)
        hidden_target = _hidden_target(lab, trace, t) if wrong == ["lsrs"] and not found and \
            missing == len(to_find) else None
        if why:
            _with_cause(v, "ecmp-revelation", why)
        elif hidden_target:
            _with_cause(v, "egress-address-hidden", hidden_target)
        elif wrong == ["lsrs"] and t.get("hidden") and not found and missing == len(to_find) \
                and _revealed_before(lab, trace, t):
            # TNT reveals the first tunnel that yields hops (tnt.md 4.6): this one was detected,
            # an earlier one of the same trace was revealed, so none of its LSRs was looked for
            _with_cause(v, "one-tunnel-per-trace-lsrs", f"{best.get('trigger') or 'a trigger'} detected it, and a "
                                                        "tunnel before it in the same trace was revealed: TNT reveals "
                                                        "the first tunnel that yields hops (tnt.md 4.6)")
        elif wrong == ["egress"] and t.get("stack_depth", 1) > 1 and t["egress"] in found and \
                _node(lab, best.get("egress")) == t.get("after_egress"):
            _with_cause(v, "inner-label-egress", f"{t['egress']} received the packet with {t['stack_depth'] - 1} "
                                                 f"label(s) under the transport label and quoted them: TNT tags it "
                                                 f"an LSR and names the next hop, {t['after_egress']}, the egress "
                                                 "(tnt.md 3)")
        elif wrong == ["ingress"] and t["ingress"] == truth_probe["from"] and not best.get("ingress"):
            # a router vantage point that is the tunnel's ingress: its trace starts at the first
            # LSR, so no hop can name the ingress and TNT reports none (tnt.md 3)
            _with_cause(v, "router-vp-ingress")
        elif wrong == ["ingress"] and ing is not None and ing.get("silent") and not best.get("ingress"):
            _with_cause(v, "silent-ingress", f"the ingress {t['ingress']} is silent ({ing['silent']}): no hop "
                                             "of the trace can name it")
        verdicts.append(v)
    for i, u in enumerate(reported):
        if i not in used:
            c["false_tunnels"] += 1
            verdicts.append({"truth": None, "reported": u, "verdict": "false tunnel", "outcome": "false-tunnel"})
    # false LSRs (rule 5): any reported LSR that is not an LSR of the truth tunnel it matched
    for i, u in enumerate(reported):
        m = used.get(i)
        true_lsrs = set(m["lsrs"]) if m else set()
        alt = _alt_lsrs(others, m) if m else set()
        for a in u.get("lsrs", []):
            if not a:
                continue
            n = _node(lab, a)
            if n in true_lsrs:
                continue
            if n in alt:
                c["lsrs_other_path"] += 1
            else:
                c["false_lsrs"] += 1
    last = next((h for h in reversed(trace["hops"]) if not h.get("revealed") and h.get("address")), None)
    complete = trace.get("stop_reason") == "COMPLETED" or bool(last and last["address"] == trace["dst"])
    return {"src": trace["src"], "dst": trace["dst"], "vantage_point": truth_probe["from"],
            "path_index": pi, "off_path_hops": off, "complete": complete,
            "stop_reason": trace.get("stop_reason"), "counts": dict(c),
            "per_class": {k: dict(v) for k, v in per_class.items()}, "verdicts": verdicts}


# ---------------------------------------------------------------- a run
def _vantage_point(lab: Lab, truth: TruthRecord, trace: TraceRecord) -> str | None:
    vp = trace.get("vantage_point")
    if vp:
        return vp
    owner = _node(lab, trace.get("src"))
    if owner:
        return owner
    # a prober with its own address (netns tap): the only vantage point probing this destination
    cands = {p["from"] for p in truth["probes"] if p["to"] == trace["dst"]}
    return cands.pop() if len(cands) == 1 else None


def is_perfect(total: Counter[str] | CountsRecord) -> bool:
    """Rule 6."""
    return (total["detected"] == total["present"] == total["class_correct"] == total["ingress_correct"]
            == total["egress_correct"] and total["lsrs_found"] == total["lsrs_present"]
            and total["false_tunnels"] == 0 and total["false_lsrs"] == 0 and total["flagged_not_revealed"] == 0
            and total["incomplete_traces"] == 0 and total["unmatched_traces"] == 0
            and total["off_path_traces"] == 0)


def score_run(lab: Lab, truth: TruthRecord, traces: list[TraceRecord], thresholds: Thresholds | None = None) -> RunScoreRecord:
    """Score every trace against the truth probe with the same (vantage point, destination).

    Returns {"totals", "per_class", "traces" (one per trace, with its `trace_index`),
    "unmatched" (traces the truth has no probe for), "perfect"}."""
    by_key: dict[tuple[str | None, str], ProbeTruthRecord] = {(p["from"], p["to"]): p for p in truth["probes"]}
    scored: list[TraceScoreRecord] = []
    unmatched: list[UnmatchedRecord] = []
    total = _zero(COUNTS + TRACE_COUNTS)
    per_class: dict[str, Counter[str]] = {}
    for ti, tr in enumerate(traces):
        total["traces"] += 1
        vp = _vantage_point(lab, truth, tr)
        tp = by_key.get((vp, tr["dst"]))
        if tp is None:
            total["unmatched_traces"] += 1
            unmatched.append({"trace_index": ti, "src": tr.get("src"), "dst": tr.get("dst"), "vantage_point": vp,
                              "verdict": f"no truth for vantage point {vp or '?'} and destination {tr.get('dst')}"})
            continue
        s = score_trace(lab, tp, tr, thresholds)
        s["trace_index"] = ti
        scored.append(s)
        total.update(s["counts"])
        total["incomplete_traces"] += not s["complete"]
        total["off_path_traces"] += s["off_path_hops"] > 0
        for k, v in s["per_class"].items():
            per_class.setdefault(k, _zero()).update(v)
    probed = {tr.get("dst") for tr in traces}
    not_probed: list[NotProbedRecord] = []
    for p in truth.get("probes6", []):
        if p["to"] in probed:
            continue
        tunnels = p["paths"][0]["tunnels"] if p["paths"] else []
        for t in tunnels:
            total["undetectable"] += 1
            per_class.setdefault(t["class"], _zero())["undetectable"] += 1
        not_probed.append({"from": p["from"], "to": p["to"], "to_name": p["to_name"],
                           "verdicts": [{"truth": t, "reported": None, "verdict": f"undetectable: {NOT_PROBED_IPV6}",
                                         "outcome": "undetectable", "cause": "not-probed-ipv6",
                                         "reason": f"not-probed-ipv6: {NOT_PROBED_IPV6}"}
                                        for t in tunnels]})
    out: RunScoreRecord = {"totals": dict(total), "per_class": {k: dict(v) for k, v in per_class.items()},
           "traces": scored, "unmatched": unmatched, "perfect": is_perfect(total)}
    if not_probed:
        out["not_probed"] = not_probed
    check("score", out)                 # the Score document (testbed/documents); unchanged
    return out
