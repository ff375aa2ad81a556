"""uTNT's traces as scamper's JSON (`utnt --scamper-json`): one trace object per line, with
scamper's field names, so tools that read `scamper -O json` or `sc_warts2json` output read
uTNT's.

Written like scamper 20211212's JSON: trace type, version, method (icmp-echo-paris,
udp-paris), src, dst, stop_reason, firsthop, hop_count, probe_count and hops[] with addr,
probe_ttl, rtt, reply_ttl, icmp_type, icmp_code, icmp_q_ttl and
icmpext[] {ie_cn, ie_ct, ie_dl, mpls_labels[] {mpls_ttl, mpls_s, mpls_exp, mpls_label}}.
Revealed hops are inserted in path order and keep their probe TTL, as in TNT's warts.
What scamper has no field for is in one extra key, "tnt": per hop the echo-reply TTL, the
MPLS tag and the revealed flag; per trace the detector's name and its tunnel count.
scamper readers ignore it.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .model import Hop, Trace

METHODS = {"icmp-paris": "icmp-echo-paris", "udp-paris": "udp-paris"}


def hop_to_scamper(h: Hop) -> dict[str, Any]:
    d: dict[str, Any] = {"addr": h.address, "probe_ttl": h.probe_ttl}
    if h.rtt_ms is not None:
        d["rtt"] = round(h.rtt_ms, 3)
    d.update({"reply_ttl": h.reply_ttl, "icmp_type": h.icmp_type, "icmp_code": h.icmp_code})
    if h.quoted_ttl is not None:
        d["icmp_q_ttl"] = h.quoted_ttl
    if h.labels:
        d["icmpext"] = [{"ie_cn": 1, "ie_ct": 1, "ie_dl": 4 * len(h.labels),
                         "mpls_labels": [{"mpls_ttl": ttl, "mpls_s": s, "mpls_exp": tc, "mpls_label": lab}
                                         for lab, tc, s, ttl in h.labels]}]
    tnt: dict[str, Any] = {}
    if h.er_ttl is not None:
        tnt["er_ttl"] = h.er_ttl
    if h.revealed:
        tnt["revealed"] = True
    if h.mpls is not None:
        m = h.mpls
        tnt["mpls"] = {"class": m.cls, "role": m.role, "trigger": m.trigger, "technique": m.technique,
                       "step": m.step, "incomplete": m.incomplete, "inferred": m.inferred,
                       "classes": m.classes, "roles": m.roles}
    if tnt:
        d["tnt"] = tnt
    return d


def trace_to_scamper(t: Trace) -> dict[str, Any]:
    hops = [hop_to_scamper(h) for h in t.hops if h.responsive]
    return {"type": "trace", "version": "0.1", "method": METHODS.get(t.method, t.method), "src": t.src,
            "dst": t.dst, "stop_reason": t.stop_reason or "NONE", "firsthop": t.start_ttl or 1,
            "hop_count": max((h.probe_ttl or 0 for h in t.hops), default=0),
            "probe_count": t.probe_count or 0, "hops": hops,
            "tnt": {"detector": "utnt", "tunnels": len(t.tunnels)}}


def dump_scamper_json(traces: Iterable[Trace]) -> str:
    """One JSON object per line, like `scamper -O json`."""
    return "".join(json.dumps(trace_to_scamper(t)) + "\n" for t in traces)
