"""Run every security case and print the table: case | refused? | message | left behind.

    .venv/bin/python tests/security/report.py            # markdown table on stdout
    .venv/bin/python tests/security/report.py --json     # one object per case
    .venv/bin/python tests/security/report.py -k ssti    # only cases whose name contains ssti
    .venv/bin/python tests/security/report.py -m cases_inputs   # only the cases of one module

Cases come from every tests/security/cases*.py (collect.py). The last line totals them the
way issue 21 counts: tracebacks, wrongly accepted, code execution or file access, leaks.

Exit status 0 when every case was refused as expected, left nothing behind and leaked
nothing; 1 otherwise. Runs in about half a minute (the CLI in this process for most cases,
a real `testbed`/`utnt` process for signals, pipes and stdin).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collect import all_cases  # noqa: E402
from runner import run_case  # noqa: E402


def _cell(s: str, n: int = 110) -> str:
    s = " ".join(str(s).split()).replace("|", "\\|")
    return s if len(s) <= n else s[:n - 1] + "…"


def totals(rows: list[dict]) -> dict:
    """The issue's categories. A case counts once, in its worst category."""
    out = {"cases": len(rows), "handled": 0, "tracebacks": 0, "wrongly_accepted": 0, "code_or_file_access": 0,
           "leaks": 0, "left_behind": 0}
    for r in rows:
        if r.get("code_ran") or any("SECRET" in x or "s3cr3t" in x for x in r["leaked"]):
            out["code_or_file_access"] += 1
        elif r["traceback"]:
            out["tracebacks"] += 1
        elif r["leaked"]:
            out["leaks"] += 1
        elif not r["refused"]:
            out["wrongly_accepted"] += 1
        elif r["left_behind"] or not r["needle_ok"]:
            out["left_behind"] += 1
        else:
            out["handled"] += 1
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("-m", default="", help="only the cases of this module (cases, cases_inputs, ...)")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    chosen = [c for c in all_cases() if a.k in c.name and (not a.m or c.module == a.m)]

    def one(c):
        with tempfile.TemporaryDirectory(prefix="tb-sec-") as d:
            r = run_case(c, Path(d))
        if not a.json:
            print(f"  {c.name}: {'ok' if r['ok'] else 'FAILED'}", file=sys.stderr)
        return r
    rows = [one(c) for c in chosen]
    for c, r in zip(chosen, rows):
        r["module"] = c.module
    total = time.monotonic() - t0
    bad = [r for r in rows if not r["ok"]]
    counts = totals(rows)
    if a.json:
        json.dump({"cases": rows, "total": len(rows), "failed": [r["case"] for r in bad], "totals": counts,
                   "seconds": round(total, 1)}, sys.stdout, indent=2)
        print()
        return 1 if bad else 0
    print("| case | input | refused? | exit | message | left behind |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        verdict = {"refused": "refused", "library": "library snippet used", "quiet": "quiet end",
                   "refused-or-empty": "refused", "valid": "accepted (valid)"}[r["expect"]] if r["refused"] else "**NO**"
        if r["leaked"]:
            verdict += " **LEAKED**"
        print(f"| {r['case']} | {_cell(r['what'], 60)} | {verdict} | {r['exit']} | {_cell(r['message'])} | "
              f"{_cell(', '.join(r['left_behind']) or 'nothing', 60)} |")
    print(f"\n{len(rows)} cases, {len(rows) - len(bad)} as expected, {len(bad)} not"
          + (f" ({', '.join(r['case'] for r in bad)})" if bad else "") + f"; {total:.1f} s")
    print(f"totals: {counts['cases']} cases, {counts['handled']} handled cleanly, {counts['tracebacks']} tracebacks, "
          f"{counts['wrongly_accepted']} wrongly accepted, {counts['code_or_file_access']} code execution or file "
          f"access, {counts['leaks']} leaks, {counts['left_behind']} left something behind")
    for m in sorted({r["module"] for r in rows}):
        mine = [r for r in rows if r["module"] == m]
        print(f"  {m}: {len(mine)} cases, {sum(r['ok'] for r in mine)} as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
