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
    try:
        IPv4Address(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{s}' is not an IPv4 address") from None
    return s


def _flow(s: str) -> int:
    try:
        v = int(s, 0)
    except ValueError:
        v = 0
    if not 1 <= v <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"'{s}' is not a flow identifier from 1 to 65535")
    return v


def build_parser(port_required: bool = True, prog: str = "utnt"):
    p = argparse.ArgumentParser(prog=prog, description="uTNT: TNT (Trace the Naughty Tunnels) with its own "
                                "network stack, attached to an L2 port like a unikernel")
    dst = p.add_mutually_exclusive_group(required=port_required)
    dst.add_argument("-i", dest="dst", type=_addr, help="a single destination")
    dst.add_argument("-a", dest="addrfile", help="file of destinations, one per line, '#' comments")
    p.add_argument("-m", dest="method", default="icmp-paris", choices=["icmp-paris", "udp-paris"])
    p.add_argument("-s", dest="start_ttl", type=int, default=1, help="first TTL of the base trace (1)")
    p.add_argument("-c", dest="ping_count", type=int, default=1, help="pings per hop for fingerprinting (1)")
    p.add_argument("-f", dest="frpla", type=int, default=3, help="FRPLA threshold, > 0 (3)")
    p.add_argument("-r", dest="rtla", type=int, default=1, help="RTLA threshold, > 0 (1)")
    p.add_argument("-b", dest="brute", action="store_true", help="brute force: try revelation everywhere")
    p.add_argument("-q", dest="attempts", type=int, default=3, help="attempts per hop (3)")
    p.add_argument("-w", dest="wait", type=float, default=1.0, help="seconds to wait for a reply (1)")
    p.add_argument("-g", dest="gap", type=int, default=5, help="gap limit: silent hops that end a trace (5)")
    p.add_argument("--max-ttl", type=int, default=64)
    p.add_argument("--rate", type=float, default=0.0, help="probe rate limit in packets/s (0: none)")
    p.add_argument("--flow", type=_flow, default=None, help="Paris flow identifier, 1..65535: the ICMP "
                   "checksum of icmp-paris probes, the UDP source port of udp-paris probes (default: random); "
                   "per-flow load balancers then pick the same equal-cost path every run")
    p.add_argument("--allow-private", action="store_true", help="lift the reserved-address rule "
                   "(labs addressed from private space)")
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


def options_from(args, calibration: bool = False):
    from utnt.options import TntOptions
    if not calibration and (args.frpla <= 0 or args.rtla <= 0):
        raise ValueError("-f and -r must be > 0 (as in sc_tnt)")
    return TntOptions(method=args.method, start_ttl=args.start_ttl, ping_count=args.ping_count,
                      frpla_threshold=args.frpla, rtla_threshold=args.rtla, brute_force=args.brute,
                      allow_private=args.allow_private)


def params_from(args):
    from utnt.net import ProbeParams
    return ProbeParams(attempts=args.attempts, wait=args.wait, gap_limit=args.gap, max_ttl=args.max_ttl,
                       ping_count=args.ping_count, rate=args.rate,
                       flow=getattr(args, "flow", None))


def read_targets(path: str) -> list[str]:
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                IPv4Address(line)
            except ValueError:
                raise SystemExit(f"utnt: {path}:{n}: '{line}' is not an IPv4 address; one address per line") from None
            out.append(line)
    return out


def run(port, args, out=sys.stdout) -> dict:
    from utnt.net import NetProber, Stack
    from utnt.output import dump_text, to_json
    from utnt.tnt import run_tnt
    stack = Stack(port, args.ip, args.gw, mac=args.mac)
    prober = NetProber(stack, params_from(args))
    targets = [args.dst] if args.dst else read_targets(args.addrfile)
    traces = run_tnt(prober, targets, options_from(args))
    doc = to_json(traces)
    doc["counters"] = {"probes": prober.counters.to_json(), "stack": stack.counters}
    if getattr(args, "scamper_json", False):
        from utnt.scamper_json import dump_scamper_json
        out.write(dump_scamper_json(traces))
    elif args.json:
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        out.write(dump_text(traces, verbose=args.verbose))
    return doc


def main(argv=None):
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
