"""What the 6PE path costs the engine (issue 13): medians of this run, each against its peer
measured in the same run on the same lab (topologies/6pe.yaml, 3 LSRs, sim runtime):

- one Paris traceroute over IPv6 (the 6PE tunnel: ND, two-label push, ICMPv6 errors built,
  tunnelled and routed back) against the same traceroute over IPv4 (the lab's IPv4 tunnel),
  both from the scripted scapy prober with its pings;
- the control plane with fib6 (build) against the same lab without the domain's sixpe.

    .venv/bin/python benchmarks/bench_sixpe.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_of as _median_of  # noqa: E402

from testbed.controlplane import build  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.sim import Sim  # noqa: E402
from testbed.tools.scripted import ScriptedProber  # noqa: E402

RUNS = 7


def median_of(fn, runs=RUNS):
    return _median_of(fn, runs)


def main():
    lab = load_lab("6pe")
    cp = build(lab)
    dst4, dst6 = str(lab.probes[0].targets[0]), str(lab.probes[0].targets6[0][0])
    t6 = median_of(lambda: ScriptedProber(Sim(lab, cp), "vp").trace6(dst6))
    t4 = median_of(lambda: ScriptedProber(Sim(lab, cp), "vp").trace(dst4))
    plain = load_lab("6pe")
    plain.domains["core"].sixpe = False
    for n in plain.nodes.values():
        for i in n.interfaces:
            i.address6 = None
    c6 = median_of(lambda: build(lab))
    c4 = median_of(lambda: build(plain))
    print(f"IPv6 trace through the 6PE tunnel (sim, with pings): median {t6 * 1000:.1f} ms; "
          f"IPv4 trace of the same lab: {t4 * 1000:.1f} ms (ratio {t6 / t4:.2f})")
    print(f"control plane with fib6: median {c6 * 1000:.2f} ms; without sixpe: {c4 * 1000:.2f} ms "
          f"(ratio {c6 / c4:.2f})")


if __name__ == "__main__":
    main()
