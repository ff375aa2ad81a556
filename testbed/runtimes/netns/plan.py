"""The plan of a lab's namespaces (pure data, no side effects, no root): which namespaces,
veth pairs, LAN bridges, taps, host addresses and attachment points `up` will create, and how
the routers are shared among the engine workers. build.py carries it out.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from . import names

# routers' interfaces carry labelled full-size packets (1500 + 4 bytes per label): a larger
# MTU than the hosts' 1500, so the engine's packet-socket sends never fail for size
ROUTER_MTU = 1600
HOST_MTU = 1500


def _mac(b: bytes) -> str:
    return b.hex(":")


@dataclass
class LanPlan:
    index: int
    name: str
    network: str
    bridge: str
    members: list = field(default_factory=list)   # [(node, ns, ifname, mac, switch port, mtu)]
    tap: str | None = None
    attach: dict | None = None


@dataclass
class Plan:
    name: str
    routers: dict        # node -> namespace
    hosts: dict          # node -> namespace
    switch: str | None
    p2p: list            # [(nsA, ifA, macA, mtuA, nsB, ifB, macB, mtuB)]
    lans: list           # [LanPlan]
    host_cfg: list       # [(node, ns, ifname, address, gateway)]
    router_ifs: dict     # ns -> [ifname]
    router_vps: list = field(default_factory=list)   # [dict]: router vantage points (router_vp_plan)
    host_cfg6: list = field(default_factory=list)    # 6PE labs: [(node, ns, ifname, address6/64, gateway6)]

    @property
    def namespaces(self) -> list[str]:
        out = list(self.routers.values()) + list(self.hosts.values())
        if self.switch:
            out.append(self.switch)
        out += [v["prober_namespace"] for v in self.router_vps]
        return out

    @property
    def attach(self) -> list[dict]:
        return [lan.attach for lan in self.lans if lan.attach]


def attach_address(link) -> IPv4Address | None:
    """A free address for a prober on a LAN: the highest usable one not taken by a node
    (the lab builder allocates from the bottom)."""
    net = link.network
    used = {i.ip for i in link.interfaces}
    top = int(net.broadcast_address) - 1
    bottom = int(net.network_address) + 1
    for a in range(top, bottom - 1, -1):
        if IPv4Address(a) not in used:
            return IPv4Address(a)
    return None


VP_VETH = "vp0"         # router namespace: the veth to the prober namespace (same name there)
VP_TAP = "vptap"        # router namespace: the tap a prober with its own stack (uTNT) opens


def _vp_mac(name: str, router: str, side: str) -> str:
    h = hashlib.sha1(f"{name}/{router}/vp/{side}".encode()).digest()
    return _mac(bytes([0x02 | (h[0] & 0xFC)]) + h[1:6])


def router_vp_plan(lab, name: str, router: str, router_ns: str) -> dict:
    """The attachment of a router vantage point: where its probers run and with what address."""
    node = lab.nodes[router]
    return {"router": router, "kind": "router", "namespace": router_ns, "tap": VP_TAP, "veth": VP_VETH,
            "prober_namespace": names.vp_ns(name, router), "address": str(node.loopback), "prefixlen": 32,
            # any address will do as the gateway: the worker answers every ARP request on the
            # attachment; this one is the router's own first interface
            "gateway": str(node.interfaces[0].ip), "gateway_node": router,
            "gateway_mac": _vp_mac(name, router, "router"), "prober_mac": _vp_mac(name, router, "prober"),
            "hosts": [router]}


def make_plan(lab, name: str) -> Plan:
    routers = {n.name: names.ns(name, n.name) for n in lab.routers}
    hosts = {n.name: names.ns(name, n.name) for n in lab.hosts}
    nsof = {**routers, **hosts}
    has_lan = any(link.kind == "lan" for link in lab.links)
    sw = names.switch_ns(name) if has_lan else None
    p2p, lans = [], []
    used = set()

    def mtu(node: str) -> int:
        return ROUTER_MTU if lab.nodes[node].is_router else HOST_MTU

    def unique(cand: str, fallback: str) -> str:
        out = cand if cand not in used else fallback
        used.add(out)
        return out

    for k, link in enumerate(lab.links):
        if link.kind == "p2p":
            a, b = link.interfaces
            p2p.append((nsof[a.node], a.name, _mac(a.mac), mtu(a.node), nsof[b.node], b.name, _mac(b.mac),
                        mtu(b.node)))
            continue
        lp = LanPlan(index=k, name=link.name, network=str(link.network),
                     bridge=unique(names.bridge(k, link.name), f"br{k}"))
        for j, itf in enumerate(link.interfaces):
            lp.members.append((itf.node, nsof[itf.node], itf.name, _mac(itf.mac), names.switch_port(k, j),
                               mtu(itf.node)))
        host_on_it = [i for i in link.interfaces if not lab.nodes[i.node].is_router]
        gw = next((i for i in link.interfaces if lab.nodes[i.node].is_router), None)
        if host_on_it and gw is not None:
            lp.tap = unique(names.tap(k, link.name), f"tap{k}")
            addr = attach_address(link)
            if addr is not None:
                lp.attach = {"lan": link.name, "namespace": sw, "tap": lp.tap, "bridge": lp.bridge,
                             "address": str(addr), "prefixlen": link.network.prefixlen,
                             "network": str(link.network), "gateway": str(gw.ip), "gateway_node": gw.node,
                             "gateway_mac": _mac(gw.mac), "hosts": [i.node for i in host_on_it]}
        lans.append(lp)
    host_cfg = []
    for h in lab.hosts:
        if h.interfaces:
            itf = h.interfaces[0]
            host_cfg.append((h.name, hosts[h.name], itf.name, itf.address, h.gateway))
    host_cfg6 = []
    for h in lab.hosts:
        itf = h.interfaces[0] if h.interfaces else None
        if itf is not None and itf.address6 is not None:
            gw6 = next((p.address6.ip for p in itf.peers() if lab.nodes[p.node].is_router and p.address6), None)
            host_cfg6.append((h.name, hosts[h.name], itf.name, str(itf.address6), str(gw6) if gw6 else None))
    router_ifs = {routers[r.name]: [i.name for i in r.interfaces] for r in lab.routers}
    vps = list(dict.fromkeys(p.source for p in lab.probes if lab.nodes[p.source].is_router))
    router_vps = [router_vp_plan(lab, name, r, routers[r]) for r in vps]
    return Plan(name=name, routers=routers, hosts=hosts, switch=sw, p2p=p2p, lans=lans, host_cfg=host_cfg,
                router_ifs=router_ifs, router_vps=router_vps, host_cfg6=host_cfg6)


def fingerprint(lab, routers) -> str:
    """What the worker's routers must agree with (the lab file might change under us)."""
    h = hashlib.sha1(lab.name.encode())
    for r in routers:
        n = lab.nodes[r]
        for i in n.interfaces:
            h.update(f"{r}/{i.name}/{i.mac.hex()}/{i.address};".encode())
    return h.hexdigest()


def partition(routers: list[str], n: int) -> list[list[str]]:
    """Contiguous, even shares (a path through the lab crosses few worker boundaries)."""
    n = max(1, min(n, len(routers)))
    q, r = divmod(len(routers), n)
    out, i = [], 0
    for k in range(n):
        size = q + (1 if k < r else 0)
        out.append(routers[i:i + size])
        i += size
    return out
