"""`testbed exec NAME NODE -- CMD [ARGS...]`: run a command in a node's namespace; its exit status is passed through."""
from __future__ import annotations

import argparse
import os
import sys

from testbed.errors import TestbedError


def run(args):
    from testbed import api
    cmd = list(args.command or []) or list(getattr(args, "utnt", None) or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    argv = api.exec_argv(args.name, args.node, cmd)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        raise TestbedError(f"cannot run {argv[0]}: {e.strerror}") from None


def add_parser(sub):
    s = sub.add_parser("exec", help="run a command in a node's namespace: exec NAME NODE -- CMD...")
    s.add_argument("name", help="lab instance name")
    s.add_argument("node", help="node name (_sw: the switch namespace with the bridges and taps)")
    s.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments (after --)")
    s.set_defaults(fn=run)
