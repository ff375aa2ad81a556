"""`testbed sweep LABS`: TNT's threshold calibration (TP/FP/FN/TN per cell), JSON and a PNG."""
from __future__ import annotations

from testbed.cli.arguments import add_detector_args
from testbed.cli.console import console
from testbed.cliargs import SEED, print_json


def run(args):
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
        doc = sweep(args.labs, frpla, rtla, sets, seed=args.seed, detector=args.detector, **ex)
    else:
        from rich.progress import Progress
        with Progress(console=console(), transient=True) as p:
            task = p.add_task("sweeping thresholds (brute force, sim)", total=None)

            def step(done, total):
                p.update(task, completed=done, total=total)
            doc = sweep(args.labs, frpla, rtla, sets, progress=step, seed=args.seed, detector=args.detector, **ex)
    out = args.output or f"sweep-{'-'.join(args.labs)}.json"
    write_json(doc, out)
    png = args.plot or (out[:-5] + ".png" if out.endswith(".json") else out + ".png")
    plot(doc, png)
    doc["files"] = {"json": out, "png": png}
    if args.json:
        return print_json(doc)
    from rich.table import Table
    t = Table(title=f"TNT calibration on {', '.join(args.labs)}: TP/FP/FN/TN per cell (brute force, sim)")
    t.add_column("FRPLA \\ RTLA")
    for r in rtla:
        t.add_column(f">= {r}", justify="center")
    grid = {(g["frpla"], g["rtla"]): g for g in doc["grid"]}
    for f in frpla:
        t.add_row(f">= {f}", *[f"{grid[(f, r)]['TP']}/{grid[(f, r)]['FP']}/{grid[(f, r)]['FN']}/{grid[(f, r)]['TN']}"
                              for r in rtla])
    c = console()
    c.print(t)
    c.print(f"wrote {out} and {png}")


def add_parser(sub):
    from testbed.experiments.pool import add_args as add_executor_args
    s = sub.add_parser("sweep", help="TNT's threshold calibration (TP/FP/FN/TN per cell), JSON and a PNG")
    s.add_argument("labs", nargs="+", help="labs to sweep together")
    s.add_argument("--frpla", default="0..4", help="FRPLA thresholds, e.g. 0..4 (default) or 1,3")
    s.add_argument("--rtla", default="0..4", help="RTLA thresholds, e.g. 0..4 (default)")
    s.add_argument("--set", action="append", metavar="KEY=RANGE", help="lab parameter grid, e.g. lsrs=1..5")
    s.add_argument("-o", "--output", help="JSON file (default sweep-LABS.json)")
    s.add_argument("--plot", help="PNG file (default: the JSON name with .png)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--seed", type=SEED, default=0, help="seed of the probes' Paris flows, the same in every cell (0)")
    add_executor_args(s, "sweep's cells")
    add_detector_args(s)
    s.set_defaults(fn=run)
