"""uTNT: TNT text dump (tnt.md 5.5) and JSON form."""

import json

from utnt.model import BRPR, EXP, FRPLA, INV, LSR, MplsTag
from utnt.options import TntOptions
from utnt.output import dump_text, format_mpls, format_trace, to_json
from utnt.scripted import ScriptedProber, echo, star, te, trace_of, unreach
from utnt.tnt import run_tnt

R1, PE1, P1, P2, P3, P4 = "11.0.1.2", "11.0.2.2", "11.0.3.2", "11.0.4.2", "11.0.5.2", "11.0.6.2"
PE2, R2, DST = "11.0.6.2", "11.0.7.2", "11.0.9.9"
UDP = "udp-paris"


def run(traces, pings, options=None, verbose=False):
    p = ScriptedProber(pings=pings)
    for tr in traces:
        p.add(tr)
    out = run_tnt(p, [DST], options)
    return out, dump_text(out, verbose=verbose).splitlines()


def brpr_run():
    return run(
        [trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), te(R2, 249), echo(DST, 60)]),
         trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
         trace_of(P3, [te(R1, 255), te(PE1, 254), te(P2, 252), echo(P3, 251)]),
         trace_of(P2, [te(R1, 255), te(PE1, 254), te(P1, 253), echo(P2, 252)]),
         trace_of(P1, [te(R1, 255), te(PE1, 254), echo(P1, 253)])],
        {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, PE2: 250, R2: 249, DST: 60})


def test_format_mpls_block():
    assert format_mpls(MplsTag(EXP, LSR)) == "[MPLS,EXP,LSR]"
    # sc_tnt's INF is an LSR without class (identify_juniper_implicit_hop drops the classes)
    assert format_mpls(MplsTag(EXP, LSR, inferred=True)) == "[MPLS,LSR,INF]"
    assert format_mpls(MplsTag(INV, LSR, FRPLA, BRPR, 2, incomplete=True)) == \
        "[MPLS,INV,LSR,INCOMP?,FRPLA,BRPR,step=2]"


def test_dump_invisible_brpr_tunnel():
    _, lines = brpr_run()
    assert lines == [
        "trace [icmp-paris] from 11.0.0.1 to 11.0.9.9",
        "  1  11.0.1.2  0.100 ms  rTTLs=<255,255>  qttl=1",
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,INV,ING,FRPLA]",
        " H1  11.0.3.2  0.300 ms  rTTLs=<253,253>  qttl=1  [MPLS,INV,LSR,FRPLA,BRPR,step=3]",
        " H2  11.0.4.2  0.300 ms  rTTLs=<252,252>  qttl=1  frpla=1  [MPLS,INV,LSR,FRPLA,BRPR,step=2]",
        " H3  11.0.5.2  0.300 ms  rTTLs=<251,251>  qttl=1  frpla=2  [MPLS,INV,LSR,FRPLA,BRPR,step=1]",
        "  3  11.0.6.2  0.300 ms  rTTLs=<250,250>  qttl=1  frpla=3  [MPLS,INV,EGR,FRPLA]",
        "  4  11.0.7.2  0.400 ms  rTTLs=<249,249>  qttl=1  frpla=3",
        "  5  11.0.9.9  0.500 ms  rTTLs=<60,60>",
    ]


def test_dump_explicit_tunnel_with_labels():
    _, lines = run(
        [trace_of(DST, [te(R1, 255), te(PE1, 254),
                        te(P1, 247, 1, [(24001, 0, 1, 1)]),
                        te(P2, 248, 2, [(24002, 0, 0, 1), (16, 0, 1, 1)]),
                        te(P3, 249, 3, [(24003, 0, 1, 1)]),
                        te(PE2, 250), echo(DST, 58)])],
        {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, PE2: 250, DST: 58})
    assert lines == [
        "trace [icmp-paris] from 11.0.0.1 to 11.0.9.9",
        "  1  11.0.1.2  0.100 ms  rTTLs=<255,255>  qttl=1",
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,EXP,ING]",
        "  3  11.0.3.2  0.300 ms  rTTLs=<247,253>  qttl=1  uturn=6  frpla=6  [MPLS,EXP,LSR]"
        "  Labels 24001 mTTL=1",
        "  4  11.0.4.2  0.400 ms  rTTLs=<248,252>  qttl=2  uturn=4  frpla=4  [MPLS,EXP,LSR]"
        "  Labels 24002 mTTL=1 | 16 mTTL=1",
        "  5  11.0.5.2  0.500 ms  rTTLs=<249,251>  qttl=3  uturn=2  frpla=2  [MPLS,EXP,LSR]"
        "  Labels 24003 mTTL=1",
        "  6  11.0.6.2  0.600 ms  rTTLs=<250,250>  qttl=1  [MPLS,EXP,EGR]",
        "  7  11.0.9.9  0.700 ms  rTTLs=<58,58>",
    ]


def test_dump_implicit_qttl_tunnel():
    pe2 = "11.0.8.2"
    _, lines = run(
        [trace_of(DST, [te(R1, 255), te(PE1, 254), te(P1, 245, 1), te(P2, 246, 2),
                        te(P3, 247, 3), te(P4, 248, 1), te(pe2, 249), echo(DST, 57)])],
        {R1: 255, PE1: 254, P1: 253, P2: 252, P3: 251, P4: 250, pe2: 249, DST: 57})
    assert lines[1:] == [
        "  1  11.0.1.2  0.100 ms  rTTLs=<255,255>  qttl=1",
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,IMP,ING,QTTL]",
        "  3  11.0.3.2  0.300 ms  rTTLs=<245,253>  qttl=1  uturn=8  frpla=8  [MPLS,IMP,LSR,QTTL]",
        "  4  11.0.4.2  0.400 ms  rTTLs=<246,252>  qttl=2  uturn=6  frpla=6  [MPLS,IMP,LSR,QTTL]",
        "  5  11.0.5.2  0.500 ms  rTTLs=<247,251>  qttl=3  uturn=4  frpla=4  [MPLS,IMP,LSR,QTTL]",
        "  6  11.0.6.2  0.600 ms  rTTLs=<248,250>  qttl=1  uturn=2  frpla=2  [MPLS,IMP,LSR,QTTL]",
        "  7  11.0.8.2  0.700 ms  rTTLs=<249,249>  qttl=1  [MPLS,IMP,EGR,QTTL]",
        "  8  11.0.9.9  0.800 ms  rTTLs=<57,57>",
    ]


def verbose_case():
    # Juniper PE2 fires RTLA, revelation finds nothing; a reserved hop; R2 answers a
    # host-unreachable and does not answer pings
    return run(
        [trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), te("10.0.4.1", 249),
                        unreach(R2, 249, code=1)], method=UDP),
         trace_of(PE2, [te(R1, 255), te(PE1, 254), unreach(PE2, 59)], method=UDP)],
        {R1: 255, PE1: 254, PE2: 62, "10.0.4.1": 249, R2: None},
        TntOptions(method=UDP), verbose=True)


def test_dump_verbose_attempt_dstunr_rsvd_and_missing_echo_reply():
    (tr,), lines = verbose_case()
    assert lines == [
        "trace [udp-paris] from 11.0.0.1 to 11.0.9.9",
        "  1  11.0.1.2  0.100 ms  rTTLs=<255,255>  qttl=1",
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1",
        "  3  11.0.6.2  0.300 ms  rTTLs=<250,62>  qttl=1  uturn=3  frpla=3  rtla=3"
        "  (ATTEMPT,RTLA,NTH-RV)",
        "  4  10.0.4.1  0.400 ms  rsvd  rTTLs=<249,*>  qttl=1  frpla=3",
        "  5  11.0.7.2  0.500 ms  rTTLs=<249,*>  (dstunr code=1)",
    ]
    assert dump_text([tr]).splitlines()[3] == \
        "  3  11.0.6.2  0.300 ms  rTTLs=<250,62>  qttl=1  uturn=3  frpla=3  rtla=3"
    assert dump_text([tr]).splitlines()[5] == "  5  11.0.7.2  0.500 ms  rTTLs=<249,*>"


def test_dump_buddy_silent_hops_and_buddy_attempt():
    d, buddy, e_up = "11.0.34.2", "11.0.34.1", "11.0.33.2"
    base = trace_of(DST, [te(R1, 255), te(PE1, 254), te(d, 250), te(d, 250), star(),
                          echo(DST, 59)])
    direct = trace_of(d, [te(R1, 255), te(PE1, 254), echo(d, 250)])
    pings = {R1: 255, PE1: 254, d: 250, DST: 59, "11.0.34.0": None, "11.0.33.0": None, e_up: 251}
    # the hidden egress answers the buddy probe from its interface toward the prober (e_up)
    _, lines = run([base, direct,
                    trace_of(buddy, [te(R1, 255), te(PE1, 254), unreach(e_up, 251)], method=UDP),
                    trace_of(e_up, [te(R1, 255), te(PE1, 254), echo(e_up, 251)]),
                    trace_of("11.0.33.1", [te(R1, 255), te(PE1, 254), unreach("11.0.33.1", 252)],
                             method=UDP)], pings, verbose=True)
    assert lines[2:7] == [
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,INV,ING,DUPIP]",
        " H1  11.0.33.2  0.300 ms  rTTLs=<251,251>  [MPLS,INV,EGR,DUPIP,BUDDY,step=1]"
        "  (ATTEMPT,DUPIP,NTH-RV,BUD)",
        "  3  11.0.34.2  0.300 ms  rTTLs=<250,250>  qttl=1  frpla=3",
        "  4  11.0.34.2  0.400 ms  rTTLs=<250,250>  qttl=1  frpla=2",
        "  5  *",
    ]
    # a failed DUPIP test is annotated on the first copy of the address
    _, lines = run([base, direct,
                    trace_of(buddy, [te(R1, 255), te(PE1, 254), star(), star()], method=UDP)],
                   pings, verbose=True)
    assert lines[3] == "  3  11.0.34.2  0.300 ms  rTTLs=<250,250>  qttl=1  frpla=3" \
                       "  (ATTEMPT,DUPIP,TGT-NR,BUD)"
    assert lines[4] == "  4  11.0.34.2  0.400 ms  rTTLs=<250,250>  qttl=1  frpla=2"


def test_dump_incomplete_silent_revealed_hop():
    _, lines = run(
        [trace_of(DST, [te(R1, 255), te(PE1, 254), te(PE2, 250), echo(DST, 60)]),
         trace_of(PE2, [te(R1, 255), te(PE1, 254), te(P3, 251), echo(PE2, 250)]),
         trace_of(P3, [te(R1, 255), te(PE1, 254), star(), echo(P3, 251)])],
        {R1: 255, PE1: 254, P3: 251, PE2: 250, DST: 60})
    assert lines[2:5] == [
        "  2  11.0.2.2  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,INV,ING,INCOMP?,FRPLA]",
        " H1  *  [MPLS,INV,LSR,FRPLA,BRPR,step=2]",
        " H2  11.0.5.2  0.300 ms  rTTLs=<251,251>  qttl=1  frpla=2"
        "  [MPLS,INV,LSR,FRPLA,BRPR,step=1]",
    ]


def test_format_trace_matches_dump_and_dump_of_nothing():
    (tr,), lines = brpr_run()
    assert format_trace(tr) == lines
    assert dump_text([]) == ""


# --- JSON -------------------------------------------------------------------------------------

def test_json_has_the_same_facts_and_the_tunnel_list():
    (tr,), _ = brpr_run()
    doc = to_json([tr])
    json.dumps(doc)                                     # serialisable as is
    assert (doc["format"], doc["version"], len(doc["traces"])) == ("utnt", 1, 1)
    t = doc["traces"][0]
    assert (t["src"], t["dst"], t["method"], t["start_ttl"], t["stop_reason"]) == (
        "11.0.0.1", DST, "icmp-paris", 1, "COMPLETED")
    assert (t["probe_count"], t["ping_probes"], t["reveal_probes"], t["total_probes"]) == (
        5, 8, 15, 28)
    assert [h["label"] for h in t["hops"]] == ["1", "2", "H1", "H2", "H3", "3", "4", "5"]
    h2 = t["hops"][3]
    assert h2 == {
        "index": 2, "label": "H2", "revealed": True, "address": P2, "probe_ttl": 3,
        "tnt_ttl": 4, "rtt_ms": 0.3, "icmp_type": 11, "icmp_code": 0, "reply_ttl": 252,
        "quoted_ttl": 1, "er_ttl": 252, "reserved": False, "labels": [], "ittl_te": 255,
        "ittl_er": 255, "r_te": 4, "r_er": 4, "frpla": 1, "rtla": 0, "uturn": 0,
        "mpls": {"class": "INV", "role": "LSR", "trigger": "FRPLA", "technique": "BRPR",
                 "step": 2, "incomplete": False, "inferred": False, "revealed": True,
                 "classes": ["INV"], "roles": ["LSR"], "triggers": ["FRPLA"]},
        "attempts": [],
    }
    assert t["hops"][1]["mpls"]["role"] == "ING" and t["hops"][0]["mpls"] is None
    assert t["tunnels"] == [{
        "class": "INV", "ingress": PE1, "egress": PE2, "lsrs": [P1, P2, P3],
        "trigger": "FRPLA", "technique": "BRPR", "complete": True, "stop_reason": "NTH-RV",
        "start_point": PE1, "next_hop": PE2, "ingress_null": False, "buddy": False,
        "estimated_length": None, "steps": 3, "probe_count": 15, "cached": False,
    }]


def test_json_labels_attempts_and_reserved():
    (tr,), _ = verbose_case()
    t = to_json([tr])["traces"][0]
    assert t["hops"][2]["attempts"] == [{"trigger": "RTLA", "reason": "NTH-RV", "buddy": False}]
    assert (t["hops"][3]["reserved"], t["hops"][3]["er_ttl"]) == (True, None)
    assert t["tunnels"] == []
    (tr,), _ = run([trace_of(DST, [te(R1, 255), te(PE1, 254),
                                   te(PE2, 250, 1, [(16, 0, 1, 252)]), echo(DST, 60)]),
                    trace_of(PE2, [te(R1, 255), te(PE1, 254), echo(PE2, 250)])],
                   {R1: 255, PE1: 254, PE2: 250, DST: 60})
    t = to_json([tr])["traces"][0]
    assert t["hops"][2]["labels"] == [{"label": 16, "tc": 0, "s": 1, "ttl": 252}]
    assert t["tunnels"][0]["class"] == "OPA"
    assert (t["tunnels"][0]["estimated_length"], t["tunnels"][0]["complete"],
            t["tunnels"][0]["stop_reason"]) == (3, False, "NTH-RV")
