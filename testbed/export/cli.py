"""`testbed export LAB --to containerlab DIR` and `testbed deploy LAB --with containerlab`."""
from __future__ import annotations

from pathlib import Path

from testbed.errors import TestbedError

from .defaults import DEFAULT_HOST_IMAGE, DEFAULT_IMAGE, LAN_MODES


def _export(args, out: Path) -> list[Path]:
    from testbed.cliargs import load_lab_arg as _load

    from .containerlab import export_containerlab
    lab = _load(args)
    files = export_containerlab(lab, out, image=args.image, host_image=args.host_image, mgmt=not args.no_mgmt,
                                lan=args.lan)
    if getattr(args, "engine", False):                 # routers run our engine (every tunnel class)
        from .engine_image import apply_engine
        files = apply_engine(lab, out, files, mgmt=not args.no_mgmt)
    return files


def cmd_export(args):
    from testbed.cliargs import print_json as _print_json
    files = _export(args, Path(args.dir))
    if args.json:
        return _print_json({"to": args.to, "dir": args.dir, "clab_file": str(files[0]), "files": [str(f) for f in files]})
    print(f"{len(files)} files in {args.dir}/: deploy with `containerlab deploy -t {files[0]}` "
          f"(what it reproduces and how: {Path(args.dir) / 'README.md'})")


def cmd_deploy(args):
    from .containerlab import deploy_containerlab, require_containerlab
    from testbed.cliargs import load_lab_arg as _load
    lab = _load(args)                            # a bad lab file is told first (exit 2)
    require_containerlab()                       # before writing anything
    out = Path(args.dir or f"build/{lab.name}/containerlab")
    files = _export(args, out)
    rc = deploy_containerlab(files[0], extra_args=args.utnt)
    if rc:
        raise TestbedError(f"containerlab deploy -t {files[0]} exited with status {rc}")


def _common(s):
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--image", default=DEFAULT_IMAGE, help=f"router (FRR) image (default {DEFAULT_IMAGE})")
    s.add_argument("--host-image", default=DEFAULT_HOST_IMAGE,
                   help=f"image of hosts and LAN switches (default {DEFAULT_HOST_IMAGE})")
    s.add_argument("--lan", choices=LAN_MODES, default="switch",
                   help="LANs as switch containers (default) or as containerlab host bridges (kind: bridge)")
    s.add_argument("--engine", action="store_true",
                   help="routers run this project's engine (image utnt-lab-engine, docker/engine/Dockerfile)")
    s.add_argument("--no-mgmt", action="store_true",
                   help="no management network: network-mode none on every node")


def add_parsers(sub):
    s = sub.add_parser("export", help="write a lab for another tool: containerlab topology, FRR configs, README")
    _common(s)
    s.add_argument("--to", required=True, choices=["containerlab"], help="target tool")
    s.add_argument("dir", help="output folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_export)

    s = sub.add_parser("deploy", help="export a lab and deploy it with another tool (containerlab deploy)",
                       description="Export the lab (as `testbed export`) and run `containerlab deploy -t FILE`. "
                                   "Arguments after -- go to containerlab deploy, e.g. `-- --reconfigure`. "
                                   "Fails with one line naming what is missing: the containerlab binary, "
                                   "kernel MPLS on this host, host bridges (--lan bridge).")
    _common(s)
    s.add_argument("--with", dest="tool", required=True, choices=["containerlab"], help="deployment tool")
    s.add_argument("--dir", help="where the export goes (default build/LAB/containerlab)")
    s.set_defaults(fn=cmd_deploy)
