"""The normalized result the scorer reads, and the two ways tunnels are rebuilt from hops.

A result is a list of traces in uTNT's JSON trace shape (docs/result-format.md,
docs/result.schema.json): ``{src, dst, method, hops: [...], tunnels: [...]}``. Every
parser in this package produces it; the scorer (testbed.scoring.score_run) reads nothing
else.

Tunnels come from one of two rules:

* `tunnels_from_tags`: a TNT-style detector tagged each hop ``[MPLS,<class>,<role>,...]``;
  a tunnel runs from an ING hop over LSR hops to an EGR hop (tnt.md 5.5-5.6).
* `tunnels_from_labels`: the labels-only baseline of a plain traceroute. A run of hops
  that quote an RFC 4950 label stack is the LSRs of one explicit tunnel; the hop before
  the run is the ingress, the hop after it the egress. Implicit, opaque and invisible
  tunnels show no labels, so this baseline cannot see them.
"""
from __future__ import annotations

from ipaddress import IPv4Address

from testbed.errors import LabError, Problem

CLASSES = ("EXP", "IMP", "OPA", "INV")
ROLES = ("ING", "LSR", "EGR")
TRIGGERS = ("DUPIP", "RTLA", "FRPLA", "MTTL", "QTTL", "UTURN", "BTFC")
TECHNIQUES = ("DPR", "BRPR", "BUDDY", "UNKN")


class ResultError(LabError):
    """Unreadable detector output: one Problem (file, line, what, fix)."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        super().__init__([Problem(file=file, line=line, field=field, message=message)])


def is_ipv4(s) -> bool:
    try:
        IPv4Address(str(s))
        return True
    except ValueError:
        return False


def hop(address=None, probe_ttl=None, *, rtt_ms=None, icmp_type=None, icmp_code=None, reply_ttl=None,
        quoted_ttl=None, er_ttl=None, labels=None, mpls=None, revealed=False, label=None, **extra) -> dict:
    """One hop of a normalized trace. labels: [{"label", "tc", "s", "ttl"}], top first."""
    h = {"address": address, "probe_ttl": probe_ttl, "label": label or (str(probe_ttl) if probe_ttl else "?"),
         "revealed": revealed, "rtt_ms": rtt_ms, "icmp_type": icmp_type, "icmp_code": icmp_code,
         "reply_ttl": reply_ttl, "quoted_ttl": quoted_ttl, "er_ttl": er_ttl, "labels": list(labels or []),
         "mpls": mpls}
    h.update(extra)
    return h


def tunnel(cls, ingress, lsrs, egress, *, trigger=None, technique=None, complete=True, stop_reason=None,
           **extra) -> dict:
    t = {"class": cls, "ingress": ingress, "egress": egress, "lsrs": list(lsrs), "trigger": trigger,
         "technique": technique, "complete": complete, "stop_reason": stop_reason}
    t.update(extra)
    return t


def trace(src, dst, method, hops, tunnels, *, detector: str, fmt: str, **extra) -> dict:
    t = {"src": src, "dst": dst, "method": method, "detector": detector, "format": fmt, "hops": hops,
         "tunnels": tunnels}
    t.update(extra)
    return t


# ------------------------------------------------------------------------------ baseline
def tunnels_from_labels(hops: list[dict]) -> list[dict]:
    """Explicit tunnels from RFC 4950 label quotes (the plain traceroute user's view).

    Hops are in probe-TTL order. A maximal run of labelled hops is one tunnel; silent hops
    between two labelled hops stay inside the run (they are not LSR addresses); the
    responsive hop just before the run is the ingress and the one just after it the
    egress. A side that is silent or missing is None and the tunnel is incomplete."""
    out = []
    i, n = 0, len(hops)
    while i < n:
        if not (hops[i].get("address") and hops[i].get("labels")):
            i += 1
            continue
        j = i
        last = i
        while j + 1 < n:
            nxt = hops[j + 1]
            if nxt.get("address") and nxt.get("labels"):
                j += 1
                last = j
            elif not nxt.get("address"):
                # a silent hop stays in the run only if a labelled hop follows the gap
                k = j + 1
                while k < n and not hops[k].get("address"):
                    k += 1
                if k < n and hops[k].get("labels"):
                    j = k
                    last = k
                else:
                    break
            else:
                break
        before = hops[i - 1] if i > 0 else None
        after = hops[last + 1] if last + 1 < n else None
        ing = before.get("address") if before else None
        egr = after.get("address") if after and not after.get("labels") else None
        lsrs = [h["address"] for h in hops[i:last + 1] if h.get("address")]
        out.append(tunnel("EXP", ing, lsrs, egr, trigger=None, technique=None,
                          complete=bool(ing and egr), stop_reason=None, evidence="labels"))
        i = last + 1
    return out


# ------------------------------------------------------------------------------ TNT tags
def tunnels_from_tags(hops: list[dict]) -> list[dict]:
    """Tunnels rebuilt from the hops' [MPLS,...] tags the way TNT's scripts read a dump:
    ING opens a tunnel, LSR hops are its LSRs (revealed or not), EGR closes it. A tunnel
    whose ING or EGR is missing is kept, incomplete. Class: the hops' class, HET when they
    differ; trigger: the hops' trigger, MULTI when they differ; technique: the revealed
    hops' technique, MIX when they differ."""
    out = []
    cur = None

    def close(egr):
        nonlocal cur
        members = cur["members"] + ([egr] if egr else [])
        classes = {m["mpls"]["class"] for m in members}
        triggers = {m["mpls"]["trigger"] for m in members if m["mpls"].get("trigger")}
        techs = [m["mpls"]["technique"] for m in members if m["mpls"].get("technique")]
        tech = None
        if techs:
            tech = techs[0] if len(set(techs)) == 1 else "MIX"
        incomplete = any(m["mpls"].get("incomplete") for m in members) or cur["ing"] is None or egr is None
        out.append(tunnel(classes.pop() if len(classes) == 1 else "HET",
                          cur["ing"]["address"] if cur["ing"] else None,
                          [m["address"] for m in cur["lsrs"] if m.get("address")],
                          egr["address"] if egr else None,
                          trigger=(triggers.pop() if len(triggers) == 1 else "MULTI" if triggers else None),
                          technique=tech, complete=not incomplete, stop_reason=None, evidence="tags"))
        cur = None

    for h in hops:
        m = h.get("mpls")
        if not m:
            if cur is not None and h.get("address"):
                close(None)
            continue
        role = m.get("role")
        if role == "ING":
            if cur is not None:
                close(None)
            cur = {"ing": h, "lsrs": [], "members": [h]}
        elif role == "LSR":
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            cur["lsrs"].append(h)
            cur["members"].append(h)
        elif role == "EGR":
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            close(h)
    if cur is not None:
        close(None)
    return out
