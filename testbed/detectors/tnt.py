"""The original TNT (scamper fork + sc_tnt) run in a lab's vantage-point namespace.

Nothing of TNT is in this repository: it is found built under a prefix: `TNT_PREFIX` when
set, else `<checkout>/.peers/tnt`, else `/opt/tnt-peer` (bin/scamper and bin/sc_tnt).
Where TNT is looked for comes from the TNT peer (testbed.peers.tnt); this runner takes a
namespace (any vantage point, also a user's own) and keeps the daemon's files for scoring.

A run: scamper as a daemon on a Unix socket unique to the run (`scamper -D -U SOCK`) in
the namespace; `sc_tnt -i DST -U SOCK -o OUT.warts` (`-a FILE` for several targets) with
TNT's options; `sc_tnt -d 1 OUT.warts` and `sc_tnt -v -d 1 OUT.warts` for the dumps, read
by tnt_text. scamper's `-e pidfile` does not work with privilege separation (peer-tnt.md),
so the daemon's processes are found by the unique socket path on their command line,
recorded, and stopped by those PIDs (SIGTERM, then SIGKILL of the same process).
"""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from testbed.errors import TestbedError

from . import tnt_text

# where TNT is found and why it is missing: the project's TNT peer (one place for both)
from testbed.peers.tnt import find_prefix as prefix, missing_reason  # noqa: E402,F401


def _pids_with(marker: str) -> list[int]:
    """PIDs whose command line contains marker (our run's unique socket path)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            out.append(int(d.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop(pids: list[int], marker: str, wait: float = 3.0) -> None:
    """Stop the recorded PIDs that still carry our socket path (SIGTERM, then SIGKILL of the
    same process: testbed.runtimes.netns.procs)."""
    from testbed.runtimes.netns.nsutil import proc_start_time
    from testbed.runtimes.netns.procs import terminate
    live = []
    for p in pids:
        if marker in _cmdline(p):
            try:
                live.append((p, proc_start_time(p)))
            except OSError:
                pass
    if live:
        terminate(live, wait)


class Daemon:
    """scamper -D -U SOCK in a namespace; a context manager that always stops it."""

    def __init__(self, ns: str, pfx: Path, workdir: Path, pps: int = 100):
        self.ns, self.pfx, self.dir = ns, pfx, workdir
        # a short private directory: Unix socket paths are limited to 107 bytes
        self._sockdir = tempfile.mkdtemp(prefix="tnt-")
        self.sock = f"{self._sockdir}/scamper-{os.getpid()}.sock"
        (workdir / "scamper.socket").write_text(self.sock + "\n")
        self.pps = pps
        self.pids: list[int] = []

    def __enter__(self):
        argv = ["ip", "netns", "exec", self.ns, str(self.pfx / "bin" / "scamper"), "-D", "-U", self.sock,
                "-p", str(self.pps)]
        log = open(self.dir / "scamper.log", "wb")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + 10
        try:
            while not os.path.exists(self.sock):
                if time.monotonic() > deadline or (p.poll() not in (None, 0)):
                    err = (self.dir / "scamper.log").read_text(errors="replace").strip()
                    raise TestbedError(f"TNT's scamper daemon did not open {self.sock} in {self.ns}"
                                       + (f": {err.splitlines()[-1]}" if err else ""))
                time.sleep(0.05)
            self.pids = sorted(set(_pids_with(self.sock)) | ({p.pid} if p.poll() is None else set()))
            (self.dir / "scamper.pids").write_text("\n".join(map(str, self.pids)) + "\n")
        except BaseException:
            self.pids = sorted(set(_pids_with(self.sock)) | ({p.pid} if p.poll() is None else set()))
            self.__exit__(None, None, None)
            raise
        finally:
            if p.poll() is None and p.pid not in self.pids:
                self.pids.append(p.pid)
        self._popen = p
        return self

    def __exit__(self, *exc):
        # the daemon may have forked again after we looked: look once more, by our socket only
        pids = sorted(set(self.pids) | set(_pids_with(self.sock)))
        stop(pids, self.sock)
        try:
            if getattr(self, "_popen", None) is not None:
                self._popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        for p in (self.sock, self._sockdir):
            try:
                os.rmdir(p) if p == self._sockdir else os.unlink(p)
            except OSError:
                pass
        return False


def run(ns: str, targets: list[str], extra: list[str] | None = None, workdir: str | None = None,
        timeout: float = 600) -> tuple[str, list]:
    """(verbose dump text, traces) of sc_tnt from namespace ns to targets."""
    pfx = prefix()
    if pfx is None:
        raise TestbedError(missing_reason())
    tmp = tempfile.TemporaryDirectory(prefix="tnt-run-") if workdir is None else None
    d = Path(workdir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    try:
        warts = d / "tnt.warts"
        tfile = d / "targets.txt"
        tfile.write_text("\n".join(targets) + "\n")
        sc_tnt = str(pfx / "bin" / "sc_tnt")
        with Daemon(ns, pfx, d) as dm:
            argv = ["ip", "netns", "exec", ns, sc_tnt, "-a", str(tfile), "-U", dm.sock, "-o", str(warts),
                    *(extra or [])]
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=d)
            except subprocess.TimeoutExpired:
                raise TestbedError(f"sc_tnt did not finish in {timeout:.0f} s ({shlex.join(argv)})") from None
            if r.returncode != 0 or not warts.exists():
                last = (r.stderr or r.stdout).strip().splitlines()
                raise TestbedError(f"sc_tnt failed in {ns} ({shlex.join(argv)}): {last[-1] if last else r.returncode}")
        dumps = {}
        for v in ("", "-v"):
            argv = [sc_tnt] + ([v] if v else []) + ["-d", "1", str(warts)]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise TestbedError(f"sc_tnt dump failed ({shlex.join(argv)}): {r.stderr.strip()}")
            dumps[v] = r.stdout
        (d / "tnt.txt").write_text(dumps[""])
        (d / "tnt-v.txt").write_text(dumps["-v"])
        return dumps["-v"], tnt_text.parse(dumps["-v"], f"sc_tnt -v -d 1 {warts}")
    finally:
        if tmp is not None:
            tmp.cleanup()
