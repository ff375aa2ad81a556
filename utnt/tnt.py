"""The uTNT driver: what ``sc_tnt`` does for each destination (tnt.md 3.4, 4, summary).

Per destination, in order:

1. base Paris traceroute from ``-s`` with ``-m`` (reserved hops marked, tnt.md 5.2);
2. ping every distinct non-reserved hop address once per run (ping cache, tnt.md 3.4);
3. quantities (FRPLA, RTLA, u-turn) and the explicit / opaque / qTTL classification;
4. revelation candidates (tnt.md 3.3) and revelation of the first productive one (tnt.md 4);
5. ping the revealed hops for their rTTLs (tnt.md 3.4);
6. u-turn runs on the final trace (tnt.md 3.2);
7. the tunnel list of the trace, in path order, read off the final tags.

Steps 3, 4 and 6 need a base trace of at least MIN_HOPS hops from the first TTL: sc_tnt
skips tunnel identification and u-turns on shorter ones (its "enough nodes" check,
hop_count - firsthop < 2), so a two-hop trace (a router vantage point one hop from its
tunnel's egress, the egress the destination) has its pings and no tunnel.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .detect import annotate_hop, apply_uturn, classify_trace, find_candidates, rebuild_tunnels
from .model import Hop, Trace
from .options import TntOptions
from .reveal import Prober, Session, renumber, reveal_trace

__all__ = ["TntOptions", "Session", "run_tnt", "tnt_trace"]

MIN_HOPS = 3        # hops probed from the first TTL below which sc_tnt identifies no tunnel


def _ping_hops(session: Session, trace: Trace, hops: Iterable[Hop]) -> None:
    """Give each responsive hop its echo-reply TTL (cached, reserved never pinged)."""
    for h in hops:
        if not h.responsive:
            continue
        assert h.address is not None        # responsive
        ttl, spent = session.ping(h.address)
        trace.ping_probes += spent
        h.er_ttl = ttl
        annotate_hop(h)


def tnt_trace(session: Session, dst: str) -> Trace:
    """Measure one destination the TNT way; see the module docstring for the steps."""
    ipaddress.IPv4Address(dst)          # TNT is IPv4 only (tnt.md 5.2)
    opts = session.options
    trace = session.trace(dst, opts.start_ttl, opts.method)
    trace.start_ttl = opts.start_ttl
    trace.tunnels = []
    for h in trace.hops:
        h.mpls, h.attempts, h.revealed = None, [], False
    _ping_hops(session, trace, trace.hops)
    if len(trace.hops) < MIN_HOPS:
        return trace
    classify_trace(trace)
    reveal_trace(trace, find_candidates(trace, opts), session)
    _ping_hops(session, trace, [h for h in trace.hops if h.revealed])
    apply_uturn(trace)
    renumber(trace)
    rebuild_tunnels(trace)
    return trace


def run_tnt(prober: Prober, destinations: Iterable[str], options: TntOptions | None = None,
            *, session: Session | None = None) -> list[Trace]:
    """Run TNT on every destination, in order, and return the annotated traces.

    ``options`` defaults to sc_tnt's defaults (:class:`~utnt.options.TntOptions`).  The
    ping cache and tunnel cache live in ``session`` (a fresh :class:`~utnt.reveal.Session`
    unless one is given, e.g. to share caches between calls) and span all destinations.
    """
    if session is None:
        session = Session(prober, options or TntOptions())
    elif options is not None and options != session.options:
        raise ValueError("options differ from the session's options")
    return [tnt_trace(session, dst) for dst in destinations]
