"""The Mininet runtime: `testbed up LAB --runtime mininet` builds the lab as a Mininet network
and gives Mininet's `mininet>` prompt (hosts and routers are Mininet nodes; LANs are
LinuxBridge switches; routers' data plane is this project's engine on their interfaces).

Why a driver under /usr/bin/python3: Debian's mininet is importable only from Debian's
Python, while the engine needs this project's venv (pydantic, numpy, scipy, ...). A venv
with --system-site-packages would mix Debian's and pip's copies of the same packages in
one process; instead the venv writes a plan (JSON: nodes, interfaces with the model's names
and MACs, links, the engine's command), and driver.py, run by /usr/bin/python3 with only
the standard library and mininet, builds the network and starts the engine workers from
the venv (`python -m testbed.runtimes.netns.workers`, the namespace runtime's engine). The
two meet at namespace names: the driver names every Mininet node's namespace
tb-<lab>.<node> (`ip netns attach`), so `testbed exec`, tcpdump and the workers find it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from testbed.errors import TestbedError

SYSTEM_PYTHON = "/usr/bin/python3"
RUN_ROOT = Path("/run/utnt-lab-mininet")
DRIVER = Path(__file__).with_name("driver.py")


def available() -> str | None:
    """None when Mininet can run here, else the one-line reason with the fix."""
    if os.geteuid() != 0:
        return "the Mininet runtime needs root"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing (Debian's Python runs Mininet)"
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import mininet.nodelib"], capture_output=True)
    if r.returncode != 0:
        return "Debian's mininet is not installed: make mininet (apt-get install mininet bridge-utils)"
    if not shutil.which("brctl"):
        return "bridge-utils is not installed (Mininet's LinuxBridge needs brctl): make mininet"
    return None


def switch_name(name: str, k: int) -> str:
    """Bridges live in the root namespace: a per-instance digit tag keeps two labs apart
    (Mininet wants a digit in a switch name; `<name>-eth<N>` ports stay within 15 characters)."""
    tag = int(hashlib.sha1(name.encode()).hexdigest()[:6], 16) % 10000
    return f"m{tag:04d}s{k}"


def plan(lab, name: str) -> dict:
    from testbed.runtimes.netns import names
    from testbed.runtimes.netns.plan import HOST_MTU, ROUTER_MTU, fingerprint, partition
    names.check_name(name)
    run_dir = RUN_ROOT / name
    routers = [r.name for r in lab.routers]
    n_workers = max(1, min(os.cpu_count() or 1, len(routers)))
    parts = partition(routers, n_workers)
    nsmap = {r: names.ns(name, r) for r in routers}
    spec = {"name": name, "lab": lab.name, "source": str(Path(lab.source).resolve()), "params": lab.params,
            "routers": nsmap, "partitions": parts, "routers_order": routers,
            "fingerprint": fingerprint(lab, routers), "control_plane": "computed",
            # how the lab was loaded (no_limits, local_first): the workers load it the same way
            "options": getattr(lab, "options", None) or {},
            "tables": str(run_dir / "tables.json")}
    links = []
    for k, link in enumerate(lab.links):
        ends = [[i.node, i.name, i.mac.hex(":")] for i in link.interfaces]
        if link.kind == "p2p":
            links.append({"kind": "p2p", "ends": ends})
        else:
            links.append({"kind": "lan", "switch": switch_name(name, k), "members": ends, "mtu": ROUTER_MTU})
    hosts = []
    for h in lab.hosts:
        i = h.interfaces[0]
        hosts.append({"name": h.name, "ns": names.ns(name, h.name),
                      "iface": {"name": i.name, "mac": i.mac.hex(":"), "address": str(i.ip),
                                "prefixlen": i.network.prefixlen, "mtu": HOST_MTU,
                                "gateway": str(h.gateway) if h.gateway else None}})
    hint = "vp ping -c 1 DST"
    if lab.probes:
        p = lab.probes[0]
        hint = f"{p.source} traceroute -n -e -I {p.targets[0]}"
    return {"name": name, "run_dir": str(run_dir), "spec": spec, "hint": hint,
            "routers": [{"name": r.name, "ns": nsmap[r.name],
                         "ifaces": [{"name": i.name, "mac": i.mac.hex(":"), "mtu": ROUTER_MTU}
                                    for i in r.interfaces]} for r in lab.routers],
            "hosts": hosts, "links": links,
            "engine": {"argv": [sys.executable, "-m", "testbed.runtimes.netns.workers", str(run_dir)],
                       "env": engine_env(), "workers": len(parts)}}


def engine_env() -> dict:
    """What the engine workers need and nothing more (the plan is a file: root's whole
    environment, tokens included, has no business in it)."""
    pkg_root = str(Path(__file__).resolve().parents[3])
    return {"PATH": os.environ.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": pkg_root,
            "LANG": "C.UTF-8"}


def _write_private(path: Path, text: str):
    """A new file only root can read (0600), never through a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def driver_record(name: str) -> dict | None:
    """The running (or killed) driver's record of lab `name`: driver.json, None if there is none."""
    try:
        rec = json.loads((RUN_ROOT / name / "driver.json").read_text()[:1 << 20])
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def driver_alive(rec: dict | None) -> bool:
    from testbed.runtimes.netns import nsutil
    if not rec or not isinstance(rec.get("driver"), int):
        return False
    return nsutil.same_process(rec["driver"], rec.get("driver_start"), "driver.py")


def down(name: str) -> dict | None:
    """What `testbed down NAME` does for a Mininet lab: a live driver is asked to stop (it tears
    its network down); a killed one's processes (engine workers, node shells) are stopped by
    their recorded PIDs and start times; then the run folder goes. None when there is no
    Mininet lab of that name. The lab's namespace names go with the namespace runtime's down."""
    import signal
    import time

    from testbed.runtimes.netns import nsutil
    d = RUN_ROOT / name
    if not d.is_dir():
        return None
    rec = driver_record(name) or {}
    stopped = []
    if driver_alive(rec):
        os.kill(rec["driver"], signal.SIGTERM)
        end = time.monotonic() + 30
        while driver_alive(rec) and time.monotonic() < end:
            time.sleep(0.1)
        stopped.append(rec["driver"])
    from testbed.runtimes.netns.supervisor import Supervisor
    Supervisor(d).stop_all()                   # workers record themselves in procs/ as in netns
    starts = rec.get("starts") or {}
    pids = [p for p in list((rec.get("engine") or {}).values()) + list((rec.get("nodes") or {}).values())
            if isinstance(p, int)]
    for f in d.glob("worker-*.json"):          # workers record themselves (a driver killed before driver.json)
        try:
            w = json.loads(f.read_text()[:65536])
            pids.append(int(w["pid"]))
            starts[str(int(w["pid"]))] = w.get("start_time")
        except (OSError, ValueError, KeyError, TypeError):
            continue
    mine = [p for p in dict.fromkeys(pids) if nsutil.same_process(p, starts.get(str(p)))]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in mine:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 3
        while any(nsutil.same_process(p, starts.get(str(p))) for p in mine) and time.monotonic() < end:
            time.sleep(0.05)
    stopped += mine
    shutil.rmtree(d, ignore_errors=True)
    try:
        RUN_ROOT.rmdir()
    except OSError:
        pass
    return {"mininet": True, "stopped": stopped}


def _conflicts(p: dict) -> list[str]:
    have = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    taken = [n["ns"] for n in p["routers"] + p["hosts"] if n["ns"] in have]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    taken += [l["switch"] for l in p["links"] if l["kind"] == "lan" and f" {l['switch']}:" in links]
    return taken


def teardown_wait(p: dict) -> float:
    """Seconds the driver is given to tear its network down after SIGTERM before it is killed:
    Mininet stops its nodes one shell at a time (116 s for 1,000 routers on 2 loaded cores)."""
    return 60.0 + 0.3 * (len(p["routers"]) + len(p["hosts"]) + len(p["links"]))


def up(lab, name: str | None = None, batch: str | None = None, stderr=None) -> int:
    """Build the lab under Mininet and give its CLI (or run `batch`, a file of CLI commands);
    everything is torn down when the CLI ends. Returns the driver's exit status. `stderr`: a
    file the driver's errors go to (default: ours)."""
    why = available()
    if why:
        raise TestbedError(why)
    name = name or lab.name
    p = plan(lab, name)
    clash = _conflicts(p)
    if clash:
        raise TestbedError(f"'{name}' is already up (namespaces or bridges exist: {', '.join(clash[:3])}); "
                           "give another --name or take it down")
    run_dir = Path(p["run_dir"])
    if driver_alive(driver_record(name)):
        raise TestbedError(f"a Mininet driver for '{name}' is running (pid {driver_record(name)['driver']}); "
                           f"`testbed down {name}` stops it")
    if run_dir.exists():              # a killed driver's leftovers: its processes by PID, then the folder
        down(name)
    from testbed.runtimes.netns.state import private_dir      # 0700: Mininet runs no FRR daemon
    private_dir(RUN_ROOT, frr=False)
    private_dir(run_dir, frr=False)
    _write_private(run_dir / "spec.json", json.dumps(p["spec"]))
    _write_private(run_dir / "plan.json", json.dumps(p))
    argv = [SYSTEM_PYTHON, str(DRIVER), str(run_dir / "plan.json")] + (["--batch", batch] if batch else [])
    import signal
    # the driver tears down on SIGHUP and SIGTERM, and Ctrl-C belongs to its prompt (it reaches
    # the driver through the terminal): we ignore both and outlive it to clean up after it
    keep = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGHUP, signal.SIGINT)}

    def child_signals():
        for sig in keep:
            signal.signal(sig, signal.SIG_DFL)
    drv = subprocess.Popen(argv, env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
                           preexec_fn=child_signals, stderr=stderr)
    try:
        return drv.wait()
    except KeyboardInterrupt:                 # SIGTERM to us: passed on, the driver tears its network down
        drv.send_signal(signal.SIGTERM)
        try:
            drv.wait(teardown_wait(p))
        except subprocess.TimeoutExpired:
            drv.kill()
            drv.wait()
        raise
    finally:
        for sig, h in keep.items():
            signal.signal(sig, h)
        if not (run_dir / "driver.json").exists():        # the driver tore down: its run folder goes too,
            down(name)            # after any engine worker it recorded there is stopped by its PID
