"""TNT's text dump (tnt.md 5.5) and a JSON form with the same facts.

Text, one block per trace::

    trace [icmp-paris] from 11.0.0.1 to 11.0.9.9
      1  11.0.1.2  0.100 ms  rTTLs=<255,255>  qttl=1
      2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,INV,ING,FRPLA]
     H1  11.0.3.2  0.310 ms  rTTLs=<253,253>  qttl=1  [MPLS,INV,LSR,FRPLA,BRPR,step=3]
      3  11.0.6.2  0.300 ms  rTTLs=<250,250>  qttl=1  frpla=3  [MPLS,INV,EGR,FRPLA]

Fields of a hop line, separated by two spaces, in this order (absent ones are omitted):

* the index (probe TTL) or ``H1``, ``H2``... for revealed hops, right-aligned on 3 columns;
* the address, or ``*`` for a silent hop;
* the RTT as ``%.3f ms``;
* ``rsvd`` for a reserved address;
* ``rTTLs=<TE,ER>``: the TTL of the trace reply and the echo-reply TTL, ``*`` when there
  is no echo-reply;
* on time-exceeded replies only: ``qttl=Q`` (when a quote was present), ``uturn=U`` if
  U != 0, ``frpla=F`` if F > 0, ``rtla=R`` if R > 0;
* ``[MPLS,<classes>,<LSR>,<EGR>,<ING>,INCOMP?,<triggers>,<INF|QTTL,UTURN>,<technique>,step=N]``
  with only the parts that apply (:func:`format_mpls`; a hop may be EGR and ING at once);
* ``Labels L1 mTTL=x | L2 mTTL=y`` for an RFC 4950 stack (top first);
* verbose only: ``(dstunr code=N)`` for destination-unreachables other than
  port-unreachable, and ``(ATTEMPT,<trigger>,<NTH-RV|ING-NF|TGT-NR>[,BUD])`` for each
  failed revelation tried from the hop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .model import ICMP_CODE_PORT_UNREACH, ICMP_DEST_UNREACH, Hop, MplsTag, Trace, Tunnel

JSON_FORMAT = "utnt"            # the "format" field of a result document
JSON_FORMAT_VERSION = 1


def format_mpls(tag: MplsTag) -> str:
    """The tag as sc_tnt prints it (sc_tnt.c scamper_trace_tnt_print): ``MPLS``, the classes
    (one for an LSR, every one for an ingress/egress), ``LSR``, ``EGR``, ``ING``, ``INCOMP?``,
    the triggers (``BTFC`` or ``DUPIP,RTLA,FRPLA,MTTL``), ``INF`` or ``QTTL``/``UTURN``, and
    for a revealed hop its technique and ``step=N``."""
    parts = ["MPLS", *tag.classes, *tag.roles]
    if tag.incomplete:
        parts.append("INCOMP?")
    parts.extend(tag.trigger_parts)
    if tag.technique:
        parts.append(tag.technique)
    if tag.step is not None:
        parts.append(f"step={tag.step}")
    return "[" + ",".join(parts) + "]"


def format_labels(hop: Hop) -> str:
    """``Labels L1 mTTL=x | L2 mTTL=y`` (tnt.md 5.5)."""
    return "Labels " + " | ".join(f"{lab} mTTL={ttl}" for lab, _tc, _s, ttl in hop.labels)


def format_hop(hop: Hop, verbose: bool = False) -> str:
    """One hop line of the dump; see the module docstring for the fields."""
    parts = [f"{hop.label:>3}"]
    if not hop.responsive:
        parts.append("*")
        if hop.mpls is not None:
            parts.append(format_mpls(hop.mpls))
        return "  ".join(parts)
    assert hop.address is not None          # responsive
    parts.append(hop.address)
    if hop.rtt_ms is not None:
        parts.append(f"{hop.rtt_ms:.3f} ms")
    if hop.reserved:
        parts.append("rsvd")
    er = "*" if hop.er_ttl is None else str(hop.er_ttl)
    parts.append(f"rTTLs=<{hop.reply_ttl},{er}>")
    if hop.is_time_exceeded:
        if hop.quoted_ttl is not None:
            parts.append(f"qttl={hop.quoted_ttl}")
        if hop.uturn != 0:
            parts.append(f"uturn={hop.uturn}")
        if hop.frpla > 0:
            parts.append(f"frpla={hop.frpla}")
        if hop.rtla > 0:
            parts.append(f"rtla={hop.rtla}")
    if hop.mpls is not None:
        parts.append(format_mpls(hop.mpls))
    if hop.labels:
        parts.append(format_labels(hop))
    if verbose:
        if hop.icmp_type == ICMP_DEST_UNREACH and hop.icmp_code != ICMP_CODE_PORT_UNREACH:
            parts.append(f"(dstunr code={hop.icmp_code})")
        for a in hop.attempts:
            trig = f",{a.trigger}" if a.trigger else ""
            parts.append(f"(ATTEMPT{trig},{a.reason}" + (",BUD)" if a.buddy else ")"))
    return "  ".join(parts)


def format_trace(trace: Trace, verbose: bool = False) -> list[str]:
    """The header line ``trace [method] from SRC to DST`` and one line per hop."""
    lines = [f"trace [{trace.method}] from {trace.src} to {trace.dst}"]
    lines.extend(format_hop(h, verbose) for h in trace.hops)
    return lines


def dump_text(traces: Iterable[Trace], verbose: bool = False) -> str:
    """TNT's text dump of several traces (``sc_tnt [-v] -d 1``), newline-terminated."""
    lines: list[str] = []
    for tr in traces:
        lines.extend(format_trace(tr, verbose))
    return "\n".join(lines) + ("\n" if lines else "")


# ------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------

def hop_to_json(hop: Hop) -> dict[str, Any]:
    m = hop.mpls
    return {
        "index": hop.index,
        "label": hop.label,
        "revealed": hop.revealed,
        "address": hop.address,
        "probe_ttl": hop.probe_ttl,
        "tnt_ttl": hop.tnt_ttl,
        "rtt_ms": hop.rtt_ms,
        "icmp_type": hop.icmp_type,
        "icmp_code": hop.icmp_code,
        "reply_ttl": hop.reply_ttl,
        "quoted_ttl": hop.quoted_ttl,
        "er_ttl": hop.er_ttl,
        "reserved": hop.reserved,
        "labels": [{"label": lab, "tc": tc, "s": s, "ttl": ttl} for lab, tc, s, ttl in hop.labels],
        "ittl_te": hop.ittl_te,
        "ittl_er": hop.ittl_er,
        "r_te": hop.r_te,
        "r_er": hop.r_er,
        "frpla": hop.frpla,
        "rtla": hop.rtla,
        "uturn": hop.uturn,
        "mpls": None if m is None else {
            "class": m.cls, "role": m.role, "trigger": m.trigger, "technique": m.technique,
            "step": m.step, "incomplete": m.incomplete, "inferred": m.inferred,
            "revealed": m.revealed, "classes": m.classes, "roles": m.roles,
            "triggers": [t for t in m.trigger_parts if t != "INF"],
        },
        "attempts": [{"trigger": a.trigger, "reason": a.reason, "buddy": a.buddy}
                     for a in hop.attempts],
    }


def tunnel_to_json(t: Tunnel) -> dict[str, Any]:
    return {
        "class": t.cls,
        "ingress": t.ingress,
        "egress": t.egress,
        "lsrs": list(t.lsrs),
        "trigger": t.trigger,
        "technique": t.technique,
        "complete": t.complete,
        "stop_reason": t.stop_reason,
        "start_point": t.start_point,
        "next_hop": t.next_hop,
        "ingress_null": t.ingress_null,
        "buddy": t.buddy,
        "estimated_length": t.estimated_length,
        "steps": t.steps,
        "probe_count": t.probe_count,
        "cached": t.cached,
    }


def trace_to_json(trace: Trace) -> dict[str, Any]:
    return {
        "src": trace.src,
        "dst": trace.dst,
        "method": trace.method,
        "start_ttl": trace.start_ttl,
        "stop_reason": trace.stop_reason,
        "probe_count": trace.probe_count,
        "ping_probes": trace.ping_probes,
        "reveal_probes": trace.reveal_probes,
        "total_probes": trace.total_probes,
        "hops": [hop_to_json(h) for h in trace.hops],
        "tunnels": [tunnel_to_json(t) for t in trace.tunnels],
    }


def to_json(traces: Iterable[Trace]) -> dict[str, Any]:
    """JSON-serialisable form of a run: ``{"format": "utnt", "version": 1, "traces": [...]}``."""
    return {"format": JSON_FORMAT, "version": JSON_FORMAT_VERSION,
            "traces": [trace_to_json(t) for t in traces]}
