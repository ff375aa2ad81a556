"""Every child process of a lab: start it, record it in the run folder, check its health, stop
it by its recorded PID and start time. The one place the runtime starts and stops long-lived
processes: engine workers, FRR daemons, the FRR sync process, captures (tcpdump) and
detectors (uTNT, scamper, traceroute, TNT's scamper daemon, micro-VMs).

    sup = Supervisor(state.run_dir(name))
    child = sup.start("capture", ["ip", "netns", "exec", ns, "tcpdump", ...], tie=True)
    sup.adopt("frr", daemon_pid, router="p1", daemon="ldpd")   # a process a child forked
    sup.health()                                               # every record, with "alive"
    sup.stop_all()                                             # what `down` does

Records are files RUN_DIR/procs/<role>.<pid>.json: {"role", "pid", "start_time", "marker",
"argv", "log", "owner", "started", ...what the caller adds}. Each is written (atomically)
right after the process exists, so another process (`testbed down` in another shell, or the
next `up` after this one was SIGKILLed) finds and stops exactly those. A record names a
process, not a name: stop() signals a PID only while its start time (clock ticks since boot,
/proc/PID/stat field 22) and, when recorded, a marker in its command line still match, so a
PID the kernel gave to another process since is never touched (it is reported as gone).
stop(): SIGTERM, a wait, SIGKILL for those still the same process, and the exit status of our
own children collected (no zombies). A Supervisor without a run folder keeps its records in
memory (a process that supervises children of no lab).

Detectors (group=True, run()'s default) get a process group and session of their own: stop()
signals the whole group (what the detector forked, in the namespace it was started in), also
once the detector itself is gone, so `down` leaves no detector child holding a vantage point's
namespace; run() reads at most OUTPUT_LIMIT bytes of its output (more: OutputLimit, stopped).

Between fork and the record's write there is a window of microseconds; each kind of child
ends by itself should its parent die inside it: workers on their stdin's end before `go`,
the sync process when its run folder goes, FRR daemons are found again by the pid files in
the run folder (frr.py), captures and detectors are tied to their parent (tie=True, the
kernel's parent-death signal).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testbed.errors import TestbedError
from testbed.inputs import record_json

from . import nsutil

RECORDS = "procs"
TERM_WAIT = 3.0
# stop_all's order: what reads from the lab first, the engine last
STOP_ORDER = ("detector", "capture", "sync", "frr", "worker")
OUTPUT_LIMIT = 64 << 20       # bytes of a child's stdout that run() keeps (a detector's traces); more stops it
ERR_LIMIT = 1 << 20           # run() keeps the last MiB of a child's stderr
DRAIN_S = 1.0                 # run(): seconds to read on after the child exited (what it forked may
                              # hold its output open: that is stopped with its group)
LOG = "log"                   # stdout=LOG / stderr=LOG: into the `log` file given to start()


@dataclass
class Child:
    """One recorded process (and its Popen when this Supervisor started it)."""
    role: str
    pid: int
    start_time: int | None
    marker: str | None = None
    info: dict = field(default_factory=dict)
    popen: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    def alive(self) -> bool:
        return nsutil.same_process(self.pid, self.start_time, self.marker)

    def record(self) -> dict:
        return {**self.info, "role": self.role, "pid": self.pid, "start_time": self.start_time,
                "marker": self.marker}

    @classmethod
    def from_record(cls, rec: dict) -> "Child":
        info = {k: v for k, v in rec.items() if k not in ("role", "pid", "start_time", "marker")}
        return cls(rec["role"], int(rec["pid"]), rec.get("start_time"), rec.get("marker"), info)


class Supervisor:
    """The children of one lab (or of one process, without a run folder)."""

    def __init__(self, run_dir: str | Path | None = None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._popen: dict[int, subprocess.Popen] = {}
        self._memory: dict[tuple[str, int], Child] = {}

    # ------------------------------------------------------------ records
    @property
    def records_dir(self) -> Path | None:
        return self.run_dir / RECORDS if self.run_dir is not None else None

    def _path(self, role: str, pid: int) -> Path:
        return self.records_dir / f"{role}.{pid}.json"

    def _write(self, child: Child):
        if self.run_dir is None:
            self._memory[(child.role, child.pid)] = child
            return
        d = self.records_dir
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        path = self._path(child.role, child.pid)
        tmp = d / f".{path.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(child.record(), default=str))
        os.replace(tmp, path)

    def children(self, role: str | None = None) -> list[Child]:
        """Every recorded child (of `role`), oldest record first."""
        if self.run_dir is None:
            out = list(self._memory.values())
        else:
            out = []
            for f in _by_age(self.records_dir):
                try:
                    out.append(Child.from_record(record_json(f)))
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    continue          # half written by a process killed meanwhile: its child is
                                      # found by the other ways the module docstring names
        for c in out:
            c.popen = self._popen.get(c.pid)
        return [c for c in out if role is None or c.role == role]

    def adopt(self, role: str, pid: int, start_time: int | None = None, marker: str | None = None,
              **info) -> Child:
        """Record a process this one did not start itself (a daemon after it detached, a forked
        engine worker, a process recording itself). start_time None: read it now."""
        if start_time is None:
            start_time = nsutil.proc_start_time(pid)
        child = Child(role, pid, start_time, marker, {"owner": os.getpid(), "started": time.time(), **info})
        self._write(child)
        return child

    def forget(self, child: Child):
        """Drop the record of a child that ended (reaping it if it is ours)."""
        self._reap(child.pid)
        if self.run_dir is None:
            self._memory.pop((child.role, child.pid), None)
        else:
            try:
                self._path(child.role, child.pid).unlink()
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------ starting
    def start(self, role: str, argv: list[str], *, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL, log: str | Path | None = None, log_mode: str = "ab",
              session: bool = True, tie: bool = False, cwd: str | None = "/", env: dict | None = None,
              marker: str | None = None, text: bool = False, group: bool = False,
              on_spawn: Callable[[int], object] | None = None, **info) -> Child:
        """Start argv and record it. session: a session of its own (Ctrl-C at the terminal does
        not reach it; `down` stops it). tie: it gets SIGTERM from the kernel when this process
        dies, also by SIGKILL (captures and detectors: they never outlive their command).
        stdout/stderr: as Popen's, or LOG for the `log` file. group: a process group and
        session of its own, stopped whole (with everything it forked: detectors); info
        `namespace` (the one it runs in) then also confines the stop to that namespace.
        on_spawn(pid): called the moment the process exists, before it is recorded (a memory
        watch's first sample: a short detector run can end while the record is written)."""
        if group:
            session = True
            info["group"] = True
            if info.get("namespace"):
                info["ns_inode"] = nsutil.ns_inode(info["namespace"])
        f = open(log, log_mode) if log is not None else None
        try:
            p = subprocess.Popen(argv, stdin=stdin, stdout=f if stdout == LOG else stdout,
                                 stderr=f if stderr == LOG else stderr, cwd=cwd, env=env,
                                 start_new_session=session, close_fds=True, text=text,
                                 preexec_fn=nsutil.tie_to_parent() if tie else None)
        finally:
            if f is not None:
                f.close()
        if on_spawn is not None:
            on_spawn(p.pid)
        self._popen[p.pid] = p
        child = Child(role, p.pid, nsutil.proc_start_time(p.pid), marker,
                      {"argv": list(map(str, argv))[:12], "log": str(log) if log is not None else None,
                       "owner": os.getpid(), "started": time.time(), **info}, popen=p)
        self._write(child)
        return child

    def run(self, role: str, argv: list[str], *, input: str | bytes | None = None, timeout: float | None = None,
            text: bool = True, tie: bool = True, session: bool = False, cwd: str | None = None,
            group: bool = True, limit: int = OUTPUT_LIMIT, **info) -> subprocess.CompletedProcess:
        """Run argv to its end (a detector run, a one-shot capture), recorded while it runs, in
        a process group of its own (group=True: stopped whole, with what it forked); stopped
        (TERM, then KILL) on timeout, on output beyond `limit` bytes (OutputLimit) or on any
        exception here, Ctrl-C included. Raises subprocess.TimeoutExpired like subprocess.run.
        stderr keeps its last ERR_LIMIT bytes."""
        child = self.start(role, argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, session=session, tie=tie, cwd=cwd,
                           text=False, group=group, **info)
        p = child.popen
        try:
            data = input.encode() if isinstance(input, str) else input
            out, err = _communicate(p, data, timeout, limit, argv)
            p.wait()
        except BaseException:
            self.stop([child], wait=1.0)
            try:
                p.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
            raise
        finally:
            for f in (p.stdin, p.stdout, p.stderr):
                try:
                    if f is not None:
                        f.close()
                except OSError:
                    pass
            if p.poll() is not None:
                # what the detector forked and left behind goes with it
                if self._members(child):
                    self.stop([child], wait=1.0)
                self.forget(child)
        if text:
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        return subprocess.CompletedProcess(argv, p.returncode, out, err)

    # ------------------------------------------------------------ health and stopping
    def health(self, role: str | None = None) -> list[dict]:
        return [{**c.record(), "alive": c.alive()} for c in self.children(role)]

    def _reap(self, pid: int):
        p = self._popen.get(pid)
        if p is not None:
            if p.poll() is not None:
                self._popen.pop(pid, None)
        else:
            nsutil.reap(pid)

    def _wait_gone(self, children: list[Child], timeout: float) -> list[Child]:
        deadline = time.monotonic() + timeout
        alive = list(children)
        while alive:
            for c in alive:
                self._reap(c.pid)
            alive = [c for c in alive if nsutil.same_process(c.pid, c.start_time)]
            if not alive or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        return alive

    def _members(self, c: Child) -> list[int]:
        """The processes of a grouped child's process group or session (what it forked),
        itself excluded; [] for a child not started with group=True."""
        if not c.info.get("group"):
            return []
        return [m for m in nsutil.group_members(c.pid, c.start_time, c.info.get("ns_inode")) if m != c.pid]

    def stop(self, children: list[Child], wait: float = TERM_WAIT) -> list[int]:
        """SIGTERM every child that still is the recorded process, SIGKILL those left after
        `wait`; returns the PIDs signalled. A recorded PID that is gone or belongs to another
        process now is not signalled (only reaped, should it be our child). A child started
        with group=True is stopped with its whole process group and session (whatever it
        forked), also when it is itself gone already."""
        mine, members = [], []
        for c in children:
            for m in self._members(c):
                st = nsutil.proc_start_time(m)
                if st is not None:
                    try:
                        os.kill(m, signal.SIGTERM)
                        members.append(Child(c.role, m, st))
                    except ProcessLookupError:
                        pass
            if c.pid == os.getpid() or c.pid <= 1 or not c.alive():
                self._reap(c.pid)
                continue
            try:
                os.kill(c.pid, signal.SIGTERM)
                mine.append(c)
            except ProcessLookupError:
                pass
        left = self._wait_gone(mine + members, wait)
        for c in left:
            if nsutil.same_process(c.pid, c.start_time):
                try:
                    os.kill(c.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        # a member forked after the SIGTERM round (a detector's child respawning) goes too
        late = [Child(c.role, m, nsutil.proc_start_time(m)) for c in children for m in self._members(c)]
        for c in late:
            try:
                os.kill(c.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait_gone(left + late, wait)
        return [c.pid for c in mine]

    def stop_all(self, roles: tuple[str, ...] | None = None, wait: float = TERM_WAIT) -> dict[str, list[int]]:
        """Stop every recorded child (of `roles`), role by role in STOP_ORDER (others last), and
        drop their records; returns {role: PIDs signalled}."""
        kids = self.children()
        present = [r for r in STOP_ORDER if any(c.role == r for c in kids)] + \
            sorted({c.role for c in kids} - set(STOP_ORDER))
        out = {}
        for role in present:
            if roles is not None and role not in roles:
                continue
            group = [c for c in kids if c.role == role]
            out[role] = self.stop(group, wait)
            for c in group:
                if not c.alive() and not self._members(c):
                    self.forget(c)
        return out


class OutputLimit(TestbedError):
    """A child run by Supervisor.run wrote more than its limit to stdout (it was stopped)."""


def _exited(p: subprocess.Popen, reap: bool) -> bool:
    """Whether p has exited; reap=False leaves it unreaped (a zombie) for its reaper's wait4."""
    if reap:
        return p.poll() is not None
    if p.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:          # reaped elsewhere
        return True


def reap_rusage(p: subprocess.Popen) -> int | None:
    """Wait for p and reap it with wait4: its peak RSS in kB as the kernel counted it
    (ru_maxrss, which no sampler can miss), None when something else reaped it first."""
    if p.returncode is not None:
        return None
    try:
        _pid, status, ru = os.wait4(p.pid, 0)
    except ChildProcessError:
        p.wait()
        return None
    p.returncode = os.waitstatus_to_exitcode(status)
    return int(ru.ru_maxrss)


def _communicate(p: subprocess.Popen, data: bytes | None, timeout: float | None, limit: int,
                 argv, reap: bool = True) -> tuple[bytes, bytes]:
    """p's stdout (at most `limit` bytes, else OutputLimit) and the tail of its stderr, `data`
    written to its stdin, until both pipes close or DRAIN_S after p exited;
    subprocess.TimeoutExpired after `timeout`. reap=False: p is left unreaped (reap_rusage)."""
    import selectors
    deadline = None if timeout is None else time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    out, err = bytearray(), bytearray()
    bufs = {p.stdout.fileno(): out, p.stderr.fileno(): err}
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    todo = memoryview(data or b"")
    if p.stdin is not None:
        if todo:
            os.set_blocking(p.stdin.fileno(), False)
            sel.register(p.stdin.fileno(), selectors.EVENT_WRITE)
        else:
            p.stdin.close()
    drain = None              # once p exited: what it forked may hold its pipes open; not for long
    try:
        while sel.get_map():
            now = time.monotonic()
            if drain is None and _exited(p, reap):
                drain = now + DRAIN_S
            if drain is not None and now >= drain:
                break
            left = None if deadline is None else deadline - now
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(argv, timeout)
            wait = 0.2 if left is None else min(left, 0.2)
            for key, _ in sel.select(wait):
                fd = key.fd
                if fd in bufs:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        sel.unregister(fd)
                        continue
                    buf = bufs[fd]
                    buf += chunk
                    if buf is err and len(err) > 2 * ERR_LIMIT:
                        del err[:-ERR_LIMIT]
                    if buf is out and len(out) > limit:
                        raise OutputLimit(f"{' '.join(map(str, argv[:6]))[:120]}: wrote more than {limit} bytes "
                                          "to its output; it was stopped (a detector's traces are far smaller)")
                else:
                    try:
                        n = os.write(fd, todo[:1 << 16])
                    except BrokenPipeError:
                        n = len(todo)
                    todo = todo[n:]
                    if not todo:
                        sel.unregister(fd)
                        p.stdin.close()
    finally:
        sel.close()
    return bytes(out), bytes(err[-ERR_LIMIT:])


def _by_age(d: Path) -> list[Path]:
    files = []
    try:
        for f in d.glob("*.json"):
            try:
                files.append((f.stat().st_mtime_ns, f.name, f))
            except OSError:
                pass
    except OSError:
        pass
    return [f for _, _, f in sorted(files)]


def child_env() -> dict:
    """The environment of the testbed's own child processes (engine workers, Mininet's driver):
    this one, with the package's root first on PYTHONPATH so they import this very code."""
    env = dict(os.environ)
    pkg_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
