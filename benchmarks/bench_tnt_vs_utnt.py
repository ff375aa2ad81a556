"""uTNT against the original TNT, same labs, same run: wall time and probes per lab.

Each lab (library defaults, plus a /30 invisible-uhp and a 6-LSR implicit) comes up in
namespaces; uTNT probes it from the vantage point's LAN tap, the original TNT (built by the
user, see README "The original TNT as a peer") from the vantage point's namespace, toward
the lab's destination and ce2; RUNS rounds, medians printed. Probes: base traces plus
revelation and the fingerprinting pings (TNT's warts probe_count counts all three; uTNT's
probe_count + reveal_probes + ping_probes). TNT's time is dominated
by scamper's `ping -c 1` wait (about 1 s per round of pings). Needs root.

    .venv/bin/python benchmarks/bench_tnt_vs_utnt.py [RUNS]
"""
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.peers import tnt  # noqa: E402
from testbed.peers.sidebyside import differences, run_pair  # noqa: E402

LABS = [("plain-ip", {}), ("explicit", {}), ("implicit", {}), ("implicit", {"lsrs": 6}), ("opaque", {}),
        ("invisible-php", {}), ("invisible-php-juniper", {}), ("invisible-uhp", {}),
        ("invisible-uhp", {"p2p_prefix": 30}), ("mixed", {})]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if tnt.find_prefix() is None:
        raise SystemExit(tnt.missing_reason())
    print(f"{'lab':34s} {'uTNT s':>8s} {'TNT s':>8s} {'ratio':>6s} {'uTNT probes':>12s} {'TNT probes':>11s} "
          f"{'same':>5s}")
    ut_all, tt_all = [], []
    for lab, params in LABS:
        ut, tt, up, tp, same = [], [], 0, 0, True
        for k in range(runs):
            r = run_pair(lab, params, [], f"bench-tv{os.getpid() % 1000}-{k}", extra_targets=["ce2"])
            ut.append(r["utnt"]["seconds"])
            tt.append(r["tnt"]["seconds"])
            up, tp = r["utnt"]["probes"], r["tnt"]["probes"]
            same = same and not differences(r)
        um, tm = statistics.median(ut), statistics.median(tt)
        ut_all.append(um)
        tt_all.append(tm)
        tag = lab + "".join(f" {k}={v}" for k, v in params.items())
        print(f"{tag:34s} {um:8.2f} {tm:8.2f} {tm / um:6.1f} {up:12d} {tp:11d} {'yes' if same else 'NO':>5s}",
              flush=True)
    print(f"{'median over labs':34s} {statistics.median(ut_all):8.2f} {statistics.median(tt_all):8.2f} "
          f"{statistics.median(tt_all) / statistics.median(ut_all):6.1f}")


if __name__ == "__main__":
    main()
