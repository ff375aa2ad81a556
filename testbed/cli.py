"""`testbed`: the command line of uTNT-lab.

Every command that reports takes --json. Errors are one line each (file:line: field: what
is wrong and how to fix it); exit status 2 for bad input, 1 for a failed run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from testbed.errors import LabError, TestbedError


def _load(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    return load_lab(args.lab, parse_sets(getattr(args, "set", None)))


def _cp(lab):
    from testbed.controlplane import build
    return build(lab)


def _print_json(obj):
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


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
        raise TestbedError(f"{lab.source}: no node '{args.node}'; nodes: {', '.join(lab.nodes)}")
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


def cmd_truth(args):
    lab = _load(args)
    from testbed.truth import ground_truth
    gt = ground_truth(_cp(lab))
    if args.json:
        return _print_json(gt)
    c = _console()
    for p in gt["probes"]:
        c.print(f"[bold]{p['from']} -> {p['to_name']} ({p['to']})[/]" + ("  [yellow]ECMP[/]" if p["ecmp"] else ""))
        for path in p["paths"]:
            c.print("  forward: " + " ".join(s["node"] + ("*" if s["labels"] else "") for s in path["forward"]))
            for t in path["tunnels"]:
                c.print(f"  tunnel [cyan]{t['class']}[/]{' (silent LSRs)' if t['silent'] else ''}: "
                        f"{t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}  ({t['ending']})")
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
    src = args.source or (lab.probes[0].source if lab.probes else lab.hosts[0].name)
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
    lab = _load(args)
    jobs = probes_of(lab, args.source, args.dest)
    if args.runtime is None:
        args.runtime = "sim"
        if os.geteuid() == 0:
            from testbed.runtimes.netns import api
            if api.status(args.name or lab.name).get("status") not in ("down", "orphaned"):
                args.runtime = "netns"
    traces = probe_lab(lab, args.runtime, jobs, args.utnt, name=args.name)
    doc = {"format": "utnt", "version": 1, "lab": lab.name, "runtime": args.runtime, "traces": traces}
    if args.json:
        return _print_json(doc)
    from utnt.jsonload import dump_text_json
    sys.stdout.write(dump_text_json(traces))


def cmd_run(args):
    from testbed.experiments.report import print_run
    from testbed.experiments.run import run_lab
    lab = _load(args)
    from testbed.experiments.campaign import is_campaign
    if is_campaign(lab) and args.source is None and args.dest is None and args.control_plane != "frr":
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
                      converge_timeout=args.converge_timeout, up_progress=up_progress)
    finally:
        if up_progress is not None:
            up_progress.close()
    if args.json:
        return _print_json(doc)
    print_run(doc, lab, c)


def cmd_scoreboard(args):
    from testbed.experiments.board import scoreboard
    c = _console()
    labs = args.labs or None
    if args.json:
        rows = scoreboard(args.runtime, labs, extra=args.utnt)
        if getattr(args, "plot", None):
            from testbed.experiments.charts import scoreboard_bars
            scoreboard_bars(rows, args.plot, args.runtime)
        return _print_json(rows)
    from rich.progress import Progress
    with Progress(transient=True, console=_console()) as p:
        names = labs or __import__("testbed.lab", fromlist=["lab_names"]).lab_names()
        task = p.add_task("scoring the library", total=len(names))

        def step(name):
            p.update(task, description=f"scoring {name}")
            p.advance(task)
        rows = scoreboard(args.runtime, labs, progress=step, extra=args.utnt)
    from rich.table import Table
    t = Table(title=f"uTNT scoreboard ({args.runtime} runtime)")
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
    if args.json:
        doc = sweep(args.labs, frpla, rtla, sets)
    else:
        from rich.progress import Progress
        with Progress(console=_console(), transient=True) as p:
            task = p.add_task("sweeping thresholds (brute force, sim)", total=None)

            def step(done, total):
                p.update(task, completed=done, total=total)
            doc = sweep(args.labs, frpla, rtla, sets, progress=step)
    out = args.output or f"sweep-{'-'.join(args.labs)}.json"
    write_json(doc, out)
    png = args.plot or out[:-5] + ".png" if out.endswith(".json") else out + ".png"
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


def cmd_graph(args):
    from testbed.experiments.graph import draw, load_result
    from testbed.truth import ground_truth
    lab = _load(args)
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
    p = argparse.ArgumentParser(prog="testbed", description="uTNT-lab: MPLS labs with known ground truth")
    sub = p.add_subparsers(dest="cmd", required=True)

    def lab_cmd(name, fn, help_):
        s = sub.add_parser(name, help=help_)
        s.add_argument("lab", help="library lab name or path to a lab .yaml file")
        s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
        s.add_argument("--json", action="store_true", help="machine-readable output")
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
        s.add_argument("--from", dest="source", help="vantage point (host)")
        s.add_argument("--to", dest="dest", help="destination (node or address)")
        s.add_argument("--name", help="running lab name (netns; default: the lab's name)")
        if name == "run":
            from testbed.runtimes.netns_cli import add_control_plane_args
            add_control_plane_args(s)
    s = sub.add_parser("scoreboard", help="uTNT's score over every library lab")
    s.add_argument("labs", nargs="*", help="only these labs")
    s.add_argument("--runtime", choices=["netns", "sim"], default="sim")
    s.add_argument("--json", action="store_true")
    s.add_argument("--plot", metavar="FILE.png", help="also draw the scoreboard as grouped bars")
    s.set_defaults(fn=cmd_scoreboard)
    s = sub.add_parser("sweep", help="TNT's threshold calibration (TP/FP/FN/TN per cell), JSON and a PNG")
    s.add_argument("labs", nargs="+", help="labs to sweep together")
    s.add_argument("--frpla", default="0..4", help="FRPLA thresholds, e.g. 0..4 (default) or 1,3")
    s.add_argument("--rtla", default="0..4", help="RTLA thresholds, e.g. 0..4 (default)")
    s.add_argument("--set", action="append", metavar="KEY=RANGE", help="lab parameter grid, e.g. lsrs=1..5")
    s.add_argument("-o", "--output", help="JSON file (default sweep-LABS.json)")
    s.add_argument("--plot", help="PNG file (default: the JSON name with .png)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_sweep)
    s = lab_cmd("graph", cmd_graph, "draw the topology, domains and ground-truth tunnels by class")
    s.add_argument("-o", "--output", required=True, help="lab.png or lab.svg")
    s.add_argument("--result", help="a `testbed run --json` file to overlay what uTNT saw")
    s = sub.add_parser("signatures", help="the per-lab signature table (generated from sim runs)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_signatures)
    from testbed.runtimes.netns_cli import add_parsers as add_netns_parsers   # up status exec capture down
    add_netns_parsers(sub)
    from testbed.export.cli import add_parsers as add_export_parsers          # export deploy (containerlab)
    add_export_parsers(sub)
    from testbed.realnet_cli import add_parsers as add_realnet_parsers        # import campaign (real networks)
    add_realnet_parsers(sub)
    return p


def main(argv=None):
    argv, utnt_extra = _split_dashdash(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    args.utnt = utnt_extra
    try:
        args.fn(args)
    except LabError as e:
        for pr in e.problems:
            print(f"error: {pr}", file=sys.stderr)
        return 2
    except TestbedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
