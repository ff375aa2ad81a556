"""`testbed split LAB --hosts h1=IP1,h2=IP2 -o plan.json`: one lab across machines (the big-lab runtime).

    testbed split LAB --hosts h1=IP1,h2=IP2[,...] -o plan.json [--seed N] [--vni-base N] [--json]
          [--containerlab DIR [--lan switch|bridge] [--image IMG] [--host-image IMG] [--no-mgmt]]
    testbed up LAB --runtime bigrt --plan plan.json --host h1 [--underlay-netns NS]  # on each machine

`split` writes the plan (per host: routers, lab hosts, router vantage points, cut links;
per cut link: its VXLAN id and ends). Copy it to every machine and run `up --plan ... --host`
there with the same lab file and --set values: the plan is checked against the lab first (one
line per problem, exit 2, nothing built). --containerlab DIR also writes the same split as
containerlab topologies, DIR/<host>/<lab>-<host>.clab.yml (FRR routers; cut links as
containerlab's VXLAN links between the hosts' underlay addresses), one per machine. Each machine's instance is `<lab>-<host>` unless
--name is given; `testbed down <lab>-<host>` on that machine removes its part.
"""
from __future__ import annotations

import json
import os

from testbed.cli.console import out_console
from testbed.cliargs import add_lab_file_args, int_in, print_json


def run(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets

    from testbed.runtimes.bigrt import split as sp
    hosts = sp.parse_hosts(args.hosts)
    lab = load_lab(args.lab, parse_sets(args.set), no_limits=args.no_limits, local_first=args.local_includes)
    doc = sp.split_lab(lab, hosts, seed=args.seed, vni_base=args.vni_base or sp.VNI_BASE,
                       source=args.lab, params=parse_sets(args.set))
    if args.output:
        tmp = f"{args.output}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, args.output)
    written = {}
    if args.containerlab:
        import shlex

        from testbed.export.containerlab import export_split
        cmd = shlex.join(["testbed", "split", args.lab, "--hosts", args.hosts, "--seed", str(args.seed),
                          "--containerlab", "DIR"] + [w for kv in (args.set or []) for w in ("--set", kv)]
                         + (["--vni-base", str(args.vni_base)] if args.vni_base else [])
                         + (["--lan", args.lan] if args.lan != "switch" else []))
        written = export_split(lab, doc, args.containerlab, image=args.image, host_image=args.host_image,
                               mgmt=not args.no_mgmt, lan=args.lan, command=cmd)
    if args.json:
        if written:
            return print_json({**doc, "containerlab": {h: str(fs[0]) for h, fs in written.items()}})
        return print_json(doc)
    c = out_console()
    s = doc["summary"]
    c.print(f"{lab.name}: {s['routers']} routers on {s['hosts']} hosts, {s['cut_links']} of {s['links']} links cut "
            f"(VXLAN ids {doc['vxlan']['vni_base']}.., UDP {doc['vxlan']['dstport']}; seed {doc['seed']})")
    for h in doc["hosts"]:
        c.print(f"  {h['name']:<12} {h['underlay']:<16} {len(h['routers']):>6} routers {len(h['lab_hosts']):>4} "
                f"hosts {h['cut_links']:>6} cut links")
    for h, fs in written.items():
        c.print(f"  {h}: containerlab deploy -t {fs[0]}  (on {h}; cut links as VXLAN links)")
    if args.output:
        c.print(f"plan written to {args.output}; on each machine: testbed up {args.lab} --runtime bigrt "
                f"--plan {os.path.basename(args.output)} --host <name>")


def add_parser(sub):
    s = sub.add_parser("split", help="partition a lab onto several machines (a plan for `up --plan --host`)")
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--hosts", required=True, metavar="H1=IP1,H2=IP2",
                   help="the machines and their underlay addresses (the VXLAN endpoints)")
    s.add_argument("--seed", type=int_in(0, 2**31 - 1), default=1, help="the partition's seed (default 1)")
    s.add_argument("--vni-base", type=int_in(1, (1 << 24) - 1), default=None,
                   help="VXLAN id of the first cut link (the others follow; default 4200)")
    s.add_argument("-o", "--output", help="write the plan here (JSON)")
    s.add_argument("--json", action="store_true", help="print the plan as JSON on stdout")
    from testbed.export.defaults import DEFAULT_HOST_IMAGE, DEFAULT_IMAGE, LAN_MODES
    s.add_argument("--containerlab", metavar="DIR",
                   help="also write one containerlab topology per host, DIR/<host>/ (cut links as VXLAN links)")
    s.add_argument("--image", default=DEFAULT_IMAGE, help=f"with --containerlab: router (FRR) image (default {DEFAULT_IMAGE})")
    s.add_argument("--host-image", default=DEFAULT_HOST_IMAGE,
                   help=f"with --containerlab: image of hosts and LAN switches (default {DEFAULT_HOST_IMAGE})")
    s.add_argument("--lan", choices=LAN_MODES, default="switch", help="with --containerlab: LANs as switch "
                   "containers (default) or containerlab host bridges")
    s.add_argument("--no-mgmt", action="store_true", help="with --containerlab: no management network")
    add_lab_file_args(s)
    s.set_defaults(fn=run)
