"""`testbed ondemand LAB`: the uTNT paper's use case, events onto N nodes per detector runtime."""
from __future__ import annotations

import json
import sys

from testbed.cli.arguments import add_detector_args, detector_of
from testbed.cliargs import float_in, int_in


def run(args):
    from testbed.experiments.ondemand import ondemand, plot, print_table
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    lab = load_lab(args.lab, parse_sets(args.set))
    progress = None
    if not args.json:
        def progress(msg):
            print(f"» {msg}", file=sys.stderr, flush=True)
    doc = ondemand(lab, name=args.name, events=args.events, interval=args.interval, nodes=args.nodes,
                   runtimes=args.runtimes.split(",") if args.runtimes else None, dest=args.dest,
                   extra=args.utnt, progress=progress, **detector_of(args))
    png = args.plot                       # written only where asked: nothing in the working directory
    if png and doc["runtimes"]:
        plot(doc, png)
        doc["plot"] = png
    bad = [r for r in doc["runtimes"] if r["failed"] or r.get("unvouched") or r.get("health")]
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        from rich.console import Console
        print_table(doc, Console(width=None if sys.stdout.isatty() else 180))
        if doc.get("plot"):
            print(f"wrote {png}")
        for r in bad:
            print(f"{r['runtime']}: {r['failed']} events failed"
                  + (f", {r['unvouched']} traces not scored (they ended after the lab was last seen healthy)"
                     if r.get("unvouched") else "") + (f"; {r['health']}" if r.get("health") else ""),
                  file=sys.stderr)
    if bad:
        raise SystemExit(1)      # lost events or traces nobody can vouch for: not a success


def add_parser(sub):
    s = sub.add_parser("ondemand", help="the uTNT paper's use case: events onto N nodes, one instance each, "
                                        "per detector runtime (uTNT process, TNT, micro-VM)")
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--events", type=int_in(1, 100_000), default=59, help="events to fire (59, as in the paper)")
    s.add_argument("--interval", type=float_in(0.001, 3600), default=1.0, help="seconds between events (1)")
    s.add_argument("--nodes", type=int_in(1, 256), default=5, help="vantage-point nodes, one instance each at a time (5)")
    s.add_argument("--runtimes", help="comma-separated: utnt-process,tnt-process,utnt-vm,utnt-vm-micro,utnt-vm-snap,tnt-vm "
                   "(default: all)")
    add_detector_args(s)
    s.add_argument("--to", dest="dest", help="destination for every event (default: each node's probe target)")
    s.add_argument("--name", help="lab instance name (default: the lab's; brought up and down if not up)")
    s.add_argument("--plot", help="write a PNG of completed events over time there (default: none written)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=run)
