"""Scoring rules, testbed run's contract, sweeps and pictures."""
import json
import subprocess
import sys

import pytest

from testbed.api import run as run_lab
from testbed.experiments.sweep import classify, sweep
from testbed.scoring import score_run
from testbed.truth import ground_truth


def test_scoring_counts_false_tunnels_false_lsrs_and_wrong_class(labs):
    lab, cp = labs("invisible-php")
    truth = ground_truth(cp)
    a = {n: str(lab.nodes[n].interfaces[0].ip) for n in lab.nodes}
    dst = truth["probes"][0]["to"]
    fake = {"src": "12.0.0.2", "dst": dst, "hops": [{"address": a["pe1"]}, {"address": a["pe2"]}],
            "tunnels": [
                {"class": "EXP", "ingress": a["pe1"], "egress": a["pe2"], "lsrs": [a["p1"], a["x"] if "x" in a
                                                                                   else "11.99.0.1"]},
                {"class": "INV", "ingress": a["ce1"], "egress": a["ce2"], "lsrs": []},
            ]}
    s = score_run(lab, truth, [fake])
    t = s["totals"]
    assert (t["present"], t["detected"], t["class_correct"]) == (1, 1, 0)
    assert (t["ingress_correct"], t["egress_correct"]) == (1, 1)
    assert (t["lsrs_found"], t["hidden_lsrs_revealed"], t["hidden_lsrs_present"]) == (1, 1, 3)
    assert t["false_lsrs"] == 1 and t["false_tunnels"] == 1
    assert not s["perfect"]
    verdicts = [v["verdict"] for v in s["traces"][0]["verdicts"]]
    assert "false tunnel" in verdicts and any(v.startswith("partly: class") for v in verdicts)


def test_silent_tunnels_are_listed_not_dropped(labs):
    lab, _ = labs("linux-lsr")
    doc = run_lab(lab, runtime="sim")
    assert doc["score"]["totals"]["undetectable"] == 1
    assert doc["score"]["traces"][0]["verdicts"][0]["verdict"].startswith("undetectable")


def test_run_json_contract_and_exit_status(tmp_path):
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "invisible-php", "--runtime", "sim", "--json",
                        "--", "-f", "4"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr          # completed, even though the score is not perfect
    doc = json.loads(r.stdout)
    assert set(doc) >= {"lab", "runtime", "traces", "truth", "score"}
    assert doc["score"]["perfect"] is False
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "no-such-lab", "--runtime", "sim"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such lab" in r.stderr
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "explicit", "--runtime", "sim", "--", "-f",
                        "0"], capture_output=True, text=True)
    assert r.returncode != 0 and "-f and -r must be > 0" in r.stderr


def test_utnt_options_pass_through(labs):
    lab, _ = labs("invisible-php")
    doc = run_lab(lab, runtime="sim", extra=["-f", "4"])
    assert doc["score"]["totals"]["detected"] == 0
    doc = run_lab(lab, runtime="sim", extra=["-f", "4", "-b"])
    assert doc["score"]["totals"]["detected"] == 1


def test_sweep_moves_fp_and_detections_with_the_threshold(tmp_path):
    doc = sweep(["asymmetric", "invisible-php"], [1, 2, 3, 4], [1], {"lsrs": [2, 3, 4]})
    grid = {g["frpla"]: g for g in doc["grid"]}
    # asymmetric's FRPLA is 3 at r4 and r8: false positives up to threshold 3, none at 4
    assert grid[3]["FP"] > 0 and grid[4]["FP"] == 0
    # detections fall as the threshold rises (tunnels of 2, 3, 4 LSRs)
    tps = [grid[f]["TP"] for f in (1, 2, 3, 4)]
    assert tps == sorted(tps, reverse=True) and tps[0] == 3 and tps[-1] == 1
    assert all(g["TP"] + g["FN"] == 3 for g in grid.values())
    assert [grid[f]["truth_hidden_detected"] for f in (1, 2, 3, 4)] == [3, 3, 2, 1]
    # lab parameters multiply only the labs that use them
    assert {c["lab"] for c in doc["cells"] if c["params"]} == {"invisible-php"}


def test_sweep_cli_writes_json_and_png(tmp_path):
    out = tmp_path / "s.json"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "sweep", "asymmetric", "--frpla", "2..4", "--rtla", "1",
                        "-o", str(out), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert [g["frpla"] for g in doc["grid"]] == [2, 3, 4]
    png = tmp_path / "s.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "sweep", "asymmetric", "--frpla", "4..2"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--frpla: '4..2' is not a range" in r.stderr


def test_classify_calibration_cells():
    tr = {"tunnels": [{"trigger": "FRPLA", "lsrs": ["a"]}, {"trigger": "BTFC", "lsrs": ["b"]}],
          "hops": [{"attempts": [{"trigger": "RTLA", "reason": "NTH-RV"}, {"trigger": "BTFC", "reason": "NTH-RV"},
                                 {"trigger": "FRPLA", "reason": "TGT-NR"}, {"trigger": "BTFC", "reason": "ING-NF"}]}]}
    c = classify(tr)
    assert (c["TP"], c["FN"], c["FP"], c["TN"], c["IP"], c["IN"]) == (1, 1, 1, 1, 1, 1)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_graph_draws_truth_and_result(tmp_path, fmt):
    res = tmp_path / "run.json"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "mixed", "--runtime", "sim", "--json"],
                       capture_output=True, text=True, check=True)
    res.write_text(r.stdout)
    out = tmp_path / f"mixed.{fmt}"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "graph", "mixed", "-o", str(out), "--result", str(res)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    if fmt == "svg":
        text = data.decode()
        assert "<svg" in text and "truth: explicit" in text and "truth: invisible-php" in text
        assert "uTNT: reported tunnel" in text and "revealed" in text
    else:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_run_source_and_target_defaults(labs):
    """One rule for where a single run probes from and to (vm, ondemand, run, trace)."""
    from testbed.errors import TestbedError
    from testbed.targets import probe_source, probe_target, probe_targets
    lab, _ = labs("two-vp")
    first = lab.probes[0]
    assert probe_source(lab) == first.source and probe_source(lab, "vp2") == "vp2"
    assert probe_target(lab, first.source) == str(first.targets[0])
    assert probe_target(lab, first.source, "pe1") == str(lab.nodes["pe1"].primary_address())
    assert probe_targets(lab, first.source) == [str(t) for p in lab.probes if p.source == first.source
                                                for t in p.targets]
    with pytest.raises(TestbedError, match="no probes from pe1; give --to"):
        probe_target(lab, "pe1")
    with pytest.raises(TestbedError, match="neither a node"):
        probe_target(lab, first.source, "nowhere")
