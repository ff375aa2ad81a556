"""The original TNT's dumps recorded on namespace labs, kept as test data, and uTNT compared
with them on any machine (TNT built or not).

A record is one lab variant: the lab (library name), its ``--set`` parameters, TNT's options,
and per vantage point the destinations, TNT's Paris flow (scamper's ICMP checksum or UDP
ports, from the warts file; on a lab with one path per destination the flow picks no path)
and TNT's verbose dump (``sc_tnt -v -d 1``).  TNT's output is our measurement; none of its
code is here.

    # re-record (needs root and the original TNT built, see testbed/peers/tnt.py)
    .venv/bin/python -m testbed.peers.recorded two-lsps tests/golden/tnt/two-lsps.json
    .venv/bin/python -m testbed.peers.recorded back-to-back tests/golden/tnt/back-to-back.json

:func:`utnt_sim_dump` runs uTNT on the sim runtime with the same options and destinations;
:func:`compare_record` gives the per-hop differences (testbed/peers/dump.py), and
:func:`scores` both detectors' scores (the TNT dump read by testbed/detectors/tnt_text.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .dump import compare, parse_dump, warts_traces

FORMAT = "tnt-recorded"
VERSION = 1


def _flows(warts: str) -> list[dict]:
    """TNT's Paris flow of every trace in a warts file: the source, the method, the ICMP
    checksum (icmp-paris) or the UDP ports (udp-paris)."""
    return [{k: d[k] for k in ("dst", "src", "method", "icmp_sum", "sport", "dport") if k in d}
            for d in warts_traces(warts) or [] if d.get("dst")]


def record_variant(lab: str, params: dict, options: list[str], name: str) -> dict:
    """Run TNT (and uTNT, for reference) on a namespace lab; the record of the variant."""
    import shutil

    from .sidebyside import run_pair
    r = run_pair(lab, params, options, name, keep_warts=True)
    try:
        runs = []
        for run, warts in zip(r["runs"], r["tnt"]["warts"]):
            runs.append({"from": run["from"], "targets": [t["dst"] for t in parse_dump(run["tnt"])],
                         "tnt_flows": [f for f in _flows(warts) if f["dst"]],
                         "tnt_dump": run["tnt"]})
    finally:
        for w in r["tnt"]["warts"]:
            shutil.rmtree(str(Path(w).parent), ignore_errors=True)
    return {"lab": lab, "params": dict(params), "options": list(options), "runs": runs}


def load(path: str | Path) -> list[dict]:
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a recorded TNT file (format {doc.get('format')!r}, expected {FORMAT!r})")
    return doc["variants"]


def utnt_sim_dumps(variant: dict) -> list[str]:
    """uTNT's verbose dump per recorded vantage point, on the sim runtime, same options."""
    from testbed.controlplane import build
    from testbed.detectors.utnt import probe_sim, utnt_args
    from testbed.lab import load_lab
    from utnt.jsonload import dump_text_json
    model = load_lab(variant["lab"], variant["params"])
    cp = build(model)
    out = []
    for run in variant["runs"]:
        doc = probe_sim(model, cp, run["from"], run["targets"], utnt_args(variant["options"]))
        out.append(dump_text_json(doc["traces"], verbose=True))
    return out


def compare_record(variant: dict, utnt_dumps: list[str]) -> list[dict]:
    """Per-hop differences between the recorded TNT dumps and uTNT's, per vantage point."""
    return [{"from": run["from"], **d} for run, u in zip(variant["runs"], utnt_dumps)
            for d in compare(parse_dump(run["tnt_dump"]), parse_dump(u))]


def scores(variant: dict, utnt_dumps: list[str]) -> tuple[dict, dict]:
    """(TNT's score, uTNT's score) of the variant: both dumps read by the same parser
    (testbed/detectors/tnt_text.py) and scored against the same truth."""
    from testbed.controlplane import build
    from testbed.detectors import tnt_text
    from testbed.experiments.board import COLUMNS
    from testbed.scored import score_probed
    from testbed.lab import load_lab
    model = load_lab(variant["lab"], variant["params"])
    cp = build(model)
    out = []
    for dumps in ([r["tnt_dump"] for r in variant["runs"]], utnt_dumps):
        traces = []
        for run, text in zip(variant["runs"], dumps):
            for t in tnt_text.parse(text, f"{variant['lab']} from {run['from']}"):
                t["vantage_point"] = run["from"]
                traces.append(t)
        _, score, _ = score_probed(model, cp, traces, detector="tnt")
        out.append({k: score["totals"][k] for k in COLUMNS if k in score["totals"]})
    return out[0], out[1]


VARIANTS = {
    "two-lsps": [({"vendor": v, "mode": m}, opts)
                 for v in ("cisco", "juniper", "linux") for m in ("explicit", "abrupt")
                 for opts in ([],)] + [({"vendor": "cisco", "mode": "abrupt"}, ["-b"]),
                                       ({"vendor": "juniper", "mode": "explicit"}, ["-m", "udp-paris"])],
    # one router the egress of the west LSP and the ingress of the east one (a router in two domains)
    "back-to-back": [({"vendor": v, "mode": m, "popping": p}, [])
                     for v in ("cisco", "juniper") for m in ("explicit", "abrupt") for p in ("php", "uhp")],
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in VARIANTS:
        print(f"usage: python -m testbed.peers.recorded {{{'|'.join(VARIANTS)}}} OUT.json", file=sys.stderr)
        return 2
    import os
    lab, out = argv
    variants = []
    for k, (params, opts) in enumerate(VARIANTS[lab]):
        name = f"rec{os.getpid() % 10000}-{k}"
        print(f"recording {lab} {params} {opts}", file=sys.stderr)
        variants.append(record_variant(lab, params, opts, name))
    from . import tnt
    doc = {"format": FORMAT, "version": VERSION, "recorded_with": f"sc_tnt from {tnt.find_prefix()}",
           "runtime": "netns", "variants": variants}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out}: {len(variants)} variants", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
