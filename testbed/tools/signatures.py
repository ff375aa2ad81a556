"""The per-lab, per-vendor signature table (README), generated from sim runs.

Each row is what a scripted Paris traceroute with pings shows for one library lab rendered
with one vendor personality (`--set vendor=...`): the hops by router name, with the
observables TNT reads (labels and LSE-TTL, qTTL, u-turn, FRPLA, RTLA).
"""
from __future__ import annotations

from pathlib import Path

from testbed.controlplane import build
from testbed.lab import lab_names, load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber, _ittl

VENDORS = ("cisco", "juniper", "linux")


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


def signature_row(lab_name: str, vendor: str | None):
    params = {"vendor": vendor} if vendor else {}
    lab = load_lab(lab_name, params)
    cp = build(lab)
    pr = ScriptedProber(Sim(lab, cp), lab.probes[0].source)
    hops = pr.trace(str(lab.probes[0].targets[0]))
    names, prev = [], None
    for h in hops:
        if h.address is None:
            names.append("*")
            continue
        n = lab.owner_of(h.address) or h.address
        names.append(("=" if n == prev else "") + n + _annotate(h))
        prev = n
    sig = {}
    for h in hops:
        if h.address and h.reply_ttl:
            sig.setdefault(lab.owner_of(h.address), f"<{_ittl(h.reply_ttl)},{_ittl(h.er_ttl) if h.er_ttl else '*'}>")
    lsr_vendor = next((n.vendor for n in lab.routers if n.domain), lab.routers[0].vendor)
    return {"lab": lab_name, "vendor": vendor or lsr_vendor, "trace": " ".join(names),
            "signatures": sorted(set(sig.values()))}


def _takes_vendor(name: str) -> bool:
    from testbed import TOPOLOGIES
    return "vendor | default" in (Path(TOPOLOGIES) / f"{name}.yaml").read_text()


def signature_table(progress: bool = True) -> list[dict]:
    jobs = []
    for name in lab_names():
        if _takes_vendor(name):
            jobs += [(name, v) for v in VENDORS]
        else:
            jobs.append((name, None))
    rows = []
    if progress:
        from rich.progress import Progress
        with Progress(transient=True) as p:
            task = p.add_task("tracing library labs in the sim", total=len(jobs))
            for name, v in jobs:
                rows.append(signature_row(name, v))
                p.advance(task)
    else:
        rows = [signature_row(n, v) for n, v in jobs]
    return rows


def to_markdown(rows) -> str:
    out = ["| lab | vendor | what a Paris traceroute shows (sim) | signatures |", "|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['lab']} | {r['vendor']} | `{r['trace']}` | {' '.join(r['signatures'])} |")
    out.append("")
    out.append("Legend: `*` silent hop; `=` the same address again (duplicate IP); `L1` quoted label stack "
               "with its LSE-TTLs; `q2` quoted IP-TTL; `u6` u-turn; `f3` FRPLA; `r3` RTLA.")
    return "\n".join(out)
