"""Every topohub graph (Topology Zoo, SNDlib, CAIDA) imported with a mixed vendor set, read back,
and run as a seeded sim campaign with uTNT: the per-topology table of the README
(docs/imports.md holds every row).

    .venv/bin/python benchmarks/bench_imports.py [--group topozoo|sndlib|caida] [--only NAME]
        [--vps 5 --dsts 10 --seed 2] [--max-routers N] [--json out.json] [--markdown out.md]

For each graph: `testbed import SOURCE --vendors cisco=0.5,juniper=0.5 --domains 2 --classes
invisible-php,explicit --seed SEED --vps V --dsts D` (one LDP policy per domain, the importer's
default), the written file loaded back and compared with what was imported, then `testbed
campaign LAB --seed 1` on the sim in this process. Figures per graph: routers, links, domains,
traces; truth tunnels present (findable), undetectable, zero-LSR segments (not tunnels);
zero-LSR tunnels the scorer counted (must be 0); uTNT's recall and precision; false tunnels,
false LSRs; misses, and misses without a named cause (must be 0); seconds. Nothing here is
timed for a claim: seconds are one run's wall clock on a shared machine (no median needed).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VENDORS = "cisco=0.5,juniper=0.5"
CLASSES = "invisible-php,explicit"


def one(source: str, vps: int, dsts: int, seed: int, folder: Path, probes: str = "all") -> dict:
    from testbed.experiments.campaign import campaign
    from testbed.importers import import_lab, lab_dict, write
    from testbed.lab import load_lab
    from testbed.lab.loader import render
    from testbed.yamlpos import load_with_lines
    t0 = time.perf_counter()
    doc = import_lab(source, vendors=VENDORS, domains=2, classes=CLASSES, vps=vps, dsts=dsts, probes=probes,
                     seed=seed)
    f = folder / (source.replace(":", "-") + ".yaml")
    write(doc, str(f), f"testbed import {source}")
    text, _ = render(f, {})
    data, _ = load_with_lines(text)
    loads_back = data == lab_dict(doc)
    lab = load_lab(f)
    c = campaign(lab, seed=1, workers=1)
    truth = c.pop("_truth")
    segments = sum(len(p.get("segments", [])) for pr in truth["probes"] for p in pr["paths"][:1])
    zero_counted = 0
    present = undetectable = 0
    ov = c["overall"]
    for k in c["classes"].values():
        present += k["present"]
        undetectable += k["undetectable"]
    for row in c["per_trace"]:
        zero_counted += sum(1 for t in row["truth"] if t.endswith("(0 LSRs)"))
    misses = sum(c["misses"].values())
    unnamed = sum(v for k, v in c["misses"].items() if "no reason named" in k)
    return {"source": source, "routers": c["routers"], "links": len(lab.links), "domains": len(c["domains"]),
            "traces": c["traces"], "loads_back": loads_back, "present": present, "undetectable": undetectable,
            "segments": segments, "zero_lsr_counted": zero_counted, "recall": ov["recall"],
            "precision": ov["precision"], "false_tunnels": ov["false_tunnels"], "false_lsrs": ov["false_lsrs"],
            "misses": misses, "unnamed_misses": unnamed, "miss_causes": c["misses"],
            "seconds": round(time.perf_counter() - t0, 2)}


def pct(v):
    return "-" if v is None else f"{100 * v:.1f}"


def markdown(rows: list[dict]) -> str:
    head = ("| topology | routers | links | domains | traces | loads back | tunnels present | undetectable | "
            "zero-LSR segments | zero-LSR counted | recall % | precision % | false tunnels | false LSRs | misses | "
            "unnamed misses | s |\n|" + "---|" * 17)
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['source']} | error: {r['error']} |" + " |" * 15)
            continue
        lines.append(f"| {r['source']} | {r['routers']} | {r['links']} | {r['domains']} | {r['traces']} | "
                     f"{'yes' if r['loads_back'] else 'NO'} | {r['present']} | {r['undetectable']} | {r['segments']} | "
                     f"{r['zero_lsr_counted']} | {pct(r['recall'])} | {pct(r['precision'])} | {r['false_tunnels']} | "
                     f"{r['false_lsrs']} | {r['misses']} | {r['unnamed_misses']} | {r['seconds']} |")
    return "\n".join(lines) + "\n"


def totals(rows: list[dict]) -> dict:
    ok = [r for r in rows if "error" not in r]
    keys = ("traces", "present", "undetectable", "segments", "zero_lsr_counted", "false_tunnels", "false_lsrs",
            "misses", "unnamed_misses")
    out = {k: sum(r[k] for r in ok) for k in keys}
    out.update(graphs=len(rows), errors=len(rows) - len(ok), loads_back=sum(r["loads_back"] for r in ok))
    return out


def summary(rows: list[dict]) -> str:
    """One line per group (and all): what the README shows; docs/imports.md has every row."""
    head = ("| graphs | routers | load back | traces | tunnels present | undetectable | zero-LSR segments | "
            "zero-LSR counted | recall % | precision % | false tunnels | false LSRs | misses | unnamed misses |\n|"
            + "---|" * 15)
    lines = [head.replace("| graphs |", "| group | graphs |", 1)]
    groups = {}
    for r in rows:
        groups.setdefault(r["source"].split(":")[0], []).append(r)
    for name, rs in [*groups.items(), ("all", rows)]:
        ok = [r for r in rs if "error" not in r]
        tp = sum(round((r["recall"] or 0) * r["present"]) for r in ok)
        rep = sum(round(tp_r / r["precision"]) if r["precision"] else 0
                  for r in ok for tp_r in [round((r["recall"] or 0) * r["present"])])
        t = totals(rs)
        not_run = f" ({t['errors']} not run)" if t["errors"] else ""
        lines.append(f"| {name} | {len(rs)}{not_run} | "
                     f"{min((r['routers'] for r in ok), default=0)}-{max((r['routers'] for r in ok), default=0)} | "
                     f"{t['loads_back']}/{len(ok)} | {t['traces']} | {t['present']} | {t['undetectable']} | "
                     f"{t['segments']} | {t['zero_lsr_counted']} | {pct(tp / t['present'] if t['present'] else None)} | "
                     f"{pct(tp / rep if rep else None)} | {t['false_tunnels']} | {t['false_lsrs']} | {t['misses']} | "
                     f"{t['unnamed_misses']} |")
    return "\n".join(lines) + "\n"


def page(rows: list[dict]) -> str:
    """docs/imports.md: how the table was made, the summary, the causes of misses, every row."""
    causes: dict = {}
    for r in rows:
        for k, v in (r.get("miss_causes") or {}).items():
            causes[k] = causes.get(k, 0) + v
    skipped = [r for r in rows if "error" in r]
    return (
        "# Every topohub graph imported and probed\n\n"
        "Made by `benchmarks/bench_imports.py` (see its docstring): every Topology Zoo, SNDlib and CAIDA\n"
        f"graph of the `topohub` package imported as `testbed import SOURCE --vendors {VENDORS} --domains 2\n"
        f"--classes {CLASSES} --seed 2 --vps 5 --dsts 10` (one LDP policy per domain), the file read back\n"
        "and compared with what was imported, then a seeded sim campaign (`--seed 1`) with uTNT, scored\n"
        "against the truth. *Zero-LSR segments* are labelled stretches with no LSR (docs/tunnels.md):\n"
        "never tunnels; *zero-LSR counted* is how many the scorer counted as tunnels (0 everywhere).\n"
        "*Misses* are missed tunnels and partly found ones with a cause; *unnamed misses* those\n"
        "without a named cause. Seconds: one run's wall clock on a shared 2-core machine.\n\n"
        + summary(rows) + "\n"
        + ("Misses by the cause the scorer names: "
           + ", ".join(f"{k} {v}" for k, v in sorted(causes.items(), key=lambda kv: -kv[1])) + ".\n\n"
           if causes else "No misses.\n\n")
        + (f"Not run: {', '.join(r['source'] + ' (' + r['error'] + ')' for r in skipped)}.\n\n" if skipped else "")
        + markdown(rows))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", action="append", choices=["topozoo", "sndlib", "caida"])
    ap.add_argument("--only", action="append", help="GROUP:NAME (repeatable)")
    ap.add_argument("--vps", type=int, default=5)
    ap.add_argument("--dsts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--max-routers", type=int, default=None, help="skip graphs with more routers (listed as skipped)")
    ap.add_argument("--json", help="write every row here")
    ap.add_argument("--markdown", help="write the table here")
    ap.add_argument("--summary", help="write the per-group summary table here")
    ap.add_argument("--page", help="write docs/imports.md (summary, causes, every row) here")
    ap.add_argument("--from-json", nargs="+", metavar="FILE", help="no run: the tables from rows saved by --json")
    a = ap.parse_args(argv)
    if a.from_json:
        import json as _json
        rows = [r for f in a.from_json for r in _json.loads(Path(f).read_text())["rows"]]
        order = {"topozoo": 0, "sndlib": 1, "caida": 2}
        rows.sort(key=lambda r: (order[r["source"].split(":")[0]], r["source"].split(":")[1].lower()))
        if a.markdown:
            Path(a.markdown).write_text(markdown(rows))
        if a.summary:
            Path(a.summary).write_text(summary(rows))
        if a.page:
            Path(a.page).write_text(page(rows))
        print(_json.dumps(totals(rows)))
        return 0
    from testbed.importers import topohub
    sources = a.only or [f"{g}:{n}" for g in (a.group or ["topozoo", "sndlib", "caida"]) for n in topohub.names(g)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, src in enumerate(sources, 1):
            if a.max_routers is not None:
                g = topohub.load(*src.split(":", 1))
                if g.number_of_nodes() > a.max_routers:
                    rows.append({"source": src, "error": f"skipped: {g.number_of_nodes()} routers > --max-routers"})
                    continue
            try:
                r = one(src, a.vps, a.dsts, a.seed, Path(tmp))
            except Exception as e:              # a row says what failed; the run goes on
                r = {"source": src, "error": f"{type(e).__name__}: {str(e)[:200]}"}
            rows.append(r)
            print(f"[{k}/{len(sources)}] {json.dumps(r)}", file=sys.stderr, flush=True)
            if a.json:                          # written as it goes: a long run can be read midway
                Path(a.json).write_text(json.dumps({"rows": rows, "totals": totals(rows)}, indent=1))
    t = totals(rows)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "totals": t}, indent=1))
    if a.markdown:
        Path(a.markdown).write_text(markdown(rows))
    if a.summary:
        Path(a.summary).write_text(summary(rows))
    if a.page:
        Path(a.page).write_text(page(rows))
    print(json.dumps(t))
    return 1 if t["errors"] or t["zero_lsr_counted"] or t["loads_back"] != t["graphs"] - t["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
