"""run_pair's differences() pairs the two dumps per (vantage point, destination): in a matrix
cell with three vantage points, vp1 and vp3 (and the router vantage point pe1) all trace `dst`
over different paths, so pairing by destination alone compares one vantage point's trace with
another's. The dumps here are uTNT's own on the sim (dump_text_json), one per vantage point,
the form run_pair keeps for both detectors."""
from testbed.experiments.matrix import GRID, cells, lab_for
from testbed.probing import probe_lab
from testbed.targets import probes_of
from testbed.peers.sidebyside import differences
from utnt.jsonload import dump_text_json


def _runs():
    grid = {**GRID, "vps": [3], "router_vp": [True], "ecmp": [False], "entropy_label": [False],
            "class": ["explicit"]}
    (_, params), = cells(grid, seed=3, limit=1)
    lab = lab_for(params)
    runs = []
    for src, targets in probes_of(lab):
        traces = probe_lab(lab, "sim", [(src, targets)], None)
        runs.append({"from": src, "text": dump_text_json(traces, verbose=True)})
    return runs


def test_several_vantage_points_on_one_destination_pair_per_vantage_point():
    runs = _runs()
    assert {"vp1", "vp3", "pe1"} <= {r["from"] for r in runs}
    pair = {"runs": [{"from": r["from"], "tnt": r["text"], "utnt": r["text"]} for r in runs]}
    assert differences(pair) == []
    # the concatenated dumps, paired by destination alone, compare vp1's dst trace with
    # pe1's (the last one to dst): the pairing this replaced reported differences here
    whole = "".join(r["text"] for r in runs)
    assert differences({"tnt": {"text": whole}, "utnt": {"text": whole}}) != []


def test_a_difference_names_its_vantage_point():
    runs = _runs()
    pair = {"runs": [{"from": r["from"], "tnt": r["text"], "utnt": r["text"]} for r in runs]}
    vp3 = next(r for r in pair["runs"] if r["from"] == "vp3")
    lines = vp3["utnt"].splitlines(keepends=True)
    i = next(k for k, ln in enumerate(lines) if ln.split()[:1] == ["2"])     # vp3's second hop
    lines[i] = lines[i].replace(lines[i].split()[1], "192.0.2.99", 1)
    vp3["utnt"] = "".join(lines)
    diffs = differences(pair)
    assert diffs and {d["from"] for d in diffs} == {"vp3"}
    assert any(d["field"] == "address" and d["utnt"] == "192.0.2.99" for d in diffs)
