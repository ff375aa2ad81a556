"""CLI of issue 15's parts: `testbed import` (real topologies) and `testbed campaign`."""
from __future__ import annotations

from testbed.cliargs import SEED, float_in, int_in

import json
import sys

from testbed.errors import TestbedError


def _print_json(obj):
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_import(args):
    from testbed.importers import import_lab, write
    if args.list:
        from testbed.importers import topohub
        if args.list not in topohub.GROUPS:
            raise TestbedError(f"--list: one of {', '.join(topohub.GROUPS)}")
        names = topohub.names(args.list)
        return _print_json(names) if args.json else print("\n".join(names))
    if not args.source or not args.output:
        raise TestbedError("give SOURCE and -o LAB.yaml (e.g. testbed import topozoo:AttMpls -o attmpls.yaml)")
    from testbed.inputs import safe_path_text
    safe_path_text(args.output)          # a lab file named with a newline is refused by every command: never written
    doc = import_lab(args.source, name=args.name, vendors=args.vendors, share=args.mpls_share, domains=args.domains,
                     classes=args.classes, vps=args.vps, dsts=args.dsts, probes=args.probes, seed=args.seed,
                     ldp=args.ldp)
    cmd = "testbed import " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["import"] else f"testbed import {args.source}"
    write(doc, args.output, cmd)
    from testbed.lab import load_lab
    lab = load_lab(args.output, no_limits=True)       # what we wrote must be a valid lab
    from testbed.lab.loader import limits
    lim = limits()
    over = [k for k, n in (("routers", len(lab.routers)), ("links", len(lab.links))) if n > lim[k]]
    out = {"file": args.output, "lab": lab.name, "routers": len(lab.routers), "hosts": len(lab.hosts),
           "links": len(lab.links), "domains": {d: len(m.routers) for d, m in lab.domains.items()},
           "probes": sum(len(p.targets) for p in lab.probes), "dropped_disconnected": doc["_dropped"],
           "over_limits": over}
    if args.json:
        return _print_json(out)
    print(f"wrote {args.output}: {out['routers']} routers, {len(lab.links)} links, "
          f"{len(out['domains'])} MPLS domain(s), {out['hosts']} hosts, {out['probes']} probes"
          + (f" ({doc['_dropped']} routers not connected to the rest left out)" if doc["_dropped"] else "")
          + (f"; over the lab size limits ({', '.join(over)}): give --no-limits to the commands that load it"
             if over else ""))


def cmd_campaign(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    _campaign(args, load_lab(args.lab, parse_sets(args.set)))


def run_as_campaign(args, lab):
    """`testbed run` on a lab with several vantage points: the campaign, with its defaults."""
    for k, v in (("output", None), ("workers", 1), ("scheduler", None), ("no_pictures", False),
                 ("fail_link", None), ("fail_router", None)):
        if not hasattr(args, k):
            setattr(args, k, v)
    _campaign(args, lab, as_run=True)


def _failure(args, lab):
    from testbed.experiments.failure import run_with_failure
    up_progress = None
    if not args.json and args.runtime == "netns":
        from rich.console import Console

        from testbed.runtimes.netns_cli import Reporter
        up_progress = Reporter(Console(stderr=True, highlight=False))
    try:
        doc = run_with_failure(lab, link=args.fail_link, router=args.fail_router, extra=args.utnt,
                               progress=None if args.json else (lambda m: print(f"» {m}", file=sys.stderr)),
                               runtime=args.runtime, name=args.name, control_plane=getattr(args, "control_plane", None),
                               up_progress=up_progress, seed=getattr(args, "seed", None))
    finally:
        if up_progress is not None:
            up_progress.close()
    if getattr(args, "output", None):                  # -o FOLDER: failure.json there, as a campaign's
        import json
        from pathlib import Path
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        doc["files"] = {"json": str(out / "failure.json")}
        with open(doc["files"]["json"], "w") as f:
            json.dump(doc, f, indent=1, default=str)
    if args.json:
        _print_json(doc)
        return _failure_unvouched(doc)
    if doc.get("files"):
        print(f"wrote {doc['files']['json']}", file=sys.stderr)
    f = doc.get("failure")
    if f:
        print(f"failure on namespaces ({doc['control_plane']} control plane): {', '.join(f['failed_links'])} down "
              f"({' '.join(f['down'])}); engine on tables generation {f['generation']} after "
              f"{f['reconverged_seconds']} s")
    for ph in doc["phases"]:
        t = ph["score"]["totals"]
        print(f"{ph['phase']:>6}: {len(ph['traces'])} traces, tunnels present {t['present']}, detected {t['detected']}, "
              f"class right {t['class_correct']}, LSRs found {t['lsrs_found']}/{t['lsrs_present']}, "
              f"false tunnels {t['false_tunnels']}")
    print(f"{len(doc['changed'])} probe(s) changed path:")
    for c in doc["changed"]:
        print(f"  {c['from']} -> {c['to']}: truth {' '.join(c['before'])}  =>  {' '.join(c['after'])}")
        print(f"      uTNT saw {' '.join(n or '*' for n in c['trace_before'])}  =>  "
              f"{' '.join(n or '*' for n in c['trace_after'])}")
        tb, ta = ("; ".join(f"{t['class']} {t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}" for t in ts)
                  for ts in (c["tunnels_before"], c["tunnels_after"]))
        if tb != ta:
            print(f"      tunnels {tb or 'none'}  =>  {ta or 'none'}")
    _failure_unvouched(doc)


def _failure_unvouched(doc):
    """Exit 1 with the traces a failure run could not vouch for (its lab found broken while
    probing, a detector failed), as `run` and `campaign` do."""
    if doc.get("unvouched"):
        from testbed.cliargs import fail_if_unvouched
        fail_if_unvouched([{**u, "vantage_point": f"{u.get('phase')}: {u.get('vantage_point')}"}
                            for u in doc["unvouched"]])


def _campaign(args, lab, as_run: bool = False):
    """as_run: `testbed run` of a lab with many vantage points: its --json is the shape of every
    other `run --json` (traces, truth, score; the campaign's summary beside them under
    "campaign"), and nothing is written unless -o asks for it."""
    if getattr(args, "fail_link", None) or getattr(args, "fail_router", None):
        return _failure(args, lab)
    from rich.console import Console

    from testbed.experiments.campaign import campaign, report, write_outputs
    c = Console(width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, highlight=False)
    progress = None if args.json else (lambda m: err.print(f"[dim]» {m}[/]"))
    up_progress = None
    if not args.json and args.runtime == "netns":
        from testbed.runtimes.netns_cli import Reporter
        up_progress = Reporter(err)
    try:
        doc = campaign(lab, runtime=args.runtime, extra=args.utnt, name=args.name, progress=progress,
                       up_progress=up_progress, workers=args.workers, scheduler=args.scheduler,
                       seed=getattr(args, "seed", None))
    finally:
        if up_progress is not None:
            up_progress.close()
    folder = args.output or (None if as_run else f"campaign-{lab.name}")
    files = write_outputs(doc, lab, folder, pictures=not args.no_pictures) if folder else {}
    doc["files"] = files
    from testbed.experiments.score_files import lab_digest
    if args.json and as_run:
        from testbed.scoring import score_run
        summary = {k: v for k, v in doc.items() if k not in ("uTNT", "_truth", "lab", "runtime", "ok", "unvouched",
                                                             "unvouched_traces")}
        _print_json({"ok": doc.get("ok", True), "unvouched": doc.get("unvouched") or [],
                     "unvouched_traces": doc.get("unvouched_traces") or [],
                     "lab": lab.name, "lab_digest": lab_digest(lab), "runtime": args.runtime, "params": lab.params,
                     "seed": getattr(args, "seed", None), "traces": doc["uTNT"], "truth": doc["_truth"]["probes"],
                     "truth_source": "computed", "score": score_run(lab, doc["_truth"], doc["uTNT"]),
                     "control_plane": "computed", "campaign": summary})
    elif args.json:
        _print_json({k: v for k, v in doc.items() if k not in ("uTNT", "_truth")})
    else:
        report(doc, c)
        if files:
            c.print("wrote " + ", ".join(files.values()))
    if doc.get("unvouched"):
        from testbed.cliargs import fail_if_unvouched
        fail_if_unvouched(doc["unvouched"])
    from testbed.experiments.history import record
    record(args, "run" if as_run else "campaign", {"lab": lab.name, "lab_digest": lab_digest(lab),
                                                   "params": lab.params, "runtime": args.runtime,
                                                   "seed": getattr(args, "seed", None)},
           doc["score_totals"], getattr(args, "utnt", None))
    from testbed.experiments.gate import check
    check(args, [(lab.name, doc["score_totals"])])


def add_campaign_args(s):
    s.add_argument("-o", "--output", help="folder for campaign.json and the pictures (default campaign-LAB); with "
                                          "--fail-link/--fail-router: failure.json (default: none written)")
    from testbed.experiments.pool import add_args as add_executor_args
    add_executor_args(s, "vantage points")
    s.add_argument("--no-pictures", action="store_true", help="skip the PNG and HTML pictures")
    s.add_argument("--fail-link", metavar="A,B", help="probe, take this link down, recompute (netns: the engine "
                                                       "gets the new tables; FRR: reconverges), probe again")
    s.add_argument("--fail-router", metavar="R", help="the same with every link of router R down")
    s.add_argument("--control-plane", choices=["computed", "frr"], default=None,
                   help="netns, with --fail-link/--fail-router: computed (recomputed tables) or FRR "
                        "(default: the lab's)")
    from testbed.experiments.gate import add_args as add_gate_args
    add_gate_args(s)
    from testbed.experiments.history import add_args as add_history_args
    add_history_args(s)


def add_parsers(sub):
    s = sub.add_parser("import", help="a real topology (Topology Zoo, SNDlib, CAIDA, GraphML, containerlab) "
                                      "as a lab file")
    s.add_argument("source", nargs="?", help="topozoo:NAME | sndlib:NAME | caida:ASN | FILE.graphml | FILE.json "
                                             "| FILE.clab.yml | synthetic:isp?routers=N&seed=S (a generated "
                                             "hierarchical ISP)")
    s.add_argument("-o", "--output", help="the lab file to write")
    s.add_argument("--name", help="lab name (default from the source)")
    s.add_argument("--vendors", default="cisco=1", help="vendor mix, e.g. cisco=0.6,juniper=0.3,linux=0.1")
    s.add_argument("--mpls-share", type=float_in(0, 1), default=1.0, help="share of each AS's routers in MPLS (default 1)")
    s.add_argument("--domains", type=int_in(1, 1000), help="cut each AS's MPLS routers into N domains")
    s.add_argument("--classes", default="invisible-php",
                   help="tunnel class per domain, cycled: explicit,implicit,opaque,invisible-php,invisible-uhp,vendor")
    s.add_argument("--ldp", choices=["domain", "all", "loopbacks", "vendor"], default="domain",
                   help="LDP label policy: one per domain, its most common vendor's (domain, the default), all, "
                        "loopbacks, or vendor (each router its vendor's default: a mixed domain cuts LSPs)")
    s.add_argument("--vps", type=int_in(1, 10000), default=10, help="vantage points (hosts at edge routers, default 10)")
    s.add_argument("--dsts", type=int_in(1, 10000), default=30, help="destinations (hosts at edge routers, default 30)")
    s.add_argument("--probes", default="all", help="'all' pairs, or N destinations sampled per vantage point")
    s.add_argument("--seed", type=SEED, default=1)
    s.add_argument("--list", metavar="GROUP", help="list the topologies of topozoo, sndlib or caida")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_import)
    s = sub.add_parser("campaign", help="every vantage point x destination of a lab as one campaign: per-class "
                                        "precision/recall, triggers, techniques, probes, per-trace table")
    s.add_argument("lab")
    s.add_argument("--runtime", choices=["sim", "netns"], default="sim")
    s.add_argument("--name", help="lab instance name (netns)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE")
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces "
                                            "(equal-cost paths and reply hashes); default: random flows")
    add_campaign_args(s)
    s.set_defaults(fn=cmd_campaign)
