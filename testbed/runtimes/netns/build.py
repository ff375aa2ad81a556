"""The netlink side of `up`: creates a Plan's (plan.py) namespaces, links and addresses in a
few batched steps; the only module that changes the kernel's network configuration.

Steps, each one process or one in-process loop whatever the lab's size:
  1. `ip -batch`: every namespace (`netns add`).
  2. in-process: per namespace, sysctls (IPv6 off before any interface exists, so not one
     router solicitation or ND frame is ever sent; forwarding off; ICMP limits on hosts).
  3. `ip -batch`: every veth pair, created straight into its two namespaces with the
     model's interface names and MAC addresses; the LAN bridges, in the switch namespace.
  4. `ip -n <switch> -batch`: the taps, bridge ports and links up in the switch namespace.
  5. in-process: per namespace, interfaces up; hosts get their address and default route
     over rtnetlink (rtnl.py), and segmentation offloads off (nsutil.disable_offloads).
  6. router vantage points (a lab probe `from: <router>`): in the router's namespace a tap
     `vptap` (uTNT joins there with its own stack) and a veth `vp0` to the router's prober
     namespace `tb-<name>._vp-<router>`, where the router's loopback address sits on the
     veth's other end with a default route into the router (scamper, traceroute run there).
     The engine worker treats frames from both as the router's own locally generated
     packets and hands them the ICMP the router receives for itself (workers.py).
Nothing is ever created in the root namespace: every `link add` names both target
namespaces, and a command naming a missing namespace fails as a whole.
(pyroute2 is not used: see the README's Dependencies.)
"""
from __future__ import annotations

import socket
import subprocess

from testbed.errors import TestbedError

from . import nsutil
# the plan's names, for callers that used to find them here
from .plan import HOST_MTU, ROUTER_MTU, LanPlan, Plan, attach_address, fingerprint, make_plan, partition  # noqa: F401
from .rtnl import Rtnl

# writing conf.all.disable_ipv6 also sets conf.default (and each write costs ~0.3 ms)
ROUTER_SYSCTLS = (("net.ipv6.conf.all.disable_ipv6", 1), ("net.ipv4.ip_forward", 0))
HOST_SYSCTLS = ROUTER_SYSCTLS + (("net.ipv4.icmp_ratelimit", 0), ("net.ipv4.icmp_msgs_per_sec", 100000),
                                 ("net.ipv4.icmp_msgs_burst", 10000))
SWITCH_SYSCTLS = ROUTER_SYSCTLS
# 6PE labs' hosts (dual stack): IPv6 on, but no link-local address, no DAD, no router
# solicitation or autoconfiguration (the address and default route are set), no ICMPv6 rate
# limit (as for IPv4: a traceroute's UDP probes all get their port unreachable)
HOST6_SYSCTLS = (("net.ipv6.conf.default.addr_gen_mode", 1), ("net.ipv6.conf.default.accept_ra", 0),
                 ("net.ipv6.conf.default.autoconf", 0), ("net.ipv6.conf.default.accept_dad", 0),
                 ("net.ipv6.conf.default.dad_transmits", 0), ("net.ipv6.conf.default.router_solicitations", 0),
                 ("net.ipv6.conf.all.disable_ipv6", 0), ("net.ipv6.icmp.ratelimit", 0))


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
        for _node, n, _ifn, _a, _g in plan.host_cfg6:
            w.enter(n)
            for k, v in HOST6_SYSCTLS:
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
        n = None
        try:
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
        except OSError as e:
            raise TestbedError(f"configuring namespace {n} failed: {e.strerror or e}") from None
    for node, n, ifn, address6, gateway6 in plan.host_cfg6:     # 6PE: the host's IPv6 side
        ip_batch([f"address add {address6} dev {ifn} nodad"]
                 + ([f"route add ::/0 via {gateway6} dev {ifn}"] if gateway6 else []),
                 netns=n, what=f"addressing host {node} (IPv6)")


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
