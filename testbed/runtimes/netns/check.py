"""The forwarding check, checked not slept: a lab is up once its hosts' kernels get echo replies through it.

From every probe's source host (its own namespace, its own kernel), ICMP echo requests go to
every probe target, repeated until each has answered or the deadline passes. A lab without
probes pings each host's gateway instead. The socket is opened inside the host's namespace
and used from here; nothing leaves the lab's namespaces.
"""
from __future__ import annotations

import os
import select
import socket
import struct
import time
from ipaddress import IPv4Address

from testbed.wire import ECHO_REQUEST, echo

from . import nsutil


def _echo(ident: int, seq: int) -> bytes:
    payload = b"utnt-lab forwarding check"
    return echo(ECHO_REQUEST, ident, seq, payload)


def targets_of(lab) -> list[tuple[str, list[str]]]:
    jobs: dict[str, list[str]] = {}
    for p in lab.probes:
        jobs.setdefault(p.source, [])
        for t in p.targets:
            if str(t) not in jobs[p.source]:
                jobs[p.source].append(str(t))
    if not jobs:
        for h in lab.hosts:
            if h.gateway is not None:
                jobs[h.name] = [str(h.gateway)]
    return list(jobs.items())


def ping_from(nsname: str, targets: list[str], deadline: float, interval: float = 0.2) -> dict[str, float]:
    """Echo every target from namespace nsname until each answered or the deadline; return
    {target: rtt in ms} for those that answered."""
    with nsutil.netns(nsname):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    # TTL 255: a target more than 64 hops away is reached (a 2,000-router grid's corners are 88
    # apart); a router target answers from 255 too, a host only from its kernel's 64
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
    ident = (os.getpid() ^ int(time.monotonic() * 1000)) & 0xFFFF
    got: dict[str, float] = {}
    sent_at: dict[int, tuple[str, float]] = {}
    seq = 0
    try:
        s.setblocking(False)
        next_send = 0.0
        while len(got) < len(targets):
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_send:
                for t in targets:
                    if t in got:
                        continue
                    seq = (seq + 1) & 0xFFFF
                    sent_at[seq] = (t, now)
                    try:
                        s.sendto(_echo(ident, seq), (t, 0))
                    except OSError:
                        pass      # e.g. no ARP answer yet: try again next round
                next_send = now + interval
            r, _, _ = select.select([s], [], [], max(0.0, min(next_send, deadline) - time.monotonic()))
            if not r:
                continue
            while True:
                try:
                    pkt, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                ihl = (pkt[0] & 0x0F) * 4
                if len(pkt) < ihl + 8:
                    continue
                typ, _code, _c, rid, rseq = struct.unpack_from("!BBHHH", pkt, ihl)
                if typ != 0 or rid != ident or rseq not in sent_at:
                    continue
                t, t0 = sent_at[rseq]
                if str(IPv4Address(pkt[12:16])) == t and t not in got:
                    got[t] = round((time.monotonic() - t0) * 1000, 3)
    finally:
        s.close()
    return got


def check_forwarding(lab, hosts_ns: dict[str, str], timeout: float) -> dict:
    jobs = targets_of(lab)
    deadline = time.monotonic() + timeout
    pings, missing = [], []
    for src, targets in jobs:
        got = ping_from(hosts_ns[src], targets, deadline)
        for t in targets:
            if t in got:
                pings.append({"from": src, "to": t, "rtt_ms": got[t]})
            else:
                missing.append({"from": src, "to": t})
    return {"ok": not missing and bool(jobs), "checked": bool(jobs), "pings": pings, "missing": missing}
