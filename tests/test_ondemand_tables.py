"""Forwarding state on demand (issue 23): a router's route to one destination and its LFIB
entry for one label, derived when first asked (compute.OnDemand), are what its whole FIB and
LFIB hold; the sim compiles a router on its first packet and leaves every other router, and
every table, unbuilt.
"""
from __future__ import annotations

import random
from ipaddress import IPv4Address

import pytest

from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber


def _attmpls(tmp_path):
    pytest.importorskip("topohub")
    from testbed.importers import import_lab, write
    f = tmp_path / "att.yaml"
    write(import_lab("topozoo:AttMpls", vps=4, dsts=8, classes="invisible-uhp,opaque",
                     vendors="cisco=0.5,juniper=0.5", seed=2), str(f))
    return load_lab(f)


def _scan(fib, a, forwarding=False):
    best = None
    for pfx, r in fib.items():
        if a in pfx and (not forwarding or r.nexthops) and (best is None or pfx.prefixlen > best.prefix.prefixlen):
            best = r
    return best


@pytest.mark.parametrize("which", ["mixed", "ecmp-explicit", "attmpls"])
def test_routes_and_labels_on_demand_are_the_whole_tables(which, tmp_path):
    lab = _attmpls(tmp_path) if which == "attmpls" else load_lab(which)
    lazy, whole = build(lab), build(lab)
    rnd = random.Random(3)
    addrs = [a for n in lab.nodes.values() for a in n.addresses()]
    addrs += [IPv4Address(int(a) ^ rnd.getrandbits(rnd.choice((1, 4, 8, 16)))) for a in addrs]
    checked = 0
    for r in lab.routers:
        t, w = lazy.tables[r.name], whole.tables[r.name]
        view = t.on_demand
        if view is None:                        # a later control-plane step built this one whole
            continue
        for a in addrs:
            assert view.lookup(int(a)) == _scan(w.fib, a), (r.name, a)
            assert view.lookup(int(a), forwarding=True) == _scan(w.fib, a, forwarding=True), (r.name, a)
        for lbl, e in w.lfib.items():
            assert t.label_entry(lbl) == e, (r.name, lbl)
        assert t.label_entry(1_000_000) is None
        assert t._fib is None and t._lfib is None        # all of it without building the tables
        assert t.fib == w.fib and t.lfib == w.lfib       # and building them afterwards gives the same
        checked += 1
    assert checked >= (10 if which == "attmpls" else 1)


def test_the_sim_compiles_a_router_on_its_first_packet(tmp_path):
    lab = _attmpls(tmp_path)
    cp = build(lab)
    sim = Sim(lab, cp)
    assert sim.nodes.compiled() == 0
    assert sim.nodes.get("no-such-node") is None and "no-such-node" not in sim.nodes
    assert lab.routers[0].name in sim.nodes and sim.nodes.compiled() == 0
    src = lab.probes[0].source
    dst = str(lab.probes[0].targets[0])
    hops = ScriptedProber(sim, src).trace(dst)
    assert hops and str(hops[-1].address) == dst
    reached = sim.nodes.compiled()
    assert 2 < reached < len(lab.nodes), "only the nodes the probes and replies crossed"
    # the routers crossed resolved their routes per destination: no FIB or LFIB built whole
    ondemand = [n for n in list(dict.keys(sim.nodes)) if lab.nodes[n].is_router and cp.tables[n].on_demand is not None]
    assert ondemand
    assert all(cp.tables[n]._fib is None and cp.tables[n]._lfib is None for n in ondemand)
    # walking every node compiles the rest, in the lab's order
    assert list(sim.nodes) == list(lab.nodes) and len(sim.nodes) == len(lab.nodes)
    assert sim.nodes.compiled() == len(lab.nodes)
