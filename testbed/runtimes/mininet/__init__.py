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
    from testbed.runtimes.netns.api import _child_env
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
                       "env": _child_env(), "workers": len(parts)}}


def _conflicts(p: dict) -> list[str]:
    have = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    taken = [n["ns"] for n in p["routers"] + p["hosts"] if n["ns"] in have]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    taken += [l["switch"] for l in p["links"] if l["kind"] == "lan" and f" {l['switch']}:" in links]
    return taken


def up(lab, name: str | None = None, batch: str | None = None) -> int:
    """Build the lab under Mininet and give its CLI (or run `batch`, a file of CLI commands);
    everything is torn down when the CLI ends. Returns the driver's exit status."""
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
    if (run_dir / "driver.json").exists():
        raise TestbedError(f"a Mininet driver for '{name}' is running ({run_dir}/driver.json)")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(json.dumps(p["spec"]))
    (run_dir / "plan.json").write_text(json.dumps(p))
    argv = [SYSTEM_PYTHON, str(DRIVER), str(run_dir / "plan.json")] + (["--batch", batch] if batch else [])
    import signal
    hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)   # the driver tears down on SIGHUP; we outlive it to clean
    try:
        return subprocess.call(argv, env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",
                                                                                            "VIRTUAL_ENV")})
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGHUP, hup)
        if not (run_dir / "driver.json").exists():        # the driver tore down: its run folder goes too
            shutil.rmtree(run_dir, ignore_errors=True)
