"""`down`: remove every namespace, link, bridge, tap and process a lab created. Idempotent.

Order: a still-running `up` of the lab is asked to stop (it tears down itself); then every
child recorded in the run folder (supervisor.py) is stopped, by its PID and start time:
detectors and captures, the FRR sync process, the FRR daemons (with ldpd's helpers, and any
daemon that only its own pid file in the run folder names: frr.unrecorded), the engine
workers; then every namespace of the lab goes, the recorded ones and any left over with
the lab's prefix (links, bridges and taps live only inside them and go with them); last the
run folder. Processes of other people still inside a lab namespace (a shell from
`testbed exec`) are not killed; they are reported.
"""
from __future__ import annotations

import os
import signal
import time

from . import frr as frrrt
from . import names, nsutil, state
from .build import ip_batch
from .supervisor import Supervisor

OWNER_WAIT = 15.0


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
    deadline = time.monotonic() + OWNER_WAIT
    while nsutil.same_process(pid, start) and time.monotonic() < deadline:
        nsutil.reap(pid)
        time.sleep(0.02)
    return True


def lab_namespaces(name: str, st: dict | None) -> list[str]:
    pre = names.prefix(name)
    found = [n for n in nsutil.list_netns() if n.startswith(pre)]
    recorded = [n for n in (st or {}).get("namespaces", []) if n.startswith(pre)]
    return sorted(set(found) | (set(recorded) & set(found)))


def live_elsewhere(name: str) -> dict | None:
    """A live engine worker of lab `name` whose run folder is not this one's (a lab up under
    another UTNT_LAB_RUN root, or under the Mininet runtime): {"pid", "run_dir", "mininet"};
    None when there is none. Told by the recorded processes, not by which root is looked at."""
    mine = os.path.realpath(state.run_dir(name))
    from testbed.runtimes.mininet import RUN_ROOT as MN_ROOT
    for pid, _rest in nsutil.live_processes():
        cmd = nsutil.proc_cmdline(pid)
        if len(cmd) < 4 or state.WORKER_MARKER not in cmd[:4]:
            continue
        d = cmd[cmd.index(state.WORKER_MARKER) + 1] if cmd.index(state.WORKER_MARKER) + 1 < len(cmd) else ""
        if os.path.basename(d.rstrip("/")) != name or os.path.realpath(d) == mine or not os.path.isdir(d):
            continue
        return {"pid": pid, "run_dir": d, "mininet": os.path.dirname(os.path.realpath(d)) ==
                os.path.realpath(MN_ROOT)}
    return None


def down(name: str, sup: Supervisor | None = None) -> dict:
    """sup: the Supervisor of an `up` tearing down its own lab (it collects its children's
    exit status); any other caller's reads the records from the run folder. A lab up under
    another run root is refused (its owner's `down` removes it); a Mininet lab of this name
    is stopped through its driver's record (testbed.runtimes.mininet.down)."""
    names.check_name(name)
    st = state.read_state(name)
    had_run_dir = state.run_dir(name).exists()
    if st is None and not had_run_dir:
        other = live_elsewhere(name)
        if other is not None and not other["mininet"]:
            from testbed.errors import TestbedError
            root = os.path.dirname(other["run_dir"].rstrip("/"))
            raise TestbedError(f"lab '{name}' is up from another run folder ({other['run_dir']}, engine worker pid "
                               f"{other['pid']}); nothing removed: `UTNT_LAB_RUN={root} testbed down {name}` "
                               "takes it down")
    from testbed.runtimes import mininet
    mn = mininet.down(name)
    owner_stopped = stop_owner(st)
    if owner_stopped:
        st = state.read_state(name)
    sup = sup or Supervisor(state.run_dir(name))
    frrrt.record_unrecorded(sup, name)
    stopped = sup.stop_all()
    killed, sync, frr_killed = stopped.get("worker", []), stopped.get("sync", []), stopped.get("frr", [])
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
    return {"name": name, "was_up": bool(st or nss or had_run_dir or mn), "namespaces_removed": len(nss) - len(left),
            "mininet": mn,
            "workers_stopped": killed, "owner_stopped": owner_stopped, "left": left,
            "frr_stopped": frr_killed, "sync_stopped": sync,
            "captures_stopped": stopped.get("capture", []), "detectors_stopped": stopped.get("detector", []),
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
    from testbed.runtimes.mininet import RUN_ROOT as MN_ROOT
    try:
        found |= {p.name for p in MN_ROOT.iterdir() if p.is_dir() and names.NAME_RE.match(p.name)}
    except OSError:
        pass
    for n in nsutil.list_netns():
        lab = names.lab_of_ns(n)
        if lab:
            found.add(lab)
    return sorted(found)


def down_all(which: list[str] | None = None) -> list[dict]:
    """Every lab (of `which`, default all_names()) down; a lab up under another run root is
    left alone (its `down` refused): the others still go, then the refusals are raised together."""
    from testbed.errors import TestbedError
    reps, refused = [], []
    for n in all_names() if which is None else which:
        try:
            reps.append(down(n))
        except TestbedError as e:
            refused.append(str(e))
    if refused:
        raise TestbedError("; ".join(refused) + f" ({len(reps)} other labs removed)")
    return reps
