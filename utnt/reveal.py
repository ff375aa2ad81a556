"""Revelation of invisible and opaque tunnels: DPR, BRPR and the buddy technique.

Driven through the abstract :class:`Prober`; see tnt.md 4.2-4.4 and 4.6.

One test (a :class:`~utnt.detect.Candidate`) runs like this (:func:`run_test`):

* trace (``-m`` method, first TTL = start TTL) to the current target, first the "next"
  hop H;
* the start point must appear (else ``ING-NF``), then the target (else ``TGT-NR``);
* the hops strictly between the start point -- or the unresponsive ingress after it --
  and the target are new LSRs: 1 hop is ``BRPR``, more than 2 ``DPR``, exactly 2 ``DPR``
  unless both have the same address (``BRPR``);
* the new hop closest to the ingress becomes the next target and the step counter
  increments; the loop stops on a trace revealing nothing (``NTH-RV`` when it is the
  first), on ``TGT-NR``/``ING-NF``, or when the new target is silent, reserved or already
  in the LSP (loop avoidance).  The last three, and ``TGT-NR``/``ING-NF`` after some hops
  were found, mark the tunnel ``INCOMP?`` (the tag of its ingress hop only, as TNT prints it);
* a tunnel reduced to one LSR is relabelled ``UNKN`` (DPR and BRPR cannot be told apart);
* DUPIP tests fall back on the buddy technique (tnt.md 4.4) and their egress is the last
  revealed hop.

Only the first productive test of a trace is applied (:func:`reveal_trace`), results are
cached by (start, next) across traces, failures are kept as ``ATTEMPT`` annotations.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .detect import Candidate
from .model import (
    BRPR, BTFC, BUDDY, DPR, DUPIP, ING_NF, INV, LSR, METHOD_UDP_PARIS, MTTL, NTH_RV, OPA,
    STOP_LOOP, STOP_MAXSTEP, STOP_RSVD, STOP_UNRESP, TGT_NR, UNKN,
    Attempt, Hop, MplsTag, Trace, Tunnel,
)
from .options import TntOptions
from .reserved import is_reserved

MAX_STEPS = 64
"""Safety net on the number of revelation steps of one test (never reached on sane paths)."""


@runtime_checkable
class Prober(Protocol):
    """What the detector needs from the network.

    ``trace`` runs a Paris traceroute (scamper ``trace -f first_ttl -P method -w 1 -q 3
    -g 5``, tnt.md 4.6) and returns one :class:`~utnt.model.Trace` whose hops start at
    ``first_ttl``, one :class:`~utnt.model.Hop` per TTL (``Hop.silent`` for ``*``), with
    ``probe_count`` set to the probes it sent (None: the driver estimates it).  ``method``
    is ``'icmp-paris'`` or ``'udp-paris'``.

    ``ping`` sends ``ping -P icmp-echo -c N`` (N = ``TntOptions.ping_count``, configured in
    the prober) and returns the most frequent echo-reply TTL, ties to the higher one
    (:func:`utnt.ttl.most_frequent_ttl`), or None when nothing answered.
    """

    def trace(self, dst: str, first_ttl: int, method: str) -> Trace: ...
    # a prober may say `fresh_traces = True`: each trace it returns is a new object nobody else
    # holds, which the driver then marks up in place instead of copying

    def ping(self, addr: str) -> int | None: ...


def estimate_trace_probes(trace: Trace) -> int:
    """Cost model of tnt.md 4.6: 1 probe per responding hop, 3 per silent hop."""
    return sum(1 if h.responsive else 3 for h in trace.hops)


class Session:
    """State shared by all traces of one run: prober, options, ping cache, tunnel cache.

    * ``ping_cache``: address -> echo-reply TTL (None = no answer); every address is pinged
      at most once per run, reserved ones never (tnt.md 3.4, 5.2).
    * ``tunnel_cache``: (start, next) -> :class:`RevealResult` (tnt.md 4.6).
    * ``probes``: every probe sent through this session.
    """

    def __init__(self, prober: Prober, options: TntOptions | None = None) -> None:
        self.prober = prober
        self.options = options or TntOptions()
        self.ping_cache: dict[str, int | None] = {}
        self.tunnel_cache: dict[tuple[str, str], RevealResult] = {}
        self.buddy_cache: dict[str, str] = {}
        self.probes = 0

    def reserved(self, addr: str) -> bool:
        return is_reserved(addr, allow_private=self.options.allow_private)

    def trace(self, dst: str, first_ttl: int, method: str) -> Trace:
        """Run one trace; mark reserved hops; make sure ``probe_count`` is set."""
        tr = self.prober.trace(dst, first_ttl, method)
        if not getattr(self.prober, "fresh_traces", False):
            tr = copy.deepcopy(tr)            # a prober's trace may be its own (kept, replayed): copy it
        for h in tr.hops:
            h.reserved = h.address is not None and self.reserved(h.address)     # responsive and reserved
        if tr.probe_count is None:
            tr.probe_count = estimate_trace_probes(tr)
        self.probes += tr.probe_count
        return tr

    def ping(self, addr: str) -> tuple[int | None, int]:
        """(echo-reply TTL or None, probes spent now).  Cached; reserved never pinged."""
        if self.reserved(addr):
            return None, 0
        if addr in self.ping_cache:
            return self.ping_cache[addr], 0
        ttl = self.prober.ping(addr)
        self.ping_cache[addr] = ttl
        self.probes += self.options.ping_count
        return ttl, self.options.ping_count


@dataclass
class RevealResult:
    """Outcome of one test, as cached by (start, next).

    ``revealed`` holds (hop, technique, step) from ingress side to egress side.
    """

    revealed: list[tuple[Hop, str, int]] = field(default_factory=list)
    stop_reason: str | None = None
    incomplete: bool = False
    buddy: bool = False
    probe_count: int = 0
    attempt: Attempt | None = None      # the last trace's stop reason, TNT's verbose ATTEMPT

    @property
    def productive(self) -> bool:
        return bool(self.revealed)

    @property
    def steps(self) -> int:
        return max((s for _, _, s in self.revealed), default=0)


# ------------------------------------------------------------------------------------------
# pure pieces
# ------------------------------------------------------------------------------------------

def classify_technique(new_hops: list[Hop]) -> str:
    """Technique of the hops one trace revealed (tnt.md 4.3).

    1 hop -> BRPR; more than 2 -> DPR; exactly 2 -> DPR unless both carry the same address,
    then BRPR.
    """
    if len(new_hops) == 1:
        return BRPR
    if len(new_hops) == 2:
        a, b = new_hops
        if a.responsive and a.address == b.address:
            return BRPR
    return DPR


def buddy_address(addr: str, answers: Callable[[str], bool]) -> str:
    """The other end of the point-to-point link of ``addr`` (tnt.md 4.4, step 1).

    Position in the /30: 0 -> /31, buddy at 1; 3 -> /31, buddy at 2.  Positions 1 and 2:
    ``answers(position 0)`` decides -- an answer means the link is a /31 (1 <-> 0, 2 <-> 3),
    silence a /30 (1 <-> 2).  ``answers`` is only called for positions 1 and 2.
    """
    ip = int(ipaddress.IPv4Address(addr))
    base, pos = ip & ~3, ip & 3
    if pos == 0:
        return str(ipaddress.IPv4Address(base + 1))
    if pos == 3:
        return str(ipaddress.IPv4Address(base + 2))
    if answers(str(ipaddress.IPv4Address(base))):
        other = base if pos == 1 else base + 3
    else:
        other = base + 2 if pos == 1 else base + 1
    return str(ipaddress.IPv4Address(other))


REV_NEW = "NEW"
"""examine() outcome: new hops (the other outcomes are NTH_RV, ING_NF and TGT_NR)."""


def examine(trace: Trace, start: str, target: str, ingress_null: bool) -> str | list[Hop]:
    """Check a direct revelation trace (tnt.md 4.3); return a stop reason or the new hops.

    As TNT reads it (sc_tnt.c ``scamper_trace_revealed_lsrs_get``): the trace's last hop
    must be the target (else ``TGT-NR``, checked first); the start point's first
    appearance -- its second copy when it appears twice in a row -- must be there (else
    ``ING-NF``); the hop after it is skipped when the ingress is unresponsive; the hops
    strictly between that point and the last hop are new (silent ones included).  An
    empty list means nothing new (``NTH-RV``).
    """
    hops = trace.hops
    if not hops or not hops[-1].responsive or hops[-1].address != target:
        return TGT_NR
    s = next((k for k, h in enumerate(hops) if h.responsive and h.address == start), None)
    if s is None:
        return ING_NF
    if s + 1 < len(hops) and hops[s + 1].responsive and hops[s + 1].address == start:
        s += 1
    if ingress_null:
        s += 1
    if s >= len(hops) - 2:
        return []
    return [copy.deepcopy(h) for h in hops[s + 1:len(hops) - 1]]


def examine_buddy(trace: Trace, start: str, buddy: str, dup: str,
                  ingress_null: bool) -> str | list[Hop]:
    """Check a buddy trace (tnt.md 4.4); return a stop reason or the one revealed hop.

    The last hop must be a port-unreachable (else ``TGT-NR``); its source must not be the
    start point (``NTH-RV``); the start point must be second-to-last, third-to-last when
    the ingress is unresponsive, with at least 3 (4) hops in the trace (else ``ING-NF``);
    a port-unreachable from the probed buddy or the duplicated address reveals nothing
    (``NTH-RV``); any other source is the hidden egress (sc_tnt.c 3002-3050).
    """
    hops = trace.hops
    if not hops or not hops[-1].responsive or not hops[-1].is_port_unreachable:
        return TGT_NR
    last = hops[-1]
    if last.address == start:
        return NTH_RV
    back = 3 if ingress_null else 2
    if len(hops) - 1 < back or not hops[-back].responsive or hops[-back].address != start:
        return ING_NF
    if last.address in (buddy, dup):
        return NTH_RV
    return [copy.deepcopy(last)]


# ------------------------------------------------------------------------------------------
# one test
# ------------------------------------------------------------------------------------------

def _buddy_of(target: str, session: Session) -> tuple[str, int]:
    """The buddy of ``target`` (cached per run, as TNT's buddy tree) and the probes spent."""
    hit = session.buddy_cache.get(target)
    if hit is not None:
        return hit, 0
    cost = 0

    def answers(a: str) -> bool:
        nonlocal cost
        cost += session.options.ping_count
        session.probes += session.options.ping_count
        return session.prober.ping(a) is not None

    b = buddy_address(target, answers)
    session.buddy_cache[target] = b
    return b, cost


def run_test(c: Candidate, session: Session) -> RevealResult:
    """Run one revelation test to its end (tnt.md 4.3, 4.4), TNT's state machine.

    Direct traces use the ``-m`` method.  After new hops the target becomes the new hop
    nearest the ingress, unless it is silent, reserved or already revealed (the tunnel is
    then ``INCOMP?``).  A DUPIP test whose direct trace reveals nothing (or fails) traces
    the target's buddy with UDP-Paris; a buddy trace that reveals nothing ends the test,
    a productive one makes its hop the next target and the loop goes on (buddy again
    after the next empty direct trace).  The stop reason of the last trace is recorded
    with ``BUD`` when that trace was a buddy trace; on a productive test it annotates the
    revealed hop nearest the ingress, on a failed one the first copy of H.
    """
    opts = session.options
    start, dup = c.key                      # the start point's and H's addresses
    target = dup
    res = RevealResult()
    revealed: list[tuple[Hop, str, int]] = []
    step = 1
    buddy_mode = False          # the next/last trace is a buddy trace
    buddy_tried = False         # the buddy of the current target was traced
    reason = None
    while True:
        if step > MAX_STEPS:
            res.stop_reason, res.incomplete = STOP_MAXSTEP, True
            break
        method = METHOD_UDP_PARIS if buddy_mode else opts.method
        tr = session.trace(target, c.start_ttl, method)
        assert tr.probe_count is not None   # Session.trace sets it
        res.probe_count += tr.probe_count
        if buddy_mode:
            res.buddy = True
            out = examine_buddy(tr, start, target, dup, c.ingress_null)
        else:
            out = examine(tr, start, target, c.ingress_null)
        if isinstance(out, list) and out:
            tech = BUDDY if buddy_mode else classify_technique(out)
            nxt = out[0]
            known = {h.address for h, _, _ in revealed if h.responsive}
            revealed = [(h, tech, step) for h in out] + revealed
            step += 1
            buddy_mode = buddy_tried = False
            if not nxt.responsive:
                res.stop_reason, res.incomplete = STOP_UNRESP, True
                break
            if nxt.reserved:
                res.stop_reason, res.incomplete = STOP_RSVD, True
                break
            if nxt.address in known:
                res.stop_reason, res.incomplete = STOP_LOOP, True
                break
            assert nxt.address is not None  # responsive
            target = nxt.address
            continue
        reason = out if isinstance(out, str) else NTH_RV
        if c.trigger == DUPIP and not buddy_tried:
            cost = 0
            target, cost = _buddy_of(target, session)
            res.probe_count += cost
            buddy_mode = buddy_tried = True
            continue
        if revealed and reason != NTH_RV and not buddy_tried:
            res.incomplete = True
        res.stop_reason = reason
        res.attempt = Attempt(None if c.trigger == BTFC and not revealed else c.trigger, reason,
                              buddy_mode)
        break
    if len(revealed) == 1 and revealed[0][1] != BUDDY:
        revealed = [(h, UNKN, s) for h, _, s in revealed]
    res.revealed = revealed
    return res


# ------------------------------------------------------------------------------------------
# applying results to a trace
# ------------------------------------------------------------------------------------------

def _overall_technique(techs: list[str]) -> str | None:
    distinct = sorted(set(techs))
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else "MIX"


def _find_opaque_tunnel(trace: Trace, eh: Hop) -> Tunnel | None:
    return next((t for t in trace.tunnels
                 if t.cls == OPA and any(m is eh for m in t.members)), None)


def renumber(trace: Trace) -> None:
    """Number the hops as sc_tnt prints them, and set every hop's position-based ``tnt_ttl``.

    sc_tnt numbers while it prints, with a counter k (from the first TTL) for the hops it
    shows as numbers and a counter for the H hops of the tunnel it is in (tnt.md 5.5):

    * a revealed responsive hop is ``H<n>``;
    * a silent hop is ``H<n>`` inside an invisible tunnel (after an INV ingress, an INV LSR or
      the silent ingress after a start point) and ``k`` anywhere else -- so a silent hop an
      opaque tunnel's revelation found is ``k`` and shifts the numbers after it by one;
    * any other hop is ``k``; an INV-tagged one (other than an egress closing H hops) opens or
      continues the H numbering, every other hop closes it.
    """
    base = trace.hops[0].probe_ttl if trace.hops and trace.hops[0].probe_ttl else trace.start_ttl
    k = trace.start_ttl or base
    h_n = 0                    # sc_tnt's `inv`: 0 outside an invisible tunnel, else the next H number
    after_start = False        # the last numbered hop was the start point before a silent ingress
    for pos, h in enumerate(trace.hops):
        h.tnt_ttl = base + pos
        if not h.responsive:
            if h_n == 0:
                h.index, h.shown_h, k = k, False, k + 1
                if after_start:
                    h_n, after_start = 1, False
            else:
                h.index, h.shown_h, h_n = h_n, True, h_n + 1
            continue
        if h.revealed:
            h_n = max(h_n, 1)
            h.index, h.shown_h, h_n = h_n, True, h_n + 1
            continue
        if h.before_silent_ingress:
            after_start = True
        m = h.mpls
        if m is not None and m.inv and (not m.lsr or not m.imp) and (not m.egr or h_n == 0):
            h_n += 1
        else:
            h_n = 0
        h.index, h.shown_h, k = k, False, k + 1


def apply_result(trace: Trace, c: Candidate, res: RevealResult, cached: bool) -> Tunnel:
    """Insert the revealed hops before H (or before the duplicate pair) and tag the tunnel.

    Tags (sc_tnt.c sc_tnt_test_tunnel_add): the start point is the ingress (unless the
    ingress was unresponsive), revealed hops are LSRs, H is the egress -- except for DUPIP,
    whose egress is the last revealed hop (tnt.md 4.4).  Class ``OPA`` for MTTL tests,
    ``INV`` otherwise, and the test's trigger: added to the flags the ingress and egress
    already have (an explicit tunnel's egress that starts an invisible one is
    ``[MPLS,EXP,INV,EGR,ING,FRPLA]``).
    """
    cls = OPA if c.trigger == MTTL else INV
    trig = None if c.trigger == BTFC else c.trigger

    def add(m: MplsTag) -> None:
        # sc_tnt.c scamper_trace_hop_disc_trig_mflags_set + tunnel_type_mflag_set: OR-ed in
        if trig:
            m.triggers.add(trig)
        if cls == OPA:
            m.opa = True
        else:
            m.inv = True

    new = []
    for h, tech, step in res.revealed:
        h = copy.deepcopy(h)
        h.revealed = True
        h.attempts = []
        # INCOMP? goes on the ingress alone: sc_tnt sets its incomplete flag on the ingress
        # hop when it rebuilds the trace, never on a revealed LSR or the egress
        h.mpls = MplsTag(None, LSR, None, tech, step, revealed=True)
        add(h.mpls)
        new.append(h)
    if new and new[0].responsive and res.attempt is not None:
        new[0].attempts = [res.attempt]     # TNT: stop reason on the LSP's first hop
    if c.trigger == DUPIP:
        egress: Hop | None = new[-1]
        assert egress is not None and egress.mpls is not None     # revealed: tagged just above
        egress.mpls.lsr = False             # sc_tnt's lsr_mask: the last revealed hop is the egress
        egress.mpls.egr = True
        lsrs = new[:-1]
    else:
        egress = c.next
        lsrs = new
        if egress.mpls is None:
            egress.mpls = MplsTag()
        add(egress.mpls)
        egress.mpls.egr = True
    ingress = None
    if c.ingress_null and new:
        c.start.before_silent_ingress = True
    if not c.ingress_null:
        sp = c.start
        if sp.mpls is None:
            sp.mpls = MplsTag()
        add(sp.mpls)
        sp.mpls.ing = True
        if res.incomplete:
            sp.mpls.incomplete = True
        ingress = sp
    trace.hops[c.insert_pos:c.insert_pos] = new
    renumber(trace)

    fields: dict[str, Any] = dict(
        lsrs=[h.address for h in lsrs],
        technique=_overall_technique([t for _, t, _ in res.revealed]),
        complete=not res.incomplete, stop_reason=res.stop_reason,
        start_point=c.start.address, next_hop=c.next.address, ingress_null=c.ingress_null,
        buddy=res.buddy, steps=res.steps, probe_count=0 if cached else res.probe_count,
        cached=cached, members=([ingress] if ingress else []) + new
        + ([c.next] if c.trigger != DUPIP else []),
    )
    tunnel = _find_opaque_tunnel(trace, c.next) if cls == OPA else None
    if tunnel is None:
        tunnel = Tunnel(cls=cls, ingress=ingress.address if ingress else None,
                        egress=egress.address if egress else None, trigger=c.trigger, **fields)
        trace.tunnels.append(tunnel)
    else:
        for k, v in fields.items():
            setattr(tunnel, k, v)
        tunnel.ingress = ingress.address if ingress else tunnel.ingress
    return tunnel


def _record_failure(trace: Trace, c: Candidate, res: RevealResult, cached: bool) -> None:
    # TNT sets the failure on the first hop after the start point carrying H's address:
    # for DUPIP the first copy (sc_tnt.c sc_trace_tunnel_fail_mflags_set); one per hop
    at = next((h for h in trace.hops[c.start_pos + 1:] if h.responsive and h.address == c.next.address),
              c.next)
    if res.attempt is not None:
        at.attempts = [res.attempt]
    if c.trigger == MTTL:
        t = _find_opaque_tunnel(trace, c.next)
        if t is not None:
            t.stop_reason = res.stop_reason
            t.start_point, t.ingress_null, t.buddy = c.start.address, c.ingress_null, res.buddy
            if not cached:
                t.probe_count += res.probe_count


def reveal_trace(trace: Trace, candidates: list[Candidate], session: Session) -> Tunnel | None:
    """Try the candidates in order until one reveals hops (tnt.md 4.6 "Scope").

    Each test's result comes from the session's tunnel cache when (start, next) was tested
    before, otherwise it is run and cached.  Unproductive tests leave an ``ATTEMPT``
    annotation on H; the first productive one is applied and the others are not tried.
    Probes of tests run now are added to ``trace.reveal_probes``.
    """
    for c in candidates:
        res = session.tunnel_cache.get(c.key)
        cached = res is not None
        if res is None:
            res = run_test(c, session)
            session.tunnel_cache[c.key] = res
            trace.reveal_probes += res.probe_count
        if res.productive:
            return apply_result(trace, c, res, cached)
        _record_failure(trace, c, res, cached)
    return None
