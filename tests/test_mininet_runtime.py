"""`testbed up LAB --runtime mininet`: Mininet's prompt on a working lab (driven with tmux, as a
person would type), the routers' engine forwarding a real traceroute through the invisible
tunnel, the root namespace holding no address or route, and nothing left after `exit`."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labnames import N
from testbed.runtimes import mininet

pytestmark = pytest.mark.netns
WHY = mininet.available() or (None if shutil.which("tmux") else "tmux is not installed")
if WHY:
    pytest.skip(f"Mininet runtime not testable here: {WHY}", allow_module_level=True)

TESTBED = str(Path(sys.executable).with_name("testbed"))


def _pane(sess):
    return subprocess.run(["tmux", "capture-pane", "-p", "-S", "-200", "-t", sess], capture_output=True,
                          text=True).stdout


def _wait(sess, pattern, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = _pane(sess)
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.3)
    raise AssertionError(f"no {pattern!r} on the screen after {timeout} s:\n{_pane(sess)}")


def test_mininet_prompt_traces_through_the_lab_and_tears_down():
    name = N("mn-inv")
    sess = f"utnt-{name}"
    from testbed.lab import load_lab
    load_lab("invisible-php")          # the lab loads before tmux and Mininet are tried
    def root_links():
        out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}
    before = root_links()
    routes_before = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    subprocess.run(["tmux", "new-session", "-d", "-x", "200", "-y", "50", "-s", sess,
                    f"{TESTBED} up invisible-php --runtime mininet --name {name}; sleep 5"], check=True)
    try:
        _wait(sess, r"^mininet>\s*$", 180)
        # containment: the bridges live in the switches' own namespaces; the root namespace
        # gains no interface and no route
        assert root_links() == before
        assert subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True,
                              text=True).stdout == routes_before
        subprocess.run(["tmux", "send-keys", "-t", sess, "py [s.cmd('ls /sys/class/net/%s/brif' % s.name).split() "
                        "for s in net.switches]", "Enter"])
        text = _wait(sess, r"\[\[.*-eth.*\]\]", 30)
        assert text.count("-eth") >= 3          # vp-lan (ce1, vp), dst-lan (ce2, dst): ports in each bridge
        # the prompt: a traceroute crosses the lab (invisible PHP: pe1 then pe2, the LSRs hidden)
        subprocess.run(["tmux", "send-keys", "-t", sess, "vp traceroute -n -I -q 1 -w 2 12.0.1.2", "Enter"])
        text = _wait(sess, r"\n\s*5\s+12\.0\.1\.2 ", 60)
        hops = re.findall(r"^\s*(\d)\s+(\S+)", text.split("traceroute to")[-1], re.M)
        assert [h[1] for h in hops] == ["12.0.0.1", "11.0.0.1", "11.0.0.9", "11.0.0.11", "12.0.1.2"]
        # the Python API
        subprocess.run(["tmux", "send-keys", "-t", sess, "py len(net.hosts)", "Enter"])
        _wait(sess, r"\n9\s*\n", 30)                                  # 7 routers and 2 hosts
        subprocess.run(["tmux", "send-keys", "-t", sess, "exit", "Enter"])
        end = time.monotonic() + 60
        while time.monotonic() < end and any(n.startswith(f"tb-{name}.") for n in subprocess.run(
                ["ip", "netns", "list"], capture_output=True, text=True).stdout.split()):
            time.sleep(0.3)
        time.sleep(1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
            if n.startswith(f"tb-{name}.")]
    assert not left and root_links() == before


def test_missing_mininet_is_one_line(monkeypatch):
    monkeypatch.setattr(mininet, "SYSTEM_PYTHON", "/nonexistent/python3")
    assert mininet.available() == "/nonexistent/python3 is missing (Debian's Python runs Mininet)"


def test_terminal_gone_tears_everything_down():
    """tmux killed under the prompt (SIGHUP): the driver still stops the engine by its PIDs and
    removes bridges and namespace names."""
    from testbed.lab import load_lab
    name = N("mn-hup")
    sess = f"utnt-{name}"
    lab = load_lab("invisible-php")
    sw = [mininet.switch_name(name, k) for k, ln in enumerate(lab.links) if ln.kind == "lan"]
    subprocess.run(["tmux", "new-session", "-d", "-s", sess,
                    f"{TESTBED} up invisible-php --runtime mininet --name {name}"], check=True)
    try:
        _wait(sess, r"^mininet>\s*$", 180)
        run = Path("/run/utnt-lab-mininet") / name / "driver.json"
        import json
        engine = json.loads(run.read_text())["engine"]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    end = time.monotonic() + 60
    while time.monotonic() < end and (run.exists() or any(os.path.exists(f"/proc/{p}") for p in engine.values())):
        time.sleep(0.3)
    assert not run.exists() and not any(os.path.exists(f"/proc/{p}") for p in engine.values())
    time.sleep(1)
    assert not run.parent.exists()                               # the run folder is gone too
    left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
            if n.startswith(f"tb-{name}.")]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert not left and not any(f" {s}:" in links for s in sw)


SYSCTLS = ("kernel.pty.max", "net.ipv4.neigh.default.gc_thresh1", "net.ipv4.neigh.default.gc_thresh2",
           "net.ipv4.neigh.default.gc_thresh3", "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_rmem",
           "net.ipv4.tcp_wmem", "net.core.netdev_max_backlog", "fs.file-max", "net.ipv4.route.max_size")


def _sysctls():
    out = {}
    for k in SYSCTLS:
        try:
            out[k] = Path("/proc/sys", *k.split(".")).read_text().split()
        except OSError:
            out[k] = None
    return out


def test_plan_is_private_sysctls_stay_and_down_removes_a_killed_driver(tmp_path):
    """plan.json holds only the engine's environment, 0600 in 0700 folders; Mininet's start-up
    leaves root-namespace sysctls as they were; `status` calls the live lab up (not orphaned);
    after the driver and its `up` are SIGKILLed, `down` stops what they left by recorded PIDs
    and removes the folder, so the name is free again."""
    import json
    import signal
    from testbed.runtimes.netns import nsutil
    name = N("mn-kill")
    batch = tmp_path / "batch.txt"
    batch.write_text("py __import__('time').sleep(600)\n")
    before = _sysctls()
    env = {**os.environ, "UTNT_TEST_TOKEN": "tok-7c1e-not-in-the-plan"}
    p = subprocess.Popen([TESTBED, "up", "invisible-php", "--runtime", "mininet", "--name", name, "--batch",
                          str(batch)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env)
    d = mininet.RUN_ROOT / name
    try:
        end = time.monotonic() + 180
        while time.monotonic() < end and not (d / "driver.json").exists():
            assert p.poll() is None, "the Mininet up ended early"
            time.sleep(0.2)
        time.sleep(0.5)
        rec = json.loads((d / "driver.json").read_text())
        for f, mode in ((mininet.RUN_ROOT, 0o700), (d, 0o700), (d / "plan.json", 0o600), (d / "driver.json", 0o600)):
            assert os.stat(f).st_mode & 0o777 == mode, f
        text = (d / "plan.json").read_text()
        assert "tok-7c1e" not in text
        assert set(json.loads(text)["engine"]["env"]) == {"PATH", "PYTHONPATH", "LANG"}
        assert _sysctls() == before
        st = json.loads(subprocess.run([TESTBED, "status", name, "--json"], capture_output=True, text=True).stdout)
        assert st["status"] == "up" and st["runtime"] == "mininet", st
        p.send_signal(signal.SIGKILL)
        p.wait()
        os.kill(rec["driver"], signal.SIGKILL)
        time.sleep(0.5)
        left = [q for q in list(rec["engine"].values()) + list(rec["nodes"].values())
                if nsutil.same_process(q, rec["starts"].get(str(q)))]
        assert left, "the kills took everything: nothing for down to do"
        st = json.loads(subprocess.run([TESTBED, "status", name, "--json"], capture_output=True, text=True).stdout)
        assert st["status"] == "orphaned", st
        r = subprocess.run([TESTBED, "down", name], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert not d.exists()
        assert not [q for q in left if nsutil.same_process(q, rec["starts"].get(str(q)))]
        assert not [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                    if n.startswith(f"tb-{name}.")]
        assert _sysctls() == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run([TESTBED, "down", name], capture_output=True, timeout=120)


def test_sigterm_to_up_is_passed_to_the_driver_which_tears_everything_down(tmp_path):
    import json
    import signal
    from testbed.runtimes.netns import nsutil
    name = N("mn-term")
    batch = tmp_path / "batch.txt"
    batch.write_text("py __import__('time').sleep(600)\n")
    p = subprocess.Popen([TESTBED, "up", "invisible-php", "--runtime", "mininet", "--name", name, "--batch",
                          str(batch)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    d = mininet.RUN_ROOT / name
    try:
        end = time.monotonic() + 180
        while time.monotonic() < end and not (d / "driver.json").exists():
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.2)
        time.sleep(0.5)
        rec = json.loads((d / "driver.json").read_text())
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 128 + signal.SIGTERM, err
        assert not d.exists()
        assert not [q for q in list(rec["engine"].values()) + list(rec["nodes"].values()) + [rec["driver"]]
                    if nsutil.same_process(q, rec["starts"].get(str(q)) if q != rec["driver"] else rec["driver_start"])]
        assert not [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                    if n.startswith(f"tb-{name}.")]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run([TESTBED, "down", name], capture_output=True, timeout=120)


def test_a_live_mininet_lab_is_a_lab_instance_like_any_other(tmp_path):
    """While Mininet's prompt runs, the lab is found by name: `status` lists it (up, its routers
    and hosts), `exec` runs in its nodes, `capture` records its frames, `probe --detector traceroute` traces through it from a
    host's own namespace (real packets, the engine forwarding), uTNT (which needs a tap) is
    refused in one line naming what to use, and `down` stops the driver."""
    import json
    name = N("mn-inst")
    batch = tmp_path / "batch.txt"
    batch.write_text("py __import__('time').sleep(600)\n")
    p = subprocess.Popen([TESTBED, "up", "invisible-php", "--runtime", "mininet", "--name", name, "--batch",
                          str(batch)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    d = mininet.RUN_ROOT / name
    try:
        end = time.monotonic() + 180
        while time.monotonic() < end and not (d / "driver.json").exists():
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.2)
        rows = json.loads(subprocess.run([TESTBED, "status", "--json"], capture_output=True, text=True).stdout)
        mine = [r for r in rows if r["name"] == name]
        assert len(mine) == 1 and mine[0]["status"] == "up" and mine[0]["runtime"] == "mininet", rows
        from testbed.lab import load_lab
        lab = load_lab("invisible-php")
        assert set(mine[0]["routers"]) == {x.name for x in lab.routers}
        assert set(mine[0]["hosts"]) == {x.name for x in lab.hosts}
        r = subprocess.run([TESTBED, "exec", name, "vp", "--", "ip", "-4", "-br", "addr", "show", "eth0"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "12.0.0.2/24" in r.stdout, r
        pcap = tmp_path / "vp.pcap"
        cap = subprocess.Popen([TESTBED, "capture", name, "vp", "eth0", "-w", str(pcap), "-c", "2", "--timeout", "60",
                                "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        r = subprocess.run([TESTBED, "probe", name, "--detector", "traceroute", "--json"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out, err = cap.communicate(timeout=90)
        assert cap.returncode == 0 and json.loads(out)["packets"] == 2 and pcap.stat().st_size > 24, err
        doc = json.loads(r.stdout)
        assert doc["runtime"] == "mininet" and doc["detector"]["name"] == "traceroute"
        hops = [h["address"] for h in doc["traces"][0]["hops"]]
        assert hops[0] == "12.0.0.1" and hops[-1] == "12.0.1.2" and len(hops) >= 3, hops
        r = subprocess.run([TESTBED, "probe", name], capture_output=True, text=True)
        assert r.returncode == 2 and "--runtime netns" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
        r = subprocess.run([TESTBED, "down", name], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        p.wait(60)
        assert not d.exists()
        assert not [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                    if n.startswith(f"tb-{name}.")]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run([TESTBED, "down", name], capture_output=True, timeout=120)
