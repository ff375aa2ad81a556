"""`testbed`: the command line of uTNT-lab, one module per command in this package.

Every command that reports takes --json. Errors are one line each (file:line: field: what
is wrong and how to fix it); exit status 2 for bad input, 1 for a failed run."""
from __future__ import annotations

import argparse
import sys


from testbed.cli import (campaign, capture, deploy, diff, down, export, graph, import_, matrix, ondemand, probe, render,
                         run, runs, score, scoreboard, show, signatures, split, status, sweep, trace, truth, up, validate,
                         vm)
from testbed.cli import exec as exec_
from testbed.cli import list as list_
from testbed.cli.guard import guard
from testbed.errors import InputError

# one module per command, in the order `testbed --help` lists them; each has add_parser(sub) and run(args)
COMMANDS = (list_, validate, show, truth, render, trace, probe, run, score, diff, runs, scoreboard, sweep, matrix,
            graph, signatures, up, split, status, exec_, capture, down, export, deploy, ondemand, vm, import_, campaign)


def build_parser():
    p = Parser(prog="testbed", description="uTNT-lab: MPLS labs with known ground truth")
    from testbed import __version__
    p.add_argument("--version", action="version", version=f"testbed (uTNT-lab) {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def split_dashdash(argv):
    """What comes before `--` is ours; what comes after goes to the detector (or tool) as is."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def main(argv=None):
    """The command line, inside a guard: whatever happens, the user gets one line (and the
    path of a saved traceback when it is our bug), never a traceback."""
    raw = list(sys.argv[1:] if argv is None else argv)
    return guard(lambda: _main(raw), json_errors="--json" in split_dashdash(raw)[0])


def _main(raw):
    argv, utnt_extra = split_dashdash(raw)
    args = build_parser().parse_args(argv)
    args.utnt = utnt_extra
    if getattr(args, "name", None) is not None:          # --name '' is an error, not the lab's name
        from testbed.runtimes.netns.names import check_name
        check_name(args.name)
    args.fn(args)
    return 0


class Parser(argparse.ArgumentParser):
    """argparse's errors as one line (exit 2), like every other bad input."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")
