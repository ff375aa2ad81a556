"""Campaigns: many vantage points x destinations on an imported ISP topology, scored with the
project's scorer; the executor gives the same cells in-process, in a process pool and on a
local Dask cluster; the pictures and the HTML view are written and self-contained."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from pathlib import Path

from testbed.controlplane import build
from testbed.experiments.campaign import campaign, is_campaign, write_outputs
from testbed.lab import load_lab
from testbed.scoring import score_run
from testbed.truth import ground_truth

pytest.importorskip("topohub", reason="topohub not installed (pip install 'utnt-lab[topo]')")


@pytest.fixture(scope="module")
def geant(tmp_path_factory):
    from testbed.importers import import_lab, write
    f = tmp_path_factory.mktemp("camp") / "geant.yaml"
    write(import_lab("sndlib:geant", vps=3, dsts=6, share=0.8, domains=2, classes="explicit,invisible-php",
                     vendors="cisco=0.7,juniper=0.3", seed=3), str(f))
    lab = load_lab(f)
    cp = build(lab)
    return lab, cp, campaign(lab, "sim", cp=cp)


def test_campaign_counts_are_the_scorers_per_vantage_point(geant):
    lab, cp, doc = geant
    assert not is_campaign(lab) and not is_campaign(load_lab("five-vp"))     # a few vantage points: a run
    from testbed.importers import import_lab, write
    geant_dir = Path(lab.source).parent / "ten.yaml"
    write(import_lab("sndlib:geant", vps=10, dsts=2, share=0.8, domains=1, classes="explicit",
                     vendors="cisco=1", seed=3), str(geant_dir))
    big = load_lab(geant_dir)
    assert is_campaign(big)                                                   # tens: `testbed run` campaigns
    assert doc["vantage_points"] == 3 and doc["traces"] == 18 and len(doc["per_trace"]) == 18
    truth = ground_truth(cp)
    present = reported = 0
    for src in ("vp1", "vp2", "vp3"):
        traces = [t for t in doc["uTNT"] if t["vantage_point"] == src]
        sc = score_run(lab, {"probes": [p for p in truth["probes"] if p["from"] == src]}, traces)
        present += sc["totals"]["present"]
        reported += sum(len(t["tunnels"]) for t in traces)
    assert sum(k["present"] for k in doc["classes"].values()) == present > 0
    assert sum(k["reported"] for k in doc["classes"].values()) == reported
    exp = doc["classes"]["EXP"]
    assert exp["present"] > 0 and exp["tp"] > 0            # the explicit domain's tunnels show their labels
    assert exp["precision"] == round(exp["tp"] / exp["reported"], 4)
    assert doc["probes"]["total"] == sum(t["total_probes"] for t in doc["uTNT"])
    assert sum(doc["techniques"].values()) <= reported


def test_pool_and_dask_give_the_in_process_results(geant):
    lab, cp, base = geant

    def key(d):
        return [(r["vantage_point"], r["dst"], r["verdict"], r["probes"]) for r in d["per_trace"]], d["classes"]
    two = campaign(lab, "sim", cp=cp, workers=2)
    assert two["executor"] == "2 processes" and key(two) == key(base)
    distributed = pytest.importorskip("distributed", reason="dask not installed (pip install 'utnt-lab[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        on_dask = campaign(lab, "sim", cp=cp, scheduler=cluster.scheduler_address)
    assert on_dask["executor"] == "dask" and key(on_dask) == key(base)


def test_pictures_and_self_contained_html(geant, tmp_path):
    lab, cp, doc = geant
    files = write_outputs(doc, lab, str(tmp_path / "out"))
    for k in ("classes", "topology"):
        assert open(files[k], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    html = open(files["html"]).read()
    assert html.count("<circle") == len(lab.routers)
    assert not re.search(r"""(src|href)=["']?https?:""", html)          # nothing fetched: one file
    assert "addEventListener('wheel'" in html
    saved = json.load(open(files["json"]))
    assert saved["classes"] == doc["classes"] and "_truth" not in saved


def test_testbed_campaign_runs_and_draws_its_classes(geant, tmp_path):
    lab, _, _ = geant
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "campaign", lab.source, "--runtime", "sim", "--json",
                        "-o", "out"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["vantage_points"] == 3 and set(doc["classes"]) == {"EXP", "IMP", "OPA", "INV"}
    assert (tmp_path / "out" / "classes.png").exists()       # where -o says (without it: no file)


def test_run_json_has_one_shape_whatever_the_number_of_vantage_points(tmp_path_factory, tmp_path):
    """`testbed run --json` of a lab probed from many vantage points (run as a campaign) gives
    the document of every other run (traces a list, truth, score) with the campaign summary
    beside it, and writes no campaign folder into the working directory (issue 22)."""
    from testbed.importers import import_lab, write
    f = tmp_path_factory.mktemp("runshape") / "geant10.yaml"
    write(import_lab("sndlib:geant", vps=10, dsts=3, probes="1", domains=1, classes="invisible-php", seed=3), str(f))
    lab = load_lab(f)
    assert is_campaign(lab)
    tb = str(Path(sys.executable).with_name("testbed"))
    one = subprocess.run([tb, "run", "invisible-php", "--runtime", "sim", "--json"], capture_output=True, text=True,
                         cwd=tmp_path)
    many = subprocess.run([tb, "run", lab.source, "--runtime", "sim", "--seed", "1", "--json"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert one.returncode == 0 and many.returncode == 0, (one.stderr, many.stderr)
    a, b = json.loads(one.stdout), json.loads(many.stdout)
    assert set(b) - set(a) == {"campaign"} and not set(a) - set(b)
    assert isinstance(b["traces"], list) and len(b["traces"]) == b["campaign"]["traces"] > 1
    assert b["score"]["totals"] == b["campaign"]["score_totals"]
    assert set(b["score"]) == set(a["score"])
    assert list(tmp_path.iterdir()) == []
