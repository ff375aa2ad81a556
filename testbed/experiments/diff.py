"""`testbed diff A.json B.json`: two scored runs of one lab side by side (two detectors, or two
versions of one), per trace and per verdict.

A and B are documents that `testbed run --json` or `testbed score --json` printed (one result
each). Traces are paired by (vantage point, destination), never by position; a trace's hops
are compared by address, hop by hop, and its tunnels by class, ingress, LSRs and egress. Each
true tunnel's verdict in A is paired with the verdict of the same tunnel (class, ingress,
egress) in B, and the changes are counted by kind ("correct -> missed": 2). `--strict` exits 3
when B got a tunnel wrong that A got right (a regression), which is what a CI job comparing a
new version with the last one needs.
"""
from __future__ import annotations

import json
from collections import Counter

from testbed.errors import InputError, printable

def _read(path: str) -> dict:
    """A scored run, read through the input boundary (regular file, bounded, strict JSON; its
    content never echoed)."""
    from testbed.inputs import read_json, safe_path_text
    doc = read_json(path, "result", "scored run (testbed run --json or testbed score --json)",
                    fix="give the output of `testbed run --json` or `testbed score --json`")
    shown = safe_path_text(path)
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        raise InputError(f"{shown}: holds {len(doc['results'])} scored results; diff takes one per file "
                         "(score the files one by one with `testbed score LAB FILE --json`)")
    if not (isinstance(doc, dict) and isinstance(doc.get("traces"), list) and isinstance(doc.get("score"), dict)
            and isinstance(doc["score"].get("traces"), list) and isinstance(doc.get("lab"), str)):
        raise InputError(f"{shown}: not a scored run (no lab, traces and score); give the output of "
                         "`testbed run --json` or `testbed score --json`")
    return doc


def _who(doc: dict) -> str:
    det = doc.get("detector")
    return str(det.get("name") or "detector") if isinstance(det, dict) else "utnt"


def _key(t: dict) -> tuple[str, str]:
    return (str(t.get("vantage_point") or t.get("src")), str(t.get("dst")))


def _hops(t: dict) -> list[str]:
    return [str(h.get("address") or "*") for h in t.get("hops") or [] if isinstance(h, dict)]


def _tunnels(t: dict) -> list[str]:
    out = []
    for u in t.get("tunnels") or []:
        if isinstance(u, dict):
            out.append(f"{u.get('class')} {u.get('ingress') or '?'} > {' '.join(map(str, u.get('lsrs') or []))} > "
                       f"{u.get('egress') or '?'}")
    return out


def _verdict(v: dict) -> str:
    """The verdict as its codes (outcome, and the cause when the scorer names one), never its
    English: `missed (trigger-not-revealed)`, `correct`."""
    outcome = v.get("outcome") or "?"        # (a document from before the codes: no outcome to compare)
    return f"{outcome} ({v['cause']})" if v.get("cause") else str(outcome)


def _verdicts(doc: dict) -> dict:
    out = {}
    for s in doc["score"]["traces"]:
        if not isinstance(s, dict):
            continue
        for v in s.get("verdicts") or []:
            t = v.get("truth") if isinstance(v, dict) else None
            if not isinstance(t, dict):
                continue
            out[(_key(s), str(t.get("class")), str(t.get("ingress")), str(t.get("egress")))] = _verdict(v)
    return out


def diff(a: dict, b: dict) -> dict:
    """The comparison document of two scored runs of one lab."""
    ta = {_key(t): t for t in a["traces"] if isinstance(t, dict)}
    tb = {_key(t): t for t in b["traces"] if isinstance(t, dict)}
    traces = []
    for k in sorted(set(ta) | set(tb)):
        x, y = ta.get(k), tb.get(k)
        if x is None or y is None:
            traces.append({"vantage_point": k[0], "dst": k[1], "status": "only in A" if y is None else "only in B"})
            continue
        hx, hy = _hops(x), _hops(y)
        ux, uy = _tunnels(x), _tunnels(y)
        status = "identical" if hx == hy and ux == uy else "tunnels differ" if hx == hy else "hops differ"
        row = {"vantage_point": k[0], "dst": k[1], "status": status}
        if hx != hy:
            row["hops"] = [{"index": i + 1, "a": p, "b": q} for i, (p, q) in
                           enumerate(zip(hx + [""] * (len(hy) - len(hx)), hy + [""] * (len(hx) - len(hy)))) if p != q]
        if ux != uy:
            row["tunnels"] = {"a": ux, "b": uy}
        traces.append(row)
    va, vb = _verdicts(a), _verdicts(b)
    changes, changed = Counter(), []
    for k in sorted(set(va) | set(vb)):
        x, y = va.get(k, "absent"), vb.get(k, "absent")
        if x != y:
            changes[f"{x} -> {y}"] += 1
            changed.append({"vantage_point": k[0][0], "dst": k[0][1], "class": k[1], "ingress": k[2], "egress": k[3],
                            "a": x, "b": y})
    totals_a, totals_b = a["score"].get("totals") or {}, b["score"].get("totals") or {}
    totals = {k: {"a": totals_a.get(k), "b": totals_b.get(k)} for k in dict.fromkeys([*totals_a, *totals_b])
              if totals_a.get(k) != totals_b.get(k)}
    status = Counter(r["status"] for r in traces)
    return {"lab": a["lab"], "a": {"detector": _who(a), "perfect": a["score"].get("perfect")},
            "b": {"detector": _who(b), "perfect": b["score"].get("perfect")},
            "traces": {"total": len(traces), **dict(status)}, "per_trace": traces,
            "verdict_changes": dict(changes.most_common()), "verdicts": changed,
            "regressions": sum(1 for c in changed if c["a"] == "correct"),
            "improvements": sum(1 for c in changed if c["b"] == "correct"), "totals": totals}


def load_pair(path_a: str, path_b: str, force: bool = False) -> tuple[dict, dict]:
    a, b = _read(path_a), _read(path_b)
    if a["lab"] != b["lab"] or (a.get("params") or {}) != (b.get("params") or {}):
        if not force:
            raise InputError(f"{printable(path_b)}: a run of lab {printable(b['lab'])} "
                             f"({printable(json.dumps(b.get('params') or {}))}), not of "
                             f"{printable(a['lab'])} ({printable(json.dumps(a.get('params') or {}))}) like "
                             f"{printable(path_a)}; diff two runs of one lab (or --force)")
    return a, b


def print_diff(d: dict, console) -> None:
    from rich.markup import escape
    from rich.table import Table
    a, b = d["a"]["detector"], d["b"]["detector"]
    console.print(f"[bold]{escape(d['lab'])}[/]: A {escape(a)} vs B {escape(b)}: "
                  + ", ".join(f"{v} {k}" for k, v in d["traces"].items() if k != "total")
                  + f" of {d['traces']['total']} traces")
    shown = [r for r in d["per_trace"] if r["status"] != "identical"]
    if shown:
        t = Table(title="traces that differ")
        for col in ("vantage point", "destination", "status", "where"):
            t.add_column(col)
        for r in shown:
            where = "; ".join(f"hop {h['index']}: {h['a'] or '-'} / {h['b'] or '-'}" for h in r.get("hops", [])[:4])
            if "tunnels" in r:
                where = (where + "; " if where else "") + (f"A {' | '.join(r['tunnels']['a']) or 'none'}  B "
                                                           f"{' | '.join(r['tunnels']['b']) or 'none'}")
            t.add_row(*(escape(str(x)) for x in (r["vantage_point"], r["dst"], r["status"], where)))
        console.print(t)
    if d["verdicts"]:
        t = Table(title="verdicts that changed (A -> B)")
        for col in ("vantage point", "destination", "truth", "A", "B"):
            t.add_column(col)
        for v in d["verdicts"]:
            t.add_row(*(escape(str(x)) for x in (v["vantage_point"], v["dst"],
                                                 f"{v['class']} {v['ingress']} > {v['egress']}", v["a"], v["b"])))
        console.print(t)
    if d["totals"]:
        console.print("totals: " + ", ".join(f"{k} {v['a']} -> {v['b']}" for k, v in d["totals"].items()))
    console.print(f"{d['regressions']} regression(s), {d['improvements']} improvement(s)"
                  + ("" if d["verdicts"] or shown else ": the two runs agree"))
