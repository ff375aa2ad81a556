"""Lifecycle of labs in namespaces: two at once, a second `up`, `down` twice, a killed engine,
an `up` that fails halfway, Ctrl-C at several points of `up`, and the CLI from new shells.
After each test nothing of its labs remains (namespaces, worker processes, run folder)."""
from __future__ import annotations

import json
import shutil
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed import errors
from testbed.lab import load_lab
from testbed.runtimes.netns import api, build as nsbuild, nsutil, teardown
from testbed.tools import scamper
from labnames import N

pytestmark = pytest.mark.netns
NEEDS_TOOLS = pytest.mark.skipif(not (shutil.which("scamper") and shutil.which("tcpdump")),
                                 reason="Debian's scamper and tcpdump are needed (make bootstrap installs them)")

TESTBED = [sys.executable, "-m", "testbed.cli"]
REPO = Path(__file__).resolve().parent.parent


def assert_gone(name):
    left = teardown.leftovers(name)
    assert left == {"namespaces": [], "processes": [], "run_dir": []}, left


def root_links():
    r = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True)
    return sorted((l["ifname"], l.get("address")) for l in json.loads(r.stdout))


def cli(*args, **kw):
    return subprocess.run(TESTBED + list(args), capture_output=True, text=True, cwd=REPO, **kw)


@NEEDS_TOOLS
def test_two_labs_side_by_side_and_second_up_fails_clearly():
    lab = load_lab("invisible-php")
    before = root_links()
    a = api.up(lab, name=N("pt-side-a"))
    try:
        b = api.up(lab, name=N("pt-side-b"))
        try:
            assert not set(a["namespaces"]) & set(b["namespaces"])
            with pytest.raises(errors.TestbedError, match=rf"'{N('pt-side-a')}' is already up .*testbed down {N('pt-side-a')}"):
                api.up(lab, name=N("pt-side-a"))
            assert api.status(N("pt-side-a"))["status"] == "up"       # the failed up touched nothing
            dst = str(lab.probes[0].targets[0])
            for st in (a, b):
                hops = scamper.trace_with_pings(st["hosts"]["vp"], dst, fingerprint=False)
                assert hops[-1].address == dst and hops[2].frpla == 3
            api.down(N("pt-side-a"))
            assert_gone(N("pt-side-a"))
            # b is untouched by a's down
            assert api.status(N("pt-side-b"))["status"] == "up"
            hops = scamper.trace_with_pings(b["hosts"]["vp"], dst, fingerprint=False)
            assert hops[-1].address == dst
        finally:
            api.down(N("pt-side-b"))
    finally:
        api.down(N("pt-side-a"))
    assert_gone(N("pt-side-a"))
    assert_gone(N("pt-side-b"))
    assert root_links() == before


def test_prefixes_never_overlap_between_lab_names():
    """Lab `pt-x`'s leftover sweep must not touch lab `pt-x-y` (names share a prefix)."""
    lab = load_lab("plain-ip", {"hops": 2})
    api.up(lab, name=N("pt-x-y"))
    try:
        r = api.down(N("pt-x"))
        assert not r["was_up"] and r["namespaces_removed"] == 0
        assert api.status(N("pt-x-y"))["status"] == "up"
    finally:
        api.down(N("pt-x-y"))
    assert_gone(N("pt-x-y"))


def test_down_is_idempotent_and_reports():
    lab = load_lab("plain-ip", {"hops": 2})
    st = api.up(lab, name=N("pt-idem"))
    r1 = api.down(N("pt-idem"))
    assert r1["was_up"] and r1["namespaces_removed"] == len(st["namespaces"]) and r1["left"] == []
    assert sorted(r1["workers_stopped"]) == sorted(w["pid"] for w in st["workers"])
    r2 = api.down(N("pt-idem"))
    assert not r2["was_up"] and r2["namespaces_removed"] == 0
    assert_gone(N("pt-idem"))
    assert api.status(N("pt-idem"))["status"] == "down"


def test_killed_engine_is_seen_and_down_cleans_up():
    lab = load_lab("explicit")
    st = api.up(lab, name=N("pt-killed"))
    try:
        victim = st["workers"][0]["pid"]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while nsutil.same_process(victim, st["workers"][0]["start_time"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        s = api.status(N("pt-killed"))
        assert s["status"] == "degraded"
        assert [w["alive"] for w in s["workers"]][0] is False
        r = cli("status", N("pt-killed"))
        assert r.returncode == 1 and "degraded" in r.stdout
    finally:
        api.down(N("pt-killed"))
    assert_gone(N("pt-killed"))


def test_worker_exits_when_its_namespace_vanishes():
    lab = load_lab("plain-ip", {"hops": 2})
    st = api.up(lab, name=N("pt-vanish"), workers=1)
    w = st["workers"][0]
    try:
        subprocess.run(["ip", "netns", "del", st["routers"]["r1"]], check=True)
        deadline = time.monotonic() + 5
        while nsutil.same_process(w["pid"], w["start_time"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not nsutil.same_process(w["pid"], w["start_time"]), "the worker should exit on its own"
    finally:
        api.down(N("pt-vanish"))
    assert_gone(N("pt-vanish"))


def test_failed_up_leaves_nothing(monkeypatch):
    def broken(plan):
        raise errors.TestbedError("injected failure after the links were built")
    steps = list(nsbuild.STEPS)
    steps.insert(steps.index(next(s for s in steps if s[0] == "links")) + 1, ("broken", broken))
    monkeypatch.setattr(nsbuild, "STEPS", tuple(steps))
    before = root_links()
    with pytest.raises(errors.TestbedError, match="injected failure"):
        api.up(load_lab("mixed"), name=N("pt-failed"))
    assert_gone(N("pt-failed"))
    assert root_links() == before


def test_engine_that_cannot_start_fails_up_cleanly(monkeypatch):
    """A worker that dies before it is ready: `up` says so in one line and leaves nothing."""
    lab = load_lab("plain-ip", {"hops": 2})
    real_spawn = api._spawn_workers

    def spawn_then_corrupt(*args, **kw):
        engine = real_spawn(*args, **kw)
        engine.stdin.write(b"no\n")          # the first worker to read takes this for its `go`
        engine.stdin.flush()
        return engine
    monkeypatch.setattr(api, "_spawn_workers", spawn_then_corrupt)
    # either line: "engine worker I (pid P) exited ..." or, when `up` reads the workers' EOF before
    # the exited worker can be reaped (a race under load), "engine workers exited before ..."
    with pytest.raises(errors.TestbedError, match="engine workers? .*exited"):
        api.up(lab, name=N("pt-noengine"))
    assert_gone(N("pt-noengine"))


def _gen_lab(path: Path, n: int) -> Path:
    lines = ["name: gen", "routers:"] + [f"  r{i}: {{}}" for i in range(n)]
    lines += ["hosts:", "  vp: {}", "  dst: {}", "links:", "  - {lan: [r0, vp], name: vp-lan}"]
    lines += [f"  - [r{i}, r{i + 1}]" for i in range(n - 1)]
    lines += [f"  - {{lan: [r{n - 1}, dst], name: dst-lan}}", "probes:", "  - {from: vp, to: dst}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("when", ["namespaces", "links", "engines"])
def test_ctrl_c_during_up_leaves_nothing(tmp_path, when):
    lab_file = _gen_lab(tmp_path / "line.yaml", 120)
    name = N(f"pt-ctrlc-{when}")
    before = root_links()
    # a terminal's Ctrl-C goes to the whole foreground process group: do the same
    p = subprocess.Popen(TESTBED + ["up", str(lab_file), "--name", name], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    try:
        for line in p.stderr:
            seen.append(line)
            if line.startswith(f"» {when}"):
                if when == "engines":
                    time.sleep(0.3)        # the workers are computing their routers
                os.killpg(p.pid, signal.SIGINT)
                break
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        api.down(name)           # only reached by a failed test: clean up for the next one
    assert p.returncode == 130, "".join(seen) + err
    assert "interrupted" in err
    assert_gone(name)
    assert root_links() == before


@NEEDS_TOOLS
def test_cli_from_new_shells(tmp_path):
    """`up`, `status`, `exec`, `capture`, `down` as separate processes (state in the run folder)."""
    name = N("pt-cli")
    before = root_links()
    r = cli("up", "invisible-php", "--name", name, "--json")
    try:
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["status"] == "up" and st["name"] == name
        assert "✓ forwarding" in r.stderr
        r = cli("status", "--json")
        assert name in [x["name"] for x in json.loads(r.stdout)]
        r = cli("status", name, "--json")
        assert r.returncode == 0
        s = json.loads(r.stdout)
        assert s["status"] == "up" and all(w["alive"] for w in s["workers"])
        assert {a["lan"] for a in s["attach"]} == {"vp-lan", "dst-lan"}
        r = cli("up", "invisible-php", "--name", name)
        assert r.returncode == 1 and f"'{name}' is already up" in r.stderr
        dst = st["probes"][0]["targets"][0]
        r = cli("exec", name, "vp", "--", "scamper", "-O", "json", "-c", "trace -P icmp-paris", "-i", dst)
        assert r.returncode == 0, r.stderr
        doc = next(json.loads(l) for l in r.stdout.splitlines() if '"type":"trace"' in l.replace(" ", ""))
        hops = scamper.hops_of(doc)
        lab = load_lab("invisible-php")
        pe1, pe2 = (next(str(i.ip) for i in lab.nodes[n].interfaces if i.peers()[0].node == p)
                    for n, p in (("pe1", "ce1"), ("pe2", "p3")))
        assert [h.address for h in hops[1:3]] == [pe1, pe2] and hops[2].frpla == 3     # invisible tunnel
        assert cli("exec", name, "vp", "--", "sh", "-c", "exit 7").returncode == 7
        assert cli("exec", name, "nosuch", "--", "true").returncode == 2      # bad input
        pcap = tmp_path / "pe1.pcap"
        cap = subprocess.Popen(TESTBED + ["capture", name, "pe1", "eth0", "-w", str(pcap), "-c", "4",
                                          "--timeout", "20"], cwd=REPO, stderr=subprocess.PIPE, text=True)
        for _ in range(15):          # until tcpdump (started by a loaded machine, maybe late) has its 4 frames
            time.sleep(1.0)
            if cap.poll() is not None:
                break
            api.exec_in(name, "vp", ["scamper", "-c", "ping -c 3", "-i", dst], capture_output=True, timeout=30)
        _, err = cap.communicate(timeout=30)
        assert cap.returncode == 0, err
        from scapy.all import rdpcap
        assert len(rdpcap(str(pcap))) == 4
    finally:
        r = cli("down", name)
    assert r.returncode == 0 and f"{name}: down" in r.stdout
    r = cli("down", name)
    assert r.returncode == 0 and "was not up" in r.stdout
    assert_gone(name)
    assert root_links() == before


def test_down_all_finds_every_lab_and_only_labs():
    """`down --all` works on teardown.all_names(): run folders and namespaces with our prefix,
    never a namespace that merely looks similar. (Not run for real here: it would take down
    the labs of whoever uses this machine.)"""
    lab = load_lab("plain-ip", {"hops": 2})
    api.up(lab, name=N("pt-all-a"))
    others = ["tbx-not-a-lab", "tb-no_dot", "tb-.r1"]
    for o in others:
        subprocess.run(["ip", "netns", "add", o], check=True)
    try:
        subprocess.run(["ip", "netns", "add", f"tb-{N('pt-all-b')}.r1"], check=True)    # a leftover without state
        found = teardown.all_names()
        assert N("pt-all-a") in found and N("pt-all-b") in found
        assert not any(n in found for n in ("tbx-not-a-lab", "no_dot", ""))
        st = api.status(N("pt-all-b"))
        assert st["status"] == "orphaned" and st["namespaces"] == [f"tb-{N('pt-all-b')}.r1"]
    finally:
        for o in others:
            subprocess.run(["ip", "netns", "del", o], check=False)
        api.down(N("pt-all-a"))
        api.down(N("pt-all-b"))
    assert_gone(N("pt-all-a"))
    assert_gone(N("pt-all-b"))
