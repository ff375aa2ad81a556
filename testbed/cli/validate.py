"""`testbed validate LAB`: check a lab file (schema, references, addressing, control plane, expect:)."""
from __future__ import annotations

from testbed.cli.arguments import add_lab_command
from testbed.cliargs import load_lab_arg, print_json
from testbed.errors import LabError


def run(args):
    from testbed.controlplane import build
    lab = load_lab_arg(args)
    cp = build(lab)
    from testbed.truth import ground_truth
    gt = ground_truth(cp)
    n = sum(len(p["paths"][0]["tunnels"]) for p in gt["probes"] if p["paths"])
    from testbed.truth.report import check_expect
    failed = check_expect(lab, gt["probes"], gt.get("probes6"))
    if failed:
        raise LabError(failed)
    out = {"lab": lab.name, "file": lab.source, "valid": True, "routers": len(lab.routers),
           "hosts": len(lab.hosts), "links": len(lab.links), "domains": list(lab.domains),
           "probes": sum(len(p.targets) for p in lab.probes), "tunnels_on_probes": n}
    if args.json:
        return print_json(out)
    print(f"{lab.source}: valid: {out['routers']} routers, {out['hosts']} hosts, {out['links']} links, "
          f"{len(out['domains'])} MPLS domains, {out['probes']} probes crossing {n} tunnels")


def add_parser(sub):
    add_lab_command(sub, "validate", run, "check a lab file (schema, references, addressing, control plane)")
