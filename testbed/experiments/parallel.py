"""Many detector instances at once on a running lab (`testbed probe LAB --from all --parallel N`,
`--campaign FILE`).

Every instance is its own uTNT process with its own tap on its vantage point's LAN bridge, its
own address and MAC (testbed/runtimes/netns/instances.py), like one unikernel each. While it
runs the testbed measures, from outside the detector:
  - memory: peak PSS from /proc/PID/smaps_rollup, sampled every 20 ms from the spawn (0 when
    the process ended before a sample: a loaded machine), and peak RSS as the kernel counted it
    (wait4's ru_maxrss when the instance is reaped, never missed);
  - start to first probe: from the moment the process is started to the first IPv4 frame the
    switch namespace sees from the instance's MAC (a packet socket there, not uTNT's word).
Traces are scored per trace against the truth probe of the same vantage point and target.

A campaign file is vantage points x destinations x start times (seconds after the start):

    vantage_points: all            # or [vp1, vp3]
    destinations: [dst]            # node names or addresses
    start_times: [0, 0.5, 1.0]     # or {every: 0.5, count: 4}
"""
from __future__ import annotations

import json
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from testbed.errors import TestbedError
from testbed.targets import destination, probe_targets

ETH_P_ALL = 0x0003


# ---------------------------------------------------------------- what to run
@dataclass
class Entry:
    vp: str
    dst: str            # address
    start: float = 0.0  # seconds after the campaign starts


def vantage_points(lab, spec) -> list[str]:
    """'all', 'vp1,vp2' or a list: hosts that are vantage points (sources of the lab's probes,
    else every host on a LAN with an attachment point)."""
    hosts = [p.source for p in lab.probes]
    hosts = list(dict.fromkeys(hosts)) or [h.name for h in lab.hosts]
    if spec in (None, "all"):
        return hosts
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    for n in names:
        if n not in lab.nodes or lab.nodes[n].is_router:
            raise TestbedError(f"--from: '{n}' is not a host of {lab.name}; hosts: {', '.join(h.name for h in lab.hosts)}")
    return names


def run_timed(items, t0: float, start_of, claim, work, abort) -> None:
    """The event loop of campaigns and on-demand events: for each item in order, wait until
    t0 + start_of(item), `claim(item)` a place for it (a value, or None when the item is not to
    run: dropped), and run `work(item, place)` on a thread of its own; then wait for all of
    them. Any exception (Ctrl-C included) calls `abort()`, gives every thread 3 s to release
    its tap and lease, and is raised again."""
    threads = []
    try:
        for item in items:
            delay = t0 + start_of(item) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            place = claim(item)
            if place is None:
                continue
            t = threading.Thread(target=work, args=(item, place), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except BaseException:
        abort()
        for t in threads:
            t.join(3)
        raise


def entries_for(lab, source=None, dest=None, repeat: int = 1) -> list[Entry]:
    """Every vantage point x (its probes' targets, or --to), `repeat` times, all at t=0."""
    out = []
    for vp in vantage_points(lab, source):
        targets = [destination(lab, dest)] if dest is not None else probe_targets(lab, vp)
        out += [Entry(vp, t) for _ in range(repeat) for t in targets]
    return out


MAX_START_TIMES = 10_000        # start times of a campaign file
MAX_START_SECONDS = 86_400      # the latest start time (a day)
MAX_ENTRIES = 100_000           # traces of a campaign (start times x vantage points x destinations)


def load_campaign(lab, path: str) -> list[Entry]:
    """A campaign file through the input boundary (testbed.inputs): a regular UTF-8 file of
    at most LIMITS["campaign"] bytes, YAML with the lab loader's depth, alias and tag limits,
    strict types and bounds. Every problem is one line naming file, line and field (exit
    status 2); no value of the file is quoted back."""
    from testbed.inputs import LIMITS, InputProblem, read_text, safe_path_text
    from testbed.yamlpos import YamlProblem, line_of, load_with_lines
    text = read_text(path, LIMITS["campaign"], "campaign file")
    shown = safe_path_text(path)
    try:
        doc, lines = load_with_lines(text)
    except YamlProblem as e:
        raise InputProblem(shown, e.line, e.field or "yaml", str(e)) from None
    doc = {} if doc is None else doc

    def bad(key, msg, *more):
        raise InputProblem(shown, line_of(lines, (key, *more)) or 1, key, msg)
    if not isinstance(doc, dict):
        raise InputProblem(shown, 1, "", "a campaign is a mapping with vantage_points, destinations, start_times")
    unknown = set(doc) - {"vantage_points", "destinations", "start_times"}
    if unknown:
        k = sorted(unknown)[0]
        import difflib
        near = difflib.get_close_matches(str(k), ["vantage_points", "destinations", "start_times"], 1, 0.7)
        raise InputProblem(shown, line_of(lines, (k,)) or 1, "field", "unknown field"
                           + (f" (did you mean {near[0]}?)" if near else "")
                           + "; allowed: vantage_points, destinations, start_times")
    spec = doc.get("vantage_points", "all")
    if not (isinstance(spec, str) or isinstance(spec, list) and all(isinstance(x, str) for x in spec)):
        bad("vantage_points", "'all', a comma-separated string or a list of host names")
    try:
        vps = vantage_points(lab, spec)
    except TestbedError:
        bad("vantage_points", f"not all are hosts of {lab.name}; hosts: {', '.join(h.name for h in lab.hosts)}")
    dsts = doc.get("destinations")
    if not dsts or not isinstance(dsts, list) or not all(isinstance(d, str) and len(d) < 64 for d in dsts):
        bad("destinations", "a list of node names or IPv4 addresses is needed, e.g. [dst]")
    out = []
    for i, d in enumerate(dsts):
        try:
            out.append(destination(lab, d))
        except TestbedError:
            bad("destinations", f"item {i + 1} is neither a node of {lab.name} nor an IPv4 address", i)
    dsts = out
    st = doc.get("start_times", [0])

    def number(x) -> bool:
        import math
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    if isinstance(st, dict):
        if not set(st) <= {"every", "count"} or "every" not in st:
            bad("start_times", "{every: SECONDS, count: N} takes these two fields only")
        every, count = st["every"], st.get("count", 1)
        if not number(every) or not 0.001 <= every <= MAX_START_SECONDS:
            bad("start_times", f"every: a number of seconds from 0.001 to {MAX_START_SECONDS}", "every")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_START_TIMES:
            bad("start_times", f"count: a whole number from 1 to {MAX_START_TIMES}", "count")
        if every * (count - 1) > MAX_START_SECONDS:
            bad("start_times", f"every x count goes past {MAX_START_SECONDS} s; start the campaign later instead")
        st = [i * float(every) for i in range(count)]
    if not isinstance(st, list) or not st or len(st) > MAX_START_TIMES or \
            not all(number(x) and 0 <= x <= MAX_START_SECONDS for x in st):
        bad("start_times", f"a list of at most {MAX_START_TIMES} numbers of seconds from 0 to {MAX_START_SECONDS} "
            "(e.g. [0, 0.5]) or {every: 0.5, count: 4}")
    if len(st) * len(vps) * len(dsts) > MAX_ENTRIES:
        bad("start_times", f"{len(st)} start times x {len(vps)} vantage points x {len(dsts)} destinations is more "
            f"than {MAX_ENTRIES} traces; run fewer or split the campaign")
    return [Entry(vp, d, float(t)) for t in st for vp in vps for d in dsts]


# ---------------------------------------------------------------- measuring
def pss_kb(pid: int) -> tuple[int, int] | None:
    """(Pss, Rss) in kB from /proc/PID/smaps_rollup, None once the process is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        return None
    vals = {}
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) >= 2 and parts[0] in ("Pss:", "Rss:"):
            vals[parts[0][:-1]] = int(parts[1])
    return (vals.get("Pss", 0), vals.get("Rss", 0)) if vals else None


class MemoryWatch:
    """Peak PSS/RSS of registered PIDs, sampled every `period` seconds in a thread."""

    def __init__(self, period: float = 0.02):
        self.period = period
        self.peaks: dict[int, list[int]] = {}
        self._live: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def add(self, pid: int):
        with self._lock:
            self._live.add(pid)
            self.peaks.setdefault(pid, [0, 0])
        self._sample(pid)

    def remove(self, pid: int) -> tuple[int, int]:
        with self._lock:
            self._live.discard(pid)
            return tuple(self.peaks.get(pid, [0, 0]))

    def _sample(self, pid):
        v = pss_kb(pid)
        if v:
            with self._lock:
                p = self.peaks.setdefault(pid, [0, 0])
                p[0], p[1] = max(p[0], v[0]), max(p[1], v[1])

    def _run(self):
        while not self._stop.wait(self.period):
            with self._lock:
                pids = list(self._live)
            for pid in pids:
                self._sample(pid)

    def close(self):
        self._stop.set()
        self._t.join(1)


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)     # Linux's value (and its SCM type); Python lacks the name


class FirstFrameWatch:
    """The first IPv4 frame from each watched MAC, seen by a packet socket in the switch
    namespace (every bridge port there): when an instance sent its first probe."""

    def __init__(self, namespace: str):
        from testbed.runtimes.netns.nsutil import netns
        self.first: dict[bytes, float] = {}
        self._want: set[bytes] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        with netns(namespace):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        # the kernel stamps each frame when it arrives: a busy watcher reads it later
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def watch(self, mac: str):
        """Start watching mac afresh (a released lease's address, and so its MAC, is reused)."""
        b = bytes.fromhex(mac.replace(":", ""))
        with self._lock:
            self._want.add(b)
            self.first.pop(b, None)

    def first_ipv4(self, mac: str, settle: float = 1.0) -> float | None:
        """When the first IPv4 frame from mac was seen; asked once its instance has ended, the
        watcher may still have that frame in its socket's queue (a busy machine, a quick
        instance): wait up to `settle` seconds for it."""
        key = bytes.fromhex(mac.replace(":", ""))
        deadline = time.monotonic() + settle
        while True:
            with self._lock:
                t = self.first.get(key)
            if t is not None or time.monotonic() >= deadline or not self._t.is_alive():
                return t
            time.sleep(0.01)

    def _run(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            while True:
                try:
                    f, anc, _, _ = self.sock.recvmsg(2048, 64, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    return
                t = time.monotonic()
                for level, kind, data in anc:       # its arrival, on the monotonic clock
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                        sec, nsec = struct.unpack("qq", data[:16])
                        t -= max(0.0, time.time() - (sec + nsec / 1e9))
                if len(f) >= 14 and f[12:14] == b"\x08\x00":
                    src = f[6:12]
                    with self._lock:
                        if src in self._want and src not in self.first:
                            self.first[src] = t

    def close(self):
        self._stop.set()
        self._t.join(1)
        self.sock.close()


class LabHealth:
    """The lab's health (every engine worker and namespace there, the FRR sync) checked every
    `period` seconds while instances run, and once more at the end (the health check after
    probing). `last_ok`: the last moment (monotonic) it was seen healthy; a trace that ended
    after it cannot be vouched for once a check failed. `problem`: the first failure, in one line."""

    def __init__(self, name: str, period: float = 0.2):
        self.name, self.period = name, period
        self.last_ok = time.monotonic()
        self.problem: str | None = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def check(self) -> bool:
        from testbed.runtimes.netns import api
        if self.problem is not None:
            return False
        t = time.monotonic()
        try:
            api.require_healthy(self.name)
        except (TestbedError, OSError, ValueError) as e:     # a lab whose records vanish is not healthy either
            self.problem = str(e) if isinstance(e, TestbedError) else f"lab '{self.name}': {e}"
            return False
        self.last_ok = t
        return True

    def _run(self):
        while not self._stop.wait(self.period) and self.check():
            pass

    def close(self) -> bool:
        self._stop.set()
        self._t.join(2)
        return self.check()


def vouch(results: list["Result"], health: LabHealth, t0: float):
    """Mark every completed instance that ended after the lab was last seen healthy: its
    traces (silent hops of a dead engine worker look like a real miss) are not scored."""
    if health.problem is None:
        return
    for r in results:
        if r.error is None and t0 + r.ended > health.last_ok:
            r.extra["unvouched"] = health.problem


# ---------------------------------------------------------------- one instance
@dataclass
class Result:
    vp: str
    dst: str
    start: float                 # planned, seconds after t0
    started: float = 0.0         # actual, seconds after t0
    ended: float = 0.0
    address: str | None = None
    mac: str | None = None
    tap: str | None = None
    first_probe_s: float | None = None
    pss_kb: int = 0
    rss_kb: int = 0
    runtime: str = "utnt-process"
    traces: list = field(default_factory=list)
    error: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in ("vp", "dst", "start", "started", "ended", "address", "mac", "tap",
                                            "first_probe_s", "pss_kb", "rss_kb", "runtime", "error")}
        d["seconds"] = round(self.ended - self.started, 4)
        d.update(self.extra)
        return d


class Instances:
    """Runs uTNT processes on leased taps of one running lab; measures and collects them."""

    def __init__(self, lab, name: str, extra: list[str] | None = None):
        from testbed.runtimes.netns import api
        self.lab, self.name, self.extra = lab, name, list(extra or [])
        st = api.status(name)
        if st.get("status") != "up":
            raise TestbedError(f"lab '{name}' is not up (status {st.get('status')}); "
                               f"run `testbed up {lab.name}{' --name ' + name if name != lab.name else ''}` first")
        self.namespace = st["switch"]
        self.mem = MemoryWatch()
        self.frames = FirstFrameWatch(self.namespace)
        from testbed.runtimes.netns.state import supervisor
        self.sup = supervisor(name)           # each uTNT recorded in the lab's run folder
        self._procs: dict = {}                # pid: supervisor Child
        self._lock = threading.Lock()
        self._aborted = threading.Event()     # set by stop_all: no instance starts after it
        self._lease_lock = threading.Lock()
        self._leased: set[str] = set()        # addresses this run's instances took (not reused while others are free)
        self.t0 = time.monotonic()

    def run_utnt(self, e: Entry, det=None) -> Result:
        """One instance on a leased tap of e.vp's LAN: uTNT, or the on_tap detector det
        (testbed.detectors.registry: its tap_argv, its output read by its parse)."""
        from testbed.runtimes.netns.instances import lease_instance, release_instance
        res = Result(e.vp, e.dst, e.start)
        lease = None
        try:
            # one lease at a time: an instance that took its snapshot of the addresses in use
            # before another's lease was added could be handed that address once the other's
            # instance had ended (seen at load: 19 addresses for 20 instances)
            with self._lease_lock:
                with self._lock:
                    taken = frozenset(self._leased)
                lease = lease_instance(self.lab, self.name, e.vp, avoid=taken)
                with self._lock:
                    self._leased.add(lease["address"])
            if self._aborted.is_set():
                raise TestbedError("interrupted before this instance started")
            res.address, res.mac, res.tap = lease["address"], lease["mac"], lease["tap"]
            self.frames.watch(lease["mac"])
            stdin = None
            if det is None:
                cmd = ["ip", "netns", "exec", lease["namespace"], sys.executable, "-m", "utnt.cli",
                       "--tap", lease["tap"], "--ip", f"{lease['address']}/{lease['prefixlen']}",
                       "--gw", lease["gateway"], "--mac", lease["mac"], "-i", e.dst, "--json", *self.extra]
            else:
                argv, stdin = det.tap_argv(lease, [e.dst], self.extra, None)
                cmd = ["ip", "netns", "exec", lease["namespace"], *argv]
            maxrss = None
            t_start = time.monotonic()
            res.started = t_start - self.t0
            child = self.sup.start("detector", cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, tie=True,
                                   group=True, cwd=None, what="utnt" if det is None else det.name, vantage_point=e.vp,
                                   namespace=lease["namespace"], on_spawn=self.mem.add)
            p = child.popen
            with self._lock:
                self._procs[p.pid] = child
                if self._aborted.is_set():         # stop_all ran while this one started
                    p.terminate()
            try:
                from testbed.runtimes.netns.supervisor import OUTPUT_LIMIT, _communicate, reap_rusage
                try:
                    out, err = _communicate(p, stdin.encode() if stdin is not None else None, None, OUTPUT_LIMIT,
                                            cmd, reap=False)
                except TestbedError:
                    self.sup.stop([child], wait=1.0)
                    raise
                maxrss = reap_rusage(p)
                out, err = out.decode(errors="replace"), err.decode(errors="replace")
            finally:
                res.pss_kb, res.rss_kb = self.mem.remove(p.pid)
                if maxrss:                 # the kernel's peak, exact; the sampler may have missed the peak
                    res.rss_kb = maxrss
                with self._lock:
                    self._procs.pop(p.pid, None)
                for f in (p.stdout, p.stderr):
                    f.close()
                if p.poll() is not None:
                    self.sup.forget(child)
            res.ended = time.monotonic() - self.t0
            ff = self.frames.first_ipv4(lease["mac"])
            res.first_probe_s = round(ff - t_start, 4) if ff is not None else None
            if p.returncode != 0:
                res.error = (err or out).strip().splitlines()[-1] if (err or out).strip() else f"status {p.returncode}"
            elif det is None:
                res.traces = json.loads(out)["traces"]
            else:
                res.traces = det.parse(out, f"output of {det.name}")
        except (TestbedError, OSError, ValueError, KeyError, TypeError) as ex:
            # a lease that cannot be written (full disk), output that is not uTNT's JSON: this
            # instance failed, and says why (never a thread that dies and a result that vanishes)
            res.error = str(ex) if isinstance(ex, TestbedError) else f"{type(ex).__name__}: {ex}"
            res.ended = time.monotonic() - self.t0
        finally:
            if lease is not None:
                release_instance(self.name, lease)
        return res

    def stop_all(self):
        """Ctrl-C or failure: stop every instance still running, by its PID; none starts after."""
        self._aborted.set()
        with self._lock:
            kids = list(self._procs.values())
        self.sup.stop(kids, wait=2.0)
        for c in kids:
            try:
                c.popen.wait(1)
            except subprocess.TimeoutExpired:
                pass

    def release_own(self):
        """Release every lease this process still holds (a thread that did not reach its own
        release within run_timed's grace: its uTNT was stopped by stop_all)."""
        from testbed.runtimes.netns.instances import release_leases_of
        release_leases_of(self.name, os.getpid())

    def close(self):
        self.mem.close()
        self.frames.close()


def run_campaign(lab, name: str, entries: list[Entry], parallel: int = 1, extra=None, progress=None,
                 health: dict | None = None) -> list[Result]:
    """Run every entry at its start time, at most `parallel` at once (later entries wait for a
    free slot: nothing is dropped here; `testbed ondemand` drops). The lab's health is watched
    meanwhile (LabHealth): instances that ended after it was last seen healthy are marked
    "unvouched" in their extra, and `health` (a dict given) gets the problem, or None."""
    if parallel < 1:
        raise TestbedError("--parallel must be >= 1")
    from testbed.detectors.utnt import utnt_args
    utnt_args(extra)
    inst = Instances(lab, name, extra)
    health_out, health = health, LabHealth(name)
    slots = threading.Semaphore(parallel)
    results: list[Result | None] = [None] * len(entries)

    def go(i, _slot):
        e = entries[i]
        try:
            try:
                results[i] = inst.run_utnt(e)
            except Exception as ex:                 # noqa: BLE001 -- reported as this instance's failure
                results[i] = Result(e.vp, e.dst, e.start, error=f"{type(ex).__name__}: {ex}")
            if progress:
                r = results[i]
                progress(f"{e.vp} -> {e.dst} on {r.tap} ({r.address}): "
                         + (f"error: {r.error}" if r.error else f"{r.ended - r.started:.2f} s"))
        finally:
            slots.release()
    try:
        run_timed(sorted(range(len(entries)), key=lambda i: entries[i].start), inst.t0,
                  lambda i: entries[i].start, lambda i: slots.acquire(), go, inst.stop_all)
    except BaseException:
        inst.release_own()
        raise
    finally:
        inst.close()
        health.close()
    out = [r if r is not None else Result(entries[i].vp, entries[i].dst, entries[i].start,
                                          error="the instance never reported") for i, r in enumerate(results)]
    vouch(out, health, inst.t0)
    if health_out is not None:
        health_out["problem"] = health.problem
    return out


# ---------------------------------------------------------------- scoring
def truth_for(truth: dict, vp: str, dst: str) -> dict | None:
    for p in truth["probes"]:
        if p["from"] == vp and p["to"] == dst:
            return p
    return None


def score_results(lab, truth: dict, results: list[Result]) -> dict:
    """Per trace: the truth probe of the same vantage point and target (an instance's own
    address is not the vantage point's, so the source is the instance's host)."""
    from collections import Counter

    from testbed.scoring.score import COUNTS, score_trace
    total = Counter({k: 0 for k in COUNTS})
    for r in results:
        if r.extra.get("unvouched"):
            r.extra["score"] = None
            continue
        for tr in r.traces:
            tp = truth_for(truth, r.vp, tr["dst"])
            if tp is None:
                r.extra["score"] = None
                continue
            s = score_trace(lab, tp, tr)
            r.extra["score"] = s["counts"]
            r.extra["verdicts"] = [v["verdict"] for v in s["verdicts"]]
            total.update(s["counts"])
    t = dict(total)
    t["perfect"] = bool(results) and all(r.error is None and not r.extra.get("unvouched") for r in results) and \
        t["detected"] == t["present"] == t["class_correct"] == t["ingress_correct"] == t["egress_correct"] \
        and t["lsrs_found"] == t["lsrs_present"] and t["false_tunnels"] == 0 and t["false_lsrs"] == 0
    return t


def canonical(trace: dict) -> dict:
    """What must not depend on how many instances run at once: every hop (address, TTLs,
    labels, tags) and every tunnel; not the RTTs, not the instance's own address."""
    hops = [(h["address"], h["probe_ttl"], h["reply_ttl"], h["quoted_ttl"], h["er_ttl"],
             tuple((x["label"], x["ttl"]) for x in h["labels"]), h["revealed"],
             None if h["mpls"] is None else (h["mpls"]["class"], h["mpls"]["role"], h["mpls"]["trigger"],
                                             h["mpls"]["technique"])) for h in trace["hops"]]
    tunnels = [(t["class"], t["ingress"], t["egress"], tuple(t["lsrs"]), t["trigger"], t["technique"])
               for t in trace["tunnels"]]
    return {"dst": trace["dst"], "stop_reason": trace["stop_reason"], "hops": hops, "tunnels": tunnels}


def summary(results: list[Result]) -> dict:
    def med(xs):
        xs = [x for x in xs if x is not None]
        return round(statistics.median(xs), 4) if xs else None
    ok = [r for r in results if r.error is None and not r.extra.get("unvouched")]
    span = (max(r.ended for r in results) - min(r.started for r in results)) if results else 0.0
    bad = [r for r in results if r.error is None and r.extra.get("unvouched")]
    return {"instances": len(results), "completed": len(ok), "failed": len(results) - len(ok) - len(bad),
            "unvouched": len(bad),
            "median_pss_kb": med([r.pss_kb for r in ok]), "median_rss_kb": med([r.rss_kb for r in ok]),
            "median_first_probe_s": med([r.first_probe_s for r in ok]),
            "median_seconds": med([r.ended - r.started for r in ok]), "wall_seconds": round(span, 3)}


def probe_many(lab, name: str, entries: list[Entry], parallel: int, extra=None, progress=None) -> dict:
    from testbed.controlplane import build
    from testbed.truth import ground_truth
    truth = ground_truth(build(lab))
    health = {}
    results = run_campaign(lab, name, entries, parallel, extra, progress, health=health)
    score = score_results(lab, truth, results)
    unvouched = [{"vp": r.vp, "dst": r.dst, "address": r.address, "why": r.extra["unvouched"]}
                 for r in results if r.extra.get("unvouched")]
    return {"format": "utnt", "version": 1, "lab": lab.name, "name": name, "runtime": "netns",
            "parallel": parallel, "summary": summary(results), "score": score,
            "health": {"ok": health["problem"] is None, "problem": health["problem"]},
            "unvouched": unvouched, "ok": not unvouched and health["problem"] is None and
            bool(results) and all(r.error is None for r in results),
            "instances": [r.to_json() for r in results],
            "traces": [tr for r in results if not r.extra.get("unvouched") for tr in r.traces],
            "unvouched_traces": [tr for r in results if r.extra.get("unvouched") for tr in r.traces]}


def print_many(doc: dict, out=sys.stdout):
    from utnt.jsonload import dump_text_json
    out.write(dump_text_json(doc["traces"]))
    out.write("\n  instance  vantage point -> destination   address          first probe   run      PSS      verdict\n")
    for i, r in enumerate(doc["instances"], 1):
        v = r.get("error") or ("NOT SCORED: the lab was not healthy" if r.get("unvouched") else
                               ", ".join(r.get("verdicts") or ["no truth"]))
        fp = f"{r['first_probe_s'] * 1000:7.0f} ms" if r["first_probe_s"] is not None else "      -   "
        out.write(f"  {i:8d}  {r['vp']:>13s} -> {r['dst']:15s} {r['address'] or '-':15s}  {fp}  "
                  f"{r['seconds']:5.2f} s  {r['pss_kb'] / 1024:5.1f} MB  {v}\n")
    s = doc["summary"]
    fp = f"{s['median_first_probe_s'] * 1000:.0f} ms" if s["median_first_probe_s"] is not None else "-"
    pss = f"{s['median_pss_kb'] / 1024:.1f} MB" if s["median_pss_kb"] is not None else "-"
    out.write(f"{s['completed']}/{s['instances']} instances completed, {doc['parallel']} at once, in "
              f"{s['wall_seconds']:.2f} s; median PSS {pss} per instance, median start to first probe {fp}; "
              f"{'perfect score' if doc['score']['perfect'] else 'score: ' + json.dumps(doc['score'])}\n")
    if doc.get("health") and not doc["health"]["ok"]:
        out.write(f"FAILED: {doc['health']['problem']}\n")
    if doc.get("unvouched"):
        out.write(f"{len(doc['unvouched'])} traces ended after the lab was last seen healthy: not scored "
                  "(their silent hops may be the lab's, not the network's): "
                  + ", ".join(f"{u['vp']}->{u['dst']}" for u in doc["unvouched"][:20])
                  + (" ..." if len(doc["unvouched"]) > 20 else "") + "\n")
    if s["failed"]:
        out.write(f"{s['failed']} of {s['instances']} instances failed\n")
