"""uTNT: revelation (tnt.md 4.2-4.4, 4.6) driven through a scripted fake network.

Each scenario is written from the router behaviours of tnt.md 2:

* Cisco default (PHP, LDP labels for every prefix, <255,255>): a trace to the egress's
  incoming interface reveals one LSR, the one just before it (BRPR, one trace per LSR);
* Juniper default (labels for loopbacks only, <255,64>): internal prefixes follow plain
  IGP, one trace to the egress shows every LSR (DPR);
* UHP (explicit null): the hidden egress pops a TTL-1 probe without decrementing it, the
  next router D answers twice (DUPIP); the hidden egress is D's buddy on their link.

Vantage point 11.0.0.1; R1 (TTL 1), ingress PE1 (TTL 2), hidden P1 P2 P3, egress PE2.
"""

import pytest

from utnt.model import Attempt, Hop
from utnt.options import TntOptions
from utnt.output import format_mpls
from utnt.reveal import Prober, Session, buddy_address, classify_technique, examine
from utnt.scripted import ScriptedProber, echo, star, te, trace_of, unreach
from utnt.tnt import run_tnt

R1, PE1, P1, P2, P3 = "11.0.1.2", "11.0.2.2", "11.0.3.2", "11.0.4.2", "11.0.5.2"
PE2, R2, DST, DST2 = "11.0.6.2", "11.0.7.2", "11.0.9.9", "11.0.8.8"
ICMP, UDP = "icmp-paris", "udp-paris"
CISCO_PINGS = {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, PE2: 250, R2: 249, DST: 60}


def tags(tr):
    return [(h.label, h.address, format_mpls(h.mpls) if h.mpls else None) for h in tr.hops]


def summary(t):
    return (t.cls, t.ingress, t.egress, t.lsrs, t.trigger, t.technique, t.complete,
            t.stop_reason, t.steps)


def prober(*traces, pings=CISCO_PINGS):
    p = ScriptedProber(pings=pings)
    for tr in traces:
        p.add(tr)
    return p


def base_php(**kw):
    """PE2 at TTL 3 answers 250 (R_TE 6, FRPLA 3); R2 at TTL 4 answers 249 (FRPLA 3 too)."""
    return trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), te(R2, 249), echo(DST, 60)],
                    **kw)


def test_scripted_prober_is_a_prober():
    assert isinstance(ScriptedProber(), Prober)


# =============================================================================================
# BRPR / DPR
# =============================================================================================

def test_cisco_invisible_php_frpla_brpr_one_lsr_per_trace():
    p = prober(
        base_php(),
        # PHP for the P3-PE2 link prefix happens at P2, so P3 shows; and so on backwards
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
        trace_of(P3, [te(R1, 255), te(PE1, 254), te(P2, 252), echo(P3, 251)]),
        trace_of(P2, [te(R1, 255), te(PE1, 254), te(P1, 253), echo(P2, 252)]),
        trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,INV,ING,FRPLA]"),
        ("H1", P1, "[MPLS,INV,LSR,FRPLA,BRPR,step=3]"),
        ("H2", P2, "[MPLS,INV,LSR,FRPLA,BRPR,step=2]"),
        ("H3", P3, "[MPLS,INV,LSR,FRPLA,BRPR,step=1]"),
        ("3", PE2, "[MPLS,INV,EGR,FRPLA]"),
        ("4", R2, None),
        ("5", DST, None)]
    # revelation traces start at PE1's TTL - 2 floored at 1; R2's FRPLA test is never run
    assert p.trace_calls == [(DST, 1, ICMP), (PE2, 1, ICMP), (P3, 1, ICMP), (P2, 1, ICMP),
                             (P1, 1, ICMP)]
    assert p.ping_calls == [R1, PE1, PE2, R2, DST, P1, P2, P3]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [P1, P2, P3], "FRPLA", "BRPR", True, "NTH-RV", 3)
    # TNT prints the stop reason on the revealed hop nearest the ingress
    assert tr.hops[2].attempts == [Attempt("FRPLA", "NTH-RV", False)]
    assert (t.start_point, t.next_hop, t.ingress_null, t.buddy, t.cached) == (
        PE1, PE2, False, False, False)
    # probes: estimated 1 per answering hop (4 + 4 + 4 + 3), one ping per address
    assert (tr.probe_count, tr.ping_probes, tr.reveal_probes, tr.total_probes) == (5, 8, 15, 28)
    assert t.probe_count == 15
    assert [h.tnt_ttl for h in tr.hops] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [h.probe_ttl for h in tr.hops] == [1, 2, 3, 3, 3, 3, 4, 5]
    assert tr.hops[6].frpla == 3 and tr.hops[6].attempts == []


def juniper_pings(**kw):
    # Juniper <255,64>; on the unlabelled revelation path P_k at TTL k+2 answers 255-(k+1)
    # and its echo-reply 64-(k+1): RTLA 0
    return {R1: 255, PE1: 254, PE2: 62, DST: 60, P1: 62, P2: 61, P3: 60, **kw}


def test_juniper_rtla_dpr_reveals_all_lsrs_in_one_trace():
    p = prober(
        trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)], probe_count=4),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252), te(P3, 251),
                       echo(PE2, 59)], probe_count=7),
        trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 62)], probe_count=3),
        pings=juniper_pings())
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,INV,ING,RTLA]"),
        ("H1", P1, "[MPLS,INV,LSR,RTLA,DPR,step=1]"),
        ("H2", P2, "[MPLS,INV,LSR,RTLA,DPR,step=1]"),
        ("H3", P3, "[MPLS,INV,LSR,RTLA,DPR,step=1]"),
        ("3", PE2, "[MPLS,INV,EGR,RTLA]"),
        ("4", DST, None)]
    pe2 = tr.hops[5]
    assert (pe2.rtla, pe2.frpla, pe2.uturn) == (3, 3, 3)
    assert [h.rtla for h in tr.hops[2:5]] == [0, 0, 0]
    # DPR: one revealing trace plus one empty trace
    assert p.trace_calls == [(DST, 1, ICMP), (PE2, 1, ICMP), (P1, 1, ICMP)]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [P1, P2, P3], "RTLA", "DPR", True, "NTH-RV", 1)
    assert (tr.probe_count, tr.reveal_probes, t.probe_count) == (4, 10, 10)


def test_rtla_nothing_revealed_attempt_cached_and_no_uturn():
    p = prober(
        trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)]),
        trace_of(DST2, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST2, 60)]),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), echo(PE2, 59)]),
        pings=juniper_pings(**{DST2: 60}))
    tr1, tr2 = run_tnt(p, [DST, DST2])
    for tr in (tr1, tr2):
        assert [h.mpls for h in tr.hops] == [None] * 4
        # u-turn 3 equals RTLA: no UTURN tunnel either
        assert tr.hops[2].uturn == 3 and tr.tunnels == []
        assert tr.hops[2].attempts == [Attempt("RTLA", "NTH-RV", False)]
    # the failed (PE1, PE2) test is cached: traced once for both destinations
    assert p.trace_calls == [(DST, 1, ICMP), (PE2, 1, ICMP), (DST2, 1, ICMP)]
    assert (tr1.reveal_probes, tr2.reveal_probes) == (3, 0)
    assert p.ping_calls == [R1, PE1, PE2, DST, DST2]


def test_tunnel_cache_shared_across_traces():
    p = prober(
        trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)]),
        trace_of(DST2, [te(R1, 255), te(PE1, 254), te(PE2, 250), te(R2, 249), echo(DST2, 59)]),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252), te(P3, 251),
                       echo(PE2, 59)]),
        trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 62)]),
        pings=juniper_pings(**{R2: 61, DST2: 59}))
    tr1, tr2 = run_tnt(p, [DST, DST2])
    assert p.trace_calls == [(DST, 1, ICMP), (PE2, 1, ICMP), (P1, 1, ICMP), (DST2, 1, ICMP)]
    assert [x[2] for x in tags(tr2)] == [x[2] for x in tags(tr1)][:6] + [None, None]
    assert [h.address for h in tr2.hops] == [R1, PE1, P1, P2, P3, PE2, R2, DST2]
    (t1,), (t2,) = tr1.tunnels, tr2.tunnels
    assert summary(t2) == summary(t1)
    assert (t1.cached, t1.probe_count, t2.cached, t2.probe_count) == (False, 9, True, 0)
    assert tr2.reveal_probes == 0
    # every address pinged once over the whole run
    assert sorted(p.ping_calls) == sorted(set(p.ping_calls))
    assert tr2.ping_probes == 2            # only R2 and DST2 were new


# =============================================================================================
# opaque
# =============================================================================================

def base_opaque():
    return trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250, 1, [(16, 0, 1, 252)]),
                          echo(DST, 60)])


def test_opaque_mttl_reveals_hidden_lsrs():
    p = prober(base_opaque(),
               trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252), te(P3, 251),
                              echo(PE2, 250)]),
               trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,OPA,ING,MTTL]"),
        ("H1", P1, "[MPLS,OPA,LSR,MTTL,DPR,step=1]"),
        ("H2", P2, "[MPLS,OPA,LSR,MTTL,DPR,step=1]"),
        ("H3", P3, "[MPLS,OPA,LSR,MTTL,DPR,step=1]"),
        ("3", PE2, "[MPLS,OPA,EGR,MTTL]"),
        ("4", DST, None)]
    (t,) = tr.tunnels
    assert summary(t) == ("OPA", PE1, PE2, [P1, P2, P3], "MTTL", "DPR", True, "NTH-RV", 1)
    assert t.estimated_length == len(t.lsrs) == 3


def test_opaque_nothing_revealed_keeps_opaque_tags():
    p = prober(base_opaque(), trace_of(PE2, [te(R1, 255), te(PE1, 254), echo(PE2, 250)]))
    (tr,) = run_tnt(p, [DST])
    assert [x[2] for x in tags(tr)] == [None, "[MPLS,OPA,ING,MTTL]", "[MPLS,OPA,EGR,MTTL]", None]
    (t,) = tr.tunnels
    assert summary(t) == ("OPA", PE1, PE2, [], "MTTL", None, False, "NTH-RV", 0)
    assert tr.hops[2].attempts == [Attempt("MTTL", "NTH-RV", False)]


def test_silent_hop_revealed_in_an_opaque_tunnel_is_numbered_like_sc_tnt():
    """sc_tnt prints a silent hop as H<n> only inside an invisible tunnel's H numbering; the
    silent LSR an opaque tunnel's revelation finds is printed with the next number and the
    hops after it move up by one (seen against the original TNT: a silent LSR under an
    opaque LSP). The ingress alone carries INCOMP? (the new target did not answer)."""
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250, 1, [(16, 0, 1, 254)]), echo(DST, 60)])
    rev = trace_of(PE2, [te(R1, 255), te(PE1, 254), star(), echo(PE2, 250)])
    (tr,) = run_tnt(prober(base, rev), [DST])
    assert [(h.label, h.address, h.revealed) for h in tr.hops] == [
        ("1", R1, False), ("2", PE1, False), ("3", None, True), ("4", PE2, False), ("5", DST, False)]
    assert [x[2] for x in tags(tr)] == [None, "[MPLS,OPA,ING,INCOMP?,MTTL]", "[MPLS,OPA,LSR,MTTL,UNKN,step=1]",
                                       "[MPLS,OPA,EGR,MTTL]", None]
    # the same silent hop in an invisible tunnel's revelation stays H1
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 248), te(R2, 247), echo(DST, 60)])
    rev = trace_of(PE2, [te(R1, 255), te(PE1, 254), star(), echo(PE2, 248)])
    (tr,) = run_tnt(prober(base, rev, pings={**CISCO_PINGS, PE2: 248, R2: 247}), [DST])
    assert [h.label for h in tr.hops] == ["1", "2", "H1", "3", "4", "5"]


def test_two_hop_trace_identifies_no_tunnel_as_sc_tnt_skips_it():
    """sc_tnt's "enough nodes" check (hop_count - firsthop < 2) skips identification,
    revelation and u-turns on a trace of fewer than three hops: a router vantage point one
    hop from an opaque egress that is also the destination gets its pings and no tunnel
    (seen against the original TNT on a matrix cell, pe1 -> pe2's loopback)."""
    short = trace_of(PE2, [te(P3, 251, 1, [(16, 0, 1, 249)]), echo(PE2, 250)])
    (tr,) = run_tnt(prober(short), [PE2])
    assert tags(tr) == [("1", P3, None), ("2", PE2, None)] and tr.tunnels == []
    assert [h.er_ttl for h in tr.hops] == [251, 250]
    # one hop more and the same opaque reply is a tunnel with its MTTL test
    longer = trace_of(PE2, [te(R1, 255), te(P3, 251, 1, [(16, 0, 1, 249)]), echo(PE2, 250)])
    (tr,) = run_tnt(prober(longer, trace_of(P3, [te(R1, 255), echo(P3, 251)])), [PE2])
    assert [(t.cls, t.ingress, t.egress) for t in tr.tunnels] == [("OPA", R1, P3)]


# =============================================================================================
# DUPIP and the buddy technique
# =============================================================================================

def test_buddy_arithmetic():
    asked = []

    def answers(yes):
        def f(a):
            asked.append(a)
            return yes
        return f
    # positions 0 and 3: the link must be a /31, no ping
    assert buddy_address("11.0.34.0", answers(False)) == "11.0.34.1"
    assert buddy_address("11.0.34.3", answers(True)) == "11.0.34.2"
    assert asked == []
    # positions 1 and 2: ping position 0; an answer means /31
    assert buddy_address("11.0.34.1", answers(True)) == "11.0.34.0"
    assert buddy_address("11.0.34.2", answers(True)) == "11.0.34.3"
    assert buddy_address("11.0.34.1", answers(False)) == "11.0.34.2"
    assert buddy_address("11.0.34.2", answers(False)) == "11.0.34.1"
    assert buddy_address("11.0.34.6", answers(False)) == "11.0.34.5"
    assert buddy_address("11.0.34.253", answers(True)) == "11.0.34.252"
    assert asked == ["11.0.34.0"] * 4 + ["11.0.34.4", "11.0.34.252"]


D, D_BUDDY, D_NET = "11.0.34.2", "11.0.34.1", "11.0.34.0"
# the hidden UHP egress E: D_BUDDY is its address on the E-D link (a /30 here), E_UP its
# address toward the prober (on the P3-E /30 11.0.33.0), E_UP_BUDDY P3's end of that link
E_UP, E_UP_BUDDY, E_UP_NET = "11.0.33.2", "11.0.33.1", "11.0.33.0"


def base_uhp():
    # D (behind the hidden UHP egress) answers probe TTLs 3 and 4; 250 = R_TE 6
    return trace_of(DST, [te(R1, 255), te(PE1, 254), te(D, 250), te(D, 250), echo(DST, 59)])


def uhp_pings(**kw):
    return {R1: 255, PE1: 254, D: 250, DST: 59, D_NET: None, D_BUDDY: 251, E_UP: 251,
            E_UP_NET: None, **kw}


def test_dupip_buddy_slash30_reveals_hidden_uhp_egress():
    """TNT's acceptance rule (tnt.md 4.4, sc_tnt.c 3032-3050): the egress answers the UDP
    probe to its far-side address D_BUDDY from its interface toward the prober (RFC 1812
    4.3.2.4); that source, E_UP, is the revealed egress (BUDDY).  The direct trace to E_UP
    then reveals nothing, so TNT tries E_UP's buddy; P3 answers that one from the probed
    address itself, which reveals nothing: the test ends there, NTH-RV with BUD."""
    p = prober(
        base_uhp(),
        # the egress pops and hands D a TTL-1 probe addressed to D: D answers at TTL 3
        trace_of(D, [te(R1, 255), te(PE1, 254), echo(D, 250)]),
        trace_of(D_BUDDY, [te(R1, 255), te(PE1, 254), unreach(E_UP, 251)], method=UDP),
        trace_of(E_UP, [te(R1, 255), te(PE1, 254), echo(E_UP, 251)]),
        trace_of(E_UP_BUDDY, [te(R1, 255), te(PE1, 254), unreach(E_UP_BUDDY, 252)], method=UDP),
        pings=uhp_pings())
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,INV,ING,DUPIP]"),
        ("H1", E_UP, "[MPLS,INV,EGR,DUPIP,BUDDY,step=1]"),
        ("3", D, None),
        ("4", D, None),
        ("5", DST, None)]
    assert p.trace_calls == [(DST, 1, ICMP), (D, 1, ICMP), (D_BUDDY, 1, UDP), (E_UP, 1, ICMP),
                             (E_UP_BUDDY, 1, UDP)]
    # .0 of both /30s pinged once each (silent: /30), then the revealed egress for its rTTL
    assert p.ping_calls == [R1, PE1, D, DST, D_NET, E_UP_NET, E_UP]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, E_UP, [], "DUPIP", "BUDDY", True, "NTH-RV", 1)
    assert (t.buddy, t.next_hop) == (True, D)
    assert tr.hops[2].attempts == [Attempt("DUPIP", "NTH-RV", True)]
    # 3 (trace to D) + 1 (ping .0) + 3 (buddy trace) + 3 (trace to E_UP) + 1 + 3
    assert (tr.reveal_probes, tr.ping_probes) == (14, 5)


def test_dupip_buddy_recursion_reveals_the_lsrs_one_buddy_trace_each():
    """Every empty direct trace of a DUPIP test goes back to the buddy of the current target
    (sc_tnt.c sc_tunnel_test_state_update -> buddy_state_update): E, then P3 (the source of
    the port-unreachable to E_UP's buddy), ... each revealed with BUDDY."""
    p3_up = "11.0.32.2"                  # P3's address toward the prober
    p = prober(
        base_uhp(),
        trace_of(D, [te(R1, 255), te(PE1, 254), echo(D, 250)]),
        trace_of(D_BUDDY, [te(R1, 255), te(PE1, 254), unreach(E_UP, 251)], method=UDP),
        trace_of(E_UP, [te(R1, 255), te(PE1, 254), echo(E_UP, 251)]),
        trace_of(E_UP_BUDDY, [te(R1, 255), te(PE1, 254), unreach(p3_up, 252)], method=UDP),
        trace_of(p3_up, [te(R1, 255), te(PE1, 254), echo(p3_up, 252)]),
        # P3's buddy is PE1 itself: its port-unreachable comes from the start point
        trace_of("11.0.32.1", [te(R1, 255), unreach(PE1, 254)], method=UDP),
        pings=uhp_pings(**{p3_up: 252, "11.0.32.0": None}))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr)[1:5] == [
        ("2", PE1, "[MPLS,INV,ING,DUPIP]"),
        ("H1", p3_up, "[MPLS,INV,LSR,DUPIP,BUDDY,step=2]"),
        ("H2", E_UP, "[MPLS,INV,EGR,DUPIP,BUDDY,step=1]"),
        ("3", D, None)]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, E_UP, [p3_up], "DUPIP", "BUDDY", True, "NTH-RV", 2)
    assert tr.hops[2].attempts == [Attempt("DUPIP", "NTH-RV", True)]


def test_dupip_buddy_slash31_with_silent_ingress():
    r0 = "11.0.0.254"
    d, buddy, e_up = "11.0.35.3", "11.0.35.2", "11.0.36.1"   # position 3: /31, buddy at 2, no ping
    p = prober(
        trace_of(DST, [te(r0, 255), te(R1, 254), star(), te(d, 250), te(d, 250), echo(DST, 59)]),
        trace_of(d, [te(r0, 255), te(R1, 254), star(), echo(d, 250)]),
        # start point R1 third-to-last: the ingress is silent
        trace_of(buddy, [te(r0, 255), te(R1, 254), star(), unreach(e_up, 251)], method=UDP),
        trace_of(e_up, [te(r0, 255), te(R1, 254), star(), echo(e_up, 251)]),
        # position 1 of 11.0.36.0/30: .0 answers, so the link is a /31 and the buddy is .0
        trace_of("11.0.36.0", [te(r0, 255), te(R1, 254), star(), unreach("11.0.36.0", 252)],
                 method=UDP),
        pings={r0: 255, R1: 254, d: 250, DST: 59, e_up: 251, "11.0.36.0": 252})
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", r0, None), ("2", R1, None),
        ("3", None, None),
        ("H1", e_up, "[MPLS,INV,EGR,DUPIP,BUDDY,step=1]"),
        ("4", d, None), ("5", d, None), ("6", DST, None)]
    assert p.ping_calls == [r0, R1, d, DST, "11.0.36.0", e_up]
    (t,) = tr.tunnels
    assert (t.ingress, t.ingress_null, t.start_point, t.egress) == (None, True, R1, e_up)


def test_buddy_trace_needs_three_hops_as_tnt_counts_them():
    """sc_tnt.c 3014-3030 compares hop_count - firsthop with 2 (3 with a silent ingress): a
    buddy trace whose start point answers at its first TTL has too few hops (ING-NF)."""
    d, buddy = "11.0.35.3", "11.0.35.2"
    p = prober(
        trace_of(DST, [te(R1, 255), star(), te(d, 250), te(d, 250), echo(DST, 59)]),
        trace_of(d, [te(R1, 255), star(), echo(d, 250)]),
        trace_of(buddy, [te(R1, 255), star(), unreach("11.0.36.1", 251)], method=UDP),
        pings={R1: 255, d: 250, DST: 59})
    (tr,) = run_tnt(p, [DST])
    assert tr.tunnels == [] and tr.hops[2].attempts == [Attempt("DUPIP", "ING-NF", True)]


@pytest.mark.parametrize("buddy_trace, reason", [
    # never reaches the buddy
    ([te(R1, 255), te(PE1, 254), star(), star()], "TGT-NR"),
    # ends at the buddy but not with a port-unreachable (host unreachable, code 1)
    ([te(R1, 255), te(PE1, 254), unreach(D_BUDDY, 251, code=1)], "TGT-NR"),
    # the start point is not second-to-last
    ([te(R1, 255), te(PE1, 254), te(P3, 251), unreach(E_UP, 250)], "ING-NF"),
    # the port-unreachable comes from the probed buddy (a router answering from the probed
    # address, as Linux does): "no public node was revealed"
    ([te(R1, 255), te(PE1, 254), unreach(D_BUDDY, 251)], "NTH-RV"),
    # ... or from the duplicated address
    ([te(R1, 255), te(PE1, 254), unreach(D, 251)], "NTH-RV"),
])
def test_dupip_buddy_failures(buddy_trace, reason):
    p = prober(base_uhp(), trace_of(D, [te(R1, 255), te(PE1, 254), echo(D, 250)]),
               trace_of(D_BUDDY, buddy_trace, method=UDP), pings=uhp_pings())
    (tr,) = run_tnt(p, [DST])
    assert all(h.mpls is None for h in tr.hops) and tr.tunnels == []
    # TNT annotates the first copy of the duplicated address (sc_trace_tunnel_fail_mflags_set)
    assert tr.hops[2].attempts == [Attempt("DUPIP", reason, True)]
    assert tr.hops[3].attempts == []


def test_dupip_direct_trace_reveals_egress_as_last_hop():
    e = D_BUDDY
    p = prober(
        base_uhp(),
        # internal prefixes not labelled: the direct trace to D shows everything
        trace_of(D, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252), te(e, 251),
                     echo(D, 250)]),
        trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]),
        # the empty trace to P1 sends TNT to P1's buddy (position 2 of a /30: .1), which is
        # PE1 itself: the port-unreachable from the start point reveals nothing
        trace_of("11.0.3.1", [te(R1, 255), unreach(PE1, 254)], method=UDP),
        pings=uhp_pings(**{P1: 253, P2: 252, "11.0.3.0": None}))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,INV,ING,DUPIP]"),
        ("H1", P1, "[MPLS,INV,LSR,DUPIP,DPR,step=1]"),
        ("H2", P2, "[MPLS,INV,LSR,DUPIP,DPR,step=1]"),
        ("H3", e, "[MPLS,INV,EGR,DUPIP,DPR,step=1]"),
        ("3", D, None), ("4", D, None), ("5", DST, None)]
    assert D_NET not in p.ping_calls and tr.hops[2].attempts == [Attempt("DUPIP", "NTH-RV", True)]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, e, [P1, P2], "DUPIP", "DPR", True, "NTH-RV", 1)
    assert t.buddy is True


# =============================================================================================
# unresponsive ingress
# =============================================================================================

def test_silent_ingress_start_point_is_the_hop_before():
    p = prober(
        trace_of(DST, [te(R1, 255), star(), te(PE2, 250), echo(DST, 60)]),
        trace_of(PE2, [te(R1, 255), star(), te(P1, 253), te(P2, 252), te(P3, 251),
                       echo(PE2, 250)]),
        trace_of(P1, [te(R1, 255), star(), echo(P1, 253)]))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr) == [
        ("1", R1, None), ("2", None, None),
        ("H1", P1, "[MPLS,INV,LSR,FRPLA,DPR,step=1]"),
        ("H2", P2, "[MPLS,INV,LSR,FRPLA,DPR,step=1]"),
        ("H3", P3, "[MPLS,INV,LSR,FRPLA,DPR,step=1]"),
        ("3", PE2, "[MPLS,INV,EGR,FRPLA]"), ("4", DST, None)]
    (t,) = tr.tunnels
    assert (t.ingress, t.ingress_null, t.start_point, t.complete) == (None, True, R1, True)


# =============================================================================================
# stop rules
# =============================================================================================

def test_loop_stops_incomplete():
    p = prober(
        base_php(),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
        trace_of(P3, [te(R1, 255), te(PE1, 254), te(P2, 252), echo(P3, 251)]),
        # route change: P3 shows up again before P2
        trace_of(P2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(P2, 252)]))
    (tr,) = run_tnt(p, [DST])
    # TNT adds the looping trace's hop too, then stops (its target is already in the LSP)
    assert tags(tr)[1:7] == [
        ("2", PE1, "[MPLS,INV,ING,INCOMP?,FRPLA]"),
        ("H1", P3, "[MPLS,INV,LSR,FRPLA,BRPR,step=3]"),
        ("H2", P2, "[MPLS,INV,LSR,FRPLA,BRPR,step=2]"),
        ("H3", P3, "[MPLS,INV,LSR,FRPLA,BRPR,step=1]"),
        ("3", PE2, "[MPLS,INV,EGR,FRPLA]"),
        ("4", R2, None)]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [P3, P2, P3], "FRPLA", "BRPR", False, "LOOP", 3)
    assert all(h.attempts == [] for h in tr.hops)     # no stop reason is printed for a loop
    assert len(p.trace_calls) == 4


def test_silent_new_target_stops_incomplete():
    p = prober(
        base_php(),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
        trace_of(P3, [te(R1, 255), te(PE1, 254), star(), echo(P3, 251)]))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr)[2:4] == [("H1", None, "[MPLS,INV,LSR,FRPLA,BRPR,step=2]"),
                             ("H2", P3, "[MPLS,INV,LSR,FRPLA,BRPR,step=1]")]
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [None, P3], "FRPLA", "BRPR", False, "UNRESP", 2)
    assert len(p.trace_calls) == 3


def test_reserved_new_target_stops_incomplete_and_single_lsr_is_unkn():
    rsv = "10.0.5.2"
    p = prober(
        base_php(),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(rsv, 251), echo(PE2, 250)]))
    (tr,) = run_tnt(p, [DST])
    h1 = tr.hops[2]
    assert tags(tr)[2] == ("H1", rsv, "[MPLS,INV,LSR,FRPLA,UNKN,step=1]")
    assert (h1.reserved, h1.er_ttl) == (True, None) and rsv not in p.ping_calls
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [rsv], "FRPLA", "UNKN", False, "RSVD", 1)
    assert len(p.trace_calls) == 2


def test_target_not_reached_then_next_candidate_is_tried():
    p = prober(
        base_php(),
        # gap limit: 5 silent hops after PE1
        trace_of(PE2, [te(R1, 255), te(PE1, 254)] + [star()] * 5),
        # second candidate: R2 (FRPLA 3) with start point PE2 (TTL 3 - 2 = 1)
        trace_of(R2, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(R2, 249)]))
    (tr,) = run_tnt(p, [DST])
    assert all(h.mpls is None for h in tr.hops) and tr.tunnels == []
    assert tr.hops[2].attempts == [Attempt("FRPLA", "TGT-NR", False)]
    assert tr.hops[3].attempts == [Attempt("FRPLA", "NTH-RV", False)]
    assert p.trace_calls == [(DST, 1, ICMP), (PE2, 1, ICMP), (R2, 1, ICMP)]
    assert tr.reveal_probes == (2 + 5 * 3) + 4


def test_target_not_reached_after_a_step_is_incomplete():
    p = prober(
        base_php(),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
        trace_of(P3, [te(R1, 255), te(PE1, 254)] + [star()] * 5))
    (tr,) = run_tnt(p, [DST])
    assert tags(tr)[2] == ("H1", P3, "[MPLS,INV,LSR,FRPLA,UNKN,step=1]")
    (t,) = tr.tunnels
    assert summary(t) == ("INV", PE1, PE2, [P3], "FRPLA", "UNKN", False, "TGT-NR", 1)
    assert tr.hops[5].attempts == []


def test_ingress_not_found():
    other = "11.0.12.2"
    p = prober(
        trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)]),
        trace_of(PE2, [te(R1, 255), te(other, 254), te(P1, 253), echo(PE2, 59)]),
        pings=juniper_pings())
    (tr,) = run_tnt(p, [DST])
    assert tr.tunnels == [] and tr.hops[2].attempts == [Attempt("RTLA", "ING-NF", False)]


def test_brute_force_btfc_and_unkn():
    p = prober(
        trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 253), echo(DST, 60)]),
        trace_of(PE1, [te(R1, 255), echo(PE1, 254)]),
        trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), echo(PE2, 253)]),
        trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]),
        pings={R1: 255, PE1: 254, PE2: 253, P1: 253, DST: 60})
    (tr,) = run_tnt(p, [DST], TntOptions(brute_force=True))
    assert tags(tr) == [
        ("1", R1, None),
        ("2", PE1, "[MPLS,INV,ING,BTFC]"),
        ("H1", P1, "[MPLS,INV,LSR,BTFC,UNKN,step=1]"),
        ("3", PE2, "[MPLS,INV,EGR,BTFC]"),
        ("4", DST, None)]
    # a brute-force test that revealed nothing prints no trigger: (ATTEMPT,NTH-RV)
    assert tr.hops[1].attempts == [Attempt(None, "NTH-RV", False)]
    assert p.trace_calls == [(DST, 1, ICMP), (PE1, 1, ICMP), (PE2, 1, ICMP), (P1, 1, ICMP)]
    # without -b nothing fires and nothing is traced
    p2 = prober(trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 253), echo(DST, 60)]),
                pings={R1: 255, PE1: 254, PE2: 253, DST: 60})
    (tr2,) = run_tnt(p2, [DST])
    assert tr2.tunnels == [] and p2.trace_calls == [(DST, 1, ICMP)]


# =============================================================================================
# reserved addresses, options, u-turn after revelation
# =============================================================================================

def test_reserved_hops_not_pinged_not_candidates_unless_allowed():
    rsv = "10.0.6.2"
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(rsv, 250), echo(DST, 60)])
    p = prober(base, pings={R1: 255, PE1: 254, rsv: 250, DST: 60})
    (tr,) = run_tnt(p, [DST])
    assert rsv not in p.ping_calls and tr.hops[2].reserved and tr.hops[2].er_ttl is None
    assert p.trace_calls == [(DST, 1, ICMP)] and tr.tunnels == []

    p = prober(base, trace_of(rsv, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252),
                                    echo(rsv, 251)]),
               trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]),
               pings={R1: 255, PE1: 254, rsv: 250, DST: 60, P1: 253, P2: 252})
    (tr,) = run_tnt(p, [DST], TntOptions(allow_private=True))
    assert rsv in p.ping_calls and not tr.hops[4].reserved and tr.hops[4].er_ttl == 250
    assert summary(tr.tunnels[0]) == ("INV", PE1, rsv, [P1, P2], "FRPLA", "DPR", True, "NTH-RV", 1)


def test_start_ttl_method_and_ping_count_options():
    x, a, b, c = "11.0.14.2", "11.0.15.2", "11.0.16.2", "11.0.17.2"
    p = prober(
        # base trace from TTL 5 with UDP probes; C at TTL 7 answers 246: FRPLA 3
        trace_of(DST, [te(a, 251), te(b, 250), te(c, 246), unreach(DST, 58)], first_ttl=5,
                 method=UDP),
        # revelation traces from B's TTL 6 - 2 = 4, same method
        trace_of(c, [te(x, 252), te(a, 251), te(b, 250), te(P1, 249), unreach(c, 246)],
                 first_ttl=4, method=UDP),
        trace_of(P1, [te(x, 252), te(a, 251), te(b, 250), unreach(P1, 249)], first_ttl=4,
                 method=UDP),
        pings={a: 251, b: 250, c: 246, DST: 58, P1: 249})
    (tr,) = run_tnt(p, [DST], TntOptions(method=UDP, start_ttl=5, ping_count=3))
    assert p.trace_calls == [(DST, 5, UDP), (c, 4, UDP), (P1, 4, UDP)]
    assert tags(tr) == [("5", a, None), ("6", b, "[MPLS,INV,ING,FRPLA]"),
                        ("H1", P1, "[MPLS,INV,LSR,FRPLA,UNKN,step=1]"),
                        ("7", c, "[MPLS,INV,EGR,FRPLA]"), ("8", DST, None)]
    assert [h.tnt_ttl for h in tr.hops] == [5, 6, 7, 8, 9]
    assert tr.ping_probes == 5 * 3


def test_uturn_is_evaluated_after_revelation():
    # PE2's echo-reply comes back on a short path (R_ER 2), its time-exceeded through the
    # return tunnel (R_TE 6): u-turn 4 on a Cisco <255,255> router, FRPLA 3
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)])
    pings = {**CISCO_PINGS, PE2: 254}
    p = prober(base, trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), te(P2, 252),
                                    echo(PE2, 251)]),
               trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)]), pings=pings)
    (tr,) = run_tnt(p, [DST])
    assert tr.hops[4].uturn == 4
    # the u-turn run (PE2) stops at the revealed hops behind it, so there is no ingress;
    # TNT keeps PE2's FRPLA flag and adds UTURN, and the destination ends the run (EGR);
    # read as TNT's tags are read, PE2 is no egress any more (an LSR): one tunnel PE1 -> DST
    # whose LSRs have two classes (it was listed as two tunnels, which no reading of the tags gives)
    assert [t.cls for t in tr.tunnels] == ["HET"]
    assert [x[2] for x in tags(tr)] == [None, "[MPLS,INV,ING,FRPLA]",
                                        "[MPLS,INV,LSR,FRPLA,DPR,step=1]",
                                        "[MPLS,INV,LSR,FRPLA,DPR,step=1]",
                                        "[MPLS,IMP,LSR,FRPLA,UTURN]", "[MPLS,IMP,EGR,UTURN]"]
    # when revelation reveals nothing, the same u-turn makes an implicit tunnel
    p = prober(base, trace_of(PE2, [te(R1, 255), te(PE1, 254), echo(PE2, 251)]), pings=pings)
    (tr,) = run_tnt(p, [DST])
    assert [x[2] for x in tags(tr)] == [None, "[MPLS,IMP,ING,UTURN]", "[MPLS,IMP,LSR,UTURN]",
                                        "[MPLS,IMP,EGR,UTURN]"]
    assert tr.hops[2].attempts == [Attempt("FRPLA", "NTH-RV", False)]
    assert summary(tr.tunnels[0]) == ("IMP", PE1, DST, [PE2], "UTURN", None, True, None, 0)


def test_run_tnt_rejects_bad_destination_and_mismatched_options():
    p = prober()
    with pytest.raises(ValueError):
        run_tnt(p, ["not-an-ip"])
    s = Session(p, TntOptions())
    with pytest.raises(ValueError):
        run_tnt(p, [], TntOptions(brute_force=True), session=s)


# =============================================================================================
# pure pieces
# =============================================================================================

def _h(addr, ttl=3):
    return Hop(index=ttl, address=addr, probe_ttl=ttl)


def test_classify_technique():
    assert classify_technique([_h(P1)]) == "BRPR"
    assert classify_technique([_h(P1), _h(P2)]) == "DPR"
    assert classify_technique([_h(P1), _h(P1)]) == "BRPR"
    assert classify_technique([Hop.silent(3), Hop.silent(4)]) == "DPR"
    assert classify_technique([_h(P1), _h(P2), _h(P3)]) == "DPR"


def test_examine_revelation_trace():
    tr = trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P1, 253), echo(PE2, 250)])
    assert [h.address for h in examine(tr, PE1, PE2, False)] == [P1]
    assert [h.address for h in examine(tr, R1, PE2, True)] == [P1]      # PE1 = silent ingress
    assert examine(trace_of(P1, [te(R1, 255), star(), echo(P1, 253)]), R1, P1, True) == []
    assert examine(tr, P2, PE2, False) == "ING-NF"
    assert examine(tr, PE1, P3, False) == "TGT-NR"
    assert examine(tr, P1, PE1, False) == "TGT-NR"                    # target not the last hop
    # TNT checks the target (last hop) before the start point
    assert examine(tr, P2, P3, False) == "TGT-NR"


def test_revelation_adds_its_flags_to_an_explicit_egress():
    """sc_tnt.c sc_tnt_test_tunnel_add: the start point and H get the test's trigger, class
    and role OR-ed into the flags they have; an explicit tunnel's egress X that starts an
    invisible one is both ([MPLS,EXP,INV,EGR,ING,FRPLA]) and the two tunnels stay apart.
    uTNT used to leave a hop tagged by an earlier tunnel as it was."""
    lx, x = "11.0.20.2", "11.0.21.2"
    pings = {**CISCO_PINGS, lx: 253, x: 252, PE2: 247, DST: 58}
    lab = [(17, 0, 1, 1)]
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(lx, 253, 1, lab), te(x, 252), te(PE2, 247),
                          echo(DST, 58)])
    p = prober(base, trace_of(PE2, [te(PE1, 254), te(lx, 253, 1, lab), te(x, 252), te(P1, 251), echo(PE2, 250)],
                              first_ttl=2),
               trace_of(P1, [te(PE1, 254), te(lx, 253, 1, lab), te(x, 252), echo(P1, 251)], first_ttl=2),
               pings=pings)
    (tr,) = run_tnt(p, [DST])
    assert [t for _, _, t in tags(tr)] == [None, "[MPLS,EXP,ING]", "[MPLS,EXP,LSR]", "[MPLS,EXP,INV,EGR,ING,FRPLA]",
                                           "[MPLS,INV,LSR,FRPLA,UNKN,step=1]", "[MPLS,INV,EGR,FRPLA]", None]
    assert [(t.cls, t.ingress, t.lsrs, t.egress) for t in tr.tunnels] == [
        ("EXP", PE1, [lx], x), ("INV", x, [P1], PE2)]
    assert tr.tunnels[1].technique == "UNKN" and tr.tunnels[1].start_point == x
