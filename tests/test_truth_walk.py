"""Edge cases of the truth's walk (testbed/truth/walk.py) found by typing it (mypy strict, issue 22)."""
from __future__ import annotations

from ipaddress import IPv4Address

from testbed.controlplane import NextHop, Route, build
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
