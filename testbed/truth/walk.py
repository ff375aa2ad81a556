"""Follow a packet through the FIBs and LFIBs, branching on equal-cost next hops."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from testbed.controlplane.labelop import ELI, after_hop, strip_explicit_null

if TYPE_CHECKING:
    from testbed.controlplane.tables import ControlPlane
    from testbed.lab.model import Interface

Address = IPv4Address | IPv6Address
AddressLike = Address | str          # what a walk's destination may be given as (ip_address(str(x)))
H = TypeVar("H")


class Pick(Protocol):
    """walk()'s `pick`: of the equal-cost next hops at a router (route or label), the ones to follow."""
    def __call__(self, hops: list[H], /) -> list[H]: ...

MAX_PATHS = 16
# per control plane (cp.__dict__["_walk_memo"]): a node's IPv4 addresses, the IPv4 address of the neighbour behind
# (node, interface, neighbour), then the same two for IPv6 walks
_WalkMemo = tuple[dict[str, frozenset[Address]], dict[tuple[str, str, str], Address | None],
                  dict[str, frozenset[Address]], dict[tuple[str, str, str], Address | None]]


@lru_cache(maxsize=1 << 16)
def addr_str(a: Address) -> str:
    """An address as the tools print it: IPv4-mapped IPv6 in its dotted form (::ffff:11.0.0.3).
    Kept per address: a truth of 1,000 probes prints the same few thousand addresses 600,000 times."""
    m = getattr(a, "ipv4_mapped", None)
    return f"::ffff:{m}" if m is not None else str(a)
ENTROPY = -1        # stands for an entropy label: its value is per flow (the engine hashes the packet)


@dataclass(frozen=True)
class Step:
    node: str
    in_addr: IPv4Address | IPv6Address | None   # address of the interface the packet came in on (None at the
                                     # source); an IPv6 walk (6PE): its IPv6 address, or ::ffff:<IPv4> on a
                                     # router without IPv6 there (a P router: the address it answers from)
    labels_in: tuple[int, ...]       # label stack on arrival (top first)
    action: str                      # source | push | swap | swap-push | php | untagged | pop-explicit-null | ip
                                     # | deliver | drop

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "address": addr_str(self.in_addr) if self.in_addr else None,
                "labels": list(self.labels_in), "action": self.action}


def flow_picker(src_addr: AddressLike, dst: AddressLike, method: str, flow: int) -> Pick:
    """A `pick` for walk(): the equal-cost next hop that the engine's per-flow hash (one
    decision function, testbed.engine.router.flow_hash) gives a Paris probe of `flow`
    (the ICMP checksum of icmp-paris, the UDP source port of udp-paris: uTNT --flow)."""
    import struct

    from testbed.engine.router import flow_hash
    from testbed.wire import ip_packet
    if method == "udp-paris":
        proto, l4 = 17, struct.pack("!HH", flow, 33435)
    else:
        proto, l4 = 1, struct.pack("!BBH", 8, 0, flow)
    hdr = ip_packet(int(IPv4Address(str(src_addr))), int(IPv4Address(str(dst))), proto, 64, l4)
    h = flow_hash(hdr, 0)

    def pick(hops: list[H]) -> list[H]:
        return hops if len(hops) < 2 else [hops[h % len(hops)]]
    return pick


def walk(cp: ControlPlane, src: str, dst: AddressLike, max_hops: int = 64, stack: tuple[int, ...] = (),
         pick: Pick | None = None) -> list[list[Step]]:
    """All router-level paths a packet from node `src` to address `dst` can take; with
    `stack`, the paths of a packet that arrives at `src` carrying those labels; with
    `pick(hops) -> hops`, only the branches it keeps (one flow: flow_picker). An IPv6 `dst`
    (6PE labs) is looked up in the fib6 of dual-stack nodes and the LFIBs of the core."""
    lab = cp.lab
    to = ip_address(str(dst))
    v6 = to.version == 6
    paths: list[list[Step]] = []
    # per control plane, what every walk asks again and again: a node's addresses, a neighbour's
    # address behind an interface (the lab does not change under a control plane)
    memo: _WalkMemo | None = cp.__dict__.get("_walk_memo")
    if memo is None:
        memo = cp.__dict__["_walk_memo"] = ({}, {}, {}, {})
    addr_memo, peer_memo = (memo[0], memo[1]) if not v6 else (memo[2], memo[3])

    def addrs(node: str) -> frozenset[Address]:
        got = addr_memo.get(node)
        if got is None:
            got = addr_memo[node] = frozenset(lab.nodes[node].addresses6() if v6 else lab.nodes[node].addresses())
        return got

    def ip_of(p: Interface) -> Address:
        if not v6:
            return p.ip
        return p.address6.ip if p.address6 is not None else IPv6Address(f"::ffff:{p.ip}")

    def peer_addr(node: str, out_ifname: str, neighbor: str) -> Address | None:
        """The address of `neighbor` on the link behind node's `out_ifname`."""
        k = (node, out_ifname, neighbor)
        try:
            return peer_memo[k]
        except KeyError:
            pass
        got = None
        for p in lab.nodes[node].iface(out_ifname).peers():
            if p.node == neighbor:
                got = ip_of(p)
                break
        peer_memo[k] = got
        return got

    def on_link(node: str, out_ifname: str) -> Interface | None:
        for p in lab.nodes[node].iface(out_ifname).peers():
            if ip_of(p) == to:
                return p
        return None

    def arrive(node: str, in_addr: Address | None, stack: tuple[int, ...], path: list[Step]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        if len(path) > max_hops:
            paths.append(path + [Step(node, in_addr, stack, "drop")])
            return
        if not stack:
            if to in addrs(node):
                paths.append(path + [Step(node, in_addr, stack, "deliver")])
            else:
                route(node, in_addr, stack, path, Step(node, in_addr, stack, "ip"))
            return
        k = strip_explicit_null(stack)
        if k:                                  # UHP egress: pop, then handle what is underneath here
            here = Step(node, in_addr, stack, "pop-explicit-null")
            rest = stack[k:]
            if rest:
                switch(node, rest, path + [here])
            elif to in addrs(node):
                paths.append(path + [here])
            else:
                route(node, in_addr, (), path, here)
            return
        switch(node, stack, path, in_addr)

    def switch(node: str, stack: tuple[int, ...], path: list[Step], in_addr: Address | None = None) -> None:
        e = cp.tables[node].label_entry(stack[0])
        if e is None:
            paths.append(path + [Step(node, in_addr, stack, "drop")])
            return
        for h in (pick(e.hops) if pick else e.hops):
            action, new = after_hop(stack, h.out_label, h.push)
            here = [Step(node, in_addr, stack, action)] if in_addr is not None or not path or \
                path[-1].node != node else []
            if h.neighbor is None:             # a label hop's gateway no lab node owns (FRR's tables), as in route
                paths.append(path + here + [Step(node, in_addr, stack, "drop")])
                continue
            arrive(h.neighbor, peer_addr(node, h.ifname, h.neighbor), new, path + here)

    def route(node: str, in_addr: Address | None, stack: tuple[int, ...], path: list[Step], here: Step) -> None:
        """IP lookup at node; `here` is this node's step (its action updated to push if labelled)."""
        r = cp.tables[node].lookup(to) if isinstance(to, IPv4Address) else cp.tables[node].lookup6(to)
        if r is None or not r.nexthops:
            paths.append(path + [Step(here.node, here.in_addr, here.labels_in, "drop")])
            return
        for nh in (pick(r.nexthops) if pick else r.nexthops):
            step = here if here.action != "ip" else Step(node, in_addr, stack, "push" if nh.push else "ip")
            if nh.gateway is None:
                peer = on_link(node, nh.ifname)
                if peer is None:
                    paths.append(path + [step, Step(node, in_addr, stack, "drop")])
                else:
                    paths.append(path + [step, Step(peer.node, ip_of(peer), (), "deliver")])
                continue
            if nh.neighbor is None:            # a gateway no lab node owns (FRR's tables): nothing answers its ARP
                paths.append(path + [step, Step(node, in_addr, stack, "drop")])
                continue
            push = tuple(nh.push)
            if push and here.action != "source" and lab.nodes[node].personality.entropy_label:
                push += (ELI, ENTROPY)         # as the engine's ingress does for forwarded packets
            arrive(nh.neighbor, peer_addr(node, nh.ifname, nh.neighbor), push, path + [step])

    if stack:
        arrive(src, None, tuple(stack), [])
        return paths
    if to in addrs(src):
        return [[Step(src, None, (), "deliver")]]
    route(src, None, (), [], Step(src, None, (), "source"))
    return paths
