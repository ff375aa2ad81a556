"""The scoring rules: every rule that turns (truth, traces) into counts lives in this module.

Routers are compared by identity (any interface address maps to its router). Per trace:

 1. Matching. A trace is scored against the truth probe with the same vantage point and
    destination (the trace's `vantage_point`, set by the testbed, else the owner of its source
    address). A trace whose (vantage point, destination) the truth does not know is reported
    under `unmatched`, never dropped.
 2. Path. With ECMP the truth lists every equal-cost path; the trace is scored against the one
    its base-trace hops show: the most of its responding hops on the path, then the fewest off
    it, then the path the trace's flow takes (`flow_path`), then the first. A trace with a hop
    on none of the listed paths is a finding (`off_path_traces`).
 3. Incomplete trace: a base trace that did not reach its destination (gap limit, loop,
    unreachable) is counted (`incomplete_traces`); its tunnels are still scored.
 4. Per truth tunnel on the path, the best unused reported tunnel is the one sharing most of
    the truth's LSRs and egress (the ingress alone never matches). Then:
    - detected: such a reported tunnel exists (a class tag on one of its LSRs or its egress);
    - class, ingress, egress: each right or wrong;
    - LSRs found / hidden LSRs revealed: true LSRs among the reported ones;
    - flagged but not revealed: not detected, but a trigger fired on its egress's hop
      (FRPLA or RTLA at the thresholds, a duplicate IP, a quoted LSE-TTL not in {0,1,255}):
      TNT's one-tunnel-per-trace rule stopped it (tnt.md 4.6);
    - undetectable: no TNT signal can see it, decided from the truth and the routers' vendor
      behaviour, never from the detector (`visibility`): silent LSRs, an implicit tunnel with
      neither qTTL > 1 nor a u-turn run >= 3, an invisible PHP tunnel below the FRPLA threshold
      whose egress gives no RTLA. Undetectable tunnels are not `present` (recall ignores them)
      unless detected anyway;
    - missed: none of the above; with a `reason` when a named router behaviour or TNT rule
      explains it (ecmp-return: the egress's time-exceeded came back over a shorter
      equal-cost return path, below the trigger's threshold; see _miss_reason).
    A partly detected hidden tunnel whose LSRs were revealed on another equal-cost path
    carries the reason ecmp-revelation (_revelation_reason); one whose only miss is the
    ingress of a router vantage point's own tunnel carries router-vp-ingress.
 5. False tunnels: reported tunnels matched to no truth tunnel. False LSRs: reported LSRs that
    are not LSRs of the truth tunnel they were matched with, on-path routers included (an LSR of
    the same ingress/egress tunnel on another listed equal-cost path is counted apart, as
    `lsrs_other_path`); every LSR of a false tunnel.
 6. perfect: every present tunnel detected with class, ingress, egress and all LSRs right, and
    no false tunnel, false LSR, flagged-not-revealed, incomplete, unmatched or off-path trace.
 7. Not probed (6PE labs): the truth's IPv6 probes (`probes6`) that no trace went to are listed under
    `not_probed`, their tunnels counted `undetectable` with the reason (TNT and uTNT probe IPv4
    only, NOT_PROBED_IPV6), never as misses.
"""
from __future__ import annotations

from collections import Counter

CLASS_MAP = {"explicit": "EXP", "implicit": "IMP", "opaque": "OPA", "invisible-php": "INV", "invisible-uhp": "INV"}
COUNTS = ("present", "undetectable", "detected", "class_correct", "ingress_correct", "egress_correct",
          "lsrs_present", "lsrs_found", "hidden_lsrs_present", "hidden_lsrs_revealed", "false_tunnels",
          "false_lsrs", "flagged_not_revealed", "lsrs_other_path")
TRACE_COUNTS = ("traces", "incomplete_traces", "unmatched_traces", "off_path_traces")
THRESHOLDS = {"frpla": 3, "rtla": 1}      # TNT's defaults (-f 3, -r 1)
UTURN_RUN = 3                             # sc_tnt's hard-coded UTURN_SEQ_THRESHOLD (tnt.md 3.2)
NOT_PROBED_IPV6 = ("not probed: a 6PE tunnel carries IPv6 and TNT (sc_tnt, like uTNT) probes IPv4 only; the "
                   "lab's IPv4 traffic crosses the same core in a tunnel of its own (matrix LIMITS ipv4-only)")


def _node(lab, addr):
    return lab.owner_of(addr) if addr else None


def _zero(keys=COUNTS) -> Counter:
    return Counter({k: 0 for k in keys})


# ---------------------------------------------------------------- visibility (truth + vendor)
def visibility(lab, t: dict, thresholds: dict | None = None) -> str | None:
    """None if some TNT signal can see the truth tunnel `t`, else the reason it cannot.
    Decided from the truth (class, LSRs, ending, return-path lengths) and the routers' vendor
    behaviour, never from a detector's output."""
    th = {**THRESHOLDS, **(thresholds or {})}
    if t.get("silent"):
        if t.get("silent_reason"):
            return f"silent LSRs: {t['silent_reason']}"
        return "silent LSRs: they drop packets whose LSE-TTL expires and never answer (Linux)"
    cls, lsrs = t["class"], t["lsrs"]
    nodes = [lab.nodes[n] for n in lsrs]
    if cls == "implicit":
        n = len(nodes)
        answering = [(i, x) for i, x in enumerate(nodes, 1) if x.personality.lse_expiry != "drop"]
        pops_first = t.get("ending") == "php"

        def pops_before_answer(i, x):
            return i == n and pops_first and x.personality.php_expiry == "pop-first"
        qttl = any(i >= 2 and not pops_before_answer(i, x) for i, x in answering)
        uturn = sum(2 * (n - i + 1) for i, x in answering
                    if x.icmp_tunneling and x.personality.lse_expiry == "tunnel" and not pops_before_answer(i, x))
        if not qttl and uturn < UTURN_RUN:
            return (f"implicit tunnel of {n} LSR(s) with no TNT signal: qTTL stays 1 (the penultimate LSR "
                    f"pops before answering) and the u-turn run is {uturn} < {UTURN_RUN} (tnt.md 3.2)")
        return None
    if cls == "invisible-uhp" and t.get("after_egress_is_destination") and \
            not lab.nodes[t["egress"]].personality.explicit_null_expiry:
        return ("invisible UHP tunnel whose egress is the destination's last hop: the destination answers the "
                "probe the egress let through with an echo reply, so no address repeats (DUPIP, tnt.md 3.2) "
                "and no time-exceeded carries a trigger")
    if cls == "invisible-php":
        frpla, rtla = t.get("frpla_expected"), t.get("rtla_expected")
        if frpla is None:
            return None
        if frpla < th["frpla"] and (rtla or 0) < th["rtla"]:
            why = "no RTLA (egress signature is not <255,x!=255>)" if rtla is None else f"RTLA {rtla} < {th['rtla']}"
            return (f"invisible PHP tunnel of {len(lsrs)} LSR(s) below TNT's thresholds: FRPLA {frpla} < "
                    f"{th['frpla']} at its egress and {why} (tnt.md 3.2)")
    return None


# ---------------------------------------------------------------- one trace
def _base_nodes(lab, trace) -> list:
    """Routers the base trace shows (revealed hops excluded), None for unknown addresses."""
    out = []
    for h in trace["hops"]:
        if h.get("revealed") or not h.get("address"):
            continue
        out.append(_node(lab, h["address"]))
    return out


def choose_path(lab, paths: list[dict], trace: dict):
    """(index, path, hops off it): the listed path the trace's hops show (rule 2)."""
    if not paths:
        return None, {"forward": [], "tunnels": []}, 0
    seen = [n for n in _base_nodes(lab, trace)]
    src_owner = trace.get("vantage_point")

    def key(ip):
        i, p = ip
        on = {s["node"] for s in p["forward"]}
        hits = len({n for n in seen if n in on})
        off = sum(1 for n in seen if n not in on and n != src_owner)
        return (hits, -off, bool(p.get("flow_path")), -i)
    i, p = max(enumerate(paths), key=key)
    on = {s["node"] for s in p["forward"]}
    return i, p, sum(1 for n in seen if n not in on and n != src_owner)


def _flagged(lab, trace: dict, t: dict, thresholds: dict) -> str | None:
    """The trigger that fired on the hop of truth tunnel t's egress, if any (rule 4)."""
    hops = [h for h in trace["hops"] if not h.get("revealed")]
    for h in hops:
        if not h.get("address") or _node(lab, h["address"]) != t["egress"]:
            continue
        if (h.get("rtla") or 0) >= thresholds["rtla"]:
            return "RTLA"
        if (h.get("frpla") or 0) >= thresholds["frpla"]:
            return "FRPLA"
        if any(lse.get("ttl") not in (0, 1, 255) for lse in h.get("labels", [])[:1]):
            return "MTTL"
    # UHP: the egress is hidden; the hop after it appears twice
    for a, b in zip(hops, hops[1:]):
        if (t.get("ending") == "uhp" and a.get("address") and a.get("address") == b.get("address")
                and _node(lab, a["address"]) == t.get("after_egress")):
            return "DUPIP"
    return None


def _egress_hop(lab, trace: dict, t: dict) -> dict | None:
    """The base trace's time-exceeded from truth tunnel t's egress router, if any."""
    for h in trace["hops"]:
        if not h.get("revealed") and h.get("address") and h.get("icmp_type", 11) == 11 \
                and _node(lab, h["address"]) == t["egress"]:
            return h
    return None


def _miss_reason(lab, trace: dict, t: dict, thresholds: dict) -> str | None:
    """Why a tunnel that some return path makes detectable was missed, when a named router
    behaviour explains it (rule 4), else None (a plain `missed`: a bug to look at).

    ecmp-return: the equal-cost return paths from the egress to the vantage point differ in
    length, and the data plane hashes each reply on its own header (engine/router.py
    flow_hash: ICMP type, code and checksum, which the quoted probe changes), so the
    egress's time-exceeded may come back over a path whose length leaves FRPLA (and RTLA)
    under TNT's thresholds. The truth lists the value of every return path; the trace's
    egress hop must read one of those values below the threshold."""
    if t["class"] != "invisible-php":
        return None
    fr, rt = t.get("frpla_return_paths") or [], t.get("rtla_return_paths")
    if len(fr) < 2 and len(rt or []) < 2:
        return None
    h = _egress_hop(lab, trace, t)
    if h is None:
        return None
    got_f, got_r = h.get("frpla") or 0, h.get("rtla") or 0
    if got_f >= thresholds["frpla"] or got_r >= thresholds["rtla"]:
        return None                          # a trigger fired: not this reason
    if got_f not in fr or (rt and got_r not in rt and got_r != 0):
        return None                          # the reading matches no known return path
    vals = "/".join(str(x) for x in fr)
    return (f"ecmp-return: the egress's equal-cost return paths give FRPLA {vals}; its time-exceeded took one "
            f"reading FRPLA {got_f} < {thresholds['frpla']}" + (f" and RTLA {got_r} < {thresholds['rtla']}" if rt else "")
            + " (each reply is hashed on its own ICMP header, engine flow_hash; tnt.md 3.2)")


def _revelation_reason(lab, trace: dict, t: dict) -> str | None:
    """Why LSRs of a detected hidden tunnel were not revealed, when a named TNT rule explains it.

    ecmp-revelation: TNT's revelation traces go toward the egress's (and then the revealed
    LSRs') addresses, other destinations than the probe's, hence other Paris flows and
    possibly other equal-cost paths (tnt.md 4.3): the revealed hops, in order, are exactly
    the LSRs of one equal-cost path from the ingress to the egress's address (truth
    `reveal_lsrs`) that is not the probe's."""
    if not t.get("hidden"):
        return None
    rev = [_node(lab, h["address"]) for h in trace["hops"] if h.get("revealed") and h.get("address")]
    if not rev or rev == t["lsrs"]:
        return None
    for alt in t.get("reveal_lsrs") or []:
        if alt == rev:
            return (f"ecmp-revelation: the revelation traces toward the egress's address took another equal-cost "
                    f"path ({', '.join(alt)}) than the probe ({', '.join(t['lsrs'])}) (tnt.md 4.3)")
    return None


def _alt_lsrs(other_paths: list[dict], t: dict) -> set:
    """LSRs of the same (ingress, egress) tunnel on the other listed equal-cost paths."""
    alt = set()
    for p in other_paths:
        for o in p["tunnels"]:
            if o["ingress"] == t["ingress"] and o["egress"] == t["egress"]:
                alt |= set(o["lsrs"])
    return alt


def score_trace(lab, truth_probe: dict, trace: dict, thresholds: dict | None = None) -> dict:
    """truth_probe: one entry of ground_truth()['probes']; trace: one uTNT JSON trace."""
    th = {**THRESHOLDS, **(thresholds or {})}
    pi, path, off = choose_path(lab, truth_probe["paths"], trace)
    others = [p for j, p in enumerate(truth_probe["paths"]) if j != pi]
    truth = path["tunnels"]
    reported = trace.get("tunnels", [])
    c = _zero()
    per_class: dict[str, Counter] = {}
    verdicts = []
    used: dict[int, dict] = {}            # reported index -> truth tunnel it matched
    for t in truth:
        cls = t["class"]
        pc = per_class.setdefault(cls, _zero())
        core = {t["egress"], *t["lsrs"]}
        best_i, best_ov = None, 0
        for i, u in enumerate(reported):
            if i in used:
                continue
            mem = {_node(lab, a) for a in [u.get("egress"), *u.get("lsrs", [])] if a}
            ov = len(mem & core)
            if ov > best_ov:
                best_i, best_ov = i, ov
        why_not = visibility(lab, t, th)
        if best_i is None and why_not:
            for cc in (c, pc):
                cc["undetectable"] += 1
            verdicts.append({"truth": t, "reported": None, "verdict": f"undetectable: {why_not}"})
            continue
        for cc in (c, pc):
            cc["present"] += 1
            cc["lsrs_present"] += len(t["lsrs"])
            if t["hidden"]:
                cc["hidden_lsrs_present"] += len(t["lsrs"])
        if best_i is None:
            trig = _flagged(lab, trace, t, th)
            if trig:
                for cc in (c, pc):
                    cc["flagged_not_revealed"] += 1
                verdicts.append({"truth": t, "reported": None,
                                 "verdict": f"flagged but not revealed ({trig} on its egress; TNT reveals one "
                                            "tunnel per trace, tnt.md 4.6)"})
            else:
                v = {"truth": t, "reported": None, "verdict": "missed"}
                why = _miss_reason(lab, trace, t, th)
                if why:
                    v["reason"] = why
                verdicts.append(v)
            continue
        best = reported[best_i]
        used[best_i] = t
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
        alt = _alt_lsrs(others, t)
        v = {"truth": t, "reported": best, "verdict": "correct" if not wrong else "partly: " + ", ".join(wrong),
             "lsrs_other_path": len((found - set(t["lsrs"])) & alt)}
        why = _revelation_reason(lab, trace, t) if lsrs_found < len(t["lsrs"]) else None
        if why:
            v["reason"] = why
        elif wrong == ["ingress"] and t["ingress"] == truth_probe["from"] and not best.get("ingress"):
            # a router vantage point that is the tunnel's ingress: its trace starts at the first
            # LSR, so no hop can name the ingress and TNT reports none (tnt.md 3)
            v["reason"] = ("router-vp-ingress: the vantage point is the ingress itself, and no hop of its "
                           "trace comes before the first LSR")
        verdicts.append(v)
    for i, u in enumerate(reported):
        if i not in used:
            c["false_tunnels"] += 1
            verdicts.append({"truth": None, "reported": u, "verdict": "false tunnel"})
    # false LSRs (rule 5): any reported LSR that is not an LSR of the truth tunnel it matched
    for i, u in enumerate(reported):
        t = used.get(i)
        true_lsrs = set(t["lsrs"]) if t else set()
        alt = _alt_lsrs(others, t) if t else set()
        for a in u.get("lsrs", []):
            if not a:
                continue
            n = _node(lab, a)
            if n in true_lsrs:
                continue
            if n in alt:
                c["lsrs_other_path"] += 1
            else:
                c["false_lsrs"] += 1
    last = next((h for h in reversed(trace["hops"]) if not h.get("revealed") and h.get("address")), None)
    complete = trace.get("stop_reason") == "COMPLETED" or bool(last and last["address"] == trace["dst"])
    return {"src": trace["src"], "dst": trace["dst"], "vantage_point": truth_probe["from"],
            "path_index": pi, "off_path_hops": off, "complete": complete,
            "stop_reason": trace.get("stop_reason"), "counts": dict(c),
            "per_class": {k: dict(v) for k, v in per_class.items()}, "verdicts": verdicts}


# ---------------------------------------------------------------- a run
def _vantage_point(lab, truth: dict, trace: dict) -> str | None:
    vp = trace.get("vantage_point")
    if vp:
        return vp
    owner = _node(lab, trace.get("src"))
    if owner:
        return owner
    # a prober with its own address (netns tap): the only vantage point probing this destination
    cands = {p["from"] for p in truth["probes"] if p["to"] == trace["dst"]}
    return cands.pop() if len(cands) == 1 else None


def is_perfect(total: Counter | dict) -> bool:
    """Rule 6."""
    return (total["detected"] == total["present"] == total["class_correct"] == total["ingress_correct"]
            == total["egress_correct"] and total["lsrs_found"] == total["lsrs_present"]
            and total["false_tunnels"] == 0 and total["false_lsrs"] == 0 and total["flagged_not_revealed"] == 0
            and total["incomplete_traces"] == 0 and total["unmatched_traces"] == 0
            and total["off_path_traces"] == 0)


def score_run(lab, truth: dict, traces: list[dict], thresholds: dict | None = None) -> dict:
    """Score every trace against the truth probe with the same (vantage point, destination).

    Returns {"totals", "per_class", "traces" (one per trace, with its `trace_index`),
    "unmatched" (traces the truth has no probe for), "perfect"}."""
    by_key = {(p["from"], p["to"]): p for p in truth["probes"]}
    scored, unmatched = [], []
    total = _zero(COUNTS + TRACE_COUNTS)
    per_class: dict[str, Counter] = {}
    for ti, tr in enumerate(traces):
        total["traces"] += 1
        vp = _vantage_point(lab, truth, tr)
        tp = by_key.get((vp, tr["dst"]))
        if tp is None:
            total["unmatched_traces"] += 1
            unmatched.append({"trace_index": ti, "src": tr.get("src"), "dst": tr.get("dst"), "vantage_point": vp,
                              "verdict": f"no truth for vantage point {vp or '?'} and destination {tr.get('dst')}"})
            continue
        s = score_trace(lab, tp, tr, thresholds)
        s["trace_index"] = ti
        scored.append(s)
        total.update(s["counts"])
        total["incomplete_traces"] += not s["complete"]
        total["off_path_traces"] += s["off_path_hops"] > 0
        for k, v in s["per_class"].items():
            per_class.setdefault(k, _zero()).update(v)
    probed = {tr.get("dst") for tr in traces}
    not_probed = []
    for p in truth.get("probes6", []):
        if p["to"] in probed:
            continue
        path = p["paths"][0] if p["paths"] else {"tunnels": []}
        for t in path["tunnels"]:
            total["undetectable"] += 1
            per_class.setdefault(t["class"], _zero())["undetectable"] += 1
        not_probed.append({"from": p["from"], "to": p["to"], "to_name": p["to_name"],
                           "verdicts": [{"truth": t, "reported": None, "verdict": f"undetectable: {NOT_PROBED_IPV6}"}
                                        for t in path["tunnels"]]})
    out = {"totals": dict(total), "per_class": {k: dict(v) for k, v in per_class.items()},
           "traces": scored, "unmatched": unmatched, "perfect": is_perfect(total)}
    if not_probed:
        out["not_probed"] = not_probed
    return out
