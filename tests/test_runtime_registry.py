"""Runtimes are one interface found by name in one registry (testbed/runtimes/registry.py):
what each can do, --runtime's choices, a runtime added as one new file, and no comparison of
runtime names anywhere else in the code."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import testbed
from testbed import errors
from testbed.runtimes import registry

ROOT = Path(__file__).resolve().parents[1]


def test_the_builtins_and_what_each_can_do():
    assert registry.names() == ["sim", "bigrt", "mininet", "netns"]
    assert registry.names(interactive=False) == ["sim", "bigrt", "netns"]          # run, probe, campaign, ...
    assert registry.names(in_process=False) == ["bigrt", "mininet", "netns"]       # up
    assert registry.names(control_plane="frr") == ["netns"]
    assert registry.names(taps=True) == ["bigrt", "netns"]
    with pytest.raises(errors.InputError, match="unknown runtime 'docker'; choose one of sim, bigrt, mininet, netns"):
        registry.get("docker")
    lab = testbed.load("invisible-php")
    with pytest.raises(errors.TestbedError, match=r"the FRR control plane runs in the netns runtime only \(use --runtime netns\)"):
        registry.get("sim").control_plane(lab, "frr")
    assert registry.get("sim").control_plane(lab, None) == "computed"


def test_runtime_choices_come_from_the_registry():
    from testbed.cli.main import build_parser
    p = build_parser()
    assert p.parse_args(["run", "mixed", "--runtime", "sim"]).runtime == "sim"
    assert p.parse_args(["up", "mixed", "--runtime", "mininet"]).runtime == "mininet"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "mixed", "--runtime", "mininet"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice: 'mininet' (choose from 'sim', 'bigrt', 'netns')" in r.stderr, r.stderr


MINE = '''
"""A runtime of one file: the sim's lab, counted (a stand-in for a real one)."""
from testbed.runtimes.builtin.sim import Sim

UPS = []


class Counted(Sim):
    name = "counted"
    summary = "the sim, counting the labs it brings up"
    label = "the counted sim"

    def up(self, lab, name=None, **kw):
        UPS.append(lab.name)
        inst = super().up(lab, name, **kw)
        inst.runtime = self.name
        return inst


RUNTIME = Counted()
'''


def test_a_runtime_is_one_new_file(tmp_path, monkeypatch):
    """A module with a RUNTIME in the builtin folder is found: testbed.up, run_lab and the CLI's
    --runtime take it, and its instances probe and score as the sim's do."""
    from testbed.runtimes import builtin
    (tmp_path / "counted.py").write_text(MINE)
    monkeypatch.setattr(builtin, "__path__", list(builtin.__path__) + [str(tmp_path)])
    registry.reset()
    try:
        assert "counted" in registry.names(interactive=False)
        lab = testbed.load("invisible-php")
        with testbed.up(lab, runtime="counted") as net:
            result = net.probe(seed=1)
        assert result.runtime == "counted" and testbed.score(lab, result).perfect
        from testbed.api import run as run_lab
        doc = run_lab(lab, runtime="counted", seed=1)
        sim = run_lab(lab, runtime="sim", seed=1)
        assert doc["runtime"] == "counted" and doc["score"] == sim["score"]
        assert sys.modules["testbed.runtimes.builtin.counted"].UPS == ["invisible-php", "invisible-php"]
        from testbed.cli.main import build_parser
        assert build_parser().parse_args(["run", "mixed", "--runtime", "counted"]).runtime == "counted"
    finally:
        sys.modules.pop("testbed.runtimes.builtin.counted", None)
        monkeypatch.undo()
        registry.reset()


def test_no_runtime_name_is_compared_outside_the_registry():
    """Which runtime runs is never decided by comparing its name: code asks the runtime what it
    can do. (The runtimes' own folder is where names live.)"""
    names = "|".join(registry.names())
    pattern = re.compile(rf"""(runtime\w*\s*(==|!=|\bin\b)\s*\(?\s*["'])|(["']({names})["']\s*(==|!=))""")
    hits = []
    for f in (ROOT / "testbed").rglob("*.py"):
        if "runtimes" in f.relative_to(ROOT / "testbed").parts[:1]:
            continue
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)
