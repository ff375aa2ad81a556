"""`testbed campaign LAB`: every vantage point x destination of a lab as one campaign (and `testbed run`
of a lab with several vantage points)."""
from __future__ import annotations

import sys

from testbed.cli.arguments import add_detector_args, add_runtime_arg, detector_of
from testbed.cli.console import Reporter, err_console
from testbed.cliargs import SEED, print_json
from testbed.runtimes import registry


def run(args):
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
    if not args.json and not registry.get(args.runtime).in_process:      # the steps of bringing it up
        up_progress = Reporter(err_console())
    try:
        doc = run_with_failure(lab, link=args.fail_link, router=args.fail_router, extra=args.utnt,
                               progress=None if args.json else (lambda m: print(f"» {m}", file=sys.stderr)),
                               runtime=args.runtime, name=args.name, control_plane=getattr(args, "control_plane", None),
                               up_progress=up_progress, seed=getattr(args, "seed", None), **detector_of(args))
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
        print_json(doc)
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
        print(f"      {doc['detector']['name']} saw {' '.join(n or '*' for n in c['trace_before'])}  =>  "
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
    if not args.json and not registry.get(args.runtime).in_process:      # the steps of bringing it up
        up_progress = Reporter(err)
    try:
        doc = campaign(lab, runtime=args.runtime, extra=args.utnt, name=args.name, progress=progress,
                       up_progress=up_progress, workers=args.workers, scheduler=args.scheduler,
                       seed=getattr(args, "seed", None), **detector_of(args))
    finally:
        if up_progress is not None:
            up_progress.close()
    folder = args.output                  # written only where asked: nothing in the working directory
    files = write_outputs(doc, lab, folder, pictures=not args.no_pictures) if folder else {}
    doc["files"] = files
    from testbed.truth import lab_digest
    if args.json and as_run:
        from testbed.scoring import score_run
        summary = {k: v for k, v in doc.items() if k not in ("uTNT", "_truth", "lab", "runtime", "ok", "unvouched",
                                                             "unvouched_traces")}
        print_json({"ok": doc.get("ok", True), "unvouched": doc.get("unvouched") or [],
                     "unvouched_traces": doc.get("unvouched_traces") or [],
                     "lab": lab.name, "lab_digest": lab_digest(lab), "runtime": args.runtime, "params": lab.params,
                     "seed": getattr(args, "seed", None), "traces": doc["uTNT"], "truth": doc["_truth"]["probes"],
                     "truth_source": "computed", "score": score_run(lab, doc["_truth"], doc["uTNT"]),
                     "control_plane": "computed", "detector": doc["detector"], "campaign": summary})
    elif args.json:
        print_json({k: v for k, v in doc.items() if k not in ("uTNT", "_truth")})
    else:
        report(doc, c)
        if files:
            c.print("wrote " + ", ".join(files.values()))
        elif not as_run:
            c.print("[dim]nothing written (-o DIR writes campaign.json and the pictures there)[/]")
    if doc.get("unvouched"):
        from testbed.cliargs import fail_if_unvouched
        fail_if_unvouched(doc["unvouched"])
    from testbed.experiments.history import record
    record(args, "run" if as_run else "campaign", {"lab": lab.name, "lab_digest": lab_digest(lab),
                                                   "params": lab.params, "runtime": args.runtime,
                                                   "seed": getattr(args, "seed", None),
                                                   "detector": doc["detector"]},
           doc["score_totals"], getattr(args, "utnt", None))
    from testbed.experiments.gate import check
    check(args, [(lab.name, doc["score_totals"])])


def add_campaign_args(s):
    s.add_argument("-o", "--output", help="write campaign.json and the pictures into this folder (default: none "
                                          "written); with --fail-link/--fail-router: failure.json")
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


def add_parser(sub):
    s = sub.add_parser("campaign", help="every vantage point x destination of a lab as one campaign: per-class "
                                        "precision/recall, triggers, techniques, probes, per-trace table")
    s.add_argument("lab")
    add_runtime_arg(s, "sim")
    s.add_argument("--name", help="lab instance name (netns)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE")
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces "
                                            "(equal-cost paths and reply hashes); default: random flows")
    add_campaign_args(s)
    add_detector_args(s)
    s.set_defaults(fn=run)
