"""Read TNT's text dump (``sc_tnt [-v] -d 1``, and uTNT's, which has the same fields) into
per-hop facts, and compare two dumps hop for hop.

A hop line is the index (``3``) or revealed index (``H2``), the address or ``*``, the RTT
(``0.269 ms``), then in TNT's order: ``rsvd``, ``rTTLs=<TE,ER>``, ``qttl=``, ``uturn=``,
``frpla=``, ``rtla=``, the ``[MPLS,...]`` block, ``Labels L mTTL=x | ...``, and in verbose
dumps ``(dstunr code=N)`` and ``(ATTEMPT,...)``.  Columns are separated by whitespace
(TNT pads, uTNT uses two spaces), so both read the same way.  RTTs are not compared.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

FIELDS = ("label", "address", "rsvd", "rttls", "qttl", "uturn", "frpla", "rtla", "mpls", "labels",
          "dstunr", "attempts")
_HEADER = re.compile(r"^trace \[(?P<method>[a-z-]+)\] from (?P<src>\S+) to (?P<dst>\S+)$")


class DumpError(ValueError):
    pass


def parse_hop(line: str, lineno: int = 0) -> dict:
    try:
        return _parse_hop(line, lineno)
    except (ValueError, IndexError) as e:
        if isinstance(e, DumpError):
            raise
        raise DumpError(f"line {lineno}: a field's value is not a number of TNT's dump") from None


def _parse_hop(line: str, lineno: int) -> dict:
    tok = line.split()
    if len(tok) < 2:
        raise DumpError(f"line {lineno}: a hop line needs an index and an address")
    hop = {"label": tok[0], "address": None if tok[1] == "*" else tok[1], "rsvd": False, "rttls": None,
           "qttl": None, "uturn": None, "frpla": None, "rtla": None, "mpls": None, "labels": None,
           "dstunr": None, "attempts": []}
    rest = tok[2:]
    k = 0
    if len(rest) >= 2 and rest[1] == "ms":
        k = 2
    labels: list[str] = []
    while k < len(rest):
        t = rest[k]
        if t == "rsvd":
            hop["rsvd"] = True
        elif t.startswith("rTTLs="):
            hop["rttls"] = t[6:]
        elif "=" in t and t.split("=", 1)[0] in ("qttl", "uturn", "frpla", "rtla") and not labels:
            key, val = t.split("=", 1)
            hop[key] = int(val[:10])
        elif t.startswith("[MPLS"):
            hop["mpls"] = t.strip("[]").split(",")[1:]
        elif t == "Labels":
            labels = []
            k += 1
            while k < len(rest) and not rest[k].startswith("("):
                if rest[k] != "|":
                    labels.append(rest[k])
                k += 1
            hop["labels"] = " ".join(labels)
            continue
        elif t == "(dstunr":
            hop["dstunr"] = int(rest[k + 1].rstrip(")").split("=")[1])
            k += 1
        elif t.startswith("(ATTEMPT"):
            hop["attempts"].append(t.strip("()").split(",")[1:])
        else:
            raise DumpError(f"line {lineno}: unknown field number {k + 3} of the hop line")
        k += 1
    return hop


def parse_dump(text: str) -> list[dict]:
    """[{"method", "src", "dst", "hops": [hop, ...]}] for every trace of a dump."""
    traces: list[dict] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _HEADER.match(line.strip())
        if m:
            traces.append({**m.groupdict(), "hops": []})
            continue
        if not traces:
            raise DumpError(f"line {n}: hop line before any 'trace [...] from ... to ...' header")
        traces[-1]["hops"].append(parse_hop(line, n))
    return traces


def compare(tnt: list[dict], utnt: list[dict]) -> list[dict]:
    """Differences between two parsed dumps, per destination and hop position.

    Each difference: ``{"dst", "pos", "field", "tnt", "utnt"}``; ``pos`` is the hop's
    position in the final trace (revealed hops included), ``field`` one of FIELDS, or
    ``"trace"`` when a destination is missing or ``"hops"`` when the lengths differ.
    The vantage point's address is not compared (uTNT joins the LAN with its own)."""
    out = []
    by_dst = {t["dst"]: t for t in utnt}
    for t in tnt:
        u = by_dst.pop(t["dst"], None)
        if u is None:
            out.append({"dst": t["dst"], "pos": None, "field": "trace", "tnt": "present", "utnt": "missing"})
            continue
        if t["method"] != u["method"]:
            out.append({"dst": t["dst"], "pos": None, "field": "method", "tnt": t["method"], "utnt": u["method"]})
        th, uh = t["hops"], u["hops"]
        for i in range(max(len(th), len(uh))):
            a = th[i] if i < len(th) else None
            b = uh[i] if i < len(uh) else None
            if a is None or b is None:
                out.append({"dst": t["dst"], "pos": i, "field": "hops",
                            "tnt": None if a is None else f"{a['label']} {a['address']}",
                            "utnt": None if b is None else f"{b['label']} {b['address']}"})
                continue
            silent = a["address"] is None and b["address"] is None
            for f in FIELDS:
                if silent and f == "mpls":
                    continue              # TNT prints nothing but '*' on a silent hop
                if a[f] != b[f]:
                    out.append({"dst": t["dst"], "pos": i, "field": f, "tnt": a[f], "utnt": b[f]})
    for dst in by_dst:
        out.append({"dst": dst, "pos": None, "field": "trace", "tnt": "missing", "utnt": "present"})
    return out


def warts_traces(path: str) -> list[dict] | None:
    """Every trace object of a warts file TNT wrote, as sc_warts2json prints it (Debian's
    scamper, else the one built with TNT); None when neither is there."""
    exe = shutil.which("sc_warts2json")
    if exe is None:
        from testbed.peers.tnt import find_prefix
        p = find_prefix()
        exe = str(p / "bin" / "sc_warts2json") if p else None
    if exe is None:
        return None
    r = subprocess.run([exe, path], capture_output=True, text=True, timeout=60)
    out = []
    for line in r.stdout.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict) and d.get("type") == "trace":
            out.append(d)
    return out


def rule_matches(match: dict, params: dict, options: list, diff: dict) -> bool:
    """Whether the common part of a reviewed-differences rule (``match`` of a differences.yaml,
    conformance's or the recorded oracle's) covers difference `diff` (as compare() gives it) of
    a lab drawn with `params` and run with `options`: ``params`` (a subset of the lab's),
    ``options``, ``field``, and ``tnt``/``utnt`` (the two values)."""
    return (all(params.get(k) == val for k, val in (match.get("params") or {}).items())
            and ("options" not in match or match["options"] == options)
            and match.get("field") in (None, diff["field"])
            and ("tnt" not in match or match["tnt"] == diff["tnt"])
            and ("utnt" not in match or match["utnt"] == diff["utnt"]))
