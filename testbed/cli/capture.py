"""`testbed capture NAME NODE IFACE -w FILE.pcap`: tcpdump on a node's interface into a pcap file."""
from __future__ import annotations

from testbed.cli.console import err_console
from testbed.cliargs import float_in, int_in, print_json


def run(args):
    from testbed.runtimes import registry
    from testbed.runtimes.netns.names import check_name
    rt = registry.owner_of_up(check_name(args.name))
    err = err_console()
    nsn = rt.namespace_of(args.name, args.node)
    err.print(f"capturing on {args.node} {args.iface} ({nsn}) into {args.write}"
              + (f", {args.count} frames" if args.count else "") + (f", {args.timeout} s" if args.timeout else "")
              + "; Ctrl-C stops")
    res = rt.capture(args.name, args.node, args.iface, args.write, count=args.count, timeout=args.timeout)
    if args.json:
        return print_json(res)
    err.print(f"{res['packets'] if res['packets'] is not None else '?'} frames captured into {res['file']}")


def add_parser(sub):
    s = sub.add_parser("capture", help="tcpdump on a node's interface into a pcap file")
    s.add_argument("name", help="lab instance name")
    s.add_argument("node")
    s.add_argument("iface", help="interface (eth0, eth1, ... or any)")
    s.add_argument("-w", dest="write", required=True, metavar="FILE.pcap", help="pcap file ('-' for stdout)")
    s.add_argument("-c", dest="count", type=int_in(1, 10**9), help="stop after this many frames")
    s.add_argument("--timeout", type=float_in(0.1, 86400), help="stop after this many seconds")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
