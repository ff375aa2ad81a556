"""Each behaviour knob is declared once (testbed/knobs/<knob>.yaml) and everything else comes
from that declaration: the vendor personalities and their values, the two validators (vendor
tables, lab files' `behaviour:`) with the same one-line errors, the ground truth's record, the
README's knob table and the matrix axes. A bad declaration is one line naming file, line,
field and fix."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from testbed import knobs, vendors
from testbed.errors import LabError

BAD = "not-a-value"      # no knob takes this word


def test_the_readme_table_is_the_declarations():
    text = knobs.README.read_text()
    assert text == knobs.readme_with_table(text), "run: python -m testbed.knobs --write"
    table = text[text.index(knobs.BEGIN):text.index(knobs.END)]
    assert [ln.split("`")[1] for ln in table.splitlines()[3:]] == knobs.names()


def test_the_static_personality_is_the_runtime_one():
    """mypy reads testbed/knobs/static.py where the runtime builds Personality with make_dataclass:
    the file is the declarations' (up to date) and has the runtime record's fields, in order, with
    every vendor's values inside the static types (a choice knob's Literal)."""
    import typing

    from testbed.knobs import static
    assert knobs.STATIC.read_text() == knobs.static_module(), "run: python -m testbed.knobs --write"
    assert static.Personality is not vendors.Personality
    runtime = [(f.name, f.default) for f in dataclasses.fields(vendors.Personality)]
    assert [(f.name, f.default) for f in dataclasses.fields(static.Personality)] == runtime
    hints = typing.get_type_hints(static.Personality, vars(static))
    for v in vendors.names(routers_only=False):
        p = vendors.load(v)
        for k in knobs.all_knobs():
            if k.type == "choice":
                assert getattr(p, k.name) in typing.get_args(hints[k.name]), (v, k.name)


def test_the_builtin_vendor_tables_declare_no_knob():
    """A vendor's defaults live in the knob files (declared once), not in its table."""
    for p in sorted(vendors.HERE.glob("*.yaml")):
        assert set(yaml.safe_load(p.read_text())) <= {"name", "description", "base", "host"}, p.name


def test_every_declared_vendor_has_a_table_and_every_field_a_knob():
    tables = {p.stem for p in vendors.HERE.glob("*.yaml")}
    for k in knobs.all_knobs():
        assert set(k.vendors) <= tables, (k.name, set(k.vendors) - tables)
        assert k.meaning and (k.required or k.name in vendors.Personality.__dataclass_fields__)
    fields = [f.name for f in dataclasses.fields(vendors.Personality)]
    assert fields == ["name", "description", *knobs.names(), "is_host"]
    assert vendors.knob_names() == knobs.names()


@pytest.mark.parametrize("name", knobs.names())
def test_one_validator_for_vendor_tables_and_lab_files(tmp_path, name):
    """The same bad value is refused by a vendor table and a lab file's behaviour: with the
    same `allowed` text, and each knob's declared defaults pass both."""
    k = knobs.by_name()[name]
    with pytest.raises(ValueError) as e:
        vendors.check_knob(name, BAD)
    assert str(e.value) == f"got {BAD!r}; allowed: {k.allowed}"
    (tmp_path / "mine.yaml").write_text(f"name: mine\ndescription: x\nbase: cisco\n{k.section}:\n  {k.key}: {BAD}\n")
    with pytest.raises(LabError) as e:
        vendors._load("mine", (tmp_path, vendors.HERE))
    (p,) = e.value.problems
    assert (p.line, p.field, p.message) == (5, f"{k.section}.{k.key}", f"got {BAD!r}; allowed: {k.allowed}")
    for v in [*k.vendors.values(), *([] if k.required else [k.default])]:
        assert vendors.check_knob(name, v) == k.convert(v)


def test_a_vendor_takes_its_own_default_then_its_bases_then_the_knobs(tmp_path):
    (tmp_path / "mine.yaml").write_text("name: mine\ndescription: x\nbase: h3c\nbehaviour: {ip_id: zero}\n")
    mine = vendors._load("mine", (tmp_path, vendors.HERE))
    assert mine.ip_id == "zero"                                          # its table
    assert mine.label_base == knobs.by_name()["label_base"].vendors["h3c"] == 1024   # its base's default
    assert mine.tunnel_scope == knobs.by_name()["tunnel_scope"].vendors["huawei"]    # the base's base
    assert mine.ttl_time_exceeded == 255                                 # cisco, at the end of the chain
    assert mine.entropy_label is knobs.by_name()["entropy_label"].default is False   # the knob's default


@pytest.mark.parametrize("text,where,fix", [
    ("seq: 1\nsection: mpls\ntype: bool\nmeaning: x\nvendors:\n  cisco: {value: maybe}\n", ":6: vendors.cisco.value",
     "got 'maybe'; allowed: true or false"),
    ("seq: 1\nsection: mpls\ntype: choice\nmeaning: x\n", ":3: values", "a choice knob lists its values"),
    ("seq: 1\nsection: routing\ntype: bool\nmeaning: x\n", ":2: section", "Input should be"),
    ("seq: 1\nsection: mpls\ntype: int\nrange: [1, 9]\nmeaning: x\ndefault: 12\n", ":6: default",
     "got 12; allowed: an integer in 1..9"),
    ("seq: 1\nsection: mpls\ntype: bool\nmeaning: x\naxis: {values: [vendor, perhaps], after: lsrs}\n",
     ":5: axis.values[1]", "got 'perhaps'; allowed: true or false"),
    ("seq: 1\nsection: mpls\ntype: bool\nmeaning: x\ncolour: red\n", ":5: colour", "unknown field"),
    ("seq: 1\nsection: mpls\ntype: bool\nmeaning: x\nvendors:\n  cisko: {value: true}\n", ":6: vendors.cisko",
     "no built-in vendor table 'cisko'; known: brocade, cisco,"),
])
def test_a_bad_declaration_is_one_line(tmp_path, text, where, fix):
    f = tmp_path / "my_knob.yaml"
    f.write_text(text)
    with pytest.raises(LabError) as e:
        knobs._read(f)
    (p,) = e.value.problems
    line = str(p)
    assert line.startswith(f"{f}{where}: ") and fix in line, line


def test_a_seq_taken_twice_names_the_fix(tmp_path, monkeypatch):
    for name in ("a_knob", "b_knob"):
        (tmp_path / f"{name}.yaml").write_text("seq: 3\nsection: behaviour\ntype: bool\nmeaning: x\ndefault: false\n")
    monkeypatch.setattr(knobs, "HERE", tmp_path)
    knobs._all.cache_clear()
    try:
        with pytest.raises(LabError) as e:
            knobs._all()
        assert str(e.value).strip() == f"{tmp_path / 'b_knob.yaml'}:1: seq: 3 is the seq of a_knob too; give this " \
                                       "knob the next free number (4)"
    finally:
        monkeypatch.undo()
        knobs._all.cache_clear()
    assert knobs.names()[0] == "ttl_time_exceeded"


def test_the_matrix_axes_are_the_declared_ones():
    from testbed.experiments.matrix import BEHAVIOUR_AXES, GRID, KNOB_AXES, lab_for
    assert KNOB_AXES and all(GRID[k] == v and BEHAVIOUR_AXES[k] == v[0] for k, v in KNOB_AXES.items())
    for k, v in KNOB_AXES.items():
        after = knobs.by_name()[k].axis["after"]
        assert list(GRID).index(k) == list(GRID).index(after) + 1, (k, after)
    base = {a: vals[0] for a, vals in GRID.items()}
    for k, vals in KNOB_AXES.items():
        lab = lab_for({**base, "lsrs": 2, k: vals[-1]})
        assert getattr(lab.nodes["p1"].personality, k) == knobs.by_name()[k].convert(vals[-1]), k
        assert getattr(lab.nodes["ce1"].personality, k) == getattr(vendors.load("cisco"), k)   # outside the domain


def test_the_truth_records_every_knob():
    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.truth import ground_truth
    nodes = ground_truth(build(load_lab("explicit")))["nodes"]
    assert all(list(n["behaviour"]) == knobs.names() for n in nodes.values())


def test_the_module_checks_the_readme_and_reports_json():
    import json
    import subprocess
    import sys
    run = lambda *a: subprocess.run([sys.executable, "-m", "testbed.knobs", *a], capture_output=True,  # noqa: E731
                                    text=True, cwd=Path(__file__).resolve().parents[1])
    r = run("--check")
    assert r.returncode == 0 and r.stdout.strip() == "up to date", r.stdout + r.stderr
    r = run("--json")
    doc = json.loads(r.stdout)["knobs"]
    assert [d["name"] for d in doc] == knobs.names()
    scope = next(d for d in doc if d["name"] == "tunnel_scope")
    assert scope["values"] == ["all", "multi-label", "udp"] and scope["vendors"]["nokia"]["value"] == "udp"
    assert "7750" in scope["vendors"]["nokia"]["source"] and scope["axis"]["after"] == "router_vp"
    assert run("--frobnicate").returncode == 2


def test_declared_signature_rows(tmp_path, monkeypatch):
    """A declaration's `signatures:` rows are `testbed signatures` rows (knob values checked
    and converted); a row setting no knob is one line naming the fix."""
    from testbed.tools.signatures import KNOB_ROWS, knob_row
    assert all(r in KNOB_ROWS for r in knobs.signature_rows())
    decl = ("seq: 1\nsection: behaviour\ntype: bool\nmeaning: x\ndefault: true\nsignatures:\n"
            "  - {setting: 'slow echo on p2', lab: explicit, vendor: cisco, routers: [p2], method: pings, target: p2,\n"
            "     set: {limit_echo_reply: {rate: 1, burst: 2}}}\n")
    (tmp_path / "ttl_time_exceeded.yaml").write_text(decl)
    monkeypatch.setattr(knobs, "HERE", tmp_path)
    knobs._all.cache_clear()
    knobs.by_name.cache_clear()
    try:
        with pytest.raises(LabError) as e:
            knobs.signature_rows()
        assert "signatures[0].set: 'limit_echo_reply' is no knob; known: ttl_time_exceeded" in str(e.value)
        (tmp_path / "limit_echo_reply.yaml").write_text("seq: 2\nsection: behaviour\ntype: limit\nmeaning: x\n"
                                                        "default: null\n")
        knobs._all.cache_clear()
        knobs.by_name.cache_clear()
        (row,) = knobs.signature_rows()
    finally:
        monkeypatch.undo()
        knobs._all.cache_clear()
        knobs.by_name.cache_clear()
    assert row == ("slow echo on p2", "explicit", "cisco", {"limit_echo_reply": (1.0, 2.0, "router")}, ("p2",),
                   "pings", "p2")
    ids = knob_row(*row)["trace"].split(": ")[1].split()
    assert ids[2:] == ["*", "*"] and "*" not in ids[:2]          # the bucket of 2 is empty after two pings
