"""`--strict` and `--fail-under` (issue 22): a completed run below the bar exits 3, as a CI job
needs, on every command that reports a score; typed as a user types them (the `testbed`
command in the virtualenv, on the sim runtime)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.experiments.gate import figures, shortfalls

TESTBED = str(Path(sys.executable).with_name("testbed"))


def tb(*args, timeout=300):
    return subprocess.run([TESTBED, *args], capture_output=True, text=True, timeout=timeout)


def test_perfect_run_clears_strict_and_any_bar():
    r = tb("run", "invisible-php", "--runtime", "sim", "--strict", "--fail-under", "1", "--fail-under",
           "precision=1", "--fail-under", "lsrs=1")
    assert r.returncode == 0, r.stderr
    assert "perfect score" in r.stdout and "below the bar" not in r.stderr


def test_imperfect_run_exits_3_with_one_line_and_its_report_intact():
    # rate-limited: the LSRs' ICMP rate limit hides its one tunnel from uTNT (recall 0)
    r = tb("run", "rate-limited", "--runtime", "sim", "--json", "--strict")
    assert r.returncode == 3, (r.returncode, r.stderr)
    doc = json.loads(r.stdout)                       # the document is printed whole first
    assert doc["score"]["perfect"] is False
    assert r.stderr.strip().splitlines() == ["below the bar (1 of 1): rate-limited: not perfect"]
    # the same run without a bar: a completed run exits 0 whatever its score
    assert tb("run", "rate-limited", "--runtime", "sim").returncode == 0
    got = figures(doc["score"]["totals"])
    r = tb("run", "rate-limited", "--runtime", "sim", "--fail-under", f"recall={got['recall'] + 0.01:.2f}")
    assert r.returncode == 3 and "recall" in r.stderr, r.stderr
    r = tb("run", "rate-limited", "--runtime", "sim", "--fail-under", f"{got['recall']:.2f}")
    assert r.returncode == 0, r.stderr


def test_score_of_result_files_is_gated_per_file(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    for lab, f in (("mixed", good), ("rate-limited", bad)):
        r = tb("probe", lab, "--runtime", "sim", "--json")
        assert r.returncode == 0, r.stderr
        f.write_text(r.stdout)
    assert tb("score", "mixed", str(good), "--strict").returncode == 0
    r = tb("score", "rate-limited", str(bad), "--strict", "--json")
    assert r.returncode == 3 and json.loads(r.stdout)["score"]["perfect"] is False
    assert str(bad) in r.stderr


def test_scoreboard_and_campaign_are_gated(tmp_path):
    r = tb("scoreboard", "invisible-php", "rate-limited", "--runtime", "sim", "--strict")
    assert r.returncode == 3 and "rate-limited: not perfect" in r.stderr and "invisible-php:" not in r.stderr
    assert tb("scoreboard", "invisible-php", "mixed", "--runtime", "sim", "--strict").returncode == 0
    r = tb("campaign", "five-vp", "--runtime", "sim", "--strict", "--no-pictures", "-o", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    r = tb("campaign", "rate-limited", "--runtime", "sim", "--fail-under", "0.5", "--no-pictures", "-o",
           str(tmp_path / "d"))
    assert r.returncode == 3 and "recall 0.000 < 0.5" in r.stderr, r.stderr


@pytest.mark.parametrize("bar", ["1.5", "-0.1", "nan", "x", "bogus=0.5", "recall="])
def test_a_bar_that_is_not_a_fraction_is_refused_with_one_line(bar):
    r = tb("run", "invisible-php", "--runtime", "sim", "--fail-under", bar)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--fail-under" in r.stderr, r.stderr


def test_figures_and_shortfalls_count_what_the_totals_say():
    t = {"present": 4, "undetectable": 1, "detected": 2, "false_tunnels": 2, "lsrs_found": 3, "lsrs_present": 4,
         "class_correct": 2, "ingress_correct": 2, "egress_correct": 2, "false_lsrs": 0, "flagged_not_revealed": 0,
         "incomplete_traces": 0, "unmatched_traces": 0, "off_path_traces": 0}
    assert figures(t) == {"recall": 2 / 3, "precision": 0.5, "lsrs": 0.75}
    assert shortfalls(t, strict=True) == ["not perfect"]
    assert shortfalls(t, bars=[("precision", 0.5), ("lsrs", 0.75)]) == []
    assert shortfalls(t, bars=[("recall", 0.7)]) == ["recall 0.667 < 0.7"]
    none = dict(t, present=0, undetectable=0, detected=0, false_tunnels=0, lsrs_found=0, lsrs_present=0)
    assert figures(none) == {"recall": 1.0, "precision": 1.0, "lsrs": 1.0}
