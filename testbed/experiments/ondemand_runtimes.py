"""Detector runtimes for `testbed ondemand`: how one event's measurement is run.

Each runtime answers `missing()` (None when it can run here, else one line saying why not),
optionally `prepare(progress)` (what it needs before the first event), and `run(ctx, vp, dst)` -> {"traces": [uTNT-format traces], "error": str | None, ...}. Add a
runtime by appending to RUNTIMES; nothing else needs to change. `--detector NAME` runs a
DetectorProcess of that registered detector instead (any detector, a user's too).

  utnt-process  uTNT as a process on a tap of its own on the vantage point's LAN
  tnt-process   the original TNT (scamper + sc_tnt) in the vantage point's namespace, through
                the TNT peer runner (testbed.peers.tnt) when it and a TNT build are present;
                its text dump is turned into traces with tunnels for scoring
  utnt-vm       uTNT in a micro-VM (QEMU microvm, build/vm) on Debian's kernel, on a tap of its own
  utnt-vm-micro the same uTNT in the micro guest: our own kernel (make guest-kernel), /init in C
  utnt-vm-snap  the micro guest restored per event from a snapshot taken once after its boot
                (uTNT imported, waiting for its event on the serial port): one fresh QEMU per
                event as above, without the boot; the snapshot is made by prepare(), before the
                first event, like the image itself
  tnt-vm        the original TNT in a micro-VM, when make vm-image found a local TNT build
"""
from __future__ import annotations

import importlib

from testbed.errors import TestbedError


class Ctx:
    """What runtimes share during one experiment: the lab, the running instance's name, uTNT
    options, the switch-namespace frame watch and the live processes (for Ctrl-C)."""

    def __init__(self, lab, name, extra=None, instances=None):
        self.lab, self.name, self.extra, self.instances = lab, name, list(extra or []), instances


class UtntProcess:
    name = "utnt-process"
    label = "uTNT process (own stack, own tap)"

    def missing(self):
        return None

    def run(self, ctx, vp, dst):
        from testbed.experiments.parallel import Entry
        r = ctx.instances.run_utnt(Entry(vp, dst))
        return {"traces": r.traces, "error": r.error, "pss_kb": r.pss_kb, "first_probe_s": r.first_probe_s}


class TntProcess:
    name = "tnt-process"
    label = "original TNT process (scamper + sc_tnt in the vantage point)"
    RUNNER = "testbed.peers.tnt"

    def _runner(self):
        try:
            return importlib.import_module(self.RUNNER)
        except ImportError:
            return None

    def missing(self):
        m = self._runner()
        if m is None:
            return f"the TNT peer runner ({self.RUNNER}, from the conformance work) is not in this checkout"
        if m.find_prefix() is None:
            return m.missing_reason()
        return None

    def run(self, ctx, vp, dst):
        m = self._runner()
        try:
            out = m.run_tnt(ctx.name, vp, [dst], [])
        except TestbedError as e:
            return {"traces": [], "error": str(e)}
        import shutil
        from pathlib import Path
        shutil.rmtree(Path(out["warts"]).parent, ignore_errors=True)
        return {"traces": traces_from_tnt_dump(out["text"]), "error": None}


def traces_from_tnt_dump(text: str) -> list[dict]:
    """TNT's `sc_tnt -d 1` dump as traces the scorer reads (the detectors' TNT parser:
    tunnels rebuilt from the per-hop [MPLS,<class>,<role>,...] tags)."""
    from testbed.detectors.tnt_text import parse
    return parse(text, "sc_tnt -d 1")


class UtntVm:
    name = "utnt-vm"
    label = "uTNT in a micro-VM (QEMU microvm)"
    timeout = 600.0

    def missing(self):
        from testbed.runtimes.qemu import IMAGE_DIR, missing
        why = missing()
        if why:
            return why
        if not (IMAGE_DIR / "initramfs-utnt.cpio.gz").exists():
            return f"no uTNT guest in {IMAGE_DIR} (make vm-image)"
        return None

    image, program = "utnt", "utnt"
    takes_options = True                # the guest's program reads the options after `--` (uTNT's)

    def run(self, ctx, vp, dst):
        from testbed.experiments.vm import read_guest_result
        from testbed.runtimes.qemu import Image, boot_on_lab
        extra = ctx.extra if self.takes_options else []
        d = boot_on_lab(ctx.lab, ctx.name, vp, [self.program, "-i", dst, *extra], image=Image.ours(self.image),
                        timeout=self.timeout, frames=ctx.instances.frames if ctx.instances else None,
                        procs=ctx.instances._procs if ctx.instances else None, read_result=read_guest_result)
        r = d["run"]
        return {"traces": d["traces"], "error": None if r["ok"] else r["error"], "boot_s": r["boot_s"],
                "guest_pss_kb": r["guest_pss_kb"], "host_pss_kb": r["host_pss_kb"],
                "first_probe_s": r["first_probe_s"], "cpu_s": r["cpu_s"], "host_rss_kb": r["host_rss_kb"],
                "accel": r["accel"], "kernel": d["kernel"],
                "image_bytes": d["image_bytes"], "mem_mb": d["mem_mb"]}


class UtntVmMicro(UtntVm):
    name = "utnt-vm-micro"
    label = "uTNT in the micro guest (our kernel, /init in C, QEMU microvm)"
    image, program = "utnt-micro", "utnt"

    def missing(self):
        from testbed.runtimes.qemu import micro_missing, missing
        return missing() or micro_missing()


class UtntVmSnap(UtntVmMicro):
    name = "utnt-vm-snap"
    label = "uTNT in the micro guest restored from its snapshot (QEMU microvm -incoming)"
    image, program = "utnt-micro-snap", "utnt"

    def prepare(self, progress=None):
        from testbed.runtimes.qemu import Image, warm_snapshot
        warm_snapshot(Image.ours(self.image), progress=progress)


class TntVm(UtntVm):
    name = "tnt-vm"
    label = "original TNT in a micro-VM (QEMU microvm, a local TNT build packed in)"
    image, program = "tnt", "tnt"
    takes_options = False               # the options after `--` are uTNT's

    def missing(self):
        from testbed.runtimes.qemu import IMAGE_DIR, missing, sc_tnt_binary
        why = missing()
        if why:
            return why
        if not (IMAGE_DIR / "initramfs-tnt.cpio.gz").exists():
            return f"no TNT guest in {IMAGE_DIR} (make vm-image packs one when a TNT build is in /opt/tnt-peer)"
        if sc_tnt_binary() is None:
            return "no local sc_tnt to read the guest's warts"
        return None


class DetectorProcess:
    """Any registered detector (testbed.detectors.registry) as one process per event: an on_tap
    detector on a leased tap of its own (its own address, like utnt-process), the others in the
    vantage point's namespace (kernel-stack tools: concurrent runs share the vantage point)."""

    def __init__(self, det):
        self.det = det
        self.name = f"{det.describe([])['name']}-process"
        self.label = f"{det.label} process" + (" (own tap)" if det.on_tap else " (in the vantage point)")

    def missing(self):
        try:
            self.det.check("netns", None)
        except TestbedError as e:
            return str(e)
        return None

    def run(self, ctx, vp, dst):
        if self.det.on_tap:
            from testbed.experiments.parallel import Entry
            r = ctx.instances.run_utnt(Entry(vp, dst), self.det)
            for t in r.traces:
                t.setdefault("vantage_point", vp)
            return {"traces": r.traces, "error": r.error, "pss_kb": r.pss_kb, "first_probe_s": r.first_probe_s}
        from testbed.detectors.registry import Where
        from testbed.probing import probe_vp
        _, traces = probe_vp(self.det, Where(ctx.lab, "netns", ctx.name), vp, [dst], ctx.extra)
        return {"traces": traces, "error": None}


RUNTIMES = [UtntProcess(), TntProcess(), UtntVm(), UtntVmMicro(), UtntVmSnap(), TntVm()]


def by_name(names: list[str] | None):
    if not names:
        return list(RUNTIMES)
    known = {r.name: r for r in RUNTIMES}
    out = []
    for n in names:
        if n not in known:
            raise TestbedError(f"--runtimes: unknown runtime '{n}'; choose from {', '.join(known)}")
        out.append(known[n])
    return out
