"""Run every security case and print the table: case | refused? | message | left behind.

    .venv/bin/python tests/security/report.py            # markdown table on stdout
    .venv/bin/python tests/security/report.py --json     # one object per case
    .venv/bin/python tests/security/report.py -k ssti    # only cases whose name contains ssti

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

from cases import cases  # noqa: E402
from runner import run_case  # noqa: E402


def _cell(s: str, n: int = 110) -> str:
    s = " ".join(str(s).split()).replace("|", "\\|")
    return s if len(s) <= n else s[:n - 1] + "…"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    chosen = [c for c in cases() if a.k in c.name]

    def one(c):
        with tempfile.TemporaryDirectory(prefix="tb-sec-") as d:
            r = run_case(c, Path(d))
        if not a.json:
            print(f"  {c.name}: {'ok' if r['ok'] else 'FAILED'}", file=sys.stderr)
        return r
    rows = [one(c) for c in chosen]
    total = time.monotonic() - t0
    bad = [r for r in rows if not r["ok"]]
    if a.json:
        json.dump({"cases": rows, "total": len(rows), "failed": [r["case"] for r in bad],
                   "seconds": round(total, 1)}, sys.stdout, indent=2)
        print()
        return 1 if bad else 0
    print("| case | input | refused? | exit | message | left behind |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        verdict = {"refused": "refused", "library": "library snippet used", "quiet": "quiet end",
                   "refused-or-empty": "refused"}[r["expect"]] if r["refused"] else "**NO**"
        if r["leaked"]:
            verdict += " **LEAKED**"
        print(f"| {r['case']} | {_cell(r['what'], 60)} | {verdict} | {r['exit']} | {_cell(r['message'])} | "
              f"{_cell(', '.join(r['left_behind']) or 'nothing', 60)} |")
    print(f"\n{len(rows)} cases, {len(rows) - len(bad)} as expected, {len(bad)} not"
          + (f" ({', '.join(r['case'] for r in bad)})" if bad else "") + f"; {total:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
