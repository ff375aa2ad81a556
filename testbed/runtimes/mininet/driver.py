"""Mininet driver: run by Debian's /usr/bin/python3 (the only Python that imports Debian's
mininet), with nothing but the standard library and mininet. It never imports testbed.

    /usr/bin/python3 driver.py PLAN.json [--batch CMDS.txt]

PLAN.json is written by testbed.runtimes.mininet (the project's venv): nodes, interfaces
with the model's names and MACs, links, and how to start the engine. The driver builds the
network (hosts and routers as Mininet nodes, point-to-point links as veth pairs between the
two nodes, LANs on LinuxBridge switches), names every node's namespace tb-<lab>.<node>
(`ip netns attach`) so the engine workers (started from the venv) find the routers'
interfaces, then gives Mininet's CLI. On exit, by any path: engine workers stopped by their
PIDs, net.stop() (Mininet stops its own nodes by PID), the namespace names removed.

Containment: lab namespaces never connect to the root namespace, so every switch is a
Mininet node in a namespace of its own (inNamespace=True) holding its LinuxBridge and the
switch ends of the lab's veths; the root namespace gains no interface at all, which the
driver checks once the network is up (the run stops otherwise). A switch's namespace goes
with its shell when Mininet stops the node.
"""
import json
import os
import signal
import subprocess
import sys
import time

from mininet.cli import CLI
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import Host, Node
from mininet.nodelib import LinuxBridge


def sysctl(key, value, runner=None):
    cmd = "sysctl -q -w %s=%s" % (key, value)
    return runner(cmd) if runner else subprocess.run(cmd.split(), capture_output=True)


class ContainedBridge(LinuxBridge):
    """A LinuxBridge inside the switch node's own namespace (never the root namespace), with
    IPv6 off on itself and its ports, STP off, and only the lab's veth ports."""

    def start(self, _controllers):
        self.cmd("sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
        self.cmd("brctl addbr", self)
        for i in self.intfList():
            if self.name in i.name:
                self.cmd("ip link set", i, "mtu", self.params.get("mtu", 1600))
                self.cmd("brctl addif", self, i)
                self.cmd("ip link set", i, "up")
        self.cmd("brctl stp", self, "off")
        self.cmd("ip link set", self, "up")


class Router(Node):
    """A router's namespace: no kernel addresses, no forwarding; the engine does the rest."""

    def config(self, **params):
        r = super().config(**params)
        self.cmd("sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv4.ip_forward=0")
        return r


class LabHost(Host):
    def config(self, **params):
        r = super().config(**params)
        self.cmd("sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv4.icmp_ratelimit=0 "
                 "net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=10000")
        return r


def root_links():
    """The root namespace's interface names (the lab must add none)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def start_engine(plan):
    e = plan["engine"]
    log = open(os.path.join(plan["run_dir"], "workers.log"), "ab")
    p = subprocess.Popen(e["argv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd="/",
                         env=e["env"], start_new_session=True, close_fds=True)
    log.close()
    n = e["workers"]
    pids, compiled, ready = {}, set(), set()
    try:
        _wait_ready(p, pids, compiled, ready, n, time.monotonic() + e.get("timeout", 600), plan)
    except BaseException:                      # not ready (error, timeout, SIGTERM): stopped here,
        stop_engine(p, pids)                   # since the caller never got their PIDs
        raise
    return p, pids


def _wait_ready(p, pids, compiled, ready, n, deadline, plan):
    went = False
    while len(ready) < n:
        if not went and len(compiled) == n:
            p.stdin.write(b"go\n" * n)
            p.stdin.flush()
            went = True
        line = p.stdout.readline()
        if not line:
            raise RuntimeError("the engine exited before it was ready; see %s/workers.log" % plan["run_dir"])
        parts = line.decode(errors="replace").split(" ", 2)
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        i, word, rest = int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""
        if word == "hello":
            pids[i] = int(rest.split()[0])
        elif word == "compiled":
            compiled.add(i)
        elif word == "ready":
            ready.add(i)
        elif word == "error":
            raise RuntimeError("engine worker %d: %s" % (i, rest.strip()))
        if time.monotonic() > deadline:
            raise RuntimeError("the engine was not ready in time")


def stop_engine(p, pids):
    for pid in sorted(pids.values(), reverse=True):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if p is not None:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def new_net():
    return Mininet(topo=None, controller=None, build=False, autoSetMacs=False, autoStaticArp=False,
                   waitConnected=False)


def build(plan, net):
    """Add the plan's nodes and links to `net`. A node that cannot be made (Mininet needs a pty
    per node: kernel.pty.max, 4096 by default, which the driver leaves as it is) stops the
    build with one line naming how many nodes were made; those already made are in net.hosts
    and net.switches, which net.stop() stops, so a failed build leaves no shell behind."""
    nodes = {}
    try:
        _add_nodes(plan, net, nodes)
    except OSError as e:
        raise RuntimeError("Mininet node %d of %d could not be made: %s"
                           % (len(nodes) + 1, len(plan["routers"]) + len(plan["hosts"]) + len(plan_switches(plan)),
                              e.strerror or e)) from e
    return nodes, _add_links(plan, net, nodes)


def _add_nodes(plan, net, nodes):
    for r in plan["routers"]:
        nodes[r["name"]] = net.addHost(r["name"], cls=Router, ip=None, inNamespace=True)
    for h in plan["hosts"]:
        nodes[h["name"]] = net.addHost(h["name"], cls=LabHost, ip=None)
    for link in plan["links"]:
        if link["kind"] == "lan":
            nodes[link["switch"]] = net.addSwitch(link["switch"], cls=ContainedBridge, inNamespace=True,
                                                  mtu=link.get("mtu", 1600))


def _add_links(plan, net, nodes):
    switches = []
    for link in plan["links"]:
        if link["kind"] == "p2p":
            (a, ia, ma), (b, ib, mb) = link["ends"]
            net.addLink(nodes[a], nodes[b], intfName1=ia, intfName2=ib, addr1=ma, addr2=mb)
        else:
            sw = nodes[link["switch"]]
            switches.append(sw.name)
            for k, (n, ifn, mac) in enumerate(link["members"]):
                net.addLink(nodes[n], sw, intfName1=ifn, intfName2="%s-eth%d" % (sw.name, k + 1), addr1=mac)
    return switches


def configure(plan, net, nodes):
    for r in plan["routers"]:
        node = nodes[r["name"]]
        for i in r["ifaces"]:
            node.cmd("ip link set %s mtu %d up" % (i["name"], i.get("mtu", 1600)))
    for h in plan["hosts"]:
        node = nodes[h["name"]]
        i = h["iface"]
        node.cmd("ip addr flush dev %s" % i["name"])
        node.cmd("ip link set %s mtu %d up" % (i["name"], i.get("mtu", 1500)))
        node.cmd("ip addr add %s/%d dev %s" % (i["address"], i["prefixlen"], i["name"]))
        if i.get("gateway"):
            node.cmd("ip route add default via %s dev %s" % (i["gateway"], i["name"]))


def attach_names(plan, nodes):
    done = []
    for n in plan["routers"] + plan["hosts"]:
        subprocess.run(["ip", "netns", "attach", n["ns"], str(nodes[n["name"]].pid)], check=True,
                       capture_output=True)
        done.append(n["ns"])
    return done


def plan_switches(plan):
    return [link["switch"] for link in plan["links"] if link["kind"] == "lan"]


def detach_names(names):
    for ns in names:
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def write_private(path, obj):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)


def main(argv):
    plan = json.load(open(argv[0]))
    # Mininet.init() would call fixLimits(), which rewrites root-namespace sysctls
    # (kernel.pty.max, neigh gc_thresh*, rmem/wmem...) for good: the lab needs none of them
    Mininet.inited = True
    names = []
    batch = argv[2] if len(argv) > 2 and argv[1] == "--batch" else None
    setLogLevel(plan.get("loglevel", "output"))   # "output": what CLI commands print
    net = engine = None
    pids, names = {}, []
    status = 0
    state_file = os.path.join(plan["run_dir"], "driver.json")
    def interrupt(*_):
        raise KeyboardInterrupt()
    # SIGTERM, and SIGHUP (the terminal went away: tmux killed, ssh dropped): tear down as on exit
    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        before = root_links()
        net = new_net()
        nodes, switches = build(plan, net)
        net.build()
        for sw in net.switches:
            sw.start([])
        configure(plan, net, nodes)
        names = attach_names(plan, nodes)
        added = sorted(root_links() - before)
        if added:
            raise RuntimeError("containment: the lab added interfaces to the root namespace: %s" % ", ".join(added))
        engine, pids = start_engine(plan)
        node_pids = {n: nodes[n].pid for n in nodes}       # switches too: a killed driver's shells go by PID
        write_private(state_file, {
            "driver": os.getpid(), "driver_start": start_time(os.getpid()), "engine": pids, "switches": switches,
            "namespaces": names, "nodes": node_pids,
            "starts": {str(p): start_time(p) for p in list(pids.values()) + list(node_pids.values())}})
        print("*** lab %s up under Mininet: %d routers (engine: %d workers), %d hosts, %d bridges"
              % (plan["name"], len(plan["routers"]), len(pids), len(plan["hosts"]), len(switches)), flush=True)
        if batch:
            CLI(net, script=batch)
        else:
            print("*** e.g.  %s" % plan.get("hint", "vp ping -c 1 DST"), flush=True)
            CLI(net)
    except KeyboardInterrupt:
        status = 130
    except Exception as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        status = 1
    finally:
        for sig in old:
            signal.signal(sig, signal.SIG_IGN)
        stop_engine(engine, pids)
        if net is not None:
            try:
                net.stop()
            except Exception as e:                 # a node's shell already gone: clean up below
                print("warning: net.stop(): %s" % e, file=sys.stderr, flush=True)
        detach_names(names)
        try:
            os.unlink(state_file)
        except OSError:
            pass
        for sig, h in old.items():
            signal.signal(sig, h)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
