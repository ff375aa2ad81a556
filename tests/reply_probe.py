"""Paris ICMP probes from a vantage point's own namespace (kernel sockets, scapy-built), for
tests/test_reply_source.py on the namespace runtime:

    python reply_probe.py SRC FLOW0 NFLOWS MAXTTL DST [DST ...]

For every flow f (ICMP id f, seq 0: the ICMP checksum, hence the Paris flow, is fixed per flow
and destination) and TTL 1..MAXTTL, one echo request with IP-ID = TTL, sent with IP_HDRINCL; the
ICMP reply that quotes it (quoted id, destination and IP-ID) is read off a raw ICMP socket.
Prints one JSON line: [{"flow", "dst", "ttl", "address", "reply_ttl", "icmp_type", "labels"}].
"""
from __future__ import annotations

import json
import select
import socket
import sys
import time

from scapy.all import ICMP, IP, raw
from scapy.contrib.mpls import ICMPExtension_MPLS
from scapy.layers.inet import IPerror, ICMPerror

WAIT = 0.5


def main(argv):
    src, flow0, nflows, maxttl, dsts = argv[0], int(argv[1]), int(argv[2]), int(argv[3]), argv[4:]
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    out = []
    for f in range(flow0, flow0 + nflows):
        for dst in dsts:
            for ttl in range(1, maxttl + 1):
                tx.sendto(raw(IP(src=src, dst=dst, ttl=ttl, id=ttl) / ICMP(type=8, id=f, seq=0)), (dst, 0))
                got, end = None, time.monotonic() + WAIT
                while got is None and time.monotonic() < end:
                    if not select.select([rx], [], [], max(0.0, end - time.monotonic()))[0]:
                        break
                    r = IP(rx.recv(4096))
                    if ICMP not in r:
                        continue
                    ic = r[ICMP]
                    if ic.type == 0 and ic.id == f and r.src == dst:
                        got = (r, [])
                    elif ic.type in (3, 11) and IPerror in r and ICMPerror in r and r[IPerror].dst == dst \
                            and r[IPerror].id == ttl and r[ICMPerror].id == f:
                        labels = [e.label for e in r[ICMPExtension_MPLS].stack] if ICMPExtension_MPLS in r else []
                        got = (r, labels)
                if got is not None:
                    r, labels = got
                    out.append({"flow": f, "dst": dst, "ttl": ttl, "address": r.src, "reply_ttl": r.ttl,
                                "icmp_type": r[ICMP].type, "labels": labels})
                    if r[ICMP].type != 11:
                        break
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
