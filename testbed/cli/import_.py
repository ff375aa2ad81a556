"""`testbed import SOURCE -o LAB.yaml`: a real topology (Topology Zoo, SNDlib, CAIDA, GraphML,
containerlab) as a lab file."""
from __future__ import annotations

import sys

from testbed.cliargs import SEED, float_in, int_in, print_json
from testbed.errors import TestbedError


def run(args):
    from testbed.importers import import_lab, write
    if args.list:
        from testbed.importers import topohub
        if args.list not in topohub.GROUPS:
            raise TestbedError(f"--list: one of {', '.join(topohub.GROUPS)}")
        names = topohub.names(args.list)
        return print_json(names) if args.json else print("\n".join(names))
    if not args.source or not args.output:
        raise TestbedError("give SOURCE and -o LAB.yaml (e.g. testbed import topozoo:AttMpls -o attmpls.yaml)")
    from testbed.inputs import safe_path_text
    safe_path_text(args.output)          # a lab file named with a newline is refused by every command: never written
    doc = import_lab(args.source, name=args.name, vendors=args.vendors, share=args.mpls_share, domains=args.domains,
                     classes=args.classes, vps=args.vps, dsts=args.dsts, probes=args.probes, seed=args.seed,
                     ldp=args.ldp)
    cmd = "testbed import " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["import"] else f"testbed import {args.source}"
    write(doc, args.output, cmd)
    from testbed.lab import load_lab
    lab = load_lab(args.output, no_limits=True)       # what we wrote must be a valid lab
    from testbed.lab.loader import limits
    lim = limits()
    over = [k for k, n in (("routers", len(lab.routers)), ("links", len(lab.links))) if n > lim[k]]
    out = {"file": args.output, "lab": lab.name, "routers": len(lab.routers), "hosts": len(lab.hosts),
           "links": len(lab.links), "domains": {d: len(m.routers) for d, m in lab.domains.items()},
           "probes": sum(len(p.targets) for p in lab.probes), "dropped_disconnected": doc["_dropped"],
           "over_limits": over}
    if args.json:
        return print_json(out)
    print(f"wrote {args.output}: {out['routers']} routers, {len(lab.links)} links, "
          f"{len(out['domains'])} MPLS domain(s), {out['hosts']} hosts, {out['probes']} probes"
          + (f" ({doc['_dropped']} routers not connected to the rest left out)" if doc["_dropped"] else "")
          + (f"; over the lab size limits ({', '.join(over)}): give --no-limits to the commands that load it"
             if over else ""))


def add_parser(sub):
    s = sub.add_parser("import", help="a real topology (Topology Zoo, SNDlib, CAIDA, GraphML, containerlab) "
                                      "as a lab file")
    s.add_argument("source", nargs="?", help="topozoo:NAME | sndlib:NAME | caida:ASN | FILE.graphml | FILE.json "
                                             "| FILE.clab.yml | synthetic:isp?routers=N&seed=S (a generated "
                                             "hierarchical ISP)")
    s.add_argument("-o", "--output", help="the lab file to write")
    s.add_argument("--name", help="lab name (default from the source)")
    s.add_argument("--vendors", default="cisco=1", help="vendor mix, e.g. cisco=0.6,juniper=0.3,linux=0.1")
    s.add_argument("--mpls-share", type=float_in(0, 1), default=1.0, help="share of each AS's routers in MPLS (default 1)")
    s.add_argument("--domains", type=int_in(1, 1000), help="cut each AS's MPLS routers into N domains")
    s.add_argument("--classes", default="invisible-php",
                   help="tunnel class per domain, cycled: explicit,implicit,opaque,invisible-php,invisible-uhp,vendor")
    s.add_argument("--ldp", choices=["domain", "all", "loopbacks", "vendor"], default="domain",
                   help="LDP label policy: one per domain, its most common vendor's (domain, the default), all, "
                        "loopbacks, or vendor (each router its vendor's default: a mixed domain cuts LSPs)")
    s.add_argument("--vps", type=int_in(1, 10000), default=10, help="vantage points (hosts at edge routers, default 10)")
    s.add_argument("--dsts", type=int_in(1, 10000), default=30, help="destinations (hosts at edge routers, default 30)")
    s.add_argument("--probes", default="all", help="'all' pairs, or N destinations sampled per vantage point")
    s.add_argument("--seed", type=SEED, default=1)
    s.add_argument("--list", metavar="GROUP", help="list the topologies of topozoo, sndlib or caida")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
