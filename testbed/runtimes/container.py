"""The engine as one process per router, on the router's own interfaces, as in a container:

    python -m testbed.runtimes.container --lab LAB.yaml --router p1 [--offset 1]

The process loads the lab, computes the control plane, compiles this one router and serves
its data plane on packet sockets in the namespace it runs in (a container's, or one made by
`ip netns`). The model's interfaces eth0, eth1, ... are the local eth<k+offset>: containerlab
keeps eth0 for management, so the default offset is 1 (the model's eth0 is the container's
eth1). The interfaces carry no kernel addresses and the kernel forwards nothing (the
containerlab export's sysctls); stop it with SIGTERM.
"""
from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from testbed.runtimes.netns.worker import ETH_P_ALL, PACKET_IGNORE_OUTGOING, RCVBUF, SOL_PACKET, Worker


class OneRouter(Worker):
    """A Worker that serves one router in the current namespace, interfaces renamed by offset."""

    def __init__(self, router: str, offset: int):
        spec = {"partitions": [[router]], "routers": {router: None}, "control_plane": "computed", "tables": ""}
        super().__init__(Path(tempfile.gettempdir()), 0, spec)
        self.offset = offset

    def local_name(self, model_name: str) -> str:
        return f"eth{int(model_name[3:]) + self.offset}" if model_name.startswith("eth") else model_name

    def open_sockets(self):
        self.filter_outgoing = False
        for _name, router in self.routers.items():
            ports = []
            for p in router.ports:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
                try:
                    s.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)
                except OSError:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
                try:
                    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                except OSError:
                    self.filter_outgoing = True
                s.bind((self.local_name(p.name), ETH_P_ALL))
                s.setblocking(False)
                ports.append(s)
            self.socks.append((router, ports))

    def namespaces_intact(self) -> bool:
        return True                       # the namespace is ours for as long as we live

    def say(self, line: str):
        print(line, file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m testbed.runtimes.container",
                                 description="one router's engine on this namespace's interfaces")
    ap.add_argument("--lab", required=True, help="the lab file (the same the export was made from)")
    ap.add_argument("--router", required=True)
    ap.add_argument("--set", action="append", metavar="KEY=VALUE")
    ap.add_argument("--offset", type=int, default=1, help="local eth<k+offset> is the model's eth<k> (default 1)")
    a = ap.parse_args(argv)
    from testbed.controlplane import build
    from testbed.errors import TestbedError
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    gc.disable()
    try:
        lab = load_lab(a.lab, parse_sets(a.set))
        if a.router not in lab.nodes or not lab.nodes[a.router].is_router:
            raise TestbedError(f"{a.lab}: no router '{a.router}'")
        t0 = time.monotonic()
        cp = build(lab)
        w = OneRouter(a.router, a.offset)
        w.compile(lab, cp, time.monotonic() - t0)
        del cp, lab
        gc.enable()
        w.open_sockets()
    except (TestbedError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"router {a.router}: serving {sum(len(p) for _, p in w.socks)} interfaces (pid {os.getpid()})",
          file=sys.stderr, flush=True)
    try:
        w.loop()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        w.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
