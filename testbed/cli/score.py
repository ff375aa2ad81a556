"""`testbed score LAB RESULTS...`: score result files (any detector's output) against a lab's ground truth."""
from __future__ import annotations

from testbed.cli.console import console
from testbed.cliargs import print_json
from testbed.errors import TestbedError


def run(args):
    """Score result files (any detector's output) against a lab's ground truth."""
    from testbed.experiments.score_files import score_files
    if args.name:
        lab_arg, results = None, args.items
    else:
        if len(args.items) < 2:
            raise TestbedError("give the lab and at least one result file: testbed score LAB RESULTS... "
                               "(or --name RUNNING RESULTS...)")
        lab_arg, results = args.items[0], args.items[1:]
    docs, lab = score_files(lab_arg, results, fmt=args.format, sets=args.set, running=args.name,
                            force=getattr(args, "force", False))
    from testbed.experiments.gate import check
    if args.json:
        print_json(docs[0] if len(docs) == 1 else {"lab": lab.name, "results": docs})
    else:
        from testbed.experiments.report import print_comparison, print_run
        c = console()
        for doc in docs:
            print_run(doc, lab, c)
        if len(docs) > 1:
            print_comparison(docs, lab, c)
    from testbed.experiments.history import record
    for doc in docs:
        record(args, "score", doc, doc["score"]["totals"])
    check(args, [(f"{lab.name} {path}", doc["score"]["totals"]) for path, doc in zip(results, docs)])


def add_parser(sub):
    from testbed.experiments.gate import add_args as add_gate_args
    from testbed.experiments.history import add_args as add_history_args
    s = sub.add_parser("score", help="score detector output files against a lab's ground truth")
    s.add_argument("items", nargs="+", metavar="LAB RESULTS",
                   help="the lab (library name or file; left out with --name) and the result files ('-': stdin)")
    s.add_argument("--format", help="utnt-json, tnt-text, scamper-json or traceroute (default: detected per file)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter of the lab (repeatable)")
    s.add_argument("--name", metavar="RUNNING", help="score against the running lab of this name (its file and "
                   "parameters)")
    s.add_argument("--force", action="store_true", help="score a result recorded on another lab, or on the lab "
                   "file as it was before an edit (refused without it)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_gate_args(s)
    add_history_args(s)
    s.set_defaults(fn=run)
