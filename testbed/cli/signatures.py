"""`testbed signatures`: the per-lab signature table (generated from sim runs)."""
from __future__ import annotations

from testbed.cliargs import print_json


def run(args):
    from testbed.tools.signatures import signature_table
    rows = signature_table(progress=not args.json)
    if args.json:
        return print_json(rows)
    from testbed.tools.signatures import to_markdown
    print(to_markdown(rows))


def add_parser(sub):
    s = sub.add_parser("signatures", help="the per-lab signature table (generated from sim runs)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
