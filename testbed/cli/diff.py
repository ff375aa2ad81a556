"""`testbed diff A.json B.json`: two scored runs of one lab, per trace and per verdict."""
from __future__ import annotations

import sys

from testbed.cli.console import console
from testbed.cliargs import print_json


def run(args):
    from testbed.experiments.diff import diff, load_pair, print_diff
    a, b = load_pair(args.a, args.b, force=args.force)
    d = diff(a, b)
    if args.json:
        print_json(d)
    else:
        print_diff(d, console())
    if args.strict and d["regressions"]:
        sys.stdout.flush()
        print(f"below the bar: {d['regressions']} tunnel(s) right in {args.a} and not in {args.b}", file=sys.stderr)
        raise SystemExit(3)


def add_parser(sub):
    s = sub.add_parser("diff", help="two scored runs of one lab (two detectors, or two versions) per trace and "
                                    "per verdict")
    s.add_argument("a", metavar="A.json", help="`testbed run --json` or `testbed score --json` output")
    s.add_argument("b", metavar="B.json", help="the same, of the same lab")
    s.add_argument("--force", action="store_true", help="compare runs of different labs or parameters anyway")
    s.add_argument("--strict", action="store_true", help="exit 3 when B got a tunnel wrong that A got right")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=run)
