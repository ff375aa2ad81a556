"""Which runtime should the micro uTNT guest carry (issue 24)? Every candidate that runs uTNT's
own code unchanged and installs here, measured in one run on invisible-php's tap under the
same kernel (build/vm/micro/bzImage) and /init, with today's guest as the peer:

    current       today's micro guest as built (Debian's python3.11 binary and the shared
                  libraries it links; the 67 standard-library modules uTNT loads as sourceless
                  .pyc files in a folder; uTNT's sources and .pyc in /app)
    stdlib-zip    the same, the standard library as python311.zip (zipimport)
    one-zip       one zip holds the standard library and uTNT (sourceless .pyc): no /app
    cpython-full  Debian's python3.11 untrimmed: its whole /usr/lib/python3.11 as installed
    pypy          Debian's pypy3 (7.3.11, Python 3.9) and its whole library as installed
                  (apt-get install pypy3); runs uTNT's code as is

For each: initramfs size (zstd -19, as the guest ships), the smallest guest RAM (-m, MB) that
boots and traces (a ladder of sizes, one boot each, down from the first that works), then RUNS
timed boots at the RAM given (64 MB, or the next ladder step above that smallest one when 64
is not enough): QEMU start to /init, to the first probe on the wire, to the result; guest PSS
(the guest-RAM mapping), QEMU's peak RSS and CPU time; medians. Each trace is compared with
uTNT's as a process (hop for hop, round-trip times aside) and scored.

Candidates not measured, each with its reason, are printed with the table (NOT_MEASURED).
`--kernel NAME=PATH` (repeatable) adds a row: the current runtime booted on another bzImage
(e.g. a trimmed guest kernel built into another cache). Candidate images are built once into
build/vm/runtimes/ (rebuilt when today's micro initramfs changes). Needs root, `make vm` and
`make guest-kernel`.

    .venv/bin/python benchmarks/bench_guest_runtimes.py [--runs N] [--candidates a,b]
        [--kernel NAME=PATH] [--json]
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from guests import boot_medians, cells, hops, lab_instances, report, utnt_process  # noqa: E402

from testbed.controlplane import build  # noqa: E402
from testbed.experiments.parallel import truth_for  # noqa: E402
from testbed.experiments.vm import read_guest_result  # noqa: E402
from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.qemu import (IMAGE_DIR, MICRO_APPEND, MICRO_KERNEL_FILE, MICRO_TB_MB, Image, accel,  # noqa: E402
                                   boot_on_lab, micro_doc, micro_missing)
from testbed.scoring.score import score_trace  # noqa: E402


def _arg(flag, default):
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


RUNS = int(_arg("--runs", "5"))
CANDIDATES = ["current", "stdlib-zip", "one-zip", "cpython-full", "pypy"]
WANT = _arg("--candidates", ",".join(CANDIDATES)).split(",")
KERNELS = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--kernel"]
LADDER = [512, 384, 256, 192, 160, 128, 96, 80, 64, 56, 48, 44, 40, 36, 32]   # guest RAM (MB) tried
CANDIDATES_VERSION = b"1"      # bump when make_candidate changes: the cached images are rebuilt
GIVEN_MB = 64                                                                   # today's guest RAM
PY = "/usr/bin/python3.11"
PYPY = "/usr/bin/pypy3.9"
OUT = IMAGE_DIR / "runtimes"
NOT_MEASURED = {
    "micropython": "cannot run uTNT unchanged: no dataclasses, ipaddress or full argparse (uTNT's "
                   "imports), no AF_PACKET raw sockets; nor is it packaged in Debian 12 or on PyPI",
    "static CPython (python-build-standalone)": "not obtainable here: its installers (pbs-installer, "
                   "portable-python, uv) download it from its project's release pages, which this machine cannot "
                   "reach; Debian ships no static python3",
    "compiled uTNT (Nuitka, Cython, CPython's Tools/freeze)": "not measured: each compiles uTNT to C and "
                   "links it per image (Nuitka and Cython install from PyPI; Tools/freeze needs CPython's source, not "
                   "packaged here), and /init starts `python3 -S -m utnt.cli`, which a compiled binary would not "
                   "take unchanged; Python 3.11 already runs its own start-up modules frozen (-X frozen_modules=on "
                   "is an installed build's default)",
}


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def pack(root: Path, out: Path):
    """As scripts/build-vm-image.sh packs the micro guest: newc cpio, sorted, owned by root, zstd -19."""
    tmp = out.with_suffix(".tmp")
    sh(f"cd {root} && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | zstd -q -19 -T1 > {tmp}")
    tmp.rename(out)


def copy_libs(binary: str, root: Path):
    """binary's shared libraries (ldd), at the same paths in the guest."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for ln in out.splitlines():
        parts = ln.split()
        lib = parts[2] if "=>" in parts and len(parts) > 2 and parts[2].startswith("/") else (
            parts[0] if parts and parts[0].startswith("/") else None)
        if lib:
            dst = root / lib.lstrip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(os.path.realpath(lib), dst)


def make_candidate(which: str, base: Path, root: Path):
    """Turn a copy of today's micro initramfs tree (root) into candidate `which`."""
    lib = root / "usr/lib/python3.11"
    if which in ("stdlib-zip", "one-zip"):
        for p in lib.iterdir():
            if p.name != "lib-dynload":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        zpath = root / "usr/lib/python311.zip"
        sh(f"{PY} -S {ROOT}/scripts/vm_stdlib.py {root}/app {zpath} {lib}/lib-dynload >/dev/null")
        if which == "one-zip":
            # uTNT (and whatever else /app holds) as sourceless .pyc in the same zip
            with zipfile.PyZipFile(zpath, "a", zipfile.ZIP_DEFLATED, optimize=0) as z:
                for pkg in sorted((root / "app").iterdir()):
                    if pkg.is_dir() and (pkg / "__init__.py").exists():
                        z.writepy(str(pkg))
            shutil.rmtree(root / "app")
            (root / "app").mkdir()
    elif which == "cpython-full":
        shutil.rmtree(lib)
        shutil.copytree("/usr/lib/python3.11", lib, symlinks=True,
                        ignore=shutil.ignore_patterns("dist-packages", "site-packages"))
    elif which == "pypy":
        if not os.path.exists(PYPY):
            raise FileNotFoundError(f"{PYPY} (apt-get install pypy3)")
        shutil.rmtree(lib)
        (root / "usr/bin/python3").unlink()
        shutil.copy(PYPY, root / "usr/bin/python3")
        copy_libs(PYPY, root)
        # PyPy finds its library by walking up from its binary: /usr/bin -> /usr/lib/pypy3.9
        shutil.copytree("/usr/lib/pypy3.9", root / "usr/lib/pypy3.9", symlinks=True)
        # uTNT's .pyc are CPython's: PyPy reads the sources (the guest writes no bytecode)
    elif which != "current":
        raise SystemExit(f"bench_guest_runtimes: --candidates: unknown {which!r}; choose from {', '.join(CANDIDATES)}")


def candidate_image(which: str) -> Path:
    """The candidate's initramfs, built once per version of today's micro initramfs."""
    cur = IMAGE_DIR / micro_doc()["initramfs"]
    if which == "current":
        return cur
    key = hashlib.sha256(cur.read_bytes() + CANDIDATES_VERSION).hexdigest()[:12]
    out = OUT / f"initramfs-{which}-{key}.cpio.zst"
    if out.exists():
        return out
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob(f"initramfs-{which}-*.cpio.zst"):
        old.unlink()
    with tempfile.TemporaryDirectory() as t:
        root = Path(t) / "root"
        root.mkdir()
        sh(f"cd {root} && zstd -q -dc {cur} | cpio -idm --quiet")
        make_candidate(which, cur, root)
        pack(root, out)
    print(f"bench_guest_runtimes: built {out} ({out.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    return out


def raw_mb(initrd: Path) -> float:
    """Uncompressed size of an initramfs (what the guest unpacks into its RAM)."""
    r = subprocess.run(f"zstd -q -dc {initrd} | wc -c", shell=True, capture_output=True, text=True, check=True)
    return round(int(r.stdout) / 1e6, 2)


def image(kernel: str, initrd: Path, mem: int, name: str) -> Image:
    return Image(kernel=kernel, initrd=str(initrd), name=name, mem_mb=mem, append=MICRO_APPEND, acpi=False,
                 kernel_kind="micro", tb_mb=MICRO_TB_MB)


class Bench:
    def __init__(self, lab, name, inst, dst, ref, tp):
        self.lab, self.name, self.inst, self.dst, self.ref, self.tp = lab, name, inst, dst, ref, tp

    def boot(self, img: Image, timeout=180):
        d = boot_on_lab(self.lab, self.name, "vp", ["utnt", "-i", self.dst], image=img, timeout=timeout,
                        frames=self.inst.frames, read_result=read_guest_result)
        r = d["run"]
        ok = bool(r["ok"] and d["traces"])
        return ok, d, r

    def smallest_ram(self, kernel, initrd, label):
        """The smallest ladder step that boots and traces: down from GIVEN_MB while it works,
        up from it while it does not."""
        i = LADDER.index(GIVEN_MB)
        ok, _, r = self.boot(image(kernel, initrd, GIVEN_MB, label))
        print(f"» {label}: {GIVEN_MB} MB {'ok' if ok else 'fails: ' + str(r['error'])[:80]}", file=sys.stderr, flush=True)
        step = 1 if ok else -1
        best = GIVEN_MB if ok else None
        j = i + step
        while 0 <= j < len(LADDER):
            ok, _, r = self.boot(image(kernel, initrd, LADDER[j], label))
            print(f"» {label}: {LADDER[j]} MB {'ok' if ok else 'fails: ' + str(r['error'])[:80]}", file=sys.stderr,
                  flush=True)
            if step == 1 and not ok:
                break
            if ok:
                best = LADDER[j]
                if step == -1:
                    break
            j += step
        return best

    def measure(self, label, kernel, initrd, mode):
        need = self.smallest_ram(kernel, initrd, label)
        if need is None:
            return {"error": f"no guest RAM up to {LADDER[0]} MB boots and traces"}
        given = GIVEN_MB if need <= GIVEN_MB else LADDER[LADDER.index(need) - 1]
        img = image(kernel, initrd, given, label)
        runs, same, verdicts = [], [], []
        for k in range(RUNS):
            ok, d, r = self.boot(img)
            if not ok:
                return {"error": f"boot {k + 1} at {given} MB failed: {r['error']}",
                        "console": r["console"][-1500:]}
            tr = d["traces"][0]
            same.append(hops(tr) == hops(self.ref))
            verdicts.append("/".join(v["verdict"] for v in score_trace(self.lab, self.tp, tr)["verdicts"]))
            runs.append(r)
            print(f"» {label} boot {k + 1}/{RUNS}: /init {r['boot_s']} s, first probe {r['first_probe_s']} s, "
                  f"result {r['result_s']} s, QEMU CPU {r['cpu_s']} s ({mode})", file=sys.stderr, flush=True)
        return {"kernel_mb": round(os.path.getsize(kernel) / 1e6, 3), "initramfs_mb": round(initrd.stat().st_size / 1e6, 3),
                "initramfs_raw_mb": raw_mb(initrd), "ram_needed_mb": need, "ram_given_mb": given, **boot_medians(runs),
                "traces_equal_process": f"{sum(same)}/{len(same)}", "verdicts": sorted(set(verdicts))}


def bad_input(msg):
    print(f"bench_guest_runtimes: {msg}", file=sys.stderr)
    sys.exit(2)


def main():
    why = micro_missing()
    if why:
        raise SystemExit(f"bench_guest_runtimes: {why}")
    for w in WANT:
        if w not in CANDIDATES:
            bad_input(f"--candidates: unknown {w!r}; choose from {', '.join(CANDIDATES)}")
    kernels = []
    for k in KERNELS:
        n, _, p = k.partition("=")
        if not p or not os.path.exists(p):
            bad_input(f"--kernel {k}: give NAME=PATH of an existing bzImage")
        kernels.append((n, p))
    kernel = str(IMAGE_DIR / "micro" / MICRO_KERNEL_FILE)
    skipped = {}
    if "pypy" in WANT and not os.path.exists(PYPY):
        skipped["pypy"] = f"not installed here ({PYPY}): apt-get install pypy3"
        print(f"bench_guest_runtimes: skipping pypy: {skipped['pypy']}", file=sys.stderr)
    images = {w: candidate_image(w) for w in WANT if w not in skipped}
    lab = load_lab("invisible-php")
    truth = ground_truth_of(lab)
    dst = str(lab.probes[0].targets[0])
    tp = truth_for(truth, "vp", dst)
    mode = accel()[1]
    out = {"accel": mode, "runs": RUNS, "kernel": kernel, "rows": {}, "not_measured": {**NOT_MEASURED, **skipped}}
    name = f"bgr-{os.getpid()}"
    with lab_instances(lab, name) as inst:
        ref, out["process"] = utnt_process(inst, dst, RUNS)
        b = Bench(lab, name, inst, dst, ref, tp)
        for w in images:
            out["rows"][w] = b.measure(w, kernel, images[w], mode)
        for n, p in kernels:
            out["rows"][f"current@{n}"] = b.measure(f"current@{n}", p, images.get("current") or
                                                    candidate_image("current"), mode)
    report(out, print_table)


def ground_truth_of(lab):
    from testbed.truth import ground_truth
    return ground_truth(build(lab))


def print_table(out):
    rows = out["rows"]
    cols = list(rows)
    print(f"medians of {out['runs']} boots each, {out['accel']}, load {out['load']}; kernel {out['kernel']}")

    def row(label, key, fmt):
        print(f"{label:26s} " + " ".join(cells(rows, cols, key, fmt)))
    print(f"{'':26s} " + " ".join(f"{c:>14s}" for c in cols))
    row("kernel (MB)", "kernel_mb", "{:.2f}")
    row("initramfs zstd (MB)", "initramfs_mb", "{:.2f}")
    row("initramfs unpacked (MB)", "initramfs_raw_mb", "{:.2f}")
    row("guest RAM needed (MB)", "ram_needed_mb", "{:d}")
    row("guest RAM given (MB)", "ram_given_mb", "{:d}")
    row("start to /init (s)", "boot_s", "{:.2f}")
    row("start to first probe (s)", "first_probe_s", "{:.2f}")
    row("start to result (s)", "result_s", "{:.2f}")
    row("guest PSS (MB)", "guest_pss_mb", "{:.1f}")
    row("QEMU peak RSS (MB)", "qemu_rss_mb", "{:.1f}")
    row("QEMU CPU (s)", "qemu_cpu_s", "{:.2f}")
    row("traces = process's", "traces_equal_process", "{}")
    for c in cols:
        if rows[c].get("error"):
            print(f"{c}: {rows[c]['error']}")
        elif rows[c].get("verdicts"):
            print(f"{c} verdicts: {', '.join(rows[c]['verdicts'])}")
    p = out["process"]
    print(f"uTNT as a process (same run): first probe {p['first_probe_s']} s, result {p['result_s']} s, "
          f"PSS {p['pss_mb']} MB")
    for k, why in out["not_measured"].items():
        print(f"not measured: {k}: {why}")


if __name__ == "__main__":
    main()
