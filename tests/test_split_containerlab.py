"""A lab split across machines as containerlab topologies (issue 23, containerlab's way of
carrying a lab between hosts): `testbed split --containerlab DIR` writes one topology per
machine, each valid against containerlab's JSON schema, holding exactly that machine's nodes,
its cut links as containerlab VXLAN links (`type: vxlan`) toward the peer machine's underlay
address with the plan's VNI, and FRR configs for its routers only. No root, no containerlab.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testbed.export import containerlab as cl
from testbed.lab import load_lab
from testbed.runtimes.bigrt import split as sp
from testbed.runtimes.bigrt.shapes import ring_chord

HOSTS = {"h1": "192.0.2.1", "h2": "192.0.2.2", "h3": "192.0.2.3"}


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    d = tmp_path_factory.mktemp("clab-split")
    f = d / "ring40.yaml"
    f.write_text(ring_chord(40, name="ring40"))
    lab = load_lab(str(f), no_limits=True)
    plan = sp.split_lab(lab, HOSTS, seed=1)
    assert not sp.check_plan(plan, lab)
    files = cl.export_split(lab, plan, d / "out")
    docs = {h: yaml.safe_load(fs[0].read_text()) for h, fs in files.items()}
    return lab, plan, d / "out", files, docs


def test_each_host_topology_is_valid_and_holds_its_nodes_only(ring):
    lab, plan, out, files, docs = ring
    assert set(docs) == set(HOSTS)
    seen: dict[str, str] = {}
    for h in plan["hosts"]:
        doc = docs[h["name"]]
        assert cl.validate_clab(doc) == [], h["name"]
        assert doc["name"] == f"ring40-{h['name']}"
        nodes = doc["topology"]["nodes"]
        lab_nodes = {n for n in nodes if n in lab.nodes}
        assert lab_nodes == set(h["routers"]) | set(h["lab_hosts"])
        for n in lab_nodes:
            assert n not in seen, f"{n} on {seen.get(n)} and {h['name']}"
            seen[n] = h["name"]
        routers = {p.parent.name for p in (out / h["name"] / cl.NODES_DIR).glob("*/zebra.conf")}
        assert routers == set(h["routers"])        # FRR files for this machine's routers only
    assert set(seen) == set(lab.nodes)


def test_cut_links_are_vxlan_links_on_both_ends(ring):
    lab, plan, out, files, docs = ring
    underlay = {h["name"]: h["underlay"] for h in plan["hosts"]}
    vx = {h: [ln for ln in d["topology"]["links"] if ln.get("type") == "vxlan"] for h, d in docs.items()}
    assert sum(len(v) for v in vx.values()) == 2 * len(plan["cut"]) > 0
    by_vni: dict[int, list] = {}
    for h, links in vx.items():
        for ln in links:
            by_vni.setdefault(ln["vni"], []).append((h, ln))
    for c in plan["cut"]:
        ends = by_vni[c["vni"]]
        assert len(ends) == 2
        (ha, la), (hb, lb) = ends
        assert ha != hb and la["remote"] == underlay[hb] and lb["remote"] == underlay[ha]
        assert la["dst-port"] == lb["dst-port"] == plan["vxlan"]["dstport"]
        link = lab.links[c["index"]]
        want = {(i.node, cl.clab_ifname(i.name)) for i in link.interfaces}
        assert {(x["endpoint"]["node"], x["endpoint"]["interface"]) for _, x in ends} == want
    # every link not cut is a veth link on exactly one machine
    veth = [tuple(sorted(ln["endpoints"])) for d in docs.values() for ln in d["topology"]["links"] if "endpoints" in ln]
    assert len(veth) == len(set(veth))
    cut = {c["index"] for c in plan["cut"]}
    for k, link in enumerate(lab.links):
        if link.kind == "p2p" and k not in cut:
            assert tuple(sorted(f"{i.node}:{cl.clab_ifname(i.name)}" for i in link.interfaces)) in veth


def test_schema_checks_the_vxlan_links(ring):
    """The validation is containerlab's schema for its VXLAN link: a wrong one is refused."""
    doc = copy.deepcopy(next(iter(ring[4].values())))
    i = next(k for k, ln in enumerate(doc["topology"]["links"]) if ln.get("type") == "vxlan")
    for change, field in ((lambda ln: ln.update(vni=0), "vni"), (lambda ln: ln.pop("dst-port"), "dst-port"),
                          (lambda ln: ln.update(remote="h2"), "remote"),
                          (lambda ln: ln["endpoint"].update(node="nowhere"), "names no node")):
        bad = copy.deepcopy(doc)
        change(bad["topology"]["links"][i])
        problems = cl.validate_clab(bad)
        assert problems and any(field in p for p in problems), (field, problems)


def test_cut_interface_is_a_router_interface_in_frr(ring):
    """The VXLAN end carries the router's interface name, which its FRR configs use."""
    lab, plan, out, files, docs = ring
    h, doc = next(iter(docs.items()))
    ln = next(x for x in doc["topology"]["links"] if x.get("type") == "vxlan")
    r, ifn = ln["endpoint"]["node"], ln["endpoint"]["interface"]
    ospf = (out / h / cl.NODES_DIR / r / "ospfd.conf").read_text()
    assert re.search(rf"^interface {ifn}$", ospf, re.M)


def test_split_cli_writes_containerlab_per_host(tmp_path):
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "split", "five-vp", "--hosts", "h1=192.0.2.1,h2=192.0.2.2",
                        "-o", str(tmp_path / "plan.json"), "--containerlab", str(tmp_path / "clab"), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert set(got["containerlab"]) == {"h1", "h2"}
    for h, f in got["containerlab"].items():
        doc = yaml.safe_load(Path(f).read_text())
        assert cl.validate_clab(doc) == []
        n_vx = sum(1 for ln in doc["topology"]["links"] if ln.get("type") == "vxlan")
        assert n_vx == next(x["cut_links"] for x in got["hosts"] if x["name"] == h)
    assert (tmp_path / "clab" / "h1" / "README.md").read_text().count("VXLAN") >= 1
