"""Edge cases of the truth's walk (testbed/truth/walk.py) found by typing it (mypy strict, issue 22)."""
from __future__ import annotations

from ipaddress import IPv4Address

from testbed.controlplane import NextHop, Route, build
from testbed.controlplane.tables import LabelHop, LfibEntry
from testbed.lab import load_lab
from testbed.truth import walk


def test_a_gateway_no_lab_node_owns_ends_the_path_as_a_drop():
    """FRR's tables name a next hop's node by who owns its gateway (controlplane/frr.py: owner_of,
    None for an address no lab node has). Nothing answers that gateway's ARP, so the engine loses
    the packet there: the walk ends the path with a drop at the router (it used to look up the
    node None and fail with KeyError, taking the whole ground truth down)."""
    lab = load_lab("explicit")
    cp = build(lab)
    dst = lab.probes[0].targets[0]
    ce1 = cp.tables["ce1"]
    route = ce1.lookup(dst)
    assert route is not None
    nh = route.nexthops[0]
    stray = IPv4Address("11.0.0.1") + 100                # on no lab node's interface
    assert lab.owner_of(stray) is None
    ce1.fib[route.prefix] = Route(route.prefix, route.kind, [NextHop(nh.ifname, stray, None, nh.push)], route.via)
    (path,) = walk(cp, "vp", dst)
    assert [(s.node, s.action) for s in path] == [("vp", "source"), ("ce1", "ip"), ("ce1", "drop")]


def test_a_label_hop_no_lab_node_owns_ends_the_path_as_a_drop():
    """The same for a label-switched hop: FRR's LFIB names a hop's node by who owns its gateway
    (LabelHop.neighbor None for an address no lab node has; typed so in controlplane/tables.py).
    The walk ends the path with a drop at the LSR (it used to look up the node None: KeyError)."""
    lab = load_lab("explicit")
    cp = build(lab)
    dst = lab.probes[0].targets[0]
    (path,) = walk(cp, "vp", dst)
    p2 = next(s for s in path if s.node == "p2")
    entry = cp.tables["p2"].label_entry(p2.labels_in[0])
    assert entry is not None
    hop = entry.hops[0]
    stray = IPv4Address("11.0.0.1") + 100                # on no lab node's interface
    assert lab.owner_of(stray) is None
    cp.tables["p2"].lfib[entry.in_label] = LfibEntry(entry.in_label, entry.fec,
                                                     [LabelHop(hop.out_label, hop.ifname, stray, None)])
    (path,) = walk(cp, "vp", dst)
    assert [(s.node, s.action) for s in path][-3:] == [("p1", "swap"), ("p2", "swap"), ("p2", "drop")]
