"""uTNT against the original TNT, hop for hop, on the same running namespace labs.

For every variant (tests/conformance/variants.py) the lab comes up under a name unique to
the test run, uTNT probes it from the vantage point's LAN tap, the original TNT from the
vantage point's namespace, with the same TNT options and destinations, and the lab goes
down. Their verbose dumps are compared per hop (testbed/peers/dump.py): address, index
(Hn for revealed hops), rTTLs, qTTL, u-turn, FRPLA, RTLA, the [MPLS,...] tags (class,
role, trigger, technique, step, INCOMP?), quoted labels, and the ATTEMPT stop reasons.
Every difference fails unless tests/conformance/differences.yaml lists it with a reason.

`make test` runs a small seeded sample (test_conformance_sample); `make conformance` all
variants (CONFORMANCE_LABS, default all; CONFORMANCE_JOBS labs at once, default 4).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pytest
import yaml

from labnames import N
from testbed.peers import tnt
from testbed.peers.dump import rule_matches
from testbed.peers.sidebyside import differences, run_pair

from .variants import variants

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.netns]


def _need_peer():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        pytest.skip(tnt.missing_reason())


def _one(v: dict, k: int) -> dict:
    name = N(f"cf{k}")
    try:
        r = run_pair(v["lab"], v["params"], v["options"], name, extra_targets=v["extra_targets"])
        return {"variant": v, "pair": r, "diffs": differences(r), "error": None}
    except Exception as e:                  # reported as a failure of this variant
        return {"variant": v, "pair": None, "diffs": [], "error": f"{type(e).__name__}: {e}"}


def listed(v: dict, d: dict, rules: list[dict]) -> dict | None:
    """The rule of differences.yaml that covers difference d of variant v, if any."""
    for r in rules:
        m = r.get("match", {})
        if m.get("lab") in (None, v["lab"]) and rule_matches(m, v["params"], v["options"], d):
            return r
    return None


REPLY_ECMP = ("the router has equal-cost paths back to the vantage point: it picks its reply's next hop by "
              "the hash of the probe it answers and answers from that interface (RFC 1812 4.3.2.4; "
              "testbed/engine/reply.py); TNT's and uTNT's probes are other flows (uTNT joins the LAN with its "
              "own address), so their replies leave by other interfaces, each dump's address and reply TTL "
              "those of one return path of the truth (reply_paths)")
# the fields of a hop that the reply's return path decides: its source, its TTLs and what TNT
# computes from them
REPLY_FIELDS = ("address", "rttls", "uturn", "frpla", "rtla")

_LABS: dict = {}           # (lab, params) -> (lab, computed control plane, {router: reply paths}), for reply_ecmp


def _rttls(hop: dict) -> tuple:
    te, er = (hop.get("rttls") or "<*,*>").strip("<>").split(",")
    return (None if te == "*" else int(te)), (None if er == "*" else int(er))


def reply_ecmp(v: dict, d: dict, hops: tuple | None) -> dict | None:
    """A rule (like differences.yaml's) covering a difference in the fields a reply's return
    path decides (REPLY_FIELDS) on a hop that both detectors saw answered by the same router
    whose replies have several return paths, when each dump's hop is one reply that router
    sends by the engine's rule (truth reply_paths): its time-exceeded's address names the
    interface of a return path whose length gives its reply TTL, its echo reply's TTL that of
    one of the router's return paths. `hops`: (TNT's hop, uTNT's hop) at that position."""
    if d["field"] not in REPLY_FIELDS or not hops or not d.get("from"):
        return None
    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.truth.report import reply_paths
    key = (v["lab"], json.dumps(v["params"], sort_keys=True))
    if key not in _LABS:
        lab = load_lab(v["lab"], v["params"])
        _LABS[key] = (lab, build(lab), {})
    lab, cp, cache = _LABS[key]
    a, b = hops
    if not a.get("address") or not b.get("address") or d["from"] not in lab.nodes:
        return None
    owner = lab.owner_of(a["address"])
    if owner is None or owner != lab.owner_of(b["address"]) or not lab.nodes[owner].is_router:
        return None
    to = lab.nodes[d["from"]].primary_address()
    if (owner, d["from"]) not in cache:
        cache[owner, d["from"]] = (reply_paths(cp, owner, to), reply_paths(cp, owner, to, kind="echo_reply"))
    te_paths, er_paths = cache[owner, d["from"]]
    if len({(p["from"], p["r"]) for p in te_paths}) < 2:
        return None                       # one return path: nothing a flow decides
    p = lab.nodes[owner].personality
    for h in (a, b):
        te, er = _rttls(h)
        if te is not None and te not in {p.ttl_time_exceeded - x["r"] + 1 for x in te_paths if x["from"] == h["address"]}:
            return None
        if er is not None and er not in {p.ttl_echo_reply - x["r"] + 1 for x in er_paths}:
            return None
    return {"reason": REPLY_ECMP}


def _hops_at(res: dict) -> dict:
    """{(vantage point, destination, position): (TNT's hop, uTNT's hop)} of a run_pair result."""
    from testbed.peers.dump import parse_dump
    out = {}
    for r in res["pair"].get("runs") or [{"from": None, "tnt": res["pair"]["tnt"]["text"],
                                          "utnt": res["pair"]["utnt"]["text"]}]:
        u = {t["dst"]: t["hops"] for t in parse_dump(r["utnt"])}
        for t in parse_dump(r["tnt"]):
            for i, (x, y) in enumerate(zip(t["hops"], u.get(t["dst"], []))):
                out[r["from"], t["dst"], i] = (x, y)
    return out


def run_variants(vs: list[dict], jobs: int, progress=None) -> dict:
    rules = yaml.safe_load((HERE / "differences.yaml").read_text())["differences"] or []
    results = []
    ctx = multiprocessing.get_context("fork")
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as ex:
        futs = [ex.submit(_one, v, k) for k, v in enumerate(vs)]
        for f in as_completed(futs):
            results.append(f.result())
            if progress:
                progress(f"conformance: {len(results)}/{len(vs)} labs ({time.monotonic() - t0:.0f} s)")
    failures, covered, errors = [], [], []
    traces = hops = 0
    from testbed.peers.dump import parse_dump
    for res in results:
        v = res["variant"]
        if res["error"]:
            errors.append(f"{v['id']}: {res['error']}")
            continue
        t = parse_dump(res["pair"]["tnt"]["text"])
        traces += len(t)
        hops += sum(len(x["hops"]) for x in t)
        at = _hops_at(res)
        for d in res["diffs"]:
            r = listed(v, d, rules) or reply_ecmp(v, d, at.get((d.get("from"), d["dst"], d["pos"])))
            (covered if r else failures).append((v["id"], d, r and r.get("reason")))
    return {"labs": len(results), "traces": traces, "hops": hops, "failures": failures,
            "covered": covered, "errors": errors, "results": results,
            "seconds": time.monotonic() - t0}


def _report(out: dict) -> str:
    lines = [f"conformance: {out['labs']} labs, {out['traces']} traces, {out['hops']} hops compared in "
             f"{out['seconds']:.0f} s; {len(out['covered'])} listed differences, "
             f"{len(out['failures'])} unlisted, {len(out['errors'])} errors"]
    for vid, d, _ in out["failures"][:60]:
        lines.append(f"  DIFF {vid} from={d.get('from')} dst={d['dst']} pos={d['pos']} {d['field']}: tnt={d['tnt']!r} utnt={d['utnt']!r}")
    for e in out["errors"][:20]:
        lines.append(f"  ERROR {e}")
    return "\n".join(lines)


def _check(out: dict):
    report = _report(out)
    print(report, file=sys.stderr)
    dump = os.environ.get("CONFORMANCE_REPORT")
    if dump:
        Path(dump).write_text(json.dumps({k: v for k, v in out.items() if k != "results"}, indent=1,
                                         default=str))
    assert not out["errors"] and not out["failures"], report


def test_conformance_sample():
    """A seeded sample of 3 variants (one TNT run each, labs concurrently)."""
    _need_peer()
    _check(run_variants(variants(3, seed=int(os.environ.get("CONFORMANCE_SEED", "11"))), jobs=3))


@pytest.mark.conformance
def test_conformance_full():
    _need_peer()
    n = os.environ.get("CONFORMANCE_LABS")
    vs = variants(int(n) if n else None, seed=int(os.environ.get("CONFORMANCE_SEED", "11")))
    out = run_variants(vs, jobs=int(os.environ.get("CONFORMANCE_JOBS", "4")),
                       progress=lambda m: print(m, file=sys.stderr, flush=True))
    assert out["labs"] >= min(300, len(vs))
    _check(out)
