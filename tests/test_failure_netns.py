"""Failures during a run on real namespaces: the failed link's ends go down, the engine runs
the new tables (computed: recomputed and handed over through the tables file; FRR: OSPF and
LDP reconverge and the sync pushes FRR's tables), uTNT's trace on the tap follows the new path
and the truth walked through the tables the data plane ran has the new tunnel.

Lab: an explicit core with two ways across, p1 p2 (short) and p3 p4 p5 (long).
"""
from __future__ import annotations

import shutil

import pytest

from labnames import N
from testbed.experiments.failure import run_with_failure
from testbed.lab import load_lab
from testbed.runtimes.netns import teardown

pytestmark = pytest.mark.netns

LAB = """
name: fail
description: two ways across an explicit core (p1 p2 short, p3 p4 p5 long)
routers: {ce1: {}, pe1: {}, p1: {}, p2: {}, p3: {}, p4: {}, p5: {}, pe2: {}, ce2: {}}
hosts: {vp: {}, dst: {}}
links:
  - {lan: [ce1, vp], name: vp-lan}
  - [ce1, pe1]
  - [pe1, p1]
  - [p1, p2]
  - [p2, pe2]
  - [pe1, p3]
  - [p3, p4]
  - [p4, p5]
  - [p5, pe2]
  - [pe2, ce2]
  - {lan: [ce2, dst], name: dst-lan}
mpls:
  core: {routers: [pe1, p1, p2, p3, p4, p5, pe2], ttl_propagate: true, rfc4950: true}
probes:
  - {from: vp, to: dst}
"""


@pytest.fixture
def lab(tmp_path):
    f = tmp_path / "fail.yaml"
    f.write_text(LAB)
    return load_lab(f)


def edges(path):
    return set(zip(path, path[1:])) | set(zip(path[1:], path))


def check(doc, gone_edge=None, gone_router=None):
    before, after = doc["phases"]
    assert len(doc["changed"]) == 1, doc["changed"]
    c = doc["changed"][0]
    assert c["before"] == ["vp", "ce1", "pe1", "p1", "p2", "pe2", "ce2", "dst"]
    if gone_edge:
        assert gone_edge in edges(c["before"]) and gone_edge not in edges(c["after"])
    if gone_router:
        assert gone_router not in c["after"]
    assert c["after"] == ["vp", "ce1", "pe1", "p3", "p4", "p5", "pe2", "ce2", "dst"]
    # the truth's tunnel moved with the path
    assert [t["lsrs"] for t in c["tunnels_before"]] == [["p1", "p2"]]
    assert [t["lsrs"] for t in c["tunnels_after"]] == [["p3", "p4", "p5"]]
    # uTNT's traces on the tap crossed the real data plane: first the short way, then the long one
    assert [n for n in c["trace_before"] if n] == ["ce1", "pe1", "p1", "p2", "pe2", "ce2", "dst"]
    assert [n for n in c["trace_after"] if n] == ["ce1", "pe1", "p3", "p4", "p5", "pe2", "ce2", "dst"]
    # each phase scored against its own truth: the explicit tunnel and all its LSRs both times
    for ph, lsrs in ((before, 2), (after, 3)):
        t = ph["score"]["totals"]
        assert (t["present"], t["detected"], t["lsrs_found"], t["false_lsrs"]) == (1, 1, lsrs, 0), t
    assert after["tables_generation"] > before["tables_generation"]


def test_link_failure_computed_control_plane(lab):
    name = N("pt-failc")
    doc = run_with_failure(lab, link="p1,p2", runtime="netns", name=name)
    assert doc["runtime"] == "netns" and doc["control_plane"] == "computed"
    assert sorted(doc["failure"]["down"]) == ["p1:eth1", "p2:eth0"]
    check(doc, gone_edge=("p1", "p2"))
    assert not any(teardown.leftovers(name).values())
    assert not any(ln.down for ln in lab.links)


@pytest.mark.frr
@pytest.mark.skipif(not shutil.which("vtysh"), reason="Debian's frr is not installed")
def test_router_failure_frr_reconverges(lab):
    name = N("pt-failf")
    doc = run_with_failure(lab, router="p1", runtime="netns", name=name, control_plane="frr")
    assert doc["control_plane"] == "frr"
    assert set(doc["failure"]["failed_links"]) == {"pe1-p1", "p1-p2"}
    check(doc, gone_router="p1")
    assert not any(teardown.leftovers(name).values())


def test_cli_json_sim_and_bad_link_before_bring_up(lab, capsys):
    """`testbed campaign LAB --fail-link A,B --json`: the document of both phases; a link that
    does not exist is refused in one line (exit 2) before any namespace is made."""
    import json
    import subprocess
    import sys
    from testbed.cli import main
    assert main(["campaign", lab.source, "--fail-link", "p1,p2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["phase"] for p in doc["phases"]] == ["before", "after"]
    assert [t["lsrs"] for t in doc["changed"][0]["tunnels_after"]] == [["p3", "p4", "p5"]]
    name = N("pt-failbad")
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "campaign", lab.source, "--fail-link", "p1,p4",
                        "--runtime", "netns", "--name", name], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no link 'p1,p4'" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not any(teardown.leftovers(name).values())
