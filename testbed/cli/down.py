"""`testbed down NAME | --all`: remove a lab's namespaces, links, bridges, taps and workers."""
from __future__ import annotations

import sys

from testbed.cliargs import print_json
from testbed.errors import InputError, TestbedError


def run(args):
    from testbed import api
    if args.all == bool(args.name):
        raise InputError("give a lab name or --all (not both)")
    reps = _down_all(args) if args.all else [api.down(args.name)]
    if reps is None:
        return
    if args.json:
        return print_json(reps if args.all else reps[0])
    if not reps:
        print("no lab was up")
    for r in reps:
        if not r["was_up"]:
            print(f"{r['name']}: was not up; nothing to do")
            continue
        print(f"{r['name']}: down ({r['namespaces_removed']} namespaces removed, "
              f"{len(r['workers_stopped'])} engine workers stopped"
              + (f", {len(r['frr_stopped'])} FRR processes stopped" if r.get("frr_stopped") else "")
              + (f", {len(r.get('captures_stopped', []) + r.get('detectors_stopped', []))} captures and detector "
                 "runs stopped" if r.get("captures_stopped") or r.get("detectors_stopped") else "") + ")")
        for p in r["processes_still_inside"]:
            print(f"  note: pid {p['pid']} ({p['cmd']}) was still inside a namespace of the lab; the namespace "
                  "disappears when it exits", file=sys.stderr)
        if r["left"]:
            raise TestbedError(f"{r['name']}: namespaces left behind: {', '.join(r['left'][:5])}")


def _down_all(args):
    """--all removes every lab on the machine, other people's too: it lists them and asks
    (or takes --yes); without a terminal to ask on, it refuses."""
    from testbed.runtimes.netns import api, teardown
    api._require_root()
    every = teardown.all_names()
    if every and not args.yes:
        listing = ", ".join(f"{n} ({api.status(n).get('lab') or 'leftovers'})" for n in every)
        if not sys.stdin.isatty():
            raise InputError(f"down --all would remove {len(every)} labs: {listing}; nothing removed (no terminal "
                             "to ask on): give --yes, or take labs down by name")
        print(f"down --all removes {len(every)} labs, whoever started them: {listing}", file=sys.stderr)
        try:
            answer = input("remove them all? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed", file=sys.stderr)
            return None
    return teardown.down_all(every)           # the labs listed (and asked about), nothing else


def add_parser(sub):
    s = sub.add_parser("down", help="remove a lab's namespaces, links, bridges, taps and workers")
    s.add_argument("name", nargs="?", help="lab instance name")
    s.add_argument("--all", action="store_true", help="every lab up on this machine (lists them and asks)")
    s.add_argument("--yes", action="store_true", help="with --all: do not ask")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
