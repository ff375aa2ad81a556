"""`testbed vm LAB`: boot one detector micro-VM on a lab's tap, collect and score its result.

    testbed vm invisible-php                              # uTNT guest, the lab's first probe
    testbed vm invisible-php --image utnt                 # uTNT guest on Debian's kernel
    testbed vm invisible-php --image tiny                 # busybox traceroute, hops vs the truth
    testbed vm invisible-php --kernel app-utnt_qemu-x86_64 --machine pc --mem 8 -- -i 12.0.1.2 ...
                                                          # your own image, the paper's convention
"""
from __future__ import annotations

import json
import sys

from testbed.errors import TestbedError


def run(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    from testbed.runtimes.qemu import Image
    lab = load_lab(args.lab, parse_sets(args.set))
    try:
        ok = tuple(int(x) for x in args.ok_status.split(","))
    except ValueError:
        raise TestbedError(f"--ok-status: '{args.ok_status}' is not a list of integers like 0,83") from None
    from testbed.runtimes.qemu import check_cmdline
    # the longest argument list this run can give the guest, refused before anything else
    probe = Image(kernel="", machine=args.machine or "pc", append="") if args.kernel else Image(kernel="")
    check_cmdline(probe, list(args.utnt or []) + ["utnt", "-i", "255.255.255.255"])
    if not args.kernel and args.image in ("auto", "utnt", "utnt-micro", "utnt-micro-snap"):
        # uTNT's options as `probe` takes them: the guest's address, gateway and MAC are the
        # lease's (an `--ip` here would give the VM an address another instance may hold)
        from testbed.detectors.utnt import utnt_args
        utnt_args(args.utnt)
    if args.kernel:
        image = Image.user(args.kernel, args.initrd, machine=args.machine or "pc", mem_mb=args.mem or 16,
                           ok_status=ok)
    else:
        image = Image.ours("utnt-auto" if args.image == "auto" else args.image, args.mem)
        image.ok_status = ok
    progress = None if args.json else (lambda m: print(f"» {m}", file=sys.stderr, flush=True))
    if progress and not args.kernel and args.image == "auto":
        from testbed.runtimes.qemu import guest_line
        progress(guest_line())
    from testbed.experiments.vm import vm_probe
    doc = vm_probe(lab, args.name or lab.name, args.source, args.dest, image, args.utnt, args.timeout, progress)
    r = doc["run"]
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        if not r["ok"]:
            raise SystemExit(1)             # a VM that failed is a failed run, whatever it printed
        return
    if doc.get("dump"):
        sys.stdout.write(doc["dump"])          # TNT's own dump of the warts the guest wrote
    elif doc["traces"]:
        from utnt.jsonload import dump_text_json
        sys.stdout.write(dump_text_json(doc["traces"]))
    elif doc["hops"] is not None:
        for i, a in enumerate(doc["hops"], 1):
            print(f"{i:3d}  {a or '*'}")
    fmt = lambda v, u="s": f"{v:.2f} {u}" if isinstance(v, (int, float)) else "-"   # noqa: E731
    print(f"{doc['image']} guest ({doc['kernel']} kernel, {doc['image_bytes'] / 1e6:.2f} MB, {doc['mem_mb']} MB RAM, "
          f"{r['accel']}) at "
          f"{doc['address']} on {doc['vp']}'s LAN: exit {r['status']}, {'ok' if r['ok'] else 'FAILED: ' + str(r['error'])}")
    print(f"  boot (start to /init) {fmt(r['boot_s'])}, start to result {fmt(r['result_s'])}, wall {fmt(r['wall_s'])}; "
          f"guest RAM PSS {r['guest_pss_kb'] / 1024:.1f} MB, QEMU PSS {r['host_pss_kb'] / 1024:.1f} MB")
    s = doc["score"]
    if s is None:
        print("  not scored (no trace in uTNT's JSON and no traceroute hops in the share: files "
              + ", ".join(r["files"]) + ")")
    elif "verdicts" in s:
        print("  score: " + ", ".join(s["verdicts"]) if s["verdicts"] else "  score: no tunnel on this path")
    else:
        print(f"  hops {'match' if s['match'] else 'DIFFER from'} the truth: {' '.join(n or '*' for n in s['hops'])}"
              + ("" if s["match"] else f" (expected {' '.join(s['expected_visible'])})"))
    if not r["ok"]:
        raise SystemExit(1)


def add_parser(sub):
    from testbed.cliargs import float_in, int_in
    s = sub.add_parser("vm", help="boot a detector micro-VM (QEMU) on a lab's tap, score what it reports")
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--from", dest="source", help="vantage point whose LAN the VM joins (default: first probe's)")
    s.add_argument("--to", dest="dest", help="destination (default: the vantage point's first probe target)")
    s.add_argument("--image", default="auto", choices=["auto", "utnt-micro", "utnt-micro-snap", "utnt", "tiny", "tnt"],
                   help="our guest (build/vm, make vm-image): utnt-micro (our kernel, make guest-kernel), "
                   "utnt-micro-snap (the same, restored from a snapshot taken once after its boot, waiting for "
                   "its event), utnt (Debian's kernel), tiny (busybox traceroute) or tnt; auto (default): "
                   "utnt-micro where built, else utnt")
    s.add_argument("--kernel", help="your own image instead (e.g. Unikraft's app-utnt_qemu-x86_64)")
    s.add_argument("--initrd", help="its initramfs, if any")
    s.add_argument("--machine", default=None, choices=["microvm", "pc"], help="QEMU machine for --kernel (pc)")
    s.add_argument("--mem", type=int_in(16, 65536), help="guest RAM in MB (ours: 64 utnt-micro, 96 tiny, 160 utnt; "
                   "--kernel: 16)")
    s.add_argument("--ok-status", default="0,83", help="QEMU exit statuses that mean success (0 power off, "
                   "83 Unikraft's isa-debug-exit)")
    s.add_argument("--timeout", type=float_in(1, 86400), default=300.0, help="seconds before the VM is stopped (300)")
    s.add_argument("--name", help="lab instance name (default: the lab's; brought up and down if not up)")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(fn=run)
