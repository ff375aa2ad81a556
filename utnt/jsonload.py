"""Rebuild traces from uTNT's JSON (e.g. a run in another namespace) to print the TNT dump."""
from __future__ import annotations

from typing import Any

from .model import Attempt, Hop, MplsTag, Trace, Tunnel
from .output import dump_text


def hop_from_json(d: dict[str, Any]) -> Hop:
    m = d.get("mpls")
    h = Hop(index=d["index"], address=d.get("address"), probe_ttl=d.get("probe_ttl"), rtt_ms=d.get("rtt_ms"),
            icmp_type=d.get("icmp_type"), icmp_code=d.get("icmp_code"), reply_ttl=d.get("reply_ttl"),
            quoted_ttl=d.get("quoted_ttl"), er_ttl=d.get("er_ttl"), reserved=d.get("reserved", False),
            revealed=d.get("revealed", False), tnt_ttl=d.get("tnt_ttl"),
            labels=[(x["label"], x["tc"], x["s"], x["ttl"]) for x in d.get("labels", [])])
    if d.get("label"):
        h.shown_h = str(d["label"]).startswith("H")
    for k in ("ittl_te", "ittl_er", "r_te", "r_er", "frpla", "rtla", "uturn"):
        if d.get(k) is not None:
            setattr(h, k, d[k])
    if m:
        # "classes"/"roles" (every flag) when present, else the one class and role of older files
        h.mpls = MplsTag(cls=",".join(m.get("classes") or [m["class"] or ""]),
                         role=",".join(m.get("roles") or [m["role"]]), trigger=m.get("trigger"),
                         technique=m.get("technique"),
                         step=m.get("step"), incomplete=m.get("incomplete", False),
                         inferred=m.get("inferred", False), revealed=m.get("revealed", False))
    h.attempts = [Attempt(a["trigger"], a["reason"], a.get("buddy", False)) for a in d.get("attempts", [])]
    return h


def trace_from_json(d: dict[str, Any]) -> Trace:
    t = Trace(src=d["src"], dst=d["dst"], method=d.get("method", "icmp-paris"),
              hops=[hop_from_json(h) for h in d.get("hops", [])], stop_reason=d.get("stop_reason"),
              probe_count=d.get("probe_count"), start_ttl=d.get("start_ttl", 1))
    t.ping_probes = d.get("ping_probes", 0)
    t.reveal_probes = d.get("reveal_probes", 0)
    for x in d.get("tunnels", []):
        t.tunnels.append(Tunnel(cls=x["class"], ingress=x.get("ingress"), egress=x.get("egress"),
                                lsrs=list(x.get("lsrs", [])), trigger=x.get("trigger"),
                                technique=x.get("technique"), complete=x.get("complete", True),
                                stop_reason=x.get("stop_reason")))
    return t


def dump_text_json(traces: list[dict[str, Any]], verbose: bool = True) -> str:
    return dump_text([trace_from_json(t) for t in traces], verbose=verbose)
