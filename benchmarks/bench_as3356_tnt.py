"""AS3356 (topohub caida:3356, 404 routers) side by side: the original TNT and uTNT, hop line
for hop line (issue 20).

The lab is imported as the README's example (`testbed import caida:3356`) and comes up as
network namespaces; from each chosen vantage point the original TNT runs toward its 30
destinations (TNT's defaults), then uTNT with TNT's own Paris flow (`--flow`, the ICMP checksum
scamper held, read from TNT's warts file) on the same namespaces, and once more on the sim
runtime (the recorded oracle's replay). Each uTNT dump is compared with TNT's hop for hop
(testbed/peers/dump.py: addresses, reply TTLs, qTTL, u-turn, FRPLA, labels, tags, attempts;
RTTs aside), and the differing traces are sorted by what differs first: the base trace's
forward hops, a reply TTL of a base hop (the reply's own equal-cost return path), or only the
revelation. All three dumps are scored against the truth (causes named by the scorer).

    .venv/bin/python benchmarks/bench_as3356_tnt.py [--vps vp1,vp4,vp5] [--lab FILE] [--json OUT]

Needs root and the original TNT built (README "The original TNT as a peer"); the lab is torn
down on every exit path. Not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testbed.controlplane import build  # noqa: E402
from testbed.detectors import tnt_text  # noqa: E402
from testbed.detectors.utnt import probe_netns, probe_sim, utnt_args  # noqa: E402
from testbed.scored import score_probed  # noqa: E402
from testbed.targets import probes_of  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.peers import tnt  # noqa: E402
from testbed.peers.dump import compare, parse_dump  # noqa: E402
from testbed.peers.oracle import warts_flows  # noqa: E402
from testbed.runtimes.netns import api  # noqa: E402
from utnt.jsonload import dump_text_json  # noqa: E402


def run(lab_file: str, vps: list[str], name: str) -> dict:
    model = load_lab(lab_file, {})
    jobs = [j for j in probes_of(model) if j[0] in vps]
    t0 = time.monotonic()
    api.up(model, name=name, workers=1)
    up_s = time.monotonic() - t0
    runs = []
    try:
        for src, targets in jobs:
            out = Path(tempfile.mkdtemp(prefix="as3356-tnt-"))
            try:
                r = tnt.run_tnt(name, src, targets, [], out_dir=out)
                flows = warts_flows(r["warts"])
            finally:
                shutil.rmtree(out, ignore_errors=True)
            (flow,) = {f["flow"] for f in flows}
            u = probe_netns(name, src, targets, ["--flow", str(flow)])
            runs.append({"from": src, "targets": targets, "flow": flow, "tnt": r["verbose_text"],
                         "tnt_seconds": round(r["elapsed_s"], 1),
                         "utnt_netns": dump_text_json(u["traces"], verbose=True)})
    finally:
        api.down(name)
    cp = build(model)
    for r in runs:
        doc = probe_sim(model, cp, r["from"], r["targets"], utnt_args(["--flow", str(r["flow"])]))
        r["utnt_sim"] = dump_text_json(doc["traces"], verbose=True)
    return {"lab": lab_file, "up_seconds": round(up_s, 1), "runs": runs}


def _base(trace: dict, field: str) -> list:
    return [h[field] for h in trace["hops"] if not str(h["label"]).startswith("H")]


def compare_runs(doc: dict, key: str) -> dict:
    """Hop lines and traces identical between TNT's dump and uTNT's (`key`), and what the
    differing traces differ in first."""
    lines = same = traces = identical = 0
    kinds: Counter = Counter()
    for r in doc["runs"]:
        mine = {t["dst"]: t for t in parse_dump(r[key])}
        for t in parse_dump(r["tnt"]):
            u = mine.get(t["dst"])
            diffs = compare([t], [u] if u else [])
            bad = {d["pos"] for d in diffs if d.get("pos") is not None}
            n = max(len(t["hops"]), len(u["hops"]) if u else 0)
            lines += n
            same += n - len(bad)
            traces += 1
            identical += not diffs
            if not diffs:
                continue
            if u is None or _base(t, "address") != _base(u, "address"):
                kinds["forward hops"] += 1
            elif _base(t, "rttls") != _base(u, "rttls"):
                kinds["a base hop's reply TTL (its equal-cost return path)"] += 1
            else:
                kinds["the revelation only"] += 1
    return {"traces": traces, "identical_traces": identical, "hop_lines": lines, "identical_hop_lines": same,
            "differing_traces_by_first_difference": dict(kinds)}


def scores(doc: dict, key: str) -> dict:
    model = load_lab(doc["lab"], {})
    cp = build(model)
    traces = []
    for r in doc["runs"]:
        for t in tnt_text.parse(r[key], f"{key} from {r['from']}"):
            t["vantage_point"] = r["from"]
            traces.append(t)
    _, score, _ = score_probed(model, cp, traces, detector="tnt")
    tt = score["totals"]
    out = {k: tt[k] for k in ("present", "undetectable", "detected", "lsrs_present", "lsrs_found", "false_tunnels",
                              "false_lsrs")}
    out["verdicts"] = dict(Counter(f"{v['outcome']}" + (f" ({v['cause']})" if v.get("cause") else "")
                                   for s in score["traces"] for v in s["verdicts"]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vps", default="vp1,vp4,vp5", help="vantage points (comma-separated)")
    ap.add_argument("--lab", help="the imported lab file (default: import caida:3356 into a temporary folder)")
    ap.add_argument("--json", metavar="OUT", help="write the dumps and figures here")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    if tnt.find_prefix() is None:
        raise SystemExit(tnt.missing_reason())
    tmp = None
    lab = a.lab
    if lab is None:
        from testbed.importers import import_lab, write
        tmp = Path(tempfile.mkdtemp(prefix="as3356-"))
        lab = str(tmp / "as3356.yaml")
        write(import_lab("caida:3356"), lab)
    try:
        doc = run(lab, a.vps.split(","), f"as3356t{os.getpid() % 10000}")
        doc["compare"] = {k: compare_runs(doc, k) for k in ("utnt_netns", "utnt_sim")}
        doc["scores"] = {k: scores(doc, k) for k in ("tnt", "utnt_netns", "utnt_sim")}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    for k, c in doc["compare"].items():
        print(f"TNT vs {k}: {c['identical_traces']}/{c['traces']} traces identical, "
              f"{c['identical_hop_lines']}/{c['hop_lines']} hop lines; differing first in: "
              f"{c['differing_traces_by_first_difference']}")
    for k, s in doc["scores"].items():
        print(f"{k}: {s}")
    if a.json:
        Path(a.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
