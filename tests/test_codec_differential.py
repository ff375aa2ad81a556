"""The two codecs, each against third parties (issue 14): every frame the engine's routers emit
and every frame uTNT sends while uTNT traces library labs on the sim runtime is decoded by scapy
AND by tcpdump (from a pcap, `tcpdump -r -vv -nn -#`), and compared field by field with what our
code meant to send. The engine (testbed/wire) and uTNT (utnt/net) are never compared with each
other: that would prove little (GUIDE, independent checks).

"Meant to send" is recorded where the code decides, not re-derived from the bytes:
* engine, locally generated packets: the arguments of the codec calls the engine makes
  (icmp_error: type, code, the original datagram, the quoted label stack; echo: id, seq, data;
  ip_packet: source, destination, TTL, IP-ID; arp_request / arp_reply: addresses);
* engine, forwarded frames: the tables the data plane ran (LFIB out label of the received top
  label, FIB push of the destination) and the TTL rule (LSE-TTL - 1 at a swap, IP-TTL - 1 at
  an IP hop, LSE-TTL = IP-TTL or the pipe value at a push), applied to the received frame as
  scapy decoded it;
* uTNT: the arguments of Stack.send_ip and the probe the prober chose (Paris flow: ICMP
  identifier and checksum, UDP ports and checksum; TTL; IP-ID = probe number), and its ARP.

tcpdump prints only the first entry of an RFC 4950 object (print-icmp.c), so the deeper quoted
entries are compared through scapy alone; every other field both ways.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from ipaddress import IPv4Address

import pytest
from scapy.all import ARP, ICMP, IP, UDP, Ether, raw
from scapy.contrib.mpls import MPLS, ICMPExtension_MPLS
from scapy.layers.inet import ICMPExtension_Header, IPerror
from scapy.utils import RawPcapWriter

import testbed.engine.router as engine
from testbed.controlplane.tables import IMPLICIT_NULL
from testbed.detectors.utnt import probe_sim, utnt_args
from testbed.runtimes.sim import Sim
from utnt.net import prober as utnt_prober
from utnt.net import stack as utnt_stack

pytestmark = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")

# (lab, parameters, uTNT options): RFC 4950 quotes with one and two labels, tunnelled errors
# (cisco), <255,64> (juniper), the UHP explicit-null quote, entropy labels, UDP probes and
# port-unreachables, echo replies from the revelation pings, ARP everywhere
CASES = [
    ("explicit", {}, []),
    ("explicit", {"vendor": "juniper"}, ["-m", "udp-paris"]),
    ("l3vpn", {}, ["-m", "udp-paris"]),
    ("invisible-uhp", {"vendor": "juniper"}, []),
    ("entropy", {}, []),
    ("invisible-php", {}, ["-b"]),
]


def ip(a) -> str:
    return str(IPv4Address(a))


def mac(b: bytes) -> str:
    return b.hex(":")


def scapy_stack(p) -> list:
    """[(label, tc, s, ttl)] of the frame's label stack (scapy chains the entries)."""
    out = []
    m = p.payload           # only the stack right after Ethernet (an RFC 4950 object holds MPLS layers too)
    while isinstance(m, MPLS):
        out.append((m.label, m.cos, m.s, m.ttl))
        m = m.payload
    return out


def scapy_ext_stack(icmp) -> list | None:
    ext = icmp.ext if hasattr(icmp, "ext") else None
    if not isinstance(ext, ICMPExtension_Header):
        return None
    obj = ext.payload
    assert isinstance(obj, ICMPExtension_MPLS) and (obj.classnum, obj.classtype) == (1, 1)
    out = []
    for e in obj.stack:
        while isinstance(e, MPLS):
            out.append((e.label, e.cos, e.s, e.ttl))
            e = e.payload
    return out


def recomputed(p, layer):
    q = p.copy()
    del q[layer].chksum
    return q.__class__(raw(q))[layer].chksum


# ------------------------------------------------------------------ tcpdump
_MPLS = re.compile(r"\(label (\d+)(?: \([^)]*\))?, tc (\d+), (\[S\], )?ttl (\d+)\)")   # "label 0 (IPv4 explicit NULL)"
_IPL = re.compile(r"IP \(tos 0x[0-9a-f]+, ttl (\d+), id (\d+), offset \d+, flags \[[^\]]*\], proto \w+ \((\d+)\)")
_EXT = re.compile(r"label (\d+)(?: \([^)]*\))?, tc (\d+)(, \[S\])?, ttl (\d+)$")


def tcpdump(frames, tmp_path) -> list[dict]:
    """Write the frames to a pcap, read it back with tcpdump and return its reading per frame."""
    pcap = tmp_path / "frames.pcap"
    w = RawPcapWriter(str(pcap), linktype=1)
    for f in frames:
        w.write(f)
    w.close()
    out = subprocess.run(["tcpdump", "-r", str(pcap), "-vv", "-nn", "-#"], capture_output=True, text=True,
                         timeout=120).stdout
    blocks = re.split(r"(?m)^\s*(\d+)  \d\d:\d\d:\d\d\.\d+ ", out)[1:]
    got = {}
    for num, text in zip(blocks[0::2], blocks[1::2]):
        lines = [x.strip() for x in text.splitlines()]
        r = {"text": text, "mpls": [], "ip": [], "ext": None}
        for ln in lines:
            r["mpls"] += [(int(a), int(b), int(bool(c)), int(d)) for a, b, c, d in _MPLS.findall(ln)
                          if not ln.startswith("IP")]
            m = _IPL.search(ln)
            if m:
                r["ip"].append(tuple(int(x) for x in m.groups()))
            m = _EXT.search(ln)
            if m and r["ext"] is None and not ln.startswith("("):
                r["ext"] = (int(m[1]), int(m[2]), int(bool(m[3])), int(m[4]))
        got[int(num)] = r
    assert len(got) == len(frames), out[-2000:]
    return [got[i + 1] for i in range(len(frames))]


def tcpdump_common(td, p):
    """What tcpdump and scapy must both say about any frame: label stack, IP header, checksums."""
    t = td["text"]
    assert "bad cksum" not in t and "wrong icmp cksum" not in t and "bad udp cksum" not in t, t
    assert "[|" not in t, f"tcpdump found the frame truncated: {t}"
    if ARP in p:
        a = p[ARP]
        if a.op == 1:
            assert f"Request who-has {a.pdst} tell {a.psrc}" in t, t
        else:
            assert f"Reply {a.psrc} is-at {a.hwsrc}" in t, t
        return
    assert td["mpls"] == scapy_stack(p), t
    i = p[IP]
    assert td["ip"][0] == (i.ttl, i.id, i.proto), t
    assert f"{i.src} > {i.dst}" in t or f"{i.src}." in t, t
    if UDP in p and not isinstance(p[UDP].underlayer, IPerror):
        assert "[udp sum ok]" in t, t
    if ICMP in p:
        ic = p[ICMP]
        kind = {0: "ICMP echo reply", 8: "ICMP echo request", 11: "ICMP time exceeded in-transit",
                3: "unreachable"}[ic.type]
        assert kind in t, t
        if ic.type in (0, 8):
            assert f"id {ic.id}, seq {ic.seq}" in t, t
        if ic.type in (3, 11):
            q = p[IPerror]
            assert td["ip"][1] == (q.ttl, q.id, q.proto), t
            ext = scapy_ext_stack(ic)
            if ext:
                assert "(correct)" in t and td["ext"] == ext[0], t
            else:
                assert "Multi-Part extension" not in t, t


# ------------------------------------------------------------------ recording what the code meant
class EngineIntent:
    """Wraps the codec calls of testbed/engine/router.py: arguments -> the bytes they gave."""

    def __init__(self, monkeypatch):
        self.errors, self.echoes, self.packets, self.arps = {}, {}, {}, {}
        for name, book, keys in (("icmp_error", self.errors, ("type", "code", "orig", "quote", "stack")),
                                 ("echo", self.echoes, ("type", "ident", "seq", "data")),
                                 ("ip_packet", self.packets, ("src", "dst", "proto", "ttl", "l4", "ident")),
                                 ("arp_request", self.arps, ("smac", "sip", "dip")),
                                 ("arp_reply", self.arps, ("smac", "sip", "dmac", "dip"))):
            monkeypatch.setattr(engine, name, self._wrap(getattr(engine, name), book, keys, name))

    @staticmethod
    def _wrap(fn, book, keys, name):
        def wrapped(*args):
            out = fn(*args)
            book[bytes(out)] = dict(zip(keys, args), call=name)
            return out
        return wrapped


class UtntIntent:
    def __init__(self, monkeypatch):
        self.sends, self.probes, self.stack = [], {}, None
        orig_send_ip, orig_probe = utnt_stack.Stack.send_ip, utnt_prober.NetProber._send
        me = self

        def send_ip(stack, dst, proto, ttl, l4, ident=None, tos=0):
            me.stack = stack
            got = orig_send_ip(stack, dst, proto, ttl, l4, ident, tos)
            me.sends.append(dict(src=stack.ip, dst=dst, proto=proto, ttl=ttl, l4=bytes(l4), ident=got, tos=tos,
                                 smac=stack.mac, dmac=stack.gw_mac))
            return got

        def probe(prober, dst, ttl, method):
            key = orig_probe(prober, dst, ttl, method)
            me.probes[(dst, ttl, prober.seq)] = dict(key=key, method=method, icmp_ck=prober.icmp_ck)
            return key
        monkeypatch.setattr(utnt_stack.Stack, "send_ip", send_ip)
        monkeypatch.setattr(utnt_prober.NetProber, "_send", probe)


def run_case(labs, monkeypatch, name, params, opts):
    lab, cp = labs(name, **params)
    eng, ut = EngineIntent(monkeypatch), UtntIntent(monkeypatch)
    sim = Sim(lab, cp)
    emitted = []          # (router, in port, in frame, out port, out frame)
    for rname, r in sim.nodes.items():
        if r.is_host:
            continue

        def handle(pidx, frame, now=0.0, _h=r.handle, _n=rname):
            out = _h(pidx, frame, now)
            emitted.extend((_n, pidx, frame, opidx, f) for opidx, f in out)
            return out
        r.handle = handle
    source = lab.probes[0].source
    sent = []
    emit = sim._emit

    def from_prober(node, pidx, frame):
        if node == source:
            sent.append(frame)
        emit(node, pidx, frame)
    sim._emit = from_prober
    doc = probe_sim(lab, cp, source, [str(t) for t in lab.probes[0].targets], utnt_args(opts), sim=sim)
    assert doc["traces"] and doc["counters"]["probes"]["probes"] > 0
    return lab, sim, eng, ut, emitted, sent


# ------------------------------------------------------------------ engine frames
def check_engine_frame(sim, eng, rname, in_pidx, fin, opidx, f, seen):
    r = sim.nodes[rname]
    p = Ether(f)
    assert p.src == mac(r.ports[opidx].mac), "a router sends from the MAC of the port it sends on"
    if ARP in p:
        want = eng.arps.get(f)
        assert want is not None, f"{rname} sent an ARP frame it did not build with the codec"
        a = p[ARP]
        assert (a.hwtype, a.ptype, a.hwlen, a.plen) == (1, 0x0800, 6, 4)
        assert (a.hwsrc, a.psrc, a.pdst) == (mac(want["smac"]), ip(want["sip"]), ip(want["dip"]))
        if want["call"] == "arp_request":
            assert a.op == 1 and p.dst == "ff:ff:ff:ff:ff:ff"
        else:
            assert a.op == 2 and p.dst == a.hwdst == mac(want["dmac"])
        seen["arp"] += 1
        return
    stack = scapy_stack(p)
    off = 14 + 4 * len(stack)
    i = p[IP]
    pkt = f[off:off + i.len]
    assert len(pkt) == i.len and recomputed(p, IP) == i.chksum, "IPv4 header checksum as scapy computes it"
    gen = eng.packets.get(pkt)
    if gen is not None:                # generated by a router (here or upstream, carried in a tunnel)
        assert (i.src, i.dst, i.ttl, i.proto, i.id) == (ip(gen["src"]), ip(gen["dst"]), gen["ttl"], gen["proto"],
                                                        gen["ident"])
        ic = p[ICMP]
        assert recomputed(p, ICMP) == ic.chksum, "ICMP checksum as scapy computes it"
        l4 = gen["l4"]
        if l4 in eng.errors:
            e = eng.errors[l4]
            assert (ic.type, ic.code) == (e["type"], e["code"])
            orig = bytes(e["orig"])
            q = IP(orig)
            qe = i[IPerror]
            assert (qe.src, qe.dst, qe.ttl, qe.id, qe.proto) == (q.src, q.dst, q.ttl, q.id, q.proto)
            body = raw(ic)[8:]
            if e["stack"] is not None:
                assert ic.length == 32 and body[:128] == (orig + bytes(128))[:128]
                ext = scapy_ext_stack(ic)
                assert ext == [tuple(x) for x in e["stack"]], "RFC 4950 object: the stack the engine quoted"
                pin = Ether(fin)
                if IP in pin and raw(pin[IP])[:20] == orig[:20]:     # the answer to this very frame
                    assert ext == scapy_stack(pin), "RFC 4950 object: the label stack as received"
                    seen["quote=received"] += 1
                hdr = ic.ext.copy()
                hdr.chksum = None
                assert ICMPExtension_Header(raw(hdr)).chksum == ic.ext.chksum, "RFC 4884 extension checksum"
                seen["rfc4950"] += 1
            else:
                assert ic.length == 0 and body == orig[:e["quote"]] and scapy_ext_stack(ic) is None
            seen[f"icmp{ic.type}"] += 1
        else:
            e = eng.echoes[l4]
            assert (ic.type, ic.code, ic.id, ic.seq, e["type"]) == (0, 0, e["ident"], e["seq"], 0)
            assert raw(ic.payload) == bytes(e["data"])
            seen["echo"] += 1
    # the labels: what the tables say for the frame as received
    pin = Ether(fin)
    if ARP in pin:          # queued for a neighbour this ARP frame resolved: its own cause came earlier
        seen["released"] += 1
        return
    in_stack = scapy_stack(pin)
    if in_stack and stack and in_stack[0][3] > 1:
        hops = r.lfib.get(in_stack[0][0])
        if hops and len(hops) == 1 and hops[0][0] not in (None, IMPLICIT_NULL):
            out_label, pidx, _ = hops[0]
            assert opidx == pidx and stack[0][0] == out_label, "swap: the LFIB's out label"
            assert stack[0][1:] == (in_stack[0][1], in_stack[0][2], in_stack[0][3] - 1), "swap: LSE-TTL - 1"
            assert f[18:] == fin[18:], "swap: nothing below the top entry changes"
            seen["swap"] += 1
    elif not in_stack and stack and gen is None:
        route = r._lpm(int(IPv4Address(pin[IP].dst)))
        if route is not None and len(route.hops) == 1:
            push = route.hops[0][2]
            assert [e[0] for e in stack[:len(push)]] == list(push), "push: the FIB's labels"
            ttl = pin[IP].ttl - 1 if r.personality.decrement_at_ingress else pin[IP].ttl
            lse_ttl = ttl if r.ttl_propagate else r.personality.pipe_lse_ttl
            assert {e[3] for e in stack[:len(push)]} == {lse_ttl} and i.ttl == ttl, "push: the TTL rule"
            seen["push"] += 1
    elif not in_stack and not stack and gen is None and pin[IP].ttl > 1:
        assert i.ttl == pin[IP].ttl - 1 and raw(i)[20:] == raw(pin[IP])[20:], "IP forward: TTL - 1"
        seen["ip"] += 1


# ------------------------------------------------------------------ uTNT frames
def check_utnt_frame(ut, f, send, seen):
    p = Ether(f)
    st = ut.stack
    assert p.src == mac(st.mac)
    if ARP in p:
        a = p[ARP]
        assert (a.hwsrc, a.psrc) == (mac(st.mac), ip(st.ip))
        if a.op == 1:
            assert p.dst == "ff:ff:ff:ff:ff:ff" and a.pdst == ip(st.gateway)
        else:
            assert a.op == 2 and p.dst == a.hwdst
        seen["arp"] += 1
        return
    assert send is not None, "every IPv4 frame uTNT sends comes from Stack.send_ip"
    i = p[IP]
    assert p.dst == mac(send["dmac"]) and MPLS not in p
    assert (i.src, i.dst, i.ttl, i.proto, i.id, i.tos, i.ihl, i.len) == (
        ip(send["src"]), ip(send["dst"]), send["ttl"], send["proto"], send["ident"], send["tos"], 5,
        20 + len(send["l4"]))
    assert recomputed(p, IP) == i.chksum and raw(i.payload) == send["l4"]
    probe = ut.probes.get((send["dst"], send["ttl"], send["ident"]))
    if UDP in p:
        u = p[UDP]
        assert probe is not None and probe["method"] == "udp-paris"
        _, dst, sport, check = probe["key"]
        assert (u.sport, u.dport, u.chksum, u.len) == (sport, 33435, check, 10), "Paris UDP: ports fixed, checksum = probe"
        assert recomputed(p, UDP) == u.chksum
        seen["udp"] += 1
        return
    ic = p[ICMP]
    assert ic.code == 0 and recomputed(p, ICMP) == ic.chksum
    if probe is not None and probe["method"] == "icmp-paris":
        _, dst, ident, seq = probe["key"]
        assert (ic.type, ic.id, ic.seq, ic.chksum) == (8, ident, seq, probe["icmp_ck"]), "Paris ICMP: id and checksum fixed"
        seen["icmp-paris"] += 1
    else:
        assert ic.type in (0, 8)
        seen["ping" if ic.type == 8 else "echo-reply"] += 1


@pytest.mark.parametrize("name,params,opts", CASES, ids=[f"{c[0]}-{c[1].get('vendor', 'default')}-{len(c[2])}"
                                                          for c in CASES])
def test_frames_of_both_codecs_decode_as_meant(labs, monkeypatch, tmp_path, name, params, opts):
    lab, sim, eng, ut, emitted, sent = run_case(labs, monkeypatch, name, params, opts)
    # engine: every distinct frame a router emitted (a frame re-sent for a queued ARP counts once)
    seen = defaultdict(int)
    uniq = {}
    for rec in emitted:
        uniq.setdefault((rec[0], rec[4]), rec)
    for rname, in_pidx, fin, opidx, f in uniq.values():
        check_engine_frame(sim, eng, rname, in_pidx, fin, opidx, f, seen)
    frames = [rec[4] for rec in uniq.values()]
    for td, f in zip(tcpdump(frames, tmp_path), frames):
        tcpdump_common(td, Ether(f))
    # uTNT: every frame it sent, paired in order with its Stack.send_ip calls
    useen = defaultdict(int)
    sends = iter(ut.sends)
    for f in sent:
        check_utnt_frame(ut, f, None if f[12:14] == b"\x08\x06" else next(sends), useen)
    assert next(sends, None) is None, "every Stack.send_ip call put one frame on the wire"
    for td, f in zip(tcpdump(sent, tmp_path), sent):
        tcpdump_common(td, Ether(f))
    # what each case is there for was on the wire
    assert seen["arp"] and seen["icmp11"] and seen["echo"] + seen["icmp3"], dict(seen)
    assert useen["arp"] and useen["icmp-paris" if "-m" not in opts else "udp"], dict(useen)
    if name in ("explicit", "l3vpn", "entropy"):
        assert seen["rfc4950"] and seen["quote=received"] and seen["swap"] and seen["push"], dict(seen)
    if name == "invisible-php":
        assert seen["ip"] and useen["ping"], (dict(seen), dict(useen))


# ------------------------------------------------------------------ 6PE: IPv6 and ICMPv6 frames
_IP6 = re.compile(r"IP6 \(hlim (\d+), next-header \w+ \((\d+)\) payload length: (\d+)\) (\S+) > (\S+): ")


class Engine6Intent:
    """Wraps the IPv6 codec calls of testbed/engine/ipv6.py: arguments -> the bytes they gave."""

    def __init__(self, monkeypatch):
        import testbed.engine.ipv6 as e6
        self.errors, self.echoes, self.packets, self.nd = {}, {}, {}, {}
        for name, book, keys in (("icmp6_error", self.errors, ("type", "code", "orig", "src", "dst", "stack")),
                                 ("echo6", self.echoes, ("type", "ident", "seq", "data", "src", "dst")),
                                 ("ipv6_packet", self.packets, ("src", "dst", "nh", "hlim", "l4")),
                                 ("neighbor_advert", self.nd, ("target", "mac", "src", "dst")),
                                 ("neighbor_solicit", self.nd, ("target", "mac", "src", "dst"))):
            monkeypatch.setattr(e6, name, self._wrap(getattr(e6, name), book, keys, name))

    @staticmethod
    def _wrap(fn, book, keys, name):
        def wrapped(*args, **kw):
            out = fn(*args, **kw)
            book[bytes(out)] = dict(zip(keys, args), call=name, **kw)
            return out
        return wrapped


def test_sixpe_frames_decode_as_meant(labs, monkeypatch, tmp_path):
    """Every IPv6 frame the engine's routers emit while the scripted prober (scapy) traces the
    6PE lab over IPv6, decoded by scapy and tcpdump: IPv6 header and ICMPv6 checksum (pseudo-
    header) as scapy computes them, the quoted packet and the RFC 4884/4950 extension as the
    engine meant it (and as the labels were received), ND, and the forwarding rules (the 6PE
    push of the transport label over label 2 with the hop limit, swaps, the IPv6 hop)."""
    from ipaddress import IPv6Address
    from scapy.all import ICMPv6EchoReply, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPerror6, IPv6
    from testbed.tools.scripted import ScriptedProber
    lab, cp = labs("6pe")
    eng = Engine6Intent(monkeypatch)
    sim = Sim(lab, cp)
    emitted = []
    for rname, r in sim.nodes.items():
        def handle(pidx, frame, now=0.0, _h=r.handle, _n=rname):
            out = _h(pidx, frame, now)
            emitted.extend((_n, pidx, frame, opidx, f) for opidx, f in out)
            return out
        r.handle = handle
    hops = ScriptedProber(sim, "vp").trace6(str(lab.probes[0].targets6[0][0]))
    assert hops[-1].icmp_type == 0
    uniq = {}
    for rec in emitted:
        if rec[4][12:14] in (b"\x86\xdd", b"\x88\x47"):
            uniq.setdefault((rec[0], rec[4]), rec)
    seen = defaultdict(int)
    for rname, _, fin, opidx, f in uniq.values():
        r = sim.nodes[rname]
        p = Ether(f)
        assert p.src == mac(r.ports[opidx].mac)
        stack = scapy_stack(p)
        off = 14 + 4 * len(stack)
        i = IPv6(f[off:])
        pkt = f[off:off + 40 + i.plen]
        q = i.copy()
        del q.payload.cksum
        assert IPv6(raw(q)).payload.cksum == i.payload.cksum, "ICMPv6 checksum (pseudo-header) as scapy computes it"
        gen = eng.packets.get(pkt)
        if gen is not None:
            assert (IPv6Address(i.src), IPv6Address(i.dst), i.hlim, i.nh) == (
                IPv6Address(gen["src"]), IPv6Address(gen["dst"]), gen["hlim"], gen["nh"])
            l4 = gen["l4"]
            if l4 in eng.errors:
                e = eng.errors[l4]
                ic = i.payload
                assert (ic.type, ic.code) == (e["type"], e["code"])
                orig = bytes(e["orig"])
                qe = i[IPerror6]
                assert (qe.src, qe.dst, qe.hlim, qe.plen) == (IPv6(orig).src, IPv6(orig).dst, IPv6(orig).hlim,
                                                              IPv6(orig).plen)
                body = raw(ic)[8:]
                if e["stack"] is not None:
                    assert ic.length == 16 and body[:128] == (orig + bytes(128))[:128]
                    ext = ICMPExtension_Header(body[128:])
                    got = []
                    for x in ext[ICMPExtension_MPLS].stack:
                        while isinstance(x, MPLS):
                            got.append((x.label, x.cos, x.s, x.ttl))
                            x = x.payload
                    assert got == [tuple(x) for x in e["stack"]]
                    hdr = ext.copy()
                    hdr.chksum = None
                    assert ICMPExtension_Header(raw(hdr)).chksum == ext.chksum, "RFC 4884 extension checksum"
                    pin = Ether(fin)
                    sin = scapy_stack(pin)
                    if sin and fin[14 + 4 * len(sin):14 + 4 * len(sin) + 40] == orig[:40]:
                        assert got == sin, "RFC 4950 object: the label stack as received"
                        seen["quote=received"] += 1
                    if i.src.startswith("::ffff:"):
                        seen["mapped"] += 1
                    seen["rfc4950"] += 1
                else:
                    assert ic.length == 0 and body == orig[:1232]
                seen[f"icmp6-{ic.type}"] += 1
            elif l4 in eng.echoes:
                assert ICMPv6EchoReply in i and raw(i[ICMPv6EchoReply].data) == bytes(eng.echoes[l4]["data"])
                seen["echo"] += 1
            else:
                nd = eng.nd[l4]
                if nd["call"] == "neighbor_advert":
                    assert IPv6Address(i[ICMPv6ND_NA].tgt) == IPv6Address(nd["target"]) and i.hlim == 255
                    assert i[ICMPv6NDOptDstLLAddr].lladdr == mac(nd["mac"])
                    seen["na"] += 1
                else:
                    assert IPv6Address(i[ICMPv6ND_NS].tgt) == IPv6Address(nd["target"])
                    assert p.dst == "33:33:" + mac(IPv6Address(i.dst).packed[-4:])
                    seen["ns"] += 1
            continue
        pin = Ether(fin)
        if ARP in pin or ICMPv6ND_NA in pin or ICMPv6ND_NS in pin:
            seen["released"] += 1           # queued for the neighbour this frame resolved
            continue
        sin = scapy_stack(pin)
        if sin and stack and sin[0][3] > 1:
            hops6 = r.lfib.get(sin[0][0])
            if hops6 and len(hops6) == 1 and hops6[0][0] not in (None, IMPLICIT_NULL):
                assert stack[0] == (hops6[0][0], sin[0][1], sin[0][2], sin[0][3] - 1) and f[18:] == fin[18:]
                seen["swap"] += 1
        elif not sin and stack:
            i_in = pin[IPv6]
            route = r._lpm6(int(IPv6Address(i_in.dst)))
            push = route.hops[0][2]
            assert [e[0] for e in stack] == list(push) and push[-1] == 2, "6PE push: transport label over label 2"
            assert {e[3] for e in stack} == {i_in.hlim - 1} and i.hlim == i_in.hlim - 1, "uniform: LSE-TTL = hop limit"
            seen["push"] += 1
        elif not sin and not stack:
            assert i.hlim == pin[IPv6].hlim - 1 and raw(i)[8:] == raw(pin[IPv6])[8:], "IPv6 forward: hop limit - 1"
            seen["ip6"] += 1
    frames = [rec[4] for rec in uniq.values()]
    for td, f in zip(tcpdump(frames, tmp_path), frames):
        t = td["text"]
        p = Ether(f)
        assert "[icmp6 sum ok]" in t and "bad" not in t and "[|" not in t, t
        assert td["mpls"] == scapy_stack(p), t
        m = _IP6.search(t)
        i = IPv6(f[14 + 4 * len(scapy_stack(p)):])
        assert m and (int(m[1]), int(m[2]), int(m[3]), IPv6Address(m[4]), IPv6Address(m[5])) == (
            i.hlim, i.nh, i.plen, IPv6Address(i.src), IPv6Address(i.dst)), t
    assert seen["rfc4950"] and seen["quote=received"] and seen["mapped"] and seen["swap"] and seen["push"], dict(seen)
    assert seen["na"] and seen["ns"] and seen["echo"] and seen["ip6"] and seen["icmp6-3"], dict(seen)
