"""`testbed runs`: the runs recorded in the local index, newest first."""
from __future__ import annotations

import argparse

from testbed.cli.console import console
from testbed.cliargs import print_json


def _runs_limit(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 100000:
        raise argparse.ArgumentTypeError("a whole number from 1 to 100000")
    return n


def run(args):
    from testbed.experiments.history import print_runs, runs
    rows = runs(lab=args.lab, detector=args.detector, limit=args.limit)
    if args.json:
        return print_json(rows)
    print_runs(rows, console())


def add_parser(sub):
    s = sub.add_parser("runs", help="the runs recorded in the local index (newest first), to compare over time")
    s.add_argument("--lab", help="only runs of this lab")
    s.add_argument("--detector", help="only runs of this detector")
    s.add_argument("--limit", type=_runs_limit, default=20, help="how many (default 20, at most 100000)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=run)
