"""The simulation runtime: every router and host of a lab in one process.

Links are queues with a per-link delay on a virtual clock, so runs are deterministic and
need no root. Jitter and loss (`jitter_ms`, `loss` per link or in defaults) are drawn per
frame and link direction from streams seeded by the lab's `seed` (or `Sim(seed=)`), the
same model and streams as the namespace runtime's workers (testbed/runtimes/impair.py).
A prober attaches to a host's port (`attach`) and exchanges real frames with the same
engine the namespace runtime uses.
"""
from __future__ import annotations

import heapq
from collections import deque

from testbed.controlplane import build as build_cp
from testbed.engine import compile_on_demand
from testbed.wire import (ARP_REQUEST, NEIGHBOR_SOLICIT, NH_ICMPV6, WireError, arp_reply, ipv6_packet,
                          neighbor_advert, parse_arp, parse_nd)


class SimPort:
    """A host's port handed to an external prober: it sends and receives raw Ethernet frames."""

    def __init__(self, sim: "Sim", host: str):
        node = sim.lab.nodes[host]
        itf = node.interfaces[0]
        self.sim, self.host = sim, host
        self.mac = itf.mac
        self.ip = itf.ip
        self.prefixlen = itf.network.prefixlen
        self.gateway = node.gateway
        # 6PE labs: the host's IPv6 address and its default gateway (fib6), NS answered like ARP
        self.ip6 = itf.address6.ip if itf.address6 is not None else None
        d6 = [r for p, r in sim.cp.tables[host].fib6.items() if p.prefixlen == 0]
        self.gateway6 = d6[0].nexthops[0].gateway if d6 else None
        self.inbox: deque[bytes] = deque()
        self.answer_arp = False

    def send(self, frame: bytes):
        self.sim._emit(self.host, 0, bytes(frame))

    def recv_all(self) -> list[bytes]:
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def _deliver(self, frame: bytes):
        if self.answer_arp and frame[12:14] == b"\x08\x06":
            try:
                op, sha, spa, _, tpa = parse_arp(frame, 14)
            except WireError:
                op = tpa = None
            if op == ARP_REQUEST and tpa == int(self.ip):
                self.send(arp_reply(self.mac, int(self.ip), sha, spa))
                return
        if self.answer_arp and self.ip6 is not None and frame[12:14] == b"\x86\xdd" and len(frame) >= 78 \
                and frame[20] == NH_ICMPV6 and frame[54] == NEIGHBOR_SOLICIT:
            try:
                target, mac = parse_nd(frame, 54, len(frame))
            except WireError:
                target = mac = None
            if mac is not None and target == int(self.ip6):
                src = int.from_bytes(frame[22:38], "big")
                na = neighbor_advert(target, self.mac, target, src, router=False)
                self.send(mac + self.mac + b"\x86\xdd" + ipv6_packet(target, src, NH_ICMPV6, 255, na))
                return
        self.inbox.append(frame)

    # the clock belongs to the simulation: a prober waits by running it
    def run(self, seconds: float | None = None, until_delivery: bool = False):
        self.sim.run(seconds, until_delivery=until_delivery)

    @property
    def now(self) -> float:
        return self.sim.now


class RouterPort:
    """A router's own stack handed to a prober (a vantage point on a router): the
    prober's frames are sent as the router's locally generated packets (routed and labelled
    by its tables, TTL not decremented, pushed LSE-TTLs from ttl_propagate_local), and the
    ICMP the router receives for itself comes back as frames. Source: the router's loopback.
    A prober with its own stack (uTNT) may ARP for any gateway address: the router's side
    answers every request (GW_MAC), as the namespace runtime's router attachment does."""

    GW_MAC = b"\x02\x00\x00\x00\x00\x01"

    def __init__(self, sim: "Sim", router: str):
        node = sim.lab.nodes[router]
        self.sim, self.host = sim, router
        self.mac = node.interfaces[0].mac
        self.gwmac = self.GW_MAC             # no first hop to resolve: the router routes itself
        self.ip = node.loopback
        self.prefixlen = 32
        self.gateway = node.interfaces[0].ip  # any address: ARP for it is answered with GW_MAC
        self.inbox: deque[bytes] = deque()
        self.answer_arp = False
        sim.nodes[router].local_sink = lambda ip: self.inbox.append(self.mac + self.GW_MAC + b"\x08\x00" + ip)
        sim.router_ports[router] = self

    def send(self, frame: bytes):
        if frame[12:14] == b"\x08\x06":
            try:
                op, sha, spa, _, tpa = parse_arp(frame, 14)
            except WireError:
                return
            if op == ARP_REQUEST:                   # who-has (any address): the router's side answers
                self.inbox.append(arp_reply(self.GW_MAC, tpa, sha, spa))
            return
        if frame[12:14] != b"\x08\x00":
            return
        r = self.sim.nodes[self.host]
        for pidx, f in r.send_local(bytes(frame[14:]), self.sim.now):
            self.sim._emit(self.host, pidx, f)

    def recv_all(self) -> list[bytes]:
        out = list(self.inbox)
        self.inbox.clear()
        return out

    def run(self, seconds: float | None = None, until_delivery: bool = False):
        self.sim.run(seconds, until_delivery=until_delivery)

    @property
    def now(self) -> float:
        return self.sim.now


class Nodes(dict):
    """node name -> engine Router, each compiled on its first packet (compile_on_demand: its
    routes and labels too, one destination at a time): a run pays for the routers and
    prefixes it reaches, not for routers x prefixes. Iterating compiles every node (in the
    lab's order), so code that walks all of them sees the whole lab."""

    def __init__(self, lab, cp):
        super().__init__()
        self._lab, self._cp = lab, cp

    def __missing__(self, name):
        node = self._lab.nodes[name]                  # KeyError for a name not in the lab
        r = self[name] = compile_on_demand(node, self._cp.tables[name])
        return r

    def __contains__(self, name):
        return name in self._lab.nodes

    def get(self, name, default=None):
        return self[name] if name in self._lab.nodes else default

    def _all(self):
        if dict.__len__(self) != len(self._lab.nodes):
            have = {k: dict.__getitem__(self, k) for k in dict.keys(self)}
            self.clear()
            for name in self._lab.nodes:
                self[name] = have[name] if name in have else self.__missing__(name)

    def __iter__(self):
        self._all()
        return dict.__iter__(self)

    def __len__(self):
        return len(self._lab.nodes)

    def keys(self):
        self._all()
        return dict.keys(self)

    def values(self):
        self._all()
        return dict.values(self)

    def items(self):
        self._all()
        return dict.items(self)

    def compiled(self) -> int:
        """How many nodes were compiled so far."""
        return dict.__len__(self)


def _ends(lab, link) -> list[tuple[str, int]]:
    """(node, port index) of each interface of a link."""
    out = []
    for itf in link.interfaces:
        ifs = lab.nodes[itf.node].interfaces
        k = itf.name[3:]
        # the lab builder names a node's k-th interface eth<k>: no scan of a core router's hundreds
        if itf.name.startswith("eth") and k.isdigit() and int(k) < len(ifs) and ifs[int(k)] is itf:
            out.append((itf.node, int(k)))
        else:
            out.append((itf.node, next(i for i, x in enumerate(ifs) if x is itf)))
    return out


class Wires(dict):
    """(node, port) -> [(peer node, peer port, delay seconds)], each found on first use: a sim of
    a 100,000-router lab (a Sim per vantage point) wires the ports its frames cross, not 150,000
    links. A failed link carries nothing."""

    def __init__(self, lab):
        super().__init__()
        self._lab = lab

    def __missing__(self, key):
        node, pidx = key
        n = self._lab.nodes.get(node)
        if n is None or not 0 <= pidx < len(n.interfaces):
            raise KeyError(key)
        link = n.interfaces[pidx].link
        ends = _ends(self._lab, link)
        got = self[key] = [] if link.down else [(b[0], b[1], link.delay_ms / 1000.0) for b in ends if b != key]
        return got

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class Sim:
    def __init__(self, lab, cp=None, seed: int | None = None):
        self.lab = lab
        self.cp = cp or build_cp(lab)
        self.nodes = Nodes(lab, self.cp)
        # (node, port) -> [(peer node, peer port, delay seconds)]
        self.wires: dict[tuple[str, int], list[tuple[str, int, float]]] = Wires(lab)
        # (node, port) -> Impairment, for the ends of links with jitter or loss
        self.impair: dict[tuple[str, int], object] = {}
        for link in lab.links:
            if not link.down and (link.jitter_ms > 0 or link.loss > 0):
                from testbed.runtimes.impair import for_interface
                for itf, a in zip(link.interfaces, _ends(lab, link)):
                    self.impair[a] = for_interface(lab, itf, "out", seed)
        self.now = 0.0
        self._q: list = []
        self._seq = 0
        self.attached: dict[str, SimPort] = {}
        self.router_ports: dict[str, RouterPort] = {}
        self.frame_hops = 0

    def attach(self, host: str, answer_arp: bool = False) -> SimPort:
        if host not in self.lab.nodes or self.lab.nodes[host].is_router:
            raise KeyError(f"{host} is not a host of lab {self.lab.name}")
        p = SimPort(self, host)
        p.answer_arp = answer_arp
        self.attached[host] = p
        return p

    def attach_router(self, router: str) -> RouterPort:
        if router not in self.lab.nodes or not self.lab.nodes[router].is_router:
            raise KeyError(f"{router} is not a router of lab {self.lab.name}")
        return RouterPort(self, router)

    def _emit(self, node: str, pidx: int, frame: bytes):
        self._send(node, pidx, frame, self.now)

    def _send(self, node: str, pidx: int, frame: bytes, t: float):
        imp = self.impair.get((node, pidx))
        d = None
        if imp is not None:
            d = imp.draw()                 # one draw per frame and sending end (a LAN's peers share it)
            if d is None:
                return
        for peer, ppidx, delay in self.wires.get((node, pidx), ()):
            self._seq += 1
            heapq.heappush(self._q, (t + (delay if d is None else d), self._seq, peer, ppidx, frame))

    def run(self, seconds: float | None = None, max_events: int = 10_000_000, until_delivery: bool = False):
        """Process events; stop when idle, when the clock passes now + seconds, or (with
        until_delivery) right after a frame reaches an attached prober port."""
        until = None if seconds is None else self.now + seconds
        q = self._q
        nodes = self.nodes
        attached = self.attached
        wires = self.wires
        impair = self.impair
        n = 0
        while q and n < max_events:
            t = q[0][0]
            if until is not None and t > until:
                break
            t, _, node, pidx, frame = heapq.heappop(q)
            self.now = t
            n += 1
            port = attached.get(node)
            if port is not None:
                port._deliver(frame)
                if until_delivery and port.inbox:
                    return n
                continue
            self.frame_hops += 1
            for opidx, oframe in nodes[node].handle(pidx, frame, t):
                if impair and (node, opidx) in impair:
                    self._send(node, opidx, oframe, t)
                    continue
                for peer, ppidx, delay in wires.get((node, opidx), ()):
                    self._seq += 1
                    heapq.heappush(q, (t + delay, self._seq, peer, ppidx, oframe))
            if until_delivery and self.router_ports:
                rp = self.router_ports.get(node)
                if rp is not None and rp.inbox:
                    return n
        if until is not None and self.now < until:
            self.now = until
        return n
