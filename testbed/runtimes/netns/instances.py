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
import time
from ipaddress import IPv4Address, IPv4Network

from testbed.errors import TestbedError
from testbed.inputs import record_json

from . import nsutil, state
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
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    reclaim_stale(name)
    free = free_addresses(lab, att)
    for addr in [a for a in free if str(a) not in avoid] + [a for a in free if str(a) in avoid]:
        try:
            fd = os.open(d / str(addr), os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        lease = {"host": host, "lan": att["lan"], "namespace": att["namespace"], "bridge": att["bridge"],
                 "tap": _tap_name(str(addr)), "address": str(addr), "prefixlen": att["prefixlen"],
                 "network": att["network"], "gateway": att["gateway"], "mac": instance_mac(name, str(addr)),
                 "pid": os.getpid(), "start_time": nsutil.proc_start_time(os.getpid()), "own_tap": tap}
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(lease))
        except OSError as e:                # a full disk: no lease of 0 bytes that nobody reclaims
            try:
                os.unlink(d / str(addr))
            except OSError:
                pass
            raise TestbedError(f"cannot record the lease of {addr} in {d}: {e.strerror}; nothing was started "
                               "(free space in the run folder's file system)") from None
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


STALE_EMPTY_S = 10.0          # a lease file still empty or unreadable after this long: its writer died


def reclaim_stale(name: str) -> int:
    """Release every lease of lab `name` whose taker is gone (its recorded PID and start time
    no longer run: a killed `probe --parallel`), and every lease file left empty or garbled
    for STALE_EMPTY_S (its writer died between creating and writing it); returns how many."""
    d = state.run_dir(name) / "instances"
    n = 0
    now = time.time()
    for f in (d.iterdir() if d.is_dir() else []):
        try:
            text = f.read_text()[:65536]
            lease = json.loads(text)
            if not isinstance(lease, dict) or lease.get("address") != f.name or "namespace" not in lease:
                raise ValueError
        except (OSError, ValueError):
            try:
                if now - f.stat().st_mtime > STALE_EMPTY_S:
                    f.unlink()
                    n += 1
            except OSError:
                pass
            continue
        pid = lease.get("pid")
        if isinstance(pid, int) and not nsutil.same_process(pid, lease.get("start_time")):
            release_instance(name, lease)
            n += 1
    return n


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
