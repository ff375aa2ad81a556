"""Vendor tables and the namespace runtime's run-state records are checked with the lab
files' schema machinery (pydantic models, yamlpos lines): a bad vendor table (in a folder
of UTNT_LAB_VENDORS) or a truncated or garbled state.json / worker-I.json is one line naming
the file, the line or field and the fix, never a traceback; `status`, `probe`, `exec` and
`down` of such a lab behave sanely and `down` still removes all of it."""
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labnames import N
from testbed import vendors
from testbed.runtimes.netns import state, teardown

TESTBED = str(Path(sys.executable).with_name("testbed"))
NOTHING = {"namespaces": [], "processes": [], "run_dir": []}
# a table of one's own that sets some knobs over its base (lines 5, 6 and 9 are the ones spoiled below)
MINE = ("name: mine\ndescription: x\nbase: juniper\ninitial_ttl:\n  time_exceeded: 255\n  echo_reply: 64\n"
        "mpls:\n  ldp: loopbacks\n  ttl_propagate: true\n")


def tb(*args, env=None):
    return subprocess.run([TESTBED, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def errors(r) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


# ---------------------------------------------------------------- vendor tables
CASES = [
    ("bad-bool", MINE.replace("  ttl_propagate: true", "  ttl_propagate: maybe", 1),
     [":9: mpls.ttl_propagate: got 'maybe'; allowed: true or false"]),
    ("three-problems", "name: mine\ndescription: x\nbase: cisco\nmpls:\n  popping: pph\nbehaviour:\n"
     "  limit_unreachable: {rate: 0}\n  lable_base: 3\n",
     [":5: mpls.popping: got 'pph'; allowed: php or uhp",
      ":7: behaviour.limit_unreachable.rate: got 0; allowed: a number > 0 (messages per second)",
      ":8: behaviour.lable_base: unknown field; check the spelling or remove it"]),
    ("ttl-range", MINE.replace("  echo_reply: 64", "  echo_reply: 300", 1),
     [":6: initial_ttl.echo_reply: got 300; allowed: an integer in 1..255"]),
    ("missing", "name: mine\ndescription: x\ninitial_ttl: {time_exceeded: 255}\n",
     [": initial_ttl.echo_reply: required field is missing (in this table and its base: tables, if any); "
      "add it under initial_ttl:"]),
    ("no-base", "name: mine\ndescription: x\nbase: nosuch\n", [":3: base: no vendor table 'nosuch'; known: "]),
    ("base-loop", "name: mine\ndescription: x\nbase: mine\n", [":3: base: 'mine' leads back to this table"]),
    ("wrong-name", "name: yours\ndescription: x\nbase: cisco\n", [":1: name: 'yours' is not the file's name"]),
    ("not-yaml", "name: mine\n  description: [x\n", [":2: not valid YAML"]),
    ("tag", "name: mine\ndescription: !!python/name:os.system x\nbase: cisco\n",
     [":2: the YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed"]),
]


@pytest.mark.parametrize("case,text,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_vendor_table_is_one_problem_per_field(tmp_path, monkeypatch, case, text, expected):
    from testbed.errors import LabError
    from testbed.lab import load_lab
    (tmp_path / "mine.yaml").write_text(text)
    monkeypatch.setenv(vendors.ENV, str(tmp_path))
    with pytest.raises(LabError) as e:
        load_lab("explicit", {"vendor": "mine"})
    lines = [str(p) for p in e.value.problems]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected):
        assert line.startswith(str(tmp_path / "mine.yaml")) and want in line, (line, want)


def test_bad_vendor_table_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "mine.yaml").write_text(CASES[1][1])
    r = tb("validate", "explicit", env={vendors.ENV: str(tmp_path)})      # every table is read, used or not
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr, r.stderr
    assert errors(r) == [f"error: {tmp_path / 'mine.yaml'}{want}" for want in CASES[1][2]]


def test_bad_vendor_table_in_json_names_file_line_and_field(tmp_path):
    (tmp_path / "mine.yaml").write_text(CASES[0][1])
    r = tb("validate", "explicit", "--json", env={vendors.ENV: str(tmp_path)})
    assert r.returncode == 2
    (p,) = json.loads(r.stdout)["problems"]
    assert p == {"file": str(tmp_path / "mine.yaml"), "line": 9, "field": "mpls.ttl_propagate",
                 "message": "got 'maybe'; allowed: true or false"}


def test_a_table_in_the_search_path_replaces_the_builtin_one(tmp_path, monkeypatch):
    """A cisco.yaml of one's own (initial TTL 200) is the one the engine runs: the sim's
    time-exceeded come with TTLs counted down from 200. Its base juniper.yaml is looked up on
    the path too and replaces the built-in Juniper: the knobs' Juniper defaults no longer
    apply, the values come from its own base (linux)."""
    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber

    def reply_ttls():
        lab = load_lab("plain-ip")
        return [h.reply_ttl for h in ScriptedProber(Sim(lab, build(lab)), "vp").trace("12.0.1.2")][:3]
    assert reply_ttls() == [255, 254, 253]
    (tmp_path / "cisco.yaml").write_text("name: cisco\ndescription: mine\nbase: juniper\n"
                                         "initial_ttl: {time_exceeded: 200, echo_reply: 200, unreachable: 200, "
                                         "other: 200}\n")
    (tmp_path / "juniper.yaml").write_text("name: juniper\ndescription: mine too\nbase: linux\n")
    monkeypatch.setenv(vendors.ENV, str(tmp_path))
    assert vendors.table_path("cisco") == tmp_path / "cisco.yaml"
    assert reply_ttls() == [200, 199, 198]
    mine = vendors.load("cisco")
    assert (mine.label_base, mine.stacked_push_ttl, mine.rfc4950) == (16, "copy", False)   # linux's, not Junos'
    assert vendors.load("juniper").ttl_time_exceeded == 64


def test_vendor_schema_names_every_personality_field():
    """A knob added to the Personality must be added to the schema (and the other way round),
    or tables could not set it / would set nothing."""
    from testbed.vendors import schema
    named = {f"ttl_{k}" for k in schema.InitialTTL.model_fields}
    for sec in (schema.Mpls, schema.Icmp, schema.Behaviour):
        named |= set(sec.model_fields)
    wanted = {f.name for f in dataclasses.fields(vendors.Personality)} - {"name", "description", "is_host"}
    assert named == wanted


def test_every_shipped_table_is_valid_and_derived_tables_inherit():
    for n in vendors.names(routers_only=False):
        vendors.load(n)
    assert vendors.load("iosxr").label_base == 24000 and vendors.load("iosxr").rfc4950 is True   # from cisco
    assert vendors.load("brocade").limit_unreachable is None           # an explicit null overrides the base
    assert vendors.load("cisco").limit_unreachable == (2.0, 1.0, "router")


# ---------------------------------------------------------------- run-state records
@pytest.mark.netns
def test_corrupted_state_json_status_probe_down_behave():
    name = N("rec-state")
    r = tb("up", "plain-ip", "--set", "hops=2", "--name", name)
    assert r.returncode == 0, r.stderr
    path = state.run_dir(name) / "state.json"
    good = path.read_text()
    light = ("import sys; from testbed.runtimes.netns import api; st = api.status(sys.argv[1]); "
             "print(st['status'], 'pydantic' in sys.modules)")
    try:
        # a record as `up` wrote it (its digest matches) is read without importing pydantic
        r = subprocess.run([sys.executable, "-c", light, name], capture_output=True, text=True)
        assert r.stdout.split() == ["up", "False"], r.stderr
        # truncated: JSON no more
        path.write_text(good[:300])
        r = tb("status", name)
        assert r.returncode == 1 and len(r.stdout.strip().splitlines()) == 1, r.stdout
        line = " ".join(r.stdout.split())
        assert f"{name}: corrupt: {path}:" in line and "not valid JSON" in line and f"testbed down {name}" in line
        st = json.loads(tb("status", name, "--json").stdout)
        assert st["status"] == "corrupt" and len(st["namespaces"]) == 5
        r = subprocess.run([sys.executable, "-c", light, name], capture_output=True, text=True)
        assert r.stdout.split() == ["corrupt", "True"], r.stderr            # checked by the model
        for args in (("probe", name), ("exec", name, "vp", "--", "true")):
            r = tb(*args)
            assert r.returncode == 2 and len(errors(r)) == 1 and f"error: {path}:" in r.stderr, (args, r.stderr)
        # valid JSON, not the schema: a worker's pid that is not a number names the field
        doc = json.loads(good)
        doc["workers"][0]["pid"] = "1; reboot"
        path.write_text(json.dumps(doc, indent=1))
        st = json.loads(tb("status", name, "--json").stdout)
        assert st["status"] == "corrupt" and "workers[0].pid: got '1; reboot'; allowed: a process id" in st["problem"]
        doc = json.loads(good)
        doc["namespaces"].append("eth0")                     # never a namespace down may touch
        path.write_text(json.dumps(doc, indent=1))
        assert "namespaces[5]: String should match pattern" in tb("status", name, "--json").stdout
        # a garbled worker record (written by the worker itself) is reported beside a good state
        path.write_text(good)
        wfile = sorted(state.run_dir(name).glob("worker-*.json"))[0]
        wgood = wfile.read_text()
        wfile.write_text('{"index": 0, "pid": -4')
        st = json.loads(tb("status", name, "--json").stdout)
        assert st["status"] == "up" and len(st["record_problems"]) == 1 and str(wfile) in st["record_problems"][0]
        wfile.write_text(wgood)
        path.write_text(good[:300])                           # down of a corrupt lab removes all of it
        r = tb("down", name)
        assert r.returncode == 0 and re.search(r"down \(5 namespaces removed, [1-9][0-9]* engine workers stopped",
                                               r.stdout), (r.stdout, r.stderr)     # found by their own records
    finally:
        tb("down", name)
    assert teardown.leftovers(name) == NOTHING
    r = tb("status", name)
    assert r.stdout.strip() == f"{name}: down"
