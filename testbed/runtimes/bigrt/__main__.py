"""The big-lab runtime's command line (until `testbed up --runtime bigrt` is wired in):

    python -m testbed.runtimes.bigrt up LAB [--set K=V ...] [--name NAME] [--workers N]
                                      [--pcap LINK ...] [--json]
    python -m testbed.runtimes.bigrt down NAME [--json]

LAB is a library lab name or a lab file (no size limits). Progress goes to stderr; --json
prints the lab's status (the namespace runtime's, `testbed status NAME --json`) on stdout.
Everything else (`testbed status`, `testbed probe`, `testbed exec` on hosts and `_vp-<router>`,
`testbed down`) works on the running lab as on the namespace runtime. Exit status as
`testbed`'s: 2 bad input, 1 failed, 130 interrupted (what `up` built is torn down).
"""
from __future__ import annotations

import argparse
import sys


def _up(args):
    from testbed.lab.loader import parse_sets
    from testbed.runtimes.netns import api as nsapi
    from testbed.runtimes.netns_cli import Reporter, _err_console, _print_json

    from . import api
    rep = Reporter(_err_console())
    params = parse_sets(args.set)
    name = args.name
    if name is None:                   # the lab's own name: load it here first
        from testbed.lab import load_lab
        lab = load_lab(args.lab, params, no_limits=True)
        name, source = lab.name, lab
    else:
        source = args.lab
    rep.c.print(f"bringing [bold]{name}[/] up on the big-lab runtime")
    try:
        st = api.up(source, params=params, name=name, workers=args.workers, progress=rep, pcap=args.pcap or None)
    finally:
        rep.close()
    if args.json:
        return _print_json(nsapi.status(st["name"]))
    print(f"{st['name']} is up in {st['up_seconds']:.2f} s: {len(st['routers'])} routers on {len(st['workers'])} "
          f"engine workers, {len(st['namespaces'])} namespaces")


def _down(args):
    from testbed.runtimes.netns_cli import _print_json

    from . import api
    rep = api.down(args.name)
    if args.json:
        return _print_json(rep)
    print(f"{args.name}: {'down' if rep['was_up'] else 'was not up'} ({rep['namespaces_removed']} namespaces removed"
          f"{', left: ' + ', '.join(rep['left']) if rep['left'] else ''})")


def main(argv=None) -> int:
    from testbed.cli import _Parser, guard
    p = _Parser(prog="python -m testbed.runtimes.bigrt", description="the big-lab runtime (issue 23)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("up", help="bring a lab up: routers in engine processes, hosts as namespaces")
    s.add_argument("lab")
    s.add_argument("--set", action="append", metavar="K=V", help="a lab parameter (repeatable)")
    s.add_argument("--name", help="instance name (default: the lab's)")
    s.add_argument("--workers", type=int, help="engine processes (default: one per core, one per 2,000 routers)")
    s.add_argument("--pcap", action="append", metavar="LINK", help="capture this link between routers in the engine")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_up)
    s = sub.add_parser("down", help="take a lab down (as `testbed down NAME`)")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=_down)
    raw = list(sys.argv[1:] if argv is None else argv)

    def run():
        args = p.parse_args(raw)
        if getattr(args, "name", None) is not None:
            from testbed.runtimes.netns.names import check_name
            check_name(args.name)
        if getattr(args, "workers", None) is not None and args.workers < 1:
            from testbed.errors import InputError
            raise InputError(f"--workers {args.workers}: give 1 or more engine processes")
        args.fn(args)
    return guard(run, json_errors="--json" in raw)


if __name__ == "__main__":
    sys.exit(main())
