"""`testbed run LAB`: up, probe every probe with a detector, score against the truth, down."""
from __future__ import annotations

from testbed.cli.arguments import add_control_plane_args, add_detector_args, add_lab_command, add_runtime_arg
from testbed.cli.campaign import run_as_campaign
from testbed.cli.console import Reporter, console, err_console, stderr
from testbed.cliargs import SEED, fail_if_unvouched, load_lab_arg, print_json


def run(args):
    from testbed import api
    from testbed.experiments.report import print_run
    lab = load_lab_arg(args)
    from testbed.experiments.campaign import is_campaign
    if is_campaign(lab) and args.source is None and args.dest is None and args.control_plane != "frr":
        return run_as_campaign(args, lab)
    c = console()
    progress = None if args.json else (lambda msg: c.print(f"[dim]» {msg}[/]"))
    up_progress = None
    from testbed.runtimes import registry
    if not args.json and not registry.get(args.runtime).in_process:         # the steps of bringing it up
        up_progress = Reporter(err_console())
    try:
        doc = api.run(lab, runtime=args.runtime, extra=args.utnt, source=args.source, dest=args.dest,
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
        print_json(doc)
    else:
        print_run(doc, lab, c)
    fail_if_unvouched(doc.get("unvouched"))
    for p in failed:
        stderr(f"error: {p}")
    if failed:
        raise SystemExit(2)
    from testbed.experiments.history import record
    record(args, "run", doc, doc["score"]["totals"], args.utnt)
    from testbed.experiments.gate import check
    check(args, [(lab.name, doc["score"]["totals"])])


def add_parser(sub):
    from testbed.experiments.gate import add_args as add_gate_args
    from testbed.experiments.history import add_args as add_history_args
    s = add_lab_command(sub, "run", run, "up, probe every probe with a detector (uTNT by default), score against the truth, "
                                           "down")
    add_runtime_arg(s, "netns")
    s.add_argument("--from", dest="source", help="vantage point (host)")
    s.add_argument("--to", dest="dest", help="destination (node or address)")
    s.add_argument("--name", help="running lab name (netns; default: the lab's name)")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces")
    add_control_plane_args(s)
    add_gate_args(s)
    add_history_args(s)
    add_detector_args(s)
