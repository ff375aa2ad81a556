"""The namespace runtime's API: `up`, `down`, `status`, `exec_in`, `capture`, `attachment`.

    from testbed.runtimes.netns import api
    st = api.up("invisible-php")                 # or a Lab object; name= for a second instance
    st = api.up("invisible-php", name="f", control_plane="frr")   # real FRR (OSPF, LDP) in each router
    api.exec_in("invisible-php", "vp", ["scamper", "-c", "ping", "-i", "12.0.1.2"])
    api.down("invisible-php")

Errors a user can act on are TestbedError (one line). An `up` that fails or is interrupted
(KeyboardInterrupt, SIGTERM) tears down whatever it built before the exception propagates.
"""
from __future__ import annotations

import dataclasses
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from testbed.errors import InputError, TestbedError
from testbed.inputs import record_json

from . import build as nsbuild
from . import check, names, nsutil, state, teardown
from . import frr as frrrt
from .plan import fingerprint, make_plan, partition
from .supervisor import LOG, Child, Supervisor


class AlreadyUp(TestbedError):
    pass


# the FRR control-plane sync process (frrsync.py), as found in its command line
SYNC_MARKER = state.SYNC_MARKER


class _Quiet:
    def step(self, label: str):
        pass

    def done(self, label: str, seconds: float, detail: str = ""):
        pass

    def note(self, msg: str):
        pass


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _load(lab, params):
    if isinstance(lab, (str, Path)):
        from testbed.lab import load_lab
        return load_lab(str(lab), params or {})
    return lab


def _require_root():
    if os.geteuid() != 0:
        raise TestbedError("the namespace runtime needs root (network namespaces, veth, taps); run with sudo")


def _stale(name: str) -> bool:
    """A lab left by an `up` that was killed (SIGKILL) while building: its owner is gone."""
    old = state.read_state(name)
    if not old or old.get("status") != "building":
        return False
    o = old.get("owner") or {}
    return not nsutil.same_process(o.get("pid", 0), o.get("start_time"))


def _claim(name: str, plan, lab, st: dict, progress=None):
    if _stale(name):
        if progress:
            progress.note(f"removing what a killed `up` of '{name}' left behind")
        teardown.down(name)
    with state.locked():
        d = state.run_dir(name)
        pre = names.prefix(name)
        leftovers = [n for n in nsutil.list_netns() if n.startswith(pre)]
        if d.exists() or leftovers:
            old = state.read_state(name) or {}
            what = old.get("status", "leftovers")
            since = time.strftime("%H:%M:%S", time.localtime(old["created"])) if old.get("created") else "?"
            if what == "up":
                msg = f"lab '{name}' is already up (since {since}, {len(old.get('namespaces', []))} namespaces)"
            elif what == "building":
                msg = f"lab '{name}' is being brought up right now (by pid {old.get('owner', {}).get('pid')})"
            else:
                msg = f"lab '{name}' has leftovers ({what}: {len(leftovers)} namespaces)"
            raise AlreadyUp(f"{msg}; run `testbed down {name}` first, or choose another name with --name")
        state.make_run_dir(name)
        state.write_state(name, st)


def _child_env() -> dict:
    from .supervisor import child_env
    return child_env()


def _spawn_workers(name: str, lab, plan, n: int, sup: Supervisor | None = None) -> subprocess.Popen:
    """Start the engine: one process that computes the control plane (lab.control_plane
    "computed"; with "frr" the routers wait for FRR's tables), then forks the other n - 1
    workers (each records itself with the supervisor, then says hello on the shared stdout)."""
    d = state.run_dir(name)
    routers = [r.name for r in lab.routers]
    parts = partition(routers, n)
    spec = {"name": name, "lab": lab.name, "source": str(Path(lab.source).resolve()), "params": lab.params,
            "routers": plan.routers, "partitions": parts, "routers_order": routers,
            "fingerprint": fingerprint(lab, routers), "control_plane": lab.control_plane,
            "tables": str(frrrt.tables_path(name)), "options": getattr(lab, "options", None) or {},
            "router_vps": {v["router"]: {"ifs": [v["veth"], v["tap"]], "mac": v["gateway_mac"]}
                           for v in plan.router_vps}}
    state.write_json(d / "spec.json", spec)
    sup = sup or Supervisor(d)
    child = sup.start("worker", [sys.executable, "-m", state.WORKER_MARKER, str(d)], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=LOG, log=d / "workers.log", log_mode="wb", env=_child_env(),
                      marker=str(d), index=0)
    return child.popen


def _worker_log_tail(name: str) -> str:
    try:
        txt = (state.run_dir(name) / "workers.log").read_text(errors="replace").strip().splitlines()
        return txt[-1] if txt else ""
    except OSError:
        return ""


def _spawn_sync(sup: Supervisor, name: str):
    d = state.run_dir(name)
    return sup.start("sync", [sys.executable, "-m", SYNC_MARKER, str(d)], stderr=LOG, log=d / "frrsync.log",
                     env=_child_env(), marker=str(d))


def _wait_generation(name: str, st: dict, n_workers: int, generation: int, timeout: float = 15.0):
    """Until every worker runs on tables of at least `generation` (their worker-I.json)."""
    deadline = time.monotonic() + timeout
    while True:
        gens = {w.get("index"): w.get("generation", 0) for w in state.self_registered_workers(name)}
        if all(gens.get(i, 0) >= generation for i in range(n_workers)):
            return
        for w in st["workers"]:
            if not nsutil.same_process(w["pid"], w.get("start_time")):
                raise TestbedError(f"engine worker {w['index']} (pid {w['pid']}) exited: "
                                   f"{_worker_log_tail(name) or 'see its log'}")
        if time.monotonic() > deadline:
            late = [i for i in range(n_workers) if gens.get(i, 0) < generation]
            raise TestbedError(f"engine workers {late} did not load FRR's tables within {timeout:.0f} s "
                               f"({state.run_dir(name)}/workers.log)")
        time.sleep(0.05)


def _frr_up(sup: Supervisor, lab, name: str, plan, st: dict, computed, n_workers: int, progress,
            converge_timeout):
    """FRR control plane: daemons, convergence, tables to the engine, the sync process."""
    t = time.monotonic()
    progress.step("frr daemons")
    lab._frr_cp = computed              # render's LDP FEC lists come from the same model
    frrrt.render(lab, name)
    frrrt.start_daemons(lab, name, plan, st, progress, daemons=("zebra", "ospfd"), sup=sup)
    st["timings"]["frr_daemons"] = round(time.monotonic() - t, 4)
    progress.done("frr daemons", st["timings"]["frr_daemons"],
                  f"zebra and ospfd in {len(lab.routers)} routers")
    t = time.monotonic()
    progress.step("convergence")
    timeout = converge_timeout if converge_timeout is not None else frrrt.default_converge_timeout(lab)

    def start_ldpd(routers):
        frrrt.start_daemons(lab, name, plan, st, progress, daemons=("ldpd",), routers=routers, sup=sup)
    snap = frrrt.wait_converged(lab, name, st, computed, timeout, progress, start_ldpd=start_ldpd, publish=True)
    st["timings"]["convergence"] = round(time.monotonic() - t, 4)
    st["frr"]["converged_seconds"] = round(snap["seconds"], 3)
    st["frr"]["differences"] = snap["diffs"]
    progress.done("convergence", st["timings"]["convergence"], snap["summary"])
    if snap["diffs"]:
        progress.note(f"FRR converged to tables that differ from the computed control plane in "
                      f"{len(snap['diffs'])} places, e.g. {snap['diffs'][0]} (all in state.json frr.differences)")
    t = time.monotonic()
    progress.step("tables")
    generation = snap["generation"] + 1         # after those handed to the engine while converging
    frrrt.write_tables(name, frrrt.tables_doc(snap["cp"], [r.name for r in lab.routers]), generation)
    _wait_generation(name, st, n_workers, generation)
    p = _spawn_sync(sup, name)
    st["frr"]["sync"] = {"pid": p.pid, "start_time": p.start_time, "log": str(state.run_dir(name) / "frrsync.log")}
    state.write_state(name, st)
    st["timings"]["tables"] = round(time.monotonic() - t, 4)
    progress.done("tables", st["timings"]["tables"], f"FRR's FIB and LFIB in {n_workers} workers; sync running")


def up(lab, params: dict | None = None, name: str | None = None, workers: int | None = None,
       progress=None, check_timeout: float | None = None, control_plane: str | None = None,
       converge_timeout: float | None = None) -> dict:
    """Bring a lab up as network namespaces; return its state (see state.py).

    lab: a Lab, a library lab name or a lab file path (then params apply).
    control_plane: "computed" or "frr" (default: the lab's `control_plane`, else computed).
    converge_timeout: FRR mode, seconds to wait for convergence (default 90 + routers / 2).
    """
    _require_root()
    progress = progress or _Quiet()
    t_start = time.monotonic()
    lab = _load(lab, params)
    name = names.check_name(name if name is not None else lab.name)
    cp_mode = control_plane or getattr(lab, "control_plane", None) or "computed"
    if cp_mode not in ("computed", "frr"):
        raise TestbedError(f"unknown control plane '{cp_mode}'; choose computed or frr")
    if cp_mode == "frr":
        frrrt.require()
    if cp_mode != lab.control_plane:
        lab = dataclasses.replace(lab, control_plane=cp_mode)
    plan = make_plan(lab, name)
    n_workers = max(1, min(workers or default_workers(), max(1, len(lab.routers))))
    me = os.getpid()
    st = {"schema": state.SCHEMA, "name": name, "lab": lab.name, "source": str(Path(lab.source).resolve()),
          "params": lab.params, "options": getattr(lab, "options", None) or {}, "status": "building",
          "owner": {"pid": me, "start_time": nsutil.proc_start_time(me)},
          "created": state.now(), "prefix": names.prefix(name), "namespaces": plan.namespaces,
          "routers": plan.routers, "hosts": plan.hosts, "switch": plan.switch,
          "bridges": [{"name": l.bridge, "namespace": plan.switch, "lan": l.name} for l in plan.lans],
          "taps": [{"name": l.tap, "namespace": plan.switch, "lan": l.name} for l in plan.lans if l.tap],
          "attach": plan.attach, "router_attach": plan.router_vps, "workers": [], "timings": {},
          "probes": [{"from": p.source, "namespace": plan.hosts.get(p.source, plan.routers.get(p.source)),
                      "targets": [str(t) for t in p.targets]} for p in lab.probes],
          "check": None, "control_plane": cp_mode,
          "frr": {"dir": str(frrrt.frr_root(name)), "daemons": [], "sync": None, "converged_seconds": None,
                  "differences": None} if cp_mode == "frr" else None}
    _claim(name, plan, lab, st, progress)
    # from here on, whatever happens, the lab is either up or gone
    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:
        pass              # not the main thread: no handler (the caller handles signals)
    engine: subprocess.Popen | None = None
    sup = Supervisor(state.run_dir(name))
    try:
        t = time.monotonic()
        progress.step("engine workers")
        engine = _spawn_workers(name, lab, plan, n_workers, sup=sup)
        parts = partition([r.name for r in lab.routers], n_workers)
        st["workers"] = [{"index": 0, "pid": engine.pid, "start_time": nsutil.proc_start_time(engine.pid),
                          "routers": parts[0], "log": str(state.run_dir(name) / "workers.log")}]
        state.write_state(name, st)
        progress.done("engine workers", time.monotonic() - t, f"{len(parts)} to start")
        for label, fn in nsbuild.STEPS:
            t = time.monotonic()
            progress.step(label)
            fn(plan)
            st["timings"][label] = round(time.monotonic() - t, 4)
            progress.done(label, st["timings"][label], _detail(label, plan))
        computed = None
        if cp_mode == "frr":
            t = time.monotonic()
            progress.step("kernel")
            frrrt.configure_kernel(lab, plan)
            st["timings"]["kernel"] = round(time.monotonic() - t, 4)
            progress.done("kernel", st["timings"]["kernel"],
                          f"addresses and output filter in {len(lab.routers)} routers")
            from testbed.controlplane import build as build_cp
            computed = build_cp(lab)
        t = time.monotonic()
        progress.step("engines")
        _engines_ready(name, engine, parts, progress, st)
        st["timings"]["engines_wait"] = round(time.monotonic() - t, 4)
        progress.done("engines", st["timings"]["engines_wait"],
                      f"{len(lab.routers)} routers on {len(parts)} workers")
        if cp_mode == "frr":
            _frr_up(sup, lab, name, plan, st, computed, len(parts), progress, converge_timeout)
        t = time.monotonic()
        progress.step("forwarding")
        timeout = check_timeout if check_timeout is not None else 15.0 + len(lab.routers) / 50.0
        # router vantage points are checked from their prober namespaces (the attachment works)
        res = check.check_forwarding(lab, {**plan.hosts, **{v["router"]: v["prober_namespace"] for v in plan.router_vps}},
                                     timeout)
        return forwarding_checked(name, st, res, timeout, t, t_start, progress, state.run_dir(name))
    except BaseException as e:
        undo_up(name, sup, engine, progress, e)
        if isinstance(e, (TestbedError, KeyboardInterrupt, SystemExit)):
            raise
        raise TestbedError(f"bringing '{name}' up failed: {type(e).__name__}: {e}") from e
    finally:
        close_engine(engine, old_term)


def forwarding_checked(name: str, st: dict, res: dict, timeout: float, t: float, t_start: float, progress,
                       log_dir) -> dict:
    """An `up`'s last step (this runtime's and the big-lab runtime's): the forwarding check's
    result recorded, one line when the lab does not forward, else the lab marked up and its
    state written."""
    st["check"] = res
    st["timings"]["forwarding"] = round(time.monotonic() - t, 4)
    if res["checked"] and not res["ok"]:
        miss = ", ".join(f"{m['from']} -> {m['to']}" for m in res["missing"][:3])
        raise TestbedError(f"lab '{name}' came up but does not forward: no echo reply for {miss} within "
                           f"{timeout:.0f} s (engine log: {log_dir}/workers.log)")
    progress.done("forwarding", st["timings"]["forwarding"],
                  f"{len(res['pings'])} echo replies" if res["checked"] else "no hosts: not checked")
    st["status"] = "up"
    st.pop("owner", None)
    st["up_seconds"] = round(time.monotonic() - t_start, 4)
    state.write_state(name, st)
    return st


def undo_up(name: str, sup, engine, progress, e: BaseException, also=None):
    """What a failed or interrupted `up` built, torn down to its end (SIGINT and SIGTERM ignored
    meanwhile): the engine told to stop, every recorded process and namespace, then also() (the
    caller's own objects: the big-lab runtime's VXLAN devices), then the engine waited for."""
    prev = {}
    for sig in (signal.SIGINT, signal.SIGTERM):     # teardown runs to its end
        try:
            prev[sig] = signal.signal(sig, signal.SIG_IGN)
        except ValueError:
            pass
    try:
        why = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        progress.note(f"tearing down what was built ({why})")
        if engine is not None:
            try:
                engine.stdin.close()
            except Exception:
                pass
        teardown.down(name, sup)
        if also is not None:
            also()
        if engine is not None:
            try:
                engine.wait(timeout=1)
            except Exception:
                pass
    finally:
        for sig, h in prev.items():
            signal.signal(sig, h)


def close_engine(engine, old_term):
    """An `up`'s end, whatever happened: the engine's pipes closed, the SIGTERM handler it replaced put back."""
    if engine is not None:
        for f in (engine.stdin, engine.stdout):
            try:
                if f:
                    f.close()
            except Exception:
                pass
    if old_term is not None:
        try:
            signal.signal(signal.SIGTERM, old_term)
        except ValueError:
            pass


def _sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def _detail(label, plan) -> str:
    if label == "namespaces":
        return f"{len(plan.namespaces)} namespaces"
    if label == "links":
        return f"{len(plan.p2p)} veth pairs, {len(plan.lans)} LAN bridges"
    if label == "switch":
        return f"{sum(1 for l in plan.lans if l.tap)} taps" if plan.switch else "no LANs"
    if label == "addresses":
        return f"{len(plan.hosts)} hosts"
    if label == "router vantage points":
        return ", ".join(v["router"] for v in plan.router_vps) or "none"
    return ""


def _engines_ready(name: str, engine: subprocess.Popen, parts: list, progress, st):
    """Wait for every worker's `compiled`, tell them the namespaces exist (`go`), wait for
    every `ready`. Worker lines: `I hello PID START`, `I stage ...`, `I compiled N CP COMPILE`,
    `I ready SOCKETS`, `I error MESSAGE`."""
    n = len(parts)
    fd = engine.stdout.fileno()
    os.set_blocking(fd, False)
    buf = b""
    known: dict[int, dict] = {0: st["workers"][0]}
    compiled, ready = {}, set()
    went = False
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    try:
        while len(ready) < n:
            if not went and len(compiled) == n:
                engine.stdin.write(b"go\n" * n)
                engine.stdin.flush()
                went = True
            eof = False
            if sel.select(1.0):
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    data = None
                if data == b"":
                    eof = True
                elif data:
                    buf += data
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                parts_ = raw.decode(errors="replace").split(" ", 2)
                if len(parts_) < 2 or not parts_[0].isdigit():
                    continue
                i, word, rest = int(parts_[0]), parts_[1], (parts_[2] if len(parts_) > 2 else "")
                if word == "hello":
                    pid, start = rest.split()
                    rec = {"index": i, "pid": int(pid), "start_time": int(start) if start.isdigit() else None,
                           "routers": parts[i], "log": str(state.run_dir(name) / "workers.log")}
                    known[i] = rec
                    st["workers"] = [known[k] for k in sorted(known)]
                    state.write_state(name, st)
                elif word == "stage":
                    progress.note(f"worker {i}: {rest}")
                elif word == "compiled":
                    cnt, cp_s, comp_s = rest.split()
                    compiled[i] = (float(cp_s), float(comp_s))
                    progress.note(f"worker {i}: control plane {cp_s} s, compiled {cnt} routers in {comp_s} s")
                elif word == "ready":
                    ready.add(i)
                elif word == "error":
                    raise TestbedError(f"engine worker {i}: {rest}")
            if eof and len(ready) < n:
                # the pipe ends while an exiting worker may still show in /proc: give it a moment
                end = time.monotonic() + 2.0
                while time.monotonic() < end:
                    for i, w in known.items():
                        if i not in ready and not nsutil.same_process(w["pid"], w.get("start_time")):
                            raise TestbedError(f"engine worker {i} (pid {w['pid']}) exited before it was ready: "
                                               f"{_worker_log_tail(name) or 'see its log'}")
                    engine.poll()
                    time.sleep(0.02)
                raise TestbedError(f"engine workers exited before they were ready (status {engine.poll()}): "
                                   f"{_worker_log_tail(name) or 'see ' + str(state.run_dir(name) / 'workers.log')}")
            for i, w in known.items():
                if i not in ready and not nsutil.same_process(w["pid"], w.get("start_time")):
                    raise TestbedError(f"engine worker {i} (pid {w['pid']}) exited before it was ready: "
                                       f"{_worker_log_tail(name) or 'see its log'}")
    finally:
        sel.close()
    if compiled:
        st["timings"]["control_plane"] = max(c[0] for c in compiled.values())
        st["timings"]["compile"] = max(c[1] for c in compiled.values())


# ---------------------------------------------------------------- down / status
def down(name: str) -> dict:
    _require_root()
    return teardown.down(name)


def down_all() -> list[dict]:
    _require_root()
    return teardown.down_all()


def _health(st: dict) -> dict:
    name = st.get("name")
    nss = st.get("namespaces", [])
    present = set(nsutil.list_netns())
    missing = [n for n in nss if n not in present]
    d = str(state.run_dir(name))
    # alive: the recorded process (pid, start time) still runs this lab's worker (or sync)
    # code with this lab's run folder on its command line
    workers = []
    for w in st.get("workers", []):
        alive = Child("worker", w["pid"], w.get("start_time"), d).alive() and \
            nsutil.same_process(w["pid"], w.get("start_time"), state.WORKER_MARKER)
        workers.append({"index": w.get("index"), "pid": w["pid"], "alive": alive, "routers": len(w.get("routers", []))})
    out = {}
    sync_ok = True
    if st.get("control_plane") == "frr" and st.get("frr"):
        # a dead daemon is not a broken lab (killing one is an experiment); a dead sync is:
        # the engine no longer follows FRR
        sync = st["frr"].get("sync") or {}
        sync_ok = bool(sync.get("pid")) and Child("sync", sync["pid"], sync.get("start_time"), d).alive() and \
            nsutil.same_process(sync["pid"], sync.get("start_time"), SYNC_MARKER)
        out["frr_daemons"] = frrrt.daemon_health(st)
        out["frr_sync_alive"] = sync_ok
        try:
            out["tables_generation"] = record_json(frrrt.tables_path(name), "tables").get("generation")
        except (OSError, ValueError):
            out["tables_generation"] = None
    status = st.get("status", "unknown")
    if status == "building":
        o = st.get("owner") or {}
        if not nsutil.same_process(o.get("pid", 0), o.get("start_time")):
            status = "failed"
    elif status == "up" and (missing or not all(w["alive"] for w in workers) or not sync_ok):
        status = "degraded"
    # every child on record (supervisor.py): role, pid, start time, alive
    procs = [{k: h.get(k) for k in ("role", "pid", "start_time", "alive", "index", "router", "daemon", "what")
              if h.get(k) is not None} for h in Supervisor(d).health()]
    return {"status": status, "namespaces_missing": missing, "workers": workers, "processes": procs, **out}


def status(name: str | None = None):
    """One lab's state (a dict with a live 'status'), or a list for every lab (name None)."""
    if name is not None:
        names.check_name(name)
        st = state.read_state(name)
        if st is None:
            left = [n for n in nsutil.list_netns() if n.startswith(names.prefix(name))]
            other = teardown.live_elsewhere(name)
            from testbed.runtimes import mininet
            if other is not None:
                # live by its recorded processes: up under Mininet (while its driver lives; its
                # leftovers otherwise), or under another run root
                live = ("up" if mininet.driver_alive(mininet.driver_record(name)) else "orphaned") \
                    if other["mininet"] else "elsewhere"
                return {"name": name, "status": live,
                        "runtime": "mininet" if other["mininet"] else "netns", "run_dir": other["run_dir"],
                        "engine_pid": other["pid"], "namespaces": left}
            if mininet.driver_alive(mininet.driver_record(name)):
                return {"name": name, "status": "building", "runtime": "mininet", "namespaces": left}
            return {"name": name, "status": "orphaned" if left or (mininet.RUN_ROOT / name).is_dir() else "down",
                    "namespaces": left}
        if st.get("status") == "corrupt":     # its contents name nothing to check
            left = [n for n in nsutil.list_netns() if n.startswith(names.prefix(name))]
            return {**st, "namespaces": left}
        out = dict(st)
        out.update(_health(st))
        bad = state.record_problems(name)
        if bad:
            out["record_problems"] = bad
        return out
    out = []
    for n in teardown.all_names():
        out.append(status(n))
    return out


def _state_or_fail(name: str) -> dict:
    names.check_name(name)
    st = state.read_state(name)
    if st is None:
        running = ", ".join(state.instances()) or "none"
        raise InputError(f"lab '{name}' is not up (running: {running}); start it with `testbed up {name}`")
    if st.get("status") == "corrupt":
        raise InputError(st["problem"])
    return st


def namespace_of(name: str, node: str) -> str:
    st = _state_or_fail(name)
    if node in st["routers"]:
        return st["routers"][node]
    if node in st["hosts"]:
        return st["hosts"][node]
    if node in (names.SWITCH, "sw", "switch") and st.get("switch"):
        return st["switch"]
    for a in st.get("router_attach") or []:          # `_vp-<router>`: a router vantage point's prober namespace
        if node == names.VP + a["router"]:
            return a["prober_namespace"]
    raise InputError(f"lab '{name}' has no node '{node}'; nodes: {', '.join(list(st['routers']) + list(st['hosts']))}"
                       + (f", {names.SWITCH} (the switch namespace)" if st.get("switch") else ""))


def prober_namespace(name: str, node: str) -> str:
    """Where a kernel-stack prober (scamper, traceroute, TNT) of vantage point `node` runs: a
    host's own namespace, or a router vantage point's prober namespace (the router's loopback
    address, every packet handed to the router's engine as its own)."""
    st = _state_or_fail(name)
    if node in st["routers"]:
        for a in st.get("router_attach") or []:
            if a["router"] == node:
                return a["prober_namespace"]
    return namespace_of(name, node)


def exec_argv(name: str, node: str, cmd: list[str]) -> list[str]:
    if not cmd:
        raise TestbedError("no command given; usage: testbed exec LAB NODE -- CMD [ARGS...]")
    return ["ip", "netns", "exec", namespace_of(name, node)] + list(cmd)


def exec_in(name: str, node: str, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Run cmd inside a node's namespace (subprocess.run keyword arguments pass through)."""
    return subprocess.run(exec_argv(name, node, cmd), **kw)


def capture_argv(name: str, node: str, iface: str, file: str, count: int | None = None,
                 snaplen: int = 0, namespace: str | None = None) -> list[str]:
    """namespace: the node's, when another runtime (Mininet) runs the lab (else read from its state)."""
    st = _state_or_fail(name) if namespace is None else {}
    nsn = namespace or namespace_of(name, node)
    if iface != "any" and nsn != st.get("switch") and st:
        from testbed.lab import load_lab
        try:
            lab = load_lab(st["source"], st.get("params") or {}, name=st.get("lab"))
            ifs = [i.name for i in lab.nodes[node].interfaces]
        except Exception:
            ifs = None
        if ifs is not None and iface not in ifs:
            raise InputError(f"{node} has no interface '{iface}'; it has: {', '.join(ifs)} (or any)")
    argv = ["ip", "netns", "exec", nsn, "tcpdump", "-i", iface, "-w", file, "-U", "-n", "-Z", "root"]
    if snaplen:
        argv += ["-s", str(snaplen)]
    if count:
        argv += ["-c", str(count)]
    return argv


def capture(name: str, node: str, iface: str, file: str, count: int | None = None,
            timeout: float | None = None, ready=None, namespace: str | None = None, sup=None) -> dict:
    """tcpdump in a node's namespace, writing pcap to file ('-' for stdout). Ends after count
    frames, after timeout seconds, or on Ctrl-C. ready(): called once tcpdump listens.
    namespace, sup: the node's namespace and the supervisor recording tcpdump, when another
    runtime (Mininet) runs the lab."""
    argv = capture_argv(name, node, iface, file, count, namespace=namespace)
    # recorded in the lab's run folder (`down` stops it before the namespaces go); tied to us
    # (a `testbed capture` killed by SIGKILL leaves no tcpdump running); in our session, so
    # Ctrl-C at the terminal reaches it too
    sup = sup or Supervisor(state.run_dir(name))
    child = sup.start("capture", argv, stdout=None if file == "-" else subprocess.DEVNULL, stderr=subprocess.PIPE,
                      tie=True, session=False, cwd=None, node=node, interface=iface, file=file)
    p = child.popen
    err = b""
    try:
        # tcpdump says "listening on ..." on stderr once its socket is open
        line = p.stderr.readline()
        err += line
        if ready:
            ready()
        try:
            rest = p.communicate(timeout=timeout)[1] if timeout else p.communicate()[1]
            err += rest or b""
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            err += p.communicate()[1] or b""
    except KeyboardInterrupt:
        p.send_signal(signal.SIGINT)
        err += p.communicate()[1] or b""
    finally:
        if p.poll() is None:
            sup.stop([child], wait=1.0)
        sup.forget(child)
    text = err.decode(errors="replace")
    packets = None
    for ln in text.splitlines():
        if "packets captured" in ln:
            packets = int(ln.split()[0])
    if p.returncode not in (0, None, -signal.SIGINT, 130) and packets is None:
        last = text.strip().splitlines()[-1] if text.strip() else f"status {p.returncode}"
        raise TestbedError(f"tcpdump failed in {argv[3]}: {last}")
    return {"file": file, "namespace": argv[3], "interface": iface, "packets": packets, "tcpdump": text.strip()}


def attachment(name: str, host: str | None = None) -> dict:
    """The tap attachment point on host's LAN (the first one without host): where a prober
    with its own network stack joins the lab. Keys: lan, namespace, tap, bridge, address,
    prefixlen, network, gateway, gateway_node, gateway_mac, hosts. The lab must be healthy
    (require_healthy: a dead engine worker is an error naming it, not silent hops)."""
    st = require_healthy(name)
    att = st.get("attach") or []
    if host is not None and host in st.get("routers", {}):
        for a in st.get("router_attach") or []:
            if a["router"] == host:
                return a
        vps = ", ".join(a["router"] for a in st.get("router_attach") or []) or "none"
        raise InputError(f"router '{host}' of lab '{name}' has no vantage-point attachment (routers with one: {vps}); "
                         f"a router gets one at `up` when a probe of the lab file is from it (probes: - {{from: {host}, "
                         "to: ...}})")
    if not att:
        raise TestbedError(f"lab '{name}' has no attachment point (no LAN with a host on it)")
    if host is None:
        return att[0]
    for a in att:
        if host in a.get("hosts", []):
            return a
    raise InputError(f"'{host}' is on no LAN with an attachment point in lab '{name}'; LANs: "
                       + ", ".join(f"{a['lan']} ({', '.join(a['hosts'])})" for a in att))


def require_healthy(name: str) -> dict:
    """The state of a lab that is up with every engine worker (and FRR sync) alive; else an
    error naming what is dead, so a probe never runs into silent hops unawares."""
    _state_or_fail(name)
    st = status(name)
    if st.get("status") == "up":
        return st
    dead = [f"engine worker {w['index']} (pid {w['pid']}, {w['routers']} routers)"
            for w in st.get("workers", []) if not w.get("alive")]
    if st.get("control_plane") == "frr" and not st.get("frr_sync_alive", True):
        dead.append("the FRR table sync")
    gone = st.get("namespaces_missing") or []
    why = "; ".join(x for x in (", ".join(dead) + (" not running" if dead else ""),
                                f"{len(gone)} namespaces missing ({', '.join(gone[:3])})" if gone else "") if x)
    raise TestbedError(f"lab '{name}' is {st.get('status')}: {why or 'not ready'}; its results would be wrong: "
                       f"`testbed down {name}` and bring it up again")
