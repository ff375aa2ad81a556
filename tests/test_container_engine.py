"""The engine as one process per router, on container-style interfaces (the model's eth0 is the
local eth1): a router namespace made by hand, the process started in it, and real probers
(traceroute, scamper) from a host namespace seeing the router's vendor signature."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from labnames import N
from testbed.lab import load_lab

pytestmark = pytest.mark.netns

LAB = """name: one
routers:
  r1: {vendor: cisco}
hosts:
  vp: {}
  dst: {}
links:
  - {lan: [r1, vp], name: vp-lan}
  - [r1, dst]
probes:
  - {from: vp, to: dst}
"""


def sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def test_one_router_process_forwards_with_its_vendor_signature(tmp_path):
    f = tmp_path / "one.yaml"
    f.write_text(LAB)
    lab = load_lab(f)
    tag = N("ce")
    ns = {n: f"tb-{tag}.{n}" for n in ("r1", "vp", "dst")}
    r1, vp, dst = (lab.nodes[n] for n in ("r1", "vp", "dst"))
    proc = None
    try:
        for n in ns.values():
            sh("ip", "netns", "add", n)
        sh("ip", "netns", "exec", ns["r1"], "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv4.ip_forward=0")
        for host in (vp, dst):
            sh("ip", "netns", "exec", ns[host.name], "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv4.icmp_ratelimit=0")
            h_if = host.interfaces[0]
            r_if = [i for i in r1.interfaces if i.link is h_if.link][0]
            local = f"eth{int(r_if.name[3:]) + 1}"              # container style: eth0 is management
            sh("ip", "link", "add", "tmpa", "netns", ns["r1"], "type", "veth", "peer", "name", "tmpb",
               "netns", ns[host.name])
            sh("ip", "-n", ns["r1"], "link", "set", "tmpa", "name", local, "address", r_if.mac.hex(":"),
               "mtu", "1600", "up")
            sh("ip", "-n", ns[host.name], "link", "set", "tmpb", "name", "eth0", "address", h_if.mac.hex(":"), "up")
            sh("ip", "-n", ns[host.name], "addr", "add", f"{h_if.address}", "dev", "eth0")
            sh("ip", "-n", ns[host.name], "route", "add", "default", "via", str(host.gateway))
        proc = subprocess.Popen(["ip", "netns", "exec", ns["r1"], sys.executable, "-m", "testbed.runtimes.container",
                                 "--lab", str(f), "--router", "r1"], stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()
        while line and "serving" not in line and "error" not in line:
            line = proc.stderr.readline()
        assert "serving 2 interfaces" in line, line
        target = str(dst.interfaces[0].ip)
        tr = sh("ip", "netns", "exec", ns["vp"], "traceroute", "-n", "-I", "-q", "1", "-w", "2", target).stdout
        hops = [ln.split()[1] for ln in tr.splitlines()[1:] if ln.split()[1:2]]
        lan_addr = str([i for i in r1.interfaces if i.link.name == "vp-lan"][0].ip)
        assert hops == [lan_addr, target], tr
        out = sh("ip", "netns", "exec", ns["vp"], "scamper", "-O", "json", "-c", "trace -P icmp-paris",
                 "-i", target).stdout
        trace = [json.loads(x) for x in out.splitlines() if '"type":"trace"' in x][0]
        first = [h for h in trace["hops"] if h["probe_ttl"] == 1][0]
        assert first["addr"] == lan_addr and first["reply_ttl"] == 255      # Cisco-like time-exceeded TTL
    finally:
        if proc is not None:
            proc.terminate()                    # ip netns exec passes SIGTERM on: our process by its PID
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for n in ns.values():
            sh("ip", "netns", "delete", n, check=False)
    time.sleep(0.2)
    assert not [n for n in sh("ip", "netns", "list").stdout.split() if n.startswith(f"tb-{tag}.")]


@pytest.mark.parametrize("lab_name", ["explicit", "mixed"])
def test_containerlab_engine_export_runs_the_engine_per_router(tmp_path, lab_name):
    import yaml

    from testbed.export.containerlab import validate_clab
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "export", lab_name, "--to", "containerlab",
                        str(tmp_path), "--engine"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(next(tmp_path.glob("*.clab.yml")).read_text())
    assert validate_clab(doc) == []
    lab = load_lab(tmp_path / "lab.yaml")                   # the rendered lab the containers load
    routers = {n: d for n, d in doc["topology"]["nodes"].items() if d.get("group") == "router"}
    assert set(routers) == {r.name for r in lab.routers}
    for name, d in routers.items():
        assert d["image"] == "utnt-lab-engine:latest"
        assert d["cmd"].endswith(f"--router {name}") and "/lab/lab.yaml" in d["binds"][0]
        assert not any("ip addr" in e for e in d.get("exec", []))      # the kernel holds no router address
    assert (tmp_path / "Dockerfile").read_text().startswith("# utnt-lab-engine")
    assert "not run: `docker build`" in (tmp_path / "README.md").read_text()
