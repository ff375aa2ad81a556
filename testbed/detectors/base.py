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

# sc_tnt's [MPLS,...] grammar (sc_tnt.c scamper_trace_tnt_print), in print order: the classes
# of an ingress/egress (EXP OPA IMP INV, any subset) or the one class of an LSR (none when
# inferred), LSR, EGR, ING (at least one), INCOMP?, the triggers (BTFC alone, or DUPIP RTLA
# FRPLA MTTL), INF or the implicit signatures QTTL UTURN, a technique (DPR BRPR BUDDY UNKN)
# and step=N on a revealed hop.
TAG_GRAMMAR = "[MPLS,<EXP|OPA|IMP|INV...>,<LSR>,<EGR>,<ING>,INCOMP?,<triggers>,<INF|QTTL,UTURN>,<technique>,step=N]"
SEARCH_TRIGGERS = ("BTFC", "DUPIP", "RTLA", "FRPLA", "MTTL")
SIGNATURES = ("QTTL", "UTURN")


def mpls_tag(parts: list[str], path, line, text: str | None = None) -> dict:
    """The normalized tag of sc_tnt's [MPLS,...] parts (the parts after ``MPLS``): every
    class, role and trigger it lists (``classes``, ``roles``, ``triggers``) and, for readers
    of one value, ``class`` (the first class, None for an inferred LSR), ``role`` (LSR, else
    EGR, else ING) and ``trigger`` (the triggers and signatures joined by commas, None when
    none). Any combination sc_tnt can print is read; an unknown part, no role, or no class
    without INF is a ResultError naming the part."""
    text = text or "[" + ",".join(["MPLS", *parts]) + "]"
    m = {"class": None, "role": None, "trigger": None, "technique": None, "step": None, "incomplete": False,
         "inferred": False, "revealed": False, "classes": [], "roles": [], "triggers": []}
    for p in parts:
        p = p.strip()
        if p in CLASSES:
            if p not in m["classes"]:
                m["classes"].append(p)
        elif p in ROLES:
            if p not in m["roles"]:
                m["roles"].append(p)
        elif p in TRIGGERS:
            if p not in m["triggers"]:
                m["triggers"].append(p)
        elif p in TECHNIQUES:
            m["technique"] = p
        elif p == "INCOMP?":
            m["incomplete"] = True
        elif p == "INF":
            m["inferred"] = True
        elif p.startswith("step=") and p[5:].isdigit() and len(p) < 12:
            m["step"] = int(p[5:])
        else:                         # (what the file says is never echoed: it is not a lab file)
            raise ResultError(path, line, "MPLS tag", "an unknown part in the [MPLS,...] tag; expected sc_tnt's "
                              f"{TAG_GRAMMAR}")
    if not m["roles"]:
        raise ResultError(path, line, "MPLS tag", "the [MPLS,...] tag lacks a role (LSR, EGR or ING); expected sc_tnt's "
                          f"{TAG_GRAMMAR}")
    if not m["classes"] and not m["inferred"]:
        raise ResultError(path, line, "MPLS tag", "the [MPLS,...] tag lacks a class (EXP, OPA, IMP or INV), and only an "
                          "inferred LSR (INF) has none; expected sc_tnt's " + TAG_GRAMMAR)
    m["roles"] = [r for r in ("LSR", "EGR", "ING") if r in m["roles"]]
    m["class"] = m["classes"][0] if m["classes"] else None
    m["role"] = m["roles"][0]
    m["trigger"] = ",".join(m["triggers"]) or None
    return m


def _roles(m: dict) -> list[str]:
    """A tag's roles: its ``roles`` list, else its one ``role``."""
    return list(m.get("roles") or ([m["role"]] if m.get("role") else []))


def _classes(m: dict) -> list[str]:
    return list(m.get("classes") or ([m["class"]] if m.get("class") else []))


class ResultError(LabError):
    """Unreadable detector output: one Problem (file, line, what, fix)."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        super().__init__([Problem(file=file, line=line, field=field, message=message)])


def checked(traces: list[dict], path: str) -> list[dict]:
    """A parser's traces, each validated as a Trace (testbed/documents), returned unchanged: a
    misfit is one line naming the file, the trace and hop, and the field."""
    from testbed.documents import DocumentError, check_traces
    try:
        return check_traces(traces)
    except DocumentError as e:
        raise ResultError(path, None, e.where, f"{e.message} (the detector's output read into the result "
                          "format does not fit it: docs/result-format.md)") from None


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
    ING opens a tunnel, LSR hops are its LSRs (revealed or not), EGR closes it; a hop that is
    EGR and ING (the hop between two LSPs) closes one and opens the next; an LSR that is also
    EGR closes its tunnel without egress. A tunnel whose ING or EGR is missing is kept,
    incomplete. Class: the LSRs' class (the ends' common class when there is no LSR), HET
    when they differ; trigger: the hops' trigger, MULTI when they differ; technique: the
    revealed hops' technique, MIX when they differ."""
    out = []
    cur = None

    def close(egr):
        nonlocal cur
        members = cur["members"] + ([egr] if egr else [])
        classes = {c for m in cur["lsrs"] for c in _classes(m["mpls"])[:1]}
        if not classes:
            ends = [set(_classes(m["mpls"])) for m in members]
            classes = set.intersection(*ends) if ends else set()
            if not classes and ends:
                classes = set.union(*ends)
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
        roles = _roles(m) if m else []
        if not roles:
            if cur is not None and h.get("address"):
                close(None)
            continue
        if "LSR" in roles:
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            cur["lsrs"].append(h)
            cur["members"].append(h)
            if "EGR" in roles:
                close(None)
            continue
        if "EGR" in roles:
            if cur is None:
                cur = {"ing": None, "lsrs": [], "members": []}
            close(h)
        if "ING" in roles:
            if cur is not None:
                close(None)
            cur = {"ing": h, "lsrs": [], "members": [h]}
    if cur is not None:
        close(None)
    return out
