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

Reserved addresses (tnt.md 5.2) are never ingress, egress, start point or "next" hop.  A
reserved hop may still be tagged LSR when its own reply carries the evidence (labels or
qTTL), because that evidence does not depend on the address.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ttl as ttlmod
from .model import (
    BTFC, DUPIP, EGR, EXP, FRPLA, IMP, ING, LSR, MTTL, OPA, QTTL, RTLA, UTURN,
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

def _tag(hop: Hop, cls: str, role: str, trigger: str | None = None, **kw) -> MplsTag:
    hop.mpls = MplsTag(cls=cls, role=role, trigger=trigger, **kw)
    return hop.mpls


def _can_be_end(hop: Hop) -> bool:
    """May this hop become an ingress or egress?  Responsive, not reserved, not yet tagged."""
    return hop.responsive and not hop.reserved and hop.mpls is None


def evidence(hop: Hop) -> str | None:
    """The tunnel class a reply proves by itself, in TNT's order (tnt.md 3.2).

    * labels with top LSE-TTL <= 1 or == 255 -> ``EXP`` (an explicit LSR);
    * labels with any other top LSE-TTL       -> ``OPA`` (an opaque tunnel's ending hop);
    * time-exceeded with qTTL > 1 and != 255  -> ``IMP`` (inside an implicit tunnel).
    """
    if not hop.responsive:
        return None
    if hop.labels and hop.is_time_exceeded:      # TNT reads labels on time-exceeded only
        top = hop.top_lse_ttl
        return EXP if (top <= 1 or top == 255) else OPA
    q = hop.quoted_ttl
    if hop.is_time_exceeded and q is not None and q > 1 and q != 255:
        return IMP
    return None


def _tunnel(cls: str, trigger: str | None, ing: Hop | None, lsrs: list[Hop],
            egr: Hop | None, **kw) -> Tunnel:
    members = ([ing] if ing else []) + lsrs + ([egr] if egr else [])
    return Tunnel(cls=cls, ingress=ing.address if ing else None,
                  egress=egr.address if egr else None,
                  lsrs=[h.address for h in lsrs], trigger=trigger, members=members, **kw)


# ------------------------------------------------------------------------------------------
# explicit, opaque and implicit tunnels (evidence in the replies)
# ------------------------------------------------------------------------------------------

def classify_trace(trace: Trace) -> list[Tunnel]:
    """Tag explicit, opaque and qTTL-implicit tunnels of a base trace (tnt.md 3.2).

    Rules, applied left to right:

    * **Explicit** (labels, top LSE-TTL <= 1 or 255): each such hop is an ``EXP`` LSR.  A run
      of them (silent hops inside the run are bridged) is one tunnel; the hop right before
      the run becomes the ingress when it carries no MPLS evidence, the hop right after the
      run the egress when it answers without MPLS evidence (after a silent hop there is none:
      sc_tnt reads the egress off the previous hop).  A single unlabelled hop sitting between two explicit LSRs is
      an LSR tagged ``INF`` (inferred, tnt.md 1 notes), which joins both runs.
    * **Opaque** (labels, other top LSE-TTL): the hop is the opaque tunnel's egress (EH), the
      previous hop its ingress; estimated length = 255 - LSE-TTL; trigger ``MTTL``.
    * **Implicit** (qTTL > 1, != 255, time-exceeded): a run of such hops with rising qTTL
      are LSRs.  When the run's first hop quotes 2 it is the second LSR, so the hop before it
      is the first LSR and the one before that the ingress (tnt.md 2.3); sc_tnt looks back
      from a qTTL-2 hop only, so a run starting higher (the qTTL-2 LSR silent) has no LSR
      nor ingress before it.  The
      hop right after the run is still an LSR (the penultimate hop pops, then answers) and
      the hop after that is the egress -- unless the hop after the run is the destination,
      which is then the egress.

    Returns the tunnels found (also appended to ``trace.tunnels``).
    """
    hops = trace.hops
    n = len(hops)
    ev = [evidence(h) for h in hops]
    inf = [False] * n
    for i in range(1, n - 1):
        h = hops[i]
        if (ev[i] is None and h.responsive and h.address != trace.dst
                and ev[i - 1] == EXP and ev[i + 1] == EXP):
            inf[i] = True

    def is_exp(k: int) -> bool:
        return ev[k] == EXP or inf[k]

    found: list[Tunnel] = []
    i = 0
    while i < n:
        if hops[i].mpls is not None:
            i += 1
            continue
        if is_exp(i):
            i = _explicit(trace, ev, inf, i, is_exp, found)
        elif ev[i] == IMP:
            i = _implicit(trace, ev, i, found)
        elif ev[i] == OPA:
            i = _opaque(trace, ev, i, found)
        else:
            i += 1
    trace.tunnels.extend(found)
    return found


def _run_end(hops: list[Hop], i: int, pred) -> int:
    """Last position of the run starting at i of hops satisfying pred, bridging silent hops."""
    last, k = i, i + 1
    while k < len(hops):
        if pred(k):
            last = k
        elif hops[k].responsive:
            break
        k += 1
    return last


def _explicit(trace: Trace, ev, inf, i: int, is_exp, found: list[Tunnel]) -> int:
    hops = trace.hops
    last = _run_end(hops, i, is_exp)
    lsrs = []
    for k in range(i, last + 1):
        if is_exp(k):
            _tag(hops[k], EXP, LSR, inferred=inf[k])
            lsrs.append(hops[k])
    ing = None
    if i >= 1 and ev[i - 1] is None and _can_be_end(hops[i - 1]):
        ing = hops[i - 1]
        _tag(ing, EXP, ING)
    egr = None
    k = last + 1            # the hop right after the run: sc_tnt closes an explicit tunnel only on
    # the hop whose previous hop is a labelled LSR, so a silent hop there leaves it without egress
    if k < len(hops) and ev[k] is None and _can_be_end(hops[k]):
        egr = hops[k]
        _tag(egr, EXP, EGR)
    found.append(_tunnel(EXP, None, ing, lsrs, egr, complete=bool(ing and egr)))
    return last + 1


def _opaque(trace: Trace, ev, i: int, found: list[Tunnel]) -> int:
    """An opaque tunnel's labelled hops, TNT's way (sc_tnt.c identify_mpls_tunnels).

    Each hop quoting labels with an opaque top LSE-TTL is first an LSR; the last one of a
    run of consecutive such hops becomes the egress (EH) when the next hop is silent or
    answers without MPLS evidence -- a copy of the same address (a Linux egress that
    answers twice) leaves the first copy an LSR.  The hop before the run is the ingress.
    Returns the position after the run."""
    hops = trace.hops
    n = len(hops)
    j = i
    while j + 1 < n and ev[j + 1] == OPA and hops[j + 1].mpls is None:
        j += 1
    run = hops[i:j + 1]
    ing = None
    if i >= 1 and ev[i - 1] is None and _can_be_end(hops[i - 1]):
        ing = hops[i - 1]
        _tag(ing, OPA, ING, MTTL)
    for h in run:
        _tag(h, OPA, LSR, MTTL)
    eh = None
    if j + 1 < n and ev[j + 1] is None:
        eh = hops[j]
        _tag(eh, OPA, EGR, MTTL)
    lsrs = [h for h in run if h is not eh]
    found.append(_tunnel(OPA, MTTL, ing, lsrs, eh, complete=False,
                         estimated_length=255 - (eh or run[-1]).top_lse_ttl,
                         next_hop=eh.address if eh else None))
    return j + 1


def _implicit(trace: Trace, ev, i: int, found: list[Tunnel]) -> int:
    hops = trace.hops
    n = len(hops)
    # the run of qTTL > 1 hops, qTTL rising
    last, prev_q, k = i, hops[i].quoted_ttl, i + 1
    run = [hops[i]]
    while k < n:
        h = hops[k]
        if ev[k] == IMP and h.mpls is None and h.quoted_ttl > prev_q:
            last, prev_q = k, h.quoted_ttl
            run.append(h)
        elif h.responsive:
            break
        k += 1
    for h in run:
        _tag(h, IMP, LSR, QTTL)
    lsrs = list(run)
    # backwards, as sc_tnt does it: only a first hop quoting qTTL 2 makes the hop before it
    # the first LSR and the one before that the ingress; a run that starts higher (its qTTL-2
    # hop silent) gets no LSR nor ingress before it
    q = hops[i].quoted_ttl
    chain_ok = q == 2
    for d in range(1, q if q == 2 else 1):
        k = i - d
        if k < 0 or hops[k].mpls is not None or ev[k] is not None:
            chain_ok = False
            break
        if hops[k].responsive:
            _tag(hops[k], IMP, LSR, QTTL)
            lsrs.insert(0, hops[k])
    ing = None
    k = i - q
    if chain_ok and k >= 0 and ev[k] is None and _can_be_end(hops[k]):
        ing = hops[k]
        _tag(ing, IMP, ING, QTTL)
    # forwards: the hop after the run is still an LSR, the one after it the egress
    egr = None
    j = last + 1
    if j < n:
        hj = hops[j]
        if hj.responsive and hj.address == trace.dst:
            if ev[j] is None and _can_be_end(hj):
                egr = hj
                _tag(egr, IMP, EGR, QTTL)
        elif ev[j] is None and hj.mpls is None:
            if hj.responsive:
                _tag(hj, IMP, LSR, QTTL)
                lsrs.append(hj)
            e = j + 1
            if e < n and ev[e] is None and _can_be_end(hops[e]):
                egr = hops[e]
                _tag(egr, IMP, EGR, QTTL)
    found.append(_tunnel(IMP, QTTL, ing, lsrs, egr, complete=bool(ing and egr)))
    return last + 1


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
        return (self.start.address, self.next.address)


def start_ttl_for(start: Hop) -> int:
    """Start point's probe TTL - 2, floored at 1 (tnt.md 3.3)."""
    return max(1, (start.probe_ttl or 1) - START_TTL_OFFSET)


def _same_addr(a: Hop, b: Hop) -> bool:
    return a.responsive and b.responsive and a.address == b.address


def find_candidates(trace: Trace, options: TntOptions) -> list[Candidate]:
    """List the revelation tests of a trace, in TNT's order (tnt.md 3.3).

    For each hop H, in trace order:

    1. skip H if it is silent, reserved or already an LSR;
    2. find the ingress -- the previous hop, or for a duplicate the hop before the pair.  If
       the ingress is silent the hop before it is the start point (INGRESS_IS_NULL).  Give up
       if there is no usable start point, if it is reserved, if it is an LSR of an explicit
       or implicit tunnel (unless H is an opaque egress) or if it has H's address;
    3. an opaque egress H queues an ``MTTL`` test;
    4. skip H if it is already an egress or its reply is not a time-exceeded;
    5. H duplicating the previous hop queues a ``DUPIP`` test -- unless the first copy is
       already an egress or an LSR, in which case H is skipped;
    6. skip H if the next hop duplicates H (H is only the first copy);
    7. RTLA >= r queues an ``RTLA`` test;
    8. otherwise FRPLA >= f queues an ``FRPLA`` test;
    9. otherwise, with ``-b``, a ``BTFC`` test (no trigger).

    At most one test is queued per H: the tunnel cache is keyed by (start, next), so a
    second test of the same pair could only replay the first one's result.
    """
    hops = trace.hops
    n = len(hops)
    out: list[Candidate] = []
    for i, h in enumerate(hops):
        # 1
        if not h.responsive or h.reserved or (h.mpls and h.mpls.role == LSR):
            continue
        # 2
        dup = i >= 1 and _same_addr(hops[i - 1], h)
        if dup and hops[i - 1].mpls is not None and hops[i - 1].mpls.role in (EGR, LSR):
            continue            # TNT skips H at once: its first copy belongs to a tunnel
        ing_pos = i - 2 if dup else i - 1
        if ing_pos < 0:
            continue
        start_pos, null = ing_pos, False
        if not hops[ing_pos].responsive:
            start_pos, null = ing_pos - 1, True
            if start_pos < 0 or not hops[start_pos].responsive:
                continue
        sp = hops[start_pos]
        opaque = h.mpls is not None and h.mpls.cls == OPA and h.mpls.role == EGR
        if sp.reserved:
            continue
        if (not opaque and sp.mpls is not None and sp.mpls.role == LSR
                and sp.mpls.cls in (EXP, IMP)):
            continue
        if sp.address == h.address:
            continue

        def queue(trigger: str) -> None:
            out.append(Candidate(trigger=trigger, start=sp, next=h, start_pos=start_pos,
                                 next_pos=i, insert_pos=i - 1 if dup else i,
                                 ingress_null=null, start_ttl=start_ttl_for(sp)))
        # 3
        if opaque:
            queue(MTTL)
        # 4
        if (h.mpls is not None and h.mpls.role == EGR) or not h.is_time_exceeded:
            continue
        # 5 (a first copy already in a tunnel was skipped at 2)
        if dup:
            queue(DUPIP)
            continue
        # 6
        if i + 1 < n and _same_addr(hops[i + 1], h):
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


def _inside(hop: Hop) -> bool:
    """An LSR or a revealed hop (TNT's INTERN_OR_REV): u-turn runs stop there."""
    return hop.responsive and hop.mpls is not None and (hop.mpls.role == LSR or hop.mpls.revealed)


def _opa_egr(hop: Hop) -> bool:
    return hop.responsive and hop.mpls is not None and hop.mpls.cls == OPA and hop.mpls.role == EGR


def _role(hop: Hop) -> str | None:
    return hop.mpls.role if hop.responsive and hop.mpls is not None else None


def _juniper_like(hop: Hop) -> bool:
    """<255,64>: TNT lets such an egress also be a u-turn ingress or egress (its LER reply is
    what a Juniper implicit hop looks like, sc_tnt.c identify_juniper_implicit_hop)."""
    return (hop.responsive and hop.reply_ttl is not None and bool(hop.er_ttl)
            and ttlmod.ittl(hop.reply_ttl) == 255 and ttlmod.ittl(hop.er_ttl) == 64)


def _ut_tag(hop: Hop, role: str) -> None:
    """Tag ``hop`` for a u-turn tunnel.  TNT adds the UTURN flag to the hop's earlier flags,
    so a revelation trigger it had stays printed before UTURN (``FRPLA,UTURN``)."""
    old = hop.mpls.trigger if hop.mpls is not None else None
    trig = f"{old},{UTURN}" if old in (DUPIP, RTLA, FRPLA, MTTL, BTFC) else UTURN
    _tag(hop, IMP, role, trig)


def apply_uturn(trace: Trace) -> list[Tunnel]:
    """Implicit tunnels from u-turn runs, on the final trace (tnt.md 3.2 u-turn row).

    TNT's pass (sc_tnt.c scamper_trace_tnt_identify_uturn_tunnels), left to right, with
    u = R_TE - R_ER and r = RTLA on any reply that has an echo-reply:

    * a run is a sequence of hops with u != 0 and u != r; it ends at the first hop with
      u == 0 or u == r, at an LSR or revealed hop, at an opaque egress, or at the last hop
      of the trace (whose own u is then not counted);
    * when the run's sum of |u| reaches 3 (UTURN_SEQ_THRESHOLD): the hop that ended it is
      an LSR (the egress if it is the destination) unless it is an LSR, revealed or an
      opaque egress already; the run's hops are LSRs; the hop before the run is the
      ingress, unless it is an egress (a <255,64> one excepted); and the hop after the
      ending hop is the egress when its own |u| < 3 (or u == r) -- a copy of the previous
      address there is one more LSR and passes the egress on to the next hop;
    * otherwise, if the last hop is not the destination, is not an LSR and has |u| >= 3
      with u != r, it is an LSR.

    Tags are ``IMP`` with trigger ``UTURN`` (a hop keeps a single tag: one that was
    already the egress of an earlier tunnel becomes the u-turn tunnel's LSR or ingress).
    Returns the tunnels found (also appended to ``trace.tunnels``).
    """
    hops = trace.hops
    n = len(hops)
    found: list[Tunnel] = []
    if n < 2:
        return found
    usum = 0
    pending: Tunnel | None = None        # a tunnel whose egress is the next hop
    for i, h in enumerate(hops):
        u, r = _u_r(h)
        if pending is not None:
            if h.responsive and not _inside(h):
                prev = hops[i - 1]
                if prev.responsive and prev.address == h.address:
                    _ut_tag(h, LSR)
                    pending.lsrs.append(h.address)
                    pending.members.append(h)
                    continue
                if (abs(u) < UTURN_SEQ_THRESHOLD or r == u) and (_role(h) != ING or _juniper_like(h)):
                    _ut_tag(h, EGR)
                    pending.egress = h.address
                    pending.members.append(h)
                    pending.complete = pending.ingress is not None
            pending = None
        last = i == n - 1
        if u == 0 or r == u or last or _inside(h) or _opa_egr(h):
            if usum >= UTURN_SEQ_THRESHOLD:
                t = _tunnel(IMP, UTURN, None, [], None, complete=False)
                ends_here = h.responsive and not _inside(h) and not _opa_egr(h)
                if not h.responsive or ends_here:
                    pending = t
                members: list[Hop] = []
                if ends_here:
                    if h.address == trace.dst:
                        _ut_tag(h, EGR)
                        t.egress = h.address
                    else:
                        _ut_tag(h, LSR)
                    members.append(h)
                for j in range(i - 1, -1, -1):
                    x = hops[j]
                    if not x.responsive or _inside(x):
                        break
                    xu, xr = _u_r(x)
                    if xu == 0 or xr == xu:
                        if _role(x) != EGR or _opa_egr(x) or _juniper_like(x):
                            _ut_tag(x, ING)
                            t.ingress = x.address
                            members.insert(0, x)
                        break
                    _ut_tag(x, LSR)
                    members.insert(0, x)
                t.members = members
                t.lsrs = [m.address for m in members if m.mpls.role == LSR]
                t.complete = t.ingress is not None and t.egress is not None
                found.append(t)
            elif (last and abs(u) >= UTURN_SEQ_THRESHOLD and r != u and h.address != trace.dst
                  and _role(h) != LSR):
                _ut_tag(h, LSR)
                found.append(_tunnel(IMP, UTURN, None, [h], None, complete=False))
            usum = 0
            continue
        usum += abs(u)
    trace.tunnels.extend(found)
    return found


def sort_tunnels(trace: Trace) -> None:
    """Order ``trace.tunnels`` by the position of their first member hop."""
    pos = {id(h): k for k, h in enumerate(trace.hops)}

    def first(t: Tunnel) -> int:
        return min((pos[id(h)] for h in t.members if id(h) in pos), default=len(trace.hops))
    trace.tunnels.sort(key=first)
