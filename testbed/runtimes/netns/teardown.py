"""`down`: remove every namespace, link, bridge, tap and process a lab created. Idempotent.

Order: a still-running `up` of the lab is asked to stop (it tears down itself); in FRR mode
the control-plane sync process and every FRR daemon (with ldpd's helper processes) are
stopped, by the PIDs recorded in state.json and the daemons' own pid files (frr.py); recorded
engine workers are stopped (TERM, then KILL), each only if its PID still is the process
recorded (start time and command line); then every namespace of the lab goes, the recorded
ones and any left over with the lab's prefix (links, bridges and taps live only inside them
and go with them); last the run folder. Processes of other people still inside a lab
namespace (a shell from `testbed exec`) are not killed; they are reported.
"""
from __future__ import annotations

import os
import signal

from . import names, nsutil, state
from .build import ip_batch
from .procs import _reap, _wait_gone, terminate

OWNER_WAIT = 15.0


def _worker_records(name: str, st: dict | None) -> list[dict]:
    recs = {}
    for w in (st or {}).get("workers", []) + state.self_registered_workers(name):
        if w.get("pid"):
            recs[(w["pid"], w.get("start_time"))] = w
    return list(recs.values())


def stop_workers(name: str, st: dict | None) -> list[int]:
    marker = str(state.run_dir(name))
    mine = []
    for w in _worker_records(name, st):
        pid, start = w["pid"], w.get("start_time")
        if pid == os.getpid():
            continue
        if nsutil.same_process(pid, start, state.WORKER_MARKER) and \
                any(marker in a for a in nsutil.proc_cmdline(pid)):
            mine.append((pid, start))
        else:
            _reap(pid)
    return terminate(mine)


def stop_sync(name: str, st: dict | None) -> list[int]:
    """The FRR control-plane sync process: recorded in state.json and by itself (frrsync.json)."""
    SYNC_MARKER = state.SYNC_MARKER
    import json
    marker = str(state.run_dir(name))
    recs = []
    sync = ((st or {}).get("frr") or {}).get("sync")
    if sync:
        recs.append(sync)
    try:
        recs.append(json.loads((state.run_dir(name) / "frrsync.json").read_text()))
    except (OSError, ValueError):
        pass
    mine = []
    for r in recs:
        pid, start = r.get("pid"), r.get("start_time")
        if pid and pid != os.getpid() and (pid, start) not in mine and \
                nsutil.same_process(pid, start, SYNC_MARKER) and any(marker in a for a in nsutil.proc_cmdline(pid)):
            mine.append((pid, start))
        elif pid:
            _reap(pid)
    return terminate(mine)


def stop_owner(st: dict | None) -> bool:
    """An `up` still building this lab (another process): ask it to stop and wait for it."""
    if not st or st.get("status") != "building":
        return False
    o = st.get("owner") or {}
    pid, start = o.get("pid"), o.get("start_time")
    if not pid or pid == os.getpid() or not nsutil.same_process(pid, start):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    _wait_gone([(pid, start)], OWNER_WAIT)
    return True


def lab_namespaces(name: str, st: dict | None) -> list[str]:
    pre = names.prefix(name)
    found = [n for n in nsutil.list_netns() if n.startswith(pre)]
    recorded = [n for n in (st or {}).get("namespaces", []) if n.startswith(pre)]
    return sorted(set(found) | (set(recorded) & set(found)))


def down(name: str) -> dict:
    names.check_name(name)
    st = state.read_state(name)
    had_run_dir = state.run_dir(name).exists()
    owner_stopped = stop_owner(st)
    if owner_stopped:
        st = state.read_state(name)
    from . import frr as frrrt
    sync = stop_sync(name, st)
    frr_killed = frrrt.stop_daemons(name, st)
    killed = stop_workers(name, st)
    nss = lab_namespaces(name, st)
    inodes = {i for i in (nsutil.ns_inode(n) for n in nss) if i is not None}
    foreign = []
    for pid in nsutil.processes_in(inodes) if inodes else []:
        cmd = " ".join(nsutil.proc_cmdline(pid))[:120]
        foreign.append({"pid": pid, "cmd": cmd})
    if nss:
        ip_batch([f"netns del {n}" for n in nss], what="deleting namespaces", force=True)
    with state.locked():
        state.remove_run_dir(name)
        state.remove_root_if_empty()
    left = lab_namespaces(name, None)
    return {"name": name, "was_up": bool(st or nss or had_run_dir), "namespaces_removed": len(nss) - len(left),
            "workers_stopped": killed, "owner_stopped": owner_stopped, "left": left,
            "frr_stopped": frr_killed, "sync_stopped": sync,
            "processes_still_inside": foreign}


def leftovers(name: str) -> dict:
    """Whatever of lab `name` still exists (empty lists: the machine is as it was):
    namespaces with its prefix, engine worker, sync and FRR daemon processes of its run
    folder (found by scanning /proc for it in their command lines, read-only), its run
    folder. (ldpd's helpers carry no path: check them by the PIDs state.json recorded.)"""
    SYNC_MARKER = state.SYNC_MARKER
    marker = str(state.run_dir(name))
    frr_marker = marker + "/frr/"
    procs = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            cmd = nsutil.proc_cmdline(int(d))
            if nsutil.proc_start_time(int(d)) is None:
                continue
            if (any(state.WORKER_MARKER in a or SYNC_MARKER in a for a in cmd) and marker in cmd) or \
                    any(a.startswith(frr_marker) for a in cmd):
                procs.append(int(d))
    return {"namespaces": lab_namespaces(name, None), "processes": procs,
            "run_dir": [str(state.run_dir(name))] if state.run_dir(name).exists() else []}


def all_names() -> list[str]:
    found = set(state.instances())
    for n in nsutil.list_netns():
        lab = names.lab_of_ns(n)
        if lab:
            found.add(lab)
    return sorted(found)


def down_all() -> list[dict]:
    return [down(n) for n in all_names()]
