"""One host's engine of a big lab split across hosts keeps only its part (issue 23: per-host
memory): the control plane makes tables for its nodes only and split.shed drops the links
and router interfaces of the other hosts, yet every route, LFIB entry and LDP binding of its
routers is the one the whole lab's control plane gives. In process, no root: a small lab is
put on the per-destination control plane (the big labs' path) by lowering SCALE_ROUTERS.
"""
from __future__ import annotations

import pickle

import pytest

from testbed.controlplane import build, scale
from testbed.lab import load_lab
from testbed.runtimes.bigrt import split as sp
from testbed.runtimes.bigrt.engine import wire_ends
from testbed.runtimes.bigrt.shapes import ring_chord
from testbed.runtimes.sim import Nodes


@pytest.fixture
def small_is_big(monkeypatch):
    monkeypatch.setattr(scale, "SCALE_ROUTERS", 10)


def _tables(t):
    fib, lfib = {}, {}
    t._lazy.fib_loader(fib)
    t._lazy.lfib_loader(lfib)
    return fib, lfib, dict(t.bindings.items()), t.ldp_neighbors


def test_a_host_keeps_its_part_and_the_same_routes(tmp_path, small_is_big):
    f = tmp_path / "ring60.yaml"
    # an MPLS domain over most of the ring (LDP labels toward neighbours on the other host,
    # BGP next-hop-self at its edge), the rest plain IP
    text = ring_chord(60, name="ring60").replace(
        "probes:", "mpls:\n  core:\n    routers: [" + ", ".join(f"r{i}" for i in range(45)) + "]\n"
        "    ldp: all\n    popping: php\nprobes:")
    f.write_text(text)
    whole_lab = load_lab(str(f), no_limits=True)
    whole = build(whole_lab)
    assert getattr(whole, "scale", None) is not None
    plan = sp.split_lab(whole_lab, {"h1": "192.0.2.1", "h2": "192.0.2.2"}, seed=1)
    for host in ("h1", "h2"):
        lab = load_lab(str(f), no_limits=True)
        local = sp.local_nodes(lab, plan, host)
        cp = build(lab, only=local)
        assert set(cp.tables) == local
        got = sp.shed(lab, cp, local)
        assert got["links"] > 0 and got["interfaces"] > 0
        for n in lab.nodes.values():
            if n.name not in local:
                assert n.interfaces == [], n.name
        assert all(any(i.node in local for i in link.interfaces) for link in lab.links)
        routers = [r for r in local if lab.nodes[r].is_router]
        assert len(routers) == len(sp.host_of(plan, host)["routers"])
        labelled = 0
        for r in routers:
            got = _tables(cp.tables[r])
            assert got == _tables(whole.tables[r]), (host, r)
            labelled += sum(1 for rt in got[0].values() if any(h.push for h in rt.nexthops))
        assert labelled > 0                      # labels pushed toward neighbours were compared
        # the part survives a round trip through pickle (what a host could ship) with the same tables
        lab2, cp2 = pickle.loads(pickle.dumps((lab, cp)))
        r0 = sorted(routers)[0]
        assert _tables(cp2.tables[r0]) == _tables(whole.tables[r0])
        # the engine wires this host's links from the part: a cut link has only its end here
        cut = {c["link"] for c in plan["cut"]}
        for link in lab.links:
            ends = wire_ends(lab, link)
            if ends is None:
                continue
            assert {r for r, _ in ends} == ({i.node for i in link.interfaces} & local if link.name in cut
                                           else {i.node for i in link.interfaces}), link.name
            for r, port in ends:
                assert lab.nodes[r].interfaces[port].link is link
        # the engine compiles this host's routers from the part
        nodes = Nodes(lab, cp)
        for r in routers[:5]:
            assert nodes[r].name == r


def test_a_lab_on_whole_tables_is_left_whole(tmp_path):
    lab = load_lab("five-vp")
    plan = sp.split_lab(lab, {"h1": "192.0.2.1", "h2": "192.0.2.2"}, seed=1)
    local = sp.local_nodes(lab, plan, "h1")
    cp = build(lab, only=local)
    n_links = len(lab.links)
    assert sp.shed(lab, cp, local) == {}
    assert len(lab.links) == n_links and set(cp.tables) == set(lab.nodes)


def test_local_forwarding_check_takes_only_paths_that_stay_on_the_host(tmp_path):
    """A split host checks at `up` only the probes whose every shortest path stays on its
    routers (a path through another host has no answer until that host is up): the test the
    check uses (api._LocalPaths) against networkx's shortest paths."""
    import itertools

    import networkx as nx

    from testbed.runtimes.bigrt.api import _LocalPaths
    f = tmp_path / "ring40.yaml"
    f.write_text(ring_chord(40, name="ring40"))
    lab = load_lab(str(f), no_limits=True)
    plan = sp.split_lab(lab, {"h1": "192.0.2.1", "h2": "192.0.2.2"}, seed=1)
    g = nx.Graph()
    for link in lab.links:
        rs = [i for i in link.interfaces if lab.nodes[i.node].is_router]
        if len(rs) == 2:
            g.add_edge(rs[0].node, rs[1].node, weight=rs[0].cost)
    seen = set()
    for host in ("h1", "h2"):
        local = sp.local_nodes(lab, plan, host)
        paths = _LocalPaths(lab, local)
        routers = sorted(r for r in local if lab.nodes[r].is_router)
        for a, b in itertools.combinations(routers, 2):
            want = all(set(p) <= local for p in nx.all_shortest_paths(g, a, b, weight="weight"))
            assert paths(a, b) == want, (host, a, b)
            seen.add(want)
    assert seen == {True, False}
