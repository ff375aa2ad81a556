"""The run folder: what a running lab created, so `status` and `down` work from any shell.

    /run/utnt-lab/                  (UTNT_LAB_RUN overrides it)
      .lock                         the global lock (0600; the folders are root's only: 0700, or
                                    0710 with group frr where FRR is installed)
      <name>/state.json             the record (schema below), rewritten atomically, with its
                                    SHA-256 in state.json.sha256 (records are checked on reading)
      <name>/spec.json              what engine workers build their routers from
      <name>/procs/<role>.<pid>.json  every child process of the lab, one record each (supervisor.py):
                                    role worker, sync, frr, capture or detector; pid, start time
      <name>/worker-<i>.json        written by worker i itself (pid, start time, tables generation), + .sha256
      <name>/workers.log            the engine workers' stderr
    FRR control plane only (frr.py):
      <name>/frr/<router>/          configs, logs, pid files, zserv.api, vty and ldpd sockets (frr:frr)
      <name>/tables.json            the FIB and LFIB read from FRR: {"generation", "written", "source",
                                    "routers": {router: RouterTables.to_json()}}, rewritten atomically
      <name>/frrsync.log            the sync process's log (it records itself in procs/ too)

state.json (schema 1):
    {"schema": 1, "name": instance name, "lab": lab name, "source": lab file, "params": {...},
     "status": "building" | "up" | "failed"   (read back: "corrupt" with "problem" when the
                                           record fails records.State, its pydantic model),
     "owner": {"pid", "start_time"}        the `up` that is building it (until it ends),
     "created": unix time, "up_seconds": float,
     "prefix": "tb-<name>.", "namespaces": [every namespace],
     "routers": {node: ns}, "hosts": {node: ns}, "switch": ns | null,
     "bridges": [{"name", "namespace", "lan"}], "taps": [{"name", "namespace", "lan"}],
     "attach": [{"lan", "namespace", "tap", "bridge", "address", "prefixlen", "network",
                 "gateway", "gateway_node", "gateway_mac", "hosts"}],
     "workers": [{"index", "pid", "start_time", "routers": [node...], "log"}],
     "control_plane": "computed" | "frr",
     "frr": null | {"dir", "daemons": [{"router", "daemon", "pid", "start_time", "launcher",
                    "launcher_start", "children": [{"pid", "start_time"}] (ldpd's two helpers),
                    "dir", "log"}], "sync": {"pid", "start_time", "log"},
                    "converged_seconds", "differences": [str] (from the computed control plane)},
     "timings": {"namespaces", "sysctls", "links", "switch", "addresses", "control_plane",
                 "compile", "engines_wait", "forwarding"; FRR: "kernel", "frr_daemons",
                 "convergence", "tables"} (seconds),
     "probes": [{"from", "namespace", "targets": [address...]}],
     "check": {"ok", "checked", "pings": [{"from", "to", "rtt_ms"}], "missing": [{"from", "to"}]} | null}
`api.status()` returns this record plus its live health: "status" recomputed ("degraded" when
a worker or the FRR sync process died or a namespace vanished, "failed" when the building
`up` is gone), "namespaces_missing", "alive" for each worker, "processes" (every child on
record in procs/: role, pid, start time, alive; captures and detectors included); FRR: "frr_daemons" (each
with "alive"; a dead daemon is an experiment, not a degraded lab), "frr_sync_alive",
"tables_generation". Workers record the tables generation they run in worker-<i>.json.
Start times are in clock ticks since boot (/proc/PID/stat field 22): `down` stops the
processes recorded in procs/ (supervisor.py), each only if its start time and command line
still match (PID reuse); the copies in state.json are what `status` reports.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import time
from contextlib import contextmanager
from pathlib import Path

from testbed.errors import TestbedError

from . import names
from .supervisor import Supervisor

SCHEMA = 1
LOCK = ".lock"
DIGEST = ".sha256"            # RECORD.sha256 beside each record: see write_record
WORKER_MARKER = "testbed.runtimes.netns.workers"
SYNC_MARKER = "testbed.runtimes.netns.frrsync"


def run_root() -> Path:
    return Path(os.environ.get("UTNT_LAB_RUN", names.RUN_ROOT))


def run_dir(name: str) -> Path:
    return run_root() / name


def private_dir(path: Path, frr: bool = True) -> Path:
    """A run folder only root can read: 0700, or with `frr` 0710 with group frr where FRR is
    installed (its daemons, dropped to user frr, must traverse to their own
    RUN_DIR/frr/<router>/). A folder there already that is not root's own is refused, never used."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise TestbedError(f"{path} is not a folder owned by uid {os.geteuid()} (uid {st.st_uid}, mode "
                           f"{stat.filemode(st.st_mode)}); it is not safe to keep lab state there: remove it")
    gid, mode = _frr_gid() if frr else None, 0o700
    if gid is not None:
        mode = 0o710
        if st.st_gid != gid:
            os.chown(path, -1, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
    return path


def _frr_gid() -> int | None:
    import grp
    try:
        return grp.getgrnam("frr").gr_gid
    except KeyError:
        return None


def make_run_dir(name: str) -> Path:
    private_dir(run_root())
    return private_dir(run_dir(name))


@contextmanager
def locked():
    """The global lock of the run folder (held briefly: claiming a name, releasing it): a
    root-only file (0600) in the root-only run folder, so nobody else can hold it."""
    while True:
        root = private_dir(run_root())
        lock = root / LOCK
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)          # removed (and maybe re-created) while we waited: retry
    try:
        yield root
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_state(name: str) -> dict | None:
    """The lab's record, checked; None when there is none. A record that is not valid JSON or
    not of the schema (records.State) is {"status": "corrupt", "problem": one line naming the
    file, the field or line, and the fix}: `down` still removes the lab (by its namespace
    prefix and the workers' own records), `status` reports it, nothing else uses it."""
    try:
        doc, problem = read_record("State", run_dir(name) / "state.json", expect_name=name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if problem is None:
        return doc
    return {"schema": SCHEMA, "name": name, "status": "corrupt",
            "problem": f"{problem}; `testbed down {name}` removes what the lab left (by its namespace prefix)"}


def _digest(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


def write_record(path: Path, text: str):
    """Write a record (state.json, worker-I.json) atomically, its SHA-256 beside it first
    (PATH.sha256): a record that still has its digest is the one this code wrote."""
    side = path.with_name(path.name + DIGEST)
    for target, body in ((side, _digest(text)), (path, text)):
        tmp = path.with_name(f".{target.name}.{os.getpid()}.tmp")
        _write_private(tmp, body)
        os.replace(tmp, target)


def read_record(model: str, path: Path, expect_name: str | None = None) -> tuple[dict | None, object]:
    """(record, None) or (None, the Problem that makes it unusable). A record whose digest
    matches is what write_record wrote and is only parsed; any other (truncated, edited, from
    a version without digests, caught between its two writes) is checked field by field
    against its pydantic model (records.py), whose import `status` otherwise does not pay."""
    from testbed.inputs import LIMITS, InputProblem, decode, loads_json, read_bytes
    try:
        # the input boundary: a regular file (not a FIFO, not a link), at most LIMITS["state"]
        # bytes; OSError (gone) is the caller's
        data = read_bytes(path, LIMITS["state"], "state record", nofollow=True)
        text = decode(data, str(path), "state record")
    except InputProblem as e:
        if "cannot read" in e.problems[0].message and not path.is_symlink() and not os.path.lexists(path):
            raise FileNotFoundError(str(path)) from None
        return None, e.problems[0]
    try:
        same = path.with_name(path.name + DIGEST).read_text()[:100].strip() == _digest(text)
    except (OSError, UnicodeDecodeError):
        same = False
    if same:
        try:
            doc = loads_json(text, str(path), "state record")
        except InputProblem:
            doc = None
        if isinstance(doc, dict) and (expect_name is None or doc.get("name") == expect_name):
            return doc, None
    from . import records
    return records.check(getattr(records, model), path, text, expect_name)


def _write_private(tmp: Path, text: str):
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def write_state(name: str, st: dict):
    write_record(run_dir(name) / "state.json", json.dumps(st, indent=1, default=str))


def write_json(path: Path, obj):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_private(tmp, json.dumps(obj, default=str))
    os.replace(tmp, path)


def instances() -> list[str]:
    root = run_root()
    try:
        return sorted(p.name for p in root.iterdir() if p.is_dir() and names.NAME_RE.match(p.name))
    except FileNotFoundError:
        return []


def self_registered_workers(name: str) -> list[dict]:
    out = []
    d = run_dir(name)
    try:
        files = sorted(d.glob("worker-*.json"))
    except OSError:
        return out
    for f in files:
        try:
            rec, _problem = read_record("Worker", f)
        except OSError:
            continue
        if rec is not None:            # a garbled record names no process: nothing to stop by it
            out.append(rec)
    return out


def record_problems(name: str) -> list[str]:
    """One line for each of the lab's worker-I.json records that is not valid."""
    out = []
    for f in sorted(run_dir(name).glob("worker-*.json")):
        try:
            _rec, problem = read_record("Worker", f)
        except OSError:
            continue
        if problem is not None:
            out.append(str(problem))
    return out


def supervisor(name: str | None) -> Supervisor:
    """The Supervisor of lab `name` (records in its run folder); one keeping its records in
    memory when there is no such lab running (name None, or a lab not up)."""
    if name and run_dir(name).is_dir():
        return Supervisor(run_dir(name))
    return Supervisor()


def supervisor_of_ns(nsname: str) -> Supervisor:
    """The Supervisor of the lab a namespace belongs to (for a detector given a namespace)."""
    return supervisor(names.lab_of_ns(nsname))


def remove_run_dir(name: str):
    shutil.rmtree(run_dir(name), ignore_errors=True)


def remove_root_if_empty():
    """Leave no trace: drop /run/utnt-lab when no lab is left (under the lock)."""
    root = run_root()
    try:
        if not any(p.name != LOCK for p in root.iterdir()):
            try:
                os.unlink(root / LOCK)
            except FileNotFoundError:
                pass
            root.rmdir()
    except OSError:
        pass


def now() -> float:
    return time.time()
