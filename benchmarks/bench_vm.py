"""The micro-VM detector runtime against the uTNT paper's unikernel (issue 16): image size,
boot time, time to result, guest and host memory; medians of RUNS boots per guest on
invisible-php's tap. The peer in the same run: uTNT as a process on a tap of its own.
TCG here (the machine's /dev/kvm is kvm-pvm), KVM in the paper. Needs root and `make vm`.

    .venv/bin/python benchmarks/bench_vm.py [--runs N] [--json]
"""
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.experiments.parallel import Entry, Instances  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api  # noqa: E402
from testbed.runtimes.qemu import Image, accel, boot_on_lab, missing  # noqa: E402

RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
PAPER = {"image_mb": 0.897, "guest_pss_mb": 3.4, "guest_pss_peak_mb": 5.6, "deploy_s": 18.15, "run_s": 18.03,
         "qemu_rss_mb": "58.9-61.6", "guest_ram_mb": 8, "accel": "KVM (-enable-kvm -cpu host)"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def main():
    why = missing()
    if why:
        raise SystemExit(f"bench_vm: {why}")
    lab = load_lab("invisible-php")
    name = f"bv-{os.getpid()}"
    dst = str(lab.probes[0].targets[0])
    api.up(lab, name=name)
    out = {"accel": accel()[1], "runs": RUNS, "paper": PAPER, "guests": {}}
    try:
        inst = Instances(lab, name)
        try:
            for which, args in (("tiny", ["traceroute", "-q", "1", "-w", "2", "-m", "8", dst]),
                                ("utnt", ["utnt", "-i", dst])):
                img = Image.ours(which)
                runs = []
                for k in range(RUNS):
                    d = boot_on_lab(lab, name, "vp", args, image=img, timeout=600, frames=inst.frames)
                    r = d["run"]
                    if not r["ok"]:
                        raise SystemExit(f"bench_vm: {which} boot {k} failed: {r['error']}")
                    runs.append(r)
                    print(f"» {which} boot {k + 1}/{RUNS}: {r['wall_s']:.1f} s", file=sys.stderr, flush=True)
                out["guests"][which] = {
                    "image_mb": round(img.size_bytes() / 1e6, 3), "ram_mb": img.mem_mb,
                    "boot_s": med([r["boot_s"] for r in runs]),
                    "guest_uptime_at_init_s": med([r["guest_init_uptime"] for r in runs]),
                    "first_probe_s": med([r["first_probe_s"] for r in runs]),
                    "result_s": med([r["result_s"] for r in runs]), "wall_s": med([r["wall_s"] for r in runs]),
                    "guest_pss_mb": med([r["guest_pss_kb"] / 1024 for r in runs]),
                    "qemu_pss_mb": med([r["host_pss_kb"] / 1024 for r in runs])}
            procs = [inst.run_utnt(Entry("vp", dst)) for _ in range(RUNS)]
            out["peer_utnt_process"] = {"pss_mb": med([p.pss_kb / 1024 for p in procs]),
                                        "first_probe_s": med([p.first_probe_s for p in procs]),
                                        "result_s": med([p.ended - p.started for p in procs])}
        finally:
            inst.close()
    finally:
        api.down(name)
    out["load"] = round(os.getloadavg()[0], 1)
    if "--json" in sys.argv:
        print(json.dumps(out, indent=2))
        return
    g, p = out["guests"], out["peer_utnt_process"]
    print(f"medians of {RUNS} boots, {out['accel']}, load {out['load']}")
    print(f"{'':28s} {'tiny (traceroute)':>18s} {'uTNT guest':>12s} {'uTNT process':>13s} {'paper uTNT':>11s}")
    print(f"{'image (kernel+initramfs)':28s} {g['tiny']['image_mb']:16.2f}MB {g['utnt']['image_mb']:10.2f}MB "
          f"{'-':>13s} {PAPER['image_mb']:9.3f}MB")
    print(f"{'guest RAM given':28s} {g['tiny']['ram_mb']:16d}MB {g['utnt']['ram_mb']:10d}MB {'-':>13s} "
          f"{PAPER['guest_ram_mb']:9d}MB")
    print(f"{'start to /init (boot)':28s} {g['tiny']['boot_s']:17.2f}s {g['utnt']['boot_s']:11.2f}s {'-':>13s} "
          f"{'n/a':>11s}")
    print(f"{'guest uptime at /init':28s} {g['tiny']['guest_uptime_at_init_s']:17.2f}s "
          f"{g['utnt']['guest_uptime_at_init_s']:11.2f}s {'-':>13s} {'n/a':>11s}")
    print(f"{'start to first probe':28s} {g['tiny']['first_probe_s'] or 0:17.2f}s {g['utnt']['first_probe_s'] or 0:11.2f}s "
          f"{p['first_probe_s']:12.2f}s {'n/a':>11s}")
    print(f"{'start to result':28s} {g['tiny']['result_s']:17.2f}s {g['utnt']['result_s']:11.2f}s "
          f"{p['result_s']:12.2f}s {PAPER['run_s']:10.2f}s")
    print(f"{'guest RAM PSS':28s} {g['tiny']['guest_pss_mb']:16.1f}MB {g['utnt']['guest_pss_mb']:10.1f}MB "
          f"{p['pss_mb']:11.1f}MB {PAPER['guest_pss_mb']:9.1f}MB")
    print(f"{'QEMU process PSS (host)':28s} {g['tiny']['qemu_pss_mb']:16.1f}MB {g['utnt']['qemu_pss_mb']:10.1f}MB "
          f"{'-':>13s} {'~60MB RSS':>11s}")
    print("paper: KVM, 8 MB guest, KSM on, one TNT trace to 1.1.1.1 whose own time is ~16 s (gap limit); "
          "ours: TCG, one TNT run across invisible-php")


if __name__ == "__main__":
    main()
