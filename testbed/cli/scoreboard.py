"""`testbed scoreboard [LABS]`: a detector's score over every library lab."""
from __future__ import annotations

from testbed.cli.arguments import add_detector_args, add_runtime_arg, detector_of
from testbed.cli.console import console
from testbed.cliargs import SEED, fail_if_unvouched, print_json


def run(args):
    from testbed.experiments.board import scoreboard
    c = console()
    labs = args.labs or None
    from testbed.detectors.registry import check_detector
    det = check_detector(args.runtime, args.detector, args.utnt, args.detector_cmd, args.format)
    if args.json:
        rows = scoreboard(args.runtime, labs, extra=args.utnt, seed=args.seed, workers=args.workers,
                          scheduler=args.scheduler, **detector_of(args))
        if getattr(args, "plot", None):
            from testbed.experiments.charts import scoreboard_bars
            scoreboard_bars(rows, args.plot, args.runtime)
        print_json(rows)
        return _gate_rows(args, rows)
    from rich.progress import Progress
    with Progress(transient=True, console=console()) as p:
        names = labs or __import__("testbed.lab", fromlist=["lab_names"]).lab_names()
        task = p.add_task("scoring the library", total=len(names))

        def step(name):
            p.update(task, description=f"scoring {name}")
            p.advance(task)
        rows = scoreboard(args.runtime, labs, progress=step, extra=args.utnt, seed=args.seed, workers=args.workers,
                          scheduler=args.scheduler, **detector_of(args))
    from rich.table import Table
    t = Table(title=f"{det.label if det.command is None else rows[0]['detector'] if rows else det.label} "
                    f"scoreboard ({args.runtime} runtime)")
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
    fail_if_unvouched([{**u, "vantage_point": f"{u['lab']}: {u.get('vantage_point')}"}
                        for r in rows for u in r.get("unvouched") or []])
    from testbed.experiments.gate import check
    check(args, [(r["lab"], {"unmatched_traces": 0, "off_path_traces": 0, **r}) for r in rows])


def add_parser(sub):
    from testbed.experiments.gate import add_args as add_gate_args
    from testbed.experiments.pool import add_args as add_executor_args
    s = sub.add_parser("scoreboard", help="a detector's score (uTNT's by default) over every library lab")
    s.add_argument("labs", nargs="*", help="only these labs")
    add_runtime_arg(s, "sim")
    add_detector_args(s)
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces")
    s.add_argument("--plot", metavar="FILE.png", help="also draw the scoreboard as grouped bars")
    add_executor_args(s, "labs")
    add_gate_args(s)
    s.set_defaults(fn=run)
