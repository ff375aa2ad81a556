"""A router (or a plain host) as a function from frames to frames.

Everything a probe sees emerges from forwarding state (FIB/LFIB from the control plane)
and the vendor personality table; the engine never reads ground truth and never knows
whether a packet is a probe. Behaviours follow tnt.md section 2:
  - ingress: IP-TTL decremented, LSE-TTL = IP-TTL (uniform) or 255 (pipe);
  - LSR: LSE-TTL decremented; on expiry answer directly, tunnel the time-exceeded along
    the LSP (Cisco, RFC 3032 2.3.2) or drop silently (Linux);
  - pop: IP-TTL := min(IP-TTL, LSE-TTL) (Cisco, Juniper) or copy/decrement (Linux);
  - ICMP errors quote the received label stack (RFC 4950) in an RFC 4884 extension;
  - a reply leaves by the equal-cost next hop back to the prober that the hash of the packet
    it answers picks, decided once (engine/reply.py, shared with the truth); its source address
    follows the router's rule per message kind (vendor table, per-router override): the
    interface it leaves by (RFC 1812 4.3.2.4, Cisco and Juniper errors), the probed address
    for locally delivered packets (echo-reply everywhere, RFC 1812 4.3.3.6; Linux
    port-unreachable), or the incoming interface; with the vendor's initial TTL per reply type.
The hot path works on bytes with struct; no objects per packet beyond the output list.
The slow paths (ICMP errors with their RFC 4884/4950 objects, echo replies, ARP, label stacks
of tunnelled errors) build their bytes with testbed/wire, the testbed's one codec; the hot
paths are checked against it byte for byte (tests/test_engine_hotpath.py).
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, overload

from testbed.controlplane.labelop import ELI, PHP, UNTAGGED, after_hop, strip_explicit_null
from testbed.controlplane.tables import IMPLICIT_NULL
from testbed.engine.ipv6 import ET_IP6, Ipv6Path, flow_hash6
from testbed.engine.records import (Buf, CompiledRoute, Counters, FibHop, LabelTable, LfibExtra, LfibHop, Lse,
                                   Neighbour, Out, Port)
from testbed.engine.reply import reply_hop, reply_source, router_seed, source_mode
from testbed.wire import (WireError, arp_reply, arp_request, echo, encode_stack, icmp_error, inet_checksum,
                          ip_packet, parse_arp, parse_icmp)

if TYPE_CHECKING:
    from testbed.controlplane.tables import LfibEntry, Route, RouterTables
    from testbed.lab.model import Node
    from testbed.vendors import Personality

T = TypeVar("T")
R = TypeVar("R", bound="Router")

ETH_IP, ETH_ARP, ETH_MPLS = 0x0800, 0x0806, 0x8847
BCAST = b"\xff" * 6
_ET_IP, _ET_ARP, _ET_MPLS = b"\x08\x00", b"\x08\x06", b"\x88\x47"
ICMP_ERRORS = (3, 4, 5, 11, 12)
PENDING_MAX = 256          # frames queued per unresolved neighbour (Linux queues ~200 KB)
ARP_RETRY = 1.0


def flow_hash(ip: Buf, off: int) -> int:
    """Per-flow hash over what load balancers hash: addresses, protocol and the first
    four bytes of the transport header (ports; ICMP type, code and checksum).
    Paris traceroute keeps these constant, so it sees one path."""
    ihl = (ip[off] & 0x0F) * 4
    return zlib.crc32(bytes(ip[off + 9:off + 10]) + bytes(ip[off + 12:off + 20]) + bytes(ip[off + ihl:off + ihl + 4]))


@dataclass
class Router(Ipv6Path):
    name: str
    ports: list[Port]
    loopback: int | None
    personality: Personality
    ttl_propagate: bool
    rfc4950: bool
    icmp_tunneling: bool
    icmp_rate_limit: int
    is_host: bool
    icmp_source: dict[str, str] = field(default_factory=lambda: {"time_exceeded": "outgoing",
                                                       "unreachable": "outgoing", "echo_reply": "probed"})
    fib: dict[int, dict[int, CompiledRoute]] = field(default_factory=dict)    # plen -> {net: route}
    lfib: LabelTable = field(default_factory=dict[int, list[LfibHop]])       # label -> [(out_label|None, port, gw_int)]
    # label -> [(labels pushed above the out-label, PHP write-back) per LFIB hop], only for labels
    # whose hops push (LDP over RSVP) or pop without write-back (a no-decrement-ttl LSP)
    lfib_extra: dict[int, list[LfibExtra]] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    fib6: dict[int, dict[int, CompiledRoute]] = field(default_factory=dict)   # (engine/ipv6.py)

    def __post_init__(self) -> None:
        self.my = {p.ip: p.index for p in self.ports}
        if self.loopback is not None:
            self.my[self.loopback] = -1
        self.plens = sorted(self.fib, reverse=True)
        self.plens6 = sorted(self.fib6, reverse=True)
        self.my6 = {p.ip6: p.index for p in self.ports if p.ip6 is not None}
        self.arp: dict[tuple[int, int], bytes] = {}
        self.pending: dict[Neighbour, list[tuple[bytes, bytes]]] = {}      # frames waiting: (EtherType, payload)
        self.arp_asked: dict[tuple[int, int], float] = {}
        self.now = 0.0
        self.ident = 0
        self._rcache: dict[int, tuple[int, int, tuple[int, ...]]] = {}  # dst -> (port, next hop, push): single-path
        self._tokens = float(self.icmp_rate_limit)
        self._tok_t = 0.0
        p = self.personality
        self.ttl_te, self.ttl_er, self.ttl_unreach = p.ttl_time_exceeded, p.ttl_echo_reply, p.ttl_unreachable
        self.quote = p.quote_bytes
        self.expiry = "drop" if p.lse_expiry == "drop" else ("tunnel" if self.icmp_tunneling else "reply")
        self.ttl_propagate_local = self.ttl_propagate if p.ttl_propagate_local is None else p.ttl_propagate_local
        self._ip_id: str = p.ip_id
        self._id_port = -1
        self._idents: dict[int, int] = {}
        self._rand = zlib.crc32(self.name.encode()) or 1
        self._reply_seed = router_seed(self.name)
        self._buckets: dict[tuple[int, int], tuple[float, float]] = {}   # (type, port) -> (tokens, when)
        self.local_sink: Callable[[bytes], object] | None = None  # ICMP for this router, other than echo requests

    # ------------------------------------------------------------------ entry point
    def handle(self, pidx: int, frame: bytes, now: float = 0.0) -> Out:
        """Process one received frame; return [(port_index, frame), ...] to send."""
        self.now = now
        out: Out = []
        c = self.counters
        c.rx += 1
        if len(frame) < 14:
            c.dropped_malformed += 1
            return out
        port = self.ports[pidx]
        dmac = frame[0:6]
        et = frame[12:14]
        if dmac != port.mac and dmac != BCAST and not (dmac[0] & 1 and et == ET_IP6 and port.ip6 is not None):
            c.dropped_other_mac += 1
            return out
        try:
            if et == _ET_IP:
                if not self._fast_ip(port, frame, out):
                    self._ip_in(port, frame, out)
            elif et == _ET_MPLS:
                if not self._fast_swap(frame, out):
                    self._mpls_in(port, frame, out)
            elif et == _ET_ARP:
                self._arp_in(port, frame, out)
            elif et == ET_IP6 and (self.my6 or self.fib6):
                self._ip6_in(port, frame, out)
        except (IndexError, struct.error, ValueError):
            c.dropped_malformed += 1
        c.tx += len(out)
        return out

    # ------------------------------------------------------------------ fast paths
    def _fast_ip(self, port: Port, frame: bytes, out: Out) -> bool:
        """Transit IPv4 with a plain 20-byte header, TTL > 1, a single-path unlabelled route and
        a resolved next hop: rewrite in place. Anything else takes the general path."""
        n = len(frame)
        if n < 34 or frame[14] != 0x45 or self.is_host or frame[22] <= 1:
            return False
        tot = (frame[16] << 8) | frame[17]
        if tot < 20 or 14 + tot > n:
            return False
        dst = int.from_bytes(frame[30:34], "big")
        if dst in self.my or ((dst & port.mask) == port.net and (dst | port.mask) == 0xFFFFFFFF):
            return False
        hit = self._rcache.get(dst)
        if hit is None:
            route = self._lpm(dst)
            if route is None or len(route.hops) != 1:
                return False
            pidx, gw, push = route.hops[0]
            hit = (pidx, gw if gw is not None else dst, push)
            self._rcache[dst] = hit
        pidx, nh, push = hit
        if push:
            return False
        mac = self.arp.get((pidx, nh))
        if mac is None:
            return False
        if inet_checksum(frame[14:34]) != 0:
            self.counters.dropped_checksum += 1
            return True
        buf = bytearray(frame[:14 + tot])
        buf[0:6] = mac
        buf[6:12] = self.ports[pidx].mac
        # TTL - 1 and the RFC 1624 incremental checksum update (TTL is the high byte)
        c = ((buf[24] << 8) | buf[25]) + 0x100
        c = (c & 0xFFFF) + (c >> 16)
        buf[22] -= 1
        buf[24], buf[25] = c >> 8, c & 0xFF
        self.counters.forwarded += 1
        out.append((pidx, bytes(buf)))
        return True

    def _fast_swap(self, frame: bytes, out: Out) -> bool:
        """A one-label swap (not expiring, single next hop, neighbour resolved): rewrite in place."""
        if len(frame) < 38:
            return False
        w = int.from_bytes(frame[14:18], "big")
        ttl = w & 0xFF
        if ttl <= 1 or not w & 0x100:      # expiring, or a deeper stack: the general path checks it
            return False
        if self.lfib_extra and (w >> 12) in self.lfib_extra:
            return False
        hops = self.lfib.get(w >> 12)
        if hops is None or len(hops) != 1:
            return False
        out_label, pidx, gw = hops[0]
        if out_label is None or out_label == IMPLICIT_NULL or self.is_host:
            return False
        mac = self.arp.get((pidx, gw))
        if mac is None:
            return False
        buf = bytearray(frame)
        buf[0:6] = mac
        buf[6:12] = self.ports[pidx].mac
        buf[14:18] = ((out_label << 12) | (w & 0xF00) | (ttl - 1)).to_bytes(4, "big")
        self.counters.label_switched += 1
        out.append((pidx, bytes(buf)))
        return True

    # ------------------------------------------------------------------ ARP
    def _arp_in(self, port: Port, frame: bytes, out: Out) -> None:
        if len(frame) < 42:
            self.counters.dropped_malformed += 1
            return
        try:
            op, sha, spa, _, tpa = parse_arp(frame, 14)
        except WireError:           # not Ethernet/IPv4 ARP: not ours to answer
            return
        if spa and (spa & port.mask) == port.net:
            key = (port.index, spa)
            self.arp[key] = bytes(sha)
            q = self.pending.pop(key, None)
            if q:
                for et, payload in q:
                    out.append((port.index, bytes(sha) + port.mac + et + payload))
        if op == 1 and tpa == port.ip:
            out.append((port.index, arp_reply(port.mac, port.ip, bytes(sha), spa)))

    def _send(self, pidx: int, nexthop: int, et: bytes, payload: bytes, out: Out) -> None:
        key = (pidx, nexthop)
        mac = self.arp.get(key)
        port = self.ports[pidx]
        if mac is not None:
            out.append((pidx, mac + port.mac + et + payload))
            return
        q = self.pending.setdefault(key, [])
        if len(q) < PENDING_MAX:
            q.append((et, payload))
        last = self.arp_asked.get(key)
        if last is None or self.now - last >= ARP_RETRY or len(q) == 1:
            self.arp_asked[key] = self.now
            self.counters.arp_sent += 1
            out.append((pidx, arp_request(port.mac, port.ip, nexthop) if nexthop >> 32 == 0
                        else self._solicit6(port, nexthop)))

    # ------------------------------------------------------------------ lookups
    def _lpm(self, dst: int) -> CompiledRoute | None:
        fib = self.fib
        for plen in self.plens:
            mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0
            r = fib[plen].get(dst & mask)
            if r is not None:
                return r
        return None

    @staticmethod
    def _pick(hops: Sequence[T], ip: Buf, off: int) -> T:
        if len(hops) == 1:
            return hops[0]
        return hops[flow_hash(ip, off) % len(hops)]

    # ------------------------------------------------------------------ IPv4
    def _parse_ip(self, buf: Buf, off: int) -> tuple[int, int] | None:
        """Validate an IPv4 header at off; return (ihl, total_len) or None (counted)."""
        if len(buf) - off < 20:
            self.counters.dropped_malformed += 1
            return None
        vihl = buf[off]
        ihl = (vihl & 0x0F) * 4
        tot = (buf[off + 2] << 8) | buf[off + 3]
        if vihl >> 4 != 4 or ihl < 20 or tot < ihl or off + tot > len(buf):
            self.counters.dropped_malformed += 1
            return None
        if inet_checksum(bytes(buf[off:off + ihl])) != 0:
            self.counters.dropped_checksum += 1
            return None
        return ihl, tot

    def _ip_in(self, port: Port, frame: bytes, out: Out) -> None:
        hdr = self._parse_ip(frame, 14)
        if hdr is None:
            return
        ihl, tot = hdr
        ip = bytearray(frame[14:14 + tot])
        dst, = struct.unpack_from("!I", ip, 16)
        if dst in self.my or (port.plen < 31 and dst == (port.net | (~port.mask & 0xFFFFFFFF))):
            self._local(port, ip, ihl, dst, out, stack=None)
            return
        if self.is_host:
            return
        self._ip_forward(port, ip, ihl, dst, out, stack=None, decrement=True, check=True)

    def _ip_forward(self, port: Port, ip: bytearray, ihl: int, dst: int, out: Out, stack: list[Lse] | None,
                    decrement: bool, check: bool, hops: FibHop | None = None) -> None:
        """Forward an IP packet. stack: label stack as received, for RFC 4950 quoting."""
        ttl = ip[8]
        if check and ttl <= 1:
            self._error(port, 11, 0, bytes(ip), stack, out)
            return
        if hops is None:
            route = self._lpm(dst)
            if route is None:
                self.counters.dropped_no_route += 1
                self._error(port, 3, 0, bytes(ip), stack, out)
                return
            pidx, gw, push = self._pick(route.hops, ip, 0)
        else:
            pidx, gw, push = hops
        if decrement and ttl > 1:
            ttl -= 1
        nh = gw if gw is not None else dst
        if push:
            # ingress LER: IP-TTL decremented (vendor), then LSE-TTL = IP-TTL or 255
            if decrement and not self.personality.decrement_at_ingress:
                ttl = ip[8]
            self._set_ttl(ip, ttl)
            lse_ttl = ttl if self.ttl_propagate and not self.personality.no_decrement_ttl \
                else self.personality.pipe_lse_ttl
            self.counters.forwarded += 1
            labels = self._labels(push, lse_ttl)
            if self.personality.entropy_label:
                labels = self._with_entropy(labels, ip, lse_ttl)
            self._send(pidx, nh, _ET_MPLS, labels + bytes(ip), out)
            return
        self._set_ttl(ip, ttl)
        self.counters.forwarded += 1
        self._send(pidx, nh, _ET_IP, bytes(ip), out)

    @staticmethod
    def _with_entropy(labels: bytes, ip: Buf, ttl: int) -> bytes:
        """RFC 6790: the entropy label indicator (7) and an entropy label from the flow hash
        under the pushed labels; the EL's TTL is 0 (vendors.md 2.1, unverified), the ELI's
        that of the label above; S moves to the EL."""
        el = 16 + flow_hash(ip, 0) % ((1 << 20) - 16)
        top = bytearray(labels)
        top[-2] &= 0xFE                                   # clear S on the last pushed label
        return bytes(top) + struct.pack("!II", (ELI << 12) | (ttl & 0xFF), (el << 12) | 0x100)

    @staticmethod
    def _labels(push: tuple[int, ...], ttl: int) -> bytes:
        n = len(push)
        return b"".join(struct.pack("!I", (lbl << 12) | ((1 if i == n - 1 else 0) << 8) | (ttl & 0xFF))
                        for i, lbl in enumerate(push))

    @staticmethod
    def _set_ttl(ip: bytearray, ttl: int) -> None:
        if ip[8] == ttl:
            return
        # RFC 1624 incremental update of the header checksum (TTL is the high byte of word 4)
        old = (ip[8] << 8) | ip[9]
        new = (ttl << 8) | ip[9]
        c = (ip[10] << 8) | ip[11]
        s = (~c & 0xFFFF) + (~old & 0xFFFF) + new
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        c = ~s & 0xFFFF
        ip[8] = ttl
        ip[10], ip[11] = c >> 8, c & 0xFF

    # ------------------------------------------------------------------ local delivery
    def _local(self, port: Port, ip: bytearray, ihl: int, dst: int, out: Out, stack: list[Lse] | None) -> None:
        self.counters.local += 1
        proto = ip[9]
        src, = struct.unpack_from("!I", ip, 12)
        frag = ((ip[6] << 8) | ip[7]) & 0x3FFF
        if frag & 0x1FFF:
            return
        me = dst if dst in self.my else port.ip
        if proto == 1:
            if len(ip) < ihl + 8:
                self.counters.dropped_malformed += 1
                return
            if ip[ihl] == 8 and ip[ihl + 1] == 0:
                if not self._may_answer(0, port):
                    return
                req = parse_icmp(ip, ihl)
                if not req.checksum_ok:
                    self.counters.dropped_checksum += 1
                    return
                reply = echo(0, req.ident, req.seq, bytes(ip[ihl + 8:]))
                via = self._reply_route(src, ip)
                me = self._source("echo_reply", port, via, me)
                ident = ip[4] << 8 | ip[5] if self.personality.echo_reply_ip_id == "request" else self._next_ident()
                self._send_reply(ip_packet(me, src, 1, self.ttl_er, reply, ident), src, via, out)
            elif self.local_sink is not None:
                self.local_sink(bytes(ip))      # a reply to the router's own probe (router vantage point)
        elif proto == 17:
            self._error(port, 3, 3, bytes(ip), stack, out, source=me)

    def _reply_route(self, to: int, orig: Buf) -> FibHop | None:
        """The next hop (port, gateway, push) this router's reply to `to` leaves by, decided once
        from the hash of `orig`, the packet it answers as received (engine/reply.py); None
        without a route back."""
        route = self._lpm(to)
        if route is None:
            return None
        hops = route.hops
        return hops[0] if len(hops) == 1 else reply_hop(hops, flow_hash(orig, 0), self._reply_seed)

    def _source(self, kind: str, port: Port, via: FibHop | None, probed: int | None) -> int:
        """Source address of a reply of `kind` that leaves by next hop `via` (_reply_route), by the
        router's rule (engine/reply.py): outgoing = via's interface (RFC 1812 4.3.2.4), probed
        = `probed` when the packet was delivered locally, incoming = the interface it came in on."""
        return reply_source(source_mode(self.icmp_source, kind),
                            self.ports[via[0]].ip if via is not None else None, port.ip, probed)

    def _next_ident(self) -> int:
        """IP-ID of a locally generated packet (vendor knob ip_id; the port is the one the
        packet answers, set by _may_answer)."""
        mode = self._ip_id
        if mode == "shared":
            self.ident = (self.ident + 1) & 0xFFFF
            return self.ident
        if mode == "zero":
            return 0
        if mode == "random":
            self._rand = (self._rand * 1103515245 + 12345) & 0x7FFFFFFF
            return self._rand >> 15 & 0xFFFF
        k = self._id_port
        v = self._idents[k] = (self._idents.get(k, 0) + 1) & 0xFFFF
        return v

    # ------------------------------------------------------------------ ICMP answering (issue 13)
    def _may_answer(self, icmp_type: int, port: Port | None) -> bool:
        """Whether this router answers with an ICMP message of `icmp_type` now: the per-type
        enable and token bucket of the personality (rate per second, burst, per router or
        per interface). Counted in icmp_suppressed when it does not."""
        self._id_port = port.index if port is not None else -1
        p = self.personality
        if icmp_type == 11:
            on, lim = p.answer_time_exceeded, p.limit_time_exceeded
        elif icmp_type == 0:
            on, lim = p.answer_echo, p.limit_echo_reply
        else:
            on, lim = p.answer_unreachable, p.limit_unreachable
        if not on:
            self.counters.icmp_suppressed += 1
            return False
        if lim is None:
            return True
        rate, burst, per = lim
        key = (icmp_type, self._id_port if per == "interface" else -1)
        tokens, t = self._buckets.get(key, (burst, self.now))
        tokens = min(burst, tokens + (self.now - t) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, self.now)
            self.counters.icmp_suppressed += 1
            return False
        self._buckets[key] = (tokens - 1.0, self.now)
        return True

    # ------------------------------------------------------------------ ICMP errors
    def _rate_ok(self) -> bool:
        lim = self.icmp_rate_limit
        if not lim:
            return True
        self._tokens = min(float(lim), self._tokens + (self.now - self._tok_t) * lim)
        self._tok_t = self.now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.counters.icmp_suppressed += 1
        return False

    def _build_error(self, port: Port, icmp_type: int, code: int, orig: bytes, stack: list[Lse] | None,
                     source: int | None = None) -> tuple[bytes, FibHop | None] | None:
        """The ICMP error about `orig` and the next hop it leaves by (None: no route back), or None
        when none is sent."""
        if len(orig) < 20:
            return None
        osrc, = struct.unpack_from("!I", orig, 12)
        if osrc == 0 or osrc >> 28 == 0xE or osrc == 0xFFFFFFFF:
            return None
        ihl = (orig[0] & 0x0F) * 4
        if orig[9] == 1 and len(orig) > ihl and orig[ihl] in ICMP_ERRORS:
            return None          # never an error about an error (RFC 1812 4.3.2.7)
        if ((orig[6] << 8) | orig[7]) & 0x1FFF:
            return None          # only about the first fragment
        if not self._rate_ok() or not self._may_answer(icmp_type, port):
            return None
        quoted = [(l, tc, s, t) for (l, tc, s, t) in stack] if (
            stack and self.rfc4950 and (icmp_type == 11 or self.personality.rfc4950_unreachable)) else None
        msg = icmp_error(icmp_type, code, orig, self.quote, quoted)
        ttl = self.ttl_te if icmp_type == 11 else self.ttl_unreach
        via = self._reply_route(osrc, orig)
        src = self._source("time_exceeded" if icmp_type == 11 else "unreachable", port, via, source)
        self.counters.icmp_sent += 1
        return ip_packet(src, osrc, 1, ttl, msg, self._next_ident()), via

    def _error(self, port: Port, icmp_type: int, code: int, orig: bytes, stack: list[Lse] | None, out: Out,
               source: int | None = None) -> None:
        r = self._build_error(port, icmp_type, code, orig, stack, source)
        if r is not None:
            self._send_reply(r[0], struct.unpack_from("!I", r[0], 16)[0], r[1], out)

    def send_local(self, pkt: bytes, now: float = 0.0) -> Out:
        """Send a packet this router generates itself (its own traceroute or ping: a router
        vantage point); [(port_index, frame), ...] like handle()."""
        self.now = now
        out: Out = []
        self._originate(pkt, struct.unpack_from("!I", pkt, 16)[0], out)
        self.counters.tx += len(out)
        return out

    def _originate(self, pkt: bytes, dst: int, out: Out) -> None:
        """Send a locally generated packet: routed by the FIB, labelled if the route says so."""
        route = self._lpm(dst)
        self._send_reply(pkt, dst, None if route is None else self._pick(route.hops, pkt, 0), out)

    def _send_reply(self, pkt: bytes, dst: int, via: FibHop | None, out: Out) -> None:
        """Send a locally generated packet to `dst` by next hop `via` (port, gateway, push), decided
        before (_reply_route for a reply, whose source follows from it); None: no route."""
        if via is None:
            self.counters.dropped_no_route += 1
            return
        pidx, gw, push = via
        nh = gw if gw is not None else dst
        if push:
            lse_ttl = pkt[8] if self.ttl_propagate_local and not self.personality.no_decrement_ttl \
                else self.personality.pipe_lse_ttl
            self._send(pidx, nh, _ET_MPLS, self._labels(push, lse_ttl) + pkt, out)
        else:
            self._send(pidx, nh, _ET_IP, pkt, out)

    # ------------------------------------------------------------------ MPLS
    def _mpls_in(self, port: Port, frame: bytes, out: Out) -> None:
        if self.is_host:
            return
        # parse the whole stack (needed for quoting and for the payload)
        stack: list[Lse] = []
        off = 14
        n = len(frame)
        while True:
            if off + 4 > n or len(stack) >= 32:
                self.counters.dropped_malformed += 1
                return
            w, = struct.unpack_from("!I", frame, off)
            stack.append((w >> 12, (w >> 9) & 7, (w >> 8) & 1, w & 0xFF))
            off += 4
            if w & 0x100:
                break
        ipoff = off
        k = strip_explicit_null(tuple(e[0] for e in stack))
        if k:
            ttl = stack[0][3]
            if ttl <= 1:
                self._lse_expired(port, frame, ipoff, stack, out)
                return
            if k == len(stack):         # UHP egress (or ELI/EL): pop, route the IP packet here
                self._pop_to_ip(port, frame, ipoff, stack, ttl, out, explicit_null=stack[0][0] != ELI)
                return
            # explicit null above other labels (RFC 4182): pop it, handle the next label here,
            # with the popped TTL carried down (one decrement at this router in total)
            below = stack[k]
            ittl = min(below[3], ttl) if self.personality.min_ttl_at_pop else below[3]
            stack = [(below[0], below[1], below[2], ittl)] + stack[k + 1:]
            frame = frame[:14] + encode_stack(stack) + frame[ipoff:]
            ipoff = 14 + 4 * len(stack)
        label, tc, s, ttl = stack[0]
        if ttl <= 1:
            self._lse_expired(port, frame, ipoff, stack, out)
            return
        new_ttl = ttl - 1
        hops = self.lfib.get(label)
        if hops is None:
            self.counters.dropped_no_label += 1
            return
        hi = 0
        if len(hops) > 1:
            if frame[ipoff] >> 4 == 6:
                hi = flow_hash6(frame, ipoff) % len(hops)
            else:
                hdr = self._parse_ip(frame, ipoff)
                hi = flow_hash(frame, ipoff) % len(hops) if hdr else 0
        hop = hops[hi]
        out_label, pidx, gw = hop
        push, writeback = self.lfib_extra[label][hi] if label in self.lfib_extra else ((), True)
        action, _ = after_hop((), out_label)
        if action == UNTAGGED or out_label is None:     # the LSP ends abruptly here (opaque egress): all goes
            self._pop_to_ip(port, frame, ipoff, stack, ttl, out, explicit_null=False, hop=hop)
            return
        if action == PHP:
            if len(stack) > 1:      # pop, keep label-switching on the inner label
                inner = bytearray(frame[18:])
                w, = struct.unpack_from("!I", inner, 0)
                ittl = min(w & 0xFF, new_ttl) if self.personality.min_ttl_at_pop else w & 0xFF
                struct.pack_into("!I", inner, 0, (w & 0xFFFFFF00) | ittl)
                self.counters.label_switched += 1
                self._send(pidx, gw, _ET_MPLS, bytes(inner), out)
                return
            if frame[ipoff] >> 4 == 6:
                ip6 = self._ip6_payload(frame, ipoff)
                if ip6 is not None:
                    if self.personality.php_ttl_writeback and writeback:
                        ip6[7] = self._ttl_after_pop(ip6[7], new_ttl)
                    self.counters.label_switched += 1
                    self._send(pidx, gw, ET_IP6, bytes(ip6), out)
                return
            hdr = self._parse_ip(frame, ipoff)
            if hdr is None:
                return
            ip = bytearray(frame[ipoff:ipoff + hdr[1]])
            if self.personality.php_ttl_writeback and writeback:
                self._set_ttl(ip, self._ttl_after_pop(ip[8], new_ttl))
            self.counters.label_switched += 1
            self._send(pidx, gw, _ET_IP, bytes(ip), out)
            return
        # swap
        payload: bytes | bytearray = bytearray(frame[14:])
        struct.pack_into("!I", payload, 0, (out_label << 12) | (tc << 9) | (s << 8) | new_ttl)
        if push:
            # swap, then push a new top label over the stack (LDP over RSVP): its TTL is the
            # current LSE-TTL (RFC 3443 uniform) or 255 (Junos), vendor knob stacked_push_ttl
            top = new_ttl if self.personality.stacked_push_ttl == "copy" else 255
            payload = encode_stack([(lbl, tc, 0, top) for lbl in push]) + payload
        self.counters.label_switched += 1
        self._send(pidx, gw, _ET_MPLS, bytes(payload), out)

    def _ttl_after_pop(self, ip_ttl: int, lse_ttl: int) -> int:
        if self.personality.min_ttl_at_pop:
            return min(ip_ttl, lse_ttl)
        # Linux mpls_egress: the decremented LSE-TTL when propagating, else IP-TTL - 1
        return lse_ttl if self.ttl_propagate else max(ip_ttl - 1, 0)

    def _ttl_before_route(self, ip_ttl: int, lse_ttl: int) -> int:
        """IP-TTL handed to the IP forwarding step after the last label is popped at a router
        that then routes the packet (UHP egress, untagged end): that step makes this router's
        one decrement, so the LSE-TTL is taken as received (not yet decremented)."""
        if self.personality.min_ttl_at_pop:
            return min(ip_ttl, lse_ttl)
        # Linux mpls_egress: the decremented LSE-TTL when propagating, else IP-TTL - 1 (the
        # decrement is the IP step's)
        return lse_ttl if self.ttl_propagate else ip_ttl

    def _pop_to_ip(self, port: Port, frame: bytes, ipoff: int, stack: list[Lse], lse_ttl: int, out: Out,
                   explicit_null: bool, hop: LfibHop | None = None) -> None:
        if ipoff < len(frame) and frame[ipoff] >> 4 == 6:
            self._pop_to_ip6(port, frame, ipoff, lse_ttl, out, explicit_null, hop)
            return
        hdr = self._parse_ip(frame, ipoff)
        if hdr is None:
            return
        ihl, tot = hdr
        ip = bytearray(frame[ipoff:ipoff + tot])
        self._set_ttl(ip, self._ttl_before_route(ip[8], lse_ttl))
        dst, = struct.unpack_from("!I", ip, 16)
        if hop is None and dst in self.my:   # untagged: sent to the label's next hop, no IP lookup
            self._local(port, ip, ihl, dst, out, stack)
            return
        if explicit_null and not self.personality.explicit_null_expiry:
            # UHP egress (Cisco): the TTL check was done on the label; an IP-TTL of 1 leaves
            # as 1, so the next router answers for two probe TTLs (duplicate IP)
            self._ip_forward(port, ip, ihl, dst, out, stack, decrement=True, check=False)
            return
        fwd: FibHop | None = None if hop is None else (hop[1], hop[2], ())
        self._ip_forward(port, ip, ihl, dst, out, stack, decrement=True, check=True, hops=fwd)

    def _lse_expired(self, port: Port, frame: bytes, ipoff: int, stack: list[Lse], out: Out) -> None:
        if self.expiry == "drop":
            self.counters.dropped_ttl_silent += 1
            return
        v6 = ipoff < len(frame) and frame[ipoff] >> 4 == 6
        if v6:                      # 6PE: an ICMPv6 error (engine/ipv6.py), tunnelled or routed by fib6
            ip = self._ip6_payload(frame, ipoff)
            if ip is None:
                return
        else:
            hdr = self._parse_ip(frame, ipoff)
            if hdr is None:
                return
            ihl, tot = hdr
            ip = bytearray(frame[ipoff:ipoff + tot])
        label = stack[0][0]
        hops = self.lfib.get(label)
        hop = None
        push: tuple[int, ...] = ()
        writeback = True
        if hops:
            hi = (flow_hash6(ip, 0) if v6 else flow_hash(ip, 0)) % len(hops) if len(hops) > 1 else 0
            hop = hops[hi]
            if label in self.lfib_extra:
                push, writeback = self.lfib_extra[label][hi]
        if (hop is not None and hop[0] == IMPLICIT_NULL and len(stack) == 1 and not v6
                and self.personality.php_expiry == "pop-first"):
            # the penultimate hop pops first (IP-TTL := min), then answers as an IP router:
            # the quoted IP-TTL is 1 (tnt.md 2.3, 3.2 qTTL note)
            if writeback:           # (a no-decrement-ttl LSP pops without the write-back)
                self._set_ttl(ip, self._ttl_after_pop(ip[8], stack[0][3]))
            r = self._build_error(port, 11, 0, bytes(ip), stack if self.personality.php_quote_popped else None)
            if r is not None:
                self._send_reply(r[0], struct.unpack_from("!I", r[0], 16)[0], r[1], out)
            return
        r = self._build_error6(port, 3, 0, bytes(ip), stack) if v6 else self._build_error(port, 11, 0, bytes(ip), stack)
        if r is None:
            return
        pkt, via = r
        if self.expiry == "tunnel" and hop is not None and self._tunnels(stack, ip):
            # RFC 3032 2.3.2: send the error along the LSP the packet was on; its end routes it back
            out_label, pidx, gw = hop
            if out_label is None or out_label == IMPLICIT_NULL:
                if len(stack) > 1 and out_label == IMPLICIT_NULL:
                    rest = [(l, tc, s, 255) for (l, tc, s, _) in stack[1:]]
                    self._send(pidx, gw, _ET_MPLS, encode_stack(rest) + pkt, out)
                else:
                    self._send(pidx, gw, ET_IP6 if v6 else _ET_IP, pkt, out)
                return
            lse_ttl = pkt[7 if v6 else 8] if self.ttl_propagate_local and not self.personality.no_decrement_ttl \
                else self.personality.pipe_lse_ttl
            new = [(lbl, stack[0][1], 0, lse_ttl) for lbl in push] + [(out_label, stack[0][1], 0, lse_ttl)] + \
                [(l, tc, 0, lse_ttl) for (l, tc, s, _) in stack[1:]]
            new[-1] = (new[-1][0], new[-1][1], 1, new[-1][3])
            self._send(pidx, gw, _ET_MPLS, encode_stack(new) + pkt, out)
            return
        if v6:
            self._send_reply6(pkt, int.from_bytes(pkt[24:40], "big"), via, out)
            return
        self._send_reply(pkt, struct.unpack_from("!I", pkt, 16)[0], via, out)

    def _tunnels(self, stack: list[Lse], ip: Buf) -> bool:
        """Whether this expiring packet's time-exceeded goes along the LSP (tunnel_scope):
        every one (Cisco), only with two labels or more (Huawei/H3C `ttl expiration pop`),
        only for UDP probes (Nokia SR OS icmp-tunneling)."""
        scope = self.personality.tunnel_scope
        if scope == "all":
            return True
        if scope == "multi-label":
            return len(stack) >= 2
        return ip[9] == 17


def _ports(node: Node) -> tuple[list[Port], dict[str, int]]:
    ports = []
    idx = {}
    for i, itf in enumerate(node.interfaces):
        net = int(itf.network.network_address)
        mask = int(itf.network.netmask)
        ports.append(Port(i, itf.name, itf.mac, int(itf.ip), itf.network.prefixlen, net, mask,
                          int(itf.address6.ip) if itf.address6 is not None else None))
        idx[itf.name] = i
    return ports, idx


def _compile_route(route: Route, idx: dict[str, int]) -> CompiledRoute:
    return CompiledRoute([(idx[nh.ifname], int(nh.gateway) if nh.gateway else None, tuple(nh.push))
                          for nh in route.nexthops])


def _compile_fib6(tables: RouterTables, idx: dict[str, int]) -> dict[int, dict[int, CompiledRoute]]:
    fib6: dict[int, dict[int, CompiledRoute]] = {}
    for pfx, route in tables.fib6.items():
        if route.nexthops:
            fib6.setdefault(pfx.prefixlen, {})[int(pfx.network_address)] = _compile_route(route, idx)
    return fib6


def _router(cls: type[R], node: Node, ports: list[Port], fib: dict[int, dict[int, CompiledRoute]], lfib: LabelTable,
            lfib_extra: dict[int, list[LfibExtra]], fib6: dict[int, dict[int, CompiledRoute]]) -> R:
    p = node.personality
    return cls(
        name=node.name, ports=ports, loopback=int(node.loopback) if node.loopback else None,
        personality=p, ttl_propagate=node.ttl_propagate, rfc4950=node.rfc4950,
        icmp_tunneling=node.icmp_tunneling, icmp_rate_limit=node.icmp_rate_limit,
        is_host=p.is_host, icmp_source=dict(node.icmp_source), fib=fib, lfib=lfib, lfib_extra=lfib_extra, fib6=fib6)


def compile_node(node: Node, tables: RouterTables) -> Router:
    """Build a Router from the lab's Node and the control plane's tables (every route and label)."""
    ports, idx = _ports(node)
    fib: dict[int, dict[int, CompiledRoute]] = {}
    shared: dict[int, CompiledRoute] = {}      # routes share next-hop lists: compile each once
    for pfx, route in tables.fib.items():
        if not route.nexthops:
            continue
        key = id(route.nexthops)
        cr = shared.get(key)
        if cr is None:
            cr = shared[key] = _compile_route(route, idx)
        fib.setdefault(pfx.prefixlen, {})[int(pfx.network_address)] = cr
    lfib: dict[int, list[LfibHop]] = {}
    extra: dict[int, list[LfibExtra]] = {}
    for lbl, e in tables.lfib.items():
        lfib[lbl] = [(h.out_label, idx[h.ifname], int(h.gateway)) for h in e.hops]
        if any(h.push or not h.writeback for h in e.hops):
            extra[lbl] = [(tuple(h.push), h.writeback) for h in e.hops]
    return _router(Router, node, ports, fib=fib, lfib=lfib, lfib_extra=extra, fib6=_compile_fib6(tables, idx))


class _RouteView(Protocol):
    """The control plane's per-destination routes of one router (RouterTables.on_demand)."""
    def lookup(self, dst: int, forwarding: bool = ...) -> Route | None: ...


class _LabelView(Protocol):
    """The control plane's per-label LFIB of one router (RouterTables.lfib_on_demand)."""
    def label_entry(self, label: int) -> LfibEntry | None: ...


class _LabelsOnDemand(dict[int, list[LfibHop] | None]):
    """label -> [(out_label|None, port, gw_int)], each compiled from the control plane's
    per-label view on its first lookup (the engine reads an LFIB with .get only; a label the
    view does not have is kept as None)."""
    __slots__ = ("_view", "_idx")
    _view: _LabelView
    _idx: dict[str, int]

    @overload                   # dict.get's three forms, for this dict's values
    def get(self, label: int, default: None = None, /) -> list[LfibHop] | None: ...
    @overload
    def get(self, label: int, default: list[LfibHop] | None, /) -> list[LfibHop] | None: ...
    @overload
    def get(self, label: int, default: T, /) -> list[LfibHop] | T: ...

    def get(self, label: int, default: object = None) -> object:
        try:
            hops = self[label]
        except KeyError:
            e = self._view.label_entry(label)
            hops = self[label] = None if e is None else \
                [(h.out_label, self._idx[h.ifname], int(h.gateway)) for h in e.hops]
        return default if hops is None else hops


class OnDemandRouter(Router):
    """A Router whose FIB is compiled one destination at a time from the control plane's
    per-destination view (compute.OnDemand): the same route compile_node would give it for
    that address (the longest prefix with next hops), looked up on first use and kept."""
    _view: _RouteView
    _idx: dict[str, int]
    _routes: dict[int, CompiledRoute | None]      # destination -> its route (None: no route)
    _shared: dict[int, CompiledRoute]             # id(route.nexthops) -> compiled: routes share next-hop lists

    def _lpm(self, dst: int) -> CompiledRoute | None:
        try:
            return self._routes[dst]
        except KeyError:
            pass
        route = self._view.lookup(dst, forwarding=True)
        cr = None
        if route is not None:
            key = id(route.nexthops)
            cr = self._shared.get(key)
            if cr is None:
                cr = self._shared[key] = _compile_route(route, self._idx)
        self._routes[dst] = cr
        return cr


def compile_on_demand(node: Node, tables: RouterTables) -> Router:
    """compile_node for tables the control plane deferred (RouterTables.on_demand): the same
    Router, its routes and labels compiled when a packet first needs them. Tables built
    whole (hosts, routers a later control-plane step rewrote, FRR's) are compiled whole."""
    view, lview = tables.on_demand, tables.lfib_on_demand
    if view is None or lview is None:
        return compile_node(node, tables)
    ports, idx = _ports(node)
    lfib = _LabelsOnDemand()
    lfib._view, lfib._idx = lview, idx
    r = _router(OnDemandRouter, node, ports, fib={}, lfib=lfib, lfib_extra={}, fib6=_compile_fib6(tables, idx))
    r._view, r._idx, r._routes, r._shared = view, idx, {}, {}
    return r
