"""Linux `traceroute -e` text (traceroute 2.1, Debian's `traceroute` package).

    traceroute to 12.0.1.2 (12.0.1.2), 30 hops max, 60 byte packets
     1  12.0.0.1 (12.0.0.1)  0.620 ms  0.684 ms  0.724 ms
     3  11.0.0.3 (11.0.0.3) <MPLS:L=21,E=0,S=1,T=1>  3.207 ms  * 11.0.0.9 (11.0.0.9)  3.3 ms
     4  * * *

A hop line holds, per probe: `*` (no reply), or an address (`NAME (ADDR)`, or `ADDR` with
-n) followed by its ICMP extensions (`<MPLS:L=..,E=..,S=..,T=..[/L=...]>`), its AS (`[AS..]`
with -A), and its RTT (`N ms`) with an annotation (`!H`, `!N`, `!P`, `!X`, `!<code>` ...);
later probes answered by the same address repeat only the RTT. traceroute prints no reply
TTL and no quoted TTL. The first replying address of a line is the hop; other addresses
are kept in `other_addresses`. Tunnels: `base.tunnels_from_labels` (explicit only). The
output names no source address: the caller fills `src` from the vantage point.
"""
from __future__ import annotations

import re

from testbed.inputs import ipv4

from .base import ResultError, checked, hop, trace, tunnels_from_labels

FORMAT = "traceroute"

_HEAD = re.compile(r"^traceroute to (\S+)(?: \((\d{1,10}\.\d{1,10}\.\d{1,10}\.\d{1,10})\))?,")
_HOP = re.compile(r"^\s*(\d{1,10})\s+(.*)$")
_IP = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
_TOKEN = re.compile(
    rf"(?P<star>\*)|(?P<named>\S+) \((?P<naddr>{_IP})\)|(?P<addr>{_IP})(?![\d.])|(?P<ext><[^>]*>)|"
    r"(?P<asn>\[[^\]]*\])|(?P<rtt>\d{1,10}(?:\.\d{1,10})?) ms|(?P<note>!<\d{1,10}>|![A-Za-z]?(?:-?\d{1,10})?)|(?P<back>'-?\d{1,10}')|"
    r"(?P<ws>\s+)")
# traceroute's annotations: ICMP destination-unreachable codes
_UNREACH = {"!N": 0, "!H": 1, "!P": 2, "!F": 4, "!S": 5, "!X": 13, "!V": 14, "!C": 15}
_LSE = re.compile(r"L=(\d{1,10}),E=(\d{1,10}),S=(\d{1,10}),T=(\d{1,10})")


def _mpls(ext: str, path, line) -> list[dict]:
    body = ext[1:-1]
    out = []
    for obj in body.split(";"):
        if not obj.startswith("MPLS:"):
            continue                      # other extension classes (e.g. interface info)
        for lse in obj[5:].split("/"):
            m = _LSE.fullmatch(lse.strip())
            if not m:
                raise ResultError(path, line, "MPLS extension", "a label stack entry is not L=label,E=tc,S=s,T=ttl")
            out.append({"label": int(m[1]), "tc": int(m[2]), "s": int(m[3]), "ttl": int(m[4])})
    return out


def _replies(rest: str, path, line, col0: int = 0) -> list[dict]:
    """[{address, labels, rtts, note}] for one hop line, '*' as address None."""
    out, cur, pos = [], None, 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if not m or m.end() == pos:
            raise ResultError(path, line, "hop", f"cannot read the text at column {col0 + pos + 1}; expected '*', an address, "
                              "<MPLS:...>, 'N ms' or a !annotation (is this `traceroute -e` output?)")
        pos = m.end()
        k = next(g for g in ("star", "named", "addr", "ext", "asn", "rtt", "note", "back", "ws") if m[g] is not None)
        if k == "ws" or k == "back" or k == "asn":
            continue
        if k == "star":
            out.append({"address": None, "labels": [], "rtts": [], "note": None})
            continue
        if k in ("named", "addr"):
            cur = {"address": ipv4(m["naddr"] or m["addr"], path, "address", line), "labels": [], "rtts": [], "note": None}
            out.append(cur)
        elif cur is None:
            raise ResultError(path, line, "hop", f"a field before any address (column {col0 + pos + 1})")
        elif k == "ext":
            cur["labels"] += _mpls(m["ext"], path, line)
        elif k == "rtt":
            if cur["rtts"]:                 # the same address answered another probe
                cur = {"address": cur["address"], "labels": cur["labels"], "rtts": [], "note": None,
                       "repeat": True}
                out.append(cur)
            cur["rtts"].append(float(m["rtt"]))
        elif k == "note":
            cur["note"] = m["note"]
    return out


def parse(text: str, path: str = "<traceroute>") -> list[dict]:
    traces, cur = [], None
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        h = _HEAD.match(raw)
        if h:
            dst = ipv4(h[2] or h[1], path, "header", n)
            cur = {"dst": dst, "hops": []}
            traces.append(cur)
            continue
        m = _HOP.match(raw)
        if not m:
            raise ResultError(path, n, "line", "neither a 'traceroute to ...' header nor "
                              "a hop line; give traceroute's stdout only")
        if cur is None:
            raise ResultError(path, n, "header", "hop line before the 'traceroute to DST (ADDR), ...' header")
        ttl = int(m[1])
        reps = _replies(m[2], path, n, m.start(2))
        first = next((r for r in reps if r["address"]), None)
        if first is None:
            cur["hops"].append(hop(None, ttl, replies=0))
            continue
        note = first["note"]
        icmp_type = icmp_code = None
        if note:
            icmp_type = 3
            code = re.fullmatch(r"!<?(\d{1,10})>?", note)
            icmp_code = int(code[1]) if code else _UNREACH.get(note)
        elif first["address"] != cur["dst"]:
            icmp_type, icmp_code = 11, 0
        others = sorted({r["address"] for r in reps if r["address"] and r["address"] != first["address"]})
        cur["hops"].append(hop(first["address"], ttl, rtt_ms=first["rtts"][0] if first["rtts"] else None,
                               icmp_type=icmp_type, icmp_code=icmp_code, labels=first["labels"],
                               replies=sum(1 for r in reps if r["address"]),
                               **({"other_addresses": others} if others else {})))
    if not traces:
        raise ResultError(path, None, "header", "no 'traceroute to DST (ADDR), ...' line; expected the stdout of "
                          "`traceroute -e DST`")
    out = []
    for t in traces:
        hops = t["hops"]
        while hops and not hops[-1]["address"]:      # the trailing '* * *' up to max TTL
            hops.pop()
        out.append(trace(None, t["dst"], None, hops, tunnels_from_labels(hops), detector="traceroute",
                         fmt=FORMAT))
    return checked(out, path)
