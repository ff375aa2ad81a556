"""`testbed truth LAB`: the ground truth, paths and tunnels of every probe."""
from __future__ import annotations

from testbed.cli.arguments import add_lab_command
from testbed.cli.console import console
from testbed.cliargs import load_lab_arg, print_json


def _first_lsr(path, t) -> dict:
    return next(s for s in path["forward"] if s["node"] == t["lsrs"][0])


def run(args):
    from testbed.controlplane import build
    lab = load_lab_arg(args)
    from testbed.truth import ground_truth
    gt = ground_truth(build(lab))
    if args.json:
        return print_json(gt)
    c = console()
    for p in gt["probes"] + gt.get("probes6", []):          # probes6: a 6PE lab's probes over IPv6
        c.print(f"[bold]{p['from']} -> {p['to_name']} ({p['to']})[/]" + ("  [yellow]ECMP[/]" if p["ecmp"] else "")
                + ("  [magenta]IPv6, not probed by TNT/uTNT (IPv4 only)[/]" if p.get("family") == "ipv6" else ""))
        for path in p["paths"]:
            c.print("  forward: " + " ".join(s["node"] + ("*" if s["labels"] else "") for s in path["forward"]))
            for t in path["tunnels"]:
                c.print(f"  tunnel [cyan]{t['class']}[/]{' (silent LSRs)' if t['silent'] else ''}: "
                        f"{t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}  ({t['ending']})"
                        + (f"  6PE, labels {'/'.join(map(str, _first_lsr(path, t)['labels']))}"
                           if t.get("family") == "6pe" and t["lsrs"] else ""))
            for sg in path.get("segments", []):
                c.print(f"  zero-LSR segment ({sg['ending']}, not a tunnel): {sg['ingress']} -> {sg['egress']}"
                        f"  seen as: {sg['seen_as']}")
            if not path["tunnels"]:
                c.print("  no tunnel")
        for r in p["return"]:
            c.print("  return:  " + " ".join(r))


def add_parser(sub):
    add_lab_command(sub, "truth", run, "ground truth: paths and tunnels of every probe")
