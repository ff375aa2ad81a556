"""The big-lab runtime's engine processes: many routers each, links between them in memory.

Started by `up` as the namespace runtime's workers are (the same entry point, `python -m
testbed.runtimes.netns.workers RUN_DIR`, which hands a spec with "big_engine": true here;
the same lines on stdout: hello, stage, compiled, ready, error; the same `go`, records and
stop by PID). The first process loads the lab and computes the control plane (per
destination on demand for big labs: testbed/controlplane/compute.LAZY_ROUTERS), then forks
the other workers; worker I owns the routers of spec["partitions"][I].

A worker's routers are engine Routers compiled on their first frame (runtimes/sim.Nodes,
engine.compile_on_demand). What a router sends on a port goes, by the lab's links:
  - to the peers' ports (a point-to-point link, or every other member of a LAN of routers)
    when they are this worker's routers: a queue drained in order within the same loop turn;
  - to the owning worker over a SOCK_SEQPACKET socket pair (made before the fork), one
    message per frame: router index (4 bytes), port (2 bytes), the frame;
  - out of the packet socket of a port facing the kernel (a link or LAN with a host: plan.py),
    in the core namespace, as the namespace runtime's workers do.
Impaired links (delay_ms written, jitter_ms, loss) draw per sending port from the same
seeded streams as the namespace runtime (netns/impair.port_impairments) and hold frames in a
timer queue. Router vantage points are handled as in the namespace runtime (the attachment's
veth and tap in the core namespace; Router.send_local, Router.local_sink).

Per-link capture from the engine: spec "pcap" {link name: file} writes every frame crossing
the link (either direction) to a pcap file (Ethernet, microsecond stamps), flushed per frame.
"""
from __future__ import annotations

import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections import deque
from pathlib import Path

from testbed.inputs import record_json
from testbed.runtimes.netns.plan import fingerprint
from testbed.runtimes.netns.worker import (BURST, CHECK_EVERY, FRAME_MAX, PACKET_OUTGOING, LocalEnd, Worker, _sink,
                                           _wait_go, say, serve)

XHDR = struct.Struct("!IH")          # router index, port index: the header of a frame between workers
XBUF = 8 << 20


class Pcap:
    """One link's capture file (classic pcap, LINKTYPE_ETHERNET)."""

    def __init__(self, path: str):
        self.f = open(path, "wb", buffering=0)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write(self, frame: bytes):
        t = time.time()
        sec = int(t)
        self.f.write(struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame)) + frame)


class BigWorker(Worker):
    """One engine process of the big-lab runtime (the netns Worker's records, sockets and
    vantage-point handling; its own wiring and loop)."""

    def __init__(self, run_dir: Path, index: int, spec: dict, xsocks: dict):
        super().__init__(run_dir, index, spec)
        self.tables_file = None               # no FRR, no table reloads: routers compile on demand
        self.xsocks = xsocks                  # peer worker index -> socket
        self.kernel = {}                      # (router, port) -> socket.send
        self.kports_socks = []                # [(router, port, socket)] facing the kernel
        self.queue = deque()
        self.pcaps = {}

    def compile(self, lab, cp, cp_seconds: float):
        from testbed.runtimes.sim import Nodes
        t1 = time.monotonic()
        self.say(f"stage wiring {len(self.mine)} routers")
        self.lab = lab
        self.nodes_all = Nodes(lab, cp)       # compiled on first use: only this worker's routers are
        order = self.spec["routers_order"]
        self.rindex = {r: i for i, r in enumerate(order)}
        self.order = order
        owner = {}
        for w, part in enumerate(self.spec["partitions"]):
            for r in part:
                owner[r] = w
        self.owner = owner
        mine = set(self.mine)
        self.mine_set = mine
        kports = self.spec["kernel_ports"]
        caps = self.spec.get("pcap") or {}
        # (router, port) -> [(peer router, peer port)] for links between routers (in memory)
        self.wires: dict[tuple[str, int], list] = {}
        self.link_pcap: dict[tuple[str, int], str] = {}
        for link in lab.links:
            if link.down:
                continue
            ends = wire_ends(lab, link)
            if ends is None:
                continue                       # a link with a host: the kernel carries it (plan.py)
            for a in ends:
                if a[0] in mine:
                    self.wires[a] = [b for b in ends if b != a]
                    if link.name in caps:
                        self.link_pcap[a] = link.name
        self.caps = caps
        self.impair_cache: dict[str, tuple] = {}
        self.kernel_ports = {r: dict(d) for r, d in kports.items() if r in mine}
        t2 = time.monotonic()
        self.say(f"compiled {len(self.mine)} {cp_seconds:.3f} {t2 - t1:.3f}")

    def router(self, name: str):
        return self.nodes_all[name]

    def _impair(self, r: str):
        got = self.impair_cache.get(r)
        if got is None:
            from testbed.runtimes.netns.impair import port_impairments
            got = self.impair_cache[r] = port_impairments(self.lab, self.lab.nodes[r], self.spec.get("seed"))
        return got

    def open_sockets(self):
        from testbed.runtimes.netns.nsutil import NsWalker, ns_inode
        self.filter_outgoing = False
        core = self.spec["core"]
        ino = ns_inode(core)
        if ino is None:
            raise RuntimeError(f"namespace {core} does not exist")
        self.ns_inodes[core] = ino
        with NsWalker() as w:
            w.enter(core)
            for r, by_port in self.kernel_ports.items():
                router = self.router(r)
                ports = []
                for pidx, ifn in sorted(by_port.items()):
                    s = self._packet_socket(ifn)
                    self.kernel[(r, pidx)] = s.send
                    ports.append((pidx, s))
                self.socks.append((router, [s for _, s in ports]))
                self.kports_socks += [(r, pidx, s) for pidx, s in ports]
            for r, vp in (self.spec.get("router_vps") or {}).items():
                if r not in self.mine_set:
                    continue
                router = self.router(r)
                gw = bytes.fromhex(vp["mac"].replace(":", ""))
                ends = [LocalEnd(self._packet_socket(ifn), gw) for ifn in vp["ifs"]]
                router.local_sink = _sink(ends)
                self.local.append((router, ends))
        if self.caps:
            d = Path(self.spec["pcap_dir"])
            for a, ln in self.link_pcap.items():
                if ln not in self.pcaps:
                    self.pcaps[ln] = Pcap(str(d / f"{ln}.w{self.index}.pcap"))

    # ------------------------------------------------------------ frames
    def _out(self, r: str, out, now: float):
        """A router's output frames: impaired (held or lost) or passed on now."""
        if not out:
            return
        egress = self._impair(r)[0]
        for opidx, oframe in out:
            imp = egress[opidx] if egress is not None else None
            if imp is not None:
                d = imp.draw()
                if d is None:
                    continue
                if d > 0.0:
                    self._held.push(now + d, self._pass_on, (r, opidx, oframe))
                    continue
            self._pass_on((r, opidx, oframe))

    def _pass_on(self, item):
        r, opidx, frame = item
        send = self.kernel.get((r, opidx))
        if send is not None:
            try:
                send(frame)
            except OSError:
                self.dropped_tx += 1
            return
        key = (r, opidx)
        ln = self.link_pcap.get(key)
        if ln is not None:
            self.pcaps[ln].write(frame)
        for peer, ppidx in self.wires.get(key, ()):
            if peer in self.mine_set:
                self.queue.append((peer, ppidx, frame))
                continue
            try:
                self.xsocks[self.owner[peer]].send(XHDR.pack(self.rindex[peer], ppidx) + frame)
            except OSError:
                self.dropped_tx += 1

    def _drain(self, now: float):
        q = self.queue
        nodes = self.nodes_all
        while q:
            r, pidx, frame = q.popleft()
            try:
                out = nodes[r].handle(pidx, frame, now)
            except Exception as e:   # a bug must not stop the lab: count, log a few
                self.errors += 1
                if self.errors <= 20:
                    print(f"worker {self.index}: engine error on a frame at {r}: {e!r}", file=sys.stderr, flush=True)
                continue
            self._out(r, out, now)

    def _kernel_frames(self, r: str, pidx: int, sock, now: float):
        ingress = self._impair(r)[1]
        ing = ingress[pidx] if ingress else None
        filt = self.filter_outgoing
        for _ in range(BURST):
            try:
                if filt:                     # no PACKET_IGNORE_OUTGOING: skip our own sends
                    frame, addr = sock.recvfrom(FRAME_MAX)
                    if addr[2] == PACKET_OUTGOING:
                        continue
                else:
                    frame = sock.recv(FRAME_MAX)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                    break
                raise
            if ing is not None and frame[6:12] not in ing[1]:
                d = ing[0].draw()        # a host's frame crosses its impaired link
                if d is None:
                    continue
                if d > 0.0:
                    self._held.push(now + d, self._arrive, (r, pidx, frame))
                    continue
            self.queue.append((r, pidx, frame))

    def _arrive(self, item):
        self.queue.append(item)

    def _peer_frames(self, sock):
        order = self.order
        for _ in range(BURST):
            try:
                msg = sock.recv(FRAME_MAX + XHDR.size)
            except BlockingIOError:
                break
            if not msg:
                break
            ri, pidx = XHDR.unpack_from(msg)
            self.queue.append((order[ri], pidx, msg[XHDR.size:]))

    def loop(self):
        from testbed.runtimes.netns.impair import TimerQueue
        ep = select.epoll()
        held = self._held = TimerQueue()
        kernel = {}
        for r, pidx, s in self.kports_socks:
            ep.register(s.fileno(), select.EPOLLIN)
            kernel[s.fileno()] = (r, pidx, s)
        local = {}
        for router, ends in self.local:
            for e in ends:
                ep.register(e.sock.fileno(), select.EPOLLIN)
                local[e.sock.fileno()] = (router, e)
        peers = {}
        for s in self.xsocks.values():
            ep.register(s.fileno(), select.EPOLLIN)
            peers[s.fileno()] = s
        monotonic = time.monotonic
        last_check = monotonic()
        while True:
            events = ep.poll(held.timeout(monotonic(), CHECK_EVERY) if held.heap else CHECK_EVERY)
            now = monotonic()
            if now - last_check >= CHECK_EVERY:
                last_check = now
                if not self.namespaces_intact():
                    print(f"worker {self.index}: the core namespace vanished; exiting", file=sys.stderr, flush=True)
                    return
            for fd, ev in events:
                if fd in kernel:
                    self._kernel_frames(*kernel[fd], now)
                elif fd in local:
                    router, e = local[fd]
                    self._local_frames(router, e, None, None, now)
                elif fd in peers:
                    if ev & (select.EPOLLHUP | select.EPOLLERR):
                        ep.unregister(fd)          # that worker ended: `down` is under way
                        continue
                    self._peer_frames(peers[fd])
                self._drain(now)
            if held.heap:
                now = monotonic()
                for _, _, fn, item in held.pop_due(now):
                    fn(item)
                self._drain(now)

    def _emit_local(self, router, out, sends, egress, now: float):
        """A router's own packets (the namespace runtime's worker reads its vantage point's frames,
        _local_frames): through the in-memory links, like every other frame here."""
        self._out(router.name, out, now)

    def close_all(self):
        super().close_all()
        for s in self.xsocks.values():
            try:
                s.close()
            except OSError:
                pass
        for p in self.pcaps.values():
            try:
                p.f.close()
            except OSError:
                pass


def wire_ends(lab, link) -> list | None:
    """(router, port index) of each end of a link between routers that this host's engine
    carries; None for a link with a host (the kernel's). A router of another host of a split
    lab, whose interfaces split.shed dropped, is no end here: this host's end of that cut link
    is its VXLAN device."""
    ends = []
    for itf in link.interfaces:
        node = lab.nodes[itf.node]
        if not node.is_router:
            return None
        if not node.interfaces:
            continue
        ends.append((itf.node, next(i for i, x in enumerate(node.interfaces) if x is itf)))
    return ends


def _pairs(n: int) -> dict:
    """{(i, j): (end of i, end of j)} for every pair of workers i < j."""
    out = {}
    for i in range(n):
        for j in range(i + 1, n):
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            for s in (a, b):
                for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                    try:
                        s.setsockopt(socket.SOL_SOCKET, opt, XBUF)
                    except OSError:
                        pass
                s.setblocking(False)
            out[(i, j)] = (a, b)
    return out


def _mine(pairs: dict, index: int) -> dict:
    """This worker's ends (peer index -> socket); every other end closed."""
    mine = {}
    for (i, j), (a, b) in pairs.items():
        if i == index:
            mine[j] = a
            b.close()
        elif j == index:
            mine[i] = b
            a.close()
        else:
            a.close()
            b.close()
    return mine


def _control_plane(run_dir: Path, spec: dict):
    """Load the lab, derive what `up` derives from it (the same functions: routers' order,
    partitions, the plan's kernel ports and vantage points), record its fingerprint for `up`
    to compare with its own, compute the control plane."""
    from testbed.controlplane import build as build_cp
    from testbed.lab import load_lab
    from testbed.runtimes.netns.plan import partition
    from testbed.runtimes.netns.state import write_record

    from .api import engine_workers
    from .plan import make_plan
    say("0 stage lab")
    lab = load_lab(spec["source"], spec["params"], **(spec.get("options") or {"no_limits": True}))
    routers = [r.name for r in lab.routers]
    spec["routers_order"] = routers
    local = None
    mine = routers
    if spec.get("split"):                      # one host's part of a lab split across hosts
        from .split import cut_ports, local_nodes
        doc, host = spec["split"]["plan"], spec["split"]["host"]
        local = local_nodes(lab, doc, host)
        mine = [r for r in routers if r in local]
    spec["partitions"] = partition(mine, engine_workers(spec.get("workers"), len(mine)))
    plan, kports = make_plan(lab, spec["name"], local)
    if local is not None:                      # cut links: a packet socket on the VXLAN device
        for r, by_port in cut_ports(doc, host).items():
            kports.setdefault(r, {}).update(by_port)
    spec["kernel_ports"] = kports
    spec["router_vps"] = {v["router"]: {"ifs": [v["veth"], v["tap"]], "mac": v["gateway_mac"]}
                          for v in plan.router_vps}
    write_record(run_dir / "engine.json", json.dumps({"fingerprint": fingerprint(lab, routers),
                                                      "workers": len(spec["partitions"])}))
    say(f"0 stage control-plane {len(lab.routers)} routers")
    t0 = time.monotonic()
    cp = build_cp(lab, only=local)
    if local is not None:                      # a big lab's engine keeps only its part (split.shed)
        from .split import shed
        shed(lab, cp, local)
    return lab, cp, time.monotonic() - t0


def main(run_dir: Path, spec: dict):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    index = 0
    w = None
    gc.disable()
    try:
        spec["partitions"] = [[]]
        w = BigWorker(run_dir, 0, spec, {})
        w.register()
        lab, cp, cp_seconds = _control_plane(run_dir, spec)
        w.mine = spec["partitions"][0]
        n = len(spec["partitions"])
        pairs = _pairs(n)
        for i in range(1, n):
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                index = i
                w = BigWorker(run_dir, i, spec, {})
                w.register()
                break
        else:
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        w.xsocks = _mine(pairs, index)
        w.compile(lab, cp, cp_seconds)
        gc.freeze()
        gc.enable()
        if not _wait_go():
            os._exit(0)
        w.open_sockets()
    except SystemExit:
        os._exit(0)
    except Exception as e:
        say(f"{index} error {type(e).__name__}: {e}")
        print(f"worker {index}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(1)
    serve(w, index, f"ready {len(w.kernel)}")


def spec_of(run_dir: Path) -> dict:
    return record_json(run_dir / "spec.json", "tables")
