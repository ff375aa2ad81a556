"""The input boundary (testbed/inputs.py) and the name rule on real files (issue 21): what
hung or ate memory returns at once, what slipped past a byte scan is refused, what the
testbed writes cannot be broken into two lines by a value."""
from __future__ import annotations

import os
import time

import pytest

from testbed.errors import LabError
from testbed.inputs import InputProblem, LIMITS, parse_xml, read_bytes, read_json, read_text

PLAIN = ("routers:\n  r1: {}\n  r2: {}\nhosts:\n  vp: {}\nlinks:\n  - [vp, r1]\n  - [r1, r2]\n"
         "probes:\n  - {from: vp, to: r2}\n")


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    f = tmp_path / "r.json"
    os.mkfifo(f)
    t = time.monotonic()
    with pytest.raises(InputProblem, match="FIFO"):
        read_text(f, LIMITS["result"], "result file")
    assert time.monotonic() - t < 1.0


def test_a_device_is_refused_before_a_byte_is_read():
    t = time.monotonic()
    with pytest.raises(InputProblem, match="device"):
        read_bytes("/dev/zero", LIMITS["result"], "result file")
    assert time.monotonic() - t < 1.0


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path):
    f = tmp_path / "big.json"
    with open(f, "wb") as fh:
        fh.truncate(LIMITS["result"] + 1)              # sparse: nothing is read to tell
    with pytest.raises(InputProblem, match="larger than the limit"):
        read_bytes(f, LIMITS["result"], "result file")


def test_a_state_record_may_not_be_a_link(tmp_path):
    (tmp_path / "state.json").symlink_to("/etc/passwd")
    with pytest.raises(InputProblem) as e:
        read_json(tmp_path / "state.json", "state", nofollow=True)
    assert "root:" not in str(e.value)


@pytest.mark.parametrize("enc", ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_xml_with_a_dtd_is_refused_in_every_encoding(enc):
    doc = '<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY e "boom">]>\n<g>&e;</g>'
    with pytest.raises(InputProblem, match="DOCTYPE"):
        parse_xml(doc.encode(enc), "t.graphml")
    assert parse_xml('<g a="1"/>'.encode(enc), "t.graphml").get("a") == "1"


def test_a_dtd_after_the_first_mebibyte_is_refused():
    doc = "<!--" + "x" * (2 << 20) + "-->\n<!DOCTYPE g>\n<g/>"
    with pytest.raises(InputProblem, match="DOCTYPE"):
        parse_xml(doc.encode("utf-16"), "t.graphml")


def test_config_templates_never_let_a_value_end_a_line():
    """FRR configs and the daemons file (sourced by FRR's start-up script as root) print
    every value escaped: a newline in a value stays on its line as text."""
    from testbed.frr.render import _env
    text = _env().from_string("# lab {{ name }}\nhostname {{ node }}\n").render(
        name="x\nzebra=yes; touch /tmp/owned", node="r1\n!\nrouter bgp 1")
    assert text.count("\n") == 2 and "\\n" in text
    assert text.splitlines()[1].startswith("hostname r1")


def test_the_file_stem_of_a_nameless_lab_follows_the_name_rule(tmp_path):
    from testbed.lab import load_lab
    for stem in ("..", "My Lab", "x;reboot", "a" * 30):
        f = tmp_path / f"{stem}.yaml"
        f.write_text(PLAIN)
        with pytest.raises(LabError, match="not a valid name"):
            load_lab(str(f))
    f = tmp_path / "My Lab.yaml"
    f.write_text("name: my-lab\n" + PLAIN)              # a name: field: the stem names nothing
    assert load_lab(str(f)).name == "my-lab"
    f = tmp_path / "good-lab.yaml"
    f.write_text(PLAIN)
    assert load_lab(str(f)).name == "good-lab"


def test_a_lab_path_with_a_newline_is_refused_and_not_a_yaml_file_is_never_parsed(tmp_path):
    from testbed.lab import load_lab
    f = tmp_path / "a\nb.yaml"
    f.write_text("name: ok\n" + PLAIN)
    with pytest.raises(LabError, match="newline") as e:
        load_lab(str(f))
    assert "\n" not in str(e.value)
    s = tmp_path / "secret.txt"
    s.write_text("routers: {s3cr3t: {}}\n")
    with pytest.raises(LabError) as e:
        load_lab(str(s))
    assert "s3cr3t" not in str(e.value) and ".yaml" in str(e.value)


def test_strict_json_looks_at_structure_not_strings():
    from testbed.inputs import loads_json
    assert loads_json('{"a": "' + "1" * 50 + '", "b": "' + "[" * 100 + '"}', "f.json") == \
        {"a": "1" * 50, "b": "[" * 100}
    for bad, why in (('{"a": ' + "1" * 50 + "}", "digits"), ("[" * 70 + "]" * 70, "deep"),
                     ('{"a": 1e999}', "out of range"), ('{"a": NaN}', "NaN"), ('["\\udc00"]', "surrogate")):
        with pytest.raises(InputProblem, match=why):
            loads_json(bad, "f.json")
    assert loads_json('["\\ud83d\\ude00", 1.5e3]', "f.json") == ["\U0001f600", 1500.0]   # a pair is fine
