"""testbed import: real topologies (topohub's Topology Zoo / SNDlib / CAIDA, GraphML, node-link
JSON, containerlab) become ordinary lab files that load, route and trace like hand-written ones."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest

from testbed.controlplane import build
from testbed.importers import import_lab, write
from testbed.lab import load_lab
from testbed.truth.walk import walk

topohub = pytest.importorskip("topohub", reason="topohub not installed (pip install 'utnt-lab[topo]')")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "testbed.cli", *args], capture_output=True, text=True)


def test_attmpls_is_an_ordinary_lab_with_coordinates_costs_and_a_seeded_vendor_mix(tmp_path):
    f = tmp_path / "att.yaml"
    r = _cli("import", "topozoo:AttMpls", "-o", str(f), "--vendors", "cisco=0.6,juniper=0.3,linux=0.1",
             "--vps", "3", "--dsts", "5", "--seed", "4")
    assert r.returncode == 0, r.stderr
    lab = load_lab(f)
    assert len(lab.routers) == 25 and len(lab.hosts) == 8
    assert all(r.pos is not None for r in lab.routers)
    ny = lab.nodes["ny54"].pos
    assert abs(ny[0] + 74.01) < 0.01 and abs(ny[1] - 40.71) < 0.01            # longitude, latitude
    # costs are the data's link lengths in km (NY54-CMBR is 304 km in topohub)
    nycm = [ln for ln in lab.links if set(ln.nodes) == {"ny54", "cmbr"}][0]
    assert nycm.cost == 304 and abs(nycm.delay_ms - 304 / 200) < 0.01
    assert Counter(r.vendor for r in lab.routers) == {"cisco": 15, "juniper": 8, "linux": 2}
    # the same seed writes the same file; another seed another mix
    g = tmp_path / "again.yaml"
    _cli("import", "topozoo:AttMpls", "-o", str(g), "--vendors", "cisco=0.6,juniper=0.3,linux=0.1",
         "--vps", "3", "--dsts", "5", "--seed", "4")
    assert g.read_text().splitlines()[1:] == f.read_text().splitlines()[1:]     # line 1: the command
    other = import_lab("topozoo:AttMpls", vendors="cisco=0.6,juniper=0.3,linux=0.1", vps=3, dsts=5, seed=5)
    mine = import_lab("topozoo:AttMpls", vendors="cisco=0.6,juniper=0.3,linux=0.1", vps=3, dsts=5, seed=4)
    assert other["routers"] != mine["routers"]


def test_domains_share_and_classes_become_editable_knobs(tmp_path):
    doc = import_lab("topozoo:AttMpls", share=0.6, domains=2, classes="explicit,invisible-uhp", vps=2, dsts=4,
                     probes="2")
    f = tmp_path / "att.yaml"
    write(doc, str(f))
    text = f.read_text()
    assert "# tunnel class: explicit" in text and "popping: uhp" in text
    lab = load_lab(f)
    assert len(lab.domains) == 2
    assert sum(len(d.routers) for d in lab.domains.values()) == 15          # 60 % of 25
    routers = {r.name for r in lab.routers}
    g = nx.Graph([tuple(ln.nodes) for ln in lab.links if ln.kind == "p2p" and set(ln.nodes) <= routers])
    for d in lab.domains.values():
        assert nx.is_connected(g.subgraph(d.routers))
    exp = [d for d in lab.domains.values() if d.ttl_propagate and d.rfc4950]
    uhp = [d for d in lab.domains.values() if d.popping == "uhp" and not d.ttl_propagate]
    assert len(exp) == 1 and len(uhp) == 1
    assert all(len(p.targets) == 2 for p in lab.probes)                     # sampled: 2 per vantage point
    # hosts sit at the edge: on the lowest-degree routers
    gw = {lab.owner_of(h.gateway) for h in lab.hosts}
    degrees = sorted(g.degree(r.name) for r in lab.routers)
    assert max(g.degree(r) for r in gw) <= degrees[len(gw) + 2]


def test_imported_lab_routes_and_tunnels(tmp_path):
    f = tmp_path / "geant.yaml"
    write(import_lab("sndlib:geant", vps=2, dsts=3, classes="explicit"), str(f))
    lab = load_lab(f)
    cp = build(lab)
    p = lab.probes[0]
    for dst in p.targets:
        path = walk(cp, p.source, dst)[0]
        assert path[-1].action == "deliver" and path[-1].node in {h.name for h in lab.hosts}


def test_hub_with_more_than_62_neighbours_routes_to_every_one(tmp_path):
    """ISP cores have hundreds of neighbours (AS3356 has a router with 321): the control plane's
    first-hop bit masks must not stop at 62 (the packet to leaf 70 was dropped before)."""
    nodes = [{"id": "hub"}] + [{"id": f"leaf{i}"} for i in range(70)]
    edges = [{"source": "hub", "target": f"leaf{i}"} for i in range(70)]
    src = tmp_path / "star.json"
    src.write_text(json.dumps({"nodes": nodes, "edges": edges}))
    f = tmp_path / "star.yaml"
    r = _cli("import", str(src), "-o", str(f), "--vps", "1", "--dsts", "69", "--classes", "explicit")
    assert r.returncode == 0, r.stderr
    lab = load_lab(f)
    cp = build(lab)
    assert len(cp.tables["hub"].fib) > 70
    p = lab.probes[0]
    ends = [walk(cp, p.source, d)[0][-1] for d in p.targets]
    assert all(e.action == "deliver" for e in ends), Counter(e.action for e in ends)


def test_graphml_with_link_speeds_and_coordinates(tmp_path):
    g = nx.Graph()
    for n, (lon, lat) in {"a": (10, 50), "b": (11, 50), "c": (11, 51), "d": (10, 51)}.items():
        g.add_node(n, label=n.upper() + " City", Longitude=lon, Latitude=lat)
    g.add_edge("a", "b", LinkSpeedRaw=10e9)
    g.add_edge("b", "c", LinkSpeedRaw=100e9)
    g.add_edge("c", "d")
    g.add_edge("d", "a")
    p = tmp_path / "t.graphml"
    nx.write_graphml(g, p)
    doc = import_lab(str(p), vps=1, dsts=1)
    costs = {tuple(ln["endpoints"]): ln.get("cost") for ln in doc["links"] if "endpoints" in ln
             and all(x.endswith("city") for x in ln["endpoints"])}
    assert costs[("a-city", "b-city")] == 10 and costs[("b-city", "c-city")] == 1   # 100G reference / speed
    assert costs[("c-city", "d-city")] is None or costs[("c-city", "d-city")] >= 1


def test_containerlab_export_imports_back(tmp_path):
    out = tmp_path / "clab"
    r = _cli("export", "mixed", "--to", "containerlab", str(out))
    assert r.returncode == 0, r.stderr
    clab = next(out.glob("*.clab.yml"))
    doc = import_lab(str(clab), vps=1, dsts=1)
    assert set(doc["routers"]) == {n.name for n in load_lab("mixed").routers}


@pytest.mark.parametrize("content,suffix,needle", [
    ('{"nodes": [', ".json", "not valid JSON"),
    ('{"nodes": [{"id": 1}], "edges": [{"source": 1, "target": 9}]}', ".json", "edges[0].target is not the id of a node"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><graphml/>', ".graphml", "DOCTYPE"),
    ("topology: [1, 2]", ".clab.yml", "no 'topology: nodes:'"),
    ('{"nodes": [{"id": 1}, {"id": 2}], "edges": []}', ".json", "no two routers are connected"),
])
def test_bad_input_is_one_line_with_status_2(tmp_path, content, suffix, needle):
    p = tmp_path / f"bad{suffix}"
    p.write_text(content)
    r = _cli("import", str(p), "-o", str(tmp_path / "x.yaml"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(p) in lines[0], r.stderr


def test_unknown_source_names_the_fix():
    r = _cli("import", "topozoo:NoSuchNet", "-o", "/dev/null")
    assert r.returncode == 2 and "testbed import --list topozoo" in r.stderr
