"""The original TNT run as a peer (testbed/peers/tnt.py): where it is looked for, a real run
in a namespace lab, and that nothing of it is left afterwards, also when sc_tnt fails."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from labnames import N
from testbed import errors
from testbed.lab import load_lab
from testbed.peers import tnt
from testbed.runtimes.netns import api


def _leftovers(run_dir) -> list[int]:
    """PIDs of processes of our run_tnt calls (their command lines name the run folder)."""
    return [pid for pid, _ in tnt._pids_with(str(run_dir))]


def test_prefix_order_and_the_missing_line(tmp_path, monkeypatch):
    fake = tmp_path / "tnt"
    (fake / "bin").mkdir(parents=True)
    monkeypatch.setenv("TNT_PREFIX", str(fake))
    assert tnt.find_prefix() is None                      # a set TNT_PREFIX is the only place
    assert f"TNT_PREFIX={fake}" in tnt.missing_reason() and "peer-tnt.md" in tnt.missing_reason()
    for b in ("scamper", "sc_tnt"):
        (fake / "bin" / b).write_text("")
    assert tnt.find_prefix() == fake
    monkeypatch.delenv("TNT_PREFIX")
    assert tnt.find_prefix() in (None, *tnt.DEFAULT_PREFIXES)
    monkeypatch.setenv("TNT_PREFIX", str(tmp_path / "none"))
    with pytest.raises(errors.TestbedError, match="not built"):
        tnt.run_tnt("x", "vp", ["12.0.1.2"])


@pytest.fixture
def short_dir():
    """A run folder short enough for scamper's control socket (pytest's tmp_path under
    pytest-xdist is not: Unix socket paths hold 107 bytes)."""
    d = tempfile.mkdtemp(prefix="tt-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.netns
def test_run_tnt_in_a_lab_dumps_and_leaves_nothing(short_dir):
    tmp_path = short_dir
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())
    lab = load_lab("explicit")
    name = N("pt-tnt")
    api.up(lab, name=name, workers=1)
    try:
        r = tnt.run_tnt(name, "vp", [str(lab.probes[0].targets[0])], run_dir=tmp_path)
        assert _leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []
        lines = r["text"].splitlines()
        assert lines[0].startswith("trace [icmp-paris] from ") and lines[0].endswith(str(lab.probes[0].targets[0]))
        assert sum("[MPLS,EXP,LSR" in x for x in lines) == 3 and "Labels" in r["text"]
        assert os.path.getsize(r["warts"]) > 0
        shutil.rmtree(os.path.dirname(r["warts"]))         # the caller owns the output folder
        # a bad option: sc_tnt exits with an error, reported in one line, nothing left behind
        with pytest.raises(errors.TestbedError, match="sc_tnt failed"):
            tnt.run_tnt(name, "vp", [str(lab.probes[0].targets[0])], ["-f", "0"], run_dir=tmp_path)
        assert _leftovers(tmp_path) == [] and list(tmp_path.iterdir()) == []
        with pytest.raises(errors.TestbedError, match="set by run_tnt"):
            tnt.run_tnt(name, "vp", ["12.0.1.2"], ["-o", "x.warts"])
    finally:
        api.down(name)


def test_a_run_folder_too_deep_for_the_socket_is_one_line_and_leaves_nothing(tmp_path):
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    deep.mkdir(parents=True)
    with pytest.raises(errors.TestbedError, match="too deep for scamper's control socket"):
        tnt.run_in_namespace("tb-nosuch.vp", ["12.0.1.2"], run_dir=deep)
    assert list(deep.iterdir()) == []
