"""Paris traceroute and ping on uTNT's own stack (implements utnt.reveal's Prober).

Paris traceroute keeps every header field that per-flow load balancers hash constant over a
trace: for icmp-paris the ICMP identifier and checksum (the sequence number varies and a
two-byte payload word compensates it), for udp-paris the ports (the UDP checksum, steered
by the payload word, carries the probe number). Replies are matched to probes by those
identifiers and checksums as quoted back, never by timing alone; anything that matches no
probe is counted and ignored.
"""
from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from utnt.model import METHOD_ICMP_PARIS, Reply, Trace

from .stack import Stack
from .wire import DecodeError, decode_icmp, inet_checksum, ones_sum

UDP_DPORT = 33435


@dataclass
class ProbeParams:
    attempts: int = 3        # -q: attempts per hop
    wait: float = 1.0        # -w: seconds to wait for a reply
    gap_limit: int = 5       # -g: consecutive silent hops that end a trace
    max_ttl: int = 64
    ping_count: int = 1      # -c
    rate: float = 0.0        # probes per second, 0 = unlimited
    loop_limit: int = 1      # stop at the first loop
    flow: int | None = None  # --flow: Paris flow id (ICMP checksum / UDP source port); None = random


@dataclass
class ProbeCounters:
    probes: int = 0
    replies: int = 0
    unmatched: int = 0       # well-formed replies that match no probe (spoofed, late, foreign)
    malformed: int = 0       # truncated quotes, bad checksums, bad lengths
    ext_malformed: int = 0   # ICMP extension structures with bad lengths or checksums

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def _fix16(words_sum: int) -> int:
    """The 16-bit word that brings a one's-complement sum to 0xFFFF."""
    return (~words_sum) & 0xFFFF


def _ip(a: object) -> int:
    return int(IPv4Address(str(a)))


@dataclass
class _Pending:
    kind: str
    dst: int
    ttl: int
    sent: float
    reply: tuple[Any, ...] | None = None


class NetProber:
    fresh_traces = True            # every trace() builds a new Trace (utnt.reveal.Prober)

    def __init__(self, stack: Stack, params: ProbeParams | None = None) -> None:
        self.stack = stack
        self.p = params or ProbeParams()
        self.counters = ProbeCounters()
        if self.p.flow:            # a chosen flow: the same probes, hence the same ECMP path, every run
            self.icmp_id = (self.p.flow * 40503) & 0xFFFF | 1
            self.icmp_ck = self.udp_sport = self.p.flow
        else:
            self.icmp_id = int.from_bytes(os.urandom(2), "big") | 1
            self.icmp_ck = int.from_bytes(os.urandom(2), "big") or 1
            self.udp_sport = 40000 + int.from_bytes(os.urandom(2), "big") % 20000
        self.ping_id = (self.icmp_id + 1) & 0xFFFF or 7
        self.seq = 0
        self.pending: dict[tuple[Any, ...], _Pending] = {}
        self._last_send: float | None = None

    # ------------------------------------------------------------------ probes
    def _rate_wait(self) -> None:
        if not self.p.rate:
            return
        gap = 1.0 / self.p.rate
        now = self.stack.port.clock()
        if self._last_send is not None and now - self._last_send < gap:
            self._collect(gap - (now - self._last_send))
        self._last_send = self.stack.port.clock()

    def _icmp_probe(self, ident: int, seq: int, check: int) -> bytes:
        body = struct.pack("!BBHHH", 8, 0, check, ident, seq) + b"\x00\x00"
        word = _fix16(ones_sum(body))
        msg = body[:8] + struct.pack("!H", word)
        assert inet_checksum(msg) == 0
        return msg

    def _udp_probe(self, dst: int, sport: int, check: int) -> bytes:
        length = 8 + 2
        pseudo = struct.pack("!IIBBH", self.stack.ip, dst, 0, 17, length)
        hdr = struct.pack("!HHHH", sport, UDP_DPORT, length, check)
        word = _fix16(ones_sum(pseudo + hdr + b"\x00\x00"))
        return hdr + struct.pack("!H", word)

    def _send(self, dst: int, ttl: int, method: str) -> tuple[Any, ...]:
        self._rate_wait()
        self.seq = (self.seq + 1) & 0xFFFF or 1
        if method == METHOD_ICMP_PARIS:
            key = ("icmp", dst, self.icmp_id, self.seq)
            l4, proto = self._icmp_probe(self.icmp_id, self.seq, self.icmp_ck), 1
        else:
            check = self.seq if self.seq != 0xFFFF else 1
            key = ("udp", dst, self.udp_sport, check)
            l4, proto = self._udp_probe(dst, self.udp_sport, check), 17
        self.pending[key] = _Pending(key[0], dst, ttl, self.stack.port.clock())
        self.stack.send_ip(dst, proto, ttl, l4, ident=self.seq)
        self.counters.probes += 1
        return key

    # ------------------------------------------------------------------ replies
    def _collect(self, timeout: float) -> None:
        for ip, t in self.stack.receive(timeout):
            self._match(ip, t)

    def _match(self, ip: bytes, t: float) -> None:
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 1:
            self.counters.unmatched += 1
            return
        try:
            m = decode_icmp(ip, ihl, len(ip))
        except DecodeError:
            self.counters.malformed += 1
            return
        if not m.checksum_ok:
            self.counters.malformed += 1
            return
        src, = struct.unpack_from("!I", ip, 12)
        rttl = ip[8]
        if m.type == 0:
            key = ("icmp", src, m.ident, m.seq)
            if key not in self.pending:
                key = ("ping", src, m.ident, m.seq)
            self._deliver(key, (src, 0, 0, rttl, None, []), t)
            return
        if m.type not in (3, 11):
            self.counters.unmatched += 1
            return
        q = ip[m.quote_off:m.quote_off + m.quote_len]
        if len(q) < 28 or q[0] >> 4 != 4:
            self.counters.malformed += 1
            return
        qihl = (q[0] & 0x0F) * 4
        if qihl < 20 or len(q) < qihl + 8:
            self.counters.malformed += 1
            return
        qsrc, qdst = struct.unpack_from("!II", q, 12)
        if qsrc != self.stack.ip:
            self.counters.unmatched += 1
            return
        qttl = q[8]
        if m.ext_malformed or (m.ext_found and not m.ext_checksum_ok):
            self.counters.ext_malformed += 1
        labels = list(m.labels)
        if q[9] == 1:
            qtype, _, qck, qid, qseq = struct.unpack_from("!BBHHH", q, qihl)
            if qtype != 8 or (qid == self.icmp_id and qck != self.icmp_ck):
                self.counters.unmatched += 1
                return
            key = ("icmp", qdst, qid, qseq)
        elif q[9] == 17:
            sport, dport, _, qck = struct.unpack_from("!HHHH", q, qihl)
            if dport != UDP_DPORT:
                self.counters.unmatched += 1
                return
            key = ("udp", qdst, sport, qck)
        else:
            self.counters.unmatched += 1
            return
        self._deliver(key, (src, m.type, m.code, rttl, qttl, labels), t)

    def _deliver(self, key: tuple[Any, ...], reply: tuple[Any, ...], t: float) -> None:
        pend = self.pending.get(key)
        if pend is None or pend.reply is not None:
            self.counters.unmatched += 1
            if os.environ.get("UTNT_DEBUG"):
                print("unmatched", key, reply)
            return
        pend.reply = reply + ((t - pend.sent) * 1000.0,)
        self.counters.replies += 1

    def _wait_for(self, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
        port = self.stack.port
        deadline = self.pending[key].sent + self.p.wait
        while self.pending[key].reply is None:
            left = deadline - port.clock()
            if left <= 0:
                break
            self._collect(left)
        return self.pending.pop(key).reply

    # ------------------------------------------------------------------ Prober protocol
    def trace(self, dst: str, first_ttl: int = 1, method: str = METHOD_ICMP_PARIS) -> Trace:
        d = _ip(dst)
        replies: list[Reply | None] = []
        gap = 0
        seen: dict[str, int] = {}
        stop = None
        probes = 0
        ttl = max(1, first_ttl)
        while ttl <= self.p.max_ttl:
            got = None
            for _ in range(self.p.attempts):
                key = self._send(d, ttl, method)
                probes += 1
                got = self._wait_for(key)
                if got is not None:
                    break
            if got is None:
                replies.append(None)
                gap += 1
                if gap >= self.p.gap_limit:
                    stop = "GAPLIMIT"
                    break
                ttl += 1
                continue
            gap = 0
            src, itype, icode, rttl, qttl, labels, rtt = got
            addr = str(IPv4Address(src))
            replies.append(Reply(address=addr, probe_ttl=ttl, rtt_ms=round(rtt, 3), icmp_type=itype,
                                 icmp_code=icode, reply_ttl=rttl, quoted_ttl=qttl, labels=labels))
            if src == d or itype in (0, 3):
                stop = "COMPLETED" if src == d else "UNREACH"
                break
            # a loop, as scamper's trace_isloop: the address answered before at a hop that is
            # not the one just before (the earliest one it answered at decides: one address at
            # three TTLs in a row, two UHP egresses back to back, is a loop; at two, not)
            first = seen.setdefault(addr, ttl)
            if ttl - first >= 2:
                stop = "LOOP"
                break
            ttl += 1
        else:
            stop = "HOPLIMIT"
        # a trailing run of silent hops is kept (as scamper does); TNT reads them as '*'
        return Trace.from_replies(self.stack.ip_str, str(dst), method, max(1, first_ttl), replies,
                                  stop_reason=stop, probe_count=probes)

    def ping(self, addr: str) -> int | None:
        d = _ip(addr)
        ttls: list[int] = []
        for _ in range(self.p.ping_count):
            self._rate_wait()
            self.seq = (self.seq + 1) & 0xFFFF or 1
            key = ("ping", d, self.ping_id, self.seq)
            self.pending[key] = _Pending("ping", d, 64, self.stack.port.clock())
            body = struct.pack("!BBHHH", 8, 0, 0, self.ping_id, self.seq) + b"uTNT-lab"
            c = inet_checksum(body)
            self.stack.send_ip(d, 1, 64, body[:2] + struct.pack("!H", c) + body[4:])
            self.counters.probes += 1
            r = self._wait_for(key)
            if r is not None and r[0] == d:
                ttls.append(r[3])
        if not ttls:
            return None
        cnt = Counter(ttls)
        best = max(cnt.values())
        return max(t for t, n in cnt.items() if n == best)    # ties go to the higher TTL
