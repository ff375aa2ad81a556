"""The engine worker: one process's share of the routers on packet sockets (a Worker), the
router vantage points' local ends, and the lines a worker says to its `up`. The namespace
runtime's and the big-lab runtime's engines are made of these; their one entry point, which
forks the workers, is testbed/runtimes/netns/workers.py (how a worker lives is told there)."""
from __future__ import annotations

import errno
import json
import os
import resource
import select
import signal
import socket
import sys
import time
from pathlib import Path

from testbed.inputs import record_json
from testbed.runtimes.netns.plan import fingerprint
from testbed.wire import ARP_REQUEST, WireError, arp_reply, parse_arp

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
TABLES_EVERY = 0.5     # seconds between looks at the tables file (FRR control plane)


class Worker:
    def __init__(self, run_dir: Path, index: int, spec: dict):
        self.run_dir = run_dir
        self.index = index
        self.spec = spec
        self.mine: list[str] = spec["partitions"][index]
        self.routers = {}
        self.nodes = {}
        self.frr = spec.get("control_plane") == "frr"
        self.tables_file = Path(spec["tables"]) if spec.get("tables") else None
        self.tables_seen = None
        self.generation = 0
        self.socks = []
        self.local = []          # [(router, [LocalEnd])]: router vantage points
        self.ns_inodes = {}
        self.errors = 0
        self.dropped_tx = 0
        self.impair = {}                 # router -> (egress, ingress) lists by port, or absent

    def say(self, line: str):
        say(f"{self.index} {line}")

    # ------------------------------------------------------------ build
    def register(self):
        from testbed.runtimes.netns.nsutil import proc_start_time
        from testbed.runtimes.netns.supervisor import Supervisor
        self.start_time = proc_start_time(os.getpid())
        # on record before `up` hears of it: `down` stops a forked worker even if `up` died
        Supervisor(self.run_dir).adopt("worker", os.getpid(), self.start_time, marker=str(self.run_dir),
                                       index=self.index)
        self._write_record()
        self.say(f"hello {os.getpid()} {self.start_time}")

    def _write_record(self):
        rec = {"index": self.index, "pid": os.getpid(), "start_time": self.start_time, "routers": len(self.mine),
               "generation": self.generation}
        from testbed.runtimes.netns.state import write_record
        write_record(self.run_dir / f"worker-{self.index}.json", json.dumps(rec))

    def compile(self, lab, cp, cp_seconds: float):
        from testbed.controlplane.tables import RouterTables
        from testbed.engine import compile_node
        from testbed.runtimes.netns.impair import port_impairments
        t1 = time.monotonic()
        self.say(f"stage compile {len(self.mine)} routers")
        for r in self.mine:
            self.nodes[r] = lab.nodes[r]
            # FRR control plane: empty tables until FRR's arrive
            self.routers[r] = compile_node(lab.nodes[r], cp.tables[r] if cp is not None else RouterTables(name=r))
            eg, ing = port_impairments(lab, lab.nodes[r], self.spec.get("seed"))
            if eg is not None:
                self.impair[r] = (eg, ing)
        t2 = time.monotonic()
        self.say(f"compiled {len(self.mine)} {cp_seconds:.3f} {t2 - t1:.3f}")

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
                ports = [self._packet_socket(p.name) for p in router.ports]
                self.socks.append((router, ports))
                vp = (self.spec.get("router_vps") or {}).get(name)
                if vp:
                    gw = bytes.fromhex(vp["mac"].replace(":", ""))
                    ends = [LocalEnd(self._packet_socket(ifn), gw) for ifn in vp["ifs"]]
                    router.local_sink = _sink(ends)
                    self.local.append((router, ends))

    def _packet_socket(self, ifname: str):
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
        s.bind((ifname, ETH_P_ALL))
        s.setblocking(False)
        return s

    def close_all(self):
        """Close every socket, many at a time: closing a packet socket waits for an RCU grace
        period (synchronize_net in packet_release), ~10 ms each if done one after the other;
        concurrent closes share grace periods."""
        socks = [s for _, ports in self.socks for s in ports] + [e.sock for _, ends in self.local for e in ends]
        self.socks, self.local = [], []
        if not socks:
            return
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=min(128, len(socks))) as ex:
            list(ex.map(lambda s: s.close(), socks))

    # ------------------------------------------------------------ FRR tables
    def check_tables(self):
        """Load the tables file if it changed and holds a newer generation."""
        try:
            st = os.stat(self.tables_file)
        except FileNotFoundError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self.tables_seen:
            return
        from testbed.controlplane.tables import RouterTables
        from testbed.engine import compile_node
        try:
            doc = record_json(self.tables_file, "tables")
        except (OSError, ValueError):
            return                       # try again next time
        self.tables_seen = key
        gen = doc.get("generation", 0)
        if gen <= self.generation:
            return
        t0 = time.monotonic()
        for name, router in self.routers.items():
            d = doc["routers"].get(name)
            fresh = compile_node(self.nodes[name], RouterTables.from_json(d) if d else RouterTables(name=name))
            router.fib = fresh.fib
            router.lfib = fresh.lfib
            router.plens = sorted(router.fib, reverse=True)
            router._rcache.clear()
        self.generation = gen
        self._write_record()
        print(f"worker {self.index}: tables generation {gen} loaded for {len(self.routers)} routers in "
              f"{time.monotonic() - t0:.3f} s", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ run
    def namespaces_intact(self) -> bool:
        from testbed.runtimes.netns.nsutil import ns_inode
        for nsn, ino in self.ns_inodes.items():
            if ns_inode(nsn) != ino:
                return False
        return True

    def _send_out(self, out, sends, egress, now, held):
        """A router's output: on impaired ports held, lost or sent now; on the others (or with
        egress None: no impaired port) sent now. The frame loop inlines the unimpaired case."""
        for opidx, oframe in out:
            imp = egress[opidx] if egress is not None else None
            if imp is not None:
                d = imp.draw()
                if d is None:
                    continue                 # lost on the link
                if d > 0.0:
                    held.push(now + d, sends[opidx], oframe)
                    continue
            try:
                sends[opidx](oframe)
            except OSError:
                self.dropped_tx += 1

    def _release(self, held, now):
        """Frames whose time has come: sent, or (received from a host) handled now."""
        for _, _, fn, item in held.pop_due(now):
            if fn is not None:
                try:
                    fn(item)
                except OSError:
                    self.dropped_tx += 1
                continue
            handle, pidx, frame, sends, egress = item
            try:
                out = handle(pidx, frame, now)
            except Exception as e:
                self.errors += 1
                if self.errors <= 20:
                    print(f"worker {self.index}: engine error on a frame: {e!r}", file=sys.stderr, flush=True)
                continue
            self._send_out(out, sends, egress, now, held)

    def loop(self):
        from testbed.runtimes.netns.impair import TimerQueue
        ep = select.epoll()
        table = {}
        held = TimerQueue()
        for router, ports in self.socks:
            sends = [s.send for s in ports]
            egress, ingress = self.impair.get(router.name, (None, None))
            for pidx, s in enumerate(ports):
                ep.register(s.fileno(), select.EPOLLIN)
                table[s.fileno()] = (router.handle, pidx, s.recv, s.recvfrom, sends, egress,
                                     ingress[pidx] if ingress else None)
        local = {}
        for router, ends in self.local:
            sends = next(([s.send for s in ports] for r, ports in self.socks if r is router))
            egress = self.impair.get(router.name, (None, None))[0]
            for e in ends:
                ep.register(e.sock.fileno(), select.EPOLLIN)
                local[e.sock.fileno()] = (router, e, sends, egress)
        self._held = held
        monotonic = time.monotonic
        filt = self.filter_outgoing
        last_check = last_tables = monotonic()
        wait = TABLES_EVERY if self.tables_file is not None else CHECK_EVERY
        if self.tables_file is not None:
            self.check_tables()
        while True:
            events = ep.poll(held.timeout(monotonic(), wait) if held.heap else wait)
            now = monotonic()
            if now - last_check >= CHECK_EVERY:
                last_check = now
                if not self.namespaces_intact():
                    print(f"worker {self.index}: a namespace vanished; exiting", file=sys.stderr, flush=True)
                    return
            if self.tables_file is not None and now - last_tables >= TABLES_EVERY:
                last_tables = now
                self.check_tables()
            for fd, _ in events:
                if fd in local:
                    self._local_frames(*local[fd], now)
                    continue
                handle, pidx, recv, recvfrom, sends, egress, ingress = table[fd]
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
                    if ingress is not None and frame[6:12] not in ingress[1]:
                        d = ingress[0].draw()        # a host's frame crosses its impaired link
                        if d is None:
                            continue
                        if d > 0.0:
                            held.push(now + d, None, (handle, pidx, frame, sends, egress))
                            continue
                    try:
                        out = handle(pidx, frame, now)
                    except Exception as e:   # a bug must not stop the lab: count, log a few
                        self.errors += 1
                        if self.errors <= 20:
                            print(f"worker {self.index}: engine error on a frame: {e!r}", file=sys.stderr, flush=True)
                        continue
                    if egress is not None:
                        self._send_out(out, sends, egress, now, held)
                        continue
                    for opidx, oframe in out:
                        try:
                            sends[opidx](oframe)
                        except OSError:
                            self.dropped_tx += 1
            if held.heap:
                self._release(held, monotonic())


    def _local_frames(self, router, end, sends, egress, now: float):
        """Frames from a router vantage point's prober: the router's own packets."""
        for _ in range(BURST):
            try:
                frame, addr = end.sock.recvfrom(FRAME_MAX)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
                    return
                raise
            if addr[2] == PACKET_OUTGOING or len(frame) < 34:
                continue
            et = frame[12:14]
            if et == b"\x08\x06":
                try:
                    op, sha, spa, _, tpa = parse_arp(frame, 14)
                except WireError:
                    continue
                if op == ARP_REQUEST:                 # who-has (any address): the attachment answers
                    end.send(arp_reply(end.gw, tpa, sha, spa))
                continue
            if et != b"\x08\x00" or frame[14] >> 4 != 4:
                continue
            end.peer = frame[6:12]
            tot = (frame[16] << 8) | frame[17]
            try:
                out = router.send_local(frame[14:14 + tot], now)
            except Exception as e:   # a bug must not stop the lab: count, log a few
                self.errors += 1
                if self.errors <= 20:
                    print(f"worker {self.index}: engine error on a local frame: {e!r}", file=sys.stderr, flush=True)
                continue
            self._emit_local(router, out, sends, egress, now)

    def _emit_local(self, router, out, sends, egress, now: float):
        """Where a router's own packets (answers to its vantage point's prober) go: out of its ports."""
        self._send_out(out, sends, egress, now, self._held)


class LocalEnd:
    """One end of a router vantage point's attachment (the veth or the tap): its socket, the
    attachment's MAC and the MAC of the prober behind it (learned from what it sends)."""

    def __init__(self, sock, gw: bytes):
        self.sock, self.gw, self.peer = sock, gw, None

    def send(self, frame: bytes):
        try:
            self.sock.send(frame)
        except OSError:
            pass             # a tap nobody holds open has no carrier


def _sink(ends):
    def deliver(ip: bytes):
        for e in ends:
            if e.peer is not None:
                e.send(e.peer + e.gw + b"\x08\x00" + ip)
    return deliver


def say(line: str):
    try:
        os.write(1, (line + "\n").encode())     # one write: lines of several workers never mix
    except OSError:
        pass


def _control_plane(spec: dict):
    from testbed.controlplane import build as build_cp
    from testbed.lab import load_lab
    say("0 stage lab")
    lab = load_lab(spec["source"], spec["params"], name=spec["lab"], **(spec.get("options") or {}))
    if fingerprint(lab, spec["routers_order"]) != spec["fingerprint"]:
        raise RuntimeError(f"{spec['source']} changed while the lab was coming up (addresses or MACs differ)")
    if spec.get("control_plane") == "frr":
        say("0 stage FRR control plane: tables come from FRR")
        return lab, None, 0.0
    say(f"0 stage control-plane {len(lab.routers)} routers")
    t0 = time.monotonic()
    cp = build_cp(lab)
    return lab, cp, time.monotonic() - t0


def _wait_go() -> bool:
    """`go` from `up` (each worker reads its own three bytes off the shared pipe)."""
    data = b""
    while len(data) < 3:
        chunk = os.read(0, 3 - len(data))
        if not chunk:
            return False
        data += chunk
    return data == b"go\n"


def serve(w: "Worker", index: int, ready: str):
    """A worker's life once its sockets are open (the namespace runtime's and the big-lab
    runtime's): `ready` said to `up`, stdin and stdout handed to nobody, the loop until SIGTERM
    or a bug (logged), every socket closed, and the process gone."""
    w.say(ready)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        w.loop()
    except (KeyboardInterrupt, SystemExit):
        pass
    except Exception as e:
        print(f"worker {index}: stopped by {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        w.close_all()
    os._exit(0)
