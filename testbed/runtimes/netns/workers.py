"""Engine workers: the routers' data plane on packet sockets (one engine, two runtimes).

A worker is a process started by `up`:

    python -m testbed.runtimes.netns.workers RUN_DIR INDEX

It registers itself (RUN_DIR/worker-INDEX.json: pid and start time), builds its share of
the routers from the lab file and parameters in RUN_DIR/spec.json (control plane, then
`compile_node`; nothing big crosses a pipe), and says `stage ...` lines on stdout while it
does. It then waits for `go` on stdin (the namespaces exist), enters each of its routers'
namespaces in turn to open one AF_PACKET socket per interface (ETH_P_ALL, outgoing frames
ignored, large receive buffer), comes back, says `ready N`, and runs one epoll loop over all
its sockets: every frame goes through `Router.handle(port, frame, now)` and what comes out
is sent on the matching socket. Sockets stay bound to their namespaces.

It exits on SIGTERM, when stdin closes before `go` (its `up` died), and when one of its
namespaces vanishes or is replaced (checked every second).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import select
import signal
import socket
import sys
import time
from pathlib import Path

ETH_P_ALL = 0x0003
SOL_PACKET = 263
# (no PACKET_QDISC_BYPASS: it would hide the engine's frames from tcpdump in the namespace)
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
RCVBUF = 4 << 20
SNDBUF = 4 << 20
FRAME_MAX = 2048       # router MTU 1600 + Ethernet and VLAN headers fit
BURST = 256            # frames drained from one socket before looking at the others
CHECK_EVERY = 1.0      # seconds between namespace checks


def fingerprint(lab, routers) -> str:
    """What the worker's routers must agree with (the lab file might change under us)."""
    h = hashlib.sha1(lab.name.encode())
    for r in routers:
        n = lab.nodes[r]
        for i in n.interfaces:
            h.update(f"{r}/{i.name}/{i.mac.hex()}/{i.address};".encode())
    return h.hexdigest()


def partition(routers: list[str], n: int) -> list[list[str]]:
    """Contiguous, even shares (a path through the lab crosses few worker boundaries)."""
    n = max(1, min(n, len(routers)))
    q, r = divmod(len(routers), n)
    out, i = [], 0
    for k in range(n):
        size = q + (1 if k < r else 0)
        out.append(routers[i:i + size])
        i += size
    return out


class Worker:
    def __init__(self, run_dir: Path, index: int):
        self.run_dir = run_dir
        self.index = index
        self.spec = json.loads((run_dir / "spec.json").read_text())
        self.mine: list[str] = self.spec["partitions"][index]
        self.routers = {}
        self.socks = []
        self.ns_inodes = {}
        self.errors = 0
        self.dropped_tx = 0

    def say(self, line: str):
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass

    # ------------------------------------------------------------ build
    def register(self):
        from testbed.runtimes.netns.nsutil import proc_start_time
        rec = {"index": self.index, "pid": os.getpid(), "start_time": proc_start_time(os.getpid()),
               "routers": len(self.mine)}
        tmp = self.run_dir / f".worker-{self.index}.json.tmp"
        tmp.write_text(json.dumps(rec))
        os.replace(tmp, self.run_dir / f"worker-{self.index}.json")

    def compile(self):
        from testbed.controlplane import build as build_cp
        from testbed.engine import compile_node
        from testbed.lab import load_lab
        s = self.spec
        t0 = time.monotonic()
        self.say("stage lab")
        lab = load_lab(s["source"], s["params"], name=s["lab"])
        if fingerprint(lab, s["routers_order"]) != s["fingerprint"]:
            raise RuntimeError(f"{s['source']} changed while the lab was coming up (addresses or MACs differ)")
        self.say(f"stage control-plane {len(lab.routers)} routers")
        cp = build_cp(lab)
        t1 = time.monotonic()
        self.say(f"stage compile {len(self.mine)} routers")
        for r in self.mine:
            self.routers[r] = compile_node(lab.nodes[r], cp.tables[r])
        t2 = time.monotonic()
        del cp
        self.say(f"compiled {len(self.mine)} {t1 - t0:.3f} {t2 - t1:.3f}")

    def open_sockets(self):
        from testbed.runtimes.netns.nsutil import NsWalker, ns_inode
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            need = 64 + sum(len(r.ports) for r in self.routers.values())
            if soft < need:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
        except (ValueError, OSError):
            pass
        self.filter_outgoing = False
        nsmap = self.spec["routers"]
        with NsWalker() as w:
            for name, router in self.routers.items():
                nsn = nsmap[name]
                ino = ns_inode(nsn)
                if ino is None:
                    raise RuntimeError(f"namespace {nsn} does not exist")
                self.ns_inodes[nsn] = ino
                w.enter(nsn)
                ports = []
                for p in router.ports:
                    # protocol 0: no packet hook until bind (a hooked socket's re-bind waits
                    # for an RCU grace period: ~10 ms per socket)
                    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
                    try:
                        s.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)      # SO_RCVBUFFORCE
                    except OSError:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
                    try:
                        s.setsockopt(socket.SOL_SOCKET, 32, SNDBUF)      # SO_SNDBUFFORCE
                    except OSError:
                        pass
                    try:
                        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                    except OSError:
                        self.filter_outgoing = True
                    s.bind((p.name, ETH_P_ALL))
                    s.setblocking(False)
                    ports.append(s)
                self.socks.append((router, ports))

    # ------------------------------------------------------------ run
    def namespaces_intact(self) -> bool:
        from testbed.runtimes.netns.nsutil import ns_inode
        for nsn, ino in self.ns_inodes.items():
            if ns_inode(nsn) != ino:
                return False
        return True

    def loop(self):
        ep = select.epoll()
        table = {}
        for router, ports in self.socks:
            sends = [s.send for s in ports]
            for pidx, s in enumerate(ports):
                ep.register(s.fileno(), select.EPOLLIN)
                table[s.fileno()] = (router.handle, pidx, s.recv, s.recvfrom, sends)
        monotonic = time.monotonic
        filt = self.filter_outgoing
        last_check = monotonic()
        while True:
            events = ep.poll(CHECK_EVERY)
            now = monotonic()
            if now - last_check >= CHECK_EVERY:
                last_check = now
                if not self.namespaces_intact():
                    print(f"worker {self.index}: a namespace vanished; exiting", file=sys.stderr)
                    return
            for fd, _ in events:
                handle, pidx, recv, recvfrom, sends = table[fd]
                for _ in range(BURST):
                    try:
                        if filt:
                            frame, addr = recvfrom(FRAME_MAX)
                            if addr[2] == PACKET_OUTGOING:
                                continue
                        else:
                            frame = recv(FRAME_MAX)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                            break
                        raise
                    try:
                        out = handle(pidx, frame, now)
                    except Exception as e:   # a bug must not stop the lab: count, log a few
                        self.errors += 1
                        if self.errors <= 20:
                            print(f"worker {self.index}: engine error on a frame: {e!r}", file=sys.stderr)
                        continue
                    for opidx, oframe in out:
                        try:
                            sends[opidx](oframe)
                        except OSError:
                            self.dropped_tx += 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    run_dir, index = Path(argv[0]), int(argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    w = Worker(run_dir, index)
    try:
        w.register()
        w.compile()
        line = sys.stdin.readline()
        if line.strip() != "go":
            return 0          # our `up` went away (or aborted): nothing to serve
        w.open_sockets()
    except Exception as e:
        w.say(f"error {type(e).__name__}: {e}")
        print(f"worker {index}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    w.say(f"ready {sum(len(p) for _, p in w.socks)}")
    # from now on, stdout and stdin belong to nobody
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        w.loop()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
