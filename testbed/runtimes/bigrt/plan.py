"""The big-lab runtime's plan (pure data, no root): which kernel objects `up` creates.

Routers get no namespace. Every router port that faces a kernel object (a link or LAN with a
host on it) is a veth end `e<k>p<j>` (link k of lab.links, member j) in the lab's core
namespace `tb-<name>._sw`, where the engine opens its packet socket; the other end is the
host's interface (a point-to-point link) or a port of the LAN's bridge (a LAN with hosts,
which also gets its tap attachment point, as in the namespace runtime). Links between
routers only are not kernel objects at all: the engine carries them in memory. A router
vantage point (a lab probe `from: <router>`) gets a tap `vt<i>` and a veth `vv<i>` in the
core namespace, the veth's other end in its prober namespace `tb-<name>._vp-<router>`.

The result is a netns Plan (testbed/runtimes/netns/plan.py) with no router namespaces, so
the namespace runtime's build steps create it and its teardown removes it.
"""
from __future__ import annotations

from testbed.runtimes.netns import names
from testbed.runtimes.netns.plan import HOST_MTU, ROUTER_MTU, LanPlan, Plan, _mac, attach_address, router_vp_plan


def engine_port(link_index: int, member: int) -> str:
    """The name, in the core namespace, of a router's port on a link with a host."""
    return f"e{link_index}p{member}"


def kernel_links(lab, only: set | None = None) -> list[int]:
    """Indices (in lab.links) of the links with a host on them: the only ones the kernel sees
    (with `only`, a set of node names: those with a member among them)."""
    return [k for k, link in enumerate(lab.links) if any(not lab.nodes[i.node].is_router for i in link.interfaces)
            and (only is None or any(i.node in only for i in link.interfaces))]


def make_plan(lab, name: str, only: set | None = None) -> tuple[Plan, dict]:
    """(the Plan, {router: {port index: interface name in the core namespace}}). `only`: the
    nodes on this host of a lab split across hosts (split.local_nodes); None: all."""
    core = names.switch_ns(name)
    hosts = {n.name: names.ns(name, n.name) for n in lab.hosts if only is None or n.name in only}
    p2p, lans, ports = [], [], {}
    used: set[str] = set()

    def unique(cand: str, fallback: str) -> str:
        out = cand if cand not in used else fallback
        used.add(out)
        return out

    def end(itf, k: int, j: int):
        """(namespace, interface name, MTU) of one member of a kernel link."""
        node = lab.nodes[itf.node]
        if not node.is_router:
            return hosts[itf.node], itf.name, HOST_MTU
        ifn = engine_port(k, j)
        pidx = next(i for i, x in enumerate(node.interfaces) if x is itf)
        ports.setdefault(itf.node, {})[pidx] = ifn
        return core, ifn, ROUTER_MTU

    for k in kernel_links(lab, only):
        link = lab.links[k]
        if link.kind == "p2p":
            a, b = link.interfaces
            nsa, ifa, mtua = end(a, k, 0)
            nsb, ifb, mtub = end(b, k, 1)
            p2p.append((nsa, ifa, _mac(a.mac), mtua, nsb, ifb, _mac(b.mac), mtub))
            continue
        lp = LanPlan(index=k, name=link.name, network=str(link.network),
                     bridge=unique(names.bridge(k, link.name), f"br{k}"))
        for j, itf in enumerate(link.interfaces):
            nsn, ifn, mtu = end(itf, k, j)
            lp.members.append((itf.node, nsn, ifn, _mac(itf.mac), names.switch_port(k, j), mtu))
        host_on_it = [i for i in link.interfaces if not lab.nodes[i.node].is_router]
        gw = next((i for i in link.interfaces if lab.nodes[i.node].is_router), None)
        if host_on_it and gw is not None:
            lp.tap = unique(names.tap(k, link.name), f"tap{k}")
            addr = attach_address(link)
            if addr is not None:
                lp.attach = {"lan": link.name, "namespace": core, "tap": lp.tap, "bridge": lp.bridge,
                             "address": str(addr), "prefixlen": link.network.prefixlen,
                             "network": str(link.network), "gateway": str(gw.ip), "gateway_node": gw.node,
                             "gateway_mac": _mac(gw.mac), "hosts": [i.node for i in host_on_it]}
        lans.append(lp)
    host_cfg = [(h.name, hosts[h.name], h.interfaces[0].name, h.interfaces[0].address, h.gateway)
                for h in lab.hosts if h.interfaces and h.name in hosts]
    host_cfg6 = []
    for h in lab.hosts:
        if h.name not in hosts:
            continue
        itf = h.interfaces[0] if h.interfaces else None
        if itf is not None and itf.address6 is not None:
            gw6 = next((p.address6.ip for p in itf.peers() if lab.nodes[p.node].is_router and p.address6), None)
            host_cfg6.append((h.name, hosts[h.name], itf.name, str(itf.address6), str(gw6) if gw6 else None))
    vps = list(dict.fromkeys(p.source for p in lab.probes if lab.nodes[p.source].is_router
                             and (only is None or p.source in only)))
    router_vps = []
    for i, r in enumerate(vps):
        v = router_vp_plan(lab, name, r, core)
        v["tap"], v["veth"] = f"vt{i}", f"vv{i}"
        router_vps.append(v)
    ifs = [ifn for by_port in ports.values() for ifn in by_port.values()]
    plan = Plan(name=name, routers={}, hosts=hosts, switch=core, p2p=p2p, lans=lans, host_cfg=host_cfg,
                router_ifs={core: ifs} if ifs else {}, router_vps=router_vps, host_cfg6=host_cfg6)
    return plan, ports
