"""The per-lab, per-vendor signature table (README), generated from sim runs.

Each row is what a scripted Paris traceroute with pings shows for one library lab rendered
with one vendor personality (`--set vendor=...`): the hops by router name, with the
observables TNT reads (labels and LSE-TTL, qTTL, u-turn, FRPLA, RTLA).
"""
from __future__ import annotations

import re
from pathlib import Path

from testbed import knobs as knob_decls
from testbed.controlplane import build
from testbed.lab import lab_names, load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber, _ittl

VENDORS = ("cisco", "juniper", "linux")
# the other signatures of the catalogue, each on the explicit lab (vendors.md 2.2)
EXTRA_VENDORS = ("iosxr", "huawei", "h3c", "ericsson", "junose", "nokia", "mikrotik", "brocade")


def _annotate(h) -> str:
    bits = []
    if h.labels:
        bits.append("L" + "/".join(str(t) for _, t in h.labels))
    if h.quoted_ttl and h.quoted_ttl > 1 and h.icmp_type == 11:
        bits.append(f"q{h.quoted_ttl}")
    if h.uturn:
        bits.append(f"u{h.uturn}")
    if h.frpla and h.frpla > 0:
        bits.append(f"f{h.frpla}")
    if h.reply_ttl and h.er_ttl and _ittl(h.reply_ttl) == 255 and _ittl(h.er_ttl) != 255:
        rtla = h.return_te - h.return_er
        if rtla > 0:
            bits.append(f"r{rtla}")
    return f"[{' '.join(bits)}]" if bits else ""


def signature_row(lab_name: str, vendor: str | None, knobs: dict | None = None, on=None,
                  method: str = "icmp-paris", target: str | None = None, source: str | None = None):
    """One traced row; `knobs` (behaviour knobs) are set on the routers `on` (default: the
    MPLS domains' routers), `target` a node whose loopback is traced instead of the probe's."""
    params = {"vendor": vendor} if vendor else {}
    lab = load_lab(lab_name, params)
    if knobs:
        import dataclasses
        for n in lab.routers:
            if (n.name in on) if on else n.domain:
                n.personality = dataclasses.replace(n.personality, **knobs)
    cp = build(lab)
    pr = ScriptedProber(Sim(lab, cp), source or lab.probes[0].source)
    if method == "icmp6-paris":            # 6PE: the IPv6 trace (ICMPv6 echo, hop limits 1, 2, ...)
        hops = pr.trace6(str(lab.probes[0].targets6[0][0]))
    else:
        dst = str(lab.nodes[target].primary_address()) if target else str(lab.probes[0].targets[0])
        hops = pr.trace(dst, method=method)
    names, prev = [], None
    for h in hops:
        if h.address is None:
            names.append("*")
            continue
        who = lab.owner_of(h.address) or h.address
        names.append(("=" if who == prev else "") + who + _annotate(h))
        prev = who
    sig = {}
    for h in hops:
        if h.address and h.reply_ttl:
            sig.setdefault(lab.owner_of(h.address), f"<{_ittl(h.reply_ttl)},{_ittl(h.er_ttl) if h.er_ttl else '*'}>")
    lsr_vendor = next((n.vendor for n in lab.routers if n.domain), lab.routers[0].vendor)
    labels = " ".join(f"{lab.owner_of(h.address)}:{'/'.join(str(lbl) for lbl, _ in h.labels)}"
                      for h in hops if h.labels)
    return {"lab": lab_name, "vendor": vendor or lsr_vendor, "trace": " ".join(names),
            "signatures": sorted(set(sig.values())), "labels": labels}


# The domain knobs of the catalogue (topologies/README.md) with the lab each shows on and the
# hop-by-hop signature it produces; rows of the same lab without the knob are the library rows
# above. (knob setting, lab, vendor, knobs, routers or None, method, target[, source]). Every
# behaviour knob's rows are declared with it (testbed/knobs/<knob>.yaml `signatures:`).
KNOB_ROWS = [
    ("vpn: true (domain; two-label stack)", "l3vpn", None, {}, None, None, None),
    ("sr: true (domain; SRGB node SIDs)", "sr-mpls", None, {}, None, None, None),
    ("sixpe: true (domain; 6PE, an IPv6 trace: ::ffff: mapped LSRs quote the transport label over label 2)", "6pe",
     "cisco", {}, None, "icmp6-paris", None),
    ("sixpe: true, Junos P routers (no icmp-tunneling, no IPv6 route back: `*`)", "6pe", "juniper", {}, None,
     "icmp6-paris", None),
    ("bgp_free: true (domain), Huawei ttl expiration pop", "huawei-bgp-free", None, {}, None, None, None),
    ("bgp_free: true (domain), Cisco tunnelling", "huawei-bgp-free", "cisco", {}, None, None, None),
]
KNOB_ROWS += knob_decls.signature_rows()          # the rows declared with their knob (testbed/knobs/<knob>.yaml)


def knobs_of(row) -> set[str]:
    """The knobs a KNOB_ROWS row shows: the name its setting starts with and the knobs it sets."""
    setting, knobs = row[0], row[3]
    return {re.match(r"[a-z_0-9]+", setting).group(0), *knobs}


def knob_row(setting, lab, vendor, knobs, on, method, target, source=None) -> dict:
    if method and method.startswith("fast"):
        row = _fast_row(lab, vendor, knobs, on, method[5:] or "icmp-paris", target)
    elif method == "sizes":
        row = _size_row(lab, vendor, knobs, on)
    elif method == "pings":
        row = _ping_row(lab, vendor, knobs, on, target)
    else:
        row = signature_row(lab, vendor, knobs, on, method or "icmp-paris", target, source)
    return {"knob": setting, **row}


def _knobbed(lab_name, vendor, knobs, on):
    import dataclasses
    lab = load_lab(lab_name, {"vendor": vendor} if vendor else {})
    for n in lab.routers:
        if n.name in on:
            n.personality = dataclasses.replace(n.personality, **knobs)
    return lab


def _fast_row(lab_name, vendor, knobs, on, method="icmp-paris", target=None):
    """A trace whose probes leave 5 ms apart (the sim's clock), then the same again: shows a
    token bucket emptied by the first trace (rows only: the library rows use paced traces)."""
    lab = _knobbed(lab_name, vendor, knobs, on)
    pr = ScriptedProber(Sim(lab, build(lab)), lab.probes[0].source, wait=0.005)
    dst = str(lab.nodes[target].primary_address()) if target else str(lab.probes[0].targets[0])
    first = pr.trace(dst, method=method, fingerprint=False)
    second = pr.trace(dst, method=method, fingerprint=False)
    show = lambda hs: " ".join("*" if h.address is None else lab.owner_of(h.address) for h in hs)  # noqa: E731
    return {"lab": lab_name, "vendor": vendor, "trace": f"{show(first)} / again: {show(second)}",
            "signatures": [], "labels": ""}


def _size_row(lab_name, vendor, knobs, on, payload: int = 300):
    """IP total length of each hop's reply to ICMP probes of 28 + `payload` bytes (TTL 1, 2, ...):
    20 + 8 + the quote (quote_bytes, or 128 padded plus the MPLS extension with labels)."""
    import dataclasses

    from ipaddress import IPv4Address

    from testbed.wire import frames, icmp
    lab = load_lab(lab_name, {"vendor": vendor} if vendor else {})
    for n in lab.routers:
        if (n.name in on) if on else n.domain:
            n.personality = dataclasses.replace(n.personality, **knobs)
    pr = ScriptedProber(Sim(lab, build(lab)), lab.probes[0].source)
    dst = str(lab.probes[0].targets[0])
    cells = []
    for ttl in range(1, 16):
        pkt = frames.ip_packet(int(IPv4Address(pr.src)), int(IPv4Address(dst)), 1, ttl,
                               icmp.echo(8, 0x5a5a, ttl, b"s" * payload))
        pr.port.send(frames.ip_frame(pr.gwmac, pr.mac, pkt))
        pr.sim.run(0.2)
        got = [f for f in pr.port.recv_all() if f[12:14] == b"\x08\x00"]
        if not got:
            cells.append("*")
            continue
        f = got[0]
        src = ".".join(str(b) for b in f[26:30])
        cells.append(f"{lab.owner_of(src) or src}:{int.from_bytes(f[16:18], 'big')}")
        if f[14 + (f[14] & 15) * 4] == 0:
            break
    return {"lab": lab_name, "vendor": vendor, "trace": " ".join(cells), "signatures": [], "labels": ""}


def _ping_row(lab_name, vendor, knobs, on, target, count=4):
    """`count` pings to `target`'s primary address 5 ms apart (sim clock): each reply's IP-ID,
    `*` for none (the echo-reply bucket, the IP-ID mode)."""
    from scapy.all import ICMP, IP
    lab = _knobbed(lab_name, vendor, knobs, on)
    pr = ScriptedProber(Sim(lab, build(lab)), lab.probes[0].source, wait=0.005)
    dst = str(lab.nodes[target].primary_address())
    ids = []
    for seq in range(count):
        got = [r for r in pr.exchange(IP(src=pr.src, dst=dst, ttl=64) / ICMP(type=8, id=4242, seq=seq))
               if ICMP in r and r[ICMP].type == 0 and r[IP].src == dst]
        ids.append(str(got[0][IP].id) if got else "*")
    return {"lab": lab_name, "vendor": vendor, "trace": f"{target}: {' '.join(ids)}", "signatures": [], "labels": ""}


def _takes_vendor(name: str) -> bool:
    from testbed.paths import TOPOLOGIES
    return "vendor | default" in (Path(TOPOLOGIES) / f"{name}.yaml").read_text()


def signature_table(progress: bool = True) -> list[dict]:
    jobs = []
    for name in lab_names():
        if _takes_vendor(name):
            jobs += [(name, v) for v in VENDORS]
        else:
            jobs.append((name, None))
    six = {n for n in lab_names() if "sixpe: true" in (Path(__import__("testbed").TOPOLOGIES) / f"{n}.yaml").read_text()}
    rows = []
    if progress:
        from rich.progress import Progress
        with Progress(transient=True) as p:
            task = p.add_task("tracing library labs in the sim", total=len(jobs))
            for name, v in jobs:
                rows.append(signature_row(name, v, method="icmp6-paris" if name in six else "icmp-paris"))
                p.advance(task)
    else:
        rows = [signature_row(n, v, method="icmp6-paris" if n in six else "icmp-paris") for n, v in jobs]
    rows += [signature_row("explicit", v) for v in EXTRA_VENDORS]
    rows += [knob_row(*k) for k in KNOB_ROWS]
    return rows


def to_markdown(rows) -> str:
    out = ["| lab | vendor | what a Paris traceroute shows (sim) | signatures | quoted labels |",
           "|---|---|---|---|---|"]
    for r in rows:
        if "knob" not in r:
            out.append(f"| {r['lab']} | {r['vendor']} | `{r['trace']}` | {' '.join(r['signatures'])} | "
                       f"{r['labels']} |")
    out += ["", "Every behaviour knob (testbed/vendors/README.md) and what it does to the same trace:", "",
            "| knob | lab | what a Paris traceroute shows (sim) | signatures | quoted labels |", "|---|---|---|---|---|"]
    for r in rows:
        if "knob" in r:
            out.append(f"| {r['knob']} | {r['lab']} | `{r['trace']}` | {' '.join(r['signatures'])} | {r['labels']} |")
    out.append("")
    out.append("Legend: `*` silent hop; `=` the same address again (duplicate IP); `L1` quoted label stack "
               "with its LSE-TTLs; `q2` quoted IP-TTL; `u6` u-turn; `f3` FRPLA; `r3` RTLA.")
    return "\n".join(out)
