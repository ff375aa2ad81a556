"""The local index of runs (`testbed runs`, issue 22): every scored `run`, `score` and
`campaign` is a row, run as a user types the commands (the sim runtime)."""
import json
import os
import subprocess
import sys
from pathlib import Path

TESTBED = str(Path(sys.executable).with_name("testbed"))


def tb(db, *args):
    env = dict(os.environ, UTNT_RUNS_DB=str(db))
    return subprocess.run([TESTBED, *args], capture_output=True, text=True, timeout=300, env=env)


def test_runs_are_recorded_and_listed_newest_first(tmp_path):
    db = tmp_path / "idx" / "runs.sqlite"
    assert tb(db, "run", "mixed", "--runtime", "sim", "--seed", "2").returncode == 0
    r = tb(db, "run", "rate-limited", "--runtime", "sim", "--", "-b")
    assert r.returncode == 0, r.stderr
    assert tb(db, "run", "mixed", "--runtime", "sim", "--no-record").returncode == 0
    rows = json.loads(tb(db, "runs", "--json").stdout)
    assert [(x["lab"], x["command"], x["seed"], x["options"]) for x in rows] == \
        [("rate-limited", "run", None, ["-b"]), ("mixed", "run", 2, [])]
    mixed = rows[1]
    assert mixed["perfect"] is True and mixed["recall"] == 1.0 and mixed["detector"] == "utnt"
    assert mixed["detector_version"] and mixed["runtime"] == "sim" and mixed["totals"]["present"] == 2
    assert rows[0]["perfect"] is False and rows[0]["recall"] < 1.0
    assert [x["lab"] for x in json.loads(tb(db, "runs", "--json", "--lab", "mixed").stdout)] == ["mixed"]
    assert (db.parent.stat().st_mode & 0o777) == 0o700
    out = tb(db, "runs").stdout
    assert "rate-limited" in out and "mixed" in out


def test_score_and_campaign_are_recorded_and_off_records_nothing(tmp_path):
    db = tmp_path / "runs.sqlite"
    res = tmp_path / "u.json"
    r = tb("off", "probe", "mixed", "--runtime", "sim", "--json")
    res.write_text(r.stdout)
    assert tb(db, "score", "mixed", str(res)).returncode == 0
    assert tb(db, "campaign", "five-vp", "--runtime", "sim", "--no-pictures", "-o", str(tmp_path / "c")).returncode == 0
    rows = json.loads(tb(db, "runs", "--json").stdout)
    assert [(x["command"], x["lab"], x["traces"]) for x in rows] == [("campaign", "five-vp", 5), ("score", "mixed", 1)]
    assert tb("off", "run", "mixed", "--runtime", "sim").returncode == 0
    assert len(json.loads(tb(db, "runs", "--json").stdout)) == 2
    assert json.loads(tb("off", "runs", "--json").stdout) == []


def test_a_planted_link_or_a_broken_index_never_fails_a_run_nor_is_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    db = tmp_path / "runs.sqlite"
    db.symlink_to(victim)
    r = tb(db, "run", "mixed", "--runtime", "sim")
    assert r.returncode == 0 and "perfect score" in r.stdout
    assert r.stderr.count("warning: the run was not recorded") == 1, r.stderr
    assert victim.read_text() == "keep me\n"
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database\n" * 100)
    r = tb(bad, "run", "mixed", "--runtime", "sim")
    assert r.returncode == 0 and "warning: the run was not recorded" in r.stderr
    r = tb(bad, "runs")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "cannot be read" in r.stderr, r.stderr
    r = tb(bad, "runs", "--limit", "0")
    assert r.returncode == 2 and "--limit" in r.stderr
