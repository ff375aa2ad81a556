"""Detector instances on a running lab: each gets a tap of its own on its vantage point's LAN
bridge, an address no lab interface (and no other instance) holds, and a MAC of its own.

    lease = lease_instance(lab, name, "vp1")     # {"tap", "namespace", "address", "mac", ...}
    ...run a detector (uTNT, a micro-VM) on lease["tap"] in lease["namespace"]...
    release_instance(name, lease)

Addresses are taken from the top of the LAN down, skipping every address of the lab model on
that LAN and the LAN's shared attachment address (`testbed probe` uses that one). A lease is
a file `instances/<address>` in the lab's run folder, created with O_EXCL: two processes
driving the same lab never hand out the same address. Taps live in the lab's switch
namespace, so `testbed down` removes any a crashed run left behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from ipaddress import IPv4Address, IPv4Network

from testbed.errors import TestbedError
from testbed.inputs import record_json

from . import state
from .api import attachment


def _lan(lab, lan_name: str):
    for link in lab.links:
        if link.name == lan_name:
            return link
    raise TestbedError(f"{lab.source}: no LAN named '{lan_name}' (the running lab and the lab file differ; "
                       "bring it up again)")


def free_addresses(lab, att: dict) -> list[IPv4Address]:
    """Addresses on the attachment's LAN that no lab interface holds, highest first (the lab
    builder allocates from the bottom), without the shared attachment address."""
    net = IPv4Network(att["network"])
    used = {i.ip for i in _lan(lab, att["lan"]).interfaces} | {IPv4Address(att["address"])}
    top, bottom = int(net.broadcast_address) - 1, int(net.network_address) + 1
    return [IPv4Address(a) for a in range(top, bottom - 1, -1) if IPv4Address(a) not in used]


def instance_mac(name: str, address: str) -> str:
    """Locally administered, unicast, derived from lab instance and address (stable per lease)."""
    h = hashlib.sha1(f"{name}/{address}".encode()).digest()
    return ":".join(f"{b:02x}" for b in bytes([0x02, 0x75, h[0], h[1], h[2], h[3]]))


def _tap_name(address: str) -> str:
    # "ui" + the address in hex: 10 characters (<= 15), unique within the switch namespace
    return "ui" + "".join(f"{int(x):02x}" for x in address.split("."))


def _ip(args: list[str]):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise TestbedError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def lease_instance(lab, name: str, host: str, tap: bool = True, avoid: set | frozenset = frozenset()) -> dict:
    """An attachment point of its own on host's LAN. With tap=False no tap is made (the caller
    brings its own, e.g. QEMU's -netdev tap creates it). `avoid`: addresses (strings) to take
    only when no other is free -- a campaign's earlier instances, so that each of its instances
    has an address, MAC and tap of its own (its traces and frames are told apart by them) as
    long as the LAN has room."""
    att = attachment(name, host)
    d = state.run_dir(name) / "instances"
    d.mkdir(parents=True, exist_ok=True)
    free = free_addresses(lab, att)
    for addr in [a for a in free if str(a) not in avoid] + [a for a in free if str(a) in avoid]:
        try:
            fd = os.open(d / str(addr), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        lease = {"host": host, "lan": att["lan"], "namespace": att["namespace"], "bridge": att["bridge"],
                 "tap": _tap_name(str(addr)), "address": str(addr), "prefixlen": att["prefixlen"],
                 "network": att["network"], "gateway": att["gateway"], "mac": instance_mac(name, str(addr)),
                 "pid": os.getpid(), "own_tap": tap}
        with os.fdopen(fd, "w") as f:
            json.dump(lease, f)
        if tap:
            try:
                _ip(["-n", att["namespace"], "tuntap", "add", "dev", lease["tap"], "mode", "tap"])
                _ip(["-n", att["namespace"], "link", "set", lease["tap"], "master", att["bridge"], "up"])
            except TestbedError:
                release_instance(name, lease)
                raise
        return lease
    raise TestbedError(f"LAN {att['lan']} ({att['network']}) of lab '{name}' has no free address left for "
                       "another instance; run fewer at once (--parallel) or give the LAN a shorter prefix "
                       "(links: {lan: [...], prefix: 22})")


def release_instance(name: str, lease: dict):
    if lease.get("own_tap"):
        subprocess.run(["ip", "-n", lease["namespace"], "link", "del", lease["tap"]], capture_output=True)
    try:
        (state.run_dir(name) / "instances" / lease["address"]).unlink()
    except FileNotFoundError:
        pass


def release_leases_of(name: str, pid: int) -> int:
    """Release every lease of lab `name` that process `pid` took (leases record their taker);
    returns how many. For a parent whose instance threads did not all release their own."""
    d = state.run_dir(name) / "instances"
    n = 0
    for f in (d.iterdir() if d.is_dir() else []):
        try:
            lease = record_json(f)
        except (OSError, ValueError):
            continue
        if lease.get("pid") == pid:
            release_instance(name, lease)
            n += 1
    return n
