"""Every [MPLS,...] tag sc_tnt can print is read by every parser of its dump, and scored.

The combinations come from sc_tnt's print code (sc_tnt.c scamper_trace_tnt_print), a hop's
flags printed in this order:

* an ingress/egress (no LSR flag) prints every class it has, in the order EXP OPA IMP INV;
  an LSR prints one class (IMP, else OPA, else EXP, else INV) or none (an inferred LSR);
* then LSR, EGR, ING (at least one: sc_tnt prints a tag only for a hop with a role);
* INCOMP? (the tunnel's revelation was cut short);
* the triggers: BTFC alone (an invisible hop found by brute force, no trigger flag), or any
  of DUPIP RTLA FRPLA MTTL in that order;
* INF for an LSR without class, otherwise QTTL and/or UTURN when the hop has the IMP class;
* a revealed hop's technique DPR, BRPR, BUDDY or UNKN and step=N.

One test per (kind of hop, classes, roles) shape, each going over every trigger set, INCOMP?,
implicit signature and technique that shape can carry.
"""
from __future__ import annotations

import itertools

import pytest

from testbed.detectors import tnt_text
from testbed.detectors.base import ResultError, mpls_tag, tunnels_from_tags
from testbed.peers.dump import compare, parse_dump

CLASS_ORDER = ("EXP", "OPA", "IMP", "INV")
SEARCH = ("DUPIP", "RTLA", "FRPLA", "MTTL")


def _subsets(items):
    return [list(c) for k in range(len(items) + 1) for c in itertools.combinations(items, k)]


LER_SHAPES = [("end", cls, roles) for cls in _subsets(CLASS_ORDER) if cls
              for roles in (["EGR"], ["ING"], ["EGR", "ING"])]
LSR_SHAPES = [("lsr", cls, roles) for cls in ([], ["IMP"], ["OPA"], ["EXP"], ["INV"])
              for roles in (["LSR"], ["LSR", "EGR"], ["LSR", "ING"], ["LSR", "EGR", "ING"])]


def _tags(kind, classes, roles):
    """Every tag text of one shape, with the fields it must read as."""
    inferred = kind == "lsr" and not classes
    trigger_sets = [["BTFC"]] + _subsets(SEARCH)
    sigs = [[]] if inferred or "IMP" not in classes else [["QTTL"], ["UTURN"], ["QTTL", "UTURN"]]
    techs = [None, "DPR", "BRPR", "BUDDY", "UNKN"] if kind == "lsr" or "EGR" in roles else [None]
    for trig, sig, inc, tech in itertools.product(trigger_sets, sigs, (False, True), techs):
        parts = [*classes, *roles, *(["INCOMP?"] if inc else []), *trig, *(["INF"] if inferred else []), *sig,
                 *([tech, "step=2"] if tech else [])]
        yield "[" + ",".join(["MPLS", *parts]) + "]", {
            "classes": classes, "roles": roles, "triggers": trig + sig, "inferred": inferred,
            "incomplete": inc, "technique": tech, "step": 2 if tech else None}


@pytest.mark.parametrize("kind,classes,roles", LER_SHAPES + LSR_SHAPES,
                         ids=lambda x: x if isinstance(x, str) else "-".join(x) or "none")
def test_every_parser_reads_every_tag_of_the_shape(kind, classes, roles):
    lines, want = ["trace [icmp-paris] from 11.0.0.1 to 11.0.9.9"], []
    for k, (text, fields) in enumerate(_tags(kind, classes, roles), 1):
        lab = f"H{k}" if fields["technique"] else str(k)
        lines.append(f"{lab:>3} 11.0.{k // 250}.{k % 250 + 1}        0.100 ms rTTLs=<250,250> qttl=1 {text}")
        want.append((text, fields))
    dump = "\n".join(lines) + "\n"
    (tr,) = tnt_text.parse(dump, "dump.txt")
    (pd,) = parse_dump(dump)
    assert len(tr["hops"]) == len(pd["hops"]) == len(want) > 0
    for h, p, (text, f) in zip(tr["hops"], pd["hops"], want):
        m = h["mpls"]
        got = {k: m[k] for k in f}
        assert got == f, text
        assert m["class"] == (f["classes"][0] if f["classes"] else None)
        assert m["role"] == f["roles"][0]
        assert m["trigger"] == (",".join(f["triggers"]) or None)
        assert p["mpls"] == text[1:-1].split(",")[1:]           # the side-by-side parser keeps the parts
    # the same dump against itself: no difference (compare reads every combination too)
    assert compare(parse_dump(dump), parse_dump(dump)) == []


def test_the_tnt_dump_of_a_hop_between_two_lsps_is_read_and_scored_as_two_tunnels():
    """The issue-20 dump: [MPLS,EXP,EGR,ING] closes one tunnel and opens the next."""
    dump = """trace [icmp-paris] from 12.0.0.2 to 12.0.1.2
  1 12.0.0.1        0.184 ms rTTLs=<255,255> qttl=1
  2 11.0.0.1        0.100 ms rTTLs=<254,254> qttl=1 [MPLS,EXP,ING]
  3 11.0.0.3        0.186 ms rTTLs=<249,253> qttl=1 uturn=4 frpla=4 [MPLS,EXP,LSR] Labels 21 mTTL=1
  4 11.0.0.9        0.122 ms rTTLs=<250,250> qttl=1 [MPLS,EXP,EGR,ING]
  5 11.0.0.11       0.215 ms rTTLs=<245,249> qttl=1 uturn=4 frpla=4 [MPLS,EXP,LSR] Labels 19 mTTL=1
  6 11.0.0.15       0.310 ms rTTLs=<247,247> qttl=1 [MPLS,EXP,EGR]
  7 12.0.1.2        0.226 ms rTTLs=<54,54>
"""
    (tr,) = tnt_text.parse(dump, "d.txt")
    assert [(t["class"], t["ingress"], t["lsrs"], t["egress"], t["complete"]) for t in tr["tunnels"]] == [
        ("EXP", "11.0.0.1", ["11.0.0.3"], "11.0.0.9", True), ("EXP", "11.0.0.9", ["11.0.0.11"], "11.0.0.15", True)]
    # Juniper-like: the hop between is an inferred LSR, one tunnel over both runs
    (tr,) = tnt_text.parse(dump.replace("[MPLS,EXP,EGR,ING]", "[MPLS,LSR,INF]"), "d.txt")
    assert [(t["class"], t["ingress"], t["lsrs"], t["egress"]) for t in tr["tunnels"]] == [
        ("EXP", "11.0.0.1", ["11.0.0.3", "11.0.0.9", "11.0.0.11"], "11.0.0.15")]


def test_tunnels_from_tags_lsr_that_is_also_egress_and_multi_class_ends():
    def h(addr, *parts):
        return {"address": addr, "mpls": mpls_tag(list(parts), "x", 1) if parts else None}
    hops = [h("1.0.0.1", "EXP", "INV", "ING", "FRPLA"), h("1.0.0.2", "INV", "LSR", "FRPLA", "DPR", "step=1"),
            h("1.0.0.3", "IMP", "LSR", "EGR", "UTURN"), h("1.0.0.4", "IMP", "EGR", "UTURN"), h("1.0.0.5")]
    got = [(t["class"], t["ingress"], t["lsrs"], t["egress"]) for t in tunnels_from_tags(hops)]
    assert got == [("HET", "1.0.0.1", ["1.0.0.2", "1.0.0.3"], None), ("IMP", None, [], "1.0.0.4")]


@pytest.mark.parametrize("text,what", [
    ("[MPLS,EXP]", "lacks a role"),
    ("[MPLS,LSR]", "lacks a class"),
    ("[MPLS,EGR,ING]", "lacks a class"),
    ("[MPLS,EXP,LSR,FOO]", "an unknown part in the [MPLS"),
])
def test_a_tag_sc_tnt_cannot_print_is_one_line_naming_it(text, what):
    dump = f"trace [icmp-paris] from 1.0.0.1 to 1.0.0.9\n  1 1.0.0.2  0.1 ms rTTLs=<255,255> qttl=1 {text}\n"
    with pytest.raises(ResultError) as e:
        tnt_text.parse(dump, "bad.txt")
    msg = str(e.value)
    assert msg.startswith("bad.txt:2: MPLS tag: ") and what in msg and "\n" not in msg
