"""The uTNT paper's on-demand use case in a lab (issue 16): 59 events one per second onto 5
nodes (five-vp's vantage points), one instance per node at a time, an event finding no free
node dropped; for every detector runtime available here. Median and mean time per event,
completed events, accuracy of the completed traces; the paper's figures beside. Needs root.

    .venv/bin/python benchmarks/bench_ondemand.py [--events 59] [--runtimes utnt-process,utnt-vm] [--plot PNG] [--json]

It writes nothing but where --plot says (the README's picture: --plot docs/ondemand-five-vp.png).
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.ondemand import PAPER, ondemand, plot  # noqa: E402
from testbed.lab import load_lab  # noqa: E402


def arg(flag, default):
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def main():
    lab = load_lab("five-vp")
    events = int(arg("--events", 59))
    rts = arg("--runtimes", None)
    doc = ondemand(lab, name=f"bo-{os.getpid()}", events=events, interval=1.0, nodes=5,
                   runtimes=rts.split(",") if rts else None,
                   progress=lambda m: print(f"» {m}", file=sys.stderr, flush=True))
    png = arg("--plot", None)             # written only where asked (docs/ondemand-five-vp.png for the README)
    if png and doc["runtimes"]:
        plot(doc, png)
    doc["load"] = round(os.getloadavg()[0], 1)
    if "--json" in sys.argv:
        for r in doc["runtimes"]:
            r.pop("rows", None)
        print(json.dumps(doc, indent=2))
        return
    print(f"{events} events, 1 s apart, 5 nodes (five-vp), load {doc['load']}" + (f"; plot: {png}" if png else ""))
    print(f"{'runtime':16s} {'completed':>10s} {'dropped':>8s} {'failed':>7s} {'median s':>9s} {'mean s':>7s} "
          f"{'accuracy':>9s}")
    for r in doc["runtimes"]:
        acc = f"{r['traces_correct']}/{r['traces_scored']}"
        print(f"{r['runtime']:16s} {r['completed']:7d}/{events:<2d} {r['dropped']:8d} {r['failed']:7d} "
              f"{r['median_event_s']:9.2f} {r['mean_event_s']:7.2f} {acc:>9s}")
    for s in doc["skipped"]:
        print(f"{s['runtime']:16s} skipped: {s['reason']}")
    for k, v in PAPER["completed"].items():
        print(f"{'paper ' + k:16s} {v:7.1f}/59 {'':8s} {'':7s} {'':9s} {PAPER['mean_event_s'][k]:7.2f}")


if __name__ == "__main__":
    main()
