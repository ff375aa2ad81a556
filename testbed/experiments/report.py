"""Human output of a run: the detector's trace (uTNT's dump, or a plain view of another
detector's), the truth beside it, a verdict per tunnel, the score."""
from __future__ import annotations

from rich.table import Table

from utnt.jsonload import dump_text_json


def _nodes(lab, addrs):
    return " ".join(_clean(lab.owner_of(a) or a) if a else "*" for a in addrs)


def _where(doc: dict) -> str:
    return doc["runtime"] + (", FRR control plane" if doc.get("control_plane") == "frr" else "")


def _pairs(traces, scored):
    """(trace, its score) in trace order; traces the scorer skipped (no probe) are left out."""
    left = list(scored)
    for tr in traces:
        s = next((x for x in left if x["dst"] == tr["dst"] and x["src"] == tr.get("src")), None) or \
            next((x for x in left if x["dst"] == tr["dst"]), None)
        if s is not None:
            left.remove(s)
            yield tr, s


def _clean(s) -> str:
    """A value read from a result file, shown as text: control characters (terminal escapes)
    escaped, rich markup escaped."""
    from rich.markup import escape

    from testbed.errors import printable
    return escape(printable(str(s)))


def _trace_text(tr: dict, det: str) -> str:
    """uTNT's dump when the trace is a whole uTNT JSON record (every hop has its index, and the
    dump reads it), the plain view otherwise (the documented result format, scamper's JSON, uTNT's
    --scamper-json): never a KeyError on a valid file."""
    from testbed.detectors.views import trace_text
    from testbed.errors import printable
    text = None
    if tr.get("format", "utnt-json") == "utnt-json" and tr.get("hops") and \
            all(isinstance(h, dict) and "index" in h for h in tr["hops"]):
        try:
            text = dump_text_json([tr])
        except (KeyError, TypeError, ValueError, AttributeError):
            text = None
    if text is None:
        text = trace_text(tr)
    return "\n".join(printable(ln) for ln in text.splitlines())


def print_run(doc: dict, lab, console):
    from testbed.detectors.views import label, visibility_line
    sc = doc["score"]
    det = (doc.get("detector") or {}).get("name", "utnt")
    who = _clean(label(det))
    for s in sc["traces"]:                   # each score names its trace: never paired by position
        tr = doc["traces"][s["trace_index"]]
        console.rule(f"[bold]{lab.name}[/] ({_where(doc)}): {who} from "
                     f"{_clean(tr.get('vantage_point') or tr['src'])} to {_clean(tr['dst'])}"
                     + (f" (ECMP path {s['path_index'] + 1})" if s.get("path_index") else ""))
        text = _trace_text(tr, det)
        console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)
        if tr.get("unreadable"):
            console.print(f"  [red]unreadable detector output[/] (scored as an empty trace): {_clean(tr['unreadable'])}",
                          soft_wrap=True)
        console.print("")
        for v in s["verdicts"]:
            t, u = v["truth"], v["reported"]
            colour = "green" if v["outcome"] == "correct" else "yellow" if v["outcome"] in ("partly", "undetectable",
                                                                                         "flagged-not-revealed") \
                else "red"
            truth = (f"truth {t['class']}{' (silent)' if t['silent'] else ''}: {t['ingress']} -> "
                     f"{' '.join(t['lsrs'])} -> {t['egress']}") if t else "truth: no tunnel"
            rep = (f"{who} {_clean(u['class'])} {_clean(u.get('trigger') or '')} {_clean(u.get('technique') or '')}: "
                   f"{_nodes(lab, [u.get('ingress')])} -> {_nodes(lab, u.get('lsrs', []))} -> "
                   f"{_nodes(lab, [u.get('egress')])}") if u else f"{who}: nothing"
            console.print(f"  [{colour}]{v['verdict']:<28}[/] {truth}   |   {rep}", soft_wrap=True)
        if not s["verdicts"]:
            console.print("  [green]correct[/]: no tunnel, none reported")
        if not s["complete"]:
            console.print(f"  [red]incomplete trace[/]: stopped before the destination ({s['stop_reason']})")
        if s["off_path_hops"]:
            console.print(f"  [red]off path[/]: {s['off_path_hops']} hop(s) on none of the truth's paths")
    for u in sc.get("unmatched", []):
        console.print(f"  [red]unmatched trace[/] {_clean(u['src'])} -> {_clean(u['dst'])}: {_clean(u['verdict'])}")
    for p in sc.get("not_probed", []):          # 6PE: the IPv6 probes no IPv4 detector sends (scoring rule 7)
        for v in p["verdicts"]:
            t = v["truth"]
            console.print(f"  [yellow]not probed[/] {p['from']} -> {p['to']} ({p['to_name']}): truth {t['class']} "
                          f"6PE: {t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}: {v['verdict']}",
                          soft_wrap=True, markup=True, highlight=False)
    tot = sc["totals"]
    t = Table(title=f"score: {who} on {lab.name} ({_where(doc)})")
    for col in ("", "present", "detected", "class ok", "ingress ok", "egress ok", "LSRs found",
                "hidden LSRs revealed", "flagged not revealed", "false tunnels", "false LSRs", "undetectable"):
        t.add_column(col, justify="right")

    def row(name, c):
        t.add_row(name, str(c["present"]), str(c["detected"]), str(c["class_correct"]), str(c["ingress_correct"]),
                  str(c["egress_correct"]), f"{c['lsrs_found']}/{c['lsrs_present']}",
                  f"{c['hidden_lsrs_revealed']}/{c['hidden_lsrs_present']}", str(c["flagged_not_revealed"]),
                  str(c["false_tunnels"]),
                  str(c["false_lsrs"]), str(c["undetectable"]))
    for cls, c in sorted(sc["per_class"].items()):
        row(cls, c)
    row("all", tot)
    console.print(t)
    if doc.get("frr"):
        f = doc["frr"]
        console.print(f"FRR converged in {f['converged_seconds']:.1f} s ({f['daemons']} daemons); "
                      + ("its tables equal the computed control plane" if not f["differences"] else
                         f"[yellow]{len(f['differences'])} differences from the computed control plane[/], e.g. "
                         f"{f['differences'][0]}"))
    if doc.get("visibility"):
        console.print(f"[cyan]{visibility_line(det, doc['visibility'])}[/]", soft_wrap=True)
    if doc.get("unmatched"):
        console.print(f"[yellow]{len(doc['unmatched'])} trace(s) toward no destination the lab probes[/] (not "
                      "scored): " + ", ".join(_clean(u["dst"]) for u in doc["unmatched"]))
    console.print("[bold green]perfect score[/]" if sc["perfect"] else "[bold yellow]not perfect[/]: see the verdicts")


def print_comparison(docs: list[dict], lab, console):
    """One row per detector scored on the same lab."""
    from testbed.detectors.views import label
    t = Table(title=f"detectors on {lab.name}")
    for col in ("detector", "files", "tunnels", "detected", "class ok", "ingress ok", "egress ok", "LSRs found",
                "hidden LSRs revealed", "false tunnels", "perfect"):
        t.add_column(col, justify="right")
    for d in docs:
        c = d["score"]["totals"]
        t.add_row(_clean(label(d["detector"]["name"])), _clean(" ".join(d.get("files", []))), str(c["present"]),
                  str(c["detected"]),
                  str(c["class_correct"]), str(c["ingress_correct"]), str(c["egress_correct"]),
                  f"{c['lsrs_found']}/{c['lsrs_present']}", f"{c['hidden_lsrs_revealed']}/{c['hidden_lsrs_present']}",
                  str(c["false_tunnels"]), "yes" if d["score"]["perfect"] else "no")
    console.print(t)
