"""Faults and shared use of the namespace runtime (real namespaces, real processes):
root-only run state, probes that refuse a degraded lab and follow the running state, and
processes killed with SIGKILL (`up`, `run`, `capture`) that leave nothing running behind."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from labnames import N  # noqa: E402

from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api, nsutil, state, teardown  # noqa: E402

pytestmark = pytest.mark.netns
TESTBED = str(Path(sys.executable).parent / "testbed")


def _tb(*args, **kw):
    return subprocess.run([TESTBED, *args], capture_output=True, text=True, timeout=120, **kw)


def _children_of(pid: int) -> list[tuple[int, str]]:
    return [(p, " ".join(nsutil.proc_cmdline(p))) for p, rest in nsutil.live_processes() if int(rest[1]) == pid]


def _wait_child(pid: int, needle: str, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c, cmd in _children_of(pid):
            if needle in cmd:
                return c
        time.sleep(0.02)
    raise AssertionError(f"no child with {needle!r} of {pid} within {timeout} s")


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
            if data[data.rindex(b")") + 2:].split()[0] in (b"Z", b"X"):
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_shared_use_private_state_probe_follows_state_and_health():
    name = N("sec-share")
    api.up(load_lab("invisible-php"), name=name)
    try:
        # run state and lock are root's only (0700, or 0710 for group frr's traversal)
        for p in (state.run_root(), state.run_dir(name)):
            mode = stat.S_IMODE(os.stat(p).st_mode)
            assert mode & 0o007 == 0 and mode & 0o060 == 0, oct(mode)
        assert stat.S_IMODE(os.stat(state.run_root() / state.LOCK).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(state.run_dir(name) / "state.json").st_mode) == 0o600
        # probe NAME finds the lab from the running state; a wrong lab or a lab not up is an error
        r = _tb("probe", name, "--json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["lab"] == "invisible-php" and doc["runtime"] == "netns"
        r = _tb("probe", "plain-ip", "--name", name)
        assert r.returncode == 2 and f"lab '{name}' runs invisible-php" in r.stderr, r.stderr
        r = _tb("probe", "invisible-php", "--name", N("sec-notup"))
        assert r.returncode == 2 and "is not up" in r.stderr and r.stdout == "", r.stderr
        # a SIGKILLed `testbed capture` leaves no tcpdump
        cap = subprocess.Popen([TESTBED, "capture", name, "p1", "eth0", "-w", "/dev/null"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        td = _wait_child(cap.pid, "tcpdump")
        cap.kill()
        cap.wait()
        assert _gone(td), "tcpdump outlived its testbed capture"
        # a dead engine worker: the probe is an error naming it (not silent hops, not exit 0)
        st = state.read_state(name)
        w = st["workers"][-1]
        os.kill(w["pid"], signal.SIGKILL)
        assert _gone(w["pid"])
        r = _tb("probe", name)
        assert r.returncode == 1 and f"engine worker {w['index']} (pid {w['pid']}" in r.stderr, r.stderr
        assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1
    finally:
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def test_next_up_recovers_after_sigkill_of_up():
    name = N("sec-kup")
    p = subprocess.Popen([TESTBED, "up", "invisible-php", "--name", name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:          # killed in the middle of building
        st = state.read_state(name)
        if st and st.get("workers") and st.get("status") == "building":
            break
        time.sleep(0.02)
    p.kill()
    p.wait()
    try:
        r = _tb("up", "invisible-php", "--name", name)
        assert r.returncode == 0, r.stderr
        assert "removing what a killed `up`" in r.stderr
        assert api.status(name)["status"] == "up"
    finally:
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def test_sigkill_of_run_leaves_no_utnt_and_no_targets_file(tmp_path):
    name = N("sec-krun")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    p = subprocess.Popen([TESTBED, "run", "invisible-php", "--name", name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    try:
        child = _wait_child(p.pid, "utnt.cli", timeout=120)
        p.kill()
        p.wait()
        assert _gone(child), "uTNT outlived its testbed run"
        assert os.listdir(tmp_path) == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
