"""`testbed diff A.json B.json` (issue 22): two scored runs of one lab compared per trace and
per verdict, run as a user types it, on runs the sim really made."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTBED = str(Path(sys.executable).with_name("testbed"))


def tb(*args, cwd=None):
    return subprocess.run([TESTBED, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("diff")
    made = {}
    for name, args in (("a", ["invisible-php"]), ("a2", ["invisible-php", "--seed", "3"]),
                       # FRPLA/RTLA thresholds no egress reaches: uTNT reveals nothing
                       ("b", ["invisible-php", "--", "-f", "9", "-r", "9"]), ("other", ["mixed"])):
        r = tb("run", *args[:1], "--runtime", "sim", "--json", *args[1:])
        assert r.returncode == 0, r.stderr
        (d / f"{name}.json").write_text(r.stdout)
        made[name] = str(d / f"{name}.json")
    return made


def test_two_runs_that_agree(runs):
    r = tb("diff", runs["a"], runs["a2"], "--strict")
    assert r.returncode == 0, r.stderr
    assert "1 identical of 1 traces" in r.stdout and "the two runs agree" in r.stdout


def test_a_regression_is_found_per_trace_and_per_verdict_and_fails_strict(runs):
    r = tb("diff", runs["a"], runs["b"], "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["traces"] == {"total": 1, "hops differ": 1}
    row = d["per_trace"][0]
    assert row["tunnels"]["a"] and row["tunnels"]["b"] == []             # A's INV tunnel, none in B
    assert d["regressions"] == 1 and d["improvements"] == 0
    assert [(v["class"], v["ingress"], v["egress"], v["a"]) for v in d["verdicts"]] == \
        [("invisible-php", "pe1", "pe2", "correct")]
    assert d["totals"]["detected"] == {"a": 1, "b": 0}
    r = tb("diff", runs["a"], runs["b"], "--strict")
    assert r.returncode == 3 and "1 tunnel(s) right in" in r.stderr
    r = tb("diff", runs["b"], runs["a"], "--strict", "--json")          # the other way: an improvement
    assert r.returncode == 0 and json.loads(r.stdout)["improvements"] == 1


def test_runs_of_two_labs_are_refused_unless_forced(runs):
    r = tb("diff", runs["a"], runs["other"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not of invisible-php" in r.stderr
    assert tb("diff", runs["a"], runs["other"], "--force").returncode == 0


def test_what_is_not_a_scored_run_is_one_line_and_never_echoed(runs, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$very-secret-hash:19000:0:99999:7:::\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"lab": "x", "results": [{}, {}]}))
    for bad, why in ((secret, "not valid JSON"), (fifo, "not a regular file"), (tmp_path, "not a regular file"),
                     (many, "holds 2 scored results"), (tmp_path / "none.json", "No such file or directory")):
        r = tb("diff", runs["a"], str(bad))
        assert r.returncode == 2, (bad, r.stderr)
        assert why in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "very-secret" not in r.stderr + r.stdout
