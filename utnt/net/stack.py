"""A minimal IPv4 host stack over one L2 port: its own MAC, address and gateway.

It answers ARP for its address and echo requests to it (a good citizen on a LAN), resolves
its gateway by ARP, sends IPv4 packets and hands received IPv4 packets to the prober.
"""
from __future__ import annotations

import os
import struct
from ipaddress import IPv4Address, IPv4Interface

from .ports import Port
from .wire import inet_checksum

_ET_IP, _ET_ARP = b"\x08\x00", b"\x08\x06"
BCAST = b"\xff" * 6


class StackError(Exception):
    pass


class Stack:
    def __init__(self, port: Port, address: str, gateway: str, mac: bytes | None = None) -> None:
        itf = IPv4Interface(address if "/" in address else f"{address}/32")
        self.port = port
        self.ip = int(itf.ip)
        self.ip_str = str(itf.ip)
        self.network = itf.network
        self.gateway = int(IPv4Address(gateway))
        self.mac = mac or bytes([0x02]) + os.urandom(5)
        self.gw_mac: bytes | None = None
        self.ident = int.from_bytes(os.urandom(2), "big")
        self._backlog: list[tuple[bytes, float]] = []   # IP packets received while resolving ARP
        self.counters = {"rx": 0, "tx": 0, "not_for_us": 0, "bad_ip": 0, "arp_answered": 0}

    # -------------------------------------------------------------- sending
    def resolve_gateway(self, timeout: float = 1.0, attempts: int = 3) -> bytes:
        req = BCAST + self.mac + _ET_ARP + struct.pack("!HHBBH6sI6sI", 1, 0x0800, 6, 4, 1, self.mac, self.ip,
                                                      b"\x00" * 6, self.gateway)
        for _ in range(attempts):
            self.port.send(req)
            deadline = self.port.clock() + timeout
            while self.port.clock() < deadline and self.gw_mac is None:
                self._backlog += self._from_port(deadline - self.port.clock())
            if self.gw_mac is not None:
                return self.gw_mac
        raise StackError(f"gateway {IPv4Address(self.gateway)} does not answer ARP on {self.port.name}")

    def send_ip(self, dst: int, proto: int, ttl: int, l4: bytes, ident: int | None = None, tos: int = 0) -> int:
        if self.gw_mac is None:
            self.gw_mac = self.resolve_gateway()
        if ident is None:
            self.ident = (self.ident + 1) & 0xFFFF
            ident = self.ident
        hdr = bytearray(struct.pack("!BBHHHBBHII", 0x45, tos, 20 + len(l4), ident, 0, ttl, proto, 0, self.ip, dst))
        c = inet_checksum(bytes(hdr))
        hdr[10], hdr[11] = c >> 8, c & 0xFF
        self.port.send(self.gw_mac + self.mac + _ET_IP + bytes(hdr) + l4)
        self.counters["tx"] += 1
        return ident

    # -------------------------------------------------------------- receiving
    def receive(self, timeout: float) -> list[tuple[bytes, float]]:
        """IPv4 packets addressed to us received within timeout, with their receive time."""
        if self._backlog:
            out, self._backlog = self._backlog, []
            return out
        return self._from_port(timeout)

    def _from_port(self, timeout: float) -> list[tuple[bytes, float]]:
        out = []
        for f in self.port.recv(max(timeout, 0.0)):
            t = self.port.clock()
            if len(f) < 14:
                continue
            et = f[12:14]
            if et == _ET_ARP:
                self._arp(f)
            elif et == _ET_IP:
                if len(f) < 34 or (f[0:6] != self.mac and f[0:6] != BCAST):
                    self.counters["not_for_us"] += 1
                    continue
                ihl = (f[14] & 0x0F) * 4
                if f[14] >> 4 != 4 or ihl < 20 or inet_checksum(f[14:14 + ihl]) != 0:
                    self.counters["bad_ip"] += 1
                    continue
                tot = struct.unpack_from("!H", f, 16)[0]
                dst = struct.unpack_from("!I", f, 30)[0]
                if dst != self.ip or tot < ihl or 14 + tot > len(f):
                    self.counters["not_for_us" if dst != self.ip else "bad_ip"] += 1
                    continue
                ip = f[14:14 + tot]
                self.counters["rx"] += 1
                if ip[9] == 1 and len(ip) >= ihl + 8 and ip[ihl] == 8:
                    self._echo_reply(ip, ihl)
                    continue
                out.append((ip, t))
        return out

    def _arp(self, f: bytes) -> None:
        if len(f) < 42:
            return
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", f, 14)
        if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
            return
        sha = f[22:28]
        spa, = struct.unpack_from("!I", f, 28)
        tpa, = struct.unpack_from("!I", f, 38)
        if spa == self.gateway:
            self.gw_mac = bytes(sha)
        if op == 1 and tpa == self.ip:
            self.counters["arp_answered"] += 1
            self.port.send(bytes(sha) + self.mac + _ET_ARP +
                           struct.pack("!HHBBH6sI6sI", 1, 0x0800, 6, 4, 2, self.mac, self.ip, bytes(sha), spa))

    def _echo_reply(self, ip: bytes, ihl: int) -> None:
        src, = struct.unpack_from("!I", ip, 12)
        icmp = bytearray(ip[ihl:])
        if inet_checksum(bytes(icmp)) != 0:
            return
        icmp[0] = 0
        icmp[2:4] = b"\x00\x00"
        c = inet_checksum(bytes(icmp))
        icmp[2], icmp[3] = c >> 8, c & 0xFF
        self.send_ip(src, 1, 64, bytes(icmp))
