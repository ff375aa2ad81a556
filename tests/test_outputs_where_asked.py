"""Outputs are written only where asked (issue 22): `testbed campaign`, `testbed ondemand` and
benchmarks/bench_ondemand.py, run as a user types them without -o/--plot, leave the working
directory as they found it; with the option, the files are where it says."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labnames import N

ROOT = Path(__file__).resolve().parent.parent
TESTBED = str(Path(sys.executable).parent / "testbed")


def _run(argv, cwd, timeout=300):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def test_campaign_writes_nothing_into_the_working_directory_unless_told(tmp_path):
    here = tmp_path / "cwd"
    here.mkdir()
    r = _run([TESTBED, "campaign", "two-vp", "--runtime", "sim"], here)
    assert list(here.iterdir()) == [], "campaign wrote into the working directory"
    assert "nothing written (-o DIR" in r.stdout
    _run([TESTBED, "campaign", "two-vp", "--runtime", "sim", "--no-pictures", "-o", "out"], here)
    assert sorted(p.name for p in here.iterdir()) == ["out"]
    assert (here / "out" / "campaign.json").is_file()


@pytest.mark.netns
def test_ondemand_writes_no_plot_into_the_working_directory_unless_told(tmp_path):
    here = tmp_path / "cwd"
    here.mkdir()
    r = _run([TESTBED, "ondemand", "explicit", "--name", N("oa-od"), "--events", "1", "--nodes", "1",
              "--runtimes", "utnt-process"], here)
    assert list(here.iterdir()) == [], "ondemand wrote into the working directory"
    assert "wrote" not in r.stdout
    r = _run([TESTBED, "ondemand", "explicit", "--name", N("oa-od"), "--events", "1", "--nodes", "1",
              "--runtimes", "utnt-process", "--plot", "o.png"], here)
    assert sorted(p.name for p in here.iterdir()) == ["o.png"] and "wrote o.png" in r.stdout


@pytest.mark.netns
def test_bench_ondemand_writes_no_plot_into_the_working_directory_unless_told(tmp_path):
    here = tmp_path / "cwd"
    here.mkdir()
    r = _run([sys.executable, str(ROOT / "benchmarks" / "bench_ondemand.py"), "--events", "1",
              "--runtimes", "utnt-process"], here)
    assert list(here.iterdir()) == [], "bench_ondemand wrote into the working directory"
    assert "plot:" not in r.stdout and "utnt-process" in r.stdout
