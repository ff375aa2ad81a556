"""Micro-benchmark of testbed.wire hot-path primitives, against scapy in the same run.

Prints the median time per call of inet_checksum (100-byte buffer) and parse_ipv4, and the
ratio against scapy parsing the same frame.  Usage: .venv/bin/python benchmarks/bench_wire.py
"""
from __future__ import annotations

import statistics
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scapy.all import IP, Ether  # noqa: E402
from scapy.utils import checksum as scapy_checksum  # noqa: E402

from testbed.wire import (inet_checksum, ip_frame, ip_packet, parse_eth,  # noqa: E402
                          parse_ipv4, udp_header)

ROUNDS = 15
TARGET_NS = 20_000_000  # ~20 ms per round


def median_ns(fn) -> float:
    """Median over ROUNDS of the mean time per call of fn() in a tight loop."""
    n = 1
    while True:  # calibrate the loop count to ~TARGET_NS per round
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        dt = time.perf_counter_ns() - t0
        if dt >= TARGET_NS // 10 or n >= 1 << 22:
            break
        n *= 2
    n = max(1, int(n * TARGET_NS / max(dt, 1)))
    per_call = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        per_call.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(per_call)


def main() -> None:
    buf100 = bytes(range(100))
    src, dst = int(IPv4Address("10.0.0.1")), int(IPv4Address("10.9.9.9"))
    payload = b"uTNT-probe-payload-0123456789abcdef"
    udp = udp_header(40000, 33434, len(payload), src, dst, payload) + payload
    frame = ip_frame(b"\x02\0\0\0\0\x02", b"\x02\0\0\0\0\x01", ip_packet(src, dst, 17, 5, udp, ident=7))
    ip_bytes = frame[14:]

    results = {
        "inet_checksum(100 B)": median_ns(lambda: inet_checksum(buf100)),
        "scapy checksum(100 B)": median_ns(lambda: scapy_checksum(buf100)),
        "parse_ipv4(frame, 14)": median_ns(lambda: parse_ipv4(frame, 14)),
        "parse_eth + parse_ipv4": median_ns(lambda: parse_ipv4(frame, parse_eth(frame)[3])),
        "scapy IP(frame[14:])": median_ns(lambda: IP(ip_bytes)),
        "scapy Ether(frame)": median_ns(lambda: Ether(frame)),
    }
    width = max(map(len, results))
    print(f"python {sys.version.split()[0]}, median of {ROUNDS} rounds, frame {len(frame)} bytes (Ether/IPv4/UDP)")
    for name, ns in results.items():
        print(f"  {name:<{width}}  {ns:10.1f} ns/call")
    print("ratios (scapy / ours, same run):")
    print(f"  checksum 100 B:                       {results['scapy checksum(100 B)'] / results['inet_checksum(100 B)']:8.1f}x")
    print(f"  IPv4 header: IP(bytes) / parse_ipv4:  {results['scapy IP(frame[14:])'] / results['parse_ipv4(frame, 14)']:8.1f}x")
    print(f"  frame: Ether(frame) / eth+ipv4:       {results['scapy Ether(frame)'] / results['parse_eth + parse_ipv4']:8.1f}x")


if __name__ == "__main__":
    main()
