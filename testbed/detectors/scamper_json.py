"""scamper's JSON (`scamper -O json`, `sc_warts2json`): plain traces, labels-only baseline.

Input: one JSON object per line (scamper's own output), or one JSON array / object.
Objects of type "trace" become traces; "ping" objects give the echo-reply TTL of the
addresses they pinged (er_ttl); "cycle-start", "cycle-stop", "list" and other types are
skipped. Field names are scamper's: trace src, dst, method, firsthop, hops[] with addr,
probe_ttl, rtt, reply_ttl, icmp_type, icmp_code, icmp_q_ttl and
icmpext[].mpls_labels[] {mpls_label, mpls_exp, mpls_s, mpls_ttl}.

Hops: replies are read in the order of the hops array; consecutive replies with the same
probe_ttl and address (attempts) are one hop. A different address at the same probe_ttl is
another hop in array order: TNT's warts (and uTNT's --scamper-json) insert revealed hops
with the probe TTL of the hop they precede. TTLs that got no reply between firsthop and
the last reply are silent hops. Tunnels: `base.tunnels_from_labels` (explicit only), or,
for uTNT's `--scamper-json` whose hops carry TNT tags in their extra "tnt" key, the tags
(`base.tunnels_from_tags`, detector utnt).
"""
from __future__ import annotations

from testbed.inputs import InputProblem, ipv4, loads_json

from .base import ResultError, checked, hop, mpls_tag, trace, tunnels_from_labels, tunnels_from_tags

FORMAT = "scamper-json"

_METHODS = {"icmp-echo-paris": "icmp-paris", "udp-paris": "udp-paris", "icmp-echo": "icmp", "udp": "udp",
            "tcp": "tcp", "tcp-ack": "tcp", "tcp-syn": "tcp"}


def _objects(text: str, path: str):
    """(line, object) pairs."""
    s = text.strip()
    if not s:
        raise ResultError(path, None, "content", "empty file; expected scamper's JSON (scamper -O json)")
    if s[0] == "[":
        arr = loads_json(s, path, "result file", "expected a JSON array of scamper objects")
        return [(None, o) for o in arr]
    out = []
    try:                                    # one (possibly pretty-printed) object
        return [(1, loads_json(s, path, "result file"))]
    except InputProblem as e:
        if "not valid JSON" not in e.problems[0].message:
            raise
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            out.append((n, loads_json(line, path, "result file")))
        except InputProblem as e:
            raise ResultError(path, n, "json", f"{e.problems[0].message}; scamper writes one object per line: use "
                              "`scamper -O json` or `sc_warts2json FILE.warts`") from None
    return out


def _int(v, path, line, field):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ResultError(path, line, field, "not a number")
    if not -(1 << 31) <= v < (1 << 32):
        raise ResultError(path, line, field, "out of range for this field")
    return int(v)


def _labels(h: dict, path, line) -> list[dict]:
    out = []
    for ext in h.get("icmpext") or []:
        if not isinstance(ext, dict):
            continue
        if not isinstance(ext.get("mpls_labels") or [], list):
            raise ResultError(path, line, "icmpext.mpls_labels", "must be a list of label stack entries")
        for lse in ext.get("mpls_labels") or []:
            if not isinstance(lse, dict) or "mpls_label" not in lse:
                raise ResultError(path, line, "icmpext.mpls_labels", "a label stack entry is not an object with "
                                  "mpls_label")
            out.append({"label": _int(lse["mpls_label"], path, line, "mpls_label"),
                        "tc": _int(lse.get("mpls_exp", 0), path, line, "mpls_exp"),
                        "s": _int(lse.get("mpls_s", 0), path, line, "mpls_s"),
                        "ttl": _int(lse.get("mpls_ttl"), path, line, "mpls_ttl")})
    return out


def trace_from_scamper(d: dict, path: str = "<scamper>", line: int | None = None, er: dict | None = None) -> dict:
    for k in ("dst",):
        if not d.get(k):
            raise ResultError(path, line, k, f"trace object has no '{k}'; is this scamper's trace JSON?")
    ipv4(d["dst"], path, "dst", line)
    ipv4(d.get("src"), path, "src", line, none_ok=True)
    if not isinstance(d.get("hops") or [], list):
        raise ResultError(path, line, "hops", "must be a list of hop objects")
    for k in ("method", "stop_reason"):
        if d.get(k) is not None and not isinstance(d[k], str):
            raise ResultError(path, line, k, "must be a string")
    groups: list[list[dict]] = []
    for h in d.get("hops") or []:
        if not isinstance(h, dict):
            raise ResultError(path, line, "hops", "a hop is not an object")
        if h.get("probe_ttl") is None:
            raise ResultError(path, line, "hops.probe_ttl", "a hop has no probe_ttl")
        ipv4(h.get("addr"), path, "hops.addr", line, none_ok=True)
        if not 0 <= _int(h["probe_ttl"], path, line, "hops.probe_ttl") <= 255:
            raise ResultError(path, line, "hops.probe_ttl", "out of range (0-255)")
        if not isinstance(h.get("icmpext") or [], list):
            raise ResultError(path, line, "hops.icmpext", "must be a list")
        if groups and groups[-1][0]["probe_ttl"] == h["probe_ttl"] and \
                (groups[-1][0].get("addr") == h.get("addr") or not h.get("addr")):
            groups[-1].append(h)
        else:
            groups.append([h])
    hops = []
    first = _int(d.get("firsthop", 1), path, line, "firsthop") or 1
    expect = first
    for g in groups:
        ttl = _int(g[0]["probe_ttl"], path, line, "probe_ttl")
        # silent TTLs before this reply (only while TTLs go up: TNT's inserted hops do not)
        while expect < ttl and ttl - expect < 256:
            hops.append(hop(None, expect))
            expect += 1
        h = g[0]
        rtt = h.get("rtt")
        ext = h.get("tnt") if isinstance(h.get("tnt"), dict) else {}
        mpls = ext.get("mpls")
        if mpls is not None:
            if not isinstance(mpls, dict) or not (mpls.get("roles") or mpls.get("role")):
                raise ResultError(path, line, "hops.tnt.mpls", "needs a role (and a class unless inferred)")
            parts = [*(mpls.get("classes") or [mpls.get("class")] if mpls.get("class") or mpls.get("classes")
                       else []), *(mpls.get("roles") or [mpls["role"]]),
                     *(["INCOMP?"] if mpls.get("incomplete") else []),
                     *[t for t in (mpls.get("trigger") or "").split(",") if t],
                     *(["INF"] if mpls.get("inferred") else []),
                     *([mpls["technique"]] if mpls.get("technique") else []),
                     *([f"step={mpls['step']}"] if mpls.get("step") is not None else [])]
            mpls = {**mpls_tag(parts, path, line), "revealed": bool(ext.get("revealed"))}
        hops.append(hop(h.get("addr"), ttl, rtt_ms=float(rtt) if isinstance(rtt, (int, float)) else None,
                        mpls=mpls, revealed=bool(ext.get("revealed")),
                        icmp_type=_int(h.get("icmp_type"), path, line, "icmp_type"),
                        icmp_code=_int(h.get("icmp_code"), path, line, "icmp_code"),
                        reply_ttl=_int(h.get("reply_ttl"), path, line, "reply_ttl"),
                        quoted_ttl=_int(h.get("icmp_q_ttl"), path, line, "icmp_q_ttl"),
                        er_ttl=_int(ext.get("er_ttl", (er or {}).get(h.get("addr"))), path, line, "hops.tnt.er_ttl"), labels=_labels(h, path, line),
                        replies=len(g)))
        expect = max(expect, ttl + 1)
    method = d.get("method")
    ext = d.get("tnt") if isinstance(d.get("tnt"), dict) else None
    if ext is not None or any(h["mpls"] for h in hops):    # uTNT's --scamper-json: tags in "tnt" keys
        return trace(d.get("src"), d["dst"], _METHODS.get(method, method), hops, tunnels_from_tags(hops),
                     detector=str((ext or {}).get("detector") or "utnt"), fmt=FORMAT,
                     stop_reason=d.get("stop_reason"))
    return trace(d.get("src"), d["dst"], _METHODS.get(method, method), hops, tunnels_from_labels(hops),
                 detector="scamper", fmt=FORMAT, stop_reason=d.get("stop_reason"))


def parse(text: str, path: str = "<scamper>") -> list[dict]:
    objs = _objects(text, path)
    er: dict[str, int] = {}
    for _n, o in objs:
        if isinstance(o, dict) and o.get("type") == "ping":
            for r in o.get("responses") if isinstance(o.get("responses"), list) else []:
                if isinstance(r, dict) and isinstance(o.get("dst"), str) and r.get("from") == o.get("dst") and r.get("icmp_type", 0) == 0 and r.get("reply_ttl") is not None:
                    er.setdefault(o["dst"], _int(r["reply_ttl"], path, None, "responses.reply_ttl"))
                    break
    out = []
    for n, o in objs:
        if not isinstance(o, dict):
            raise ResultError(path, n, "json", "a value that is not an object where a scamper object was expected")
        if o.get("type") == "trace" or (o.get("type") is None and "hops" in o and "dst" in o):
            out.append(trace_from_scamper(o, path, n, er))
    if not out:
        raise ResultError(path, None, "type", f"no trace objects among {len(objs)} object(s); "
                          "run scamper with -c 'trace ...' and -O json")
    return checked(out, path)
