"""Argument groups that several commands declare alike."""
from __future__ import annotations

from testbed.cliargs import add_lab_file_args, float_in


def add_lab_command(sub, name: str, fn, help_: str):
    """A command on one lab file: LAB, --set, --json and the lab-file options."""
    s = sub.add_parser(name, help=help_)
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_lab_file_args(s)
    s.set_defaults(fn=fn)
    return s


def add_control_plane_args(s):
    s.add_argument("--control-plane", choices=["computed", "frr"], default=None,
                   help="where routers' FIB and LFIB come from: computed, or real FRR (zebra, ospfd, ldpd) in "
                        "every router namespace (default: the lab's control_plane, else computed)")
    s.add_argument("--converge-timeout", type=float_in(0.1, 3600), metavar="S", default=None,
                   help="FRR: seconds to wait for OSPF, LDP and the LFIB to converge (default 90 + routers/2)")


def add_runtime_arg(s, default: str | None, note: str = "", *, keeps_instances: bool = False, any_: bool = False):
    """--runtime, its choices from the runtime registry (testbed/runtimes/registry.py): the runtimes
    a command can bring a lab up on (keeps_instances: those whose lab instances outlive the
    command, for `up`; any_: every runtime, for a command on an instance that is up)."""
    from testbed.runtimes import registry
    choices = registry.names() if any_ else registry.names(in_process=False) if keeps_instances else \
        registry.names(interactive=False)
    s.add_argument("--runtime", choices=choices, default=default,
                   help="; ".join(f"{n}: {registry.get(n).summary}" for n in choices)
                   + (f" (default {default})" if default else "") + (f"; {note}" if note else ""))


def add_detector_args(s):
    """--detector NAME (any registered detector: testbed.detectors.registry, the built-ins and
    the installed packages' entry points), --detector-cmd TEMPLATE and --format: declared here
    once, for every experiment that probes."""
    from testbed.detectors.registry import DEFAULT, names
    s.add_argument("--detector", choices=names(), default=None, metavar="NAME",
                   help=f"who probes: {', '.join(names())} (default {DEFAULT}; a package of yours adds its own "
                        "through the entry-point group utnt_lab.detectors, docs/tutorial.md)")
    s.add_argument("--detector-cmd", metavar="'CMD ... {dst}'",
                   help="your own detector as a command, run per destination with real packets (netns): in the "
                        "vantage point's namespace, or with {tap} {ip} {gw} {mac} on a tap of its own")
    s.add_argument("--format", help="format of --detector-cmd's output (default: detected): "
                   "utnt-json, tnt-text, scamper-json, traceroute")


def detector_of(args) -> dict:
    """The detector keywords of the experiments (detector, detector_cmd, fmt) from the arguments."""
    return {"detector": getattr(args, "detector", None), "detector_cmd": getattr(args, "detector_cmd", None),
            "fmt": getattr(args, "format", None)}
