"""Frames per second forwarded by the engine between namespaces (namespace runtime).

Lab: h1 - r1 - ... - rK - h2 (point-to-point links, K routers, default 2, one worker each).
A generator process in h1's namespace blasts pre-built UDP frames (100 bytes) straight at
r1's MAC on a packet socket; in h2 a bound UDP socket that is never read absorbs them (no
ICMP back). Delivered frames are h2's eth0 rx counter; forwarded frames/s = delivered /
duration, frame-hops/s = that x K. Also printed: the sim runtime's frame-hops/s on the same
lab in the same run (the engine with no I/O), and the ratio.

A generator that is not paced burns a whole core of the two, so the engines get less; the
benchmark therefore sweeps generator paces and reports the best median too.

With --delay-ms D the links between routers carry a delay of D ms (the engine holds every
frame in its timer queue: testbed/runtimes/netns/impair.py), to measure the impaired path
against the direct one; without it no link is impaired (what every library lab runs).

Usage (root): .venv/bin/python benchmarks/bench_netns_forwarding.py [--routers 1,2] [--rates 0,80000,...]
              [--seconds S] [--runs N] [--workers W] [--delay-ms D]
Prints medians over the runs. Not a test: no assertions on the figures.
"""
from __future__ import annotations

import secrets
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.controlplane import build  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api, nsutil  # noqa: E402
from testbed.runtimes.sim import Sim  # noqa: E402

PORT = 9999
RUN = secrets.token_hex(2)   # lab names unique to this run: benchmarks run beside anyone's labs

GENERATOR = r"""
import socket, sys, time

frame = bytes.fromhex(sys.argv[1]); seconds = float(sys.argv[2]); rate = float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)
s.bind(("eth0", 0))
send = s.send
n = 0
t0 = time.monotonic(); end = t0 + seconds
if rate <= 0:
    while True:
        for _ in range(1000):
            send(frame)
        n += 1000
        if time.monotonic() >= end:
            break
else:
    batch = max(1, int(rate / 1000))
    nxt = t0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now < nxt:
            time.sleep(nxt - now)      # pace without burning the CPU the engines need
            continue
        for _ in range(batch):
            send(frame)
        n += batch
        nxt += batch / rate
print(n, time.monotonic() - t0)
"""


def lab_file(k: int, delay_ms: float | None = None) -> Path:
    d = Path(tempfile.mkdtemp(prefix="bench-fwd-"))
    lines = ["name: fwd", "routers:"] + [f"  r{i}: {{}}" for i in range(1, k + 1)]
    lines += ["hosts:", "  h1: {}", "  h2: {}", "links:", "  - [h1, r1]"]
    lines += [f"  - {{endpoints: [r{i}, r{i + 1}], delay_ms: {delay_ms}}}" if delay_ms is not None
              else f"  - [r{i}, r{i + 1}]" for i in range(1, k)]
    lines += [f"  - [r{k}, h2]", "probes:", "  - {from: h1, to: h2}"]
    p = d / "fwd.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def udp_frame(lab, size=100) -> bytes:
    import struct

    from testbed.wire import inet_checksum
    h1, h2 = lab.nodes["h1"], lab.nodes["h2"]
    r1 = lab.nodes["r1"]
    src, dst = h1.interfaces[0].ip.packed, h2.interfaces[0].ip.packed
    payload = b"x" * (size - 14 - 20 - 8)
    udp = struct.pack("!HHHH", 40000, PORT, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst))
    ip[10:12] = struct.pack("!H", inet_checksum(bytes(ip)))
    return r1.interfaces[0].mac + h1.interfaces[0].mac + b"\x08\x00" + bytes(ip) + udp


def rx_packets(nsn: str) -> int:
    r = subprocess.run(["ip", "-n", nsn, "-s", "-j", "link", "show", "eth0"], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)[0]["stats64"]["rx"]["packets"]


def sim_frame_hops_per_s(lab, frame: bytes, n: int = 50000) -> float:
    sim = Sim(lab, build(lab))
    port = sim.attach("h1", answer_arp=True)
    sink = sim.attach("h2", answer_arp=True)
    for _ in range(3):               # ARP everywhere first
        port.send(frame)
        sim.run(1.0)
    port.recv_all()
    sink.recv_all()
    base = sim.frame_hops
    t0 = time.perf_counter()
    for _ in range(n):
        port.send(frame)
    sim.run(1.0)
    dt = time.perf_counter() - t0
    assert len(sink.recv_all()) == n
    return (sim.frame_hops - base) / dt


def one_run(name: str, lab, frame: bytes, seconds: float, rate: float) -> dict:
    st = api.status(name)
    h1, h2 = st["hosts"]["h1"], st["hosts"]["h2"]
    with nsutil.netns(h2):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind((str(lab.nodes["h2"].interfaces[0].ip), PORT))
    try:
        before = rx_packets(h2)
        r = subprocess.run(["ip", "netns", "exec", h1, sys.executable, "-c", GENERATOR, frame.hex(), str(seconds),
                            str(rate)], capture_output=True, text=True, check=True)
        sent, gen_secs = r.stdout.split()
        time.sleep(0.3)
        delivered = rx_packets(h2) - before
    finally:
        sink.close()
    sent, gen_secs = int(sent), float(gen_secs)
    return {"offered_pps": sent / gen_secs, "forwarded_pps": delivered / gen_secs, "delivered": delivered,
            "sent": sent}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--routers", default="1,2", help="chain lengths to measure (comma-separated)")
    ap.add_argument("--rates", default="0,60000,80000,100000,120000,140000",
                    help="generator paces in frames/s (0: as fast as it can)")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--delay-ms", type=float, default=None, help="delay on the links between routers (impaired path)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    rates = [float(r) for r in a.rates.split(",")]
    for k in (int(x) for x in a.routers.split(",")):
        lab = load_lab(str(lab_file(k, a.delay_ms)))
        frame = udp_frame(lab)
        sim_rate = statistics.median(sim_frame_hops_per_s(lab, frame, 20000) for _ in range(3))
        name = f"bench{RUN}-fwd"
        api.down(name)
        st = api.up(lab, name=name, workers=a.workers)
        rows = []
        try:
            one_run(name, lab, frame, 0.2, 1000)        # warm-up: the engines resolve next hops
            for rate in rates:
                runs = [one_run(name, lab, frame, a.seconds, rate) for _ in range(a.runs)]
                rows.append((rate, statistics.median(r["offered_pps"] for r in runs),
                             statistics.median(r["forwarded_pps"] for r in runs)))
        finally:
            api.down(name)
        print(f"netns forwarding: chain of {k} router(s) on {len(st['workers'])} engine worker(s), "
              f"100-byte UDP frames, {a.seconds:.0f} s x {a.runs} runs per pace (medians)"
              + (f", {a.delay_ms} ms delay between routers" if a.delay_ms is not None else ""))
        print(f"  {'generator pace':>16} {'offered/s':>12} {'delivered/s':>12} {'frame-hops/s':>13}")
        for rate, off, fwd in rows:
            print(f"  {('max' if rate <= 0 else f'{rate:,.0f}'):>16} {off:12,.0f} {fwd:12,.0f} {fwd * k:13,.0f}")
        best = max(fwd for _, _, fwd in rows)
        print(f"  best: {best:,.0f} frames/s delivered = {best * k:,.0f} frame-hops/s forwarded by the engine; "
              f"sim (same engine, no I/O): {sim_rate:,.0f} frame-hops/s; ratio netns/sim {best * k / sim_rate:.2f}")


if __name__ == "__main__":
    main()
