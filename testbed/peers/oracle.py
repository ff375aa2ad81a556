"""The recorded oracle: the original TNT's dumps on generated labs, kept as test data, and
uTNT replayed on the sim runtime against them.

Recording (`make oracle`, where TNT is built): every variant is a cell of the evaluation
matrix (testbed/experiments/matrix.py, multi-domain axes included) drawn with a seed, with
one of TNT's option sets. Its lab comes up as network namespaces under a name unique to the
recording, the original TNT runs from every vantage point of the lab's probes (run_tnt), and
one file per lab is written (gzip JSON, ``NNNN-<lab name>.json.gz``)::

    {"format": 1, "index", "seed", "cell", "params", "lab_sha256", "options",
     "runs": [{"from", "targets", "method", "src", "flow", "dport",
               "dump": sc_tnt -d 1, "verbose": sc_tnt -v -d 1, "seconds"}],
     "up_seconds", "seconds", "recorded"}

``params`` rebuild the lab (matrix.lab_text), ``lab_sha256`` is the digest of that text (a
record whose lab the generator no longer writes the same is refused, not compared). ``flow``
is the header field scamper holds for its Paris flow, as the warts file has it: the ICMP
checksum (icmp-paris) or the UDP source port (udp-paris, ``dport`` beside it); every trace of
one scamper process, revelation traces included, uses the same (scamper's default port).

Replay (the test, every machine): the lab is rebuilt from its params, uTNT runs on the sim
runtime from the same vantage point (the same source address) with TNT's options and
``--flow`` set to TNT's flow, and its verbose dump is compared with TNT's hop for hop
(testbed/peers/dump.py compare). A recording is resumable: a record of the lab text and options
the generator gives now is kept, anything else (missing, stale) is recorded.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

FORMAT = 1
# TNT's options, each given to both detectors (the defaults weigh most); the conformance
# variants draw from the same list
OPTIONS = ([], [], [], ["-b"], ["-f", "2"], ["-f", "4"], ["-r", "2"], ["-m", "udp-paris"], ["-s", "2"],
           ["-c", "3"])
DEFAULT_SEED = 20
LABS = 1400                  # labs recorded by default: about 5,200 traces


def variants(n: int, seed: int = DEFAULT_SEED) -> list[dict]:
    """``n`` cells of the whole matrix grid drawn with ``seed``, each with an option set drawn
    with the seed and its index: ``{"index", "seed", "cell", "params", "options"}``. The draw is
    prefix-stable: the first k variants of a larger n are the k variants of n = k (a recording
    grows without re-recording what it has)."""
    from testbed.experiments.matrix import GRID, _cell, cell_id, size
    idx = random.Random(seed).sample(range(size(GRID)), n)
    out = []
    for k, i in enumerate(idx):
        params = _cell(GRID, i)
        out.append({"index": k, "seed": seed, "cell": cell_id(params), "params": params,
                    "options": list(random.Random(f"{seed}:{k}").choice(OPTIONS))})
    return out


def lab_text(params: dict) -> str:
    from testbed.experiments.matrix import lab_text as lt
    return lt(params)


def digest(params: dict) -> str:
    return hashlib.sha256(lab_text(params).encode()).hexdigest()


def file_name(v: dict) -> str:
    from testbed.experiments.matrix import lab_doc
    return f"{v['index']:04d}-{lab_doc(v['params'])['name']}.json.gz"


def warts_flows(path: str) -> list[dict]:
    """[{"src", "dst", "method", "flow", "dport"}] of every trace in a warts file."""
    from testbed.peers.dump import warts_traces
    traces = warts_traces(path)
    if traces is None:
        raise RuntimeError("sc_warts2json not found (Debian's scamper package, or TNT's prefix)")
    out = []
    for d in traces:
        icmp = d.get("method") == "icmp-echo-paris"
        out.append({"src": d.get("src"), "dst": d.get("dst"), "method": "icmp-paris" if icmp else d.get("method"),
                    # the one header field per trace that Paris traceroute holds for the flow
                    "flow": d.get("icmp_sum") if icmp else d.get("sport"), "dport": d.get("dport")})
    return out


def record_one(v: dict, folder: Path, name: str) -> dict:
    """Bring the variant's lab up as namespaces under ``name``, run the original TNT from
    every vantage point, tear it down (every exit path), write the record file."""
    from testbed.targets import probes_of
    from testbed.lab import load_lab
    from testbed.peers import tnt
    from testbed.runtimes.netns import api
    labdir = Path(tempfile.mkdtemp(prefix=f"oracle-lab-{name}-"))
    lab_file = labdir / f"{name}.yaml"        # the namespaces' engine workers read the lab from its file
    lab_file.write_text(lab_text(v["params"]))
    try:
        return _record(v, folder, name, load_lab(str(lab_file), {}), probes_of, tnt, api)
    finally:
        shutil.rmtree(labdir, ignore_errors=True)


def _record(v, folder, name, lab, probes_of, tnt, api) -> dict:
    jobs = probes_of(lab)
    t0 = time.monotonic()
    api.up(lab, name=name, workers=1)
    up_s = time.monotonic() - t0
    runs = []
    try:
        for src, targets in jobs:
            out = Path(tempfile.mkdtemp(prefix=f"oracle-{name}-"))
            r = tnt.run_tnt(name, src, targets, v["options"], out_dir=out)
            try:
                flows = warts_flows(r["warts"])
            finally:
                shutil.rmtree(out, ignore_errors=True)
            ports = {(f["method"], f["flow"], f["dport"]) for f in flows}
            if len(ports) != 1 or next(iter(ports))[1] is None:
                raise RuntimeError(f"{name} from {src}: TNT's traces use {len(ports)} flows, not one: {sorted(ports)}")
            (method, flow, dport), = ports
            runs.append({"from": src, "targets": targets, "method": method, "src": flows[0]["src"],
                         "flow": flow, "dport": dport, "dump": r["text"], "verbose": r["verbose_text"],
                         "seconds": round(r["elapsed_s"], 2)})
    finally:
        api.down(name)
    rec = {"format": FORMAT, "index": v["index"], "seed": v["seed"], "cell": v["cell"], "params": v["params"],
           "lab_sha256": digest(v["params"]), "options": v["options"], "runs": runs,
           "up_seconds": round(up_s, 2), "seconds": round(time.monotonic() - t0, 2),
           "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path = Path(folder) / file_name(v)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt") as f:
        json.dump(rec, f, separators=(",", ":"))
    os.replace(tmp, path)
    return rec


def load(folder: Path) -> list[dict]:
    out = []
    for p in sorted(Path(folder).glob("*.json.gz")):
        with gzip.open(p, "rt") as f:
            rec = json.load(f)
        rec["file"] = p.name
        out.append(rec)
    return out


def replay(rec: dict, lab=None, cp=None) -> list[dict]:
    """uTNT on the sim runtime, per recorded run: [{"from", "tnt", "utnt"}] verbose dumps."""
    from testbed.controlplane import build
    from testbed.detectors.utnt import probe_sim, utnt_args
    from testbed.experiments.matrix import lab_for
    from utnt.jsonload import dump_text_json
    lab = lab or lab_for(rec["params"])
    cp = cp or build(lab)
    out = []
    for run in rec["runs"]:
        args = utnt_args(list(rec["options"]) + ["--flow", str(run["flow"])])
        doc = probe_sim(lab, cp, run["from"], run["targets"], args)
        out.append({"from": run["from"], "tnt": run["verbose"], "utnt": dump_text_json(doc["traces"], verbose=True)})
    return out


def compare_record(rec: dict) -> tuple[list[dict], int, int]:
    """(differences with "from", traces, hops) of uTNT replayed against one record."""
    from .dump import compare, parse_dump
    diffs, traces, hops = [], 0, 0
    for r in replay(rec):
        t = parse_dump(r["tnt"])
        traces += len(t)
        hops += sum(len(x["hops"]) for x in t)
        u = parse_dump(r["utnt"])
        by_dst = {x["dst"]: x["hops"] for x in t}
        by_dst_u = {x["dst"]: x["hops"] for x in u}
        for d in compare(t, u):
            hops_t = by_dst.get(d["dst"], [])
            # TNT's tags of the hop, so a rule can name the hop a difference is on
            hops_u = by_dst_u.get(d["dst"], [])
            at = d["pos"]
            tags = hops_t[at]["mpls"] if at is not None and at < len(hops_t) else None
            diffs.append({"from": r["from"], **d, "tnt_mpls": tags,
                          "tnt_addr": hops_t[at]["address"] if at is not None and at < len(hops_t) else None,
                          "utnt_addr": hops_u[at]["address"] if at is not None and at < len(hops_u) else None,
                          # the hop before it in TNT's dump is silent ('*')
                          "after_silent": bool(at and at <= len(hops_t) and hops_t[at - 1]["address"] is None)})
    return diffs, traces, hops


def _current(path: Path, v: dict) -> bool:
    """A record is there for this variant, of the lab the generator writes now (else it is
    recorded again)."""
    if not path.exists():
        return False
    try:
        with gzip.open(path, "rt") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return False
    return rec.get("lab_sha256") == digest(v["params"]) and rec.get("options") == v["options"]


def main(argv=None) -> int:
    """python -m testbed.peers.oracle [--labs N] [--seed S] [--jobs J] [--folder DIR]: record
    (resumable: labs already recorded are skipped)."""
    import argparse
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor, as_completed
    ap = argparse.ArgumentParser(prog="oracle")
    ap.add_argument("--labs", type=int, default=LABS)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--jobs", type=int, default=16, help="labs recorded at once (they wait on TNT's pings)")
    ap.add_argument("--folder", default=str(Path(__file__).resolve().parents[2] / "tests" / "oracle" / "labs"))
    ap.add_argument("--redo", action="store_true", help="re-record every lab (else skip the ones there)")
    a = ap.parse_args(argv)
    from testbed.peers.tnt import find_prefix, missing_reason
    if find_prefix() is None:
        print(f"oracle: {missing_reason()}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("oracle: recording brings labs up as network namespaces: run as root", file=sys.stderr)
        return 2
    folder = Path(a.folder)
    folder.mkdir(parents=True, exist_ok=True)
    vs = variants(a.labs, a.seed)
    keep = {file_name(v) for v in vs}
    if a.redo:
        for p in folder.glob("*.json.gz"):
            p.unlink()
    todo = [v for v in vs if not _current(folder / file_name(v), v)]
    stale = [p for p in folder.glob("*.json.gz") if p.name not in keep]
    for p in stale:                      # records of another draw (seed, count or generator)
        p.unlink()
    print(f"oracle: {len(vs) - len(todo)} of {len(vs)} labs recorded, {len(todo)} to go, {a.jobs} at once",
          file=sys.stderr, flush=True)
    tag = f"o{os.getpid() % 10000:04d}"
    t0 = time.monotonic()
    done = errors = 0
    with ProcessPoolExecutor(max_workers=a.jobs, mp_context=multiprocessing.get_context("fork")) as ex:
        futs = {ex.submit(record_one, v, folder, f"{tag}-{v['index']}"): v for v in todo}
        for f in as_completed(futs):
            v = futs[f]
            try:
                rec = f.result()
                done += 1
                print(f"oracle: {done}/{len(todo)} {file_name(v)} {rec['seconds']:.0f} s "
                      f"({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
            except Exception as e:          # the lab is skipped (and retried by the next run)
                errors += 1
                print(f"oracle: ERROR {file_name(v)} {v['cell']}: {type(e).__name__}: {e}", file=sys.stderr,
                      flush=True)
    print(f"oracle: {done} recorded, {errors} errors in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
