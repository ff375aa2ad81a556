"""A lab's children on record (supervisor.py) on real labs: a capture and the engine workers
are listed by `status` with their health, and `testbed down` from another process stops
exactly the recorded processes, also those of an `up` killed with SIGKILL mid-build."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labnames import N  # noqa: E402

from testbed.runtimes.netns import api, nsutil, state, teardown  # noqa: E402
from testbed.runtimes.netns.supervisor import Supervisor  # noqa: E402

pytestmark = pytest.mark.netns
TESTBED = str(Path(sys.executable).parent / "testbed")


def _wait(pred, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout} s")


def test_down_from_another_process_stops_a_recorded_capture_first():
    name = N("pt-sup-cap")
    r = subprocess.run([TESTBED, "up", "plain-ip", "--set", "hops=2", "--name", name], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cap = None
    try:
        cap = subprocess.Popen([TESTBED, "capture", name, "r1", "eth0", "-w", "/dev/null"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sup = Supervisor(state.run_dir(name))
        rec = _wait(lambda: sup.children("capture"), what="capture record")[0]
        assert rec.alive() and "tcpdump" in " ".join(nsutil.proc_cmdline(rec.pid))
        st = api.status(name)
        roles = sorted({(p["role"], p["alive"]) for p in st["processes"]})
        assert roles == [("capture", True), ("worker", True)]
        assert sorted(p["pid"] for p in st["processes"] if p["role"] == "worker") == \
            sorted(w["pid"] for w in st["workers"])
        r = subprocess.run([TESTBED, "down", name, "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        doc = doc[0] if isinstance(doc, list) else doc
        assert doc["captures_stopped"] == [rec.pid]
        assert sorted(doc["workers_stopped"]) == sorted(w["pid"] for w in st["workers"])
        assert doc["processes_still_inside"] == []          # tcpdump was stopped before its namespace went
        assert not rec.alive()
        cap.wait(timeout=10)
    finally:
        if cap is not None and cap.poll() is None:
            cap.kill()
            cap.wait()
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


# an `up` that stops in its forwarding check (the workers serve by then) and says so
UP_THEN_HANG = """
import sys, time
from testbed.runtimes.netns import api, check
def hang(*a, **k):
    print("checking", flush=True)
    time.sleep(120)
check.check_forwarding = hang
api.up("invisible-php", name=sys.argv[1], workers=2)
"""


def test_down_after_a_sigkilled_up_stops_every_recorded_worker():
    name = N("pt-sup-kup")
    p = subprocess.Popen([sys.executable, "-c", UP_THEN_HANG, name], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "checking"
        sup = Supervisor(state.run_dir(name))
        kids = sup.children("worker")        # the forked one recorded itself
        assert len(kids) == 2
        p.kill()
        p.wait()
        assert api.status(name)["status"] == "failed"          # its `up` is gone
        # past `go`, the workers do not end with their `up`: they serve until stopped
        time.sleep(1.0)
        assert all(c.alive() for c in kids)
        r = subprocess.run([TESTBED, "down", name, "--json"], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        doc = doc[0] if isinstance(doc, list) else doc
        assert sorted(doc["workers_stopped"]) == sorted(c.pid for c in kids)
        assert not any(c.alive() for c in kids)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
