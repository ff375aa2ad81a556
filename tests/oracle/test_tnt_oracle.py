"""uTNT against the original TNT's recorded dumps, on every machine (TNT built or not).

tests/oracle/labs/ holds the original TNT's verbose dumps (sc_tnt -v -d 1) recorded on
namespace labs drawn from the evaluation matrix (testbed/peers/oracle.py; `make oracle`
re-records where TNT is built). Each record's lab is rebuilt from its generator parameters
(its digest must match: the generator writes the same lab file), uTNT runs on the sim runtime
from the same vantage points with TNT's options and TNT's own Paris flow, and the dumps are
compared hop for hop (testbed/peers/dump.py: address, Hn index, rTTLs, qTTL, u-turn, FRPLA,
RTLA, [MPLS,...] tags, quoted labels, ATTEMPT stop reasons). Every difference fails unless
tests/oracle/differences.yaml lists it with the sc_tnt rule behind it.

The records are split in CHUNKS tests, so pytest-xdist spreads them over its workers.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from testbed.peers import oracle
from testbed.peers.dump import rule_matches

HERE = Path(__file__).resolve().parent
LABS = HERE / "labs"
CHUNKS = 12
RECORDS = oracle.load(LABS) if LABS.is_dir() else []


def _rules() -> list[dict]:
    return yaml.safe_load((HERE / "differences.yaml").read_text())["differences"] or []


ROLES = {"ING", "EGR", "LSR"}


def _tags(x) -> set:
    return {t for t in x if isinstance(t, str)} if isinstance(x, list) else set()


def listed(rec: dict, d: dict, rules: list[dict], ecmp_traces: set | None = None) -> dict | None:
    """The rule of differences.yaml covering difference d of a record, if any. A rule's
    ``match``: ``params`` (a subset of the cell's parameters), ``options``, ``field``, ``tnt``
    and ``utnt`` (the two values as compare() gives them); for the [MPLS,...] field,
    ``tnt_has`` (tags all in TNT's), ``utnt_lacks`` (tags none in uTNT's) and
    ``utnt_lacks_one_of`` (uTNT's misses at least one of them), ``shared_hop`` (TNT's tags hold
    two roles of ING, EGR, LSR and uTNT's not all of them), ``utnt_has``, ``at_shared_hop`` (a
    difference in another field on a hop whose TNT tags hold two roles), ``reply_ecmp`` (the
    hop's router has equal-cost paths back to the vantage point), ``after_reply_ecmp`` (the
    trace, (from, dst) in ``ecmp_traces``, has a reply TTL that differs by reply_ecmp),
    ``after_silent`` (the hop before it in TNT's dump is silent). A rule with ``pending`` (a
    uTNT fix under way, named there) covers its differences unless ORACLE_STRICT=1."""
    strict = os.environ.get("ORACLE_STRICT") == "1"
    for r in rules:
        if strict and r.get("pending"):
            continue
        m = r.get("match", {})
        if not _tags(d["tnt"]) >= set(m.get("tnt_has", [])):
            continue
        if _tags(d["utnt"]) & set(m.get("utnt_lacks", [])):
            continue
        if "utnt_lacks_one_of" in m and _tags(d["utnt"]) >= set(m["utnt_lacks_one_of"]):
            continue
        if not _tags(d["utnt"]) >= set(m.get("utnt_has", [])):
            continue
        if m.get("shared_hop"):          # TNT gives the hop two roles, uTNT not both of them
            roles = _tags(d["tnt"]) & ROLES
            if len(roles) < 2 or _tags(d["utnt"]) >= roles:
                continue
        if m.get("at_shared_hop") and len(_tags(d.get("tnt_mpls")) & ROLES) < 2:
            continue                     # a difference on a hop TNT gives two roles
        if m.get("reply_ecmp") and not _reply_ecmp(rec, d):
            continue
        if m.get("after_silent") and not d.get("after_silent"):
            continue
        if m.get("after_reply_ecmp") and (d["from"], d["dst"]) not in (ecmp_traces or ()):
            continue
        if rule_matches(m, rec["params"], rec["options"], d):
            return r
    return None


_CP: dict = {}


def _reply_ecmp(rec: dict, d: dict) -> bool:
    """The router of the hop (TNT's address, else uTNT's) has equal-cost paths back to the
    vantage point somewhere on its way (any router there with two next hops or more)."""
    from ipaddress import IPv4Address

    from testbed.controlplane import build
    from testbed.experiments.matrix import lab_for
    if rec["file"] not in _CP:
        _CP.clear()
        lab = lab_for(rec["params"])
        _CP[rec["file"]] = (lab, build(lab))
    lab, cp = _CP[rec["file"]]
    hop = d.get("tnt_addr") or d.get("utnt_addr")
    node = lab.owner_of(hop) if hop else None
    if node is None or d["from"] not in lab.nodes:
        return False
    back = IPv4Address(str(lab.nodes[d["from"]].primary_address()))
    todo, seen = [node], set()
    while todo:
        n = todo.pop()
        if n in seen or n not in cp.tables:
            continue
        seen.add(n)
        r = cp[n].lookup(back)
        if r is None:
            continue
        if len(r.nexthops) > 1:
            return True
        todo += [h.neighbor for h in r.nexthops if h.gateway is not None and h.neighbor]
    return False


def check(records: list[dict]) -> dict:
    rules = _rules()
    out = {"labs": 0, "traces": 0, "hops": 0, "stale": [], "unlisted": [], "listed": []}
    for rec in records:
        if rec["lab_sha256"] != oracle.digest(rec["params"]):
            out["stale"].append(rec["file"])
            continue
        diffs, traces, hops = oracle.compare_record(rec)
        out["labs"] += 1
        out["traces"] += traces
        out["hops"] += hops
        ecmp = {(d["from"], d["dst"]) for d in diffs if d["field"] == "rttls" and _reply_ecmp(rec, d)}
        for d in diffs:
            r = listed(rec, d, rules, ecmp)
            if r:
                out["listed"].append((rec["file"], rec["cell"], rec["options"], d, r))
            else:
                out["unlisted"].append((rec["file"], rec["cell"], rec["options"], d))
    return out


def report(out: dict) -> str:
    lines = [f"oracle: {out['labs']} labs, {out['traces']} traces, {out['hops']} hops; {len(out['listed'])} listed "
             f"differences, {len(out['unlisted'])} unlisted, {len(out['stale'])} stale records"]
    pending = [x for x in out["listed"] if x[4].get("pending")]
    if pending:
        lines.append(f"  {len(pending)} listed as pending a uTNT fix ({pending[0][4]['pending']}): ORACLE_STRICT=1 "
                     "fails on them")
    for f, cell, opts, d in out["unlisted"][:40]:
        lines.append(f"  DIFF {f} {cell} {' '.join(opts)} from={d['from']} dst={d['dst']} pos={d['pos']} "
                     f"{d['field']}: tnt={d['tnt']!r} utnt={d['utnt']!r}")
    if out["stale"]:
        lines.append(f"  STALE (the generator writes another lab now; `make oracle` re-records): "
                     f"{', '.join(out['stale'][:10])}")
    return "\n".join(lines)


def test_oracle_recorded():
    """The committed oracle is there and as large as promised (1,000+ labs, 5,000+ traces are
    the full recording; a machine may hold a pilot while re-recording: ORACLE_MIN_LABS)."""
    want = int(os.environ.get("ORACLE_MIN_LABS", "1000"))
    assert len(RECORDS) >= want, f"{len(RECORDS)} labs recorded in {LABS}, want {want}: `make oracle`"
    assert all(r["format"] == oracle.FORMAT for r in RECORDS)
    assert any(r["params"].get("domains", 1) > 1 for r in RECORDS), "no multi-domain lab recorded"


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_utnt_matches_recorded_tnt(chunk):
    recs = RECORDS[chunk::CHUNKS]
    if not recs:
        pytest.skip("no records in this chunk")
    out = check(recs)
    assert out["traces"] > 0
    assert not out["unlisted"] and not out["stale"], report(out)


def test_listed_rules_match_real_differences():
    """Each rule of differences.yaml names the sc_tnt rule behind it, and a difference it would
    cover is not 'the same': a rule with tnt == utnt could only hide nothing or everything."""
    for r in _rules():
        assert r.get("reason") and "sc_tnt" in r["reason"], r
        m = r.get("match", {})
        assert not ("tnt" in m and "utnt" in m and m["tnt"] == m["utnt"]), r


def test_compare_sees_a_changed_hop():
    """The comparison is not blind: one recorded hop's address changed is a difference."""
    rec = next((r for r in RECORDS if r["runs"] and "trace [" in r["runs"][0]["verbose"]), None)
    if rec is None:
        pytest.skip("no records")
    run = dict(rec["runs"][0])
    lines = run["verbose"].splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.strip()[:1].isdigit() and len(ln.split()) > 1
             and ln.split()[1] != "*")
    tok = lines[k].split()
    lines[k] = lines[k].replace(tok[1], "203.0.113.77", 1)
    bad = {**rec, "runs": [{**run, "verbose": "\n".join(lines) + "\n"}, *rec["runs"][1:]]}
    diffs, _, _ = oracle.compare_record(bad)
    assert any(d["field"] == "address" and d["tnt"] == "203.0.113.77" for d in diffs)


def test_a_record_of_another_lab_is_stale_not_compared():
    rec = RECORDS[0] if RECORDS else None
    if rec is None:
        pytest.skip("no records")
    out = check([{**rec, "lab_sha256": "0" * 64}])
    assert out["stale"] == [rec["file"]] and out["labs"] == 0


def test_rules_cover_only_what_they_name(monkeypatch):
    """The matchers of differences.yaml, on differences built by hand: a shared-hop rule needs
    TNT to give the hop two roles, a pending rule stops covering under ORACLE_STRICT=1."""
    rec = {"params": {"domains": 2}, "options": [], "file": "x"}
    shared = {"match": {"field": "mpls", "shared_hop": True}, "pending": "a fix", "reason": "sc_tnt"}
    two = {"from": "vp1", "dst": "d", "pos": 3, "field": "mpls", "tnt": ["EXP", "IMP", "EGR", "ING", "QTTL"],
           "utnt": ["IMP", "EGR", "QTTL"]}
    one = {**two, "tnt": ["EXP", "EGR"], "utnt": ["EXP", "LSR"]}
    same_roles = {**two, "utnt": ["EXP", "EGR", "ING"]}
    monkeypatch.delenv("ORACLE_STRICT", raising=False)     # (the run itself may be strict)
    assert listed(rec, two, [shared]) is shared
    assert listed(rec, one, [shared]) is None
    assert listed(rec, same_roles, [shared]) is None
    monkeypatch.setenv("ORACLE_STRICT", "1")
    assert listed(rec, two, [shared]) is None
    monkeypatch.delenv("ORACLE_STRICT")
    qttl = {"match": {"field": "mpls", "tnt_has": ["IMP", "LSR", "QTTL"], "utnt_has": ["EGR"], "utnt_lacks": ["LSR"]},
            "reason": "sc_tnt"}
    d = {**two, "tnt": ["IMP", "LSR", "QTTL"], "utnt": ["IMP", "EGR", "QTTL"]}
    assert listed(rec, d, [qttl]) is qttl
    assert listed(rec, {**d, "utnt": ["IMP", "LSR", "QTTL"]}, [qttl]) is None
    assert listed(rec, {**d, "field": "attempts"}, [qttl]) is None
    ecmp = {"match": {"field": "mpls", "after_reply_ecmp": True}, "reason": "sc_tnt"}
    assert listed(rec, d, [ecmp], {("vp1", "d")}) is ecmp
    assert listed(rec, d, [ecmp], {("vp2", "d")}) is None


def test_the_draw_is_prefix_stable():
    """Growing the recording keeps what it has: the first k of n variants are the k of n = k."""
    a, b = oracle.variants(5), oracle.variants(40)
    assert [(v["cell"], v["options"], oracle.file_name(v)) for v in a] == \
        [(v["cell"], v["options"], oracle.file_name(v)) for v in b[:5]]
    assert any(v["params"]["domains"] > 1 for v in b)
