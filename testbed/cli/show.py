"""`testbed show LAB NODE`: a router's interfaces, FIB and LFIB."""
from __future__ import annotations

from testbed.cli.arguments import add_lab_command
from testbed.cli.console import console
from testbed.cliargs import load_lab_arg, print_json
from testbed.errors import InputError


def run(args):
    from testbed.controlplane import build
    lab = load_lab_arg(args)
    if args.node not in lab.nodes:
        raise InputError(f"{lab.source}: no node '{args.node}'; nodes: {', '.join(lab.nodes)}")
    cp = build(lab)
    node = lab.nodes[args.node]
    t = cp[args.node].to_json()
    t.update({"vendor": node.vendor, "domain": node.domain, "loopback": str(node.loopback) if node.loopback else None,
              "interfaces": [{"name": i.name, "address": str(i.address), "mac": i.mac.hex(":"),
                              "link": i.link.name, "cost": i.cost,
                              "peers": [p.node for p in i.peers()]} for i in node.interfaces],
              "mpls": {"ldp": node.ldp, "popping": node.popping, "ttl_propagate": node.ttl_propagate,
                       "rfc4950": node.rfc4950, "icmp_tunneling": node.icmp_tunneling} if node.domain else None})
    if args.json:
        return print_json(t)
    from rich.table import Table
    c = console()
    c.print(f"[bold]{node.name}[/] ({node.kind}, {node.vendor}{', domain ' + node.domain if node.domain else ''}"
            f"{', loopback ' + str(node.loopback) if node.loopback else ''})")
    if t["mpls"]:
        c.print("MPLS: " + ", ".join(f"{k}={v}" for k, v in t["mpls"].items()))
    it = Table(title="interfaces")
    for col in ("name", "address", "link", "cost", "peers"):
        it.add_column(col)
    for i in t["interfaces"]:
        it.add_row(i["name"], i["address"], i["link"], str(i["cost"]), ", ".join(i["peers"]))
    c.print(it)
    ft = Table(title="FIB")
    for col in ("prefix", "kind", "next hops", "via"):
        ft.add_column(col)
    for r in t["fib"]:
        hops = "; ".join(f"{h['interface']} {h['gateway'] or 'on-link'}"
                         + (f" push {h['push']}" if h["push"] else "") for h in r["nexthops"]) or "local"
        ft.add_row(r["prefix"], r["kind"], hops, r["via"])
    c.print(ft)
    if t["lfib"]:
        lt = Table(title="LFIB")
        for col in ("in", "FEC", "out", "next hop"):
            lt.add_column(col)
        for e in t["lfib"]:
            for h in e["hops"]:
                lt.add_row(str(e["in"]), e["fec"], str(h["out"]), f"{h['interface']} {h['gateway']} ({h['neighbor']})")
        c.print(lt)


def add_parser(sub):
    s = add_lab_command(sub, "show", run, "a router's interfaces, FIB and LFIB")
    s.add_argument("node")
