"""Debian's scamper run in a lab namespace, its JSON read into the sim prober's HopReply.

The probe path holds no code of ours: scamper sends from the host's kernel and reads the
replies; we only parse its JSON (`-O json`), whose field names are scamper's:
trace hops[]: addr, probe_ttl, reply_ttl, icmp_type, icmp_code, icmp_q_ttl,
icmpext[].mpls_labels[]: mpls_label, mpls_ttl; ping responses[]: from, reply_ttl.
"""
from __future__ import annotations

import json

from testbed.runtimes.netns.state import supervisor_of_ns
from testbed.tools.scripted import HopReply


def _run(nsname: str, args: list[str], timeout: float) -> list[dict]:
    # a detector run of the lab: recorded with its supervisor (`down` stops it), dies with us
    r = supervisor_of_ns(nsname).run("detector", ["ip", "netns", "exec", nsname, "scamper", "-O", "json"] + args,
                                     timeout=timeout, what="scamper")
    if r.returncode != 0:
        raise RuntimeError(f"scamper failed in {nsname}: {r.stderr.strip() or r.returncode}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip().startswith("{")]


def trace(nsname: str, dst: str, method: str = "icmp-paris", wait: int = 1, timeout: float = 120) -> dict:
    docs = _run(nsname, ["-c", f"trace -P {method} -q 1 -w {wait}", "-i", dst], timeout)
    return next(d for d in docs if d.get("type") == "trace")


def ping(nsname: str, addrs: list[str], timeout: float = 120) -> dict[str, int | None]:
    """reply TTL of one echo to each address (None: no reply)."""
    if not addrs:
        return {}
    docs = _run(nsname, ["-c", "ping -c 1", "-i"] + list(addrs), timeout)
    out = {a: None for a in addrs}
    for d in docs:
        if d.get("type") != "ping":
            continue
        for r in d.get("responses", []):
            if r.get("from") == d["dst"] and r.get("icmp_type", 0) == 0:
                out[d["dst"]] = r["reply_ttl"]
                break
    return out


def hops_of(doc: dict) -> list[HopReply]:
    """A scamper trace as the sim prober's hop list: one HopReply per probe TTL up to the last
    answering hop, silent TTLs with address None."""
    by_ttl = {}
    for h in doc.get("hops", []):
        labels = []
        for ext in h.get("icmpext", []) or []:
            for lse in ext.get("mpls_labels", []) or []:
                labels.append((lse["mpls_label"], lse["mpls_ttl"]))
        by_ttl.setdefault(h["probe_ttl"], HopReply(
            ttl=h["probe_ttl"], address=h["addr"], icmp_type=h.get("icmp_type"), icmp_code=h.get("icmp_code"),
            reply_ttl=h.get("reply_ttl"), quoted_ttl=h.get("icmp_q_ttl"), labels=labels))
    last = max(by_ttl) if by_ttl else 0
    first = doc.get("firsthop", 1)
    return [by_ttl.get(t, HopReply(ttl=t, address=None)) for t in range(first, last + 1)]


def trace_with_pings(nsname: str, dst: str, method: str = "icmp-paris", fingerprint: bool = True) -> list[HopReply]:
    hops = hops_of(trace(nsname, dst, method))
    if fingerprint:
        addrs = sorted({h.address for h in hops if h.address})
        ttls = ping(nsname, addrs)
        for h in hops:
            if h.address:
                h.er_ttl = ttls.get(h.address)
    return hops
