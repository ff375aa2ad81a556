"""The engine (which forwards real frames) and the truth walker (which follows the tables)
take the same forwarding decision for every packet: a differential test over every library
lab and its vendor/popping variants.

Two kinds of packets: an ICMP echo from every host to every address of the lab, and frames
injected into every LSR with label stacks the library's control plane does not build by
itself (explicit null above a label, a label above explicit null, two real labels), which is
where the engine and the walker used to differ (issue 13). The frames are built by scapy
(an independent codec) and the path the engine took is read from the frames each node
received, not from the engine's own state.
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest
from scapy.all import ICMP, IP, Ether, raw
from scapy.contrib.mpls import MPLS

from testbed.controlplane import build
from testbed.controlplane.tables import EXPLICIT_NULL
from testbed.lab import lab_names, load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from testbed.truth import walk
from testbed.truth.walk import ENTROPY

MARK = 0x7e57


def variants():
    from testbed.tools.signatures import _takes_vendor
    out = []
    for name in lab_names():
        out.append((name, {}))
        if _takes_vendor(name):
            out += [(name, {"vendor": "juniper"}), (name, {"vendor": "linux"})]
    # back-to-back LSPs: the shared router pops west's explicit null (UHP) and pushes east's
    return out + [("entropy", {}), ("back-to-back", {"popping": "uhp"}),
                  ("back-to-back", {"popping": "uhp", "mode": "abrupt", "vendor": "juniper"})]


def _record(sim):
    """Wrap every node's handle(): log (node, labels on arrival) for frames that carry our
    echo request (ICMP id MARK), in the order the nodes received them."""
    log = []

    def seen(node, frame, mac):
        if frame[0:6] != mac:      # a LAN neighbour's frame, not for this node
            return
        off, labels = 14, []
        if frame[12:14] == b"\x88\x47":
            while off + 4 <= len(frame):
                w, = struct.unpack_from("!I", frame, off)
                labels.append(w >> 12)
                off += 4
                if w & 0x100:
                    break
        if frame[12:14] in (b"\x08\x00", b"\x88\x47") and len(frame) >= off + 28:
            ihl = (frame[off] & 0x0F) * 4
            if frame[off + 9] == 1 and frame[off + ihl] == 8 and \
                    struct.unpack_from("!H", frame, off + ihl + 4)[0] == MARK:
                # an entropy label's value is per flow; the walker writes ENTROPY (-1) for it
                labels = [ENTROPY if i and labels[i - 1] == 7 else x for i, x in enumerate(labels)]
                log.append((node, tuple(labels)))

    for name, r in sim.nodes.items():
        def wrapped(pidx, frame, now=0.0, _h=r.handle, _n=name, _r=r):
            seen(_n, frame, _r.ports[pidx].mac)
            return _h(pidx, frame, now)
        r.handle = wrapped
    for name, port in sim.attached.items():
        def delivered(frame, _d=port._deliver, _n=name, _p=port):
            seen(_n, frame, _p.mac)
            return _d(frame)
        port._deliver = delivered
    return log


def _norm(path):
    """A walked path as (node, labels on arrival) per node, the source dropped and a node's
    repeated steps (an action then a drop, explicit null then the label under it) merged."""
    out = []
    for s in path:
        if s.action == "source":
            continue
        if out and out[-1][0] == s.node:
            continue
        out.append((s.node, tuple(s.labels_in)))
    return out


def _agree(engine, walked, what):
    options = [_norm(p) for p in walked]
    assert engine in options, f"{what}: engine went {engine}, the walker says {options}"


def _labs():
    return [pytest.param(n, p, id=n + "".join(f"-{v}" for v in p.values())) for n, p in variants()]


@pytest.mark.parametrize("name,params", _labs())
def test_echo_from_every_host_to_every_address(name, params):
    lab = load_lab(name, params)
    cp = build(lab)
    sim = Sim(lab, cp)
    probers = {h.name: ScriptedProber(sim, h.name) for h in lab.hosts}
    log = _record(sim)
    targets = sorted({a for n in lab.nodes.values() for a in n.addresses()}, key=int)
    checked = 0
    for h, pr in probers.items():
        for dst in targets:
            if dst in lab.nodes[h].addresses():
                continue
            log.clear()
            pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) /
                             IP(src=pr.src, dst=str(dst), ttl=64) / ICMP(type=8, id=MARK, seq=1)))
            sim.run(0.5)
            # the host's own first hop is the gateway; the walker starts at the host
            _agree(list(log), walk(cp, h, dst), f"{name} {params} {h} -> {dst}")
            checked += 1
    assert checked >= len(targets)


def _inject(sim, lab, router, itf, frame_payload_stack, dst, src):
    """Send a labelled echo request into `router` on interface `itf` from the neighbour there."""
    peer = itf.peers()[0]
    pidx = next(i for i, x in enumerate(lab.nodes[peer.node].interfaces) if x is peer)
    pkt = Ether(dst=itf.mac, src=peer.mac, type=0x8847)
    for i, lbl in enumerate(frame_payload_stack):
        pkt = pkt / MPLS(label=lbl, s=1 if i == len(frame_payload_stack) - 1 else 0, ttl=64)
    pkt = pkt / IP(src=str(src), dst=str(dst), ttl=64) / ICMP(type=8, id=MARK, seq=2)
    sim._emit(peer.node, pidx, raw(pkt))
    sim.run(0.5)


def _stacks(cp, router, label, entry):
    """Stacks worth injecting at `router` for its LFIB `label`: alone, under and over
    explicit null, and over a real label of the next hop."""
    out = [(label,), (EXPLICIT_NULL, label), (label, EXPLICIT_NULL), (EXPLICIT_NULL, label, EXPLICIT_NULL)]
    for h in entry.hops:
        inner = [l for l in cp.tables[h.neighbor].lfib if l not in (label,)] if h.neighbor in cp.tables else []
        if inner:
            out.append((label, inner[0]))
            out.append((EXPLICIT_NULL, label, inner[-1]))
    return out


@pytest.mark.parametrize("name,params", [p for p in _labs() if p.values[0] in
                                         ("explicit", "opaque", "invisible-uhp", "mixed", "invisible-php-juniper",
                                          "l3vpn", "sr-mpls", "huawei-lsp", "back-to-back")])
def test_label_stacks_injected_at_every_lsr(name, params):
    lab = load_lab(name, params)
    cp = build(lab)
    sim = Sim(lab, cp)
    log = _record(sim)
    src = lab.hosts[0].interfaces[0].ip
    checked = 0
    for r in lab.routers:
        t = cp.tables[r.name]
        p2p = [i for i in r.interfaces if i.link.kind == "p2p" and lab.nodes[i.peers()[0].node].is_router]
        if not t.lfib or not p2p:
            continue
        itf = p2p[0]
        for label, entry in sorted(t.lfib.items()):
            dst = entry.fec.network_address if entry.fec.prefixlen == 32 else \
                next(IPv4Address(a) for a in entry.fec.hosts())
            for stack in _stacks(cp, r.name, label, entry):
                log.clear()
                _inject(sim, lab, r.name, itf, stack, dst, src)
                walked = walk(cp, r.name, dst, stack=stack)
                engine = list(log)
                # the walker's first step is the router the frame was injected into
                _agree(engine, walked, f"{name} {params} {r.name} stack {stack} -> {dst}")
                checked += 1
    assert checked > 0
