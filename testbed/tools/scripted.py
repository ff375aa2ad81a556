"""A scripted Paris traceroute and ping over a sim port, with probes crafted by scapy.

Independent of uTNT: it is what the tests use to check the engine against the reference.
Paris: every probe of a trace keeps the same flow identifier (ICMP id and checksum, or
UDP ports), so per-flow load balancing keeps it on one path.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scapy.all import (ARP, ICMP, IP, UDP, Ether, ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest,
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, ICMPv6TimeExceeded, IPerror6, IPv6, raw)
from scapy.contrib.mpls import MPLS, ICMPExtension_MPLS
from scapy.layers.inet import ICMPExtension_Header, IPerror


@dataclass
class HopReply:
    ttl: int
    address: str | None
    icmp_type: int | None = None
    icmp_code: int | None = None
    reply_ttl: int | None = None
    quoted_ttl: int | None = None
    labels: list = field(default_factory=list)   # [(label, ttl)] as quoted (RFC 4950)
    er_ttl: int | None = None

    @property
    def return_te(self):
        return _ittl(self.reply_ttl) - self.reply_ttl + 1 if self.reply_ttl else None

    @property
    def return_er(self):
        return _ittl(self.er_ttl) - self.er_ttl + 1 if self.er_ttl else None

    @property
    def frpla(self):
        return self.return_te - self.ttl if self.reply_ttl and self.icmp_type == 11 else None

    @property
    def uturn(self):
        return self.return_te - self.return_er if self.reply_ttl and self.er_ttl else None


def _entries(stack) -> list:
    """[(label, ttl)] of a quoted stack: scapy chains a stack's later entries as the payload
    of the first one, so walk each chain to its end."""
    out = []
    for e in stack:
        while isinstance(e, MPLS):
            out.append((e.label, e.ttl))
            e = e.payload
    return out


def _ittl(t: int) -> int:
    return 255 if t > 128 else 128 if t > 64 else 64 if t > 32 else 32


class ScriptedProber:
    def __init__(self, sim, host: str, wait: float = 0.5, icmp_id: int = 0x4d21):
        self.sim = sim
        self.icmp_id = icmp_id          # the Paris flow of icmp-paris probes (ECMP: another id, maybe another path)
        router = host in sim.lab.nodes and sim.lab.nodes[host].is_router
        self.port = sim.attach_router(host) if router else sim.attach(host, answer_arp=True)
        self.wait = wait
        self.src = str(self.port.ip)
        self.mac = self.port.mac
        self.gwmac = self.port.gwmac if router else self._arp(str(self.port.gateway))

    def _arp(self, ip: str) -> bytes:
        self.port.send(raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=self.mac) /
                           ARP(op=1, hwsrc=self.mac, psrc=self.src, pdst=ip)))
        self.sim.run(self.wait)
        for f in self.port.recv_all():
            p = Ether(f)
            if ARP in p and p[ARP].op == 2 and p[ARP].psrc == ip:
                return bytes.fromhex(p.src.replace(":", ""))
        raise RuntimeError(f"no ARP reply from gateway {ip}")

    def exchange(self, pkt) -> list:
        self.port.send(raw(Ether(dst=self.gwmac, src=self.mac) / pkt))
        self.sim.run(self.wait)
        return [Ether(f) for f in self.port.recv_all() if f[12:14] == b"\x08\x00"]

    def ping(self, dst: str) -> int | None:
        for r in self.exchange(IP(src=self.src, dst=dst, ttl=64) / ICMP(type=8, id=4242, seq=1)):
            if ICMP in r and r[ICMP].type == 0 and r[IP].src == dst:
                return r[IP].ttl
        return None

    def probe(self, dst: str, ttl: int, method: str = "icmp-paris"):
        if method == "icmp-paris":
            pkt = IP(src=self.src, dst=dst, ttl=ttl, id=ttl) / ICMP(type=8, id=self.icmp_id, seq=0)
        else:
            pkt = IP(src=self.src, dst=dst, ttl=ttl, id=ttl) / UDP(sport=40000, dport=33435)
        for r in self.exchange(pkt):
            if ICMP not in r:
                continue
            ic = r[ICMP]
            h = HopReply(ttl=ttl, address=r[IP].src, icmp_type=ic.type, icmp_code=ic.code, reply_ttl=r[IP].ttl)
            if ic.type in (3, 11) and IPerror in r:
                h.quoted_ttl = r[IPerror].ttl
                if ICMPExtension_MPLS in r:
                    h.labels = _entries(r[ICMPExtension_MPLS].stack)
            return h
        return HopReply(ttl=ttl, address=None)

    # ---------------------------------------------------------------- IPv6 (6PE labs)
    def _nd(self, ip6: str) -> bytes:
        from scapy.layers.inet6 import in6_getnsma, in6_getnsmac, inet_pton
        import socket
        grp = socket.inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, ip6)))
        self.port.send(raw(Ether(dst=in6_getnsmac(inet_pton(socket.AF_INET6, grp)), src=self.mac) /
                           IPv6(src=self.src6, dst=grp, hlim=255) / ICMPv6ND_NS(tgt=ip6) /
                           ICMPv6NDOptSrcLLAddr(lladdr=self.mac)))
        self.sim.run(self.wait)
        for f in self.port.recv_all():
            p = Ether(f)
            if ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == ip6:
                return bytes.fromhex(p.src.replace(":", ""))
        raise RuntimeError(f"no neighbour advertisement from gateway {ip6}")

    def exchange6(self, pkt) -> list:
        if getattr(self, "gwmac6", None) is None:
            self.src6 = str(self.port.ip6)
            self.gwmac6 = self._nd(str(self.port.gateway6))
        self.port.send(raw(Ether(dst=self.gwmac6, src=self.mac) / pkt))
        self.sim.run(self.wait)
        return [Ether(f) for f in self.port.recv_all() if f[12:14] == b"\x86\xdd"]

    def ping6(self, dst: str) -> int | None:
        for r in self.exchange6(IPv6(src=str(self.port.ip6), dst=dst, hlim=64) / ICMPv6EchoRequest(id=4242, seq=1)):
            if ICMPv6EchoReply in r and r[IPv6].src == dst:
                return r[IPv6].hlim
        return None

    def probe6(self, dst: str, ttl: int) -> HopReply:
        """An ICMPv6 echo request with hop limit `ttl` (a Paris flow: id and seq fixed); the
        RFC 4950 stack read from the RFC 4884 extension after the 128-byte quote (scapy has no
        ICMPv6 extension layer: the bytes after it are parsed as an ICMP extension header)."""
        pkt = IPv6(src=str(self.port.ip6), dst=dst, hlim=ttl) / ICMPv6EchoRequest(id=self.icmp_id, seq=0)
        for r in self.exchange6(pkt):
            for cls, typ in ((ICMPv6TimeExceeded, 3), (ICMPv6DestUnreach, 1), (ICMPv6EchoReply, 129)):
                if cls not in r:
                    continue
                ic = r[cls]
                h = HopReply(ttl=ttl, address=r[IPv6].src, icmp_type=typ, icmp_code=getattr(ic, "code", 0),
                             reply_ttl=r[IPv6].hlim)
                if typ in (1, 3) and IPerror6 in r:
                    h.quoted_ttl = r[IPerror6].hlim
                    body = raw(ic)[8:]
                    if ic.length and len(body) > ic.length * 8:
                        ext = ICMPExtension_Header(body[ic.length * 8:])
                        if ICMPExtension_MPLS in ext:
                            h.labels = _entries(ext[ICMPExtension_MPLS].stack)
                return h
        return HopReply(ttl=ttl, address=None)

    @staticmethod
    def _walk(probe, ttls, gap_limit: int, answered) -> list[HopReply]:
        """The TTL loop of both traces: probe(ttl) per TTL, `gap_limit` silent hops in a row
        end it, answered(hop) -> True ends it on an answering hop."""
        hops, gap = [], 0
        for ttl in ttls:
            h = probe(ttl)
            hops.append(h)
            if h.address is None:
                gap += 1
                if gap >= gap_limit:
                    break
                continue
            gap = 0
            if answered(h):
                break
        return hops

    def trace6(self, dst: str, max_ttl: int = 30, gap_limit: int = 5, fingerprint: bool = True) -> list[HopReply]:
        def answered(h):
            if fingerprint and h.icmp_type != 129:
                h.er_ttl = self.ping6(h.address)
            if h.address == dst or h.icmp_type in (129, 1):
                if h.icmp_type == 129:
                    h.er_ttl = h.reply_ttl
                    h.icmp_type = 0
                return True
            if h.icmp_type == 3:
                h.icmp_type = 11           # time-exceeded, as the IPv4 rows name it
            return False
        return self._walk(lambda ttl: self.probe6(dst, ttl), range(1, max_ttl + 1), gap_limit, answered)

    def trace(self, dst: str, method: str = "icmp-paris", first_ttl: int = 1, max_ttl: int = 30,
              gap_limit: int = 5, fingerprint: bool = True) -> list[HopReply]:
        def answered(h):
            if fingerprint:
                h.er_ttl = self.ping(h.address)
            return h.address == dst or h.icmp_type in (0, 3)
        return self._walk(lambda ttl: self.probe(dst, ttl, method), range(first_ttl, max_ttl + 1), gap_limit,
                          answered)
