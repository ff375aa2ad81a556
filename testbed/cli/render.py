"""`testbed render LAB`: the lab's FRR configuration files."""
from __future__ import annotations

from testbed.cli.arguments import add_lab_command
from testbed.cliargs import load_lab_arg, print_json


def run(args):
    lab = load_lab_arg(args)
    from pathlib import Path

    from testbed.frr.render import render_lab
    out = Path(args.output or f"build/{lab.name}/frr")
    files = render_lab(lab, out)
    if args.json:
        return print_json({"lab": lab.name, "files": [str(f) for f in files]})
    print(f"{len(files)} FRR files for {len(lab.routers)} routers in {out}/")


def add_parser(sub):
    s = add_lab_command(sub, "render", run, "render FRR configs (router-configs/ templates)")
    s.add_argument("-o", "--output", help="output folder (default build/LAB/frr)")
