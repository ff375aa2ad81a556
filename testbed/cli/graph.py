"""`testbed graph LAB -o FILE`: the topology, its domains and ground-truth tunnels drawn."""
from __future__ import annotations

import os

from testbed.cli.arguments import add_lab_command
from testbed.cliargs import load_lab_arg, print_json
from testbed.errors import InputError


def run(args):
    from testbed.controlplane import build
    from testbed.experiments.graph import draw, load_result
    from testbed.truth import ground_truth
    lab = load_lab_arg(args)
    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise InputError(f"-o {args.output}: the folder {folder} does not exist; create it or choose another")
    truth = ground_truth(build(lab))
    result = load_result(args.result) if args.result else None
    drawn = draw(lab, truth, args.output, result, colour=args.colour, aggregate=args.aggregate)
    if args.json:
        return print_json({"lab": lab.name, **drawn})
    print(f"wrote {args.output}")


def add_parser(sub):
    s = add_lab_command(sub, "graph", run, "draw the topology, domains and ground-truth tunnels by class")
    s.add_argument("-o", "--output", required=True, help="lab.png or lab.svg")
    s.add_argument("--result", help="a `testbed run --json` file to overlay what uTNT saw")
    s.add_argument("--colour", "--color", choices=("class", "vendor", "domain"), default="class",
                   help="the picture's one colour meaning: tunnel class (default), router vendor, or MPLS domain")
    s.add_argument("--aggregate", choices=("auto", "pop", "domain", "none"), default="auto",
                   help="gather routers by PoP (or community without coordinates) or domain; auto: PoPs above 300 routers")
