"""Per-hop classification of a finished trace (tnt.md 3.2, 3.3, summary item 3).

The detector works in TNT's order:

1. :func:`annotate_hop` computes iTTLs, FRPLA, RTLA and u-turn of every hop (tnt.md 3.1).
2. :func:`classify_trace` reads the evidence carried by the replies themselves, left to
   right: RFC 4950 labels with top LSE-TTL <= 1 or == 255 (explicit), other LSE-TTLs
   (opaque egress), then qTTL > 1 and != 255 (implicit).
3. :func:`find_candidates` lists the invisible/opaque tunnel tests (MTTL, DUPIP, RTLA,
   FRPLA, BTFC) in the exact order and with the skip rules of tnt.md 3.3.
4. (:mod:`utnt.reveal` runs the tests and inserts revealed hops.)
5. :func:`apply_uturn` looks for u-turn runs on the final trace, after revelation
   (tnt.md 3.2 "Runs after invisible-tunnel revelation on the final trace").
6. :func:`rebuild_tunnels` reads the tunnel list off the final tags.

Tags are sc_tnt's flags (:class:`utnt.model.MplsTag`): each pass adds roles, classes and
triggers to what a hop already has, and clears them only where sc_tnt does, so a hop between
two LSPs is an egress and an ingress at once and a <255,64> one becomes an LSR without class
(:func:`juniper_implicit`).

Reserved addresses (tnt.md 5.2) are never start point nor "next" hop of a revelation test;
the first pass does not look at them (sc_tnt does not), so a reserved hop can be tagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import ttl as ttlmod
from .model import (
    BTFC, DUPIP, EXP, FRPLA, IMP, MTTL, OPA, RTLA,
    Hop, MplsTag, Trace, Tunnel,
)
from .options import START_TTL_OFFSET, UTURN_SEQ_THRESHOLD, TntOptions


# ------------------------------------------------------------------------------------------
# quantities
# ------------------------------------------------------------------------------------------

def annotate_hop(hop: Hop) -> None:
    """Fill the computed quantities of one hop (tnt.md 3.1, 3.2; formulas in :mod:`utnt.ttl`).

    FRPLA, RTLA and u-turn are only defined on time-exceeded replies (they compare the
    time-exceeded's return length with the probe TTL or with the echo-reply's); they are 0
    on any other reply, as they are not printed there either (tnt.md 5.5).
    """
    hop.ittl_te = hop.r_te = hop.ittl_er = hop.r_er = None
    hop.frpla = hop.rtla = hop.uturn = 0
    if not hop.responsive or hop.reply_ttl is None:
        return
    hop.ittl_te = ttlmod.ittl(hop.reply_ttl)
    hop.r_te = ttlmod.return_length(hop.reply_ttl)
    if hop.er_ttl:
        hop.ittl_er = ttlmod.ittl(hop.er_ttl)
        hop.r_er = ttlmod.return_length(hop.er_ttl)
    if hop.is_time_exceeded:
        if hop.probe_ttl is not None:
            hop.frpla = ttlmod.frpla(hop.reply_ttl, hop.probe_ttl)
        hop.rtla = ttlmod.rtla(hop.reply_ttl, hop.er_ttl)
        hop.uturn = ttlmod.uturn(hop.reply_ttl, hop.er_ttl)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

def evidence(hop: Hop) -> str | None:
    """The tunnel class a reply proves by itself, in TNT's order (tnt.md 3.2).

    * labels with top LSE-TTL <= 1 or == 255 -> ``EXP`` (an explicit LSR);
    * labels with any other top LSE-TTL       -> ``OPA`` (an opaque tunnel's ending hop);
    * time-exceeded with qTTL > 1 and != 255  -> ``IMP`` (inside an implicit tunnel).
    """
    if not hop.responsive:
        return None
    if hop.labels and hop.is_time_exceeded:      # TNT reads labels on time-exceeded only
        top = hop.labels[0][3]          # the top LSE's TTL
        return EXP if (top <= 1 or top == 255) else OPA
    q = hop.quoted_ttl
    if hop.is_time_exceeded and q is not None and q > 1 and q != 255:
        return IMP
    return None


# sc_tnt's per-hop predicates on the flags (a silent hop is sc_tnt's NULL hop: no flag)
def _m(hop: Hop | None) -> MplsTag | None:
    return hop.mpls if hop is not None and hop.responsive else None


def _flags(hop: Hop) -> MplsTag:
    """The hop's flags, created empty on first use (sc_tnt ORs flags into a hop)."""
    if hop.mpls is None:
        hop.mpls = MplsTag()
    return hop.mpls


def is_lsr(hop: Hop | None) -> bool:
    m = _m(hop)
    return m is not None and m.lsr


def is_egr(hop: Hop | None) -> bool:
    m = _m(hop)
    return m is not None and m.egr


def is_ing(hop: Hop | None) -> bool:
    m = _m(hop)
    return m is not None and m.ing


def is_opa_egr(hop: Hop | None) -> bool:
    m = _m(hop)
    return m is not None and m.opa and m.egr


def _q(hop: Hop | None) -> int:
    """The quoted TTL as sc_tnt reads it (0 when the reply quoted none)."""
    return (hop.quoted_ttl or 0) if hop is not None else 0


def juniper_implicit(hop: Hop) -> bool:
    """sc_tnt.c identify_juniper_implicit_hop: a <255,64> hop (time-exceeded iTTL 255,
    echo-reply iTTL 64) that sc_tnt would make an ingress while it is an egress is an LSR of
    an implicit tunnel instead: its roles and classes are dropped, it becomes an LSR without
    class (printed ``[MPLS,LSR,INF]``) and keeps only its triggers.  Returns True (and retags
    the hop) when the signature matches; a hop without echo-reply never matches."""
    if not hop.responsive or not hop.er_ttl or hop.reply_ttl is None:
        return False
    if ttlmod.ittl(hop.reply_ttl) != 255 or ttlmod.ittl(hop.er_ttl) != 64:
        return False
    m = _flags(hop)
    m.clear_roles()
    m.clear_classes()
    m.lsr = True
    m.technique, m.step, m.incomplete, m.revealed = None, None, False, False
    return True


def classify_trace(trace: Trace) -> list[Tunnel]:
    """Tag explicit, opaque and qTTL-implicit hops of a base trace, sc_tnt's way
    (sc_tnt.c sc_tnt_test_identify_mpls_tunnels, first loop), left to right, each hop seen once
    with ``prev`` the hop before it and ``prev2`` the one before that (None when silent):

    * **silent hop**: an ``OPA`` prev becomes an egress (its roles replaced by EGR);
    * **time-exceeded with labels** (the LSE-TTL of the top entry decides): the hop is an
      LSR, ``EXP`` when the LSE-TTL is <= 1 or 255, else ``OPA`` with trigger ``MTTL``.  A
      prev that is not an LSR is the ingress (its class EXP, or OPA+MTTL) -- added to what it
      already is, so the egress of an LSP just before is ``EGR`` and ``ING`` at once; except
      that a prev which is already an egress and has the Juniper-like <255,64> signature is
      an LSR of an implicit tunnel instead (:func:`juniper_implicit`: ``[MPLS,LSR,INF]``);
    * **time-exceeded with qTTL > 1, != 255** (no labels): the hop is an ``IMP`` LSR
      (``QTTL``).  A hop quoting 2 looks back: a responsive prev quoting <= 1 that is neither
      an LSR nor an opaque egress becomes the first LSR (its roles dropped) and prev2 the
      ingress when prev2 is not an LSR, not an ingress and not an egress -- a <255,64>
      egress there is made an inferred LSR (:func:`juniper_implicit`) and is no ingress;
      any other responsive prev ends the look-back; a silent prev goes straight to prev2;
    * **any other reply** (no labels, qTTL <= 1 or 255, or not a time-exceeded) may end a
      tunnel: after an ``EXP`` LSR it is an ``EXP`` egress; after an ``IMP`` LSR it is the
      egress when it is the destination or prev quoted <= 1 and has another address, else
      one more ``IMP`` LSR (the LSR that popped); after an ``OPA`` LSR, prev becomes the
      egress; after a silent prev, a prev2 that is an ``IMP`` hop quoting > 1 makes it an
      ``IMP`` egress.

    Reserved addresses are not looked at here (sc_tnt checks them only for revelation).
    Returns the tunnels the tags make (:func:`tunnels_of`), also appended to ``trace.tunnels``.
    """
    hops = trace.hops
    n = len(hops)
    for i in range(n):
        hop = hops[i]
        prev = hops[i - 1] if i >= 1 and hops[i - 1].responsive else None
        prev2 = hops[i - 2] if i >= 2 and hops[i - 2].responsive else None
        if not hop.responsive:
            if prev is not None and prev.mpls is not None and prev.mpls.opa:
                prev.mpls.clear_roles()
                prev.mpls.egr = True
            continue
        if hop.is_time_exceeded:
            if hop.labels:
                m = _flags(hop)
                m.lsr = True
                top = hop.labels[0][3]          # the top LSE's TTL
                opaque = not (top <= 1 or top == 255)
                if opaque:
                    m.opa = True
                    m.triggers.add(MTTL)
                else:
                    m.exp = True
                if prev is not None and not is_lsr(prev):
                    if is_egr(prev) and juniper_implicit(prev):
                        continue
                    pm = _flags(prev)
                    pm.ing = True
                    if opaque:
                        pm.opa = True
                        pm.triggers.add(MTTL)
                    else:
                        pm.exp = True
                continue
            q = _q(hop)
            if q > 1 and q != 255:
                m = _flags(hop)
                m.lsr = m.imp_qt = True
                if q == 2:
                    if prev is not None and _q(prev) <= 1 and not is_lsr(prev) and not is_opa_egr(prev):
                        pm = _flags(prev)
                        pm.clear_roles()
                        pm.lsr = pm.imp_qt = True
                    elif prev is not None:
                        continue
                    if (prev2 is not None and not is_lsr(prev2) and not is_ing(prev2)
                            and (not is_egr(prev2) or not juniper_implicit(prev2))):
                        m2 = _flags(prev2)
                        m2.ing = m2.imp_qt = True
                continue
        # a reply that may end a tunnel
        if prev is not None:
            if prev.mpls is None or not prev.mpls.lsr:
                continue
            pm = prev.mpls
            if pm.exp:
                m = _flags(hop)
                m.egr = m.exp = True
            elif pm.imp:
                m = _flags(hop)
                m.imp_qt = True
                if hop.address == trace.dst or (_q(prev) <= 1 and hop.address != prev.address):
                    m.egr = True
                else:
                    m.lsr = True
            elif pm.opa:
                pm.clear_roles()
                pm.egr = True
        elif prev2 is not None and prev2.mpls is not None and prev2.mpls.imp and _q(prev2) > 1:
            m = _flags(hop)
            m.egr = m.imp_qt = True
    found = tunnels_of(trace)
    trace.tunnels.extend(found)
    return found


def tunnels_of(trace: Trace, hops: list[Hop] | None = None) -> list[Tunnel]:
    """The tunnels the hops' tags make, read as TNT's tags are read: an ingress opens a
    tunnel, LSRs join it, an egress closes it; a hop that is an egress and an ingress closes
    one tunnel and opens the next; an untagged responsive hop closes an open tunnel without
    egress.  Class: the LSRs' class (an ingress/egress's when there is no LSR), ``HET`` when
    they differ; trigger: the first hop's trigger that is not QTTL/UTURN, else the signature."""
    hops = trace.hops if hops is None else hops
    out: list[Tunnel] = []
    cur: dict[str, Any] | None = None

    def close(egr: Hop | None) -> None:
        nonlocal cur
        assert cur is not None
        members = cur["members"] + ([egr] if egr is not None else [])
        lsr_cls = {h.mpls.cls for h in cur["lsrs"] if h.mpls.cls}
        if not lsr_cls:
            ends = [set(h.mpls.classes) for h in members]
            lsr_cls = set.intersection(*ends) if ends else set()
            if not lsr_cls and ends:
                lsr_cls = set.union(*ends)
        cls = next(iter(lsr_cls)) if len(lsr_cls) == 1 else ("HET" if lsr_cls else EXP)
        trig = None
        for h in members:
            ts = [t for t in h.mpls.trigger_parts if t != "INF"]
            if ts:
                trig = ts[0]
                break
        ing = cur["ing"]
        labelled = [h for h in members if h.labels and h.mpls.opa and not h.revealed]
        est = 255 - labelled[-1].top_lse_ttl if labelled else None
        out.append(Tunnel(cls=cls, ingress=ing.address if ing is not None else None,
                          estimated_length=est, next_hop=egr.address if est is not None and egr else None,
                          egress=egr.address if egr is not None else None,
                          lsrs=[h.address for h in cur["lsrs"]], trigger=trig,
                          complete=ing is not None and egr is not None and not any(
                              h.mpls.incomplete for h in members)
                          and (cls != OPA or any(h.revealed for h in members)),
                          members=members))
        cur = None

    for h in hops:
        m = h.mpls if h.responsive or h.revealed else None    # a silent revealed hop is an LSR
        if m is None or not (m.ing or m.egr or m.lsr):
            if cur is not None and h.responsive:
                close(None)
            continue
        if m.lsr:
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            cur["lsrs"].append(h)
            cur["members"].append(h)
            if m.egr:
                close(None)
            continue
        if m.egr:
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            close(h)
        if m.ing:
            if cur is not None:
                close(None)
            cur = {"ing": h, "lsrs": [], "members": [h]}
    if cur is not None:
        close(None)
    return out


# ------------------------------------------------------------------------------------------
# invisible / opaque revelation candidates (tnt.md 3.3)
# ------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    """One queued revelation test (tnt.md 3.3).

    ``start`` is the start point (the ingress, or the hop before an unresponsive ingress
    when ``ingress_null``), ``next`` the hop H that triggered the test, ``insert_pos`` the
    position before which revealed hops go (H, or the first copy of a duplicate pair),
    ``start_ttl`` the first TTL of the revelation traces.
    """

    trigger: str
    start: Hop
    next: Hop
    start_pos: int
    next_pos: int
    insert_pos: int
    ingress_null: bool
    start_ttl: int

    @property
    def key(self) -> tuple[str, str]:
        """The tunnel-cache key (start, next) of tnt.md 4.6."""
        start, nxt = self.start.address, self.next.address
        assert start is not None and nxt is not None        # both are replies
        return (start, nxt)


def start_ttl_for(start: Hop) -> int:
    """Start point's probe TTL - 2, floored at 1 (tnt.md 3.3)."""
    return max(1, (start.probe_ttl or 1) - START_TTL_OFFSET)


def _same_addr(a: Hop, b: Hop) -> bool:
    return a.responsive and b.responsive and a.address == b.address


def find_candidates(trace: Trace, options: TntOptions) -> list[Candidate]:
    """List the revelation tests of a trace, in TNT's order (sc_tnt.c
    sc_tnt_test_identify_mpls_tunnels, second loop; tnt.md 3.3).

    For each hop H, in trace order:

    1. skip H if it is silent, reserved or an LSR;
    2. H duplicating the previous hop: skip H when that first copy is an egress or an LSR,
       else the ingress is the hop before the pair; otherwise the ingress is the previous hop.
       An ingress that is an LSR (of any tunnel) stops here unless H has the OPA class.
       A silent ingress: the hop before it is the start point (INGRESS_IS_NULL), none or a
       reserved one stops here; a reserved ingress stops here.  A start point with H's
       address stops here;
    3. an opaque egress H queues an ``MTTL`` test (and nothing else);
    4. skip H if it is an egress or its reply is not a time-exceeded;
    5. H duplicating the previous hop queues a ``DUPIP`` test;
    6. skip H if the next hop is a time-exceeded from H's address (H is only the first copy);
    7. RTLA >= r queues an ``RTLA`` test;
    8. otherwise FRPLA >= f queues an ``FRPLA`` test;
    9. otherwise, with ``-b``, a ``BTFC`` test (no trigger).

    At most one test is queued per H: the tunnel cache is keyed by (start, next), so a
    second test of the same pair (sc_tnt adds the brute-force one after FRPLA) could only
    replay the first one's result.
    """
    hops = trace.hops
    n = len(hops)
    out: list[Candidate] = []
    for i, h in enumerate(hops):
        # 1
        if not h.responsive or h.reserved or is_lsr(h):
            continue
        # 2
        prev = hops[i - 1] if i >= 1 else None
        dup = prev is not None and _same_addr(prev, h)
        if dup and (is_egr(prev) or is_lsr(prev)):
            continue            # TNT skips H at once: its first copy belongs to a tunnel
        ing_pos = i - 2 if dup else i - 1
        if ing_pos < 0:
            continue
        ing = hops[ing_pos]
        h_opa = h.mpls is not None and h.mpls.opa
        if ing.responsive and not h_opa and is_lsr(ing):
            continue
        start_pos, null = ing_pos, False
        if not ing.responsive:
            start_pos, null = ing_pos - 1, True
            if start_pos < 0 or not hops[start_pos].responsive:
                continue
        sp = hops[start_pos]
        if sp.reserved:
            continue
        if sp.address == h.address:
            continue

        def queue(trigger: str) -> None:
            out.append(Candidate(trigger=trigger, start=sp, next=h, start_pos=start_pos,  # noqa: B023
                                 next_pos=i, insert_pos=i - 1 if dup else i,  # noqa: B023
                                 ingress_null=null, start_ttl=start_ttl_for(sp)))  # noqa: B023
        # 3
        if is_opa_egr(h):
            queue(MTTL)
            continue
        # 4
        if is_egr(h) or not h.is_time_exceeded:
            continue
        # 5
        if dup:
            queue(DUPIP)
            continue
        # 6
        if i + 1 < n and _same_addr(hops[i + 1], h) and hops[i + 1].is_time_exceeded:
            continue
        # 7, 8, 9
        if h.rtla >= options.rtla_threshold:
            queue(RTLA)
        elif h.frpla >= options.frpla_threshold:
            queue(FRPLA)
        elif options.brute_force:
            queue(BTFC)
    return out


# ------------------------------------------------------------------------------------------
# u-turn (after revelation)
# ------------------------------------------------------------------------------------------

def _u_r(hop: Hop) -> tuple[int, int]:
    """(u-turn, RTLA) as TNT computes them for the u-turn pass: on any reply with an
    echo-reply TTL, not only time-exceeded ones (sc_tnt.c get_uturn, get_rtla); (0, 0) for
    a silent hop or one without echo-reply."""
    if not hop.responsive or hop.reply_ttl is None or not hop.er_ttl:
        return 0, 0
    return ttlmod.uturn(hop.reply_ttl, hop.er_ttl), ttlmod.rtla(hop.reply_ttl, hop.er_ttl)


def _inside(hop: Hop | None) -> bool:
    """An LSR or a revealed hop (sc_tnt's INTERN_OR_REV): u-turn runs stop there."""
    return hop is not None and hop.responsive and hop.mpls is not None and (
        hop.mpls.lsr or hop.mpls.revealed or hop.revealed)


def apply_uturn(trace: Trace) -> list[Tunnel]:
    """Implicit tunnels from u-turn runs, on the final trace (sc_tnt.c
    scamper_trace_tnt_identify_uturn_tunnels; tnt.md 3.2 u-turn row).

    Left to right, with u = R_TE - R_ER and r = RTLA on any reply that has an echo-reply
    (0 on a silent hop), flags added to what the hops already carry (``IMP`` with ``UTURN``):

    * a run is a sequence of hops with u != 0 and u != r; it ends at the first hop with
      u == 0 or u == r, at an LSR or revealed hop, at an opaque egress, or at the last hop
      of the trace (whose own u is then not counted);
    * when the run's sum of |u| reaches 3 (UTURN_SEQ_THRESHOLD): the hop that ended it
      (responsive, not an LSR, not revealed, not an opaque egress) loses its ingress/egress
      roles and becomes an LSR -- the egress if it is the destination; the run's hops, right
      to left, lose those roles and become LSRs; the hop before the run (u == 0 or u == r)
      is the ingress unless it is an egress (an opaque egress excepted) -- a <255,64> egress
      there is an inferred LSR instead (:func:`juniper_implicit`); the look-back stops at a
      silent, LSR or revealed hop.  Unless the hop that ended the run is an LSR, revealed or
      an opaque egress, the next hop is examined as the egress: a copy of the previous
      address is one more LSR (an ingress copy loses its roles) and hands the egress on to
      the hop after it; otherwise, with |u| < 3 or u == r, it becomes an egress -- an
      ingress with the <255,64> signature becomes an inferred LSR instead, any other
      ingress stays one as well (``EGR`` and ``ING``);
    * otherwise, if the last hop is not the destination, is not an LSR and has |u| >= 3
      with u != r, it becomes an LSR (its roles dropped).

    Returns the tunnels the u-turn pass tagged (their hops carry UTURN).
    """
    hops = trace.hops
    n = len(hops)
    if n < 2:
        return []
    usum = 0
    next_egress = False
    for i, h in enumerate(hops):
        hop = h if h.responsive else None
        u, r = _u_r(h)
        if next_egress:
            if hop is not None and not _inside(hop):
                prev = hops[i - 1]
                if prev.responsive and prev.address == hop.address:
                    m = _flags(hop)
                    if m.ing:
                        m.clear_roles()
                    m.lsr = m.imp_ut = True
                    continue
                if (abs(u) < UTURN_SEQ_THRESHOLD or r == u) and (
                        not is_ing(hop) or not juniper_implicit(hop)):
                    m = _flags(hop)
                    m.egr = m.imp_ut = True
            next_egress = False
        if u == 0 or r == u or i == n - 1 or _inside(hop) or is_opa_egr(hop):
            if usum >= UTURN_SEQ_THRESHOLD:
                ends_here = hop is not None and not _inside(hop) and not is_opa_egr(hop)
                if hop is None or ends_here:
                    next_egress = True
                if hop is not None and ends_here:
                    m = _flags(hop)
                    if m.ing or m.egr:
                        m.clear_roles()
                    m.imp_ut = True
                    if hop.address == trace.dst:
                        m.egr = True
                    else:
                        m.lsr = True
                for j in range(i - 1, -1, -1):
                    x = hops[j]
                    if not x.responsive or _inside(x):
                        break
                    xu, xr = _u_r(x)
                    if xu == 0 or xr == xu:
                        if not is_egr(x) or is_opa_egr(x) or not juniper_implicit(x):
                            mx = _flags(x)
                            mx.ing = mx.imp_ut = True
                        break
                    mx = _flags(x)
                    if mx.ing or mx.egr:
                        mx.clear_roles()
                    mx.lsr = mx.imp_ut = True
            elif (i == n - 1 and abs(u) >= UTURN_SEQ_THRESHOLD and r != u      # u != 0: a reply, hop is h
                  and h.address != trace.dst and not is_lsr(h)):
                m = _flags(h)
                m.clear_roles()
                m.lsr = m.imp_ut = True
            usum = 0
            continue
        usum += abs(u)
    return [t for t in tunnels_of(trace) if any(x.mpls is not None and x.mpls.imp_ut for x in t.members)]


_META = ("technique", "stop_reason", "start_point", "next_hop", "ingress_null", "buddy",
         "estimated_length", "steps", "probe_count", "cached")


def rebuild_tunnels(trace: Trace) -> list[Tunnel]:
    """Replace ``trace.tunnels`` by the tunnels the final tags make (:func:`tunnels_of`, in
    path order), each keeping what revelation recorded about it (technique, stop reason,
    start point, probes, ...) from the earlier tunnel object that shares most of its hops."""
    old = list(trace.tunnels)
    new = tunnels_of(trace)
    for t in new:
        ids = {id(h) for h in t.members}
        best = max(old, key=lambda o: len(ids & {id(h) for h in o.members}), default=None)
        if best is None or not ids & {id(h) for h in best.members}:
            continue
        for k in _META:
            v = getattr(best, k)
            if v not in (None, False, 0) or getattr(t, k) in (None, False, 0):
                setattr(t, k, v if v not in (None, False, 0) else getattr(t, k))
        if best.start_point is not None:           # a revealed tunnel: revelation says if complete
            t.complete = best.complete
        if t.trigger is None:
            t.trigger = best.trigger
    trace.tunnels = new
    return new


def sort_tunnels(trace: Trace) -> None:
    """Order ``trace.tunnels`` by the position of their first member hop."""
    pos = {id(h): k for k, h in enumerate(trace.hops)}

    def first(t: Tunnel) -> int:
        return min((pos[id(h)] for h in t.members if id(h) in pos), default=len(trace.hops))
    trace.tunnels.sort(key=first)
