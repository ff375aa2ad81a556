"""Match each reported tunnel to the ground-truth tunnels of the same trace, by router
identity (any interface address maps to its router), and count per trace and per class:
present, detected, class correct, ingress correct, egress correct, hidden LSRs present and
revealed, false tunnels, false LSRs. Tunnels TNT cannot see by design (silent Linux LSRs)
are counted apart as `undetectable`, never silently dropped.
"""
from __future__ import annotations

from collections import Counter

CLASS_MAP = {"explicit": "EXP", "implicit": "IMP", "opaque": "OPA", "invisible-php": "INV", "invisible-uhp": "INV"}
COUNTS = ("present", "undetectable", "detected", "class_correct", "ingress_correct", "egress_correct",
          "lsrs_present", "lsrs_found", "hidden_lsrs_present", "hidden_lsrs_revealed", "false_tunnels",
          "false_lsrs")


def _node(lab, addr):
    return lab.owner_of(addr) if addr else None


def _members(lab, t: dict) -> set:
    out = {_node(lab, t.get("ingress")), _node(lab, t.get("egress"))}
    out |= {_node(lab, a) for a in t.get("lsrs", []) if a}
    out.discard(None)
    return out


def score_trace(lab, truth_probe: dict, trace: dict) -> dict:
    """truth_probe: one entry of ground_truth()['probes']; trace: one uTNT JSON trace."""
    paths = truth_probe["paths"]
    # with ECMP, score against the path the trace actually followed (best hop overlap)
    seen = {_node(lab, h["address"]) for h in trace["hops"] if h.get("address")}
    path = max(paths, key=lambda p: len(seen & {s["node"] for s in p["forward"]})) if paths else \
        {"forward": [], "tunnels": []}
    on_path = {s["node"] for s in path["forward"]}
    truth = path["tunnels"]
    reported = trace.get("tunnels", [])
    c = Counter({k: 0 for k in COUNTS})
    per_class: dict[str, Counter] = {}
    verdicts = []
    used = set()
    for t in truth:
        cls = t["class"]
        pc = per_class.setdefault(cls, Counter({k: 0 for k in COUNTS}))
        truth_nodes = {t["ingress"], t["egress"], *t["lsrs"]}
        if t["silent"]:
            for cc in (c, pc):
                cc["undetectable"] += 1
            verdicts.append({"truth": t, "reported": None, "verdict": "undetectable by design (silent LSRs)"})
            continue
        best, best_i, best_ov = None, None, 0
        for i, u in enumerate(reported):
            if i in used:
                continue
            ov = len(_members(lab, u) & truth_nodes)
            if ov > best_ov:
                best, best_i, best_ov = u, i, ov
        for cc in (c, pc):
            cc["present"] += 1
            cc["lsrs_present"] += len(t["lsrs"])
            if t["hidden"]:
                cc["hidden_lsrs_present"] += len(t["lsrs"])
        if best is None:
            verdicts.append({"truth": t, "reported": None, "verdict": "missed"})
            continue
        used.add(best_i)
        found = {_node(lab, a) for a in best.get("lsrs", []) if a}
        ok = {
            "class": CLASS_MAP.get(cls) == best["class"],
            "ingress": _node(lab, best.get("ingress")) == t["ingress"],
            "egress": _node(lab, best.get("egress")) == t["egress"],
        }
        lsrs_found = len(found & set(t["lsrs"]))
        for cc in (c, pc):
            cc["detected"] += 1
            cc["class_correct"] += ok["class"]
            cc["ingress_correct"] += ok["ingress"]
            cc["egress_correct"] += ok["egress"]
            cc["lsrs_found"] += lsrs_found
            if t["hidden"]:
                cc["hidden_lsrs_revealed"] += lsrs_found
        wrong = [k for k, v in ok.items() if not v]
        if lsrs_found < len(t["lsrs"]):
            wrong.append(f"{len(t['lsrs']) - lsrs_found} LSR(s) not found")
        verdicts.append({"truth": t, "reported": best,
                         "verdict": "correct" if not wrong else "partly: " + ", ".join(wrong)})
    for i, u in enumerate(reported):
        if i not in used:
            c["false_tunnels"] += 1
            verdicts.append({"truth": None, "reported": u, "verdict": "false tunnel"})
    # false LSRs: revealed or tagged LSRs that are not on the true path at all
    for u in reported:
        for a in u.get("lsrs", []):
            n = _node(lab, a)
            if a and (n is None or n not in on_path):
                c["false_lsrs"] += 1
    return {"src": trace["src"], "dst": trace["dst"], "counts": dict(c),
            "per_class": {k: dict(v) for k, v in per_class.items()}, "verdicts": verdicts}


def truth_probe(lab, truth: dict, trace: dict) -> dict | None:
    """The truth probe of a trace: same target, and the source host whose LAN (or address) the
    trace's source is on (a prober on a tap has its own address on the vantage point's LAN)."""
    from ipaddress import IPv4Address
    cands = [p for p in truth["probes"] if p["to"] == trace["dst"]]
    if len(cands) <= 1:
        return cands[0] if cands else None
    try:
        src = IPv4Address(trace["src"])
    except (KeyError, ValueError):
        return cands[0]
    for p in cands:
        node = lab.nodes.get(p["from"])
        if node is not None and any(i.address.ip == src or src in i.address.network for i in node.interfaces):
            return p
    return cands[0]


def score_run(lab, truth: dict, traces: list[dict]) -> dict:
    """Score every uTNT trace against the truth probe with the same source and target."""
    scored = []
    total = Counter({k: 0 for k in COUNTS})
    per_class: dict[str, Counter] = {}
    for tr in traces:
        tp = truth_probe(lab, truth, tr)
        if tp is None:
            continue
        s = score_trace(lab, tp, tr)
        scored.append(s)
        total.update(s["counts"])
        for k, v in s["per_class"].items():
            per_class.setdefault(k, Counter({x: 0 for x in COUNTS})).update(v)
    perfect = (total["detected"] == total["present"] == total["class_correct"] == total["ingress_correct"]
               == total["egress_correct"] and total["lsrs_found"] == total["lsrs_present"]
               and total["false_tunnels"] == 0 and total["false_lsrs"] == 0)
    return {"totals": dict(total), "per_class": {k: dict(v) for k, v in per_class.items()},
            "traces": scored, "perfect": perfect}
