"""uTNT: per-hop classification (tnt.md 3.2), candidates (3.3) and u-turn runs.

Hop data are written by reasoning from the router behaviours of tnt.md 2:
Cisco <255,255>, Juniper <255,64>, uniform LSPs where the k-th LSR quotes qTTL k,
time-exceeded messages tunnelled to the LSP end (u-turn), PHP with min() at pop.
The vantage point is 11.0.0.1; routers answer from their incoming interface.
"""

import pytest

from utnt.detect import (
    annotate_hop, apply_uturn, classify_trace, evidence, find_candidates, start_ttl_for,
)
from utnt.model import EGR, EXP, IMP, LSR, MplsTag
from utnt.options import TntOptions
from utnt.output import format_mpls
from utnt.reserved import is_reserved
from utnt.scripted import echo, star, te, trace_of

R1, PE1, P1, P2, P3, P4 = "11.0.1.2", "11.0.2.2", "11.0.3.2", "11.0.4.2", "11.0.5.2", "11.0.6.2"
PE2, DST = "11.0.7.2", "11.0.9.9"
DEFAULT = TntOptions()


def prep(tr, pings, allow_private=False):
    """What the driver does before classification: reserved flags, ER TTLs, quantities."""
    for h in tr.hops:
        if h.responsive:
            h.reserved = is_reserved(h.address, allow_private)
            h.er_ttl = None if h.reserved else pings.get(h.address)
        annotate_hop(h)
    return tr


def tags(tr):
    return [(h.label, format_mpls(h.mpls) if h.mpls else None) for h in tr.hops]


def cands(tr, **kw):
    return [(c.trigger, c.start.address, c.next.address, c.start_pos, c.next_pos,
             c.insert_pos, c.ingress_null, c.start_ttl)
            for c in find_candidates(tr, TntOptions(**kw))]


# =============================================================================================
# explicit tunnels
# =============================================================================================

def explicit_trace():
    """Cisco uniform LSP PE1 -> P1 P2 P3 -> PE2, RFC 4950 on: LSE-TTL 1 everywhere, qTTL k.

    LSR time-exceededs are tunnelled to PE2 and back: P1 at TTL 3 has R_TE = 3 + 6 = 9
    (TTL 247) while its echo-reply comes straight back (R_ER = 3, TTL 253): u-turn 6.
    """
    tr = trace_of(DST, [
        te(R1, 255), te(PE1, 254),
        te(P1, 247, 1, [(24001, 0, 1, 1)]),
        te(P2, 248, 2, [(24002, 0, 0, 1), (16, 0, 1, 1)]),
        te(P3, 249, 3, [(24003, 0, 1, 1)]),
        te(PE2, 250), echo(DST, 58)])
    return prep(tr, {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, PE2: 250, DST: 58})


def test_explicit_tunnel_labels_before_qttl():
    tr = explicit_trace()
    found = classify_trace(tr)
    assert tags(tr) == [
        ("1", None), ("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"), ("4", "[MPLS,EXP,LSR]"),
        ("5", "[MPLS,EXP,LSR]"), ("6", "[MPLS,EXP,EGR]"), ("7", None)]
    # qTTL 2 and 3 did not turn the hops implicit: labels come first
    assert [evidence(h) for h in tr.hops] == [None, None, EXP, EXP, EXP, None, None]
    (t,) = found
    assert (t.cls, t.ingress, t.egress, t.lsrs, t.trigger, t.complete) == (
        EXP, PE1, PE2, [P1, P2, P3], None, True)
    assert [(h.uturn, h.frpla) for h in tr.hops[2:5]] == [(6, 6), (4, 4), (2, 2)]
    # every hop is an LSR, an egress or not a time-exceeded: nothing to reveal
    assert cands(tr) == []


@pytest.mark.parametrize("lse_ttl", [0, 1, 255])
def test_explicit_lse_ttl_values(lse_ttl):
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 253, 1, [(300, 0, 1, lse_ttl)]),
                             te(PE2, 252), echo(DST, 60)]), {})
    classify_trace(tr)
    assert tags(tr)[1:4] == [("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"),
                             ("4", "[MPLS,EXP,EGR]")]


# sc_tnt.c sc_tnt_test_identify_mpls_tunnels, labelled hop after a non-LSR (and
# identify_juniper_implicit_hop): the hop between two labelled runs is the first run's egress;
# the second run's first LSR then makes it an ingress too -- unless it is an egress with the
# Juniper-like <255,64> signature, which sc_tnt turns into an LSR without class (INF).
# (This test pinned an INF LSR with class EXP for every signature, which sc_tnt never prints.)
@pytest.mark.parametrize("sig,tag,ntun", [
    ((248, 248), "[MPLS,EXP,EGR,ING]", 2),      # Cisco-like <255,255>
    ((248, 59), "[MPLS,LSR,INF]", 1),           # Juniper-like <255,64>
    ((56, 56), "[MPLS,EXP,EGR,ING]", 2),        # Linux <64,64>
    ((248, None), "[MPLS,EXP,EGR,ING]", 2),     # no echo-reply: no signature, no inference
])
def test_hop_between_two_labelled_runs(sig, tag, ntun):
    """P2 ends the LSP through P1 and starts the one through P3: it receives plain IP (P1 popped)
    and answers with no labels and qTTL 1, between two labelled LSRs."""
    te_ttl, er = sig
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 247, 1, [(17, 0, 1, 1)]),
                             te(P2, te_ttl, 1), te(P3, 249, 1, [(18, 0, 1, 1)]), te(PE2, 250),
                             echo(DST, 58)]), {P2: er} if er else {})
    found = classify_trace(tr)
    assert tags(tr)[1:6] == [("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"), ("4", tag),
                             ("5", "[MPLS,EXP,LSR]"), ("6", "[MPLS,EXP,EGR]")]
    if ntun == 2:
        assert [(t.cls, t.ingress, t.lsrs, t.egress) for t in found] == [
            (EXP, PE1, [P1], P2), (EXP, P2, [P3], PE2)]
    else:
        assert [(t.cls, t.ingress, t.lsrs, t.egress) for t in found] == [(EXP, PE1, [P1, P2, P3], PE2)]
    # the hop between is no revelation candidate: an egress, or an LSR
    assert all(c[2] != P2 for c in cands(tr))


def test_explicit_run_bridges_a_silent_lsr_and_silent_ingress_leaves_no_ingress():
    tr = prep(trace_of(DST, [te(R1, 255), star(), te(P1, 247, 1, [(17, 0, 1, 1)]), star(),
                             te(P3, 249, 3, [(18, 0, 1, 1)]), te(PE2, 250), echo(DST, 58)]), {})
    (t,) = classify_trace(tr)
    assert tags(tr) == [("1", None), ("2", None), ("3", "[MPLS,EXP,LSR]"), ("4", None),
                        ("5", "[MPLS,EXP,LSR]"), ("6", "[MPLS,EXP,EGR]"), ("7", None)]
    assert (t.ingress, t.egress, t.lsrs, t.complete) == (None, PE2, [P1, P3], False)


def test_explicit_egress_after_a_silent_hop_is_not_tagged():
    """sc_tnt tags the egress off the previous hop (a labelled LSR); a silent hop right after
    the run (a Linux UHP egress dropping the expired explicit null) leaves the tunnel without
    egress, and the next answering hop untagged (seen against the original TNT)."""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 247, 1, [(17, 0, 1, 1)]),
                             te(P2, 248, 2, [(18, 0, 1, 1)]), star(), te(P4, 246), echo(DST, 58)]), {})
    (t,) = classify_trace(tr)
    assert tags(tr) == [("1", None), ("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"), ("4", "[MPLS,EXP,LSR]"),
                        ("5", None), ("6", None), ("7", None)]
    assert (t.ingress, t.egress, t.lsrs, t.complete) == (PE1, None, [P1, P2], False)


def test_explicit_reserved_lsr_and_reserved_egress_are_tagged():
    """sc_tnt.c sc_tnt_test_identify_mpls_tunnels, first loop: no reserved-address check, so a
    reserved hop after an explicit LSR is its egress (reserved addresses only stop revelation).
    (This test pinned an untagged reserved egress, which sc_tnt does not do.)"""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te("10.1.1.1", 253, 1, [(17, 0, 1, 1)]),
                             te("10.1.2.2", 252), echo(DST, 60)]), {})
    (t,) = classify_trace(tr)
    assert tags(tr)[1:4] == [("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"), ("4", "[MPLS,EXP,EGR]")]
    assert (t.egress, t.complete) == ("10.1.2.2", True)


# =============================================================================================
# opaque tunnels
# =============================================================================================

def opaque_trace():
    """Cisco LDP LSP ending abruptly at EH: LSE-TTL 252 = 255 - 3 hidden hops; TE TTL 250."""
    return prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P4, 250, 1, [(16, 0, 1, 252)]),
                               echo(DST, 60)]), {R1: 255, PE1: 254, P4: 250, DST: 60})


def test_opaque_egress_and_mttl_candidate():
    tr = opaque_trace()
    (t,) = classify_trace(tr)
    assert tags(tr) == [("1", None), ("2", "[MPLS,OPA,ING,MTTL]"), ("3", "[MPLS,OPA,EGR,MTTL]"),
                        ("4", None)]
    assert (t.cls, t.ingress, t.egress, t.lsrs, t.trigger, t.estimated_length, t.complete) == (
        "OPA", PE1, P4, [], "MTTL", 3, False)
    # FRPLA is 3 as well, but an egress only queues MTTL (steps 3 and 4)
    assert tr.hops[2].frpla == 3
    assert cands(tr) == [("MTTL", PE1, P4, 1, 2, 2, False, 1)]


def test_opaque_after_explicit_lsr_start_point_inside_tunnel_is_allowed():
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 247, 1, [(17, 0, 1, 1)]),
                             te(P4, 249, 1, [(16, 0, 1, 250)]), echo(DST, 60)]), {})
    found = classify_trace(tr)
    assert tags(tr)[1:4] == [("2", "[MPLS,EXP,ING]"), ("3", "[MPLS,EXP,LSR]"),
                             ("4", "[MPLS,OPA,EGR,MTTL]")]
    # the tags read as TNT's dump is read: P4 closes the tunnel P1 is an LSR of (one tunnel,
    # the class of its LSR); it used to be two half tunnels, which no reading of the tags gives
    assert [(t.cls, t.ingress, t.egress) for t in found] == [("EXP", PE1, P4)]
    assert found[0].estimated_length == 5
    assert cands(tr) == [("MTTL", P1, P4, 2, 3, 3, False, 1)]


# =============================================================================================
# implicit tunnels (qTTL)
# =============================================================================================

def implicit_trace():
    """Cisco uniform LSP, RFC 4950 off: PE1 -> P1 P2 P3 P4 -> PE2 (PE2 at TTL 7).

    qTTL is k at the k-th LSR, P4 (penultimate, pops before answering) quotes 1 again.
    Time-exceededs go to PE2 and back: R_TE = (7 - t) + 7.
    """
    tr = trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 245, 1), te(P2, 246, 2),
                        te(P3, 247, 3), te(P4, 248, 1), te(PE2, 249), echo(DST, 57)])
    return prep(tr, {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, P4: 250, PE2: 249, DST: 57})


def test_implicit_qttl_run_infers_first_lsr_ingress_and_post_run_lsr():
    tr = implicit_trace()
    (t,) = classify_trace(tr)
    assert tags(tr) == [
        ("1", None), ("2", "[MPLS,IMP,ING,QTTL]"), ("3", "[MPLS,IMP,LSR,QTTL]"),
        ("4", "[MPLS,IMP,LSR,QTTL]"), ("5", "[MPLS,IMP,LSR,QTTL]"), ("6", "[MPLS,IMP,LSR,QTTL]"),
        ("7", "[MPLS,IMP,EGR,QTTL]"), ("8", None)]
    assert (t.cls, t.trigger, t.ingress, t.egress, t.lsrs, t.complete) == (
        IMP, "QTTL", PE1, PE2, [P1, P2, P3, P4], True)
    assert [h.uturn for h in tr.hops[2:7]] == [8, 6, 4, 2, 0]
    assert cands(tr) == []
    # the u-turn pass afterwards finds every hop already in a tunnel
    assert apply_uturn(tr) == []


def test_implicit_run_starting_at_qttl_3_over_a_silent_lsr():
    """sc_tnt looks back from a qTTL-2 hop only: with the second LSR silent the run starts at
    qTTL 3 and neither the first LSR nor the ingress is tagged (seen against the original TNT
    on a matrix cell with a silent LSR)."""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 245, 1), star(), te(P3, 247, 3),
                             te(P4, 248, 1), te(PE2, 249), echo(DST, 57)]), {})
    (t,) = classify_trace(tr)
    assert tags(tr) == [
        ("1", None), ("2", None), ("3", None), ("4", None),
        ("5", "[MPLS,IMP,LSR,QTTL]"), ("6", "[MPLS,IMP,LSR,QTTL]"), ("7", "[MPLS,IMP,EGR,QTTL]"),
        ("8", None)]
    assert (t.ingress, t.lsrs, t.egress) == (None, [P3, P4], PE2)


def test_implicit_destination_right_after_the_run_is_the_egress():
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 251, 1), te(P2, 252, 2),
                             echo(DST, 59)]), {})
    (t,) = classify_trace(tr)
    assert tags(tr) == [("1", None), ("2", "[MPLS,IMP,ING,QTTL]"), ("3", "[MPLS,IMP,LSR,QTTL]"),
                        ("4", "[MPLS,IMP,LSR,QTTL]"), ("5", "[MPLS,IMP,EGR,QTTL]")]
    assert (t.egress, t.lsrs) == (DST, [P1, P2])


@pytest.mark.parametrize("q", [1, 255, None])
def test_qttl_1_255_or_absent_is_no_evidence(q):
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 253, q), echo(DST, 60)]), {})
    assert classify_trace(tr) == [] and all(h.mpls is None for h in tr.hops)


# =============================================================================================
# invisible-tunnel candidates (tnt.md 3.3)
# =============================================================================================

def php_trace(pe2_ttl=250, pe2_er=250, **pings):
    """R1, PE1 (ingress), PE2 at TTL 3 after hidden LSRs, DST."""
    tr = trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, pe2_ttl), echo(DST, 60)])
    return prep(tr, {R1: 255, PE1: 254, PE2: pe2_er, DST: 60, **pings})


def test_frpla_fires_at_3_not_at_2():
    assert cands(php_trace()) == [("FRPLA", PE1, PE2, 1, 2, 2, False, 1)]
    assert cands(php_trace(pe2_ttl=251, pe2_er=251)) == []                     # FRPLA 2
    assert cands(php_trace(pe2_ttl=251, pe2_er=251), frpla_threshold=2) == [
        ("FRPLA", PE1, PE2, 1, 2, 2, False, 1)]


def test_rtla_is_tested_before_frpla():
    tr = php_trace(pe2_er=62)                     # Juniper egress: RTLA 3, FRPLA 3
    assert (tr.hops[2].rtla, tr.hops[2].frpla) == (3, 3)
    assert cands(tr) == [("RTLA", PE1, PE2, 1, 2, 2, False, 1)]
    assert cands(tr, rtla_threshold=4) == [("FRPLA", PE1, PE2, 1, 2, 2, False, 1)]
    assert cands(tr, rtla_threshold=4, frpla_threshold=4) == []


def test_duplicate_ip_queues_dupip_on_the_second_copy_only():
    """UHP: the hidden egress pops without decrementing a TTL-1 probe: D answers twice."""
    d = "11.0.34.2"
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(d, 250), te(d, 250), echo(DST, 59)]),
              {R1: 255, PE1: 254, d: 250})
    classify_trace(tr)
    assert tr.hops[2].frpla == 3          # the first copy would fire FRPLA: step 6 skips it
    assert cands(tr) == [("DUPIP", PE1, d, 1, 3, 2, False, 1)]


def test_dupip_skipped_when_the_first_copy_is_already_an_egress():
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P4, 250, 1, [(16, 0, 1, 252)]),
                             te(P4, 250), echo(DST, 59)]), {})
    classify_trace(tr)
    assert tags(tr)[2:4] == [("3", "[MPLS,OPA,EGR,MTTL]"), ("4", None)]
    assert cands(tr) == [("MTTL", PE1, P4, 1, 2, 2, False, 1)]


def test_triple_copy_gives_up_when_start_point_equals_h():
    x = "11.0.34.2"
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(x, 250), te(x, 250), te(x, 250),
                             echo(DST, 59)]), {})
    classify_trace(tr)
    assert cands(tr) == [("DUPIP", PE1, x, 1, 3, 2, False, 1)]


def test_unresponsive_ingress_uses_the_hop_before_as_start_point():
    tr = prep(trace_of(DST, [te(R1, 255), star(), te(PE2, 250), echo(DST, 60)]), {})
    assert cands(tr) == [("FRPLA", R1, PE2, 0, 2, 2, True, 1)]


def test_start_ttl_is_start_point_probe_ttl_minus_2():
    a, b, c = "11.0.15.2", "11.0.16.2", "11.0.17.2"
    # base trace from TTL 5; C at TTL 7 answers 246: R_TE = 10, FRPLA = 3
    tr = prep(trace_of(DST, [te(a, 251), te(b, 250), te(c, 246)], first_ttl=5), {})
    assert cands(tr) == [("FRPLA", b, c, 1, 2, 2, False, 4)]
    tr = prep(trace_of(DST, [te(a, 251), star(), te(c, 246)], first_ttl=5), {})
    assert cands(tr) == [("FRPLA", a, c, 0, 2, 2, True, 3)]
    assert start_ttl_for(tr.hops[0]) == 3
    assert start_ttl_for(trace_of(DST, [te(a, 255)]).hops[0]) == 1     # 1 - 2 floored at 1


def test_first_hop_has_no_ingress_and_double_silence_gives_up():
    tr = prep(trace_of(DST, [te(PE2, 248), star(), star(), te(P4, 240)]), {})
    assert tr.hops[0].frpla == 7 and tr.hops[3].frpla == 12
    assert cands(tr) == []


def test_reserved_next_hop_or_start_point_is_never_a_candidate():
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te("10.0.6.2", 250), echo(DST, 60)]), {})
    assert tr.hops[2].reserved and tr.hops[2].er_ttl is None
    assert cands(tr) == []
    tr = prep(trace_of(DST, [te(R1, 255), te("10.0.6.2", 250), te("10.0.6.2", 250),
                             echo(DST, 60)]), {}, allow_private=True)
    assert cands(tr, allow_private=True) == [("DUPIP", R1, "10.0.6.2", 0, 2, 1, False, 1)]
    tr = prep(trace_of(DST, [te(R1, 255), te("10.0.2.2", 254), te(PE2, 250), echo(DST, 60)]), {})
    assert cands(tr) == []
    tr = prep(trace_of(DST, [te(R1, 255), te("10.0.2.2", 254), te(PE2, 250), echo(DST, 60)]), {},
              allow_private=True)
    assert cands(tr, allow_private=True) == [("FRPLA", "10.0.2.2", PE2, 1, 2, 2, False, 1)]


@pytest.mark.parametrize("cls, role, expected", [
    (EXP, LSR, []), (IMP, LSR, []),
    (EXP, EGR, [("FRPLA", PE1, PE2, 1, 2, 2, False, 1)]),
])
def test_start_point_inside_explicit_or_implicit_tunnel_gives_up(cls, role, expected):
    tr = php_trace()
    tr.hops[1].mpls = MplsTag(cls, role)
    assert cands(tr) == expected


def test_next_hop_already_lsr_or_egress_or_not_time_exceeded_is_skipped():
    tr = php_trace()
    tr.hops[2].mpls = MplsTag(EXP, LSR)
    assert cands(tr) == []
    tr.hops[2].mpls = MplsTag(EXP, EGR)
    assert cands(tr) == []
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), echo(DST, 57)]), {})
    assert tr.hops[2].r_te == 8
    assert cands(tr, brute_force=True) == [("BTFC", R1, PE1, 0, 1, 1, False, 1)]


def test_brute_force_queues_btfc_at_every_pair_without_trigger():
    tr = php_trace(pe2_ttl=253, pe2_er=253)
    assert cands(tr) == []
    assert cands(tr, brute_force=True) == [("BTFC", R1, PE1, 0, 1, 1, False, 1),
                                           ("BTFC", PE1, PE2, 1, 2, 2, False, 1)]
    # a fired trigger takes the pair's place: one test per pair
    assert cands(php_trace(), brute_force=True) == [("BTFC", R1, PE1, 0, 1, 1, False, 1),
                                                    ("FRPLA", PE1, PE2, 1, 2, 2, False, 1)]


# =============================================================================================
# u-turn (run after revelation, tested here on its own)
# =============================================================================================

def uturn_trace(p3_ttl=249, p3_er=251):
    """The explicit_trace network with RFC 4950 off and qTTL 1 everywhere."""
    tr = trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 247), te(P2, 248), te(P3, p3_ttl),
                        te(PE2, 250), echo(DST, 58)])
    return prep(tr, {R1: 255, PE1: 254, P1: 253, P2: 252, P3: p3_er, PE2: 250, DST: 58})


def test_uturn_run_makes_an_implicit_tunnel():
    tr = uturn_trace()
    assert classify_trace(tr) == []
    assert [h.uturn for h in tr.hops] == [0, 0, 6, 4, 2, 0, 0]
    (t,) = apply_uturn(tr)
    # TNT: the hop that ends the run (u = 0) is still an LSR -- the penultimate hop that
    # pops before answering -- and the hop after it is the egress (here the destination)
    assert tags(tr) == [
        ("1", None), ("2", "[MPLS,IMP,ING,UTURN]"), ("3", "[MPLS,IMP,LSR,UTURN]"),
        ("4", "[MPLS,IMP,LSR,UTURN]"), ("5", "[MPLS,IMP,LSR,UTURN]"), ("6", "[MPLS,IMP,LSR,UTURN]"),
        ("7", "[MPLS,IMP,EGR,UTURN]")]
    assert (t.cls, t.trigger, t.ingress, t.egress, t.lsrs, t.complete) == (
        IMP, "UTURN", PE1, DST, [P1, P2, P3, PE2], True)


def test_uturn_sum_threshold_is_3():
    # only one hop with u = 2: sum 2, nothing
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P3, 251), te(PE2, 251),
                             echo(DST, 58)]), {R1: 255, PE1: 254, P3: 253, PE2: 251})
    assert [h.uturn for h in tr.hops] == [0, 0, 2, 0, 0]
    assert apply_uturn(tr) == [] and all(h.mpls is None for h in tr.hops)
    # u = 1 then u = 2: sum 3, a tunnel
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P2, 252), te(P3, 251), te(PE2, 251),
                             echo(DST, 58)]), {R1: 255, PE1: 254, P2: 253, P3: 253, PE2: 251})
    assert [h.uturn for h in tr.hops] == [0, 0, 1, 2, 0, 0]
    (t,) = apply_uturn(tr)
    assert (t.ingress, t.lsrs, t.egress) == (PE1, [P2, P3, PE2], DST)


def test_uturn_equal_to_rtla_is_not_a_uturn():
    tr = php_trace(pe2_er=62)                    # Juniper egress: u = RTLA = 3
    assert (tr.hops[2].uturn, tr.hops[2].rtla) == (3, 3)
    assert apply_uturn(tr) == [] and all(h.mpls is None for h in tr.hops)


def test_uturn_last_hop_rule():
    # trace stops (gap limit) after P2, whose |u| = 4; the hop before it is silent
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), star(), te(P2, 248), star(), star()]),
              {R1: 255, PE1: 254, P2: 252})
    (t,) = apply_uturn(tr)
    assert tags(tr)[3] == ("4", "[MPLS,IMP,LSR,UTURN]")
    assert [h.mpls for i, h in enumerate(tr.hops) if i != 3] == [None] * 5
    assert (t.ingress, t.egress, t.lsrs, t.complete) == (None, None, [P2], False)
    # |u| = 2 on the last hop: nothing
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), star(), te(P3, 249), star()]),
              {R1: 255, PE1: 254, P3: 251})
    assert apply_uturn(tr) == []


def test_uturn_skips_hops_already_in_a_tunnel():
    tr = explicit_trace()
    classify_trace(tr)
    assert apply_uturn(tr) == []


def test_opaque_egress_answering_twice_is_lsr_then_egress_and_not_tested():
    """A Linux opaque egress answers two probe TTLs with the same label quote (qTTL 0,
    then 1). TNT (sc_tnt.c identify_mpls_tunnels) makes every labelled hop an LSR and the
    last one before an unlabelled hop the egress, so the first copy is an LSR; the second
    copy's MTTL test is skipped because its first copy is in a tunnel already."""
    lab = [(25, 0, 1, 253)]
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 63), te(PE2, 61, qttl=0, labels=lab),
                             te(PE2, 61, labels=lab), te(P4, 251), echo(DST, 59)]),
              {R1: 255, PE1: 63, PE2: 61, P4: 251, DST: 59})
    (t,) = classify_trace(tr)
    assert tags(tr) == [("1", None), ("2", "[MPLS,OPA,ING,MTTL]"), ("3", "[MPLS,OPA,LSR,MTTL]"),
                        ("4", "[MPLS,OPA,EGR,MTTL]"), ("5", None), ("6", None)]
    assert (t.ingress, t.lsrs, t.egress, t.estimated_length) == (PE1, [PE2], PE2, 2)
    assert cands(tr) == []
    # a single labelled hop is the egress and gets its MTTL test
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250, labels=lab), te(P4, 249),
                             echo(DST, 59)]), {R1: 255, PE1: 254, PE2: 250, P4: 249, DST: 59})
    classify_trace(tr)
    assert tags(tr)[2] == ("3", "[MPLS,OPA,EGR,MTTL]")
    assert cands(tr)[0][:3] == ("MTTL", PE1, PE2)


# =============================================================================================
# multi-domain paths: sc_tnt's rules around the hop between tunnels (issue 20)
# =============================================================================================

X, A, B, C, D, E = "11.0.10.2", "11.0.11.2", "11.0.12.2", "11.0.13.2", "11.0.14.2", "11.0.15.2"


@pytest.mark.parametrize("x_er,x_tag", [(250, "[MPLS,EXP,IMP,EGR,ING,QTTL]"), (59, "[MPLS,LSR,INF]")])
def test_qttl_lookback_through_an_explicit_egress(x_er, x_tag):
    """sc_tnt.c sc_tnt_test_identify_mpls_tunnels, qTTL == 2: the hop two back becomes the
    implicit tunnel's ingress unless it is an LSR or an ingress; an egress there is an ingress
    too (EGR and ING, its classes added) unless it is <255,64> (identify_juniper_implicit_hop:
    an LSR without class). uTNT used to give no ingress after a tagged hop."""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 253, 1, [(17, 0, 1, 1)]), te(X, 250, 1),
                             te(A, 249, 1), te(B, 248, 2), te(C, 247, 1), te(D, 246), echo(DST, 58)]),
              {X: x_er})
    classify_trace(tr)
    assert [t for _, t in tags(tr)[2:7]] == ["[MPLS,EXP,LSR]", x_tag, "[MPLS,IMP,LSR,QTTL]",
                                             "[MPLS,IMP,LSR,QTTL]", "[MPLS,IMP,LSR,QTTL]"]
    assert tags(tr)[7][1] == "[MPLS,IMP,EGR,QTTL]"


def _uturn_trace(x_er=None, d_er=250):
    """PE1 (ING of an explicit LSP) P1 X, then A B with u-turns 6 and 2 (Cisco <255,255>),
    C with none ending the run, D (ING of a second explicit LSP through E) and PE2."""
    tr = trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 253, 1, [(17, 0, 1, 1)]), te(X, 250),
                        te(A, 247), te(B, 250), te(C, 251), te(D, 250), te(E, 249, 1, [(18, 0, 1, 1)]),
                        te(PE2, 248), echo(DST, 58)])
    return prep(tr, {R1: 255, PE1: 254, P1: 253, X: x_er or 250, A: 253, B: 252, C: 251, D: d_er,
                     E: 249, PE2: 248, DST: 58})


@pytest.mark.parametrize("d_er,d_tag", [(250, "[MPLS,EXP,IMP,EGR,ING,UTURN]"), (59, "[MPLS,LSR,INF]")])
def test_uturn_egress_that_is_an_ingress(d_er, d_tag):
    """sc_tnt.c scamper_trace_tnt_identify_uturn_tunnels, the hop after the run's end: an
    ingress becomes the u-turn tunnel's egress as well (EGR and ING) unless it is <255,64>,
    which identify_juniper_implicit_hop makes an LSR without class. uTNT had the two inverted."""
    tr = _uturn_trace(d_er=d_er)
    classify_trace(tr)
    assert tags(tr)[7][1] == "[MPLS,EXP,ING]"
    apply_uturn(tr)
    assert [t for _, t in tags(tr)[3:8]] == ["[MPLS,EXP,IMP,EGR,ING,UTURN]", "[MPLS,IMP,LSR,UTURN]",
                                             "[MPLS,IMP,LSR,UTURN]", "[MPLS,IMP,LSR,UTURN]", d_tag]


@pytest.mark.parametrize("x_er,x_tag", [(250, "[MPLS,EXP,IMP,EGR,ING,UTURN]"), (59, "[MPLS,LSR,INF]")])
def test_uturn_ingress_that_is_an_egress(x_er, x_tag):
    """sc_tnt.c scamper_trace_tnt_identify_uturn_tunnels, the hop before the run: an egress
    (not opaque) becomes the u-turn tunnel's ingress as well unless it is <255,64>
    (identify_juniper_implicit_hop: an LSR without class, no ingress). uTNT had the two inverted."""
    tr = _uturn_trace(x_er=x_er)
    classify_trace(tr)
    assert tags(tr)[3][1] == "[MPLS,EXP,EGR]"
    apply_uturn(tr)
    assert tags(tr)[3][1] == x_tag
    assert [t for _, t in tags(tr)[4:7]] == ["[MPLS,IMP,LSR,UTURN]"] * 3


def test_candidate_behind_a_silent_ingress_after_an_lsr():
    """sc_tnt.c sc_tnt_test_identify_mpls_tunnels, second loop: only a responsive ingress that
    is an LSR stops the test; with a silent ingress the start point (the hop before it) may be
    an LSR. uTNT used to check the start point and drop the test."""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 253, 1, [(17, 0, 1, 1)]), star(),
                             te(X, 247), echo(DST, 58)]), {})
    classify_trace(tr)
    assert tags(tr)[4] == ("5", None) and tr.hops[4].frpla == 4
    assert cands(tr) == [("FRPLA", P1, X, 2, 4, 4, True, 1)]


def test_an_opaque_lsr_before_a_silent_hop_is_its_egress():
    """sc_tnt.c sc_tnt_test_identify_mpls_tunnels, silent hop: an OPA hop before it becomes the
    egress (its roles replaced), and queues the MTTL test; PE2 behind the silent hop (FRPLA 3)
    is tested from P4, the start point before its silent ingress."""
    tr = prep(trace_of(DST, [te(R1, 255), te(PE1, 254), te(P4, 250, 1, [(16, 0, 1, 250)]), star(),
                             te(PE2, 248), echo(DST, 58)]), {})
    classify_trace(tr)
    assert [t for _, t in tags(tr)[1:5]] == ["[MPLS,OPA,ING,MTTL]", "[MPLS,OPA,EGR,MTTL]", None, None]
    assert [c[0:3] for c in cands(tr)] == [("MTTL", PE1, P4), ("FRPLA", P4, PE2)]
