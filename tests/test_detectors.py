"""Detector outputs read into the scorer's traces (testbed/detectors).

The inputs are outputs generated here, not written by hand: uTNT run on the sim prints
TNT's text dump (with and without -v) and scamper-style JSON; the parsers must rebuild from
that text what uTNT decided with its own code (tunnels from the [MPLS,...] tags, explicit
tunnels from the label quotes). Real scamper/traceroute/TNT outputs are parsed in
test_detectors_netns.py. Malformed input: one line naming the file, the line and the fix.
"""
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from testbed.detectors import detect_format, parse_text, read_results
from testbed.detectors.base import ResultError, tunnels_from_labels
from testbed.detectors.utnt import probe_sim, utnt_args
from testbed.lab import lab_names
from utnt.jsonload import dump_text_json, trace_from_json
from utnt.scamper_json import dump_scamper_json

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "result.schema.json").read_text())
KEYS = ("class", "ingress", "egress", "lsrs", "trigger", "technique")


_DOCS = {}


def utnt_doc(labs, name):
    """uTNT's sim run of a library lab (once per test session)."""
    if name not in _DOCS:
        lab, cp = labs(name)
        _DOCS[name] = lab, probe_sim(lab, cp, lab.probes[0].source, [str(t) for t in lab.probes[0].targets],
                                     utnt_args([]))
    return _DOCS[name]


def _t(tunnels):
    return [{k: t.get(k) for k in KEYS} for t in tunnels]


@pytest.mark.parametrize("name", lab_names())
@pytest.mark.parametrize("verbose", [False, True])
def test_tnt_dump_tunnels_rebuilt_from_tags_equal_utnts_own(labs, name, verbose):
    """uTNT's dump text -> tnt_text -> tunnels from tags == the tunnels uTNT built itself."""
    lab, doc = utnt_doc(labs, name)
    text = dump_text_json(doc["traces"], verbose=verbose)
    assert detect_format(text) == "tnt-text"
    parsed = parse_text(text, f"{name}.txt")
    assert len(parsed) == len(doc["traces"])
    for p, t in zip(parsed, doc["traces"]):
        assert (p["src"], p["dst"], p["method"]) == (t["src"], t["dst"], t["method"])
        assert [h["address"] for h in p["hops"]] == [h["address"] for h in t["hops"]]
        assert [h["label"] for h in p["hops"]] == [h["label"] for h in t["hops"]]
        # the dump prints qttl on time-exceeded replies only (tnt.md 5.5)
        assert [(h["reply_ttl"], h["er_ttl"], h["quoted_ttl"]) for h in p["hops"] if h["address"]] == \
            [(h["reply_ttl"], h["er_ttl"], h["quoted_ttl"] if h["icmp_type"] == 11 else None)
             for h in t["hops"] if h["address"]]
        assert [[x["label"] for x in h["labels"]] for h in p["hops"]] == \
            [[x["label"] for x in h["labels"]] for h in t["hops"]]
        assert _t(p["tunnels"]) == _t(t["tunnels"]), name
    jsonschema.validate({"traces": parsed}, SCHEMA)


@pytest.mark.parametrize("name", lab_names())
def test_utnt_scamper_json_reads_back(labs, name):
    """utnt --scamper-json -> scamper_json parser: the same hops; with uTNT's tags (its
    "tnt" key) the tunnels rebuilt from them are uTNT's own; without (what a plain scamper
    reader keeps) the labels-only baseline finds exactly uTNT's explicit tunnels (opaque:
    the labelled egress reads as a one-LSR explicit tunnel, what a traceroute user would
    make of it)."""
    lab, doc = utnt_doc(labs, name)
    traces = [trace_from_json(t) for t in doc["traces"]]
    text = dump_scamper_json(traces)
    assert all(json.loads(line)["type"] == "trace" for line in text.splitlines())
    assert detect_format(text) == "scamper-json"
    tagged = parse_text(text, f"{name}.json")
    for p, t in zip(tagged, doc["traces"]):
        assert p["detector"] == "utnt"
        assert _t(p["tunnels"]) == _t(t["tunnels"])
    plain = "".join(json.dumps({**{k: v for k, v in o.items() if k != "tnt"},
                                "hops": [{k: v for k, v in h.items() if k != "tnt"} for h in o["hops"]]})
                    + "\n" for o in map(json.loads, text.splitlines()))
    parsed = parse_text(plain, f"{name}-plain.json")
    for p, t in zip(parsed, doc["traces"]):
        assert p["detector"] == "scamper"
        answered = [h for h in t["hops"] if h["address"]]
        assert [h["address"] for h in p["hops"] if h["address"]] == [h["address"] for h in answered]
        assert [h["labels"] for h in p["hops"] if h["address"]] == [h["labels"] for h in answered]
        exp = [u for u in t["tunnels"] if u["class"] == "EXP"]
        if name == "opaque" or (name == "invisible-uhp" and any(h["labels"] for h in answered)):
            # the labelled hops (the opaque egress; with the buddy technique also the LSRs it
            # revealed, which quote the egress's explicit null) read as one explicit tunnel
            labelled = [lab.owner_of(h["address"]) for h in answered if h["labels"]]
            assert labelled and [lab.owner_of(a) for a in p["tunnels"][0]["lsrs"]] == labelled
        else:
            assert _t(p["tunnels"]) == _t(exp)
    jsonschema.validate({"traces": parsed}, SCHEMA)


def test_utnt_cli_writes_scamper_json_flag():
    from utnt.cli import build_parser
    assert build_parser().parse_args(["-i", "1.2.3.4", "--tap", "t", "--ip", "1.2.3.5/24", "--gw", "1.2.3.1",
                                      "--scamper-json"]).scamper_json


def _h(addr, ttl, labels=()):
    return {"address": addr, "probe_ttl": ttl, "labels": [{"label": x, "ttl": 1} for x in labels]}


def test_label_runs_with_silent_hops():
    hops = [_h("1.0.0.1", 1), _h("1.0.0.2", 2, [16]), _h(None, 3), _h("1.0.0.4", 4, [17]), _h("1.0.0.5", 5),
            _h("1.0.0.6", 6, [18]), _h(None, 7), _h("1.0.0.8", 8)]
    t = tunnels_from_labels(hops)
    assert [(x["ingress"], x["lsrs"], x["egress"], x["complete"]) for x in t] == [
        ("1.0.0.1", ["1.0.0.2", "1.0.0.4"], "1.0.0.5", True),       # a silent LSR inside the run
        ("1.0.0.5", ["1.0.0.6"], None, False)]                      # silent after the run: no egress
    assert tunnels_from_labels([_h("1.0.0.2", 1, [16]), _h("1.0.0.3", 2)])[0]["ingress"] is None


BAD = [
    ("tnt-text", "trace [icmp-paris] from 1.0.0.1 to 1.0.0.9\n  1  1.0.0.2  0.1 ms  rTTLs=<255,255>  wat=3\n",
     2, "cannot read the text at column 40"),
    ("tnt-text", "trace [icmp-paris] from 1.0.0.1 to 1.0.0.9\n  1  1.0.0.2  [MPLS,XYZ,LSR]\n", 2, "unknown part in the [MPLS"),
    ("tnt-text", "  1  1.0.0.2  0.1 ms\n", 1, "before the 'trace"),
    ("tnt-text", "trace [icmp-paris] from 1.0.0.1 to 1.0.0.9\n  1  bogus  0.1 ms\n", 2, "not an IPv4"),
    ("traceroute", "traceroute to 1.0.0.9 (1.0.0.9), 30 hops max, 60 byte packets\n 1  1.0.0.1  0.1 ms  ???\n",
     2, "cannot read the text at column 22"),
    ("traceroute", "traceroute to 1.0.0.9 (1.0.0.9), 30 hops max\n 1  1.0.0.1 <MPLS:L=x>  0.1 ms\n", 2,
     "is not L=label"),
    ("traceroute", "hello\n", 1, "neither a 'traceroute to"),
    ("scamper-json", '{"type":"cycle-start"}\n{"type":"trace", "dst": "1.0.0.9", "hops": [\n', 2,
     "not valid JSON"),
    ("scamper-json", '{"type":"cycle-start"}\n', None, "no trace objects"),
    ("scamper-json", '{"type":"trace","dst":"1.0.0.9","hops":[{"addr":"1.0.0.1"}]}\n', 1, "no probe_ttl"),
    ("utnt-json", '{"traces": [{"dst": "1.0.0.9"}]}', None, "traces[0].hops"),
    ("utnt-json", '{"traces": [{"dst": "1.0.0.9", "hops": [], "tunnels": [{"class": "X"}]}]}', None,
     "traces[0].tunnels[0].class"),
    ("utnt-json", '{"traces": [', 1, "expected uTNT's JSON"),
]


@pytest.mark.parametrize("fmt,text,line,what", BAD)
def test_malformed_input_is_one_clear_line(tmp_path, fmt, text, line, what):
    f = tmp_path / "bad.out"
    f.write_text(text)
    with pytest.raises(ResultError) as e:
        read_results([str(f)], fmt)
    (p,) = e.value.problems
    msg = str(p)
    assert "\n" not in msg and msg.startswith(str(f) + (f":{line}:" if line else ":")), msg
    assert what in msg


def test_cli_unreadable_file_exit_2_one_line(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("something else entirely\n")
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "score", "mixed", str(f)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith(f"error: {f}:1: format: cannot tell the format") and "--format" in r.stderr
    with pytest.raises(ResultError, match="cannot read the result file"):
        read_results([str(tmp_path / "nope")])


def test_score_sim_files_uTNT_json_and_dump(labs, tmp_path):
    """testbed score on files written from a sim run: uTNT's JSON and its text dump score
    the same, perfect on invisible-php; a researcher's minimal document (only the schema's
    required fields plus tunnels) scores too."""
    lab, doc = utnt_doc(labs, "invisible-php")
    (tmp_path / "u.json").write_text(json.dumps(doc))
    (tmp_path / "u.txt").write_text(dump_text_json(doc["traces"], verbose=False))
    t = doc["traces"][0]
    minimal = {"traces": [{"dst": t["dst"], "hops": [{"address": h["address"]} for h in t["hops"]],
                           "tunnels": [{k: u[k] for k in ("class", "ingress", "egress", "lsrs")}
                                       for u in t["tunnels"]], "detector": "mine"}]}
    jsonschema.validate(minimal, SCHEMA)
    (tmp_path / "mine.json").write_text(json.dumps(minimal))
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "score", "invisible-php", str(tmp_path / "u.json"),
                        str(tmp_path / "u.txt"), str(tmp_path / "mine.json"), "--json"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)["results"]
    assert [d["detector"]["name"] for d in out] == ["utnt", "tnt", "mine"]
    for d in out:
        assert d["score"]["perfect"], d["detector"]
        assert d["score"]["totals"]["hidden_lsrs_revealed"] == 3


def test_score_valid_files_that_crashed_the_report(labs, tmp_path):
    """Issue 21: `testbed score` (the human report, not --json) on uTNT's own --scamper-json
    output and on the documented format without "detector" (no hop "index") was a KeyError;
    both are valid and score perfect on invisible-php."""
    from utnt.jsonload import trace_from_json
    from utnt.scamper_json import dump_scamper_json
    lab, doc = utnt_doc(labs, "invisible-php")
    (tmp_path / "u.scamper.json").write_text(dump_scamper_json([trace_from_json(t) for t in doc["traces"]]))
    t = doc["traces"][0]
    minimal = {"traces": [{"dst": t["dst"], "src": t["src"], "hops": [{"address": h["address"]} for h in t["hops"]],
                           "tunnels": [{k: u[k] for k in ("class", "ingress", "egress", "lsrs")}
                                       for u in t["tunnels"]]}]}
    jsonschema.validate(minimal, SCHEMA)
    (tmp_path / "doc.json").write_text(json.dumps(minimal))
    for f in ("u.scamper.json", "doc.json"):
        r = subprocess.run([sys.executable, "-m", "testbed.cli", "score", "invisible-php", str(tmp_path / f)],
                           capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0 and "internal error" not in r.stderr, r.stderr
        assert "perfect score" in r.stdout, r.stdout[-2000:]


def test_schema_is_valid_and_rejects_bad_documents():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for bad in ({"traces": [{"hops": []}]}, {"traces": [{"dst": "1.2.3.4", "hops": [{"address": "x"}]}]},
                {"traces": [{"dst": "1.2.3.4", "hops": [], "tunnels": [{"class": "TUN"}]}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


# Variations a lab here does not produce (no ECMP path, no !H from the engine, no DNS, no -A):
# a sample in traceroute 2.1's printing (extension.c, traceroute.c print_probe).
TRACEROUTE_WILD = """traceroute to example.net (192.0.2.80), 30 hops max, 60 byte packets
 1  gw.lan (10.0.0.1)  0.412 ms  0.390 ms  0.377 ms
 2  * 198.51.100.1 (198.51.100.1)  1.2 ms *
 3  a.example (203.0.113.1) [AS64500] <MPLS:L=24001,E=0,S=0,T=1/L=16,E=0,S=1,T=1>  9.1 ms  b.example (203.0.113.5) [AS64500] <MPLS:L=24005,E=0,S=1,T=1>  9.3 ms  9.2 ms
 4  203.0.113.9  10.0 ms !H  10.1 ms !H  *
 5  * * *
 6  192.0.2.80  11.0 ms !<10>  11.1 ms  11.0 ms
 7  * * *
"""


def test_traceroute_variations():
    (t,) = parse_text(TRACEROUTE_WILD, "wild.txt")
    assert t["dst"] == "192.0.2.80" and t["src"] is None
    h = {x["probe_ttl"]: x for x in t["hops"]}
    assert len(t["hops"]) == 6                                         # the trailing '* * *' dropped
    assert (h[2]["address"], h[2]["replies"]) == ("198.51.100.1", 1)
    assert h[3]["address"] == "203.0.113.1" and h[3]["other_addresses"] == ["203.0.113.5"]
    assert [x["label"] for x in h[3]["labels"]] == [24001, 16] and h[3]["labels"][1]["s"] == 1
    assert (h[4]["icmp_type"], h[4]["icmp_code"]) == (3, 1)
    assert h[5]["address"] is None
    assert (h[6]["icmp_type"], h[6]["icmp_code"]) == (3, 10)
    assert [(u["ingress"], u["lsrs"], u["egress"]) for u in t["tunnels"]] == \
        [("198.51.100.1", ["203.0.113.1"], "203.0.113.9")]


def test_tnt_dump_reserved_and_no_echo_reply_fields():
    """Lines uTNT's formatter writes for a reserved address, a missing echo-reply and a
    non-port unreachable (-v), read back."""
    from utnt.model import Hop, MplsTag, Trace
    from utnt.output import dump_text
    hops = [Hop(index=1, address="10.1.1.1", probe_ttl=1, rtt_ms=0.5, icmp_type=11, icmp_code=0, reply_ttl=255,
                quoted_ttl=1, reserved=True),
            Hop(index=2, address="11.1.1.1", probe_ttl=2, rtt_ms=0.5, icmp_type=11, icmp_code=0, reply_ttl=254,
                quoted_ttl=1, labels=[(16, 0, 0, 1), (17, 0, 1, 1)]),
            Hop(index=3, probe_ttl=3),
            Hop(index=4, address="11.1.1.9", probe_ttl=4, rtt_ms=0.5, icmp_type=3, icmp_code=1, reply_ttl=60,
                er_ttl=60)]
    hops[1].mpls = MplsTag(cls="EXP", role="LSR", incomplete=True)
    text = dump_text([Trace(src="11.0.0.1", dst="11.1.1.9", method="icmp-paris", hops=hops)], verbose=True)
    (t,) = parse_text(text, "gen.txt", "tnt")
    a, b, c, d = t["hops"]
    assert a["reserved"] and a["er_ttl"] is None and a["reply_ttl"] == 255
    assert [x["label"] for x in b["labels"]] == [16, 17] and b["mpls"]["incomplete"]
    assert c["address"] is None and c["probe_ttl"] == 3
    assert (d["icmp_type"], d["icmp_code"], d["er_ttl"]) == (3, 1, 60)
    (u,) = t["tunnels"]
    assert (u["ingress"], u["lsrs"], u["egress"], u["complete"]) == (None, ["11.1.1.1"], None, False)


def test_run_other_detectors_refuse_sim_and_foreign_options(labs):
    """Checked before any lab comes up: the sim runs uTNT only; scamper and traceroute take
    only -m after '--'."""
    from testbed.errors import TestbedError
    from testbed.detectors.registry import detector_method
    from testbed.api import run as run_lab
    lab, _ = labs("mixed")
    with pytest.raises(TestbedError, match="bigrt, mininet or netns runtime only"):
        run_lab(lab, runtime="sim", detector="scamper")
    with pytest.raises(TestbedError, match="netns runtime only"):
        run_lab(lab, runtime="sim", detector_cmd="mytool {dst}")
    with pytest.raises(TestbedError, match=r"only '-m icmp-paris' or '-m udp-paris' apply \(got: -f 3\)"):
        run_lab(lab, runtime="netns", detector="traceroute", extra=["-f", "3"])
    assert detector_method("scamper", ["-m", "udp-paris"]) == "udp-paris"
    from testbed.detectors import registry
    registry.get("tnt").check_options(["-b", "-f", "4"])                   # TNT's options go to sc_tnt


def test_a_users_detector_keeps_its_own_name():
    """`run --detector-cmd` names the document's detector after the detector's own output (its
    traces' `detector`), else after its program; it used to say "cmd" whatever it was."""
    from testbed.detectors.registry import cmd_detector_name
    assert cmd_detector_name("/opt/me/mytool --json {dst}", [{"detector": "mine"}, {"detector": "mine"}]) == "mine"
    assert cmd_detector_name("/opt/me/mytool --json {dst}", [{"detector": "utnt"}, {}]) == "mytool"
    assert cmd_detector_name("'my tool' {dst}", []) == "my tool"
