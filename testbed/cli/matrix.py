"""`testbed matrix`: labs generated from a grid, run, scored: per-class precision and recall."""
from __future__ import annotations

from testbed.cli.arguments import add_detector_args, add_runtime_arg, detector_of
from testbed.cli.console import console
from testbed.cliargs import SEED, int_in, print_json


def run(args):
    from testbed.experiments.matrix import parse_grid, run_matrix, size, to_markdown, write_json
    from testbed.lab.loader import parse_sets
    grid = parse_grid({k: v for k, v in parse_sets(args.set).items()})
    limit = None if args.all else args.limit
    c = console()
    if args.json:
        doc = run_matrix(grid, seed=args.seed, limit=limit, runtime=args.runtime, workers=args.workers,
                         scheduler=args.scheduler, **detector_of(args))
    else:
        from rich.progress import Progress
        n = size(grid) if limit is None else min(limit, size(grid))
        with Progress(console=c, transient=True) as p:
            task = p.add_task(f"matrix: {n} of {size(grid)} cells on {args.runtime}", total=n)

            def step(done, total, r):
                p.update(task, completed=done, description=f"matrix: {r['cell'][:60]}")
            doc = run_matrix(grid, seed=args.seed, limit=limit, runtime=args.runtime, workers=args.workers,
                             progress=step, scheduler=args.scheduler, **detector_of(args))
    if args.output:
        write_json(doc, args.output)
    if args.json:
        return print_json(doc)
    s = doc["summary"]
    c.print(f"{s['cells']} labs of a {doc['grid_size']}-cell grid ({doc['detector']['name']}, seed {doc['seed']}, "
            f"{doc['runtime']}, "
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


def add_parser(sub):
    from testbed.experiments.pool import add_args as add_executor_args
    s = sub.add_parser("matrix", help="labs generated from a grid, run, scored: per-class precision and recall")
    s.add_argument("--limit", type=int_in(1, 100_000), default=1000, help="cells sampled from the grid with --seed (1000)")
    s.add_argument("--all", action="store_true", help="every cell of the grid (no sampling)")
    s.add_argument("--seed", type=SEED, default=0, help="sampling seed and probe flows (0)")
    s.add_argument("--set", action="append", metavar="AXIS=V1,V2", help="narrow an axis, e.g. class=opaque,invisible")
    add_runtime_arg(s, "sim")
    add_detector_args(s)
    add_executor_args(s, "labs")
    s.add_argument("--show", type=int_in(0, 100_000), default=20, help="failing cells to print (20)")
    s.add_argument("-o", "--output", help="also write the whole result as JSON here")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
