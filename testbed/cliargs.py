"""What every subcommand module shares: loading the lab an argument names, checking --from and
--to against it, the lab-file options, and JSON on stdout. The command modules
(testbed/cli/*.py) import it; it imports none of them."""
from __future__ import annotations

import json
import sys

from testbed.errors import InputError


def load_lab_arg(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    lab = load_lab(args.lab, parse_sets(getattr(args, "set", None)), no_limits=getattr(args, "no_limits", False),
                   local_first=getattr(args, "local_includes", False))
    check_endpoints(lab, getattr(args, "source", None), getattr(args, "dest", None))
    return lab


def check_endpoints(lab, source, dest):
    """--from is a node of the lab (a host, or a router probing with its own stack: a router
    vantage point), --to a node or an IPv4 address."""
    hosts = [h.name for h in lab.hosts]
    # `--from all` and `--from vp1,vp2` name many vantage points (probe's many-instance mode)
    for one in ([] if source in (None, "all") else source.split(",")):
        if one.strip() not in lab.nodes:
            raise InputError(f"{lab.source}: --from {one.strip()}: not a node of the lab (hosts: "
                             f"{', '.join(hosts) or 'none'}; or a router; or all)")
    if source is None and not lab.probes and not hosts:
        raise InputError(f"{lab.source}: the lab has no host to probe from; add one under hosts:")
    if dest is not None and dest not in lab.nodes:
        from ipaddress import IPv4Address
        try:
            IPv4Address(dest)
        except ValueError:
            raise InputError(f"{lab.source}: --to {dest}: neither a node of the lab nor an IPv4 address "
                             f"(nodes: {', '.join(lab.nodes)})") from None


def print_json(obj):
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def add_lab_file_args(s):
    s.add_argument("--no-limits", action="store_true",
                   help="lift the lab size limits (testbed/lab/limits.yaml) and parameters' upper bounds")
    s.add_argument("--local-includes", action="store_true",
                   help="snippets in the lab's own folder win over the library's same-named ones")


# ---------------------------------------------------------------- argument types with bounds
# argparse's int and float accept 10**4000, nan and inf; these refuse what no command can
# use, as one line (exit 2) naming the allowed range, before anything runs.
def _shown(s: str) -> str:
    from testbed.errors import printable
    s = printable(str(s))
    return s if len(s) <= 30 else s[:27] + "..."


def int_in(lo: int, hi: int):
    import argparse

    def whole(s: str) -> int:
        t = str(s).strip()
        if len(t) > 20:
            raise argparse.ArgumentTypeError(f"'{_shown(s)}' is not a whole number from {lo} to {hi}")
        try:
            v = int(t, 0) if t.lower().startswith(("0x", "-0x")) else int(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{_shown(s)}' is not a whole number from {lo} to {hi}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is out of range: give a whole number from {lo} to {hi}")
        return v
    whole.__name__ = "int"
    return whole


def float_in(lo: float, hi: float):
    import argparse
    import math

    def number(s: str) -> float:
        try:
            v = float(str(s)) if len(str(s)) <= 30 else math.nan
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"'{_shown(s)}' is not a number from {lo:g} to {hi:g}")
        return v
    number.__name__ = "float"
    return number


def scheduler_address(s: str) -> str:
    """A Dask scheduler's address: tcp://HOST:PORT (or tls://, inproc://)."""
    import argparse
    import re
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[A-Za-z0-9._\-\[\]:]{1,253}:\d{1,5}", str(s)):
        raise argparse.ArgumentTypeError(f"'{_shown(s)}' is not a scheduler address; give tcp://HOST:PORT "
                                         "(e.g. tcp://127.0.0.1:8786)")
    return s


def SEED(s: str) -> int:       # noqa: N802 - an argparse type, named like int
    return int_in(-(1 << 63), (1 << 63) - 1)(s)


def fail_if_unvouched(bad: list[dict] | None):
    """Exit 1 after the output when traces could not be vouched for (a lab found broken by the
    health check after probing, a detector that failed): one line each, on stderr."""
    if not bad:
        return
    from testbed.errors import printable
    sys.stdout.flush()
    lines = [f"not vouched for: {b.get('vantage_point')} -> {b.get('dst')}: {b.get('why')}" for b in bad[:20]]
    if len(bad) > 20:
        lines.append(f"... and {len(bad) - 20} more (all in --json's \"unvouched\")")
    for ln in lines:
        try:
            print(printable(ln), file=sys.stderr, flush=True)
        except (BrokenPipeError, OSError):
            pass
    raise SystemExit(1)
