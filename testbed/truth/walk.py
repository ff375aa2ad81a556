"""Follow a packet through the FIBs and LFIBs, branching on equal-cost next hops."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from testbed.controlplane.tables import EXPLICIT_NULL, IMPLICIT_NULL

MAX_PATHS = 16


@dataclass(frozen=True)
class Step:
    node: str
    in_addr: IPv4Address | None      # address of the interface the packet came in on (None at the source)
    labels_in: tuple[int, ...]       # label stack on arrival (top first)
    action: str                      # source | push | swap | php | untagged | pop-explicit-null | ip | deliver | drop

    def to_json(self):
        return {"node": self.node, "address": str(self.in_addr) if self.in_addr else None,
                "labels": list(self.labels_in), "action": self.action}


def _owner_on_link(lab, ifname_node, ifname, dst):
    itf = lab.nodes[ifname_node].iface(ifname)
    for p in itf.peers():
        if p.ip == dst:
            return p
    return None


def walk(cp, src: str, dst, max_hops: int = 64) -> list[list[Step]]:
    """All router-level paths a packet from node `src` to address `dst` can take."""
    lab = cp.lab
    dst = IPv4Address(str(dst))
    paths: list[list[Step]] = []

    def ingress_addr(node, gw_node, out_ifname):
        itf = lab.nodes[node].iface(out_ifname)
        for p in itf.peers():
            if p.node == gw_node:
                return p.ip
        return None

    def go(node, in_addr, stack, path):
        if len(paths) >= MAX_PATHS:
            return
        if len(path) > max_hops:
            paths.append(path + [Step(node, in_addr, stack, "drop")])
            return
        t = cp.tables[node]
        n = lab.nodes[node]
        if stack:
            top = stack[0]
            if top == EXPLICIT_NULL:
                step = Step(node, in_addr, stack, "pop-explicit-null")
                return ip_forward(node, in_addr, stack[1:], path + [step], popped=True)
            e = t.lfib.get(top)
            if e is None:
                paths.append(path + [Step(node, in_addr, stack, "drop")])
                return
            for h in e.hops:
                if h.out_label is None:
                    action, new = "untagged", stack[1:]
                elif h.out_label == IMPLICIT_NULL:
                    action, new = "php", stack[1:]
                else:
                    action, new = "swap", (h.out_label,) + stack[1:]
                nxt_addr = ingress_addr(node, h.neighbor, h.ifname)
                go(h.neighbor, nxt_addr, new, path + [Step(node, in_addr, stack, action)])
            return
        if dst in n.addresses():
            paths.append(path + [Step(node, in_addr, stack, "deliver")])
            return
        ip_forward(node, in_addr, stack, path, popped=False)

    def ip_forward(node, in_addr, stack, path, popped):
        if popped:
            # the step for this node is already recorded; deliver or route from here
            n = lab.nodes[node]
            if stack:
                return go_labelled_again(node, in_addr, stack, path)
            if dst in n.addresses():
                path[-1] = Step(node, in_addr, path[-1].labels_in, "pop-explicit-null")
                paths.append(path)
                return
        t = cp.tables[node]
        r = t.lookup(dst)
        if r is None or (not r.nexthops):
            paths.append(path + ([] if popped else [Step(node, in_addr, stack, "drop")]))
            return
        for nh in r.nexthops:
            action = "push" if nh.push else "ip"
            here = [] if popped else [Step(node, in_addr, stack, action if in_addr is not None or
                                           not lab.nodes[node].is_router else action)]
            if nh.gateway is None:
                peer = _owner_on_link(lab, node, nh.ifname, dst)
                if peer is None:
                    paths.append(path + here + [Step(node, in_addr, stack, "drop")][:0])
                    continue
                paths.append(path + here + [Step(peer.node, peer.ip, (), "deliver")])
                continue
            nxt_addr = ingress_addr(node, nh.neighbor, nh.ifname)
            go(nh.neighbor, nxt_addr, tuple(nh.push), path + here)

    def go_labelled_again(node, in_addr, stack, path):
        # explicit null over another label: keep label-switching on the inner label
        t = cp.tables[node]
        e = t.lfib.get(stack[0])
        if e is None:
            paths.append(path)
            return
        for h in e.hops:
            new = stack[1:] if h.out_label in (None, IMPLICIT_NULL) else (h.out_label,) + stack[1:]
            go(h.neighbor, ingress_addr(node, h.neighbor, h.ifname), new, path)

    first = Step(src, None, (), "source")
    t = cp.tables[src]
    r = t.lookup(dst)
    if dst in lab.nodes[src].addresses():
        return [[Step(src, None, (), "deliver")]]
    if r is None:
        return [[first]]
    for nh in r.nexthops:
        if nh.gateway is None:
            peer = _owner_on_link(lab, src, nh.ifname, dst)
            if peer is not None:
                paths.append([first, Step(peer.node, peer.ip, (), "deliver")])
            continue
        go(nh.neighbor, ingress_addr(src, nh.neighbor, nh.ifname), tuple(nh.push), [first])
    return paths
