"""Fuzzing every reader of files the testbed did not write as a lab (issue 21): result files of
the four formats, importers' files (GraphML, node-link JSON, containerlab YAML), campaign
files, state records, the strict JSON/YAML/XML readers of testbed.inputs and the bounded
argument types. Any input gives a value or one clean error (a LabError / ResultError /
argparse error), never another exception, and no error line quotes a non-lab file (a token
planted in the input never appears in the message). Bounded and derandomized: the same
examples on every run, a few seconds in all."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.errors import LabError
from testbed.inputs import InputProblem, loads_json, loads_yaml, parse_xml, xml_text

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])
TOKEN = "zq7tokenxk"          # planted in inputs: never echoed in an error line

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                         st.text(max_size=12), st.sampled_from(["12.0.0.1", "12.0.1.2", "::1", "999.0.0.1", TOKEN,
                                                                "EXP", "INV", "LSR", "ING", "EGR"]))
json_values = st.recursive(json_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(
        ["traces", "dst", "src", "hops", "address", "probe_ttl", "tunnels", "class", "lsrs", "ingress", "egress",
         "type", "addr", "rtt", "icmpext", "mpls_labels", "mpls_label", "tnt", "mpls", "role", "labels",
         "reply_ttl", "method", "nodes", "edges", "id", "source", "target", "topology", "links", "endpoints",
         "vantage_points", "destinations", "start_times", "every", "count", TOKEN]), kids, max_size=5)),
    max_leaves=25)


def _clean(e: BaseException):
    msg = str(e)
    assert msg and "Traceback" not in msg
    for p in getattr(e, "problems", []):
        assert "\n" not in str(p), str(p)
    return msg


# ------------------------------------------------------------------------------ JSON / YAML / XML
@FUZZ
@given(st.text(max_size=300))
def test_loads_json_any_text(text):
    try:
        doc = loads_json(text, "f.json", "result file")
    except InputProblem as e:
        _clean(e)
        return
    json.dumps(doc, allow_nan=False)            # what it gives back is strict JSON (no NaN, no surrogate)
    json.dumps(doc, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(json_values, st.integers(0, 200))
def test_loads_json_depth_and_numbers(doc, depth):
    text = "[" * depth + json.dumps(doc) + "]" * depth
    try:
        loads_json(text, "f.json")
    except InputProblem as e:
        assert depth > 60 or "digits" in str(e) or "out of range" in str(e), str(e)
        return
    assert depth <= 64


@FUZZ
@given(st.text(max_size=200), st.sampled_from(["&a [1]\nb: [*a, *a]", "!!python/name:os.system", "[" * 100,
                                                "{a: 1, a: 2}", ".nan", ""]))
def test_loads_yaml_any_text(text, extra):
    try:
        loads_yaml(text + "\n" + extra, "c.yaml")
    except InputProblem as e:
        _clean(e)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
       st.booleans())
def test_xml_never_takes_a_dtd(junk, enc, with_dtd):
    doc = '<?xml version="1.0"?>\n' + ('<!DOCTYPE g [<!ENTITY e "x">]>\n' if with_dtd else "") + "<g>&amp;</g>"
    for data in (doc.encode(enc), junk, doc.encode(enc) + junk):
        try:
            parse_xml(data, "t.graphml", "GraphML file")
        except InputProblem as e:
            _clean(e)
            continue
        assert not with_dtd or data is junk, "a DTD got through"
        assert "DOCTYPE" not in xml_text(data, "t.graphml").upper().replace(" ", "")


# ------------------------------------------------------------------------------ result files
def _parse(text, fmt=None):
    from testbed.detectors import ResultError, parse_text
    try:
        traces = parse_text(text, "r.out", fmt)
    except ResultError as e:
        msg = _clean(e)
        assert TOKEN not in msg, msg             # the file's content is never echoed
        return None
    for t in traces:
        assert isinstance(t["hops"], list) and isinstance(t["tunnels"], list)
    return traces


@FUZZ
@given(json_values, st.sampled_from([None, "utnt-json", "scamper-json"]))
def test_result_json_any_document(doc, fmt):
    _parse(json.dumps(doc), fmt)
    _parse(json.dumps({"traces": [doc]}), fmt)


@FUZZ
@given(st.lists(st.one_of(json_values, st.just("12.0.0.1"), st.just(None)), max_size=4),
       st.sampled_from(["address", "probe_ttl", "rtt_ms", "labels", "mpls", "index"]))
def test_result_utnt_hops_any_field(values, field):
    hops = [{"address": "12.0.0.1", "probe_ttl": i + 1, field: v} for i, v in enumerate(values)]
    traces = _parse(json.dumps({"traces": [{"src": "12.0.0.2", "dst": "12.0.1.2", "hops": hops}]}), "utnt-json")
    if traces:
        from ipaddress import IPv4Address
        for h in traces[0]["hops"]:
            assert h["address"] is None or IPv4Address(h["address"])


@FUZZ
@given(st.lists(st.one_of(json_values, st.fixed_dictionaries(
    {"addr": st.sampled_from(["12.0.0.1", "11.0.0.1", TOKEN, "::1"]), "probe_ttl": json_scalars},
    optional={"rtt": json_scalars, "reply_ttl": json_scalars, "icmpext": json_values, "tnt": json_values})),
    max_size=4))
def test_result_scamper_any_hops(hops):
    line = json.dumps({"type": "trace", "src": "12.0.0.2", "dst": "12.0.1.2", "hops": hops})
    _parse(line + "\n" + json.dumps({"type": "cycle-stop"}) + "\n", "scamper-json")


tnt_tokens = st.sampled_from(["0.1 ms", "rsvd", "rTTLs=<255,254>", "rTTLs=<*,1>", "qttl=1", "uturn=4", "frpla=2",
                              "rtla=1", "[MPLS,EXP,ING]", "[MPLS,INV,LSR,FRPLA,BRPR,step=3]", "[MPLS,XYZ]",
                              "Labels 16 mTTL=1", "(dstunr code=3)", "(ATTEMPT,x)", "*", TOKEN, "9" * 50,
                              "12.0.0.1", "999.1.1.1", "\x1b[2J", "H1", "  "])


@FUZZ
@given(st.lists(st.lists(tnt_tokens, min_size=1, max_size=6), max_size=5), st.booleans())
def test_result_tnt_dump_any_lines(lines, header):
    text = ("trace [icmp-paris] from 12.0.0.2 to 12.0.1.2\n" if header else "") + "\n".join(
        f"  {i + 1}  " + "  ".join(toks) for i, toks in enumerate(lines)) + "\n"
    _parse(text, "tnt-text")


tr_tokens = st.sampled_from(["*", "12.0.0.1", "r1 (12.0.0.1)", "<MPLS:L=16,E=0,S=1,T=1>", "<MPLS:L=x>", "0.3 ms",
                             "!H", "!<10>", "[AS1]", TOKEN, "9" * 60, "999.0.0.1 (999.0.0.1)"])


@FUZZ
@given(st.lists(st.lists(tr_tokens, min_size=1, max_size=6), max_size=5), st.booleans())
def test_result_traceroute_any_lines(lines, header):
    text = ("traceroute to 12.0.1.2 (12.0.1.2), 30 hops max, 60 byte packets\n" if header else "") + "\n".join(
        f" {i + 1}  " + "  ".join(toks) for i, toks in enumerate(lines)) + "\n"
    _parse(text, "traceroute")


@FUZZ
@given(st.text(max_size=200), st.sampled_from([None, "utnt-json", "tnt-text", "scamper-json", "traceroute"]))
def test_result_any_text_any_format(text, fmt):
    _parse(text.replace("a", TOKEN, 1), fmt)


# ------------------------------------------------------------------------------ score end to end
@settings(FUZZ, max_examples=15)
@given(json_values)
def test_score_command_never_tracebacks(tmp_path, doc):
    from testbed.cli import main
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"traces": [doc]}))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["score", "invisible-php", str(f)])
    assert code in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()


# ------------------------------------------------------------------------------ importers
def _import(path: Path):
    from testbed.importers import load_graph
    try:
        g = load_graph(str(path))
    except LabError as e:
        msg = _clean(e)
        assert TOKEN not in msg, msg
        return None
    assert g.number_of_nodes() >= 2
    return g


@FUZZ
@given(json_values)
def test_import_nodelink_any_document(tmp_path, doc):
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    _import(p)
    p.write_text(json.dumps({"nodes": [{"id": TOKEN}, {"id": "b"}], "edges": [doc]}))
    _import(p)


@FUZZ
@given(json_values)
def test_import_containerlab_any_document(tmp_path, doc):
    import yaml
    p = tmp_path / "t.clab.yml"
    p.write_text(yaml.safe_dump({"name": "t", "topology": {"nodes": {"a": {}, "b": doc}, "links": doc}}))
    _import(p)
    p.write_text(yaml.safe_dump(doc))
    _import(p)


gml_pieces = st.sampled_from(['<node id="a"/>', '<node id="b"/>', '<edge source="a" target="b"/>',
                              '<edge source="a" target="zz"/>', '<data key="d0">x</data>',
                              '<key id="d0" for="node" attr.name="label" attr.type="string"/>',
                              '<key id="d1" for="edge" attr.name="cost" attr.type="double"/>',
                              '<data key="d1">nan</data>', "<!DOCTYPE g>", "<!-- c -->", "&e;", TOKEN, "<"])


@FUZZ
@given(st.lists(gml_pieces, max_size=8), st.sampled_from(["utf-8", "utf-16", "utf-16-le"]))
def test_import_graphml_any_pieces(tmp_path, pieces, enc):
    text = ('<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
            '<graph edgedefault="undirected">' + "".join(pieces) + "</graph></graphml>")
    p = tmp_path / "t.graphml"
    p.write_bytes(text.encode(enc))
    g = _import(p)
    assert g is None or "<!DOCTYPE g>" not in pieces


# ------------------------------------------------------------------------------ campaign files
@pytest.fixture(scope="module")
def five_vp():
    from testbed.lab import load_lab
    return load_lab("five-vp")


@FUZZ
@given(st.dictionaries(st.sampled_from(["vantage_points", "destinations", "start_times", TOKEN]), json_values,
                       max_size=3))
def test_campaign_any_document(tmp_path, five_vp, doc):
    import yaml

    from testbed.experiments.parallel import MAX_ENTRIES, load_campaign
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc))
    try:
        entries = load_campaign(five_vp, str(p))
    except LabError as e:
        msg = _clean(e)
        assert TOKEN not in msg, msg
        return
    assert 0 < len(entries) <= MAX_ENTRIES
    assert all(math.isfinite(e.start) and e.start >= 0 for e in entries)


# ------------------------------------------------------------------------------ state records
@FUZZ
@given(st.one_of(json_values.map(json.dumps), st.text(max_size=100)), st.integers(0, 200))
def test_state_record_any_text(tmp_path, text, depth):
    from testbed.runtimes.netns.state import read_record
    p = tmp_path / "state.json"
    p.write_text("[" * depth + text + "]" * depth)
    rec, problem = read_record("State", p)
    assert (rec is None) != (problem is None)
    if problem is not None:
        assert "\n" not in str(problem)


def test_state_record_that_is_a_fifo_or_link(tmp_path):
    from testbed.runtimes.netns.state import read_record
    os.mkfifo(tmp_path / "state.json")
    rec, problem = read_record("State", tmp_path / "state.json")        # returns at once, no hang
    assert rec is None and "FIFO" in str(problem)
    (tmp_path / "w.json").symlink_to("/etc/passwd")
    rec, problem = read_record("Worker", tmp_path / "w.json")
    assert rec is None and "root:" not in str(problem)


# ------------------------------------------------------------------------------ arguments
@FUZZ
@given(st.one_of(st.text(max_size=30), st.integers().map(str), st.floats().map(str)))
def test_bounded_argument_types(s):
    from testbed.cliargs import float_in, int_in, scheduler_address
    for conv, lo, hi in ((int_in(1, 64), 1, 64), (float_in(0.1, 3600), 0.1, 3600)):
        try:
            v = conv(s)
        except argparse.ArgumentTypeError as e:
            assert "\n" not in str(e)
            continue
        assert lo <= v <= hi and math.isfinite(v)
    try:
        scheduler_address(s)
    except argparse.ArgumentTypeError:
        pass
    else:
        assert s.startswith(("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")) and " " not in s


@FUZZ
@given(st.text(min_size=1, max_size=30))
def test_name_rule(s):
    from testbed.inputs import NAME_RE, check_name
    try:
        check_name(s)
    except InputProblem as e:
        _clean(e)
        assert not NAME_RE.match(s)
        return
    assert s.isascii() and "\n" not in s and "/" not in s and "." not in s and len(s) <= 24


@settings(FUZZ, max_examples=30)
@given(st.lists(st.dictionaries(st.sampled_from(["id", "name", "label", "pos", "asn"]), json_values, max_size=4),
                min_size=2, max_size=5),
       st.lists(st.dictionaries(st.sampled_from(["source", "target", "cost", "weight", "dist"]),
                                st.one_of(json_scalars, st.sampled_from([0, 1, 2, "a"])), max_size=5), max_size=6))
def test_import_command_never_tracebacks(tmp_path, nodes, edges):
    """`testbed import` end to end (read, build, write, load back) on node-link JSON whose
    node and edge fields are anything (a null id was a ValueError of networkx)."""
    from testbed.cli import main
    for i, n in enumerate(nodes):
        n.setdefault("id", i)
    (tmp_path / "t.json").write_text(json.dumps({"nodes": nodes, "edges": edges}))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", str(tmp_path / "t.json"), "-o", str(tmp_path / "o.yaml")])
    assert code in (0, 2) and "internal error" not in err.getvalue(), err.getvalue()
