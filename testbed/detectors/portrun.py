"""A registered port detector (a user's `detect(port, ...)`) as its own process on a tap:

    python -m testbed.detectors.portrun NAME --tap TAP --ip A/P --gw G [--mac M] [--flow F] -- OPTIONS < targets

What the testbed runs in a namespace lab's switch namespace for a PortDetector (as it runs
`utnt.cli --tap` for uTNT): the function gets a TapPort, its own address and gateway, the
destinations (stdin, one per line) and the options after `--`; its result document goes to
stdout as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m testbed.detectors.portrun")
    p.add_argument("name")
    p.add_argument("--tap", required=True)
    p.add_argument("--ip", required=True)
    p.add_argument("--gw", required=True)
    p.add_argument("--mac")
    p.add_argument("--flow", type=int)
    argv = list(sys.argv[1:] if argv is None else argv)
    options = argv[argv.index("--") + 1:] if "--" in argv else []
    a = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    from testbed.detectors.registry import PortDetector, get
    from utnt.net import TapPort
    det = get(a.name)
    if not isinstance(det, PortDetector):
        print(f"error: detector '{a.name}' is not a port detector", file=sys.stderr)
        return 2
    targets = [t.strip() for t in sys.stdin.read().split() if t.strip()]
    mac = bytes.fromhex(a.mac.replace(":", "")) if a.mac else None
    port = TapPort(a.tap)
    try:
        doc = det.fn(port, targets, options, ip=a.ip, gw=a.gw, mac=mac, flow=a.flow)
    finally:
        port.close()
    json.dump(doc, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
