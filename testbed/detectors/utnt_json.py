"""uTNT's JSON (`utnt --json`, `testbed probe --json`, `testbed run --json`), and any
detector's output written in the same shape (docs/result-format.md).

Accepted documents: ``{"traces": [...]}`` (uTNT's, or a `testbed run --json` result), a
JSON list of traces, or one trace. Each trace needs ``dst`` and ``hops``; ``tunnels`` is
what the detector reported (absent: none). Hops need ``address`` (null for a silent hop).
"""
from __future__ import annotations

from testbed.inputs import ipv4, loads_json

from .base import CLASSES, ResultError, checked, hop, tunnel

FORMAT = "utnt-json"
TUNNEL_CLASSES = (*CLASSES, "HET")


def _check_trace(t, path: str, where: str) -> dict:
    if not isinstance(t, dict):
        raise ResultError(path, None, where, f"a trace must be an object, not {type(t).__name__}")
    if not isinstance(t.get("dst"), str):
        raise ResultError(path, None, f"{where}.dst", "missing or not a string; give the destination address")
    ipv4(t["dst"], path, f"{where}.dst")
    ipv4(t.get("src"), path, f"{where}.src", none_ok=True)
    for k in ("method", "detector", "stop_reason", "vantage_point"):
        if t.get(k) is not None and not isinstance(t[k], str):
            raise ResultError(path, None, f"{where}.{k}", "must be a string (or left out)")
    hops = t.get("hops")
    if not isinstance(hops, list):
        raise ResultError(path, None, f"{where}.hops", "missing or not a list; give one object per hop "
                          "({\"address\": ..., \"probe_ttl\": ...}, address null for a silent hop)")
    out_hops = []
    for i, h in enumerate(hops):
        if not isinstance(h, dict) or "address" not in h:
            raise ResultError(path, None, f"{where}.hops[{i}]", "a hop needs an 'address' (null when silent)")
        ipv4(h["address"], path, f"{where}.hops[{i}].address", none_ok=True)
        for k in ("probe_ttl", "index", "reply_ttl", "quoted_ttl", "er_ttl", "icmp_type", "icmp_code"):
            v = h.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 65535):
                raise ResultError(path, None, f"{where}.hops[{i}].{k}", "must be a small whole number (or null)")
        if h.get("rtt_ms") is not None and (isinstance(h["rtt_ms"], bool) or not isinstance(h["rtt_ms"], (int, float))):
            raise ResultError(path, None, f"{where}.hops[{i}].rtt_ms", "must be a number of milliseconds (or null)")
        if not isinstance(h.get("labels") or [], list) or not all(isinstance(x, dict) for x in h.get("labels") or []):
            raise ResultError(path, None, f"{where}.hops[{i}].labels", "must be a list of label objects")
        if h.get("mpls") is not None and not isinstance(h["mpls"], dict):
            raise ResultError(path, None, f"{where}.hops[{i}].mpls", "must be an object (class, role, ...) or null")
        d = dict(h)
        out_hops.append(hop(**{**{"probe_ttl": d.pop("probe_ttl", None)}, **d}))
    tunnels = []
    if not isinstance(t.get("tunnels") or [], list):
        raise ResultError(path, None, f"{where}.tunnels", "must be a list of tunnels")
    for i, u in enumerate(t.get("tunnels") or []):
        w = f"{where}.tunnels[{i}]"
        if not isinstance(u, dict):
            raise ResultError(path, None, w, "a tunnel must be an object")
        if u.get("class") not in TUNNEL_CLASSES:
            raise ResultError(path, None, f"{w}.class", f"not one of {', '.join(TUNNEL_CLASSES)}")
        if not isinstance(u.get("lsrs", []), list):
            raise ResultError(path, None, f"{w}.lsrs", "must be a list of addresses")
        for k in ("ingress", "egress"):
            ipv4(u.get(k), path, f"{w}.{k}", none_ok=True)
        for j, a in enumerate(u.get("lsrs", [])):
            ipv4(a, path, f"{w}.lsrs[{j}]")
        for k in ("trigger", "technique", "stop_reason"):
            if u.get(k) is not None and not isinstance(u[k], str):
                raise ResultError(path, None, f"{w}.{k}", "must be a string (or null)")
        d = dict(u)
        tunnels.append(tunnel(d.pop("class"), d.pop("ingress", None), d.pop("lsrs", []), d.pop("egress", None),
                              **d))
    out = dict(t)
    out.update({"src": t.get("src"), "method": t.get("method"), "hops": out_hops, "tunnels": tunnels})
    out.setdefault("detector", "utnt")
    out.setdefault("format", FORMAT)
    return out


def parse_doc(doc, path: str = "<json>") -> list[dict]:
    if isinstance(doc, dict) and "traces" in doc:
        traces = doc["traces"]
        if not isinstance(traces, list):
            raise ResultError(path, None, "traces", "must be a list of traces")
    elif isinstance(doc, list):
        traces = doc
    elif isinstance(doc, dict) and "hops" in doc:
        traces = [doc]
    else:
        raise ResultError(path, None, "traces", "no 'traces' list and no single trace (dst, hops); see "
                          "docs/result-format.md")
    return checked([_check_trace(t, path, f"traces[{i}]") for i, t in enumerate(traces)], path)


def parse(text: str, path: str = "<json>") -> list[dict]:
    doc = loads_json(text, path, "result file", "expected uTNT's JSON (utnt --json) or the result format of "
                     "docs/result-format.md")
    return parse_doc(doc, path)
