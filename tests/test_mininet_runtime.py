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
    lab = load_lab("invisible-php")
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
