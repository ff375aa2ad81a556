"""The process supervisor (testbed/runtimes/netns/supervisor.py) on real processes: a child
that ignores SIGTERM, a recorded PID the kernel gave to another process, a supervising
process killed with SIGKILL, a run that times out. No namespaces needed; the PID reuse test
needs root (it steers the kernel's next PID through /proc/sys/kernel/ns_last_pid)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from testbed.runtimes.netns import nsutil
from testbed.runtimes.netns.supervisor import Supervisor

PY = sys.executable
IGNORES_TERM = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('ready', flush=True); time.sleep(120)")


def _wait_line(p):
    assert p.stdout.readline().strip() in ("ready", b"ready")


def _gone(pid: int, start) -> bool:
    return not nsutil.same_process(pid, start)


def test_child_that_ignores_sigterm_is_killed_and_reaped(tmp_path):
    sup = Supervisor(tmp_path)
    c = sup.start("detector", [PY, "-c", IGNORES_TERM], stdout=subprocess.PIPE, text=True)
    _wait_line(c.popen)
    rec = json.loads((tmp_path / "procs" / f"detector.{c.pid}.json").read_text())
    assert rec["pid"] == c.pid and rec["start_time"] == nsutil.proc_start_time(c.pid) and rec["owner"] == os.getpid()
    assert [h["alive"] for h in sup.health()] == [True]
    t0 = time.monotonic()
    out = sup.stop_all(wait=0.5)
    took = time.monotonic() - t0
    assert out == {"detector": [c.pid]}
    # SIGTERM was ignored: it took the wait, then SIGKILL; its exit status was collected
    assert took >= 0.5 and c.popen.returncode == -signal.SIGKILL
    assert _gone(c.pid, c.start_time) and not os.path.exists(f"/proc/{c.pid}")      # no zombie either
    assert sup.children() == [] and list((tmp_path / "procs").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="steering the next PID needs root")
def test_a_recorded_pid_given_to_another_process_is_never_signalled(tmp_path):
    sup = Supervisor(tmp_path)
    old = sup.start("worker", [PY, "-c", "import time; time.sleep(120)"])
    time.sleep(0.05)            # a start time is in clock ticks (10 ms): the stranger starts in a later one
    os.kill(old.pid, signal.SIGKILL)
    old.popen.wait()
    # the kernel hands the same PID to a new process (we ask for it: ns_last_pid = pid - 1;
    # other processes on the machine may take it first, so try a few times)
    stranger = None
    for _ in range(200):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(old.pid - 1))
        p = subprocess.Popen(["sleep", "120"])
        if p.pid == old.pid:
            stranger = p
            break
        p.kill()
        p.wait()
    if stranger is None:
        pytest.skip("the machine kept taking the PID first")
    try:
        assert nsutil.proc_start_time(stranger.pid) != old.start_time
        assert [h["alive"] for h in sup.health()] == [False]
        assert sup.stop_all(wait=0.3) == {"worker": []}
        time.sleep(0.2)
        assert stranger.poll() is None, "the supervisor signalled a process it never started"
        assert sup.children() == []
    finally:
        stranger.kill()
        stranger.wait()


PARENT = textwrap.dedent("""
    import subprocess, sys, time
    from testbed.runtimes.netns.supervisor import Supervisor
    sup = Supervisor(sys.argv[1])
    a = sup.start("worker", [sys.executable, "-c", "import time; time.sleep(120)"])
    b = sup.start("sync", [sys.executable, "-c", sys.argv[2]])
    print(a.pid, b.pid, flush=True)
    time.sleep(120)
""")


def test_children_of_a_sigkilled_parent_are_found_and_stopped(tmp_path):
    bystander = subprocess.Popen(["sleep", "120"])        # not recorded: must survive
    parent = subprocess.Popen([PY, "-c", PARENT, str(tmp_path), IGNORES_TERM], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in parent.stdout.readline().split()]
        starts = [nsutil.proc_start_time(p) for p in pids]
        parent.kill()
        parent.wait()
        # the children outlive their parent (sessions of their own), and are on record
        assert all(nsutil.same_process(p, s) for p, s in zip(pids, starts))
        sup = Supervisor(tmp_path)                        # a new process's view: the run folder only
        assert sorted((h["role"], h["pid"], h["alive"]) for h in sup.health()) == \
            sorted([("worker", pids[0], True), ("sync", pids[1], True)])
        out = sup.stop_all(wait=0.5)
        assert out == {"sync": [pids[1]], "worker": [pids[0]]}       # STOP_ORDER: sync before workers
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(_gone(p, s) for p, s in zip(pids, starts)):
            time.sleep(0.05)
        assert all(_gone(p, s) for p, s in zip(pids, starts))
        assert bystander.poll() is None
        assert sup.children() == []
    finally:
        bystander.kill()
        bystander.wait()
        for p in (parent,):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_run_that_times_out_leaves_no_child_and_no_record(tmp_path):
    sup = Supervisor(tmp_path)
    with pytest.raises(subprocess.TimeoutExpired):
        sup.run("detector", [PY, "-c", IGNORES_TERM], timeout=0.5)
    assert sup.children() == []
    r = sup.run("detector", [PY, "-c", "import sys; print(sys.stdin.read().upper())"], input="a b\n")
    assert r.returncode == 0 and r.stdout == "A B\n\n" and sup.children() == []


def test_tied_child_dies_with_its_parent(tmp_path):
    code = textwrap.dedent("""
        import sys, time
        from testbed.runtimes.netns.supervisor import Supervisor
        c = Supervisor(sys.argv[1]).start("capture", ["sleep", "120"], tie=True)
        print(c.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([PY, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    start = nsutil.proc_start_time(pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not _gone(pid, start):
        time.sleep(0.05)
    assert _gone(pid, start), "a tied capture outlived the process that started it"
    # its record is left (the parent could not remove it); stopping it is harmless
    assert Supervisor(tmp_path).stop_all() == {"capture": []}


def test_without_a_run_folder_records_stay_in_memory():
    sup = Supervisor()
    c = sup.start("detector", ["sleep", "60"])
    assert [x.pid for x in sup.children()] == [c.pid]
    assert sup.stop_all(wait=1.0) == {"detector": [c.pid]}
    assert c.popen.returncode == -signal.SIGTERM and sup.children() == []


def test_run_stops_what_the_child_forked_and_cuts_a_flood_short():
    """A detector run is a process group: a child it left holding its output is stopped (the
    run ends about DRAIN_S after the detector, not when the child would), and output beyond
    the limit stops it with OutputLimit instead of filling memory."""
    import random
    import time

    import pytest
    from testbed.runtimes.netns import nsutil
    from testbed.runtimes.netns.supervisor import DRAIN_S, OutputLimit, Supervisor
    tag = f"{random.randint(100000, 999999)}.75"
    t0 = time.monotonic()
    r = Supervisor().run("detector", ["sh", "-c", f"sleep {tag} & echo hop"], timeout=30)
    assert r.returncode == 0 and r.stdout == "hop\n"
    assert time.monotonic() - t0 < DRAIN_S + 5
    assert not [pid for pid, _ in nsutil.live_processes() if nsutil.proc_cmdline(pid)[-1:] == [tag]]
    with pytest.raises(OutputLimit, match="more than 1048576 bytes"):
        Supervisor().run("detector", ["yes", "x"], timeout=30, limit=1 << 20)
