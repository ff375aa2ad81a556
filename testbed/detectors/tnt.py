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
recorded with the lab's supervisor (testbed.runtimes.netns.supervisor; `testbed down`
stops them too), and stopped by those PIDs (SIGTERM, then SIGKILL of the same process).
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


class Daemon:
    """scamper -D -U SOCK in a namespace; a context manager that always stops it."""

    def __init__(self, ns: str, pfx: Path, workdir: Path, pps: int = 100):
        from testbed.runtimes.netns.state import supervisor_of_ns
        self.ns, self.pfx, self.dir = ns, pfx, workdir
        self.sup = supervisor_of_ns(ns)
        # a short private directory: Unix socket paths are limited to 107 bytes
        self._sockdir = tempfile.mkdtemp(prefix="tnt-")
        self.sock = f"{self._sockdir}/scamper-{os.getpid()}.sock"
        (workdir / "scamper.socket").write_text(self.sock + "\n")
        self.pps = pps
        self.pids: list[int] = []

    def __enter__(self):
        argv = ["ip", "netns", "exec", self.ns, str(self.pfx / "bin" / "scamper"), "-D", "-U", self.sock,
                "-p", str(self.pps)]
        from testbed.runtimes.netns.supervisor import LOG
        launcher = self.sup.start("detector", argv, stdout=LOG, stderr=LOG, log=self.dir / "scamper.log",
                                  log_mode="wb", cwd=None, marker=self.sock, what="TNT's scamper")
        p = launcher.popen
        deadline = time.monotonic() + 10
        try:
            while not os.path.exists(self.sock):
                if time.monotonic() > deadline or (p.poll() not in (None, 0)):
                    err = (self.dir / "scamper.log").read_text(errors="replace").strip()
                    raise TestbedError(f"TNT's scamper daemon did not open {self.sock} in {self.ns}"
                                       + (f": {err.splitlines()[-1]}" if err else ""))
                time.sleep(0.05)
            self.pids = sorted(set(_pids_with(self.sock)) | ({p.pid} if p.poll() is None else set()))
            self._record()
            (self.dir / "scamper.pids").write_text("\n".join(map(str, self.pids)) + "\n")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _record(self):
        known = {c.pid for c in self.sup.children("detector")}
        for pid in _pids_with(self.sock):
            if pid not in known:
                self.sup.adopt("detector", pid, marker=self.sock, what="TNT's scamper daemon")

    def __exit__(self, *exc):
        # the daemon may have forked again after we looked: look once more, by our socket only
        self._record()
        mine = [c for c in self.sup.children("detector") if c.marker == self.sock]
        self.sup.stop(mine)
        for c in mine:
            self.sup.forget(c)
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
                r = dm.sup.run("detector", argv, timeout=timeout, cwd=str(d), what="sc_tnt")
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
