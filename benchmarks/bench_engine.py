"""Engine and sim throughput (issue 3). Prints medians and ratios measured in this run.

- engine: frames/s through one Router.handle() on one core, for an LSR label swap, an
  ingress push and plain IP forwarding, against scapy parsing the same frame (the peer);
- sim: frame-hops/s of the whole sim runtime: a burst of echo requests crossing the
  invisible-php lab and back (target: 200k frame-hops/s).
"""
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.controlplane import build  # noqa: E402
from testbed.engine import compile_node  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.sim import Sim  # noqa: E402
from testbed.wire import inet_checksum  # noqa: E402

RUNS = 7


def _echo(payload=b"x" * 56):
    m = bytearray(b"\x08\x00\x00\x00\x12\x34\x00\x01" + payload)
    m[2:4] = struct.pack("!H", inet_checksum(bytes(m)))
    return bytes(m)


def ip_packet(src, dst, ttl, payload=None):
    payload = payload or _echo()
    h = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), 1, 0, ttl, 1, 0, src, dst))
    h[10:12] = struct.pack("!H", inet_checksum(bytes(h)))
    return bytes(h) + payload


def bench_router(router, pidx, frame, n=20000):
    rates = []
    for _ in range(RUNS):
        t = time.perf_counter()
        for _ in range(n):
            router.handle(pidx, frame, 0.0)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def main():
    lab = load_lab("explicit")
    cp = build(lab)

    def router(name):
        r = compile_node(lab.nodes[name], cp.tables[name])
        for i, itf in enumerate(lab.nodes[name].interfaces):
            for p in itf.peers():
                r.arp[(i, int(p.ip))] = p.mac
        return r

    dst = int(lab.probes[0].targets[0])
    src = int(lab.nodes["vp"].interfaces[0].ip)
    p1 = router("p1")
    in_lbl = next(iter(cp["p1"].lfib))
    lsr_frame = p1.ports[0].mac + b"\x02" * 6 + b"\x88\x47" + struct.pack("!I", (in_lbl << 12) | 0x100 | 64) + \
        ip_packet(src, dst, 64)
    pe1 = router("pe1")
    ing_frame = pe1.ports[0].mac + b"\x02" * 6 + b"\x08\x00" + ip_packet(src, dst, 64)
    ce1 = router("ce1")
    ip_frame = ce1.ports[0].mac + b"\x02" * 6 + b"\x08\x00" + ip_packet(src, dst, 64)
    results = {
        "LSR label swap": bench_router(p1, 0, lsr_frame),
        "ingress push": bench_router(pe1, 0, ing_frame),
        "IP forward": bench_router(ce1, 0, ip_frame),
    }
    from scapy.all import Ether
    rates = []
    for _ in range(RUNS):
        t = time.perf_counter()
        for _ in range(500):
            Ether(lsr_frame)
        rates.append(500 / (time.perf_counter() - t))
    scapy_rate = statistics.median(rates)
    print("engine, one core, median of", RUNS, "runs:")
    for k, v in results.items():
        print(f"  {k:16s} {v:10,.0f} frames/s   ({v / scapy_rate:5.0f}x scapy parsing the same frame)")
    print(f"  {'scapy parse':16s} {scapy_rate:10,.0f} frames/s   (peer)")

    # whole sim: a burst of echo requests vp -> dst and back through the invisible-php lab
    lab = load_lab("invisible-php")
    cp = build(lab)
    rates = []
    for _ in range(RUNS):
        sim = Sim(lab, cp)
        port = sim.attach("vp", answer_arp=True)
        gw = next(i for i in lab.nodes["ce1"].interfaces if i.link.name == "vp-lan")
        d = int(lab.probes[0].targets[0])
        s = int(port.ip)
        # warm ARP everywhere with one ping
        port.send(gw.mac + port.mac + b"\x08\x00" + ip_packet(s, d, 64))
        sim.run()
        port.recv_all()
        before = sim.frame_hops
        for i in range(3000):
            port.send(gw.mac + port.mac + b"\x08\x00" + ip_packet(s, d, 64))
        t = time.perf_counter()
        sim.run()
        dt = time.perf_counter() - t
        got = len(port.recv_all())
        assert got == 3000, got
        rates.append((sim.frame_hops - before) / dt)
    med = statistics.median(rates)
    print(f"sim runtime: {med:,.0f} frame-hops/s (median of {RUNS}; target 200,000: {med / 200000:.2f}x)")


if __name__ == "__main__":
    main()
