"""A scripted stand-in for the network, for pure-logic unit tests of the detector.

:class:`ScriptedProber` implements :class:`utnt.reveal.Prober` from tables written by hand:
traces keyed by ``(dst, first_ttl, method)`` (a list value is served in order, the last
entry repeating) and echo-reply TTLs keyed by address.  An unscripted trace raises
``KeyError`` so a test notices any probe it did not expect.  Every call is logged.

The helpers build hops the way a prober would report them: :func:`te` (time-exceeded),
:func:`echo` (echo-reply), :func:`unreach` (destination-unreachable, port-unreachable by
default) and :func:`star` (silence); :func:`trace_of` numbers them from ``first_ttl``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from .model import (
    ICMP_CODE_PORT_UNREACH, ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_TIME_EXCEEDED,
    METHOD_ICMP_PARIS, Hop, LabelEntry, Reply, Trace,
)

SRC = "11.0.0.1"


def _rtt(ttl: int) -> float:
    return round(0.1 * ttl, 3)


def te(addr: str, reply_ttl: int, qttl: int | None = 1,
       labels: Iterable[LabelEntry] = (), rtt: float | None = None) -> Reply:
    """A time-exceeded reply (probe TTL filled in by :func:`trace_of`)."""
    return Reply(addr, 0, rtt, ICMP_TIME_EXCEEDED, 0, reply_ttl, qttl, list(labels))


def echo(addr: str, reply_ttl: int, rtt: float | None = None) -> Reply:
    """An echo-reply to an ICMP-Paris probe (the destination answering)."""
    return Reply(addr, 0, rtt, ICMP_ECHO_REPLY, 0, reply_ttl, None, [])


def unreach(addr: str, reply_ttl: int, code: int = ICMP_CODE_PORT_UNREACH,
            rtt: float | None = None) -> Reply:
    """A destination-unreachable (port-unreachable by default) to a UDP-Paris probe."""
    return Reply(addr, 0, rtt, ICMP_DEST_UNREACH, code, reply_ttl, 1, [])


def star() -> None:
    """A silent hop."""
    return None


def trace_of(dst: str, replies: list[Reply | None], first_ttl: int = 1,
             method: str = METHOD_ICMP_PARIS, probe_count: int | None = None,
             stop_reason: str | None = None, src: str = SRC) -> Trace:
    """A trace whose k-th reply answered probe TTL ``first_ttl + k`` (RTT 0.1 ms per TTL)."""
    hops: list[Hop] = []
    for k, r in enumerate(replies):
        t = first_ttl + k
        if r is None:
            hops.append(Hop.silent(t))
            continue
        r = copy.deepcopy(r)
        r.probe_ttl = t
        if r.rtt_ms is None:
            r.rtt_ms = _rtt(t)
        hops.append(Hop.from_reply(r))
    if stop_reason is None:
        last = next((h for h in reversed(hops) if h.responsive), None)
        stop_reason = "COMPLETED" if last is not None and last.address == dst else "GAPLIMIT"
    return Trace(src=src, dst=dst, method=method, hops=hops, stop_reason=stop_reason,
                 probe_count=probe_count, start_ttl=first_ttl)


class ScriptedProber:
    """A fake network answering from tables; see the module docstring."""

    def __init__(self, traces: dict[tuple[str, int, str], Trace | list[Trace]] | None = None,
                 pings: dict[str, int | None] | None = None) -> None:
        self.traces: dict[tuple[str, int, str], list[Trace]] = {
            k: (list(v) if isinstance(v, list) else [v]) for k, v in (traces or {}).items()}
        self.pings = dict(pings or {})
        self.trace_calls: list[tuple[str, int, str]] = []
        self.ping_calls: list[str] = []

    def add(self, trace: Trace, first_ttl: int | None = None, method: str | None = None) -> None:
        key = (trace.dst, trace.start_ttl if first_ttl is None else first_ttl,
               trace.method if method is None else method)
        self.traces.setdefault(key, []).append(trace)

    def trace(self, dst: str, first_ttl: int, method: str) -> Trace:
        key = (dst, first_ttl, method)
        self.trace_calls.append(key)
        if key not in self.traces:
            raise KeyError(f"unscripted trace {key}")
        queue = self.traces[key]
        tr = queue.pop(0) if len(queue) > 1 else queue[0]
        return copy.deepcopy(tr)

    def ping(self, addr: str) -> int | None:
        self.ping_calls.append(addr)
        return self.pings.get(addr)
