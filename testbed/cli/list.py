"""`testbed list`: the topology library, one row per lab."""
from __future__ import annotations

from testbed.cli.console import console
from testbed.cliargs import print_json
from testbed.errors import LabError


def run(args):
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
        return print_json(rows)
    from rich.table import Table
    t = Table(title="uTNT-lab topology library (make testbed TOPO=<lab>)")
    for c in ("lab", "routers", "tunnel classes", "description"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["lab"], str(r["routers"]), ", ".join(r["tunnels"]), r["description"])
    console().print(t)


def add_parser(sub):
    s = sub.add_parser("list", help="the topology library")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
