"""`testbed`: the command line of uTNT-lab.

Every command that reports takes --json. Errors are one line each (file:line: field: what
is wrong and how to fix it); exit status 2 for bad input, 1 for a failed run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from testbed.cliargs import SEED, add_lab_file_args, int_in, load_lab_arg as _load, print_json as _print_json
from testbed.cliargs import fail_if_unvouched as _fail_if_unvouched
from testbed.errors import InputError, LabError, TestbedError


def _cp(lab):
    from testbed.controlplane import build
    return build(lab)


def _console():
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


# ---------------------------------------------------------------- commands
def cmd_list(args):
    from testbed.lab import lab_names, load_lab
    rows = []
    for name in lab_names():
        try:
            lab = load_lab(name)
            classes = sorted({t["class"] for t in (lab.expect or {}).get("tunnels", [])}) or ["none"]
            rows.append({"lab": name, "description": lab.description, "routers": len(lab.routers),
                         "tunnels": classes})
        except LabError as e:
            rows.append({"lab": name, "description": f"INVALID: {e.problems[0]}", "routers": 0, "tunnels": []})
    if args.json:
        return _print_json(rows)
    from rich.table import Table
    t = Table(title="uTNT-lab topology library (make testbed TOPO=<lab>)")
    for c in ("lab", "routers", "tunnel classes", "description"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["lab"], str(r["routers"]), ", ".join(r["tunnels"]), r["description"])
    _console().print(t)


def cmd_validate(args):
    lab = _load(args)
    cp = _cp(lab)
    from testbed.truth import ground_truth
    gt = ground_truth(cp)
    n = sum(len(p["paths"][0]["tunnels"]) for p in gt["probes"] if p["paths"])
    from testbed.truth.report import check_expect
    failed = check_expect(lab, gt["probes"], gt.get("probes6"))
    if failed:
        raise LabError(failed)
    out = {"lab": lab.name, "file": lab.source, "valid": True, "routers": len(lab.routers),
           "hosts": len(lab.hosts), "links": len(lab.links), "domains": list(lab.domains),
           "probes": sum(len(p.targets) for p in lab.probes), "tunnels_on_probes": n}
    if args.json:
        return _print_json(out)
    print(f"{lab.source}: valid: {out['routers']} routers, {out['hosts']} hosts, {out['links']} links, "
          f"{len(out['domains'])} MPLS domains, {out['probes']} probes crossing {n} tunnels")


def cmd_show(args):
    lab = _load(args)
    if args.node not in lab.nodes:
        raise InputError(f"{lab.source}: no node '{args.node}'; nodes: {', '.join(lab.nodes)}")
    cp = _cp(lab)
    node = lab.nodes[args.node]
    t = cp[args.node].to_json()
    t.update({"vendor": node.vendor, "domain": node.domain, "loopback": str(node.loopback) if node.loopback else None,
              "interfaces": [{"name": i.name, "address": str(i.address), "mac": i.mac.hex(":"),
                              "link": i.link.name, "cost": i.cost,
                              "peers": [p.node for p in i.peers()]} for i in node.interfaces],
              "mpls": {"ldp": node.ldp, "popping": node.popping, "ttl_propagate": node.ttl_propagate,
                       "rfc4950": node.rfc4950, "icmp_tunneling": node.icmp_tunneling} if node.domain else None})
    if args.json:
        return _print_json(t)
    from rich.table import Table
    c = _console()
    c.print(f"[bold]{node.name}[/] ({node.kind}, {node.vendor}{', domain ' + node.domain if node.domain else ''}"
            f"{', loopback ' + str(node.loopback) if node.loopback else ''})")
    if t["mpls"]:
        c.print("MPLS: " + ", ".join(f"{k}={v}" for k, v in t["mpls"].items()))
    it = Table(title="interfaces")
    for col in ("name", "address", "link", "cost", "peers"):
        it.add_column(col)
    for i in t["interfaces"]:
        it.add_row(i["name"], i["address"], i["link"], str(i["cost"]), ", ".join(i["peers"]))
    c.print(it)
    ft = Table(title="FIB")
    for col in ("prefix", "kind", "next hops", "via"):
        ft.add_column(col)
    for r in t["fib"]:
        hops = "; ".join(f"{h['interface']} {h['gateway'] or 'on-link'}"
                         + (f" push {h['push']}" if h["push"] else "") for h in r["nexthops"]) or "local"
        ft.add_row(r["prefix"], r["kind"], hops, r["via"])
    c.print(ft)
    if t["lfib"]:
        lt = Table(title="LFIB")
        for col in ("in", "FEC", "out", "next hop"):
            lt.add_column(col)
        for e in t["lfib"]:
            for h in e["hops"]:
                lt.add_row(str(e["in"]), e["fec"], str(h["out"]), f"{h['interface']} {h['gateway']} ({h['neighbor']})")
        c.print(lt)


def _first_lsr(path, t) -> dict:
    return next(s for s in path["forward"] if s["node"] == t["lsrs"][0])


def cmd_truth(args):
    lab = _load(args)
    from testbed.truth import ground_truth
    gt = ground_truth(_cp(lab))
    if args.json:
        return _print_json(gt)
    c = _console()
    for p in gt["probes"] + gt.get("probes6", []):          # probes6: a 6PE lab's probes over IPv6
        c.print(f"[bold]{p['from']} -> {p['to_name']} ({p['to']})[/]" + ("  [yellow]ECMP[/]" if p["ecmp"] else "")
                + ("  [magenta]IPv6, not probed by TNT/uTNT (IPv4 only)[/]" if p.get("family") == "ipv6" else ""))
        for path in p["paths"]:
            c.print("  forward: " + " ".join(s["node"] + ("*" if s["labels"] else "") for s in path["forward"]))
            for t in path["tunnels"]:
                c.print(f"  tunnel [cyan]{t['class']}[/]{' (silent LSRs)' if t['silent'] else ''}: "
                        f"{t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}  ({t['ending']})"
                        + (f"  6PE, labels {'/'.join(map(str, _first_lsr(path, t)['labels']))}"
                           if t.get("family") == "6pe" and t["lsrs"] else ""))
            for sg in path.get("segments", []):
                c.print(f"  zero-LSR segment ({sg['ending']}, not a tunnel): {sg['ingress']} -> {sg['egress']}"
                        f"  seen as: {sg['seen_as']}")
            if not path["tunnels"]:
                c.print("  no tunnel")
        for r in p["return"]:
            c.print("  return:  " + " ".join(r))


def cmd_render(args):
    lab = _load(args)
    from pathlib import Path

    from testbed.frr.render import render_lab
    out = Path(args.output or f"build/{lab.name}/frr")
    files = render_lab(lab, out)
    if args.json:
        return _print_json({"lab": lab.name, "files": [str(f) for f in files]})
    print(f"{len(files)} FRR files for {len(lab.routers)} routers in {out}/")


def cmd_trace(args):
    """A scripted Paris traceroute through the sim (scapy probes), with fingerprints."""
    lab = _load(args)
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    from testbed.experiments.targets import probe_source
    src = probe_source(lab, args.source)
    dst = args.dest or (str(lab.probes[0].targets[0]) if lab.probes else None)
    if dst in lab.nodes:
        dst = str(lab.nodes[dst].primary_address())
    pr = ScriptedProber(Sim(lab, _cp(lab)), src)
    hops = pr.trace(dst, method=args.method)
    rows = [{"ttl": h.ttl, "address": h.address, "node": lab.owner_of(h.address) if h.address else None,
             "icmp_type": h.icmp_type, "reply_ttl": h.reply_ttl, "er_ttl": h.er_ttl, "qttl": h.quoted_ttl,
             "labels": h.labels, "frpla": h.frpla, "uturn": h.uturn} for h in hops]
    if args.json:
        return _print_json({"lab": lab.name, "from": src, "to": dst, "hops": rows})
    print(f"trace [{args.method}] from {src} to {dst} (sim)")
    for r in rows:
        if not r["address"]:
            print(f"{r['ttl']:3d}  *")
            continue
        extra = f" qttl={r['qttl']}" if r["qttl"] is not None else ""
        if r["labels"]:
            extra += " Labels " + " | ".join(f"{l} mTTL={t}" for l, t in r["labels"])
        print(f"{r['ttl']:3d}  {r['address']:15s} {r['node']:6s} rTTLs=<{r['reply_ttl']},{r['er_ttl'] or '*'}>"
              f"{extra} frpla={r['frpla']} uturn={r['uturn']}")


def _split_dashdash(argv):
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def cmd_probe(args):
    from testbed.experiments.run import probe_lab, probes_of
    from testbed.runtimes.netns_cli import probe_target
    from testbed.experiments.parallel import load_campaign
    try:
        lab, args.runtime, args.name = probe_target(args, _load)     # the running state decides
    except TestbedError:
        if args.campaign:           # a bad campaign file is told first (exit 2), whether or not the lab is up
            load_campaign(_load(args), args.campaign)
        raise
    if args.campaign:               # checked against the lab that runs (an instance's name is no lab file)
        load_campaign(lab, args.campaign)
    if args.parallel or args.campaign or args.repeat > 1 or (args.source and (args.source == "all"
                                                                              or "," in args.source)):
        from testbed.experiments.parallel import cmd_probe_many     # many instances at once (issue 16)
        return cmd_probe_many(args, lab)
    jobs = probes_of(lab, args.source, args.dest)
    skipped: list = []
    traces = probe_lab(lab, args.runtime, jobs, args.utnt, name=args.name, seed=args.seed, skipped=skipped)
    bad = skipped + [{"vantage_point": t.get("vantage_point"), "dst": t.get("dst"), "why": t["unvouched"]}
                     for t in traces if t.get("unvouched")]
    from testbed.experiments.score_files import lab_digest
    doc = {"format": "utnt", "version": 1, "lab": lab.name, "lab_digest": lab_digest(lab), "runtime": args.runtime,
           "traces": traces}
    if bad:
        doc["unvouched"] = bad
    if getattr(args, "scamper_json", False):
        from utnt.jsonload import trace_from_json
        from utnt.scamper_json import dump_scamper_json
        sys.stdout.write(dump_scamper_json(trace_from_json(t) for t in traces))
    elif args.json:
        _print_json(doc)
    else:
        from utnt.jsonload import dump_text_json
        sys.stdout.write(dump_text_json(traces))
    _fail_if_unvouched(bad)


def cmd_run(args):
    from testbed.experiments.report import print_run
    from testbed.experiments.run import run_lab
    lab = _load(args)
    from testbed.experiments.campaign import is_campaign
    if is_campaign(lab) and args.source is None and args.dest is None and args.control_plane != "frr" \
            and args.detector == "utnt" and not args.detector_cmd:
        from testbed.realnet_cli import run_as_campaign      # several vantage points: one campaign
        return run_as_campaign(args, lab)
    c = _console()
    progress = None if args.json else (lambda msg: c.print(f"[dim]» {msg}[/]"))
    up_progress = None
    if not args.json and args.runtime == "netns":
        from rich.console import Console

        from testbed.runtimes.netns_cli import Reporter
        up_progress = Reporter(Console(stderr=True, highlight=False))
    try:
        doc = run_lab(lab, runtime=args.runtime, extra=args.utnt, source=args.source, dest=args.dest,
                      name=args.name, progress=progress, control_plane=args.control_plane,
                      converge_timeout=args.converge_timeout, up_progress=up_progress,
                      detector=args.detector, detector_cmd=args.detector_cmd, fmt=args.format,
                      seed=args.seed)
    finally:
        if up_progress is not None:
            up_progress.close()
    from testbed.truth.report import check_expect
    failed = check_expect(lab, doc["truth"], None, doc["score"]["totals"])     # the lab file's expect: block
    if args.json:
        if failed:
            doc["expect_failed"] = [str(p) for p in failed]
        _print_json(doc)
    else:
        print_run(doc, lab, c)
    _fail_if_unvouched(doc.get("unvouched"))
    for p in failed:
        _stderr(f"error: {p}")
    if failed:
        raise SystemExit(2)
    from testbed.experiments.history import record
    record(args, "run", doc, doc["score"]["totals"], args.utnt)
    from testbed.experiments.gate import check
    check(args, [(lab.name, doc["score"]["totals"])])


def cmd_score(args):
    """Score result files (any detector's output) against a lab's ground truth."""
    from testbed.experiments.score_files import score_files
    if args.name:
        lab_arg, results = None, args.items
    else:
        if len(args.items) < 2:
            raise TestbedError("give the lab and at least one result file: testbed score LAB RESULTS... "
                               "(or --name RUNNING RESULTS...)")
        lab_arg, results = args.items[0], args.items[1:]
    docs, lab = score_files(lab_arg, results, fmt=args.format, sets=args.set, running=args.name,
                            force=getattr(args, "force", False))
    from testbed.experiments.gate import check
    if args.json:
        _print_json(docs[0] if len(docs) == 1 else {"lab": lab.name, "results": docs})
    else:
        from testbed.experiments.report import print_comparison, print_run
        c = _console()
        for doc in docs:
            print_run(doc, lab, c)
        if len(docs) > 1:
            print_comparison(docs, lab, c)
    from testbed.experiments.history import record
    for doc in docs:
        record(args, "score", doc, doc["score"]["totals"])
    check(args, [(f"{lab.name} {path}", doc["score"]["totals"]) for path, doc in zip(results, docs)])


def _runs_limit(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 100000:
        raise argparse.ArgumentTypeError("a whole number from 1 to 100000")
    return n


def cmd_runs(args):
    from testbed.experiments.history import print_runs, runs
    rows = runs(lab=args.lab, detector=args.detector, limit=args.limit)
    if args.json:
        return _print_json(rows)
    print_runs(rows, _console())


def cmd_diff(args):
    from testbed.experiments.diff import diff, load_pair, print_diff
    a, b = load_pair(args.a, args.b, force=args.force)
    d = diff(a, b)
    if args.json:
        _print_json(d)
    else:
        print_diff(d, _console())
    if args.strict and d["regressions"]:
        sys.stdout.flush()
        print(f"below the bar: {d['regressions']} tunnel(s) right in {args.a} and not in {args.b}", file=sys.stderr)
        raise SystemExit(3)


def cmd_scoreboard(args):
    from testbed.experiments.board import scoreboard
    c = _console()
    labs = args.labs or None
    if args.detector != "utnt" and args.runtime != "netns":
        raise TestbedError(f"--detector {args.detector} runs in the netns runtime only; add --runtime netns")
    if args.json:
        rows = scoreboard(args.runtime, labs, extra=args.utnt, detector=args.detector, seed=args.seed,
                          workers=args.workers, scheduler=args.scheduler)
        if getattr(args, "plot", None):
            from testbed.experiments.charts import scoreboard_bars
            scoreboard_bars(rows, args.plot, args.runtime)
        _print_json(rows)
        return _gate_rows(args, rows)
    from rich.progress import Progress
    with Progress(transient=True, console=_console()) as p:
        names = labs or __import__("testbed.lab", fromlist=["lab_names"]).lab_names()
        task = p.add_task("scoring the library", total=len(names))

        def step(name):
            p.update(task, description=f"scoring {name}")
            p.advance(task)
        rows = scoreboard(args.runtime, labs, progress=step, extra=args.utnt, detector=args.detector, seed=args.seed,
                          workers=args.workers, scheduler=args.scheduler)
    from rich.table import Table
    from testbed.detectors.views import label
    t = Table(title=f"{label(args.detector)} scoreboard ({args.runtime} runtime)")
    t.add_column("lab")
    for col in ("tunnels", "detected", "class", "ingress", "egress", "LSRs", "hidden revealed", "false tun.",
                "false LSRs", "undetectable", "probes"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["lab"], str(r["present"]), str(r["detected"]), str(r["class_correct"]), str(r["ingress_correct"]),
                  str(r["egress_correct"]), f"{r['lsrs_found']}/{r['lsrs_present']}",
                  f"{r['hidden_lsrs_revealed']}/{r['hidden_lsrs_present']}", str(r["false_tunnels"]),
                  str(r["false_lsrs"]), str(r["undetectable"]), str(r["probes"]))
    c.print(t)
    if getattr(args, "plot", None):
        from testbed.experiments.charts import scoreboard_bars
        scoreboard_bars(rows, args.plot, args.runtime)
        c.print(f"wrote {args.plot}")
    _gate_rows(args, rows)


def _gate_rows(args, rows):
    """Exit 1 when a lab's run could not vouch for traces (as `run` does), else the bar: a
    scoreboard row carries its lab's score totals (without the trace counts, which a
    scoreboard row folds into `incomplete_traces`)."""
    _fail_if_unvouched([{**u, "vantage_point": f"{u['lab']}: {u.get('vantage_point')}"}
                        for r in rows for u in r.get("unvouched") or []])
    from testbed.experiments.gate import check
    check(args, [(r["lab"], {"unmatched_traces": 0, "off_path_traces": 0, **r}) for r in rows])


def cmd_sweep(args):
    from testbed.experiments.sweep import parse_range, plot, sweep, write_json
    from testbed.lab.loader import parse_sets
    frpla = parse_range(args.frpla, "--frpla")
    rtla = parse_range(args.rtla, "--rtla")
    sets = {k: parse_range(str(v), f"--set {k}") if isinstance(v, str) else [v]
            for k, v in parse_sets(args.set).items()}
    for lab in args.labs:
        from testbed.lab.loader import find_lab
        find_lab(lab)
    ex = {"workers": args.workers, "scheduler": args.scheduler}
    if args.json:
        doc = sweep(args.labs, frpla, rtla, sets, seed=args.seed, **ex)
    else:
        from rich.progress import Progress
        with Progress(console=_console(), transient=True) as p:
            task = p.add_task("sweeping thresholds (brute force, sim)", total=None)

            def step(done, total):
                p.update(task, completed=done, total=total)
            doc = sweep(args.labs, frpla, rtla, sets, progress=step, seed=args.seed, **ex)
    out = args.output or f"sweep-{'-'.join(args.labs)}.json"
    write_json(doc, out)
    png = args.plot or (out[:-5] + ".png" if out.endswith(".json") else out + ".png")
    plot(doc, png)
    doc["files"] = {"json": out, "png": png}
    if args.json:
        return _print_json(doc)
    from rich.table import Table
    t = Table(title=f"TNT calibration on {', '.join(args.labs)}: TP/FP/FN/TN per cell (brute force, sim)")
    t.add_column("FRPLA \\ RTLA")
    for r in rtla:
        t.add_column(f">= {r}", justify="center")
    grid = {(g["frpla"], g["rtla"]): g for g in doc["grid"]}
    for f in frpla:
        t.add_row(f">= {f}", *[f"{grid[(f, r)]['TP']}/{grid[(f, r)]['FP']}/{grid[(f, r)]['FN']}/{grid[(f, r)]['TN']}"
                              for r in rtla])
    c = _console()
    c.print(t)
    c.print(f"wrote {out} and {png}")


def cmd_matrix(args):
    from testbed.experiments.matrix import parse_grid, run_matrix, size, to_markdown, write_json
    from testbed.lab.loader import parse_sets
    grid = parse_grid({k: v for k, v in parse_sets(args.set).items()})
    limit = None if args.all else args.limit
    c = _console()
    if args.json:
        doc = run_matrix(grid, seed=args.seed, limit=limit, runtime=args.runtime, workers=args.workers,
                         scheduler=args.scheduler)
    else:
        from rich.progress import Progress
        n = size(grid) if limit is None else min(limit, size(grid))
        with Progress(console=c, transient=True) as p:
            task = p.add_task(f"matrix: {n} of {size(grid)} cells on {args.runtime}", total=n)

            def step(done, total, r):
                p.update(task, completed=done, description=f"matrix: {r['cell'][:60]}")
            doc = run_matrix(grid, seed=args.seed, limit=limit, runtime=args.runtime, workers=args.workers,
                             progress=step, scheduler=args.scheduler)
    if args.output:
        write_json(doc, args.output)
    if args.json:
        return _print_json(doc)
    s = doc["summary"]
    c.print(f"{s['cells']} labs of a {doc['grid_size']}-cell grid (seed {doc['seed']}, {doc['runtime']}, "
            f"{'Dask' if doc['executor'] == 'dask' else str(doc['workers']) + ' workers'}) in {doc['seconds']} s: {s['perfect']} perfect, {len(s['failing'])} failing, "
            f"{len(s['errors'])} errors")
    print(to_markdown(s))
    for k, v in s["explained"].items():
        c.print(f"  explained {v['count']:5d} x {k}: {v['rule']}", soft_wrap=True)
    for f in s["failing"][:args.show]:
        c.print(f"[red]failing[/] {f['cell']}", soft_wrap=True)
        for p in f["problems"][:4]:
            c.print(f"    {p}", soft_wrap=True, markup=False)
    for e in s["errors"][:args.show]:
        c.print(f"[red]error[/] {e['cell']}: {e['error']}", soft_wrap=True)


def cmd_graph(args):
    from testbed.experiments.graph import draw, load_result
    from testbed.truth import ground_truth
    lab = _load(args)
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise InputError(f"-o {args.output}: the folder {folder} does not exist; create it or choose another")
    truth = ground_truth(_cp(lab))
    result = load_result(args.result) if args.result else None
    draw(lab, truth, args.output, result)
    if args.json:
        return _print_json({"lab": lab.name, "file": args.output})
    print(f"wrote {args.output}")


def cmd_signatures(args):
    from testbed.tools.signatures import signature_table
    rows = signature_table(progress=not args.json)
    if args.json:
        return _print_json(rows)
    from testbed.tools.signatures import to_markdown
    print(to_markdown(rows))


# ---------------------------------------------------------------- parser
def build_parser():
    from testbed.experiments.gate import add_args as add_gate_args
    from testbed.experiments.history import add_args as add_history_args
    p = _Parser(prog="testbed", description="uTNT-lab: MPLS labs with known ground truth")
    from testbed import __version__
    p.add_argument("--version", action="version", version=f"testbed (uTNT-lab) {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    def lab_cmd(name, fn, help_):
        s = sub.add_parser(name, help=help_)
        s.add_argument("lab", help="library lab name or path to a lab .yaml file")
        s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
        s.add_argument("--json", action="store_true", help="machine-readable output")
        add_lab_file_args(s)
        s.set_defaults(fn=fn)
        return s

    s = sub.add_parser("list", help="the topology library")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_list)
    lab_cmd("validate", cmd_validate, "check a lab file (schema, references, addressing, control plane)")
    s = lab_cmd("show", cmd_show, "a router's interfaces, FIB and LFIB")
    s.add_argument("node")
    lab_cmd("truth", cmd_truth, "ground truth: paths and tunnels of every probe")
    s = lab_cmd("render", cmd_render, "render FRR configs (router-configs/ templates)")
    s.add_argument("-o", "--output", help="output folder (default build/LAB/frr)")
    s = lab_cmd("trace", cmd_trace, "scripted Paris traceroute through the sim runtime")
    s.add_argument("--from", dest="source")
    s.add_argument("--to", dest="dest")
    s.add_argument("-m", "--method", default="icmp-paris", choices=["icmp-paris", "udp-paris"])
    for name, fn, help_ in (("probe", cmd_probe, "attach uTNT to a lab and print its traces"),
                            ("run", cmd_run, "up, probe every probe with uTNT, score against the truth, down")):
        s = lab_cmd(name, fn, help_)
        s.add_argument("--runtime", choices=["netns", "sim"], default="netns" if name == "run" else None,
                       help="default: netns for run; for probe, netns if the lab is up, else sim")
        s.add_argument("--from", dest="source", help="vantage point (host)" + (
            "; with probe also 'all' or vp1,vp2 (one instance each)" if name == "probe" else ""))
        s.add_argument("--to", dest="dest", help="destination (node or address)")
        s.add_argument("--name", help="running lab name (netns; default: the lab's name)")
        if name == "probe":
            s.add_argument("--scamper-json", action="store_true", help="uTNT's traces as scamper JSON, one per line")
        s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces")
        if name == "run":
            from testbed.runtimes.netns_cli import add_control_plane_args
            add_control_plane_args(s)
            add_gate_args(s)
            add_history_args(s)
            s.add_argument("--detector", default="utnt", choices=["utnt", "tnt", "scamper", "traceroute"],
                           help="who probes (default utnt; the others run in the vantage point's namespace, netns only)")
            s.add_argument("--detector-cmd", metavar="'CMD ... {dst}'",
                           help="your own detector, run per destination in the vantage point's namespace")
            s.add_argument("--format", help="format of --detector-cmd's output (default: detected): "
                           "utnt-json, tnt-text, scamper-json, traceroute")
        if name == "probe":
            from testbed.experiments.parallel import add_probe_args      # --parallel --campaign --repeat
            add_probe_args(s)
    s = sub.add_parser("score", help="score detector output files against a lab's ground truth")
    s.add_argument("items", nargs="+", metavar="LAB RESULTS",
                   help="the lab (library name or file; left out with --name) and the result files ('-': stdin)")
    s.add_argument("--format", help="utnt-json, tnt-text, scamper-json or traceroute (default: detected per file)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter of the lab (repeatable)")
    s.add_argument("--name", metavar="RUNNING", help="score against the running lab of this name (its file and "
                   "parameters)")
    s.add_argument("--force", action="store_true", help="score a result recorded on another lab, or on the lab "
                   "file as it was before an edit (refused without it)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    add_gate_args(s)
    add_history_args(s)
    s.set_defaults(fn=cmd_score)
    s = sub.add_parser("diff", help="two scored runs of one lab (two detectors, or two versions) per trace and "
                                    "per verdict")
    s.add_argument("a", metavar="A.json", help="`testbed run --json` or `testbed score --json` output")
    s.add_argument("b", metavar="B.json", help="the same, of the same lab")
    s.add_argument("--force", action="store_true", help="compare runs of different labs or parameters anyway")
    s.add_argument("--strict", action="store_true", help="exit 3 when B got a tunnel wrong that A got right")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=cmd_diff)
    s = sub.add_parser("runs", help="the runs recorded in the local index (newest first), to compare over time")
    s.add_argument("--lab", help="only runs of this lab")
    s.add_argument("--detector", help="only runs of this detector")
    s.add_argument("--limit", type=_runs_limit, default=20, help="how many (default 20, at most 100000)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=cmd_runs)
    s = sub.add_parser("scoreboard", help="uTNT's score over every library lab")
    s.add_argument("labs", nargs="*", help="only these labs")
    s.add_argument("--runtime", choices=["netns", "sim"], default="sim")
    s.add_argument("--detector", default="utnt", choices=["utnt", "tnt", "scamper", "traceroute"],
                   help="who probes (default utnt; the others need --runtime netns)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces")
    s.add_argument("--plot", metavar="FILE.png", help="also draw the scoreboard as grouped bars")
    from testbed.experiments.pool import add_args as add_executor_args
    add_executor_args(s, "labs")
    add_gate_args(s)
    s.set_defaults(fn=cmd_scoreboard)
    s = sub.add_parser("sweep", help="TNT's threshold calibration (TP/FP/FN/TN per cell), JSON and a PNG")
    s.add_argument("labs", nargs="+", help="labs to sweep together")
    s.add_argument("--frpla", default="0..4", help="FRPLA thresholds, e.g. 0..4 (default) or 1,3")
    s.add_argument("--rtla", default="0..4", help="RTLA thresholds, e.g. 0..4 (default)")
    s.add_argument("--set", action="append", metavar="KEY=RANGE", help="lab parameter grid, e.g. lsrs=1..5")
    s.add_argument("-o", "--output", help="JSON file (default sweep-LABS.json)")
    s.add_argument("--plot", help="PNG file (default: the JSON name with .png)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, default=0, help="seed of the probes' Paris flows, the same in every cell (0)")
    from testbed.experiments.pool import add_args as add_executor_args
    add_executor_args(s, "sweep's cells")
    s.set_defaults(fn=cmd_sweep)
    s = sub.add_parser("matrix", help="labs generated from a grid, run, scored: per-class precision and recall")
    s.add_argument("--limit", type=int_in(1, 100_000), default=1000, help="cells sampled from the grid with --seed (1000)")
    s.add_argument("--all", action="store_true", help="every cell of the grid (no sampling)")
    s.add_argument("--seed", type=SEED, default=0, help="sampling seed and probe flows (0)")
    s.add_argument("--set", action="append", metavar="AXIS=V1,V2", help="narrow an axis, e.g. class=opaque,invisible")
    s.add_argument("--runtime", choices=["sim", "netns"], default="sim")
    add_executor_args(s, "labs")
    s.add_argument("--show", type=int_in(0, 100_000), default=20, help="failing cells to print (20)")
    s.add_argument("-o", "--output", help="also write the whole result as JSON here")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_matrix)
    s = lab_cmd("graph", cmd_graph, "draw the topology, domains and ground-truth tunnels by class")
    s.add_argument("-o", "--output", required=True, help="lab.png or lab.svg")
    s.add_argument("--result", help="a `testbed run --json` file to overlay what uTNT saw")
    s = sub.add_parser("signatures", help="the per-lab signature table (generated from sim runs)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_signatures)
    from testbed.runtimes.netns_cli import add_parsers as add_netns_parsers   # up status exec capture down
    add_netns_parsers(sub)
    from testbed.runtimes.bigrt.cli import add_split_parser                  # split (a lab across machines)
    add_split_parser(sub)
    from testbed.export.cli import add_parsers as add_export_parsers          # export deploy (containerlab)
    add_export_parsers(sub)
    from testbed.experiments.ondemand import add_parser as add_ondemand_parser  # ondemand (issue 16)
    add_ondemand_parser(sub)
    from testbed.runtimes.qemu.cli import add_parser as add_vm_parser           # vm (issue 16)
    add_vm_parser(sub)
    from testbed.realnet_cli import add_parsers as add_realnet_parsers        # import campaign (real networks)
    add_realnet_parsers(sub)
    return p


def main(argv=None):
    """The command line, inside a guard: whatever happens, the user gets one line (and the
    path of a saved traceback when it is our bug), never a traceback."""
    raw = list(sys.argv[1:] if argv is None else argv)
    return guard(lambda: _main(raw), json_errors="--json" in _split_dashdash(raw)[0])


def _main(raw):
    argv, utnt_extra = _split_dashdash(raw)
    args = build_parser().parse_args(argv)
    args.utnt = utnt_extra
    if getattr(args, "name", None) is not None:          # --name '' is an error, not the lab's name
        from testbed.runtimes.netns.names import check_name
        check_name(args.name)
    args.fn(args)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse's errors as one line (exit 2), like every other bad input."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it cleans up like on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminated(signum, _frame):
    raise Terminated(signum)


def guard(fn, json_errors: bool = False) -> int:
    """Run fn() and turn every way it can end into an exit status and at most one line per
    problem: 2 bad input, 1 failed run (or our bug: the traceback goes to a file), 130 Ctrl-C."""
    import signal
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # SIGTERM and SIGHUP (kill, a closed terminal) end a command like Ctrl-C does: its
        # cleanup runs (instances' taps and leases, VM folders, labs it brought up)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _terminated)
    except ValueError:
        pass
    try:
        try:
            return fn() or 0
        finally:
            sys.stdout.flush()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else _say(str(e.code), 1, json_errors))
    except Terminated as e:
        return _say(f"terminated by {signal.Signals(e.signum).name}", 128 + e.signum, json_errors)
    except KeyboardInterrupt:
        return _say("interrupted", 130, json_errors)
    except BrokenPipeError:
        # the reader went away (`--json | head`): no more output, no complaint
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except LabError as e:
        return _report(e, json_errors)
    except TestbedError as e:
        return _report(e, json_errors)
    except OSError as e:                  # the file system said no: which file, and why
        what = f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else "")
        return _say(f"{what} ({type(e).__name__})", 1, json_errors)
    except MemoryError:
        return _say("out of memory (a lab too large? the size limits are in testbed/lab/limits.yaml)", 1,
                    json_errors)
    except Exception as e:                # our bug: one line, and the traceback kept for a report
        path = _save_traceback()
        where = f"; the traceback is in {path}, please attach it to a bug report" if path else ""
        return _say(f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}{where}", 1, json_errors)


def _report(e: TestbedError, json_errors: bool) -> int:
    from testbed.errors import exit_status, problems_json
    code = exit_status(e)
    if json_errors:
        return _say_json(problems_json(e), code)
    lines = [str(p) for p in e.problems] if isinstance(e, LabError) else [" ".join(str(e).split("\n"))]
    for ln in lines:
        _stderr(f"error: {ln}")
    return code


def _say(msg: str, code: int, json_errors: bool) -> int:
    if json_errors:
        return _say_json([{"file": None, "line": None, "field": None, "message": msg}], code)
    _stderr(("error: " if code not in (130,) else "") + msg)
    return code


def _say_json(problems: list, code: int) -> int:
    try:
        json.dump({"error": True, "exit": code, "problems": problems}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    return code


def _stderr(line: str):
    from testbed.errors import printable
    try:
        print(printable(line), file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


def _save_traceback() -> str | None:
    """The traceback of the exception being handled, in a private file (0600 in a 0700 folder)."""
    import time
    import traceback
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    d = os.path.join(base, "utnt-lab")
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"testbed {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
        return path
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
