"""`utnt`: TNT with its own network stack, on a tap device or a packet socket.

    utnt -i 12.0.1.2 --tap tap-vp-lan --ip 12.0.0.254/24 --gw 12.0.0.1
    utnt -a targets.txt --iface eth0 --ip 12.0.0.9/24 --gw 12.0.0.1 --json

It needs no IP configuration on the host: ARP, IPv4, ICMP and UDP are its own.
"""
from __future__ import annotations

import argparse
import json
import sys
from ipaddress import IPv4Address, IPv4Interface
from typing import IO, TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from utnt.api import Options
    from utnt.net import ProbeParams
    from utnt.net.ports import Port
    from utnt.options import TntOptions

from utnt.api import add_options
from utnt.targets import IPV6_REFUSED, is_ipv6 as _is_ipv6


def _mac(s: str) -> bytes:
    b = bytes.fromhex(s.replace(":", "").replace("-", ""))
    if len(b) != 6:
        raise argparse.ArgumentTypeError(f"'{s}' is not a MAC address like 02:00:00:00:00:01")
    return b


def _iface(s: str) -> str:
    try:
        IPv4Interface(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not an address/prefix like 12.0.0.254/24") from None
    return s


def _addr(s: str) -> str:
    if _is_ipv6(s):
        raise argparse.ArgumentTypeError(f"'{s}' {IPV6_REFUSED}")
    try:
        IPv4Address(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not an IPv4 address") from None
    return s


def _version() -> str:
    """uTNT ships in the utnt-lab distribution; a copy without its metadata (a VM guest's
    bare tree) says so instead of guessing a number; so does one whose trimmed standard library
    leaves importlib.metadata out (the micro guest's)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return "(not installed)"
    try:
        return version("utnt-lab")
    except PackageNotFoundError:
        return "(not installed)"


class _VersionAction(argparse.Action):
    """--version, its number looked up only when asked: importlib.metadata (and the ~40
    modules it imports: email, zipfile, csv...) would otherwise load on every start, about
    half of uTNT's import time, which a micro-VM guest under TCG pays in seconds."""

    def __init__(self, option_strings: Sequence[str], prog: str, dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)
        self.prog = prog

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(f"{self.prog} {_version()}")
        parser.exit()


def build_parser(port_required: bool = True, prog: str = "utnt") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="uTNT: TNT (Trace the Naughty Tunnels) with its own "
                                "network stack, attached to an L2 port like a unikernel")
    p.add_argument("--version", action=_VersionAction, prog=prog)
    dst = p.add_mutually_exclusive_group(required=port_required)
    dst.add_argument("-i", dest="dst", type=_addr, help="a single destination")
    dst.add_argument("-a", dest="addrfile", help="file of destinations, one per line, '#' comments")
    add_options(p)
    port = p.add_mutually_exclusive_group(required=port_required)
    port.add_argument("--tap", help="tap device to attach to (in this network namespace)")
    port.add_argument("--iface", help="interface for a packet socket")
    p.add_argument("--ip", type=_iface, required=port_required, help="our address/prefix, e.g. 12.0.0.254/24")
    p.add_argument("--gw", type=_addr, required=port_required, help="gateway address")
    p.add_argument("--mac", type=_mac, help="our MAC (default: random, locally administered)")
    p.add_argument("--json", action="store_true", help="JSON output (hops and tunnels)")
    p.add_argument("--scamper-json", action="store_true",
                   help="scamper-style JSON, one trace object per line (as scamper -O json)")
    p.add_argument("-v", dest="verbose", action="store_true", help="verbose dump (failed attempts)")
    return p


def options_from(args: argparse.Namespace | Options, calibration: bool = False) -> TntOptions:
    """sc_tnt's options from parsed arguments (argparse's, or a utnt.Options)."""
    from utnt.api import Options
    return (args if isinstance(args, Options) else Options.from_args(args)).tnt_options(calibration)


def params_from(args: argparse.Namespace | Options) -> ProbeParams:
    from utnt.api import Options
    return (args if isinstance(args, Options) else Options.from_args(args)).probe_params()


def read_targets(path: str) -> list[str]:
    out: list[str] = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if _is_ipv6(line):
                raise SystemExit(f"utnt: {path}:{n}: '{line}' {IPV6_REFUSED}")
            try:
                IPv4Address(line)
            except ValueError:
                raise SystemExit(f"utnt: {path}:{n}: '{line}' is not an IPv4 address; one address per line") from None
            out.append(line)
    return out


def run(port: Port, args: argparse.Namespace, out: IO[str] = sys.stdout) -> dict[str, Any]:
    from utnt.api import Options, trace
    from utnt.output import dump_text
    targets = [args.dst] if args.dst else read_targets(args.addrfile)
    doc, traces = trace(port, targets, Options.from_args(args), ip=args.ip, gw=args.gw, mac=args.mac,
                        keep_traces=True)
    if getattr(args, "scamper_json", False):
        from utnt.scamper_json import dump_scamper_json
        out.write(dump_scamper_json(traces))
    elif args.json:
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        out.write(dump_text(traces, verbose=args.verbose))
    result: dict[str, Any] = doc
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options_from(args)
    except ValueError as e:
        print(f"utnt: {e}", file=sys.stderr)
        return 2
    from utnt.net import PacketSocketPort, TapPort
    from utnt.net.stack import StackError
    if args.tap:
        # opening /dev/net/tun with a name that does not exist would quietly create a new,
        # unconnected tap: attach only to one that is there (in this network namespace)
        import socket
        try:
            socket.if_nametoindex(args.tap)
        except (OSError, ValueError):
            print(f"utnt: no tap device '{args.tap}' in this network namespace; use the tap of a running "
                  "lab (`testbed status LAB` lists them) and run utnt in its namespace", file=sys.stderr)
            return 2
    try:
        port = TapPort(args.tap) if args.tap else PacketSocketPort(args.iface)
    except OSError as e:
        print(f"utnt: {e}", file=sys.stderr)
        return 1
    try:
        run(port, args)
    except (StackError, OSError) as e:
        print(f"utnt: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        port.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
