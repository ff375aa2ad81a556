"""The big-lab runtime's `up` (everything after `up` is the namespace runtime's).

    from testbed.runtimes import bigrt
    st = bigrt.up("five-vp", name="f1")          # or a Lab; workers=2; pcap=["p1-p2"]
    ... the namespace runtime's attachment / prober_namespace / exec_in / status work on it
    bigrt.down("f1")

The state `up` writes is the namespace runtime's (netns/state.py; "runtime": "bigrt"):
hosts and vantage-point prober namespaces as there, every router mapped to the core
namespace (it has none of its own), the attachment points in the core namespace. So uTNT on
a tap, scamper or traceroute in a host's or a router vantage point's prober namespace, the
health checks and `down` (processes by recorded PID, then the lab's namespaces and run
folder) are the namespace runtime's, unchanged. An `up` that fails or is interrupted
(Ctrl-C, SIGTERM) tears down what it built before the exception propagates.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from testbed.errors import InputError, LabError, TestbedError
from testbed.runtimes.netns import api as nsapi
from testbed.runtimes.netns import build as nsbuild
from testbed.runtimes.netns import check, names, nsutil, state
from testbed.runtimes.netns.plan import fingerprint, partition
from testbed.runtimes.netns.supervisor import LOG, Supervisor

from .plan import make_plan

# everything after `up` is the namespace runtime's (the same state): re-exported so that the
# runtime is one module with the netns runtime's entry points
from testbed.runtimes.netns.api import (attachment, exec_in, namespace_of, prober_namespace,  # noqa: E402,F401
                                        require_healthy, status)

RUNTIME = "bigrt"


def default_workers(routers: int) -> int:
    """One engine process per core, at most one per 2,000 routers (a frame crossing between
    workers costs a socket write and read; within one it is a function call)."""
    return max(1, min(nsapi.default_workers(), -(-routers // 2000)))


def _load(lab, params):
    if isinstance(lab, (str, Path)):
        from testbed.lab import load_lab
        return load_lab(str(lab), params or {}, no_limits=True)
    return lab


def up(lab, params: dict | None = None, name: str | None = None, workers: int | None = None,
       progress=None, check_timeout: float | None = None, pcap: list[str] | None = None,
       seed: int | None = None, control_plane: str | None = None, converge_timeout: float | None = None,
       split: tuple | None = None) -> dict:
    """Bring a lab up on the big-lab runtime; return its state (the namespace runtime's keys).
    The namespace runtime's `up` arguments are taken (so either can be called alike);
    control_plane may only be "computed" (converge_timeout is FRR's: unused).

    lab: a Lab, a library lab name or a lab file path (then params apply; no size limits).
    workers: engine processes (default: default_workers). pcap: names of links between
    routers whose frames the engine writes to <run folder>/pcap/<link>.w<worker>.pcap.
    seed: the impairment streams' seed (default: the lab's).
    split: (plan document, host, underlay namespace or None) for one host's part of a lab split
    across hosts (split.py): only this host's routers, lab hosts and vantage points, and a
    VXLAN device per cut link (vxlan.py); the plan is checked against the lab first."""
    nsapi._require_root()
    progress = progress or nsapi._Quiet()
    t_start = time.monotonic()
    if control_plane not in (None, "computed"):
        raise TestbedError(f"control plane '{control_plane}' does not run on the big-lab runtime, which computes "
                           "its control plane (FRR needs a namespace per router: use the netns runtime)")
    # a lab file named with an instance name: the engine starts loading it at once, while this
    # process loads it too (for the plan); otherwise the lab is loaded here first
    if isinstance(lab, (str, Path)) and name is not None:
        from testbed.lab.loader import find_lab
        name = names.check_name(name)
        source, lab_params, options = str(find_lab(str(lab)).resolve()), dict(params or {}), {"no_limits": True}
        pending = (str(lab), params)
        lab = None
    else:
        lab = _load(lab, params)
        _check_lab(lab, pcap)
        name = names.check_name(name if name is not None else
                                lab.name if split is None else f"{lab.name}-{split[1]}")
        source, lab_params = str(Path(lab.source).resolve()), lab.params
        options = {"no_limits": True, **(getattr(lab, "options", None) or {})}
        pending = None
    local = None
    vx_made: list[str] = []
    if split is not None:
        from . import split as sp
        if not isinstance(split[0], dict) or not isinstance(split[1], str):
            raise InputError("split: (plan document, host name, underlay namespace or None)")
        if split[2] is not None and split[2] not in nsutil.list_netns():
            raise InputError(f"underlay namespace '{split[2]}' does not exist; make it, or leave "
                             "--underlay-netns out to use this machine's own")
        if lab is not None:                  # checked before anything is built (else once loaded)
            local = _split_local(lab, split)
    core = names.switch_ns(name)
    me = os.getpid()
    st = {"schema": state.SCHEMA, "name": name, "lab": None, "runtime": RUNTIME, "source": source,
          "params": lab_params, "options": options, "status": "building",
          "owner": {"pid": me, "start_time": nsutil.proc_start_time(me)},
          "created": state.now(), "prefix": names.prefix(name), "namespaces": [], "routers": {}, "hosts": {},
          "switch": core, "bridges": [], "taps": [], "attach": [], "router_attach": [], "workers": [],
          "timings": {}, "probes": [], "check": None, "control_plane": "computed", "frr": None}
    nsapi._claim(name, None, None, st, progress)
    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, nsapi._sigterm)
    except ValueError:
        pass
    engine: subprocess.Popen | None = None
    sup = Supervisor(state.run_dir(name))
    try:
        t = time.monotonic()
        progress.step("engine workers")
        d = state.run_dir(name)
        spec = {"runtime": RUNTIME, "big_engine": True, "name": name, "source": source, "params": lab_params, "options": options,
                "workers": workers, "core": core, "pcap": {ln: True for ln in pcap or ()},
                "pcap_dir": str(d / "pcap"), "seed": seed}
        if split is not None:
            spec["split"] = {"host": split[1], "plan": split[0]}
            st["split"] = {"host": split[1], "underlay_netns": split[2], "vxlan": vx_made,
                           "plan_digest": sp.plan_digest(split[0])}
        if pcap:
            os.mkdir(d / "pcap", 0o700)
        state.write_json(d / "spec.json", spec)
        child = sup.start("worker", [sys.executable, "-m", state.WORKER_MARKER, str(d)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=LOG, log=d / "workers.log", log_mode="wb",
                          env=nsapi._child_env(), marker=str(d), index=0)
        engine = child.popen
        st["workers"] = [{"index": 0, "pid": engine.pid, "start_time": nsutil.proc_start_time(engine.pid),
                          "routers": [], "log": str(d / "workers.log")}]
        state.write_state(name, st)
        progress.done("engine workers", time.monotonic() - t, "started")
        if pending is not None:
            t = time.monotonic()
            progress.step("lab")
            lab = _load(*pending)
            _check_lab(lab, pcap)
            if split is not None:
                local = _split_local(lab, split)
            st["timings"]["lab"] = round(time.monotonic() - t, 4)
            progress.done("lab", st["timings"]["lab"], f"{len(lab.routers)} routers")
        plan, kports = make_plan(lab, name, local)
        routers = [r.name for r in lab.routers]
        mine = routers if local is None else [r for r in routers if r in local]
        parts = partition(mine, engine_workers(workers, len(mine)))
        st.update({"lab": lab.name, "namespaces": plan.namespaces, "routers": {r: core for r in mine},
                   "hosts": plan.hosts,
                   "bridges": [{"name": l.bridge, "namespace": core, "lan": l.name} for l in plan.lans],
                   "taps": [{"name": l.tap, "namespace": core, "lan": l.name} for l in plan.lans if l.tap],
                   "attach": plan.attach, "router_attach": plan.router_vps,
                   "probes": [{"from": p.source, "namespace": plan.hosts.get(p.source, core),
                               "targets": [str(t) for t in p.targets]} for p in lab.probes
                              if local is None or p.source in local],
                   "kernel_ports": sum(len(v) for v in kports.values())})
        st["workers"][0]["routers"] = parts[0]
        state.write_state(name, st)
        for label, fn in nsbuild.STEPS:
            t = time.monotonic()
            progress.step(label)
            fn(plan)
            st["timings"][label] = round(time.monotonic() - t, 4)
            progress.done(label, st["timings"][label], nsapi._detail(label, plan))
        if split is not None:
            from . import vxlan
            t = time.monotonic()
            progress.step("vxlan")
            state.write_state(name, st)              # the devices' names are recorded as they are made
            nvx = vxlan.create(split[0], split[1], core, split[2], vx_made)
            st["timings"]["vxlan"] = round(time.monotonic() - t, 4)
            state.write_state(name, st)
            progress.done("vxlan", st["timings"]["vxlan"], f"{nvx} cut links")
        t = time.monotonic()
        progress.step("engines")
        nsapi._engines_ready(name, engine, parts, progress, st)
        got = _read_engine(d)
        if got.get("fingerprint") != fingerprint(lab, routers) or got.get("workers") != len(parts):
            raise TestbedError(f"{source} changed while the lab was coming up (the engine loaded other routers, "
                               "addresses or MACs); bring it up again")
        st["timings"]["engines_wait"] = round(time.monotonic() - t, 4)
        progress.done("engines", st["timings"]["engines_wait"], f"{len(mine)} routers on {len(parts)} workers")
        t = time.monotonic()
        progress.step("forwarding")
        timeout = check_timeout if check_timeout is not None else 15.0 + len(routers) / 500.0
        res = check.check_forwarding(lab, {**plan.hosts, **{v["router"]: v["prober_namespace"]
                                                            for v in plan.router_vps}}, timeout) \
            if local is None else _check_local(lab, plan, local, timeout)
        return nsapi.forwarding_checked(name, st, res, timeout, t, t_start, progress, d)
    except BaseException as e:
        def drop_vxlan():
            if split is not None:
                from . import vxlan
                vxlan.remove(vx_made, split[2])
        nsapi.undo_up(name, sup, engine, progress, e, also=drop_vxlan)
        if isinstance(e, (TestbedError, KeyboardInterrupt, SystemExit)):
            raise
        raise TestbedError(f"bringing '{name}' up on the big-lab runtime failed: {type(e).__name__}: {e}") from e
    finally:
        nsapi.close_engine(engine, old_term)


def engine_workers(workers: int | None, routers: int) -> int:
    """How many engine processes a lab of `routers` runs on (`up` and the engine agree on it)."""
    return max(1, min(workers or default_workers(routers), max(1, routers)))


def _check_lab(lab, pcap):
    links = {link.name for link in lab.links}
    for ln in pcap or ():
        if ln not in links:
            raise TestbedError(f"lab '{lab.name}' has no link '{ln}' to capture; links: "
                               f"{', '.join(sorted(links)[:8])}{' ...' if len(links) > 8 else ''}")
    if getattr(lab, "control_plane", None) not in (None, "computed"):
        raise TestbedError(f"lab '{lab.name}': control plane '{lab.control_plane}' does not run on the big-lab "
                           "runtime, which computes its control plane (FRR needs a namespace per router: use the "
                           "netns runtime)")


def _read_engine(d: Path) -> dict:
    import json
    try:
        return json.loads((d / "engine.json").read_text())
    except (OSError, ValueError):
        return {}


def _split_local(lab, split) -> set:
    """Check a split plan against the lab (every problem, one line each); this host's nodes."""
    from . import split as sp
    problems = sp.check_plan(split[0], lab, "plan")
    if problems:
        raise LabError(problems)
    me = sp.host_of(split[0], split[1])
    from . import vxlan
    if not vxlan.has_address(split[2], me["underlay"]):
        where = f"namespace {split[2]}" if split[2] else "this machine"
        raise InputError(f"plan: host {split[1]}'s underlay address {me['underlay']} is not an address of {where}; "
                         "run with the --host this machine is in the plan, or split again with its address")
    return sp.local_nodes(lab, split[0], split[1])


def _edge_router(lab, node: str) -> str | None:
    """The router a node's packets enter the lab by: itself, or a host's first router peer."""
    n = lab.nodes.get(node)
    if n is None or n.is_router:
        return node
    return next((p.node for itf in n.interfaces for p in itf.peers() if lab.nodes[p.node].is_router), None)


class _LocalPaths:
    """Whether every shortest (IGP) path between two routers stays on this host's routers:
    a probe whose path crosses another host cannot be answered before that host is up."""

    def __init__(self, lab, local: set):
        from testbed.controlplane.compute import _neighbors
        self.nbrs, self.local, self.rev = _neighbors(lab), local, {}
        for r, lst in self.nbrs.items():
            for _, nb, _, c in lst:
                self.rev.setdefault(nb, []).append((r, c))

    def __call__(self, a: str | None, b: str | None) -> bool:
        import heapq
        if a is None or b is None:
            return False
        dist, heap = {b: 0}, [(0, b)]              # distances to b (Dijkstra on the reversed links)
        while heap:
            d, x = heapq.heappop(heap)
            if d > dist.get(x, d):
                continue
            for y, c in self.rev.get(x, ()):
                if d + c < dist.get(y, 1 << 62):
                    dist[y] = d + c
                    heapq.heappush(heap, (d + c, y))
        if a not in dist:
            return False
        seen, stack = {a}, [a]                    # every router on a shortest path a -> b
        while stack:
            x = stack.pop()
            if x not in self.local:
                return False
            for _, nb, _, c in self.nbrs.get(x, ()):
                if nb not in seen and nb in dist and c + dist[nb] == dist[x]:
                    seen.add(nb)
                    stack.append(nb)
        return True


def _check_local(lab, plan, local: set, timeout: float) -> dict:
    """A split host's forwarding check: the lab's probes whose source and target are both on
    this host and whose every shortest path stays on it (the others need the other hosts up);
    a lab host whose probes all cross another host pings its gateway (this host's engine)."""
    nss = {**plan.hosts, **{v["router"]: v["prober_namespace"] for v in plan.router_vps}}
    deadline = time.monotonic() + timeout
    pings, missing = [], []
    paths = _LocalPaths(lab, local)
    for src, targets in check.targets_of(lab):
        mine = [t for t in targets if src in nss and lab.owner_of(t) in local
                and paths(_edge_router(lab, src), _edge_router(lab, lab.owner_of(t)))]
        gw = lab.nodes[src].gateway if src in lab.nodes else None
        if not mine and src in plan.hosts and gw is not None:
            mine = [str(gw)]
        got = check.ping_from(nss[src], mine, deadline) if mine else {}
        for t in mine:
            (pings if t in got else missing).append({"from": src, "to": t, **({"rtt_ms": got[t]} if t in got else {})})
    checked = bool(pings or missing)
    return {"ok": checked and not missing, "checked": checked, "pings": pings, "missing": missing}


def down(name: str) -> dict:
    """The namespace runtime's `down`: recorded processes, the lab's namespaces, its run folder;
    for one host of a split lab also its VXLAN devices (those in the core namespace go with it;
    any left in the underlay namespace by a broken `up` are deleted by name)."""
    try:
        sp = (state.read_state(name) or {}).get("split")
    except Exception:
        sp = None
    out = nsapi.down(name)
    if isinstance(sp, dict) and sp.get("vxlan"):
        from . import vxlan
        vxlan.remove(list(sp["vxlan"]), sp.get("underlay_netns"))
    return out


def pcap_files(name: str) -> list[str]:
    d = state.run_dir(name) / "pcap"
    try:
        return sorted(str(p) for p in d.iterdir() if p.suffix == ".pcap")
    except OSError:
        return []
