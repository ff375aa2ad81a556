"""`testbed matrix`: labs generated from a declarative grid, run, scored, summed per class.

    generate(grid, seed, limit) -> [(cell id, Lab)]       (reused by the conformance suite)

A cell is one point of the grid (GRID below: axis -> values). Each cell becomes a lab:

    vp1 - ce1 ====== pe1 - p1 .. pN - pe2 - ce2 - dst          (ecmp: a second chain q1..qN)
          ce1 - d1 .. dK - pe1   (asymmetry K: the return path from pe1 takes K more hops)
    vp2 behind ce2 probes back toward vp1 (2+ vantage points); vp3 sits behind x3 - pe1
    domains 2-3: pe2 [- j1] - pe3 - s1..sM - pe4 [- j2] - pe5 - t1..tM - pe6 - ce2, each domain
    with its own class, popping and vendor (join ip: through the plain IP routers j1, j2; join
    shared: back-to-back LSPs, pe2 is also domain 2's ingress, pe4 domain 3's, no pe3/pe5)
    return_ecmp: e1 beside pN (pe2 -> e1 -> pN-1 costs what pe2 -> pN -> pN-1 does; e1 -> pe2 100)

MPLS knobs follow the cell's class: explicit (uniform, RFC 4950 as the vendor has it),
implicit (uniform, no RFC 4950), opaque (pipe, LDP labels for the customer prefixes so the
LSP ends abruptly), invisible (pipe); popping php/uhp and LDP all/loopbacks on top; vendors for LERs and LSRs.
The truth decides the class each tunnel really has (a Linux LSR is silent, a UHP pipe
tunnel is invisible-uhp ...): the cell's class is only what was asked for.

Cells are scored with testbed.scoring (its rules); per class the matrix reports recall
(detected / present) and, per reported class tag, precision (tags matched to a truth
tunnel / tags reported). A cell fails when it is not perfect for a reason that is not a
named TNT limitation (undetectable by design, one tunnel revealed per trace, UHP LSRs that no
trace toward an internal address shows).
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections import Counter

import yaml

from testbed import knobs
from testbed.scoring.score import CLASS_MAP, COUNTS, PARTS, TRACE_COUNTS
from testbed.runtimes import registry

VENDORS = ["cisco", "juniper", "linux", "iosxr", "huawei", "h3c", "ericsson", "junose", "nokia", "mikrotik",
           "brocade"]
# the behaviour knobs the matrix varies are declared with their knob (testbed/knobs/<knob>.yaml
# `axis:`, spliced in after the axis it names): the axes below are the matrix's own
GRID: dict[str, list] = knobs.splice_axes({
    "class": ["explicit", "implicit", "opaque", "invisible"],
    "popping": ["php", "uhp"],
    "ler_vendor": VENDORS,
    "lsr_vendor": VENDORS,
    "lsrs": [1, 2, 3, 4, 5, 6, 7, 8],
    "p2p_prefix": [31, 30],
    "ecmp": [False, True],
    "ldp": ["all", "loopbacks"],
    "vps": [1, 2, 3],
    "dests": [1, 2],
    "asymmetry": [0, 2],
    # ---- the behaviour catalogue (issue 13; testbed/vendors/README.md): the first value of
    # each axis is "as the vendor has it", so a cell with only first values is the cell of the
    # grid before these axes (same id, same lab); the knobs' own axes come from their declarations
    "vpn": [False, True],                       # L3VPN: a VPN label under the transport label
    "sr": [False, True],                        # SR-MPLS node SIDs instead of LDP labels
    "router_vp": [False, True],                 # pe1 probes too, with its own stack
    "silent": ["none", "lsr", "ingress", "echo"],   # answer_time_exceeded off on p1 / on pe1; answer_echo off on p1
    "rate_limit": ["none", "core"],             # LSRs answer time-exceeded from a token bucket
    "sixpe": [False, True],                     # 6PE: IPv6 customers too, label 2 under the transport label
    "rsvp": [False, True],                      # LDP over RSVP p1 -> pN: a stacked push (stacked_push_ttl)
    "bgp_free": [False, True],                  # P routers know no customer prefix (no route back)
    # ---- real networks (issue 20): MPLS domains in series after the first (core), each with its
    # own class (TTL mode and RFC 4950), popping and vendor; joined LER to LER ("direct": the
    # egress of one LSP hands the packet to the ingress of the next) or through a plain IP router;
    # and equal-cost return paths at the first domain's egress. The first value of each is the
    # cell as it was without them
    "domains": [1, 2, 3],
    "join": ["direct", "ip"],           # and "shared" when asked (OPT_IN)
    "d2_class": ["explicit", "implicit", "opaque", "invisible"],
    "d2_popping": ["php", "uhp"],
    "d2_vendor": VENDORS,
    "d2_lsrs": [1, 2, 3],
    "d3_class": ["explicit", "implicit", "opaque", "invisible"],
    "d3_popping": ["php", "uhp"],
    "d3_vendor": VENDORS,
    "d3_lsrs": [1, 2, 3],
    "return_ecmp": [False, True],               # the egress pe2 has two equal-cost paths back (one via e1)
})
# the knob axes (testbed/knobs): a cell sets the knob on the core domain unless it has the first value
KNOB_AXES = knobs.axes()
# the catalogue axes with the value that leaves a cell as it was without them (in grid order)
_OWN_AXES = {"vpn": False, "sr": False, "router_vp": False, "silent": "none", "rate_limit": "none", "sixpe": False,
             "rsvp": False, "bgp_free": False}
BEHAVIOUR_AXES = {k: _OWN_AXES[k] if k in _OWN_AXES else GRID[k][0] for k in GRID if k in _OWN_AXES or k in KNOB_AXES}
# the real-network axes with the value that leaves a cell as it was without them; a domain's
# axes mean nothing without that domain (domains < k): such a draw is the cell with their first
# values (_cell)
DOMAIN_AXES = {"domains": 1, "join": "direct", "d2_class": "explicit", "d2_popping": "php", "d2_vendor": "cisco",
               "d2_lsrs": 1, "d3_class": "explicit", "d3_popping": "php", "d3_vendor": "cisco", "d3_lsrs": 1,
               "return_ecmp": False}
# 6PE (IPv6 across the core only) and L3VPN (VRFs on every link out of the core) are modelled for
# one domain: with more, a draw of them is the same cell without them
MULTI_DOMAIN_OFF = ("sixpe", "vpn")
# values an axis takes only when asked (`--set join=shared`, the conformance variants): out of the
# default draw, so the cells a seed gives (recorded oracle, golden digests, reports) stay the same.
# join shared: back-to-back LSPs, the egress of one domain is the ingress of the next (a router in
# both, docs/tunnels.md); not every failing cell it gives has its TNT limit named yet
OPT_IN = {"join": ["shared"]}
# back-to-back LSPs (join shared: the egress of one domain is the ingress of the next, a router
# in both) are modelled for plain LDP domains (testbed/lab/build.py): a cell drawn with one of
# these is the same cell without it
SHARED_OFF = ("sr", "rsvp", "bgp_free")
# the LSR names of domains 2 and 3 (domain 1's are p1..pN, q1..qN)
DOMAIN_LSR = {2: "s", 3: "t"}
# 6PE is modelled for PHP LSPs over LDP with BGP at the edge (testbed/lab/build.py _sixpe), LDP
# over RSVP needs LDP and an RSVP head and tail that are not neighbours (p1 and pN, N >= 3): a
# cell drawn with one of them on another combination is the same cell without it (_cell)
SIXPE_OFF = {"popping": ("uhp",), "vpn": (True,), "sr": (True,), "class": ("opaque",), "rsvp": (True,),
             "bgp_free": (True,)}
RSVP_OFF = {"sr": (True,), "lsrs": (1, 2)}
SILENT = {"lsr": ("p1", {"answer_time_exceeded": False}), "ingress": ("pe1", {"answer_time_exceeded": False}),
          "echo": ("p1", {"answer_echo": False})}
RATE_LIMIT = {"rate": 1, "burst": 2}            # per router, time-exceeded (the rate-limited lab: 0.1/s, 1)
# domain knobs per asked class; RFC 4950 stays the vendor's own where the class needs it (a
# Linux router has none: forcing it on would model a router that does not exist)
KNOBS = {"explicit": {"ttl_propagate": True},
         "implicit": {"ttl_propagate": True, "rfc4950": False},
         "opaque": {"ttl_propagate": False, "external": "igp"},
         "invisible": {"ttl_propagate": False}}
TAGS = ("EXP", "IMP", "OPA", "INV")
# verdicts that are TNT's limits, not failures: the rule that causes each
LIMITS = {
    "undetectable": "no TNT signal can see the tunnel (tnt.md 3.2: qTTL/u-turn/FRPLA/RTLA thresholds, silent LSRs)",
    "one-tunnel-per-trace": "a trigger fired on the egress and an earlier tunnel of the same trace was revealed: "
                            "TNT reveals only the first productive tunnel per trace (tnt.md 4.6)",
    "trace-ended-before": "the base trace stopped (gap limit, loop, unreachable) before the tunnel's ingress: no "
                          "probe of it reached the tunnel, so no trigger could fire (tnt.md 4.6; the incomplete "
                          "trace is counted apart, as a limit only when silent LSRs explain it)",
    "merged-tunnel": "TNT's tags run two tunnels in series together (a UHP egress quoting qTTL > 1 is one more "
                     "implicit LSR; a <255,64> egress before labelled hops is taken for an implicit LSR, sc_tnt "
                     "identify_juniper_implicit_hop): the trace reports one tunnel, matched with the first (tnt.md 3.3)",
    "back-to-back-merged": "two LSPs back to back through one router (the egress of one and the ingress of the "
                           "next, in two domains): TNT's tags or revelation run through that router (a quoted "
                           "explicit null, a <255,64> reply inferred an LSR, a revelation that goes on into the "
                           "next hidden tunnel) and report one tunnel over both, matched with one of them "
                           "(docs/tunnels.md)",
    "loop-stop": "the trace stopped on a loop (scamper's trace_isloop: an address answering again at a hop "
                 "other than the one just before): two UHP egresses back to back, or a UHP egress before a hidden "
                 "LSP, make one router answer three probe TTLs in a row, so TNT's trace ends there and the "
                 "tunnels after it are never probed (tnt.md 4.6)",
    "shared-router-unseen": "back-to-back LSPs through a router in two domains that answers at no hop of the "
                            "trace (a Cisco-like UHP egress leaves an IP-TTL of 1 as 1 and pushes into a pipe "
                            "LSP, so no probe expires there): the tunnel ending or starting there has no hop to "
                            "end or start at, TNT's egress rules and triggers (tnt.md 3) read the hops before and "
                            "after that router as one tunnel, or as none (docs/tunnels.md)",
    "ingress-hidden-on-revelation": "the revelation trace toward the egress's address (tnt.md 4.3) does not show "
                                    "the tunnel's ingress: on every path toward that address the ingress is an LSR "
                                    "of another hidden LSP (back to back, the shared router pushes the FEC of that "
                                    "address itself) or is not crossed at all, so TNT finds no ingress hop in it "
                                    "and stops (ING-NF, tnt.md 3.3)",
    "ingress-address-ecmp": "the ingress answers the prober from the address of the link its reply leaves by "
                            "(source outgoing), and its route back has equal-cost next hops picked per packet: "
                            "the revelation trace (another destination, another hash) gets its reply from another "
                            "address than the trace did, and TNT, which looks for the ingress hop's address in it, "
                            "stops with ING-NF (tnt.md 3.3, 4.3)",
    "revelation-target-hides": "the revelation stopped with nothing new (NTH-RV) and the LSRs not found are hidden "
                               "on its last target too: a trace toward the address of the last revealed LSR (or the "
                               "egress) crosses them inside another pipe LSP (back to back, one FEC swapped through "
                               "both domains), checked with a scripted trace on the sim, so no revelation step can "
                               "show them (tnt.md 4.3)",
    "candidate-tagged": "the trigger's hop (or the ingress hop before it) is already in another reported tunnel: "
                        "TNT queues no revelation for an LSR or egress hop, nor from an ingress inside an explicit or "
                        "implicit tunnel (tnt.md 3.3)",
    "uhp-lsrs": "UHP LSRs pop explicit null for internal prefixes too: no revelation trace shows them "
                "(fully invisible UHP is outside the Wormhole techniques, tnt.md 1 notes); a detected "
                "candidate's revelation then stops with nothing revealed (NTH-RV) and no tunnel is reported",
    "uhp-egress-quotes": "a UHP egress receives the probe labelled (explicit null) and answers like an LSR "
                         "(labels quoted, qTTL > 1, or after the pop with LSE-TTL 255-N, read as MTTL): TNT's "
                         "rules tag it as an LSR or an opaque egress and take the next hop for the egress "
                         "(tnt.md 3.2); when the LSRs before it show no labels or another class, the egress "
                         "alone reads as a tunnel of its own and the first one ends a hop early (tnt.md 3)",
    "buddy-linux": "a Linux UHP egress answers the buddy's UDP probe from the probed address, so TNT counts "
                   "the buddy trace as empty and keeps the duplicated hop's router for the egress (tnt.md 4.4)",
    "gap-limit": "five silent hops in a row on the truth path (Linux LSRs and a Linux UHP egress that drop an "
                 "expiring label, routers that send no time-exceeded, P routers of a BGP-free core with no route "
                 "back) end the trace at TNT's gap limit (-g 5, tnt.md 4.6)",
    "ecmp-revelation": "revelation traces go to the egress's address, another destination, hence another Paris "
                       "flow: TNT reveals the LSRs of another equal-cost path (tnt.md 4.3; counted as lsrs_other_path)",
    "egress-address-hidden": "the egress answers from the address of a link it shares with no router of the "
                             "tunnel (its route back leaves by another link, here toward the equal-cost e1): the "
                             "LSP toward that address ends at the egress itself, as hidden as the tunnel, so "
                             "TNT's revelation trace toward it shows nothing between ingress and egress (NTH-RV, "
                             "tnt.md 4.3; BRPR works through the link shared with the last LSR)",
    "implicit-uturn-end": "the penultimate LSR pops before answering (qTTL 1, no u-turn): TNT's u-turn rule "
                          "ends the tunnel at the last hop of the u-turn run and takes the penultimate LSR for "
                          "the egress (tnt.md 3.2)",
    "linux-uhp-egress-silent": "a Linux UHP egress drops a packet whose explicit-null LSE-TTL expires and sends "
                               "nothing (Linux mpls_forward, tnt.md 2.2): its hop is silent, so TNT's egress rule "
                               "takes the next responding hop (tnt.md 3.2)",
    "no-min-dupip": "a Linux router that pops (the penultimate LSR or the egress) does not apply min() "
                    "(tnt.md 2.2): the next hop repeats an address and TNT's DUPIP rule reads a UHP tunnel "
                    "(tnt.md 3.2)",
    # ---- the behaviour catalogue's axes (issue 13): router behaviours, each named by its knob
    "router-vp-ingress": "the vantage point is the tunnel's ingress router itself (a router VP): TNT names the "
                         "ingress as the hop before the first tunnel hop (tnt.md 3) and a trace has no hop for "
                         "its own router, so the reported ingress is empty",
    "silent-ingress": "the ingress answers no time-exceeded (answer_time_exceeded false): its hop is silent, TNT "
                      "starts from the hop before it (INGRESS_IS_NULL, tnt.md 3.3) and reports no ingress",
    "router-vp-no-revelation": "the vantage point is the ingress router of a hidden tunnel: its trace starts at "
                               "the egress, and TNT's candidate test needs the hop before it as the start point of "
                               "the revelation traces (tnt.md 3.3 step 2); there is none, so no LSR is revealed",
    "silent-lsr": "LSRs that answer no time-exceeded (answer_time_exceeded false) are silent hops: TNT cannot "
                  "show them, and when the first LSR is silent the hop before the first labelled one is that "
                  "silent hop, so no ingress is named (tnt.md 3)",
    "silent-egress": "the egress answers no time-exceeded (answer_time_exceeded false): its hop is silent and "
                     "TNT's egress rule takes the next responding hop (tnt.md 3)",
    "inner-label-egress": "the egress PE receives the packet still labelled after the transport label's pop "
                          "(a VPN label, or ELI 7 + entropy label): with uniform TTL its time-exceeded quotes "
                          "that label, so TNT's egress rule (the first hop after the last labelled one, tnt.md 3) "
                          "names the next hop and tags the egress an LSR (the l3vpn and entropy labs)",
    "knob:vpn": "L3VPN (vpn: true): the egress pops a VPN label of its own after the transport label; it "
                "answers labelled (LSE-TTL of the VPN label), so TNT's egress and class rules (tnt.md 3) read it "
                "as one more tunnel hop (checked: the miss is gone in the same cell without the VPN label)",
    "knob:entropy_label": "entropy labels (ELI 7 + EL under the transport label, RFC 6790): the egress receives "
                          "them after the pop and answers labelled, so TNT's egress rule (tnt.md 3) moves the "
                          "egress one hop on (checked: the miss is gone in the same cell without them)",
    "knob:silent": "a router that answers no time-exceeded (answer_time_exceeded false) or no echo (answer_echo "
                   "false): a silent hop splits the tunnel's run of labelled hops, or takes away the echo-reply "
                   "TTL that the u-turn and RTLA need (tnt.md 3.2) (checked: the miss is gone when it answers)",
    "knob:rate_limit": "LSRs answer time-exceeded from a token bucket (limit_time_exceeded 1/s, burst 2): TNT's "
                       "revelation and u-turn probes find it empty and see silent hops (router behaviour, the "
                       "rate-limited lab; checked: the miss is gone without the limit)",
    "knob:tunnel_scope": "which time-exceeded an LSR sends along the LSP (tunnel_scope multi-label / udp, Huawei "
                         "`ttl expiration pop`, Nokia): one-label ICMP probes are answered directly, so the "
                         "u-turn and qTTL signatures TNT's implicit rule needs (tnt.md 3.2) are gone (checked: the "
                         "miss is gone with tunnel_scope all)",
    "ipv4-only": "a 6PE tunnel (IPv6 over the IPv4 core, label 2 under the transport label) is never probed: "
                 "TNT (sc_tnt allocates every target as SCAMPER_ADDR_TYPE_IPV4) and uTNT trace and ping IPv4 only, "
                 "so the scorer lists it under not_probed as undetectable",
    "knob:php_ttl_writeback": "the PHP pop does not write the LSE-TTL back (Junos no-propagate-ttl): the return "
                              "tunnel no longer counts in the reply TTLs, so FRPLA/RTLA (tnt.md 3.2) shift "
                              "(checked: the miss is gone with the write-back)",
    "knob:ttl_propagate_local": "the router's own packets take another TTL model than forwarded ones (split "
                                "pipe, ttl_propagate_local): the egress's own replies enter the return tunnel "
                                "uniform (or pipe), so the return-path length TNT's triggers read (tnt.md 3.2) "
                                "differs from the forward model (checked: the miss is gone without the split)",
    "knob:no_decrement_ttl": "the LSP is signalled no-decrement-ttl (Junos): the ingress pushes 255 and the pop "
                             "writes nothing back, so the tunnel costs no hop of TTL and the egress's FRPLA/RTLA "
                             "read 0 (tnt.md 3.2) (checked: the miss is gone without the knob)",
    "knob:source_time_exceeded": "time-exceeded messages come from the incoming interface instead of the interface "
                                 "of the route back (RFC 1812 4.3.2.4): the hop addresses TNT compares for DUPIP "
                                 "and traces toward in its revelation (tnt.md 3.2, 4.3) change (checked: the miss "
                                 "is gone with the vendor's source rule)",
    "knob:rsvp": "LDP over RSVP (rsvp: p1 -> pN): p1 pushes an RSVP label over the LDP one; a Junos head starts "
                 "it at TTL 255 (stacked_push_ttl), so the LSRs inside never see the probe's TTL expire and stay "
                 "hidden inside the explicit tunnel, and a Cisco head copies it and its LSRs quote two labels "
                 "(tnt.md 3) (checked: the miss is gone without the RSVP LSP)",
    "knob:bgp_free": "a BGP-free core: the P routers know no customer prefix, so a time-exceeded they route by IP "
                     "(a one-label LSP under Huawei `ttl expiration pop`, or no ICMP tunnelling) has no route back "
                     "and is dropped: the LSRs are silent (tnt.md 3) (checked: the miss is gone with BGP in the "
                     "core)",
    "knobs": "several catalogue knobs together (named in the verdict line): the miss is gone only without all of "
             "them (each alone is a router behaviour above; tnt.md 3)",
}
# knobs a miss may be attributed to by the re-run check (label_order and sr change only label
# values, quote_bytes only the reply's size, ip_id only the IP-ID, sixpe only adds IPv6
# traffic: no TNT rule reads them, so a miss they cause would be a bug, never a limit)
ATTRIBUTABLE = ("vpn", "entropy_label", "silent", "rate_limit", "tunnel_scope", "php_ttl_writeback",
                "ttl_propagate_local", "no_decrement_ttl", "source_time_exceeded", "rsvp", "bgp_free")


GAP_LIMIT = 5          # TNT's (and uTNT's) -g default: that many silent hops in a row end a trace


def _silent_run(path: dict) -> int:
    """The most consecutive hops of a truth path that answer no probe (the truth's `silent`
    steps: Linux LSRs and UHP egresses, routers that send no time-exceeded, no route back in a
    BGP-free core); LSRs of a hidden tunnel take no probe TTL and are not hops."""
    hidden = {n for t in path["tunnels"] if t.get("hidden") for n in t["lsrs"]}
    best = run = 0
    for st in path["forward"][1:]:
        if st["node"] in hidden:
            continue
        run = run + 1 if st.get("silent") else 0
        best = max(best, run)
    return best


def _parts(v: dict) -> list[str]:
    """The wrong parts of a partly-detected verdict (the scorer's `wrong` codes)."""
    return list(v.get("wrong") or [])


def _repeats_at_end(doc: dict, s: dict) -> bool:
    """The trace of score trace `s` ends on one address at three TTLs in a row (scamper's loop)."""
    tr = next((t for t in doc["traces"] if t.get("vantage_point") == s["vantage_point"] and t.get("dst") == s["dst"]),
              None)
    addrs = [h.get("address") for h in (tr or {}).get("hops", [])]
    return len(addrs) >= 3 and addrs[-1] is not None and addrs[-1] == addrs[-2] == addrs[-3]


def _unseen_shared(lab, doc: dict, s: dict, t: dict) -> set:
    """The ends of truth tunnel t that are routers in two domains (back to back) and answer at no
    hop of the trace of score trace `s` (its revelation traces included)."""
    ends = {t["ingress"], t["egress"]} & set(lab.shared_routers())
    if not ends:
        return set()
    tr = next((x for x in doc["traces"] if x.get("vantage_point") == s["vantage_point"] and x.get("dst") == s["dst"]),
              None)
    if tr is None:
        return set()
    seen = {lab.owner_of(h["address"]) for h in tr.get("hops", []) if h.get("address")}
    return ends - seen - {s["vantage_point"]}


def _ingress_hidden_toward(lab, vp: str, t: dict) -> bool:
    """No path from `vp` toward the addresses the egress of hidden truth tunnel t answers from
    (truth `reveal_from`, else its egress address) shows t's ingress as a hop: it is an LSR of a
    hidden tunnel on that path, or not on it."""
    from testbed.controlplane import build
    from testbed.truth.tunnels import tunnels_on
    from testbed.truth.walk import walk
    addrs = list(t.get("reveal_from") or {}) or [t.get("egress_address")]
    if not all(addrs) or vp not in lab.nodes:
        return False
    cp = build(lab)
    for a in addrs:
        for b in walk(cp, vp, a):
            nodes = [x.node for x in b]
            inside = {n for o in tunnels_on(lab, b, cp) if o.hidden for n in o.lsrs}
            if t["ingress"] in nodes and t["ingress"] not in inside:
                return False
    return True


def _ingress_answers_apart(lab, doc: dict, s: dict, t: dict) -> bool:
    """The ingress of truth tunnel t answered the trace of score trace `s` from one of several
    addresses its reply to the vantage point can leave from (equal-cost routes back, a source
    taken from the outgoing link): a revelation trace may see it at another address."""
    from testbed.controlplane import build
    from testbed.truth.report import reply_sources
    tr = next((x for x in doc["traces"] if x.get("vantage_point") == s["vantage_point"] and x.get("dst") == s["dst"]),
              None)
    vp = lab.nodes.get(s["vantage_point"])
    if tr is None or vp is None:
        return False
    seen = [h["address"] for h in tr.get("hops", []) if h.get("address") and not h.get("revealed")
            and lab.owner_of(h["address"]) == t["ingress"]]
    if not seen:
        return False
    srcs = {a for a, _ in reply_sources(build(lab), t["ingress"], None, vp.primary_address()) if a}
    return len(srcs) > 1 and seen[0] in srcs


def _target_hides(lab, vp: str, v: dict, t: dict, u: dict | None) -> bool:
    """The revelation of reported tunnel u stopped with NTH-RV, and a scripted trace (sim) from
    `vp` toward its last target (the first revealed LSR's address, else the egress's) shows
    none of truth tunnel t's LSRs not found: they are hidden on that trace too."""
    from testbed.controlplane import build
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    if u is None or u.get("stop_reason") != "NTH-RV" or _parts(v) != ["lsrs"]:
        return False
    found = {lab.owner_of(a) for a in u.get("lsrs", []) if a}
    missing = {n for n in t["lsrs"] if n not in found and n not in (v.get("lsrs_unseeable") or {})}
    target = next((a for a in u.get("lsrs", []) if a), None) or u.get("egress")
    if not missing or not target:
        return False
    hops = ScriptedProber(Sim(lab, build(lab)), vp).trace(target)
    return not any(h.address and lab.owner_of(h.address) in missing for h in hops)


def _answered(lab, doc: dict, s: dict) -> set:
    """The routers that answered at some hop of the trace of score trace `s`."""
    tr = next((x for x in doc["traces"] if x.get("vantage_point") == s["vantage_point"] and x.get("dst") == s["dst"]),
              None)
    return {lab.owner_of(h["address"]) for h in (tr or {}).get("hops", []) if h.get("address")}


def _through_shared(lab, t: dict, reported: list) -> bool:
    """Back-to-back LSPs: truth tunnel t starts or ends at a router in two domains, and one of
    the trace's reported tunnels runs through that router (it is among the tunnel's LSRs)."""
    ends = {t["ingress"], t["egress"]} & set(lab.shared_routers())
    return bool(ends) and any(ends & {lab.owner_of(a) for a in r.get("lsrs", []) if a} for r in reported)


def _parts_limit(lab, v: dict, t: dict | None, u: dict | None, vp: str,
                 truths: list | None = None, falses: list | None = None, reported: list | None = None) -> str | None:
    """The named limits behind a verdict (the scorer's codes: outcome, wrong, cause), part by
    part: the catalogue's precise rules take the parts they explain (router VP ingress, silent
    ingress, inner-label egress), the rest goes to _limit_of. None when a part stays unexplained.
    `reported`: every tunnel reported on the trace (the back-to-back rule)."""
    outcome = v["outcome"]
    if t is not None and reported and outcome in ("missed", "partly") and \
            _through_shared(lab, t, reported if outcome == "missed" else [u] if u else []) and \
            all(x in PARTS for x in _parts(v)):
        return "back-to-back-merged"
    if t is None and u is not None and truths:
        # a false tunnel made of a UHP egress alone (it answers labelled, or with qTTL > 1,
        # after the explicit-null pop while its LSRs show nothing of the kind)
        hops = [lab.owner_of(a) for a in u.get("lsrs", []) if a]
        uhp_egresses = {x["egress"] for x in truths if x.get("ending") == "uhp"}
        if hops and hops[0] in uhp_egresses:        # it starts at the egress (qTTL > 1 runs on past it)
            return "uhp-egress-quotes"
    if outcome == "missed" and t is not None and vp == t["ingress"] and \
            t["class"] in ("opaque", "invisible-php", "invisible-uhp"):
        return "router-vp-no-revelation"      # the trace starts at the egress: no start point, no test
    if t is None or outcome != "partly":
        return _limit_of(lab, v, t, u, _parts(v))
    rest = _parts(v)
    names = []
    if "ingress" in rest:
        ing = lab.nodes.get(t["ingress"])
        if vp == t["ingress"]:
            names.append("router-vp-ingress")
            rest.remove("ingress")
            if t["class"] in ("opaque", "invisible-php", "invisible-uhp") and "lsrs" in rest and \
                    v.get("lsrs_missing") == len(t["lsrs"]):
                names.append("router-vp-no-revelation")
                rest.remove("lsrs")
        elif v.get("cause") == "silent-ingress" or (ing is not None and not ing.personality.answer_time_exceeded):
            names.append("silent-ingress")
            rest.remove("ingress")
    if u is not None and "lsrs" in rest:
        tagged = {lab.owner_of(a) for a in u.get("lsrs", []) if a}
        silent = {n for n in t["lsrs"] if n in lab.nodes and not lab.nodes[n].personality.answer_time_exceeded}
        missing = [n for n in t["lsrs"] if n not in tagged and n not in (v.get("lsrs_unseeable") or {})]
        if silent and missing and set(missing) <= silent and v.get("lsrs_missing") == len(missing):
            names.append("silent-lsr")
            rest.remove("lsrs")
    if u is not None and t["lsrs"] and "ingress" in rest and not u.get("ingress"):
        first = lab.nodes.get(t["lsrs"][0])
        if first is not None and (not first.personality.answer_time_exceeded
                                  or t["lsrs"][0] in (v.get("lsrs_unseeable") or {})):
            names.append("silent-lsr")        # the hop before the first labelled one is the silent first LSR
            rest.remove("ingress")
    eg = lab.nodes.get(t["egress"])
    if "egress" in rest and eg is not None and not eg.personality.answer_time_exceeded:
        names.append("silent-egress")
        rest.remove("egress")
    if "egress" in rest and u is not None and t["class"] in ("explicit", "implicit"):
        ing, eg = lab.nodes.get(t["ingress"]), lab.nodes.get(t["egress"])
        tagged = {lab.owner_of(a) for a in u.get("lsrs", []) if a}
        inner = t.get("stack_depth", 1) > 1 or (ing is not None and ing.personality.entropy_label)
        if inner and t["egress"] in tagged and eg is not None:
            names.append("inner-label-egress")
            rest.remove("egress")
    if t.get("ending") == "uhp" and truths is not None and any(
            t["egress"] in hs for hs in (falses or [])) and rest:       # the egress opens a false tunnel
        keep = [x for x in rest if x != "egress" and not (x == "lsrs" and v.get("lsrs_missing") == 1)]
        if len(keep) < len(rest):
            names.append("uhp-egress-quotes")
            rest = keep
    if not names:
        return _limit_of(lab, v, t, u, rest)
    if rest:
        more = _limit_of(lab, v, t, u, rest)
        if more is None:
            return None
        names.append(more)
    return "+".join(dict.fromkeys(names))


def _attribute(params: dict, keys: list, runtime: str, seed: int, detector=(None, None, None)) -> dict:
    """key -> the catalogue knob(s) whose removal makes that verdict right (re-running the same
    cell without it): {key: "knob:K" | "knobs"}. A key is (vp, dst, truth ingress, truth egress)
    or (vp, dst, None, reported class) for a false tunnel."""
    from testbed.api import run as run_lab
    lifted_sets = [(k,) for k in ATTRIBUTABLE if params.get(k, BEHAVIOUR_AXES[k]) != BEHAVIOUR_AXES[k]]
    if len(lifted_sets) > 1:
        lifted_sets.append(tuple(k for (k,) in lifted_sets))
    out = {}
    for ks in lifted_sets:
        todo = [k for k in keys if k not in out]
        if not todo:
            break
        p = {**params, **{k: BEHAVIOUR_AXES[k] for k in ks}}
        try:
            with _cell_lab(p, runtime) as lab:
                doc = run_lab(lab, runtime=runtime, seed=seed, name=lab.name,
                              detector=detector[0], detector_cmd=detector[1], fmt=detector[2])
        except Exception:
            continue
        fixed = _fixed_keys(lab, doc, todo)
        for k in fixed:
            out[k] = f"knob:{ks[0]}" if len(ks) == 1 else "knobs"
    return out


def _fixed_keys(lab, doc, keys) -> set:
    got = set()
    for s in doc["score"]["traces"]:
        vs = s["verdicts"]
        for key in keys:
            vp, dst, a, b = key
            if (s["vantage_point"], s["dst"]) != (vp, dst):
                continue
            if a is None:            # a false tunnel: gone, or matched now
                if not any(v["truth"] is None and v["reported"] and v["reported"].get("class") == b for v in vs):
                    got.add(key)
                continue
            for v in vs:
                t = v["truth"]
                if t is not None and (t["ingress"], t["egress"]) == (a, b):
                    if v["outcome"] == "correct" or _parts_limit(lab, v, t, v["reported"], vp):
                        got.add(key)
    return got


def _popping(eg, t: dict) -> str:
    """How the egress of truth tunnel `t` ends it: its popping in the tunnel's domain (a router in
    two domains, back to back, has one per domain)."""
    return eg.domain_knobs.get(t.get("domain"), {}).get("popping", eg.popping)


def _limit_of(lab, v: dict, t: dict | None, u: dict | None, rest: list[str]) -> str | None:
    """The named TNT limitation behind a verdict that is not `correct` (its wrong parts `rest`
    still to explain), or None (a failure)."""
    outcome, cause = v["outcome"], v.get("cause")
    if v.get("lsrs_other_path") and outcome == "partly" and rest == ["lsrs"]:
        return "ecmp-revelation"
    if cause == "ecmp-revelation" and rest == ["lsrs"]:
        return "ecmp-revelation"
    if cause == "egress-address-hidden" and (outcome == "missed" or rest == ["lsrs"]):
        return cause
    if outcome == "undetectable":
        return "undetectable"
    if outcome == "flagged-not-revealed":
        return "one-tunnel-per-trace"
    if cause == "one-tunnel-per-trace-lsrs" and outcome == "partly" and rest == ["lsrs"]:
        return "one-tunnel-per-trace"
    if cause == "trace-ended-before" and outcome == "missed":
        return "trace-ended-before"
    if cause in ("merged-tunnel", "candidate-tagged") and outcome == "missed":
        return cause
    eg = lab.nodes.get(t["egress"]) if t is not None else None
    if t is not None and cause == "stop-nothing-revealed" and outcome == "missed" and (
            t["class"] == "invisible-uhp" or (t.get("hidden") and eg is not None and _popping(eg, t) == "uhp")):
        return "uhp-lsrs"               # the revelation traces ran (NTH-RV) and no UHP LSR answered
    if t is None:
        return None
    if outcome == "missed" and cause in ("silent-ingress", "stop-ingress-not-found"):
        ing = lab.nodes.get(t["ingress"])
        if cause == "silent-ingress" or (ing is not None and not ing.personality.answer_time_exceeded):
            return "silent-ingress"
    if t["class"] == "implicit" and u is not None and u.get("trigger") == "UTURN" and \
            outcome == "partly" and rest == ["egress", "lsrs"] and v.get("lsrs_missing") == 1:
        return "implicit-uturn-end"
    eg = lab.nodes.get(t["egress"])
    uhp = eg is not None and _popping(eg, t) == "uhp"
    if uhp and eg.vendor == "linux" and outcome == "missed" and t["class"] == "invisible-uhp":
        return "buddy-linux"            # the buddy's port-unreachable comes from the probed address: REV_EMPTY
    if uhp and eg.vendor == "linux" and eg.personality.lse_expiry == "drop" and outcome == "partly" \
            and "egress" in rest:
        return "linux-uhp-egress-silent"
    if uhp and outcome == "partly":
        if not all(x in PARTS for x in rest):
            return None
        if rest == ["lsrs"]:
            return "uhp-lsrs"
        tagged = {lab.owner_of(a) for a in u.get("lsrs", []) if a}
        if u.get("trigger") == "DUPIP" and eg.vendor == "linux" and set(rest) <= {"egress", "lsrs"}:
            return "buddy-linux"
        if t["egress"] in tagged or (u.get("class") == "OPA" and eg.personality.explicit_null_expiry):
            return "uhp-egress-quotes"
        return None
    poppers = [lab.nodes[n] for n in [*t["lsrs"][-1:], t["egress"]] if n in lab.nodes]
    if u is not None and u.get("trigger") == "DUPIP" and any(not x.personality.min_ttl_at_pop for x in poppers):
        return "no-min-dupip"
    return None


# ---------------------------------------------------------------- cells
def size(grid: dict) -> int:
    n = 1
    for v in grid.values():
        n *= len(v)
    return n


def _cell(grid: dict, index: int) -> dict:
    """The index-th point of the grid (mixed radix, last axis fastest)."""
    out = {}
    for k in reversed(list(grid)):
        vals = grid[k]
        index, r = divmod(index, len(vals))
        out[k] = vals[r]
    doms = out.get("domains", 1)
    for k, d in DOMAIN_AXES.items():
        if k in out and ((k == "join" and doms < 2) or (k[:1] == "d" and k[1:2].isdigit() and doms < int(k[1]))):
            out[k] = d
    if doms > 1:
        for k in MULTI_DOMAIN_OFF:
            if out.get(k):
                out[k] = False
    if doms > 1 and out.get("join") == "shared":
        for k in SHARED_OFF:
            if out.get(k):
                out[k] = False
        # a router has one TTL mode (ttl-propagate is router-wide): the shared router pushes into
        # the next domain as it does into the previous one, so a domain's class keeps the TTL mode
        # of the one before it (uniform: explicit, implicit; pipe: opaque, invisible)
        prev = out.get("class")
        for d in range(2, doms + 1):
            k = f"d{d}_class"
            if k in out and KNOBS[out[k]]["ttl_propagate"] != KNOBS[prev]["ttl_propagate"]:
                out[k] = prev
            prev = out.get(k, prev)
    if out.get("rsvp") and any(out.get(k) in vs for k, vs in RSVP_OFF.items()):
        out["rsvp"] = False
    if out.get("sixpe") and any(out.get(k) in vs for k, vs in SIXPE_OFF.items()):
        out["sixpe"] = False
    return {k: out[k] for k in grid}


def cell_id(params: dict) -> str:
    p = params
    extra = "".join(f"-{k}={_v(p[k])}" for k, d in {**BEHAVIOUR_AXES, **DOMAIN_AXES}.items()
                    if k in p and p[k] != d)
    return (f"{p['class']}-{p['popping']}-ler={p['ler_vendor']}-lsr={p['lsr_vendor']}-n{p['lsrs']}"
            f"-p{p['p2p_prefix']}-{'ecmp' if p['ecmp'] else 'single'}-ldp={p['ldp']}-vp{p['vps']}"
            f"-d{p['dests']}-asym{p['asymmetry']}{extra}")


def _v(x) -> str:
    return str(x).lower() if isinstance(x, bool) else str(x)


def cells(grid: dict | None = None, seed: int = 0, limit: int | None = None) -> list[tuple[str, dict]]:
    """[(cell id, params)]: the whole grid in order, or `limit` cells sampled with `seed`."""
    grid = grid or GRID
    n = size(grid)
    idx = range(n) if limit is None or limit >= n else sorted(random.Random(seed).sample(range(n), limit))
    return [(cell_id(p), p) for p in (_cell(grid, i) for i in idx)]


# the order a cell's domain behaviour is written in: the one lab files had before the knobs were
# declared in testbed/knobs (the recorded oracle's lab digests are of the lab's text); a knob
# axis added since comes after them, by name
_WRITE_ORDER = ("label_order", "ttl_propagate_local", "tunnel_scope", "php_ttl_writeback", "no_decrement_ttl",
                "quote_bytes", "source_time_exceeded", "ip_id", "entropy_label")


def _written_at(knob: str) -> tuple:
    return (_WRITE_ORDER.index(knob), "") if knob in _WRITE_ORDER else (len(_WRITE_ORDER), knob)


def lab_doc(params: dict) -> dict:
    """The lab file (as a dict) of one cell."""
    p = params
    n, k = p["lsrs"], p["asymmetry"]
    chains = [[f"p{i}" for i in range(1, n + 1)]] + ([[f"q{i}" for i in range(1, n + 1)]] if p["ecmp"] else [])
    core = ["pe1", *[r for c in chains for r in c], "pe2"]
    routers = {"ce1": {}, "ce2": {}, "pe1": {"vendor": p["ler_vendor"]}, "pe2": {"vendor": p["ler_vendor"]}}
    for c in chains:
        for r in c:
            routers[r] = {"vendor": p["lsr_vendor"]}
    hosts = {"vp1": {}, "dst": {}}
    links = [{"lan": ["ce1", "vp1"], "name": "vp1-lan"},
             {"endpoints": ["ce1", {"node": "pe1", "cost": 100}]} if k else ["ce1", "pe1"]]
    for i in range(1, k + 1):
        routers[f"d{i}"] = {}
    det = ["pe1", *[f"d{i}" for i in range(1, k + 1)], "ce1"] if k else []
    links += [[a, b] for a, b in zip(det, det[1:])]
    for c in chains:
        seq = ["pe1", *c, "pe2"]
        links += [[a, b] for a, b in zip(seq, seq[1:])]
    domains = {}
    last = "pe2"
    for d in range(2, p.get("domains", 1) + 1):
        # domain d: pe(2d-1) - s1..sM (t1..tM) - pe(2d), after the previous egress (directly, or
        # through the plain IP router j(d-1)); join shared: the previous egress is the ingress
        # (a router in both domains, back-to-back LSPs), keeping its vendor
        ing, egr = f"pe{2 * d - 1}", f"pe{2 * d}"
        lsrs = [f"{DOMAIN_LSR[d]}{i}" for i in range(1, p[f"d{d}_lsrs"] + 1)]
        if p.get("join") == "shared":
            ing = last
        elif p.get("join") == "ip":
            routers[f"j{d - 1}"] = {}
            links += [[last, f"j{d - 1}"], [f"j{d - 1}", ing]]
        else:
            links.append([last, ing])
        for r in (ing, *lsrs, egr):
            if r != last:
                routers[r] = {"vendor": p[f"d{d}_vendor"]}
        seq = [ing, *lsrs, egr]
        links += [[a, b] for a, b in zip(seq, seq[1:])]
        domains[f"d{d}"] = {"routers": seq, "popping": p[f"d{d}_popping"], "ldp": p["ldp"],
                            **KNOBS[p[f"d{d}_class"]]}
        last = egr
    if p.get("return_ecmp"):
        # e1 beside the last LSR: pe2 -> pN -> p(N-1) and pe2 -> e1 -> p(N-1) cost the same, so pe2's
        # replies toward the vantage point have two equal-cost paths; e1 -> pe2 costs 100, so the
        # forward path stays one
        before = f"p{n - 1}" if n > 1 else "pe1"
        routers["e1"] = {"vendor": p["lsr_vendor"]}
        core.append("e1")
        links += [{"endpoints": ["pe2", {"node": "e1", "cost": 100}]}, ["e1", before]]
    links += [[last, "ce2"], {"lan": ["ce2", "dst"], "name": "dst-lan"}]
    fwd_targets = ["dst"] + (["ce2"] if p["dests"] > 1 else [])
    probes = [{"from": "vp1", "to": fwd_targets}]
    if p["vps"] >= 2:
        hosts["vp2"] = {}
        links.append({"lan": ["ce2", "vp2"], "name": "vp2-lan"})
        probes.append({"from": "vp2", "to": ["vp1"] + (["ce1"] if p["dests"] > 1 else [])})
    if p["vps"] >= 3:
        hosts["vp3"] = {}
        routers["x3"] = {}
        links += [["x3", "pe1"], {"lan": ["x3", "vp3"], "name": "vp3-lan"}]
        probes.append({"from": "vp3", "to": fwd_targets})
    if p.get("router_vp"):
        probes.append({"from": "pe1", "to": fwd_targets})
    dom = {"routers": core, "popping": p["popping"], "ldp": p["ldp"], **KNOBS[p["class"]]}
    if p.get("vpn"):
        dom["vpn"] = True
    if p.get("sr"):
        dom["sr"] = True
    if p.get("sixpe"):
        dom["sixpe"] = True
    if p.get("rsvp"):
        dom["rsvp"] = [["p1", f"p{n}"]]
    if p.get("bgp_free"):
        dom["bgp_free"] = True
    beh = {k: p[k] for k in sorted(KNOB_AXES, key=_written_at) if p.get(k, BEHAVIOUR_AXES[k]) != BEHAVIOUR_AXES[k]}
    if p.get("rate_limit", "none") == "core":
        for c in chains:
            for r in c:
                routers[r]["behaviour"] = {"limit_time_exceeded": dict(RATE_LIMIT)}
    if p.get("silent", "none") != "none":
        r, knobs = SILENT[p["silent"]]
        routers[r]["behaviour"] = {**routers[r].get("behaviour", {}), **knobs}
    if beh:
        dom["behaviour"] = beh
    name = "mx-" + hashlib.sha1(cell_id(p).encode()).hexdigest()[:8]
    return {"name": name, "description": f"matrix cell {cell_id(p)}",
            "defaults": {"p2p_prefix": p["p2p_prefix"]}, "routers": routers, "hosts": hosts, "links": links,
            "mpls": {"core": dom, **domains}, "probes": probes}


def lab_text(params: dict) -> str:
    return f"# generated by testbed.experiments.matrix: {cell_id(params)}\n" + yaml.safe_dump(
        lab_doc(params), sort_keys=False)


def lab_for(params: dict):
    """The Lab object of one cell, through the same schema and builder as lab files."""
    from testbed.lab.build import build_lab
    from testbed.lab.schema import LabSpec
    from testbed.yamlpos import load_with_lines
    text = lab_text(params)
    data, lines = load_with_lines(text)
    spec = LabSpec.model_validate(data)
    return build_lab(spec, path=f"matrix:{cell_id(params)}", lines=lines, params=dict(params), name=data["name"])


def generate(grid: dict | None = None, seed: int = 0, limit: int | None = None) -> list[tuple[str, object]]:
    """[(cell id, Lab)] of the grid (all cells, or `limit` sampled with `seed`)."""
    return [(cid, lab_for(p)) for cid, p in cells(grid, seed, limit)]


# ---------------------------------------------------------------- running and scoring one cell
def run_cell(item: tuple[str, dict], runtime: str = "sim", seed: int = 0, detector=(None, None, None)) -> dict:
    """One cell's lab probed by a registered detector (detector: (name, command template, format)
    as testbed.detectors.registry.get takes them; (None, None, None): uTNT) and scored."""
    cid, params = item
    from testbed.api import run as run_lab
    t0 = time.process_time()
    try:
        with _cell_lab(params, runtime) as lab:
            doc = run_lab(lab, runtime=runtime, seed=seed, name=lab.name, detector=detector[0],
                          detector_cmd=detector[1], fmt=detector[2])
    except Exception as e:                                   # a cell that cannot run is a finding
        return {"cell": cid, "params": params, "error": f"{type(e).__name__}: {e}"}
    sc = doc["score"]
    tags = {t: Counter() for t in TAGS}
    problems, limits, unexplained = [], [], []
    shared = set(lab.shared_routers())
    for s in sc["traces"]:
        # a trace that ended on scamper's loop through routers two domains share (back to back):
        # the hidden tunnels at that router are seen as one, or not at all
        looped = shared and not s["complete"] and s["stop_reason"] == "LOOP" and _repeats_at_end(doc, s)
        gapped = shared and not s["complete"] and s["stop_reason"] == "GAPLIMIT" and _silent_run(next(
            p for p in doc["truth"] if p["from"] == s["vantage_point"] and p["to"] == s["dst"])["paths"][
                s["path_index"] or 0]) >= GAP_LIMIT
        for v in s["verdicts"]:
            u, t = v["reported"], v["truth"]
            if u is not None and u.get("class") in tags:
                tags[u["class"]]["reported"] += 1
                tags[u["class"]]["true"] += t is not None
            if v["outcome"] == "correct":
                continue
            lim = _parts_limit(lab, v, t, u, s["vantage_point"],
                               [x["truth"] for x in s["verdicts"] if x["truth"] is not None],
                               [{lab.owner_of(a) for a in x["reported"].get("lsrs", []) if a} for x in s["verdicts"]
                                if x["truth"] is None and x["reported"]],
                               [x["reported"] for x in s["verdicts"] if x["reported"]])
            if lim is None and looped and t is not None and t.get("hidden") and {t["ingress"], t["egress"]} & shared:
                lim = "loop-stop"
            if lim is None and t is not None and v["outcome"] in ("missed", "partly") and \
                    all(x in PARTS for x in _parts(v)) and _unseen_shared(lab, doc, s, t):
                lim = "shared-router-unseen"
            # a limit the truth or a scripted trace explains, taken when no catalogue knob does (below)
            fallback = None
            ing_nf = (v["outcome"] == "missed" and v.get("cause") == "stop-ingress-not-found") or \
                (v["outcome"] == "partly" and _parts(v) == ["lsrs"] and (u or {}).get("stop_reason") == "ING-NF")
            if lim is not None or t is None:
                pass
            elif v["outcome"] == "missed" and gapped and \
                    not ({t["ingress"], *t["lsrs"], t["egress"]} - {s["vantage_point"]}) & _answered(lab, doc, s):
                fallback = "gap-limit"    # the trace's five silent hops came before any router of the tunnel answered
            elif shared and registry.get(runtime).in_process and v["outcome"] == "partly" and \
                    set(t["lsrs"]) & shared and \
                    _target_hides(lab, s["vantage_point"], v, t, u):
                fallback = "revelation-target-hides"
            elif t.get("hidden") and ing_nf and shared:
                if t["ingress"] != s["vantage_point"] and _ingress_hidden_toward(lab, s["vantage_point"], t):
                    fallback = "ingress-hidden-on-revelation"
                elif _ingress_answers_apart(lab, doc, s, t):
                    fallback = "ingress-address-ecmp"
            what = (f"{s['vantage_point']}->{s['dst']}: {v['verdict']}" + (f" [{v['cause']}]" if v.get("cause") else "")
                    + (f" [truth {t['class']} {t['ingress']}->{' '.join(t['lsrs'])}->{t['egress']}]" if t else "")
                    + (f" [uTNT {u['class']} {u.get('trigger')}]" if u else ""))
            if lim:
                limits.append(f"[{lim}] {what}")
            else:
                key = (s["vantage_point"], s["dst"], *((t["ingress"], t["egress"]) if t else
                                                      (None, (u or {}).get("class"))))
                unexplained.append((key, what, fallback))
        if not s["complete"]:
            path = next(p for p in doc["truth"] if p["from"] == s["vantage_point"] and p["to"] == s["dst"])
            silent_run = _silent_run(path["paths"][s["path_index"] or 0]) >= GAP_LIMIT
            what = f"{s['vantage_point']}->{s['dst']}: incomplete trace ({s['stop_reason']})"
            if silent_run and s["stop_reason"] == "GAPLIMIT":
                limits.append(f"[gap-limit] {what}")
            elif s["stop_reason"] == "LOOP" and _repeats_at_end(doc, s):
                limits.append(f"[loop-stop] {what}")
            else:
                problems.append(what)
        if s["off_path_hops"]:
            problems.append(f"{s['vantage_point']}->{s['dst']}: {s['off_path_hops']} hop(s) off every truth path")
    for u in sc["unmatched"]:
        problems.append(u["verdict"])
    if unexplained:
        # a miss in a cell with catalogue knobs: re-run the cell without them, one at a time
        # (then all together); the knob whose removal makes the verdict right is its cause
        why = _attribute(params, [k for k, _, _ in unexplained], runtime, seed, detector)
        for key, what, fallback in unexplained:
            if key not in why and fallback:
                limits.append(f"[{fallback}] {what}")
            elif key in why:
                knobs = "" if why[key] != "knobs" else " (" + ", ".join(
                    k for k in ATTRIBUTABLE if params.get(k, BEHAVIOUR_AXES[k]) != BEHAVIOUR_AXES[k]) + ")"
                limits.append(f"[{why[key]}] {what}{knobs}")
            else:
                problems.append(what)
    return {"cell": cid, "params": params, "detector": doc["detector"]["name"], "totals": sc["totals"], "per_class": sc["per_class"],
            "tags": {k: dict(v) for k, v in tags.items()}, "perfect": sc["perfect"], "problems": problems,
            "limits": limits, "cpu_seconds": round(time.process_time() - t0, 3)}


class _cell_lab:
    """The Lab of one cell; for a runtime that runs the lab in processes of its own (namespaces:
    the engine workers load the lab from its file) written to a lab file in a folder of its
    own, removed afterwards."""

    def __init__(self, params: dict, runtime: str):
        self.params, self.runtime, self.tmp = params, runtime, None

    def __enter__(self):
        from testbed.runtimes import registry
        lab = lab_for(self.params)
        if registry.get(self.runtime).in_process:
            return lab
        import tempfile
        from pathlib import Path

        from testbed.lab import load_lab
        self.tmp = tempfile.TemporaryDirectory(prefix="matrix-cell-")
        f = Path(self.tmp.name) / f"{lab.name}.yaml"
        f.write_text(lab_text(self.params))
        return load_lab(str(f))

    def __exit__(self, *exc):
        if self.tmp is not None:
            self.tmp.cleanup()


def _run_cell_star(args):
    return run_cell(*args)


# ---------------------------------------------------------------- the matrix
def run_matrix(grid: dict | None = None, seed: int = 0, limit: int | None = 1000, runtime: str = "sim",
               workers: int | None = 2, progress=None, scheduler=None, detector: str | None = None,
               detector_cmd: str | None = None, fmt: str | None = None) -> dict:
    """Every cell through the executor (testbed.experiments.pool): in this process
    (workers=1), over local processes, or on a Dask cluster (scheduler); the cells are
    independent and seeded, so the result is the same wherever they ran. Namespace labs run
    one at a time here (each is a lab brought up on this machine). Each cell is probed by the
    registered detector `detector` (uTNT by default) or a user's command template detector_cmd
    (namespaces only: it needs real packets); it is checked before any cell runs."""
    from testbed.experiments.pool import Executor, check_args
    from testbed.detectors.registry import check_detector
    check_args(workers, scheduler, runtime)
    det = check_detector(runtime, detector, None, detector_cmd, fmt)
    items = cells(grid, seed, limit)
    t0 = time.monotonic()
    jobs = [(it, runtime, seed, (detector, detector_cmd, fmt)) for it in items]
    from testbed.runtimes import registry
    if not registry.get(runtime).in_process or (len(jobs) <= 1 and scheduler is None):
        workers, scheduler = 1, None
    with Executor(workers=workers, scheduler=scheduler) as ex:
        results = ex.map(_run_cell_star, jobs, on_result=progress)
        kind, used = ex.kind, ex.workers
    return {"grid": grid or GRID, "grid_size": size(grid or GRID), "seed": seed, "runtime": runtime,
            "detector": _named(det.describe([]), results), "cells": results, "seconds": round(time.monotonic() - t0, 1),
            "workers": used, "executor": kind,
            "summary": summarize(results)}


def _named(desc: dict, results: list[dict]) -> dict:
    """The detector's description, named as its runs named it (a command's own output)."""
    names = {r["detector"] for r in results if r.get("detector")}
    return {**desc, "name": names.pop()} if len(names) == 1 else desc


def summarize(results: list[dict]) -> dict:
    per_class: dict[str, Counter] = {}
    tags = {t: Counter() for t in TAGS}
    totals = Counter()
    failing = []
    errors = []
    explained = Counter()
    for r in results:
        if "error" in r:
            errors.append({"cell": r["cell"], "error": r["error"]})
            continue
        totals.update({k: r["totals"][k] for k in COUNTS + TRACE_COUNTS})
        for cls, c in r["per_class"].items():
            pc = per_class.setdefault(cls, Counter())
            pc.update(c)
            pc["cells"] += 1
        for t, c in r["tags"].items():
            tags[t].update(c)
        if r["problems"]:
            failing.append({"cell": r["cell"], "problems": r["problems"]})
        for lim in r["limits"]:
            for name in lim[1:lim.index("]")].split("+"):
                explained[name] += 1
    rows = []
    for cls in sorted(per_class):
        c = per_class[cls]
        tag = CLASS_MAP.get(cls)
        tg = tags.get(tag, Counter())
        rows.append({"class": cls, "cells": c["cells"], "present": c["present"], "undetectable": c["undetectable"],
                     "detected": c["detected"], "class_correct": c["class_correct"],
                     "lsrs_found": c["lsrs_found"], "lsrs_present": c["lsrs_present"],
                     "flagged_not_revealed": c["flagged_not_revealed"],
                     "recall": round(c["detected"] / c["present"], 3) if c["present"] else None,
                     "tag": tag, "tag_reported": tg["reported"], "tag_true": tg["true"],
                     "precision": round(tg["true"] / tg["reported"], 3) if tg["reported"] else None})
    return {"cells": len(results), "perfect": sum(1 for r in results if r.get("perfect")),
            "failing": failing, "errors": errors, "per_class": rows, "totals": dict(totals),
            "explained": {k: {"count": v, "rule": LIMITS[k]} for k, v in explained.most_common()},
            "tags": {k: dict(v) for k, v in tags.items()}}


def to_markdown(summary: dict) -> str:
    out = ["| truth class | cells | tunnels | undetectable | detected | class ok | LSRs found | flagged, not revealed "
           "| recall | tag | tags true/reported | precision |", "|" + "---|" * 12]
    for r in summary["per_class"]:
        out.append(f"| {r['class']} | {r['cells']} | {r['present']} | {r['undetectable']} | {r['detected']} | "
                   f"{r['class_correct']} | {r['lsrs_found']}/{r['lsrs_present']} | {r['flagged_not_revealed']} | "
                   f"{r['recall'] if r['recall'] is not None else '-'} | {r['tag']} | "
                   f"{r['tag_true']}/{r['tag_reported']} | {r['precision'] if r['precision'] is not None else '-'} |")
    return "\n".join(out)


def write_json(doc: dict, path: str):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)


def parse_grid(sets: dict | None) -> dict:
    """--set axis=v1,v2 narrows an axis of GRID (values read like the grid's own)."""
    from testbed.errors import TestbedError
    grid = dict(GRID)
    for k, v in (sets or {}).items():
        if k not in GRID:
            raise TestbedError(f"--set {k}: no such matrix axis; choose one of {', '.join(GRID)}")
        raw = [x.strip() for x in str(v).split(",") if x.strip()]
        vals = []
        allowed = GRID[k] + OPT_IN.get(k, [])
        for x in raw:
            m = next((g for g in allowed if str(g).lower() == x.lower()), None)
            if m is None:
                raise TestbedError(f"--set {k}={x}: not a value of this axis; choose from "
                                   f"{', '.join(str(g) for g in allowed)}")
            vals.append(m)
        grid[k] = vals
    return grid


if __name__ == "__main__":          # python -m testbed.experiments.matrix N: a quick timing
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    d = run_matrix(limit=n)
    print(d["seconds"], to_markdown(d["summary"]))
