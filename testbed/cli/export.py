"""`testbed export LAB --to containerlab DIR`: write a lab for another tool."""
from __future__ import annotations

from pathlib import Path

from testbed.cliargs import load_lab_arg, print_json
from testbed.export.defaults import DEFAULT_HOST_IMAGE, DEFAULT_IMAGE, LAN_MODES


def export_files(args, out: Path) -> list[Path]:
    from testbed.export.containerlab import export_containerlab
    lab = load_lab_arg(args)
    files = export_containerlab(lab, out, image=args.image, host_image=args.host_image, mgmt=not args.no_mgmt,
                                lan=args.lan)
    if getattr(args, "engine", False):                 # routers run our engine (every tunnel class)
        from testbed.export.engine_image import apply_engine
        files = apply_engine(lab, out, files, mgmt=not args.no_mgmt)
    return files


def run(args):
    files = export_files(args, Path(args.dir))
    if args.json:
        return print_json({"to": args.to, "dir": args.dir, "clab_file": str(files[0]), "files": [str(f) for f in files]})
    print(f"{len(files)} files in {args.dir}/: deploy with `containerlab deploy -t {files[0]}` "
          f"(what it reproduces and how: {Path(args.dir) / 'README.md'})")


def add_export_args(s):
    """What export and deploy share: the lab and the images and networks it is exported with."""
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


def add_parser(sub):
    s = sub.add_parser("export", help="write a lab for another tool: containerlab topology, FRR configs, README")
    add_export_args(s)
    s.add_argument("--to", required=True, choices=["containerlab"], help="target tool")
    s.add_argument("dir", help="output folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
