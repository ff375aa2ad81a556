"""`testbed deploy LAB --with containerlab`: export a lab and deploy it with another tool."""
from __future__ import annotations

from pathlib import Path

from testbed.cli.export import add_export_args, export_files
from testbed.cliargs import load_lab_arg
from testbed.errors import TestbedError


def run(args):
    from testbed.export.containerlab import deploy_containerlab, require_containerlab
    lab = load_lab_arg(args)                            # a bad lab file is told first (exit 2)
    require_containerlab()                       # before writing anything
    out = Path(args.dir or f"build/{lab.name}/containerlab")
    files = export_files(args, out)
    rc = deploy_containerlab(files[0], extra_args=args.utnt)
    if rc:
        raise TestbedError(f"containerlab deploy -t {files[0]} exited with status {rc}")


def add_parser(sub):
    s = sub.add_parser("deploy", help="export a lab and deploy it with another tool (containerlab deploy)",
                       description="Export the lab (as `testbed export`) and run `containerlab deploy -t FILE`. "
                                   "Arguments after -- go to containerlab deploy, e.g. `-- --reconfigure`. "
                                   "Fails with one line naming what is missing: the containerlab binary, "
                                   "kernel MPLS on this host, host bridges (--lan bridge).")
    add_export_args(s)
    s.add_argument("--with", dest="tool", required=True, choices=["containerlab"], help="deployment tool")
    s.add_argument("--dir", help="where the export goes (default build/LAB/containerlab)")
    s.set_defaults(fn=run)
