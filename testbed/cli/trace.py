"""`testbed trace LAB`: a scripted Paris traceroute through the sim runtime, with fingerprints."""
from __future__ import annotations

from testbed.cli.arguments import add_lab_command
from testbed.cliargs import load_lab_arg, print_json


def run(args):
    from testbed.controlplane import build
    """A scripted Paris traceroute through the sim (scapy probes), with fingerprints."""
    lab = load_lab_arg(args)
    from testbed.runtimes.sim import Sim
    from testbed.tools.scripted import ScriptedProber
    from testbed.targets import probe_source
    src = probe_source(lab, args.source)
    dst = args.dest or (str(lab.probes[0].targets[0]) if lab.probes else None)
    if dst in lab.nodes:
        dst = str(lab.nodes[dst].primary_address())
    pr = ScriptedProber(Sim(lab, build(lab)), src)
    hops = pr.trace(dst, method=args.method)
    rows = [{"ttl": h.ttl, "address": h.address, "node": lab.owner_of(h.address) if h.address else None,
             "icmp_type": h.icmp_type, "reply_ttl": h.reply_ttl, "er_ttl": h.er_ttl, "qttl": h.quoted_ttl,
             "labels": h.labels, "frpla": h.frpla, "uturn": h.uturn} for h in hops]
    if args.json:
        return print_json({"lab": lab.name, "from": src, "to": dst, "hops": rows})
    print(f"trace [{args.method}] from {src} to {dst} (sim)")
    for r in rows:
        if not r["address"]:
            print(f"{r['ttl']:3d}  *")
            continue
        extra = f" qttl={r['qttl']}" if r["qttl"] is not None else ""
        if r["labels"]:
            extra += " Labels " + " | ".join(f"{l} mTTL={t}" for l, t in r["labels"])
        print(f"{r['ttl']:3d}  {r['address']:15s} {r['node']:6s} rTTLs=<{r['reply_ttl']},{r['er_ttl'] or '*'}>"
              f"{extra} frpla={r['frpla']} uturn={r['uturn']}")


def add_parser(sub):
    s = add_lab_command(sub, "trace", run, "scripted Paris traceroute through the sim runtime")
    s.add_argument("--from", dest="source")
    s.add_argument("--to", dest="dest")
    s.add_argument("-m", "--method", default="icmp-paris", choices=["icmp-paris", "udp-paris"])
