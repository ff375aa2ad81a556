"""The engine's IPv6 path (6PE, RFC 4798): a mixin of engine.router.Router.

What a dual-stack customer-side router (CE, PE) and an IPv4-only P router do with IPv6:
  - IPv6 in (EtherType 0x86DD): neighbour discovery for the port's address (NS answered with
    an NA, NA fills the neighbour table), local delivery (echo reply; port unreachable for UDP),
    or forwarding by fib6 with the hop limit decremented; an expiring hop limit gets an ICMPv6
    time-exceeded. A 6PE route pushes the transport label and label 2 (LSE-TTLs = the hop
    limit after the decrement under uniform TTL, pipe_lse_ttl under pipe) and sends to the
    IPv4 next hop of the core (resolved by ARP);
  - labelled IPv6: label 2 is popped like explicit null wherever it sits (labelop), the egress
    routes the IPv6 packet by fib6 after IP-TTL := min(hop limit, LSE-TTL) (router._ttl_before_route);
  - an LSE-TTL expiring over an IPv6 packet: the ICMPv6 time-exceeded (RFC 4443 3.3, with the
    RFC 4884/4950 label stack) from the router's source rule below, tunnelled along the LSP like
    the IPv4 one (router._lse_expired) or, when not tunnelled, IP-routed by fib6: a P router
    has none, so it is dropped (counted dropped_no_route, a `*` hop; vendors.md 2.1, Huawei).
Source of an IPv6 error: the IPv6 address of the interface its route leaves through, else the
router's first IPv6 address, else the IPv4-mapped address of the interface the packet came in
on (::ffff:a.b.c.d: a P router without IPv6, Cisco tech note 118698). Echo replies come from
the probed address. Neighbours are solicited at their solicited-node multicast address.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from testbed.engine.records import Buf, CompiledRoute, Counters, FibHop, LfibHop, Lse, Neighbour, Out, Port
from testbed.engine.reply import reply_hop
from testbed.wire import (ECHO_REPLY6, ECHO_REQUEST6, ERROR_TYPES6, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT,
                          NH_ICMPV6, NH_UDP, PORT_UNREACH6, TIME_EXCEEDED6, WireError, echo6, icmp6_error,
                          ipv6_packet, mapped, multicast_mac, neighbor_advert, neighbor_solicit, parse_icmp6,
                          parse_ipv6, parse_nd, solicited_node)

if TYPE_CHECKING:
    from testbed.vendors import Personality

T = TypeVar("T")

ET_IP6 = b"\x86\xdd"


def flow_hash6(ip: Buf, off: int) -> int:
    """IPv6 flow hash: addresses, next header and the first four bytes after the header."""
    return zlib.crc32(bytes(ip[off + 6:off + 7]) + bytes(ip[off + 8:off + 44]))


class Ipv6Path:
    """Mixin: needs the Router's ports, personality, counters, _send, _labels, _may_answer,
    _rate_ok, _ttl_before_route (declared below for the type checker; engine.router.Router
    defines them); sets fib6/my6 from compile_node."""

    fib6: dict[int, dict[int, CompiledRoute]]      # plen -> {net int: CompiledRoute}
    my6: dict[int, int]                           # IPv6 address int -> port index
    if TYPE_CHECKING:           # the Router's state and methods this path uses
        plens6: list[int]
        ports: list[Port]
        personality: Personality
        counters: Counters
        arp: dict[Neighbour, bytes]
        pending: dict[Neighbour, list[tuple[bytes, bytes]]]
        is_host: bool
        rfc4950: bool
        ttl_propagate: bool
        ttl_propagate_local: bool
        ttl_te: int
        ttl_er: int
        ttl_unreach: int
        _reply_seed: int
        local_sink: Callable[[bytes], object] | None

        def _send(self, pidx: int, nexthop: int, et: bytes, payload: bytes, out: Out) -> None: ...
        @staticmethod
        def _labels(push: tuple[int, ...], ttl: int) -> bytes: ...
        def _may_answer(self, icmp_type: int, port: Port | None) -> bool: ...
        def _rate_ok(self) -> bool: ...
        def _ttl_before_route(self, ip_ttl: int, lse_ttl: int) -> int: ...

    # ------------------------------------------------------------------ input
    def _ip6_payload(self, buf: Buf, off: int) -> bytearray | None:
        """The IPv6 packet at `off` as a bytearray, or None (counted malformed)."""
        try:
            h = parse_ipv6(buf, off)
        except WireError:
            self.counters.dropped_malformed += 1
            return None
        return bytearray(buf[off:off + 40 + h.payload_len])

    def _ip6_in(self, port: Port, frame: bytes, out: Out) -> None:
        ip = self._ip6_payload(frame, 14)
        if ip is None:
            return
        dst = int.from_bytes(ip[24:40], "big")
        if ip[6] == NH_ICMPV6 and len(ip) >= 48 and ip[40] in (NEIGHBOR_SOLICIT, NEIGHBOR_ADVERT):
            self._nd_in(port, ip, out)
            return
        if dst >> 120 == 0xFF:
            return                              # other multicast (MLD, router solicitations): not routed
        if dst in self.my6:
            self._local6(port, ip, dst, out, None)
            return
        if self.is_host:
            return
        self._ip6_forward(port, ip, dst, out, None, decrement=True, check=True)

    def _nd_in(self, port: Port, ip: bytearray, out: Out) -> None:
        if ip[7] != 255:                        # RFC 4861 7.1.1: hop limit 255 or it came from off-link
            return
        src = int.from_bytes(ip[8:24], "big")
        try:
            target, mac = parse_nd(ip, 40, len(ip))
        except WireError:
            self.counters.dropped_malformed += 1
            return
        if mac is not None and src:
            key = (port.index, src if ip[40] == NEIGHBOR_SOLICIT else target)
            self.arp[key] = mac
            q = self.pending.pop(key, None)
            if q:
                for et, payload in q:
                    out.append((port.index, mac + port.mac + et + payload))
        if ip[40] == NEIGHBOR_SOLICIT and port.ip6 is not None and target == port.ip6 and mac is not None and src:
            na = neighbor_advert(target, port.mac, port.ip6, src, router=not self.is_host)
            out.append((port.index, mac + port.mac + ET_IP6 + ipv6_packet(port.ip6, src, NH_ICMPV6, 255, na)))

    def _solicit6(self, port: Port, target: int) -> bytes:
        """The frame asking for `target`'s MAC: a neighbour solicitation to its solicited-node group."""
        grp = solicited_node(target)
        ns = neighbor_solicit(target, port.mac, port.ip6 or 0, grp)
        return multicast_mac(grp) + port.mac + ET_IP6 + ipv6_packet(port.ip6 or 0, grp, NH_ICMPV6, 255, ns)

    # ------------------------------------------------------------------ local delivery
    def _local6(self, port: Port, ip: bytearray, dst: int, out: Out, stack: list[Lse] | None) -> None:
        self.counters.local += 1
        src = int.from_bytes(ip[8:24], "big")
        nh = ip[6]
        if nh == NH_ICMPV6:
            try:
                m = parse_icmp6(ip, 40, len(ip), src, dst)
            except WireError:
                self.counters.dropped_malformed += 1
                return
            if not m.checksum_ok:
                self.counters.dropped_checksum += 1
                return
            if m.type == ECHO_REQUEST6 and m.code == 0:
                if not self._may_answer(0, port):
                    return
                reply = echo6(ECHO_REPLY6, m.ident, m.seq, bytes(ip[48:]), dst, src)
                self._send_reply6(ipv6_packet(dst, src, NH_ICMPV6, self.ttl_er, reply), src,
                                  self._reply_route6(src, ip), out)
            elif self.local_sink is not None:
                self.local_sink(bytes(ip))
        elif nh == NH_UDP:
            self._error6(port, 1, PORT_UNREACH6, bytes(ip), stack, out, source=dst)

    # ------------------------------------------------------------------ forwarding
    def _lpm6(self, dst: int) -> CompiledRoute | None:
        for plen in self.plens6:
            r = self.fib6[plen].get(dst >> (128 - plen) << (128 - plen) if plen else 0)
            if r is not None:
                return r
        return None

    @staticmethod
    def _pick6(hops: Sequence[T], ip: Buf, off: int = 0) -> T:
        if len(hops) == 1:
            return hops[0]
        return hops[flow_hash6(ip, off) % len(hops)]

    def _ip6_forward(self, port: Port, ip: bytearray, dst: int, out: Out, stack: list[Lse] | None, decrement: bool,
                     check: bool) -> None:
        hl = ip[7]
        if check and hl <= 1:
            self._error6(port, TIME_EXCEEDED6, 0, bytes(ip), stack, out)
            return
        route = self._lpm6(dst)
        if route is None:
            self.counters.dropped_no_route += 1
            self._error6(port, 1, 0, bytes(ip), stack, out)
            return
        pidx, gw, push = self._pick6(route.hops, ip)
        if decrement and hl > 1:
            hl -= 1
        nh = gw if gw is not None else dst
        self.counters.forwarded += 1
        if push:
            if decrement and not self.personality.decrement_at_ingress:
                hl = ip[7]
            ip[7] = hl
            lse = hl if self.ttl_propagate and not self.personality.no_decrement_ttl \
                else self.personality.pipe_lse_ttl
            self._send(pidx, nh, b"\x88\x47", self._labels(push, lse) + bytes(ip), out)
            return
        ip[7] = hl
        self._send(pidx, nh, ET_IP6, bytes(ip), out)

    def _pop_to_ip6(self, port: Port, frame: bytes, ipoff: int, lse_ttl: int, out: Out, explicit_null: bool,
                    hop: LfibHop | None = None) -> None:
        """The last label popped over an IPv6 packet (the 6PE egress after label 2, or an
        untagged end): IP-TTL rule as for IPv4, then route by fib6 (or to the label's next hop)."""
        ip = self._ip6_payload(frame, ipoff)
        if ip is None:
            return
        ip[7] = self._ttl_before_route(ip[7], lse_ttl)
        dst = int.from_bytes(ip[24:40], "big")
        if hop is None and dst in self.my6:
            self._local6(port, ip, dst, out, None)
            return
        if hop is not None:
            if ip[7] <= 1:
                self._error6(port, TIME_EXCEEDED6, 0, bytes(ip), None, out)
                return
            ip[7] -= 1
            self._send(hop[1], hop[2], ET_IP6, bytes(ip), out)
            return
        self._ip6_forward(port, ip, dst, out, None, decrement=True,
                          check=not (explicit_null and not self.personality.explicit_null_expiry))

    # ------------------------------------------------------------------ errors
    def _reply_route6(self, to: int, orig: Buf) -> FibHop | None:
        """The next hop of this router's ICMPv6 reply to `to`, decided once from the hash of the
        packet it answers (engine/reply.py); None without an IPv6 route back."""
        route = self._lpm6(to)
        if route is None:
            return None
        hops = route.hops
        return hops[0] if len(hops) == 1 else reply_hop(hops, flow_hash6(orig, 0), self._reply_seed)

    def _source6(self, port: Port, via: FibHop | None) -> int:
        """The IPv6 address of the interface the reply leaves by (`via`), else the router's first
        IPv6 address, else the IPv4-mapped address of the incoming interface (a P router)."""
        if via is not None:
            p = self.ports[via[0]]
            if p.ip6 is not None:
                return p.ip6
        for p in self.ports:
            if p.ip6 is not None:
                return p.ip6
        return mapped(port.ip)

    def _build_error6(self, port: Port, icmp_type: int, code: int, orig: bytes, stack: list[Lse] | None,
                      source: int | None = None) -> tuple[bytes, FibHop | None] | None:
        """The ICMPv6 error about `orig` and the next hop it leaves by (None: no route back), or
        None when none is sent."""
        if len(orig) < 40:
            return None
        osrc = int.from_bytes(orig[8:24], "big")
        if osrc == 0 or osrc >> 120 == 0xFF:
            return None
        if orig[6] == NH_ICMPV6 and len(orig) > 40 and orig[40] in ERROR_TYPES6:
            return None                         # never an error about an error (RFC 4443 2.4 e)
        kind = 11 if icmp_type == TIME_EXCEEDED6 else 3
        if not self._rate_ok() or not self._may_answer(kind, port):
            return None
        quoted = list(stack) if stack and self.rfc4950 and (
            kind == 11 or self.personality.rfc4950_unreachable) else None
        via = self._reply_route6(osrc, orig)
        src = source if source is not None else self._source6(port, via)
        msg = icmp6_error(icmp_type, code, orig, src, osrc, quoted)
        self.counters.icmp_sent += 1
        return ipv6_packet(src, osrc, NH_ICMPV6, self.ttl_te if kind == 11 else self.ttl_unreach, msg), via

    def _error6(self, port: Port, icmp_type: int, code: int, orig: bytes, stack: list[Lse] | None, out: Out,
                source: int | None = None) -> None:
        r = self._build_error6(port, icmp_type, code, orig, stack, source)
        if r is not None:
            self._send_reply6(r[0], int.from_bytes(r[0][24:40], "big"), r[1], out)

    def _send_reply6(self, pkt: bytes, dst: int, via: FibHop | None, out: Out) -> None:
        """Send a locally generated IPv6 packet by next hop `via`, decided before; None: no route."""
        if via is None:
            self.counters.dropped_no_route += 1     # a P router: no IPv6 route back (not tunnelled)
            return
        pidx, gw, push = via
        nh = gw if gw is not None else dst
        if push:
            lse = pkt[7] if self.ttl_propagate_local and not self.personality.no_decrement_ttl \
                else self.personality.pipe_lse_ttl
            self._send(pidx, nh, b"\x88\x47", self._labels(push, lse) + pkt, out)
        else:
            self._send(pidx, nh, ET_IP6, pkt, out)
