"""TNT's text dump (`sc_tnt -d 1 FILE.warts`, and `sc_tnt -v -d 1`), as uTNT prints it too.

    trace [icmp-paris] from 12.0.0.2 to 12.0.1.2
      2  11.0.0.1  0.228 ms  rTTLs=<254,254>  qttl=1  [MPLS,EXP,ING]
      3  11.0.0.3  0.516 ms  rTTLs=<249,253>  qttl=1  uturn=4  frpla=4  [MPLS,EXP,LSR]  Labels 21 mTTL=1
     H1  11.0.0.13  0.820 ms  rTTLs=<248,248>  qttl=1  [MPLS,INV,LSR,FRPLA,BRPR,step=3]
      5  *

Fields of a hop line (tnt.md 5.5), in any spacing: index (`N`, or `Hn` for a revealed
LSR), address or `*`, `N ms`, `rsvd`, `rTTLs=<TE,ER>` (`*` for no echo-reply), `qttl=`,
`uturn=`, `frpla=`, `rtla=`, the `[MPLS,...]` tag in any combination sc_tnt prints
(base.TAG_GRAMMAR: a hop may be EGR and ING, an inferred LSR has no class), `Labels L mTTL=x | ...`, and with -v `(dstunr code=N)` and `(ATTEMPT,...)`.
Tunnels are rebuilt from the tags (`base.tunnels_from_tags`).
"""
from __future__ import annotations

import re

from testbed.inputs import ipv4

from .base import ResultError, checked, hop, mpls_tag, trace, tunnels_from_tags

FORMAT = "tnt-text"

_HEAD = re.compile(r"^trace \[([\w-]+)\] from (\S+) to (\S+)\s*$")
_HOP = re.compile(r"^\s*(H?)(\d{1,10})\s+(.*)$")
_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<rtt>\d{1,10}(?:\.\d{1,10})?) ms|(?P<rsvd>rsvd)(?!\S)|rTTLs=<(?P<te>\d{1,10}|\*),(?P<er>\d{1,10}|\*)>|"
    r"(?P<kv>qttl|uturn|frpla|rtla)=(?P<v>-?\d{1,10})|(?P<tag>\[MPLS(?:,[^\]]*)?\])|"
    r"Labels\s+(?P<labels>\d{1,10}\s+mTTL=\d{1,10}(?:\s*\|\s*\d{1,10}\s+mTTL=\d{1,10})*)|\(dstunr code=(?P<unr>\d{1,10})\)|"
    r"\((?P<attempt>ATTEMPT[^)]*)\)")
_ADDR = re.compile(r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\*)(?!\S)")


def _tag(text: str, path, line) -> dict:
    return mpls_tag(text[1:-1].split(",")[1:], path, line, text)


def _hop(mo, path, line) -> dict:
    revealed, idx, rest = mo[1] == "H", int(mo[2]), mo[3]
    a = _ADDR.match(rest)
    if not a:
        raise ResultError(path, line, "address", "not an IPv4 "
                          "address or '*' after the hop index")
    addr = None if a[1] == "*" else ipv4(a[1], path, "address", line)
    f = {"rtt_ms": None, "reply_ttl": None, "er_ttl": None, "quoted_ttl": None, "labels": [], "mpls": None,
         "reserved": False, "uturn": 0, "frpla": 0, "rtla": 0, "attempts": [], "icmp_code": None}
    pos = a.end()
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if not m or m.end() == pos:
            raise ResultError(path, line, "hop", f"cannot read the text at column {mo.start(3) + pos + 1}; expected a field of sc_tnt's dump "
                              "(N ms, rTTLs=<TE,ER>, qttl=, uturn=, frpla=, rtla=, [MPLS,...], Labels ...)")
        pos = m.end()
        if m["rtt"]:
            f["rtt_ms"] = float(m["rtt"])
        elif m["rsvd"]:
            f["reserved"] = True
        elif m["te"]:
            f["reply_ttl"] = None if m["te"] == "*" else int(m["te"])
            f["er_ttl"] = None if m["er"] == "*" else int(m["er"])
        elif m["kv"]:
            f["quoted_ttl" if m["kv"] == "qttl" else m["kv"]] = int(m["v"])
        elif m["tag"]:
            f["mpls"] = _tag(m["tag"], path, line)
            f["mpls"]["revealed"] = revealed
        elif m["labels"]:
            for lse in m["labels"].split("|"):
                lab, ttl = lse.split()
                f["labels"].append({"label": int(lab), "tc": None, "s": None, "ttl": int(ttl[5:])})
        elif m["unr"]:
            f["icmp_code"] = int(m["unr"])
        elif m["attempt"]:
            f["attempts"].append(m["attempt"])
    # TNT prints qttl only on time-exceeded replies; a line without it is the destination's
    # (echo-reply or port-unreachable) or an unreachable
    if addr is None:
        icmp_type = None
    elif f["icmp_code"] is not None:
        icmp_type = 3
    elif f["quoted_ttl"] is not None:
        icmp_type = 11
    else:
        icmp_type = None
    return hop(addr, None if revealed else idx, label=f"H{idx}" if revealed else str(idx), revealed=revealed,
               rtt_ms=f["rtt_ms"], icmp_type=icmp_type, icmp_code=f["icmp_code"], reply_ttl=f["reply_ttl"],
               quoted_ttl=f["quoted_ttl"], er_ttl=f["er_ttl"], labels=f["labels"], mpls=f["mpls"],
               reserved=f["reserved"], uturn=f["uturn"], frpla=f["frpla"], rtla=f["rtla"], attempts=f["attempts"])


def parse(text: str, path: str = "<tnt>") -> list[dict]:
    traces, cur = [], None
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        h = _HEAD.match(raw.strip())
        if h:
            cur = {"method": h[1], "src": ipv4(h[2], path, "header.src", n), "dst": ipv4(h[3], path, "header.dst", n),
                   "hops": []}
            traces.append(cur)
            continue
        m = _HOP.match(raw)
        if not m:
            raise ResultError(path, n, "line", "neither a 'trace [method] from SRC to DST' "
                              "header nor a hop line; give the output of `sc_tnt -d 1 FILE.warts`")
        if cur is None:
            raise ResultError(path, n, "header", "hop line before the 'trace [method] from SRC to DST' header")
        cur["hops"].append(_hop(m, path, n))
    if not traces:
        raise ResultError(path, None, "header", "no 'trace [method] from SRC to DST' line; expected the output of "
                          "`sc_tnt -d 1 FILE.warts`")
    return checked([trace(t["src"], t["dst"], t["method"], t["hops"], tunnels_from_tags(t["hops"]), detector="tnt",
                          fmt=FORMAT) for t in traces], path)
