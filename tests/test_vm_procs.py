"""`testbed vm` on a shared machine and when things go wrong (issue 21): an unprivileged user
racing the VM's files overwrites nothing and forges nothing; a killed VM is a failed run
(exit 1) that leaves nothing behind; an argument list the kernel command line cannot hold is
refused before anything is brought up. Skipped with one line where QEMU or the image is missing."""
from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labnames import N  # noqa: E402

from testbed.runtimes import qemu  # noqa: E402
from testbed.runtimes.netns import api, state, teardown  # noqa: E402
from testbed.runtimes.netns.supervisor import Supervisor  # noqa: E402

pytestmark = [pytest.mark.netns, pytest.mark.vm]
TESTBED = str(Path(sys.executable).parent / "testbed")
WHY = qemu.missing()


def _tmp_vm_dirs():
    return set(glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "utnt-vm-*")))


def test_a_kernel_command_line_over_2048_bytes_is_refused_before_anything_runs():
    name = N("vm-cmdline")
    r = subprocess.run([TESTBED, "vm", "invisible-php", "--name", name, "--", "-x", "a" * 2500],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "kernel command line" in lines[0] and "2048" in lines[0], r.stderr
    assert not state.run_dir(name).exists() and api.status(name)["status"] == "down"


RACER = textwrap.dedent("""
    import os, sys, time
    victim, run_dir, tmp, until = sys.argv[1], sys.argv[2], sys.argv[3], time.monotonic() + float(sys.argv[4])
    planted, denied = set(), set()
    while time.monotonic() < until:
        dirs = [os.path.join(tmp, d) for d in os.listdir(tmp) if d.startswith("utnt-vm-")]
        try:
            dirs += [os.path.join(run_dir, d) for d in os.listdir(run_dir)]
        except OSError as e:
            denied.add(f"list {run_dir}: {e.strerror}")
        for d in dirs:
            for f in (".console", "console", "result.json", "share/result.json"):
                try:
                    os.symlink(victim, os.path.join(d, f))
                    planted.add(os.path.join(d, f))
                except OSError:
                    pass
        time.sleep(0.005)
    print("planted", len(planted), *sorted(planted))
    print("denied", *sorted(denied))
""")


@pytest.mark.skipif(WHY is not None, reason=f"QEMU runtime not testable here: {WHY}")
def test_an_unprivileged_user_racing_the_vm_plants_nothing_and_overwrites_nothing(tmp_path):
    pytest.importorskip("pwd")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed (util-linux)")
    from testbed.lab import load_lab
    name = N("vm-race")
    lab = load_lab("invisible-php")
    victim = Path("/var/tmp") / f"utnt-victim-{os.getpid()}"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    before = _tmp_vm_dirs()
    racer_py = Path("/var/tmp") / f"utnt-racer-{os.getpid()}.py"
    racer_py.write_text(RACER)
    os.chmod(racer_py, 0o644)
    api.up(lab, name=name, workers=1)
    racer = None
    try:
        racer = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3",
                                  str(racer_py), str(victim), str(state.run_dir(name)),
                                  os.environ.get("TMPDIR", "/tmp"), "120"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert racer.poll() is None, racer.stderr.read()
        dst = str(lab.nodes["dst"].primary_address())
        doc = qemu.boot_on_lab(lab, name, "vp", ["traceroute", "-q", "1", "-w", "1", "-m", "8", dst],
                               image=qemu.Image.ours("tiny"), timeout=300)
        racer.send_signal(signal.SIGKILL)
        racer.wait()
        # the run was real: the guest's hops came back through the share, unforged
        assert doc["run"]["ok"], doc["run"]
        assert doc["hops"] and doc["hops"][-1] == dst
        assert victim.read_text() == "precious\n"
        assert _tmp_vm_dirs() == before                       # nothing in the shared TMPDIR at all
        assert not list(state.run_dir(name).glob("vm-*"))     # its private folder went with it
    finally:
        if racer is not None and racer.poll() is None:
            racer.kill()
            racer.wait()
        api.down(name)
        victim.unlink()
    # and a racer that does get its time: it can neither list nor plant (a second, short run)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3",
                        str(racer_py), "/etc/hostname", str(state.run_root()), "/tmp", "0.2"],
                       capture_output=True, text=True, timeout=30)
    racer_py.unlink()
    assert r.stdout.startswith("planted 0"), r.stdout + r.stderr


@pytest.mark.skipif(WHY is not None, reason=f"QEMU runtime not testable here: {WHY}")
def test_a_killed_vm_is_a_failed_run_and_leaves_nothing():
    name = N("vm-kill")
    before = _tmp_vm_dirs()
    p = subprocess.Popen([TESTBED, "vm", "invisible-php", "--image", "tiny", "--name", name, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def qemu_rec():
            if not state.run_dir(name).is_dir():
                return None
            recs = [c for c in Supervisor(state.run_dir(name)).children("detector") if c.alive()]
            return recs[0] if recs else None
        rec = None
        deadline = time.monotonic() + 180
        while rec is None and time.monotonic() < deadline:
            rec = qemu_rec()
            time.sleep(0.05)
        assert rec is not None, "no QEMU on record"
        assert list(state.run_dir(name).glob("vm-*")), "no private VM folder in the run folder"
        time.sleep(0.5)
        os.kill(rec.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
            api.down(name)
    assert p.returncode == 1, err
    doc = json.loads(out)
    assert doc["run"]["ok"] is False and "killed" in doc["run"]["error"], doc["run"]
    assert doc["traces"] == [] and doc["score"] is None
    assert _tmp_vm_dirs() == before
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
