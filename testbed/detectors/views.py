"""What each detector can see (its registry entry says whether it is a labels-only baseline), and a
plain view of its traces for the run report."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BASELINE_SEES = ("a plain traceroute user's view: explicit tunnels only, from RFC 4950 label quotes "
                 "(consecutive labelled hops are LSRs, the hop before is the ingress, the one after the "
                 "egress); implicit, opaque and invisible tunnels quote no labels and are not looked for")
TRUTH_CLASSES = ("explicit", "implicit", "opaque", "invisible-php", "invisible-uhp")


def label(detector) -> str:
    from .registry import label as registered
    return registered(detector)


def visibility(detector: str, score: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a labels-only baseline: what it sees, and per truth class the tunnels present and
    found (a hidden class it missed is missed by design, not a detector bug)."""
    from .registry import is_baseline
    if not is_baseline(detector):
        return None
    per = score.get("per_class", {})
    rows = {c: {"present": v.get("present", 0), "detected": v.get("detected", 0)} for c, v in per.items()}
    hidden = {c: r["present"] - r["detected"] for c, r in rows.items() if c != "explicit"
              and r["present"] - r["detected"] > 0}
    # found but not as what it is: an opaque tunnel's labelled egress reads as an explicit LSR
    misread = {c: v.get("detected", 0) - v.get("class_correct", 0) for c, v in per.items()
               if v.get("detected", 0) - v.get("class_correct", 0) > 0}
    return {"baseline": True, "sees": BASELINE_SEES, "per_class": rows, "not_visible": hidden, "misread": misread}


def visibility_line(detector: str, vis: dict) -> str:
    parts = [f"{label(detector)} shows {vis['sees']}."]
    if vis["not_visible"]:
        parts.append("Not visible to it here: " + ", ".join(f"{n} {c}" for c, n in sorted(vis["not_visible"].items()))
                     + " tunnel(s) (counted as missed: what a plain traceroute user would miss).")
    if vis.get("misread"):
        parts.append("Seen only as explicit label quotes: " + ", ".join(
            f"{n} {c}" for c, n in sorted(vis["misread"].items())) + " tunnel(s) (class wrong).")
    return " ".join(parts)


def hop_line(h: dict) -> str:
    lab = h.get("label") or (str(h["probe_ttl"]) if h.get("probe_ttl") else "?")
    if not h.get("address"):
        return f"{lab:>3}  *"
    parts = [f"{lab:>3}", h["address"]]
    if h.get("rtt_ms") is not None:
        parts.append(f"{h['rtt_ms']:.3f} ms")
    if h.get("reply_ttl") is not None:
        parts.append(f"rTTL={h['reply_ttl']}")
    if h.get("quoted_ttl") is not None:
        parts.append(f"qttl={h['quoted_ttl']}")
    m = h.get("mpls")
    if m:
        classes = m.get("classes") or [m.get("class")]
        roles = m.get("roles") or [m.get("role")]             # a hop may be EGR and ING at once
        parts.append("[" + ",".join(str(x) for x in ("MPLS", *classes, *roles, m.get("trigger"),
                                                        "INF" if m.get("inferred") else None,
                                                        m.get("technique")) if x) + "]")
    if h.get("labels"):
        parts.append("Labels " + " | ".join(f"{x['label']} mTTL={x['ttl']}" for x in h["labels"]))
    if h.get("other_addresses"):
        parts.append("also " + " ".join(h["other_addresses"]))
    return "  ".join(parts)


def trace_text(t: dict) -> str:
    head = f"trace [{t.get('method') or '?'}] from {t.get('src') or '?'} to {t['dst']} ({t.get('format')})"
    return "\n".join([head] + [hop_line(h) for h in t.get("hops", [])])
