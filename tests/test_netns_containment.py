"""Containment, kernel silence in router namespaces, and the tap attachment point.

Containment is proven without sending a packet out of the lab: the root namespace gains no
interface, no route and no veth peer; every veth of the lab ends in another lab namespace;
a lab host's only routes lead to its lab gateway; and an echo from vp to the root
namespace's own address is answered by the lab's edge router (network unreachable), never
by the root namespace.
"""
from __future__ import annotations

import json
import shutil
import os
import select
import socket
import struct
import subprocess
import time
from ipaddress import IPv4Address, IPv4Network

import pytest

from testbed.lab import load_lab
from testbed.runtimes.netns import api, nsutil, teardown
from testbed.tools import scamper
from testbed.wire import inet_checksum
from labnames import N

pytestmark = pytest.mark.netns
NEEDS_TOOLS = pytest.mark.skipif(not (shutil.which("scamper") and shutil.which("tcpdump")),
                                 reason="Debian's scamper and tcpdump are needed (make bootstrap installs them)")

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000


def assert_gone(name):
    left = teardown.leftovers(name)
    assert left == {"namespaces": [], "processes": [], "run_dir": []}, left


def ipj(*args, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + ["-j"] + list(args)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out) if out.strip() else []


def root_links():
    return sorted((l["ifname"], l.get("address")) for l in ipj("link"))


def icmp_echo(ident, seq=1, payload=b"containment"):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, inet_checksum(hdr + payload), ident, seq) + payload


@pytest.fixture
def contained():
    name = N("pt-contain")
    before = root_links()
    routes_before = ipj("route", "show", "table", "all")
    lab = load_lab("invisible-php")
    st = api.up(lab, name=name)
    try:
        yield lab, st, before, routes_before
    finally:
        api.down(name)
    assert_gone(name)
    assert root_links() == before


def test_no_link_or_route_between_the_lab_and_the_root_namespace(contained):
    lab, st, before, routes_before = contained
    # the root namespace: not one interface, route or address more
    assert root_links() == before
    assert ipj("route", "show", "table", "all") == routes_before
    lab_macs = {i.mac.hex(":") for n in lab.nodes.values() for i in n.interfaces}
    assert not lab_macs & {mac for _, mac in root_links()}
    lab_nets = [l.network for l in lab.links]
    for r in ipj("route", "show"):
        dst = r.get("dst", "")
        if dst and dst != "default":
            assert not any(IPv4Network(dst, strict=False).overlaps(n) for n in lab_nets), r
    # every device of every lab namespace is ours, and every veth ends in a lab namespace
    ours = set(st["namespaces"])
    for nsn in st["namespaces"]:
        ids = {x["nsid"]: x.get("name") for x in ipj("netns", "list-id", ns=nsn)}
        for link in ipj("-d", "link", ns=nsn):
            kind = (link.get("linkinfo") or {}).get("info_kind")
            assert kind in ("veth", "bridge", "tun") or link["ifname"] == "lo", (nsn, link["ifname"], kind)
            if kind == "veth":
                assert ids.get(link["link_netnsid"]) in ours, (nsn, link["ifname"], ids)
    # a lab host routes only into the lab
    vp = st["hosts"]["vp"]
    gw = str(lab.nodes["vp"].gateway)
    routes = ipj("route", "show", ns=vp)
    assert sorted(r["dst"] for r in routes) == ["12.0.0.0/24", "default"]
    assert all(r["dev"] == "eth0" for r in routes)
    got = ipj("route", "get", "8.8.8.8", ns=vp)[0]
    assert got["gateway"] == gw and got["dev"] == "eth0"


def test_a_lab_host_cannot_reach_the_root_namespace(contained):
    lab, st, _, _ = contained
    root_addrs = [a["local"] for l in ipj("-4", "addr") for a in l.get("addr_info", [])
                  if a.get("scope") == "global"]
    if not root_addrs:
        pytest.skip("the root namespace has no global IPv4 address")
    target = root_addrs[0]
    gw = str(lab.nodes["vp"].gateway)
    with nsutil.netns(st["hosts"]["vp"]):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    replies = []
    try:
        s.sendto(icmp_echo(0x7e57), (target, 0))
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], 0.1)
            if r:
                pkt, addr = s.recvfrom(65536)
                ihl = (pkt[0] & 0x0F) * 4
                replies.append((addr[0], pkt[ihl], pkt[ihl + 1]))
    finally:
        s.close()
    assert (target, 0, 0) not in replies, "the root namespace must be unreachable from the lab"
    assert (gw, 3, 0) in replies, f"the lab's edge router answers network unreachable: {replies}"


@NEEDS_TOOLS
def test_router_kernels_are_silent(tmp_path):
    """tcpdump on every interface of an ingress (pe1) and an LSR (p1) during a scamper trace and
    pings: every frame a router sends is the engine's (Cisco TTLs, engine ARP), no IPv6/ND at
    all, and the namespaces' own IP stacks sent nothing (SNMP counters)."""
    name = N("pt-silence")
    lab = load_lab("explicit")
    st = api.up(lab, name=name)
    caps = []
    try:
        for node in ("pe1", "p1"):
            nsn = st["routers"][node]
            assert all(l["addr_info"] == [] for l in ipj("addr", ns=nsn)), "no kernel address on a router"
            with nsutil.netns(nsn):
                assert nsutil.read_sysctl("net.ipv4.ip_forward") == "0"
                assert nsutil.read_sysctl("net.ipv6.conf.all.disable_ipv6") == "1"
                assert nsutil.read_sysctl("net.ipv6.conf.default.disable_ipv6") == "1"
            for itf in lab.nodes[node].interfaces:
                f = tmp_path / f"{node}-{itf.name}.pcap"
                p = subprocess.Popen(api.capture_argv(name, node, itf.name, str(f)), stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
                assert b"listening" in p.stderr.readline()
                caps.append((node, itf, f, p))
        dst = str(lab.probes[0].targets[0])
        hops = scamper.trace_with_pings(st["hosts"]["vp"], dst)
        assert hops[-1].address == dst
        time.sleep(0.3)
        snmp = {}
        for node in ("pe1", "p1"):
            r = subprocess.run(["ip", "netns", "exec", st["routers"][node], "cat", "/proc/net/snmp"],
                               capture_output=True, text=True, check=True)
            lines = [l.split() for l in r.stdout.splitlines()]
            for head, vals in zip(lines[::2], lines[1::2]):
                snmp[(node, head[0])] = dict(zip(head[1:], map(int, vals[1:])))
    finally:
        for *_, p in caps:
            p.terminate()
            p.wait()
        api.down(name)
    assert_gone(name)
    for node in ("pe1", "p1"):
        assert snmp[(node, "Ip:")]["OutRequests"] == 0
        assert snmp[(node, "Icmp:")]["OutMsgs"] == 0
    from scapy.all import ARP, IP, Ether, rdpcap
    sent = 0
    for node, itf, f, _ in caps:
        n = lab.nodes[node]
        pers = n.personality
        mine = {str(a) for a in n.addresses()}
        for pkt in rdpcap(str(f)):
            e = pkt[Ether]
            assert e.type in (0x0800, 0x0806, 0x8847), f"{node} {itf.name}: ethertype {e.type:#x}"
            if e.src.replace(":", "") != itf.mac.hex():
                continue                                       # received from the neighbour
            sent += 1
            if ARP in pkt:
                assert pkt[ARP].psrc == str(itf.ip)
            elif IP in pkt and pkt[IP].src in mine and pkt[IP].proto == 1:
                # the router's own ICMP (maybe passing again after a u-turn through its LSP):
                # Cisco's initial TTL 255 minus a few hops, never a Linux kernel's 64
                top = max(pers.ttl_time_exceeded, pers.ttl_echo_reply, pers.ttl_unreachable)
                assert top - 16 < pkt[IP].ttl <= top, f"{node}: a reply with TTL {pkt[IP].ttl} is not the engine's"
    assert sent > 10, "the captures saw the engine's frames"


def test_tap_attachment_point_answers_arp_and_reaches_hosts():
    name = N("pt-tap")
    lab = load_lab("invisible-php")
    st = api.up(lab, name=name)
    try:
        att = api.attachment(name, "vp")
        assert att == next(a for a in st["attach"] if a["lan"] == "vp-lan")
        assert att["address"] == "12.0.0.254" and att["prefixlen"] == 24 and att["gateway"] == "12.0.0.1"
        tap = ipj("-d", "link", "show", att["tap"], ns=att["namespace"])[0]
        assert tap["master"] == att["bridge"]
        with nsutil.netns(att["namespace"]):
            import fcntl
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", att["tap"].encode(), IFF_TAP | IFF_NO_PI))
        try:
            mac = bytes.fromhex("02000000beef")
            me = IPv4Address(att["address"]).packed
            gw = IPv4Address(att["gateway"]).packed
            arp = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + me +
                   b"\x00" * 6 + gw)
            gwmac = None
            deadline = time.monotonic() + 5
            while gwmac is None and time.monotonic() < deadline:
                os.write(fd, arp)
                for f in _read_frames(fd, 0.3):
                    if f[12:14] == b"\x08\x06" and struct.unpack_from("!H", f, 20)[0] == 2 and f[28:32] == gw:
                        gwmac = f[22:28]
            assert gwmac is not None and gwmac.hex(":") == att["gateway_mac"], "the router engine answers ARP"
            # and a real packet through the lab to a Linux host and back (we answer ARP for us)
            dst = IPv4Address(str(lab.probes[0].targets[0])).packed
            icmp = icmp_echo(0x1234)
            ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, me, dst))
            c = inet_checksum(bytes(ip))
            ip[10:12] = struct.pack("!H", c)
            frame = gwmac + mac + b"\x08\x00" + bytes(ip) + icmp
            got = None
            deadline = time.monotonic() + 5
            while got is None and time.monotonic() < deadline:
                os.write(fd, frame)
                for f in _read_frames(fd, 0.3):
                    if f[12:14] == b"\x08\x06" and struct.unpack_from("!H", f, 20)[0] == 1 and f[38:42] == me:
                        os.write(fd, f[6:12] + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) +
                                 mac + me + f[22:28] + f[28:32])
                    elif f[12:14] == b"\x08\x00" and f[14 + 12:14 + 16] == dst and f[14 + 20] == 0:
                        got = f[14 + 8]
            assert got == 60, "an echo reply from dst (Linux, TTL 64 - 4 routers)"
        finally:
            os.close(fd)
    finally:
        api.down(name)
    assert_gone(name)


def _read_frames(fd, timeout):
    out = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return out
        while True:
            try:
                out.append(os.read(fd, 65536))
            except BlockingIOError:
                break


def test_host_namespaces_answer_bursts():
    name = N("pt-hostsys")
    st = api.up(load_lab("plain-ip", {"hops": 2}), name=name)
    try:
        for nsn in st["hosts"].values():
            with nsutil.netns(nsn):
                assert nsutil.read_sysctl("net.ipv4.icmp_ratelimit") == "0"
                assert nsutil.read_sysctl("net.ipv4.icmp_msgs_per_sec") == "100000"
                assert nsutil.read_sysctl("net.ipv4.icmp_msgs_burst") == "10000"
                assert nsutil.read_sysctl("net.ipv6.conf.all.disable_ipv6") == "1"
    finally:
        api.down(name)
    assert_gone(name)
