"""The kernel's VXLAN devices that carry a split lab's cut links between hosts.

For each cut link with an end on this host: `ip link add vx<k> netns CORE type vxlan id VNI
local MY_IP remote PEER_IP dstport 4789 nolearning`, run in the underlay namespace (a real
machine's own namespace; in tests a namespace standing in for a machine): the device is made
in the lab's core namespace, where the engine opens its packet socket on it (made there at
once: moving a device between namespaces costs ~20 ms each). A VXLAN device keeps its UDP
socket in the namespace the request came from (its link-netns), so frames the engine writes leave
encapsulated between the hosts' underlay addresses, and nothing else of the lab's core
namespace touches the underlay. The device's MTU is the routers' (ROUTER_MTU); an underlay
with less than ROUTER_MTU + 50 bytes fragments the encapsulated packets (VXLAN's outer
header leaves DF clear).

`underlay(tag, {host: ip})` makes N stand-in machines on one: namespaces `tbu-<tag>.<host>`
joined by veths to a bridge in `tbu-<tag>._ul` (private addresses, never the root namespace).
"""
from __future__ import annotations

import contextlib
import ipaddress
import subprocess

from testbed.errors import TestbedError
from testbed.runtimes.netns import nsutil
from testbed.runtimes.netns.plan import ROUTER_MTU

UNDERLAY_MTU = 9000


def _ip(netns: str | None, lines: list[str], what: str, hint: str = ""):
    """Run `ip -batch`; a failure is one line: what, the failing command's device, the
    kernel's word (and the hint when a device or id already exists)."""
    if not lines:
        return
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    r = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if r.returncode != 0:
        said = [ln.strip() for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
        line = next((ln for ln in said if ln.startswith("Command failed")), "")
        where = ""
        if line.rsplit(":", 1)[-1].isdigit():
            where = f" ({lines[int(line.rsplit(':', 1)[-1]) - 1].split(' type ')[0]})"
        first = said[0] if said else str(r.returncode)
        raise TestbedError(f"{what}{where}: {first}{hint if 'already exists' in first else ''}")


def has_address(underlay_netns: str | None, ip: str) -> bool:
    """Whether this machine (or the stand-in namespace) has the underlay address `ip`."""
    import ipaddress as _ip_mod
    cmd = ["ip"] + (["-n", underlay_netns] if underlay_netns else []) + ["-o", "addr", "show"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    want = _ip_mod.ip_address(ip)
    for ln in r.stdout.splitlines():
        f = ln.split()
        for i, w in enumerate(f[:-1]):
            if w in ("inet", "inet6"):
                try:
                    if _ip_mod.ip_interface(f[i + 1]).ip == want:
                        return True
                except ValueError:
                    pass
    return False


def devices(doc: dict, host: str) -> list[dict]:
    """This host's VXLAN devices: name, vni, local and remote underlay address."""
    ip = {h["name"]: h["underlay"] for h in doc["hosts"]}
    out = []
    for c in doc["cut"]:
        mine = [e for e in c["ends"] if e["host"] == host]
        other = [e for e in c["ends"] if e["host"] != host]
        if mine and other:
            out.append({"device": mine[0]["device"], "vni": c["vni"], "link": c["link"],
                        "local": ip[host], "remote": ip[other[0]["host"]]})
    return out


def create(doc: dict, host: str, core: str, underlay_netns: str | None, record: list) -> int:
    """Create this host's VXLAN devices in the core namespace, their sockets in the underlay
    namespace; set them up. Each name goes into `record` before it is made (teardown finds it)."""
    port = doc["vxlan"]["dstport"]
    devs = devices(doc, host)
    adds = []
    for d in devs:
        record.append(d["device"])
        adds.append(f"link add {d['device']} netns {core} mtu {ROUTER_MTU} type vxlan id {d['vni']} "
                    f"local {d['local']} remote {d['remote']} dstport {port} nolearning")
    _ip(underlay_netns, adds, "creating the VXLAN devices of the cut links",
        " (a VXLAN id in use: another split lab on this machine? split with another --vni-base)")
    ups = []
    for d in devs:
        ups.append(f"link set {d['device']} addrgenmode none")
        ups.append(f"link set {d['device']} up")
    _ip(core, ups, "setting the VXLAN devices up")
    return len(devs)


def remove(names: list[str], underlay_netns: str | None):
    """Delete any of these devices found in the underlay namespace (none are made there: a
    safety net); those in the core namespace go with it."""
    if not names or (underlay_netns and underlay_netns not in nsutil.list_netns()):
        return
    cmd = ["ip"] + (["-n", underlay_netns] if underlay_netns else []) + ["-o", "link", "show", "type", "vxlan"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    have = {ln.split(":")[1].strip().split("@")[0] for ln in r.stdout.splitlines() if ":" in ln}
    gone = [f"link del {n}" for n in names if n in have]
    if gone:
        cmd = ["ip"] + (["-n", underlay_netns] if underlay_netns else []) + ["-force", "-batch", "-"]
        subprocess.run(cmd, input="\n".join(gone) + "\n", capture_output=True, text=True)


def underlay_names(tag: str, hosts) -> dict[str, str]:
    return {h: f"tbu-{tag}.{h}" for h in hosts}


@contextlib.contextmanager
def underlay(tag: str, hosts: dict[str, str], prefixlen: int = 24):
    """Stand-in machines: {host: namespace}, each with address hosts[host] on a veth `ul0`
    to a bridge in `tbu-<tag>._ul`. Removed on exit (also on failure)."""
    nss = underlay_names(tag, hosts)
    sw = f"tbu-{tag}._ul"
    made = []
    try:
        for n in [sw, *nss.values()]:
            subprocess.run(["ip", "netns", "add", n], check=True, capture_output=True)
            made.append(n)
        lines = ["link add ul type bridge", "link set ul up"]
        for i, (h, n) in enumerate(nss.items()):
            lines += [f"link add u{i} mtu {UNDERLAY_MTU} type veth peer name ul0 netns {n}",
                      f"link set u{i} master ul", f"link set u{i} up"]
        _ip(sw, lines, "making the underlay")
        for h, n in nss.items():
            addr = ipaddress.ip_address(hosts[h])
            _ip(n, ["link set lo up", f"link set ul0 mtu {UNDERLAY_MTU}", f"addr add {addr}/{prefixlen} dev ul0",
                    "link set ul0 up"], "addressing the underlay")
        yield nss
    finally:
        for n in reversed(made):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
