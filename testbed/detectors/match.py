"""Before scoring: give every trace a source, and name the traces no probe of the lab covers.

`traceroute` prints no source address. A trace without `src` gets the source of the lab's
probe toward its destination; when several vantage points probe that destination, the one
whose true forward path shares most routers with the trace's hops.
"""
from __future__ import annotations


def complete_sources(lab, truth: dict, traces: list[dict]) -> list[dict]:
    for t in traces:
        if t.get("src"):
            continue
        cands = [p for p in truth["probes"] if p["to"] == t["dst"]]
        if not cands:
            continue
        seen = {lab.owner_of(h["address"]) for h in t.get("hops", []) if h.get("address")}

        def overlap(p):
            return max((len(seen & {s["node"] for s in path["forward"]}) for path in p["paths"]), default=0)  # noqa: B023 (max calls it now)
        best = max(cands, key=overlap)
        t["src"] = best.get("from_address")
        t["src_inferred"] = True
    return traces


def unmatched(truth: dict, traces: list[dict]) -> list[dict]:
    """Traces toward no destination the lab probes (the scorer cannot score them)."""
    dsts = {p["to"] for p in truth["probes"]}
    return [{"dst": t["dst"], "src": t.get("src"), "file": t.get("file")} for t in traces if t["dst"] not in dsts]
