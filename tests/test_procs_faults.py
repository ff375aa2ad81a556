"""Failures during experiments on real labs, on real processes: a killed engine worker, a
killed or flooding detector, a detector's child that would outlive it, a killed
`probe --parallel`, stale leases, a second run root. Each must end with a non-zero exit, the
traces it cannot vouch for listed and left out of the score, and nothing left after `down`."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
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
# the same faults under micro-VMs in `ondemand` (about a minute under TCG): UTNT_TEST_VM_FAULTS=1
VM_FAULTS = os.environ.get("UTNT_TEST_VM_FAULTS") == "1"


def _wait(pred, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout} s")


def _up(name, lab="invisible-php", workers=2):
    r = subprocess.run([TESTBED, "up", lab, "--name", name, "--workers", str(workers)], capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr


def _down_and_check(name):
    r = subprocess.run([TESTBED, "down", name], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def _taps(name):
    sw = state.read_state(name)["switch"]
    out = subprocess.run(["ip", "-n", sw, "-o", "link", "show"], capture_output=True, text=True).stdout
    return [ln.split(":")[1].strip().split("@")[0] for ln in out.splitlines() if ": ui" in ln]


def test_a_killed_engine_worker_during_a_campaign_fails_it_and_its_traces_are_not_scored(tmp_path):
    name = N("pf-worker")
    _up(name)
    try:
        camp = tmp_path / "c.yaml"
        camp.write_text("vantage_points: all\ndestinations: [dst]\nstart_times: {every: 0.25, count: 16}\n")
        p = subprocess.Popen([TESTBED, "probe", name, "--campaign", str(camp), "--parallel", "4", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sup = Supervisor(state.run_dir(name))
        _wait(lambda: sup.children("detector"), what="a running uTNT instance")
        time.sleep(1.0)
        victim = api.status(name)["workers"][0]["pid"]
        os.kill(victim, signal.SIGKILL)
        out, err = p.communicate(timeout=300)
        assert p.returncode == 1, err
        doc = json.loads(out)
        assert doc["ok"] is False and doc["health"]["ok"] is False
        assert "engine worker" in doc["health"]["problem"]
        bad = [r for r in doc["instances"] if r.get("unvouched") or r.get("error")]
        assert bad, doc["summary"]
        # instances that ended after the death are listed and left out of the score
        for r in doc["instances"]:
            if r.get("unvouched"):
                assert r.get("score") is None and "verdicts" not in r
        assert len(doc["unvouched"]) == sum(1 for r in doc["instances"] if r.get("unvouched"))
        assert doc["summary"]["completed"] + doc["summary"]["failed"] + doc["summary"]["unvouched"] == 16
        assert not doc["score"]["perfect"]
        assert not list((state.run_dir(name) / "instances").glob("*")) and not _taps(name)
    finally:
        _down_and_check(name)


def test_sigterm_of_probe_parallel_releases_its_taps_and_leases_and_stale_leases_are_reclaimed():
    name = N("pf-sigterm")
    _up(name, workers=1)
    try:
        p = subprocess.Popen([TESTBED, "probe", name, "--from", "vp", "--repeat", "12", "--parallel", "6", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sup = Supervisor(state.run_dir(name))
        _wait(lambda: len(sup.children("detector")) >= 3, what="three running uTNT instances")
        assert _taps(name)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 128 + signal.SIGTERM, err
        assert "terminated by SIGTERM" in out          # --json: the error is JSON on stdout
        assert not list((state.run_dir(name) / "instances").glob("*")), "leases left"
        assert not _taps(name), "taps left"
        assert not [c for c in sup.children("detector") if c.alive()]
        # a SIGKILLed taker leaves its lease and tap: the next lease reclaims them by its PID
        from testbed.lab import load_lab
        from testbed.runtimes.netns.instances import lease_instance, release_instance
        lab = load_lab("invisible-php")
        dead = subprocess.Popen(["sleep", "0"])
        dead.wait()
        lease = lease_instance(lab, name, "vp")
        rec = state.run_dir(name) / "instances" / lease["address"]
        rec.write_text(json.dumps({**lease, "pid": dead.pid, "start_time": 1}))
        empty = state.run_dir(name) / "instances" / "10.255.255.254"
        empty.write_text("")                                  # a lease whose writer died (full disk)
        os.utime(empty, (time.time() - 60, time.time() - 60))
        fresh = lease_instance(lab, name, "vp")
        try:
            assert not empty.exists()
            assert fresh["address"] == lease["address"]          # reclaimed, so taken again
            assert json.loads(rec.read_text())["pid"] == os.getpid()
            assert _taps(name) == [fresh["tap"]]
        finally:
            release_instance(name, fresh)
    finally:
        _down_and_check(name)


def _sleepers(tag):
    return [pid for pid, _ in nsutil.live_processes() if nsutil.proc_cmdline(pid)[-1:] == [tag]]


@pytest.mark.skipif(shutil.which("traceroute") is None, reason="traceroute is not installed (apt-get install traceroute)")
def test_a_detector_cmd_child_is_stopped_with_it_and_a_flood_is_cut_short():
    """`run --detector-cmd`: what the command forks goes with it (not holding the vantage point's
    namespace after `run`); output beyond the limit stops it with one line, exit 1, lab down."""
    name = N("pf-detcmd")
    tag = f"{random.randint(100000, 999999)}.5"
    cmd = f"sh -c 'sleep {tag} & exec traceroute -n -q 1 -w 1 -I {{dst}}'"
    t0 = time.monotonic()
    r = subprocess.run([TESTBED, "run", "invisible-php", "--runtime", "netns", "--name", name, "--detector-cmd", cmd,
                        "--format", "traceroute", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["traces"]
    assert _sleepers(tag) == [], "the detector's child outlived run"
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
    assert time.monotonic() - t0 < 120
    r = subprocess.run([TESTBED, "run", "invisible-php", "--runtime", "netns", "--name", name,
                        "--detector-cmd", "yes {dst}"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "wrote more than" in lines[0], r.stderr      # its only vantage point failed
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def test_down_stops_a_running_detectors_whole_group():
    """A detector run killed with its parent (SIGKILL: no cleanup of its own) leaves a child in
    the vantage point's namespace; `down` stops it by the recorded group."""
    name = N("pf-detgrp")
    _up(name, workers=1)
    tag = f"{random.randint(100000, 999999)}.25"
    code = ("import sys\nfrom testbed.detectors.registry import run_detector\n"
            f"run_detector(None, {name!r}, 'vp', ['12.0.1.2'], cmd=\"sh -c 'sleep {tag} & sleep {tag}; echo {{dst}}'\")\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(_sleepers(tag)) == 2, what="the detector's two sleeps")
        p.kill()
        p.wait()
        time.sleep(0.3)
        assert _sleepers(tag), "the kill took the children too: nothing to test"
    finally:
        _down_and_check(name)
    assert _sleepers(tag) == []


def test_a_lab_up_under_another_run_root_is_not_called_orphaned_nor_destroyed(tmp_path):
    name = N("pf-root")
    _up(name, workers=1)
    try:
        env = {**os.environ, "UTNT_LAB_RUN": str(tmp_path / "other")}
        r = subprocess.run([TESTBED, "status", name, "--json"], capture_output=True, text=True, env=env, timeout=60)
        st = json.loads(r.stdout)
        assert st["status"] == "elsewhere" and st["run_dir"] == str(state.run_dir(name)), st
        r = subprocess.run([TESTBED, "down", name], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 1 and "another run folder" in r.stderr and "nothing removed" in r.stderr, r.stderr
        assert api.status(name)["status"] == "up"
    finally:
        _down_and_check(name)


def test_a_full_state_disk_fails_every_instance_with_exit_1_and_leaves_no_empty_lease():
    name = N("pf-full")
    _up(name, workers=1)
    inst = state.run_dir(name) / "instances"
    inst.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k,mode=0700", "utnt-test-full", str(inst)], check=True)
    try:
        fill = inst / ".fill"
        with open(fill, "wb") as f:
            try:
                f.write(b"x" * 65536)
            except OSError:
                pass
        r = subprocess.run([TESTBED, "probe", name, "--from", "vp", "--repeat", "2", "--parallel", "2", "--json"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        doc = json.loads(r.stdout)
        assert doc["summary"]["instances"] == 2 and doc["summary"]["failed"] == 2, doc["summary"]
        assert all("cannot record the lease" in i["error"] for i in doc["instances"]), doc["instances"]
        assert sorted(p.name for p in inst.iterdir()) == [".fill"]       # no 0-byte lease left
        assert not _taps(name)
    finally:
        subprocess.run(["umount", str(inst)], capture_output=True)
        _down_and_check(name)


def _kill_when(name, role_pred, what, timeout=180):
    """SIGKILL the first process `role_pred(sup)` names once the lab's run folder has it."""
    def find():
        if not state.run_dir(name).is_dir():
            return None
        try:
            return role_pred(Supervisor(state.run_dir(name)))
        except (OSError, ValueError, KeyError):
            return None
    pid = _wait(find, timeout, what)
    os.kill(pid, signal.SIGKILL)
    return pid


def _first_detector(sup):
    alive = [c for c in sup.children("detector") if c.alive()]
    return alive[0].pid if alive else None


def _a_worker_once_probing(sup):
    if not _first_detector(sup):
        return None
    w = [c for c in sup.children("worker") if c.alive()]
    return w[0].pid if w else None


@pytest.mark.parametrize("command", ["run", "campaign"])
def test_a_killed_engine_worker_during_run_or_campaign_exits_1_with_the_traces_listed(command, tmp_path):
    name = N(f"pf-{command}-w")
    argv = [TESTBED, command, "five-vp", "--runtime", "netns", "--name", name, "--json"]
    if command == "campaign":
        argv += ["--no-pictures", "-o", str(tmp_path / "out")]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _kill_when(name, _a_worker_once_probing, "an engine worker while uTNT probes")
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, err
    doc = json.loads(out)
    assert doc["ok"] is False and doc["unvouched"], doc.keys()
    # the vantage point probing when the worker died: its uTNT failed or its traces are unvouched;
    # the health check after it names the dead worker, and the vantage points after it are not probed
    assert any("engine worker" in u["why"] for u in doc["unvouched"]), doc["unvouched"]
    assert all("engine worker" in u["why"] or "uTNT failed" in u["why"] for u in doc["unvouched"]), doc["unvouched"]
    if command == "run":
        scored = {(t["vantage_point"], t["dst"]) for t in doc["traces"]}
        assert not scored & {(u["vantage_point"], u["dst"]) for u in doc["unvouched"]}
        assert "not vouched for" in err
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def test_a_killed_detector_during_run_lists_its_targets_and_the_others_are_scored():
    name = N("pf-run-det")
    p = subprocess.Popen([TESTBED, "run", "five-vp", "--runtime", "netns", "--name", name, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _kill_when(name, _first_detector, "a running uTNT")
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, err
    doc = json.loads(out)
    vps = {u["vantage_point"] for u in doc["unvouched"]}
    assert len(vps) == 1 and all("uTNT failed" in u["why"] for u in doc["unvouched"]), doc["unvouched"]
    assert doc["traces"] and vps.isdisjoint({t["vantage_point"] for t in doc["traces"]})
    assert doc["score"]["totals"]["traces"] == len(doc["traces"])
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def test_a_killed_instance_during_probe_parallel_is_a_failed_instance_and_exit_1():
    name = N("pf-inst")
    _up(name, workers=1)
    try:
        p = subprocess.Popen([TESTBED, "probe", name, "--from", "vp", "--repeat", "4", "--parallel", "2", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _kill_when(name, _first_detector, "a running uTNT instance")
        out, err = p.communicate(timeout=300)
        assert p.returncode == 1, err
        doc = json.loads(out)
        assert doc["summary"]["failed"] >= 1 and doc["ok"] is False
        assert doc["health"]["ok"] is True                         # the lab itself stayed healthy
        assert not list((state.run_dir(name) / "instances").glob("*")) and not _taps(name)
    finally:
        _down_and_check(name)


def test_a_healthy_probe_from_all_exits_0_with_nothing_unvouched():
    """The other side of the checks: on a healthy lab every instance is scored and the exit is 0
    (`--from all`, as the README shows it)."""
    name = N("pf-healthy")
    _up(name, lab="five-vp", workers=2)
    try:
        r = subprocess.run([TESTBED, "probe", name, "--from", "all", "--parallel", "5", "--json"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["ok"] and doc["health"] == {"ok": True, "problem": None} and doc["unvouched"] == []
        assert doc["summary"]["completed"] == doc["summary"]["instances"] == 5
        assert all(i.get("score") for i in doc["instances"])
    finally:
        _down_and_check(name)


def _die_on_three(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)     # a pool worker killed mid-campaign (real process death)
    time.sleep(0.05)
    return x


def test_a_killed_pool_worker_is_one_error_line_not_an_internal_error():
    from testbed.errors import TestbedError
    from testbed.experiments.pool import Executor
    with pytest.raises(TestbedError, match="worker process of the pool died"):
        with Executor(workers=2) as ex:
            ex.map(_die_on_three, range(8))


def test_down_all_under_another_root_removes_its_own_labs_and_leaves_the_live_one(monkeypatch):
    """teardown.down_all over two names only (never `down --all` here: other people's labs are up
    on this machine): the lab of this root goes, the live one of the default root stays."""
    name, mine = N("pf-all-live"), N("pf-all-mine")
    _up(name, workers=1)
    root = Path(f"/run/utnt-test-root-{os.getpid()}")
    env = {**os.environ, "UTNT_LAB_RUN": str(root)}
    try:
        r = subprocess.run([TESTBED, "up", "plain-ip", "--set", "hops=2", "--name", mine], capture_output=True,
                           text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        from testbed.errors import TestbedError
        monkeypatch.setenv("UTNT_LAB_RUN", str(root))
        with pytest.raises(TestbedError, match="another run folder") as e:
            teardown.down_all([name, mine])
        assert name in str(e.value) and "1 other labs removed" in str(e.value)
        monkeypatch.delenv("UTNT_LAB_RUN")
        assert api.status(name)["status"] == "up"              # the live lab of the other root stays
        assert not (root / mine).exists() and not [n for n in nsutil.list_netns() if n.startswith(f"tb-{mine}.")]
    finally:
        subprocess.run([TESTBED, "down", mine], capture_output=True, env=env, timeout=120)
        _down_and_check(name)


@pytest.mark.parametrize("runtime", ["utnt-process", "utnt-vm"])
def test_a_killed_engine_worker_during_ondemand_exits_1_and_leaves_nothing(runtime, tmp_path):
    if runtime == "utnt-vm" and not VM_FAULTS:
        pytest.skip("micro-VMs under ondemand: UTNT_TEST_VM_FAULTS=1 (a killed VM is tested in test_vm_procs.py)")
    if runtime == "utnt-vm":
        from testbed.experiments.ondemand_runtimes import UtntVm
        why = UtntVm().missing()
        if why:
            pytest.skip(f"micro-VM runtime not testable here: {why}")
    name = N(f"pf-od-{runtime[5:]}")
    events = 12 if runtime == "utnt-process" else 4
    p = subprocess.Popen([TESTBED, "ondemand", "five-vp", "--name", name, "--events", str(events), "--interval",
                          "0.3", "--nodes", "3", "--runtimes", runtime, "--plot", str(tmp_path / "o.png"), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _kill_when(name, _a_worker_once_probing, "an engine worker while instances run", timeout=240)
        out, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, err
    r = json.loads(out)["runtimes"][0]
    assert r["health"] and "engine worker" in r["health"], r
    assert r["failed"] + r["unvouched"] >= 1
    # nothing it cannot vouch for is scored: the scored traces all ended while the lab was healthy
    assert r["traces_scored"] <= r["completed"]
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.mark.parametrize("what", ["ondemand-utnt-process", "ondemand-utnt-vm", "campaign"])
def test_a_killed_detector_or_vm_fails_its_event_or_vantage_point_with_exit_1(what, tmp_path):
    if what == "ondemand-utnt-vm" and not VM_FAULTS:
        pytest.skip("micro-VMs under ondemand: UTNT_TEST_VM_FAULTS=1 (a killed VM is tested in test_vm_procs.py)")
    if what == "ondemand-utnt-vm":
        from testbed.experiments.ondemand_runtimes import UtntVm
        why = UtntVm().missing()
        if why:
            pytest.skip(f"micro-VM runtime not testable here: {why}")
    name = N(f"pf-kd-{what[-7:]}")
    if what == "campaign":
        argv = [TESTBED, "campaign", "five-vp", "--runtime", "netns", "--name", name, "--no-pictures",
                "-o", str(tmp_path / "out"), "--json"]
    else:
        argv = [TESTBED, "ondemand", "five-vp", "--name", name, "--events", "3", "--interval", "0.3", "--nodes", "3",
                "--runtimes", what[len("ondemand-"):], "--plot", str(tmp_path / "o.png"), "--json"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        killed = _kill_when(name, _first_detector, "a running detector (uTNT or QEMU)", timeout=240)
        out, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, err
    doc = json.loads(out)
    if what == "campaign":
        assert len({u["vantage_point"] for u in doc["unvouched"]}) == 1 and "uTNT failed" in doc["unvouched"][0]["why"]
        assert doc["traces"] > 0                         # the other vantage points were probed and scored
        assert doc["vantage_points"] == 5
    else:
        r = doc["runtimes"][0]
        assert r["failed"] >= 1 and r["health"] is None, r
        assert r["traces_scored"] == r["completed"]
    assert not nsutil.same_process(killed, None)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


def _scoreboard_instance(started: float):
    """The netns instance a `testbed scoreboard five-vp --runtime netns` of this test started
    (named sb<random>-five-vp by the scoreboard), once its run folder is there."""
    for n in state.instances():
        d = state.run_dir(n)
        if n.startswith("sb") and n.endswith("-five-vp") and d.is_dir() and d.stat().st_mtime >= started - 1:
            return n
    return None


@pytest.mark.parametrize("command", ["scoreboard", "failure"])
def test_a_killed_engine_worker_during_scoreboard_or_failure_exits_1_with_the_traces_listed(command, tmp_path):
    """The experiments `run` and `campaign` share: a netns scoreboard and a link-failure run
    also exit 1 and list the traces they could not vouch for (they exited 0 and scored a dead
    worker's silent hops as misses)."""
    started = time.time()
    if command == "scoreboard":
        argv = [TESTBED, "scoreboard", "five-vp", "--runtime", "netns", "--json"]
    else:
        name = N("pf-fail-w")
        argv = [TESTBED, "campaign", "five-vp", "--runtime", "netns", "--name", name, "--fail-link", "pe1,p1",
                "--json"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if command == "scoreboard":
            name = _wait(lambda: _scoreboard_instance(started), 120, "the scoreboard's lab")
        _kill_when(name, _a_worker_once_probing, "an engine worker while uTNT probes")
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1, err
    assert "not vouched for" in err and "engine worker" in err, err
    doc = json.loads(out)
    bad = [u for r in doc for u in r["unvouched"]] if command == "scoreboard" else doc["unvouched"]
    assert bad and any("engine worker" in u["why"] for u in bad), bad
    if command == "failure":
        assert doc["ok"] is False and doc["changed"] == []
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
