"""The qemu detector runtime: a micro-VM on a running lab's tap, like the uTNT paper's unikernel.

    vm = boot_on_lab(lab, name, "vp", ["utnt", "-i", "12.0.1.2"])        # our guest (build/vm)
    vm = boot_on_lab(lab, name, "vp", ["-i", "12.0.1.2"], image=Image.user(kernel=K, machine="pc"))

The guest gets a tap of its own on the vantage point's LAN bridge (a leased address and MAC,
testbed/runtimes/netns/instances.py); QEMU runs in the lab's switch namespace (`ip netns exec`)
with `-netdev tap` on it, so the VM's only link is the lab. Address, gateway and the detector's
arguments go on the kernel command line in the uTNT paper's convention
(`netdev.ipv4_addr=A netdev.ipv4_gw_addr=G netdev.ipv4_subnet_mask=M -- <args>`); the guest
writes its results to a 9p share (mount tag fs0) and powers itself off. Success is QEMU's exit
status: 0 (power off) or 83 (Unikraft's isa-debug-exit shutdown), configurable.

Acceleration: KVM where /dev/kvm can boot a stock kernel; on these machines /dev/kvm is
kvm-pvm, which runs only PVM guest kernels (a stock kernel hangs), so TCG is used and said so.
microvm under TCG needs pit=on and tsc_early_khz= to boot reliably (platform.md).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from testbed.paths import REPO_ROOT
from testbed.errors import InputError, TestbedError

QEMU = "qemu-system-x86_64"
IMAGE_DIR = Path(os.environ.get("UTNT_VM_IMAGES", REPO_ROOT / "build" / "vm"))
TSC_KHZ = 2000000
OK_STATUS = (0, 83)


def missing() -> str | None:
    """None when the runtime can run here, else one line saying what to install or build."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} is not installed (make vm installs qemu-system-x86, linux-image-amd64, busybox-static)"
    if not (IMAGE_DIR / "vmlinuz").exists() or not (IMAGE_DIR / "initramfs-tiny.cpio.gz").exists():
        return f"no guest image in {IMAGE_DIR} (make vm-image builds it)"
    return None


def accel() -> tuple[str, str]:
    """("kvm" | "tcg", why)."""
    if not os.path.exists("/dev/kvm"):
        return "tcg", "TCG (no /dev/kvm)"
    try:
        mods = open("/proc/modules").read()
    except OSError:
        mods = ""
    if "kvm_pvm" in mods or os.path.exists("/sys/module/kvm_pvm"):
        return "tcg", "TCG (/dev/kvm is kvm-pvm: it boots only PVM guest kernels, a stock kernel hangs there)"
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return "tcg", f"TCG (/dev/kvm: {e.strerror})"
    return "kvm", "KVM"


@dataclass
class Image:
    kernel: str
    initrd: str | None = None
    machine: str = "microvm"            # microvm (virtio-mmio) or pc (virtio-pci, Unikraft's)
    mem_mb: int = 160
    append: str = "console=ttyS0 quiet panic=-1"
    name: str = "utnt"
    ok_status: tuple = OK_STATUS
    acpi: bool = True                   # microvm's ACPI tables (Debian's kernel powers off by ACPI)
    kernel_kind: str = "generic"        # generic (Debian's), micro (make guest-kernel) or user
    tb_mb: int | None = None            # TCG's translation cache (MB): QEMU's default grows its RSS
    start: str = "boot"                 # boot, or snapshot: restore the guest booted once and saved
                                        # waiting for its event (the micro guest only; warm_snapshot)

    @classmethod
    def ours(cls, which: str = "utnt", mem_mb: int | None = None) -> "Image":
        """Our guests (build/vm): tiny, utnt, tnt on Debian's kernel; utnt-micro on our own
        (make guest-kernel), and "utnt-auto": utnt-micro where it is built, else utnt."""
        why = missing()
        if why:
            raise TestbedError(why)
        if which == "utnt-auto":
            which = "utnt-micro" if micro_missing() is None else "utnt"
        if which == "utnt-micro-snap":
            img = cls.ours("utnt-micro", mem_mb)
            img.name, img.start, img.tb_mb = which, "snapshot", SNAP_TB_MB
            img.append = f"{img.append} {SNAP_APPEND}"
            return img
        if which == "utnt-micro":
            why = micro_missing()
            if why:
                raise TestbedError(why)
            initrd = IMAGE_DIR / micro_doc()["initramfs"]
            return cls(kernel=str(IMAGE_DIR / "micro" / MICRO_KERNEL_FILE), initrd=str(initrd), name=which,
                       mem_mb=mem_mb or MICRO_MEM_MB, append=MICRO_APPEND, acpi=False, kernel_kind="micro",
                       tb_mb=MICRO_TB_MB)
        initrd = IMAGE_DIR / f"initramfs-{which}.cpio.gz"
        if not initrd.exists():
            raise TestbedError(f"no {initrd} (make vm-image builds it)")
        # the uncompressed kernel (PVH entry) when built: no xz decompression under TCG
        kernel = IMAGE_DIR / "vmlinux" if (IMAGE_DIR / "vmlinux").exists() else IMAGE_DIR / "vmlinuz"
        return cls(kernel=str(kernel), initrd=str(initrd), name=which,
                   mem_mb=mem_mb or (96 if which == "tiny" else 160))

    @classmethod
    def user(cls, kernel: str, initrd: str | None = None, machine: str = "pc", mem_mb: int = 16,
             ok_status=OK_STATUS) -> "Image":
        for f in (kernel, initrd):
            if f and not os.path.exists(f):
                raise TestbedError(f"--vm-kernel/--vm-initrd: {f}: no such file")
        return cls(kernel=kernel, initrd=initrd, machine=machine, mem_mb=mem_mb, append="", name="user",
                   ok_status=tuple(ok_status), kernel_kind="user")

    def size_bytes(self) -> int:
        """Kernel + initramfs as shipped: the compressed kernel (Debian's vmlinuz, our bzImage),
        even when the runtime boots its uncompressed copy (booted_bytes)."""
        k = Path(self.kernel)
        if self.kernel_kind != "user" and k.name == "vmlinux":
            k = next((k.parent / n for n in ("vmlinuz", "bzImage") if (k.parent / n).exists()), k)
        return os.path.getsize(k) + (os.path.getsize(self.initrd) if self.initrd else 0)

    def booted_bytes(self) -> int:
        """Kernel + initramfs as QEMU loads them (the uncompressed vmlinux when that is booted)."""
        return os.path.getsize(self.kernel) + (os.path.getsize(self.initrd) if self.initrd else 0)


# the micro guest (scripts/build-guest-kernel.sh): no ACPI, so QEMU's microvm declares the
# virtio-mmio devices on the command line (acpi=off) and the guest ends by rebooting, which
# -no-reboot turns into QEMU's exit (reboot=t: a triple fault, nothing to probe first);
# tsc=reliable: no TSC watchdog under TCG; no_timer_check: the IO-APIC timer check panics a
# boot that TCG on a loaded machine made too slow (seen once at load 25, on a warm-start boot)
MICRO_APPEND = "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable no_timer_check"
MICRO_MEM_MB = 64
# the micro guest boots its bzImage, the file it ships: +0.1 s of CPU for the guest to unpack
# it (gzip, under TCG) against the PVH vmlinux, but QEMU no longer maps a 15 MB kernel file
# (-10 MB of RSS) and what is measured as the image is what is booted
MICRO_KERNEL_FILE = "bzImage"
# TCG's translation cache for the micro guest: 32 MB holds what a uTNT run executes (16 MB
# retranslated, +50% CPU; 8 MB thrashed, 3x) and keeps QEMU ~20 MB under its default's RSS
MICRO_TB_MB = 32


# The warm start (Image.ours("utnt-micro-snap")): the micro guest booted once with `-- utnt-warm`
# (guest-init.c: uTNT imported, waiting for a line on its serial port) and saved there through
# QEMU's migration to a file; an event restores that file in a fresh QEMU (-incoming) on its own
# tap and writes its line (the lease's address, gateway, mask and MAC, then the arguments) on
# the serial port. One QEMU per event as before; what it no longer pays is the boot and
# Python's start. The snapshot is made once per image (warm_snapshot) before any event, like
# building the image; its boot has no lab link (a hub port that leads nowhere).
SNAP_ARGS = ["utnt-warm"]
SNAP_LEASE = {"network": "192.0.2.0/24", "address": "192.0.2.2", "gateway": "192.0.2.1",
              "mac": "02:75:00:00:00:01", "tap": "none"}
SNAP_FORMAT = 1                 # what the guest waits for on its serial port; a new one, a new snapshot
SNAP_NETDEV = "hubport,id=n0,hubid=0"
# a restored guest runs uTNT's trace only (no boot, no imports): the translation cache it fills
SNAP_TB_MB = 32
# the warm boot's kernel: pages freed at boot (the initramfs archive once unpacked) zeroed, so
# the snapshot stores them as zero pages and a restore never touches them (41.6 -> 32.3 MB of
# snapshot, guest PSS 44 -> 38 MB, QEMU RSS -5 MB)
SNAP_APPEND = "init_on_free=1"


@functools.lru_cache(maxsize=None)
def _qemu_version() -> str:
    try:
        return subprocess.run([QEMU, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    except (OSError, subprocess.SubprocessError):
        return "?"


def snapshot_path(image: "Image") -> Path:
    """Where image's warm snapshot is (build/vm/snap/, beside the image it was made from): named
    by a hash of the kernel, the initramfs, QEMU's version and the devices, so that a rebuilt
    image or another QEMU never restores a stale one."""
    stats = tuple((f, os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in (image.kernel, image.initrd) if f)
    return _snapshot_path(tuple(sorted({**image.__dict__, "ok_status": tuple(image.ok_status)}.items())), stats)


@functools.lru_cache(maxsize=16)
def _snapshot_path(fields: tuple, stats: tuple) -> Path:
    """snapshot_path, hashed once per image and file versions (an event does not re-read them)."""
    import hashlib
    image = Image(**dict(fields))
    h = hashlib.sha256(f"{SNAP_FORMAT}|{_qemu_version()}|{accel()[0]}".encode())
    base = Image(**{**image.__dict__, "tb_mb": None})
    h.update(" ".join(qemu_argv(base, SNAP_LEASE, SNAP_ARGS, "S", "C", home=Path("H"), netdev=SNAP_NETDEV)).encode())
    for f in (image.kernel, image.initrd):
        if f:
            with open(f, "rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return IMAGE_DIR / "snap" / f"{image.name}-{h.hexdigest()[:16]}.mig"


class _Qmp:
    """A QMP client on a unix socket: commands and their answers, events skipped."""

    def __init__(self, path: Path, deadline: float, alive):
        import socket
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                break
            except OSError:
                s.close()
                if not alive() or time.monotonic() > deadline:
                    raise TestbedError(f"QEMU's monitor socket {path} did not answer") from None
                time.sleep(0.01)
        s.settimeout(max(1.0, deadline - time.monotonic()))
        self.s, self.f = s, s.makefile("rb")
        self.f.readline()                               # the greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name: str, args: dict | None = None):
        import json
        self.s.sendall(json.dumps({"execute": name, **({"arguments": args} if args else {})}).encode() + b"\n")
        while True:
            ln = self.f.readline()
            if not ln:
                raise TestbedError(f"QEMU's monitor closed during {name}")
            d = json.loads(ln)
            if "return" in d:
                return d["return"]
            if "error" in d:
                raise TestbedError(f"QEMU's monitor: {name}: {d['error'].get('desc')}")

    def close(self):
        self.f.close()
        self.s.close()


def warm_snapshot(image: "Image", timeout: float = 300.0, progress=None) -> Path:
    """The warm snapshot of `image` (made here once when missing: one boot, ~3 s of CPU under
    TCG, a file of about the guest's touched RAM); concurrent callers wait for one maker."""
    import fcntl
    path = snapshot_path(image)
    if path.exists():
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        if progress:
            progress(f"booting the {image.name} guest once to snapshot it ({path.name})")
        for attempt in (1, 2):          # a TCG boot on a loaded machine can fail; once more
            try:
                _make_snapshot(image, path, timeout)
                break
            except TestbedError:
                if attempt == 2:
                    raise
                if progress:
                    progress(f"the {image.name} guest's snapshot boot failed; once more")
    return path


def _make_snapshot(image: "Image", path: Path, timeout: float):
    """One boot of the warm guest to `ready`, saved to path (warm_snapshot holds the lock)."""
    import shlex
    home = Path(tempfile.mkdtemp(prefix="make-", dir=path.parent))
    p = None
    try:
        share = home / "share"
        os.mkdir(share, 0o700)
        console = home / "console"
        console.touch(0o600)
        argv = qemu_argv(image, SNAP_LEASE, SNAP_ARGS, str(share), str(console), home=home, netdev=SNAP_NETDEV)
        from testbed.runtimes.netns import nsutil
        with open(home / "stderr", "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                 close_fds=True, preexec_fn=nsutil.tie_to_parent())
        t0 = time.monotonic()
        while "utnt-guest: ready" not in console.read_text(errors="replace"):
            if p.poll() is not None or time.monotonic() - t0 > timeout:
                text = console.read_text(errors="replace")
                tail = text[-600:] + (home / "stderr").read_text(errors="replace")[-300:]
                # an image built before the warm start: its /init does not know utnt-warm and
                # ends at once (status 127) -- the images are build outputs of an older checkout
                stale = ("; an image built by an older checkout has no warm start: rebuild it with `make vm-image`"
                         if "utnt-guest: result status=127" in text else "")
                raise TestbedError(f"the warm {image.name} guest was not ready "
                                   f"({'qemu exit status %s' % p.returncode if p.poll() is not None else 'timeout'})"
                                   f"{stale}: {tail}")
            time.sleep(0.1)
        time.sleep(0.5)             # its /init is in its read of ttyS0 a few instructions later
        q = _Qmp(home / "qmp", time.monotonic() + 60, lambda: p.poll() is None)
        q.cmd("stop")
        q.cmd("migrate-set-parameters", {"max-bandwidth": 1 << 40})
        tmp = home / "snap.mig"
        # renamed by the shell once cat has written it all (QEMU does not wait for cat)
        q.cmd("migrate", {"uri": f"exec:cat > {shlex.quote(str(tmp))} && mv {shlex.quote(str(tmp))} "
                                 f"{shlex.quote(str(home / 'done.mig'))}"})
        while (st := q.cmd("query-migrate").get("status")) not in ("completed", "failed", "cancelled"):
            time.sleep(0.05)
        if st != "completed":
            raise TestbedError(f"saving the warm {image.name} guest: migration {st}")
        try:
            q.cmd("quit")
        except (TestbedError, OSError):
            pass
        q.close()
        p.wait(30)
        t1 = time.monotonic()
        while not (home / "done.mig").exists():
            if time.monotonic() - t1 > 60:
                raise TestbedError(f"saving the warm {image.name} guest: {tmp} never completed")
            time.sleep(0.05)
        os.replace(home / "done.mig", path)
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(home, ignore_errors=True)


def snapshot_line(lease: dict, args: list[str]) -> str:
    """The line a restored guest reads on its serial port: the kernel command line's convention
    plus the lease's MAC (the restored NIC still has the snapshot's)."""
    from ipaddress import IPv4Network
    bad = [a for a in args if not a or any(c.isspace() for c in a)]
    if bad:
        raise InputError(f"a warm-started guest reads its arguments as one line split at spaces: "
                         f"{bad[0]!r} is empty or holds whitespace; give it without, or boot the guest (--image utnt-micro)")
    return " ".join([f"netdev.ipv4_addr={lease['address']}", f"netdev.ipv4_gw_addr={lease['gateway']}",
                     f"netdev.ipv4_subnet_mask={IPv4Network(lease['network']).netmask}",
                     f"netdev.mac={lease['mac']}", "--", *args])


def _send_line(home: Path, line: str, deadline: float, alive):
    """Wait for the restore to end (QMP), write the event's line on the serial port, run the VM."""
    import socket
    q = _Qmp(home / "qmp", deadline, alive)
    try:
        # the snapshot was saved stopped, so the restored VM waits paused: its line first, then cont
        while q.cmd("query-status").get("status") == "inmigrate":
            if not alive() or time.monotonic() > deadline:
                raise TestbedError("the snapshot was not restored in time")
            time.sleep(0.01)
        st = q.cmd("query-migrate").get("status")
        if st != "completed":
            raise TestbedError(f"restoring the snapshot: migration {st}")
        # kept open until QEMU ends: a socket chardev whose client hangs up drops what it had not
        # yet handed to the serial port (it takes a byte or 16 at a time)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(home / "serial"))
            s.sendall(line.encode() + b"\n")
            q.cmd("cont")
        except BaseException:
            s.close()
            raise
        return s
    finally:
        q.close()


def micro_doc() -> dict:
    """build/vm/image.json's entry for the micro guest ({} when it has none)."""
    import json
    try:
        return json.loads((IMAGE_DIR / "image.json").read_text())["images"].get("utnt-micro") or {}
    except (OSError, ValueError, KeyError):
        return {}


def micro_missing() -> str | None:
    """None when the micro guest (our kernel + the C /init) is built, else one line."""
    d = micro_doc()
    if not d or not (IMAGE_DIR / "micro" / MICRO_KERNEL_FILE).exists() or not (IMAGE_DIR / d["initramfs"]).exists():
        return (f"no micro guest in {IMAGE_DIR} (make guest-kernel builds its kernel, ~10 min once, "
                "then make vm-image packs it)")
    return None


def guest_line() -> str:
    """One line: which uTNT guest `utnt-auto` boots here, and why."""
    why = micro_missing()
    return ("uTNT guest: micro (our kernel, build/vm/micro)" if why is None
            else f"uTNT guest: generic (Debian's kernel): {why}")


MMIO_DEVICES = " ".join(f"virtio_mmio.device=512@{0xfeb00000 + 512 * slot:#x}:{5 + slot}" for slot in (7, 6))


def cmdline(image: Image, lease: dict, args: list[str]) -> str:
    from ipaddress import IPv4Network
    mask = str(IPv4Network(lease["network"]).netmask)
    parts = [image.append] if image.append else []
    if image.machine == "microvm":
        parts.append(f"tsc_early_khz={TSC_KHZ}")
    parts += [f"netdev.ipv4_addr={lease['address']}", f"netdev.ipv4_gw_addr={lease['gateway']}",
              f"netdev.ipv4_subnet_mask={mask}", "--", *args]
    return " ".join(parts)


def qemu_argv(image: Image, lease: dict, args: list[str], share: str, console: str, *, restore: str | None = None,
              home: Path | None = None, netdev: str | None = None) -> list[str]:
    """QEMU's argv. restore: a snapshot file (warm_snapshot) to start from instead of booting;
    its serial port is then a socket (home/serial, the event's line goes in) logged to console,
    with QMP on home/qmp (to see the restore end). netdev: instead of the lease's tap (the
    snapshot's own boot: a hub port that leads nowhere)."""
    acc, _ = accel()
    dev = "device" if image.machine == "microvm" else "pci"
    machine = image.machine
    append = cmdline(image, lease, args)
    if image.machine == "microvm":
        machine = "microvm,pit=on,rtc=on"
        if not image.acpi:
            # Without ACPI the guest finds virtio-mmio devices on its command line. QEMU would
            # append them after the paper's `--`, where the kernel hands them to /init as
            # arguments; so they are written here, before it: microvm fills its 8 transports
            # (512 bytes each from 0xfeb00000, IRQ 5 + slot without the second IOAPIC) from the
            # last one, in -device order: the network (slot 7), then the 9p share (slot 6).
            machine += ",acpi=off,ioapic2=off,auto-kernel-cmdline=off"
            head, sep, tail = append.partition(" -- ")
            append = f"{head} {MMIO_DEVICES}{sep}{tail}"
    if acc == "tcg" and image.tb_mb:
        acc += f",tb-size={image.tb_mb}"
    serial = ["-serial", f"file:{console}"]
    if restore is not None:
        serial = ["-chardev", f"socket,id=c0,path={home / 'serial'},server=on,wait=off,logfile={console}",
                  "-serial", "chardev:c0"]
    argv = [QEMU, "-accel", acc, "-M", machine, "-m", str(image.mem_mb), "-smp", "1",
            "-display", "none", "-monitor", "none", *serial, "-no-reboot", "-kernel", image.kernel]
    if acc == "kvm":
        argv += ["-cpu", "host"]
    if image.initrd:
        argv += ["-initrd", image.initrd]
    argv += ["-append", append,
             "-netdev", netdev or f"tap,id=n0,ifname={lease['tap']},script=no,downscript=no",
             # no checksum offload: the guest finishes its own checksums (a partial one would
             # reach the engine's packet sockets unfinished, and the destination would drop it)
             "-device", f"virtio-net-{dev},netdev=n0,mac={lease['mac']},csum=off,guest_csum=off",
             "-fsdev", f"local,id=f0,path={share},security_model=none",
             "-device", f"virtio-9p-{dev},fsdev=f0,mount_tag=fs0",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if home is not None:
        argv += ["-qmp", f"unix:{home / 'qmp'},server=on,wait=off"]
    if restore is not None:
        import shlex
        argv += ["-incoming", f"exec:cat {shlex.quote(restore)}"]
    return argv


def guest_ram_pss_kb(pid: int, mem_mb: int) -> tuple[int, int] | None:
    """(PSS of the guest-RAM mapping, PSS of the whole QEMU process) in kB: the paper's method
    for the guest (smaps of qemu's guest-RAM mapping), smaps_rollup for the host side."""
    try:
        text = open(f"/proc/{pid}/smaps").read()
    except OSError:
        return None
    want = mem_mb * 1024
    guest = total = 0
    size = None
    for ln in text.splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", ln):
            a, b = ln.split()[0].split("-")
            size = (int(b, 16) - int(a, 16)) // 1024
        elif ln.startswith("Pss:"):
            v = int(ln.split()[1])
            total += v
            if size is not None and want <= size <= want + 4096:
                guest = max(guest, v)
    return guest, total


def peak_rss_kb(pid: int) -> int:
    """VmHWM of a process (its peak resident set) in kB, 0 once it is gone."""
    try:
        for ln in open(f"/proc/{pid}/status"):
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, None once it is gone."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return round((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class VmRun:
    status: int | None = None
    ok: bool = False
    wall_s: float = 0.0
    boot_s: float | None = None           # host clock: start to the guest's /init line
    guest_init_uptime: float | None = None
    guest_result_uptime: float | None = None
    result_s: float | None = None         # host clock: start to the guest's result line
    first_probe_s: float | None = None
    guest_pss_kb: int = 0
    host_pss_kb: int = 0
    host_rss_kb: int = 0                  # QEMU's peak RSS (VmHWM), the paper's host figure
    cpu_s: float | None = None            # QEMU's CPU time (user + system), last seen while it ran:
                                          # what a boot costs whatever else shares the machine
    accel: str = ""
    files: dict = field(default_factory=dict)
    console: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["files"] = sorted(self.files)
        d["console"] = self.console[-2000:]
        return d


SHARE_FILE_LIMIT = 16 << 20     # bytes read back of one file the guest wrote to its share
SHARE_FILES = 64                # files read back from the share (the guest writes a handful)
CONSOLE_LIMIT = 4 << 20         # bytes of the serial console read back (its tail)
CMDLINE_MAX = 2047              # x86 Linux's COMMAND_LINE_SIZE (2,048) with its final NUL


def check_cmdline(image: "Image", args: list[str]):
    """Refuse, before anything is brought up, a detector argument list the guest's kernel
    command line cannot hold (it would be cut short and the guest hang until the timeout)."""
    worst = {"network": "255.255.255.0/24", "address": "255.255.255.255", "gateway": "255.255.255.255"}
    n = len(cmdline(image, worst, args).encode()) + (0 if image.acpi else len(MMIO_DEVICES) + 1)
    if n > CMDLINE_MAX:
        raise InputError(f"the guest's kernel command line would be {n} bytes (the detector's arguments: "
                         f"{len(' '.join(args).encode())} bytes); Linux's limit is {CMDLINE_MAX} bytes (2048 with its final "
                         "NUL): give fewer or shorter arguments")


def _private_dir(parent: Path, prefix: str) -> Path:
    """A fresh folder only root can enter (0700, refused if anything is there already) in the
    lab's run folder: QEMU, as root, opens files in it, so nobody else may plant anything."""
    for k in range(1000):
        d = parent / f"{prefix}{os.getpid()}-{k}"
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
            raise TestbedError(f"{d} is not a private folder of uid {os.geteuid()}; remove it")
        return d
    raise TestbedError(f"no free VM folder name in {parent}")


def _read_private(dirfd: int, name: str, limit: int, tail: bool = False) -> bytes | None:
    """A regular file in a folder (opened relative to its fd, never through a symlink), at
    most `limit` bytes (its tail with tail=True); None for anything else."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirfd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if tail and st.st_size > limit:
            os.lseek(fd, st.st_size - limit, os.SEEK_SET)
        chunks, n = [], 0
        while n < limit:
            b = os.read(fd, min(1 << 20, limit - n))
            if not b:
                break
            chunks.append(b)
            n += len(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_share(share: Path) -> dict:
    """The regular files the guest wrote at the top of its share (bounded in number and size);
    symlinks, folders and devices it may have made there are not followed."""
    files = {}
    try:
        dfd = os.open(share, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return files
    try:
        for name in sorted(os.listdir(dfd))[:SHARE_FILES]:
            data = _read_private(dfd, name, SHARE_FILE_LIMIT)
            if data is not None:
                files[name] = data
    finally:
        os.close(dfd)
    return files


def vm_root(lease: dict) -> Path:
    """Where a VM's private folders go: the run folder of the lab its tap is on (`testbed
    down` removes it with the lab, whatever happened to the `vm` that made them)."""
    from testbed.runtimes.netns import names, state
    lab = names.lab_of_ns(lease["namespace"])
    if lab is None or not state.run_dir(lab).is_dir():
        raise TestbedError(f"namespace {lease['namespace']} belongs to no running lab")
    return state.run_dir(lab)


def run_vm(image: Image, lease: dict, args: list[str], timeout: float = 120.0, frames=None,
           procs: dict | None = None) -> VmRun:
    """Boot `image` on lease's tap, wait for it to power off, collect its 9p share.

    Its files live in RUN_DIR/vm-<pid>-<k>/ (0700, root's): `console` (the serial port, created
    here before QEMU opens it) and `share/` (the guest's 9p share); both go when this returns,
    by any path, and with the lab's run folder should this process be killed."""
    check_cmdline(image, args)
    acc, why = accel()
    run = VmRun(accel=why)
    home = _private_dir(vm_root(lease), "vm-")
    try:
        share = home / "share"
        os.mkdir(share, 0o700)
        console = home / "console"
        os.close(os.open(console, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        return _run_vm(image, lease, args, timeout, frames, procs, run, home, str(share), str(console))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_vm(image, lease, args, timeout, frames, procs, run, home, share, console) -> VmRun:
    warm = image.start == "snapshot"
    if warm:
        line = snapshot_line(lease, args)
        snap = warm_snapshot(image)
        qargv = qemu_argv(image, {**SNAP_LEASE, "mac": lease["mac"], "tap": lease["tap"]}, SNAP_ARGS, share,
                          console, restore=str(snap), home=home)
    else:
        qargv = qemu_argv(image, lease, args, share, console)
    argv = ["ip", "netns", "exec", lease["namespace"], *qargv]
    if frames is not None:
        frames.watch(lease["mac"])
    t0 = time.monotonic()
    # recorded with the lab's supervisor (`testbed down` stops it), and dies with us
    from testbed.runtimes.netns.state import supervisor_of_ns
    sup = supervisor_of_ns(lease["namespace"])
    child = sup.start("detector", argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, tie=True,
                      group=True, cwd=None, what="micro-VM", tap=lease.get("tap"), namespace=lease["namespace"])
    p = child.popen
    if procs is not None:
        procs[p.pid] = child
    seen_init = seen_result = False
    serial = None
    looks = 0
    init_mark = "utnt-guest: restored" if warm else "utnt-guest: init"
    err = b""
    hfd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.set_blocking(p.stderr.fileno(), False)
        if warm:
            try:
                serial = _send_line(home, line, t0 + timeout, lambda: p.poll() is None)
                serial.setblocking(False)
            except (TestbedError, OSError) as e:
                run.error = f"restoring the snapshot: {e}"
                sup.stop([child], wait=5.0)
        while p.poll() is None:
            try:
                err = (err + (p.stderr.read() or b""))[-65536:]
            except (BlockingIOError, OSError):
                pass
            if time.monotonic() - t0 > timeout:
                sup.stop([child], wait=5.0)
                run.error = f"the VM did not power off within {timeout:.0f} s"
                break
            looks += 1
            # PSS every 4th look (0.2 s): parsing smaps of 5 QEMUs 20 times a second is CPU the
            # on-demand events share; a restored guest's RAM is all there from the start
            m = guest_ram_pss_kb(p.pid, image.mem_mb) if looks % 4 == 1 else None
            if m:
                run.guest_pss_kb, run.host_pss_kb = max(run.guest_pss_kb, m[0]), max(run.host_pss_kb, m[1])
            run.host_rss_kb = max(run.host_rss_kb, peak_rss_kb(p.pid))
            run.cpu_s = cpu_seconds(p.pid) or run.cpu_s
            if not (seen_init and seen_result):
                con = (_read_private(hfd, "console", CONSOLE_LIMIT) or b"").decode(errors="replace")
                now = time.monotonic() - t0
                if not seen_init and init_mark in con:
                    seen_init, run.boot_s = True, round(now, 3)
                if not seen_result and "utnt-guest: result" in con:
                    seen_result, run.result_s = True, round(now, 3)
            if serial is not None:           # what the guest writes to it is in the console file
                try:
                    while serial.recv(65536):
                        pass
                except (BlockingIOError, OSError):
                    pass
            time.sleep(0.05)
        p.wait()
        t_exit = round(time.monotonic() - t0, 3)
        try:
            err = (err + (p.stderr.read() or b""))[-65536:]
        except (BlockingIOError, OSError):
            pass
        run.console = (_read_private(hfd, "console", CONSOLE_LIMIT, tail=True) or b"").decode(errors="replace")
        # a guest that wrote its result line and powered off between two looks: timed at its exit
        # (at most one look late), not left out of the medians
        if not seen_init and init_mark in run.console:
            run.boot_s = t_exit
        if not seen_result and "utnt-guest: result" in run.console:
            run.result_s = t_exit
    except BaseException:
        sup.stop([child], wait=2.0)
        raise
    finally:
        os.close(hfd)
        p.stderr.close()
        if serial is not None:
            serial.close()
        if procs is not None:
            procs.pop(p.pid, None)
        if p.poll() is not None:
            sup.forget(child)
    run.wall_s = round(time.monotonic() - t0, 3)
    run.status = p.returncode
    for key, attr in (("restored" if warm else "init", "guest_init_uptime"), ("result", "guest_result_uptime")):
        m = re.search(rf"utnt-guest: {key}\b.*?uptime=([0-9.]+)", run.console)
        if m:
            setattr(run, attr, float(m.group(1)))
    if frames is not None:
        ff = frames.first_ipv4(lease["mac"])
        run.first_probe_s = round(ff - t0, 3) if ff is not None else None
    run.files = _read_share(Path(share))
    run.ok = run.error is None and run.status in image.ok_status
    if run.error is None and not run.ok:
        tail = err.decode(errors="replace").strip().splitlines()
        run.error = (f"qemu exit status {run.status}" if run.status is not None and run.status >= 0 else
                     f"qemu was killed (signal {-run.status})") + (f": {tail[-1]}" if tail else "")
    gs = run.files.get("status")
    if run.ok and gs is None and image.kernel_kind == "micro":
        run.ok = False
        run.error = "the guest wrote no status to its 9p share (see its console)"
    if run.ok and gs is not None and gs.strip() not in (b"0",):
        run.ok = False
        run.error = (f"the guest's detector exited with status {gs.strip().decode(errors='replace')[:40]}: "
                     + run.files.get("stderr.txt", b"").decode(errors="replace").strip()[-300:])
    return run


def traceroute_hops(text: str) -> list[str | None]:
    """busybox traceroute -n output: one address (or None for '*') per TTL."""
    hops = []
    for ln in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\S+)", ln)
        if m:
            hops.append(None if m.group(2) == "*" else m.group(2))
    return hops


def boot_on_lab(lab, name: str, host: str, args: list[str], image: Image | None = None, timeout: float = 120.0,
                frames=None, procs=None, read_result=None) -> dict:
    """Lease a tap on host's LAN, boot the VM there, release; the run and what it reported.
    read_result(doc, run): fills doc["traces"] from the files the guest wrote (run.files), e.g.
    testbed.experiments.vm.read_guest_result; a traceroute guest's hops are read here."""
    from testbed.runtimes.netns.instances import lease_instance, release_instance
    image = image or Image.ours("utnt")
    lease = lease_instance(lab, name, host)
    try:
        run = run_vm(image, lease, args, timeout=timeout, frames=frames, procs=procs)
    finally:
        release_instance(name, lease)
    doc = {"vp": host, "address": lease["address"], "mac": lease["mac"], "tap": lease["tap"],
           "image": image.name, "image_bytes": image.size_bytes(), "booted_bytes": image.booted_bytes(),
           "kernel": image.kernel_kind, "machine": image.machine,
           "mem_mb": image.mem_mb, "run": run.to_json(), "traces": [], "hops": None}
    if read_result is not None:          # the detector's output the guest wrote, read by its reader
        read_result(doc, run)
    if "result.txt" in run.files and args[:1] == ["traceroute"]:
        doc["hops"] = traceroute_hops(run.files["result.txt"].decode(errors="replace"))
    return doc


def sc_tnt_binary() -> str | None:
    """sc_tnt of a local TNT build ($TNT_PREFIX/bin or /opt/tnt-peer/bin), to read warts."""
    for d in ([os.environ["TNT_PREFIX"]] if os.environ.get("TNT_PREFIX") else []) + ["/opt/tnt-peer"]:
        f = os.path.join(d, "bin", "sc_tnt")
        if os.access(f, os.X_OK):
            return f
    return None


def warts_dump(data: bytes) -> str | None:
    """`sc_tnt -d 1` of a TNT warts file (what the Unikraft uTNT image writes to fs0, and our
    tnt guest), with a local TNT build; None without one."""
    sc = sc_tnt_binary()
    if sc is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".warts") as f:
        f.write(data)
        f.flush()
        r = subprocess.run([sc, "-d", "1", f.name], capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None
