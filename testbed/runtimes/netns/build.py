"""Plan a lab's namespaces and links (pure data), then create them in a few batched steps.

Steps, each one process or one in-process loop whatever the lab's size:
  1. `ip -batch`: every namespace (`netns add`).
  2. in-process: per namespace, sysctls (IPv6 off before any interface exists, so not one
     router solicitation or ND frame is ever sent; forwarding off; ICMP limits on hosts).
  3. `ip -batch`: every veth pair, created straight into its two namespaces with the
     model's interface names and MAC addresses; the LAN bridges, in the switch namespace.
  4. `ip -n <switch> -batch`: the taps, bridge ports and links up in the switch namespace.
  5. in-process: per namespace, interfaces up; hosts get their address and default route
     over rtnetlink, and segmentation offloads off.
  6. router vantage points (a lab probe `from: <router>`): in the router's namespace a tap
     `vptap` (uTNT joins there with its own stack) and a veth `vp0` to the router's prober
     namespace `tb-<name>._vp-<router>`, where the router's loopback address sits on the
     veth's other end with a default route into the router (scamper, traceroute run there).
     The engine worker treats frames from both as the router's own locally generated
     packets and hands them the ICMP the router receives for itself (workers.py).
Nothing is ever created in the root namespace: every `link add` names both target
namespaces, and a command naming a missing namespace fails as a whole.
"""
from __future__ import annotations

import hashlib
import socket
import subprocess
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from testbed.errors import TestbedError

from . import names, nsutil
from .rtnl import Rtnl

# writing conf.all.disable_ipv6 also sets conf.default (and each write costs ~0.3 ms)
ROUTER_SYSCTLS = (("net.ipv6.conf.all.disable_ipv6", 1), ("net.ipv4.ip_forward", 0))
HOST_SYSCTLS = ROUTER_SYSCTLS + (("net.ipv4.icmp_ratelimit", 0), ("net.ipv4.icmp_msgs_per_sec", 100000),
                                 ("net.ipv4.icmp_msgs_burst", 10000))
SWITCH_SYSCTLS = ROUTER_SYSCTLS
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
    router_ifs = {routers[r.name]: [i.name for i in r.interfaces] for r in lab.routers}
    vps = list(dict.fromkeys(p.source for p in lab.probes if lab.nodes[p.source].is_router))
    router_vps = [router_vp_plan(lab, name, r, routers[r]) for r in vps]
    return Plan(name=name, routers=routers, hosts=hosts, switch=sw, p2p=p2p, lans=lans, host_cfg=host_cfg,
                router_ifs=router_ifs, router_vps=router_vps)


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


# ---------------------------------------------------------------- running ip
def ip_batch(lines: list[str], netns: str | None = None, what: str = "ip -batch", force: bool = False):
    """Run `ip [-n NS] [-force] -batch -` over lines; raise TestbedError with ip's message."""
    if not lines:
        return
    cmd = ["ip"] + (["-n", netns] if netns else []) + (["-force"] if force else []) + ["-batch", "-"]
    r = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if r.returncode != 0 and not force:
        msg = " ".join((r.stderr or r.stdout).split())[:400]
        raise TestbedError(f"{what} failed: {msg}")
    return r


# ---------------------------------------------------------------- steps
def create_namespaces(plan: Plan):
    ip_batch([f"netns add {n}" for n in plan.namespaces], what="creating namespaces")


def configure_sysctls(plan: Plan):
    with nsutil.NsWalker() as w:
        for n in plan.routers.values():
            w.enter(n)
            for k, v in ROUTER_SYSCTLS:
                nsutil.write_sysctl(k, v)
        for n in plan.hosts.values():
            w.enter(n)
            for k, v in HOST_SYSCTLS:
                nsutil.write_sysctl(k, v)
        if plan.switch:
            w.enter(plan.switch)
            for k, v in SWITCH_SYSCTLS:
                nsutil.write_sysctl(k, v)
        for v in plan.router_vps:
            w.enter(v["prober_namespace"])
            for k, val in HOST_SYSCTLS:
                nsutil.write_sysctl(k, val)


def create_links(plan: Plan):
    lines = []
    for nsa, ifa, maca, mtua, nsb, ifb, macb, mtub in plan.p2p:
        lines.append(f"link add {ifa} netns {nsa} address {maca} mtu {mtua} type veth "
                     f"peer name {ifb} netns {nsb} address {macb} mtu {mtub}")
    for lan in plan.lans:
        lines.append(f"link add {lan.bridge} netns {plan.switch} type bridge stp_state 0 forward_delay 0 "
                     "mcast_snooping 0")
        for _node, nsn, ifn, mac, swp, mtu in lan.members:
            lines.append(f"link add {ifn} netns {nsn} address {mac} mtu {mtu} type veth "
                         f"peer name {swp} netns {plan.switch} mtu {mtu}")
    for v in plan.router_vps:
        lines.append(f"link add {v['veth']} netns {v['namespace']} address {v['gateway_mac']} mtu {ROUTER_MTU} "
                     f"type veth peer name {v['veth']} netns {v['prober_namespace']} address {v['prober_mac']} "
                     f"mtu {HOST_MTU}")
    ip_batch(lines, what="creating links")


def configure_switch(plan: Plan):
    if not plan.switch:
        return
    lines = []
    for lan in plan.lans:
        if lan.tap:
            lines.append(f"tuntap add dev {lan.tap} mode tap")
            lines.append(f"link set {lan.tap} master {lan.bridge} up")
        for m in lan.members:
            lines.append(f"link set {m[4]} master {lan.bridge} up")
        lines.append(f"link set {lan.bridge} up")
    ip_batch(lines, netns=plan.switch, what="configuring the switch namespace")


def configure_nodes(plan: Plan):
    with nsutil.NsWalker() as w:
        for n, ifs in plan.router_ifs.items():
            w.enter(n)
            nsutil.set_up(ifs)
        for node, n, ifn, address, gateway in plan.host_cfg:
            w.enter(n)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                nsutil.disable_offloads(ifn, s)
                nsutil.set_up(["lo", ifn], s)
            finally:
                s.close()
            with Rtnl() as nl:
                nl.add_address(ifn, address)
                if gateway is not None:
                    nl.add_default_route(gateway, ifn)


def configure_router_vps(plan: Plan):
    """The tap in the router's namespace, and the prober namespace's address and route."""
    for v in plan.router_vps:
        ip_batch([f"tuntap add dev {v['tap']} mode tap", f"link set {v['tap']} up", f"link set {v['veth']} up"],
                 netns=v["namespace"], what=f"attaching a vantage point to router {v['router']}")
    with nsutil.NsWalker() as w:
        for v in plan.router_vps:
            w.enter(v["prober_namespace"])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                nsutil.disable_offloads(v["veth"], s)
                nsutil.set_up(["lo", v["veth"]], s)
            finally:
                s.close()
    for v in plan.router_vps:
        ip_batch([f"address add {v['address']}/32 dev {v['veth']}",
                  f"route add default via {v['gateway']} dev {v['veth']} onlink"],
                 netns=v["prober_namespace"], what=f"addressing router {v['router']}'s prober namespace")


STEPS = (("namespaces", create_namespaces), ("sysctls", configure_sysctls), ("links", create_links),
         ("switch", configure_switch), ("addresses", configure_nodes),
         ("router vantage points", configure_router_vps))


def build(plan: Plan, progress=None):
    for label, fn in STEPS:
        if progress:
            progress(label)
        fn(plan)
