"""`testbed up LAB`: bring a lab instance up in a runtime that keeps it (namespaces; a Mininet network).

Progress goes to stderr; --json output on stdout is machine-readable."""
from __future__ import annotations

from testbed.cli.arguments import add_control_plane_args, add_runtime_arg
from testbed.cli.console import Reporter, err_console, out_console
from testbed.cliargs import add_lab_file_args, int_in, print_json
from testbed.errors import InputError


def run(args):
    from testbed import api
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    from testbed.runtimes import registry
    rt = registry.get(args.runtime)
    lab = load_lab(args.lab, parse_sets(args.set), no_limits=args.no_limits, local_first=args.local_includes)
    options = {k: getattr(args, k) for k in ("plan", "host", "underlay_netns", "pcap") if getattr(args, k, None)}
    if options and not set(options) <= set(getattr(rt, "up_options", ())):
        raise InputError(f"up: --{next(iter(options)).replace('_', '-')} is the big-lab runtime's (a lab split "
                         "across machines, `testbed split`; a capture in the engine): use --runtime bigrt")
    if rt.interactive:                  # the runtime's own prompt until it ends (Mininet's)
        rt.require()
        rt.up(lab, args.name, control_plane=args.control_plane, batch=args.batch)
        return
    rep = Reporter(err_console())
    name = args.name or (f"{lab.name}-{args.host}" if options.get("plan") and options.get("host") else lab.name)
    cp = rt.control_plane(lab, args.control_plane)
    rep.c.print(f"bringing [bold]{name}[/] up ({len(lab.routers)} routers, {len(lab.hosts)} hosts, "
                f"{len(lab.links)} links; {'FRR' if cp == 'frr' else 'computed'} control plane)")
    try:
        st = rt.up(lab, args.name, workers=args.workers, progress=rep, control_plane=args.control_plane,
                   converge_timeout=args.converge_timeout, **options).state
    finally:
        rep.close()
    if args.json:
        return print_json(api.status(st["name"]))
    c = out_console()
    c.print(f"[bold green]{st['name']} is up[/] in {st['up_seconds']:.2f} s: {len(st['namespaces'])} namespaces, "
            f"{len(st['workers'])} engine workers")
    if st.get("control_plane") == "frr":
        f = st["frr"]
        c.print(f"  FRR: {len(f['daemons'])} daemons, converged in {f['converged_seconds']:.1f} s, "
                + ("tables equal to the computed control plane" if not f["differences"] else
                   f"[yellow]{len(f['differences'])} differences from the computed control plane[/]"))
        for d in (f["differences"] or [])[:10]:
            c.print(f"    [yellow]{d}[/]")
        r0 = next(iter(st["routers"]))
        c.print(f"  vtysh: testbed exec {st['name']} {r0} -- vtysh --vty_socket {f['dir']}/{r0} -c 'show mpls table'")
    for a in st.get("attach", []):
        c.print(f"  attach: tap [bold]{a['tap']}[/] in {a['namespace']} on {a['lan']} ({a['network']}): "
                f"use {a['address']}/{a['prefixlen']} via {a['gateway']}")
    for a in st.get("router_attach", []) or []:
        c.print(f"  attach router {a['router']}: tap [bold]{a['tap']}[/] in {a['namespace']} (the router's own stack: "
                f"use {a['address']}/32 via {a['gateway']}); kernel probers in {a['prober_namespace']}")
    rvps = {a["router"] for a in st.get("router_attach", []) or []}
    for p in st.get("probes", []):
        for t in p["targets"][:1]:
            node = f"_vp-{p['from']}" if p["from"] in rvps else p["from"]
            c.print(f"  try: testbed exec {st['name']} {node} -- scamper -O json -c 'trace -P icmp-paris' -i {t}")
    c.print(f"  stop: testbed down {st['name']}")


def add_parser(sub):
    s = sub.add_parser("up", help="bring a lab up as a lab instance that stays up (netns: namespaces; mininet)")
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--name", help="instance name (default: the lab's name); two instances need two names")
    s.add_argument("--workers", type=int_in(1, 64), help="engine worker processes (default: one per core)")
    add_control_plane_args(s)
    add_lab_file_args(s)
    s.add_argument("--json", action="store_true", help="print the lab's state as JSON on stdout")
    add_runtime_arg(s, "netns", keeps_instances=True)
    s.add_argument("--batch", metavar="FILE", help="mininet: run these CLI commands instead of the prompt")
    s.add_argument("--pcap", action="append", metavar="LINK",
                   help="bigrt: the engine writes every frame crossing this link between routers to a pcap (repeatable)")
    s.add_argument("--plan", metavar="PLAN.json", help="bigrt: run one machine's part of a `testbed split` plan")
    s.add_argument("--host", help="bigrt: which host of the plan this machine is")
    s.add_argument("--underlay-netns", metavar="NS",
                   help="bigrt --plan: the namespace whose address is the host's underlay (default: this "
                        "machine's own); for stand-in machines made of namespaces")
    s.set_defaults(fn=run)
