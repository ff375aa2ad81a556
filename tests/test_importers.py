"""testbed import: real topologies (topohub's Topology Zoo / SNDlib / CAIDA, GraphML, node-link
JSON, containerlab) become ordinary lab files that load, route and trace like hand-written ones."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest

from testbed.controlplane import build
from testbed.importers import ImportProblem, import_lab, lab_dict, write
from testbed.lab import load_lab
from testbed.lab.loader import render
from testbed.yamlpos import load_with_lines
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


# ---------------------------------------------------------------- written by a serializer, read back equal
def _graphs() -> list[str]:
    """Every Topology Zoo, SNDlib and CAIDA graph topohub ships (UTNT_IMPORT_ALL=1), else a fixed
    sample: every tenth of each group and the graphs that once failed to load back (a router
    named `no` in Geant2009/2010/2012), which keeps `make test` a few seconds."""
    from testbed.importers import topohub as th
    out = []
    for grp in ("topozoo", "sndlib", "caida"):
        names = th.names(grp)
        out += [f"{grp}:{n}" for i, n in enumerate(names)
                if os.environ.get("UTNT_IMPORT_ALL") or (i % 10 == 0 and n not in BIG)
                or n in ("Geant2009", "Geant2010", "Geant2012")]
    return out


BIG = {"701", "3356", "7018", "7922", "5650", "20115"}    # CAIDA graphs of 250+ routers: seconds each


@pytest.mark.parametrize("source", _graphs())
def test_every_topohub_graph_loads_back_as_imported(tmp_path, source):
    """Import with a mixed vendor set and two domains, write, read the file back as the lab loader
    does (jinja2, then YAML): the mapping is exactly what was imported, and it loads as a lab."""
    doc = import_lab(source, vendors="cisco=0.5,juniper=0.3,linux=0.2", domains=2,
                     classes="explicit,invisible-php", vps=3, dsts=6, seed=1)
    f = tmp_path / "lab.yaml"
    write(doc, str(f), f"testbed import {source}")
    text, _ = render(f, {})
    data, _ = load_with_lines(text)
    assert data == lab_dict(doc)
    lab = load_lab(f)
    assert {r.name for r in lab.routers} == set(doc["routers"])
    for dn, d in doc["mpls"].items():              # one LDP policy per domain, written and in force
        assert {lab.nodes[r].ldp for r in d["routers"]} == {d["ldp"]}


def _nodelink(tmp_path, nodes, edges, name="t.json"):
    p = tmp_path / name
    p.write_text(json.dumps({"nodes": nodes, "edges": edges}))
    return p


def test_names_numbers_and_braces_come_back_verbatim(tmp_path):
    """A router named `no` (YAML 1.1's false), a 1e308 coordinate (a string to YAML when written
    as 1e+308) and jinja2 delimiters in the file name (the description) load back as written."""
    src = _nodelink(tmp_path, [{"id": "no", "pos": [1e308, 5]}, {"id": "yes"}, {"id": "null"}],
                    [{"source": "no", "target": "yes"}, {"source": "yes", "target": "null"}],
                    name="t{{ 7*7 }}{% if 1 %}{# c #}.json")
    f = tmp_path / "lab.yaml"
    doc = import_lab(str(src), vps=1, dsts=1)
    write(doc, str(f), "testbed import {{ 7*7 }}\nname: evil")
    lab = load_lab(f)
    assert {"no", "yes", "null"} <= {r.name for r in lab.routers}
    assert lab.nodes["no"].pos == (1e308, 5.0)
    assert "{{ 7*7 }}{% if 1 %}{# c #}" in lab.description and "49" not in lab.description
    assert lab.name == doc["name"]


@pytest.mark.parametrize("asn", ["1\ncontrol_plane: frr", "65000}} {{ 7*7", -1, 2 ** 32, 1.5, True, [1], "0x10"])
def test_a_hostile_asn_is_refused_naming_file_node_field_and_fix(tmp_path, asn):
    """An `asn` becomes a domain's name: anything but an AS number is refused (it once rewrote
    the lab: an explicit domain where invisible-php was asked for, control_plane: frr, exit 0)."""
    src = _nodelink(tmp_path, [{"id": "a", "asn": asn}, {"id": "b", "asn": asn}], [{"source": "a", "target": "b"}])
    with pytest.raises(ImportProblem) as e:
        import_lab(str(src), vps=1, dsts=1)
    msg = str(e.value)
    assert "\n" not in msg.strip() and str(src) in msg and "'a'" in msg and "'asn'" in msg and "remove the field" in msg


def test_a_hostile_graphml_asn_is_one_line_with_status_2_and_no_file(tmp_path):
    g = nx.Graph()
    g.add_node("a", asn="1\ncontrol_plane: frr")
    g.add_node("b", asn="1\ncontrol_plane: frr")
    g.add_edge("a", "b")
    src = tmp_path / "t.graphml"
    nx.write_graphml(g, src)
    out = tmp_path / "x.yaml"
    r = _cli("import", str(src), "-o", str(out), "--vps", "1", "--dsts", "1")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert str(src) in lines[0] and "'asn'" in lines[0] and "AS number" in lines[0]
    assert not out.exists() and not list(tmp_path.glob(".import-*"))


def test_a_real_as_number_names_the_domain(tmp_path):
    src = _nodelink(tmp_path, [{"id": "a", "asn": "3356"}, {"id": "b", "asn": 3356}, {"id": "c", "asn": 3356}],
                    [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}])
    f = tmp_path / "x.yaml"
    write(import_lab(str(src), vps=1, dsts=1), str(f))
    assert list(load_lab(f).domains) == ["as3356"]


@pytest.mark.parametrize("opts,needle", [(dict(name="Bad Name"), "--name"), (dict(ldp="some"), "--ldp"),
                                         (dict(domains=500), "--domains"), (dict(vendors="cisco=nan"), "--vendors"),
                                         (dict(vendors="cisco=inf,juniper=1"), "--vendors"),
                                         (dict(vps=10 ** 9), "--vps"), (dict(share=float("nan")), "--mpls-share")])
def test_bad_options_are_refused_with_the_fix(opts, needle):
    with pytest.raises(ImportProblem, match=needle):
        import_lab("sndlib:abilene", **opts)


def test_an_unwritable_output_is_one_line_not_a_traceback(tmp_path):
    doc = import_lab("sndlib:abilene", vps=1, dsts=1)
    with pytest.raises(ImportProblem, match="cannot write there"):
        write(doc, str(tmp_path / "no-such-folder" / "x.yaml"))
    with pytest.raises(ImportProblem, match="not a regular file"):
        write(doc, str(tmp_path))
