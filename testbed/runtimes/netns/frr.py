"""The FRR control plane of the namespace runtime (`control_plane: frr`, `--control-plane frr`).

In every router namespace, Debian's FRR (zebra, ospfd, and ldpd for MPLS routers) runs with
the configs rendered from router-configs/ (testbed.frr.render), and the engine workers take
their FIB and LFIB from it instead of computing them. What changes in a router namespace:

  kernel   every interface gets its address, the loopback /32 sits on `lo`; offloads off
           (finished checksums, no super-frames: the engine forwards the kernel's TCP); forwarding
           stays off (the engine forwards); ARP answers only for the interface's own address
           (arp_ignore 1, arp_announce 2), as the engine does; an nftables table lets the
           kernel send only the control plane (OSPF, LDP on port 646): kernel ICMP (echo
           replies, time exceeded, unreachables, ...) and TCP resets never leave, so every
           reply a prober sees is the engine's, with its vendor's TTLs and extensions.
  engine   ignores what the kernel talks: OSPF and LDP go to multicast MACs (dropped) or to
           the router's own addresses (IP protocol 89 and TCP are not answered).
  FRR      per router a directory RUN_DIR/frr/<router>/ (owned by frr:frr) with the configs,
           the logs (<daemon>.log, and <daemon>.out for what a daemon prints before it
           detaches), pid files, zserv.api, the vty sockets and ldpd's control socket.
           Daemons start with `ip netns exec NS /usr/lib/frr/<daemon> -d ... -P 0` (no TCP
           vty): zebra, then ospfd everywhere, then ldpd in each MPLS router once OSPF gave
           it a route to its LDP neighbours' loopbacks (see Convergence). The launched
           process, then the daemon it became and ldpd's two helper processes (found by the
           session of the launched process) are recorded with the lab's Supervisor (role
           "frr") and in state.json: `down` stops exactly those, and a daemon only its pid
           file names (its `up` was killed before recording it: record_unrecorded).

`up` then waits for convergence (wait_converged): OSPF Full on every router adjacency,
LDP OPERATIONAL with every same-domain neighbour, and the tables read from FRR equal to the
computed control plane (testbed.controlplane.frr.compare: FIB, LDP bindings, LFIB). While
it waits, FRR's tables as they are go to the engine every couple of seconds (a kernel's LDP
session to a neighbour's loopback may lead through a third router, which only its engine
forwards); the converged tables go to RUN_DIR/tables.json (write_tables); a sync process (frrsync.py) keeps polling
FRR and rewrites the file when FRR's state changes; the workers reload it (workers.py).
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from ipaddress import IPv4Interface
from pathlib import Path

from testbed.errors import TestbedError
from testbed.inputs import record_json

from . import nsutil, state
from .rtnl import Rtnl
from .supervisor import LOG, Supervisor

FRR_BIN = Path("/usr/lib/frr")
FRR_USER = "frr"
DAEMONS = ("zebra", "ospfd", "ldpd")
LAUNCH_TIMEOUT = 20.0
NFT_TABLE = "utnt_lab"
# kernel ARP like the engine's: answer only for the receiving interface's address, and ask
# with it as the sender address
FRR_ROUTER_SYSCTLS = (("net.ipv4.conf.all.arp_ignore", 1), ("net.ipv4.conf.default.arp_ignore", 1),
                      ("net.ipv4.conf.all.arp_announce", 2), ("net.ipv4.conf.default.arp_announce", 2))
NFT_RULES = f"""table ip {NFT_TABLE} {{
  chain output {{
    type filter hook output priority filter; policy accept;
    oifname "lo" accept
    ip protocol ospf accept
    udp dport 646 accept
    tcp dport 646 accept
    tcp sport 646 accept
    ip protocol icmp counter drop comment "kernel-icmp"
    counter drop comment "kernel-other"
  }}
}}
"""
# seconds without any change in FRR's tables after which a lab whose OSPF and LDP are
# complete but whose tables still differ from the computed ones is taken as converged (to
# something else: the differences are reported)
STABLE_SECONDS = 10.0
POLL_INTERVAL = 0.5
# while converging, FRR's tables as they are go to the engine at most this often (Convergence.publish_partial)
PUBLISH_EVERY = 2.0

# tests: called as CONFIG_HOOK(lab, router, directory) after the configs are rendered and
# before any daemon starts (to break a router's config on purpose)
CONFIG_HOOK = None


# ---------------------------------------------------------------- paths
def frr_root(name: str) -> Path:
    return state.run_dir(name) / "frr"


def router_dir(name: str, router: str) -> Path:
    return frr_root(name) / router


def tables_path(name: str) -> Path:
    return state.run_dir(name) / "tables.json"


def daemons_of(node) -> list[str]:
    return ["zebra", "ospfd"] + (["ldpd"] if node.domain is not None else [])


def default_converge_timeout(lab) -> float:
    return 90.0 + len(lab.routers) / 2.0


def require():
    """Fail early, with the fix, when FRR or nft is missing."""
    missing = [str(FRR_BIN / d) for d in DAEMONS if not (FRR_BIN / d).exists()]
    if missing:
        raise TestbedError(f"the FRR control plane needs Debian's frr package ({', '.join(missing)} missing); "
                           "install it with `apt-get install --no-install-recommends frr` (make bootstrap does)")
    if shutil.which("nft") is None:
        raise TestbedError("the FRR control plane needs nft (Debian package nftables; make bootstrap installs it)")
    try:
        pwd.getpwnam(FRR_USER)
    except KeyError:
        raise TestbedError(f"user '{FRR_USER}' does not exist; reinstall Debian's frr package") from None


# ---------------------------------------------------------------- kernel side
def configure_kernel(lab, plan):
    """Addresses, ARP sysctls, offloads off and the nftables output filter in every router
    namespace.

    Offloads off (nsutil.disable_offloads, as on hosts): an LDP session to a neighbour's
    loopback may lead through a third router, whose engine forwards the kernel's TCP
    segments as it got them; with TX checksum offload on, veth hands the engine a partial
    TCP checksum, the far kernel drops the segment, and the session never opens (measured
    on the imported AT&T lab, whose cmbr-phla and ny54-wash have an equal-cost two-hop
    path: `tcpdump -vv` in cmbr showed `cksum ... (incorrect)`); with TSO, a burst of label
    mappings would reach the engine as one frame larger than the link."""
    with nsutil.NsWalker() as w:
        for r in lab.routers:
            ns = plan.routers[r.name]
            w.enter(ns)
            for k, v in FRR_ROUTER_SYSCTLS:
                nsutil.write_sysctl(k, v)
            nsutil.set_up(["lo"])
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    for i in r.interfaces:
                        nsutil.disable_offloads(i.name, s)
            except OSError as e:
                raise TestbedError(f"router {r.name} ({ns}): {e.strerror or e}") from None
            with Rtnl() as nl:
                if r.loopback is not None:
                    nl.add_address("lo", IPv4Interface(f"{r.loopback}/32"))
                for i in r.interfaces:
                    nl.add_address(i.name, i.address)
            # a child forked here starts in this thread's namespace
            res = subprocess.run(["nft", "-f", "-"], input=NFT_RULES, capture_output=True, text=True)
            if res.returncode != 0:
                raise TestbedError(f"nft failed in {ns}: {res.stderr.strip()[-300:]}")


def nft_counters(ns: str) -> dict[str, int]:
    """Packets dropped by the output filter of a router namespace: {comment: packets}."""
    r = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", NFT_TABLE],
                       capture_output=True, text=True)
    out = {}
    if r.returncode != 0:
        return out
    for item in json.loads(r.stdout).get("nftables", []):
        rule = item.get("rule")
        if not rule or "comment" not in rule:
            continue
        for e in rule.get("expr", []):
            if "counter" in e:
                out[rule["comment"]] = e["counter"]["packets"]
    return out


# ---------------------------------------------------------------- configs and daemons
def render(lab, name: str) -> Path:
    """Render every router's configs into RUN_DIR/frr/<router>/, owned by frr:frr."""
    from testbed.frr.render import render_lab
    root = frr_root(name)
    root.mkdir(parents=True, exist_ok=True)
    render_lab(lab, root, log_dir=root)
    pw = pwd.getpwnam(FRR_USER)
    for r in lab.routers:
        d = root / r.name
        for p in [d] + sorted(d.iterdir()):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        if CONFIG_HOOK is not None:
            CONFIG_HOOK(lab, r.name, d)
    return root


def _argv(ns: str, daemon: str, d: Path) -> list[str]:
    argv = ["ip", "netns", "exec", ns, str(FRR_BIN / daemon), "-d", "-f", str(d / f"{daemon}.conf"),
            "-i", str(d / f"{daemon}.pid"), "-z", str(d / "zserv.api"), "--vty_socket", str(d), "-P", "0",
            "-u", FRR_USER, "-g", FRR_USER]
    if daemon == "ldpd":
        argv += ["--ctl_socket", str(d)]
    return argv


def log_tail(path: Path, n: int = 3) -> list[str]:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines[-n:]]


def _sessions() -> dict[int, list[int]]:
    """session id -> PIDs of live FRR processes (one /proc scan)."""
    out: dict[int, list[int]] = {}
    prefix = str(FRR_BIN) + "/"
    for pid, rest in nsutil.live_processes():
        cmd = nsutil.proc_cmdline(pid)
        if cmd and cmd[0].startswith(prefix):
            out.setdefault(int(rest[3]), []).append(pid)
    return out


def start_daemons(lab, name: str, plan, st: dict, progress=None, daemons=DAEMONS,
                  routers: list[str] | None = None, sup: Supervisor | None = None) -> list[dict]:
    """Start the routers' daemons (all routers, or those named), one kind at a time (zebra
    first: the others connect to its zserv.api, and a client that finds no zebra retries
    only 10 s later). The supervisor records each launched process as it starts, then the
    daemon and its helpers (and forgets the launcher once it has detached); each record also
    goes into st["frr"]["daemons"] (and state.json), for `status`."""
    sup = sup or Supervisor(state.run_dir(name))
    recs = st["frr"]["daemons"]
    for daemon in daemons:
        batch = []
        for r in lab.routers:
            if daemon not in daemons_of(r) or (routers is not None and r.name not in routers):
                continue
            d = router_dir(name, r.name)
            (d / f"{daemon}.pid").unlink(missing_ok=True)
            launcher = sup.start("frr", _argv(plan.routers[r.name], daemon, d), stdout=LOG, stderr=LOG,
                                 log=d / f"{daemon}.out", log_mode="wb", cwd=str(d), marker=str(d) + "/",
                                 router=r.name, daemon=daemon, launcher=True)
            rec = {"router": r.name, "daemon": daemon, "pid": None, "start_time": None, "launcher": launcher.pid,
                   "launcher_start": launcher.start_time, "children": [], "dir": str(d),
                   "log": str(d / f"{daemon}.log")}
            recs.append(rec)
            batch.append((rec, launcher))
        state.write_state(name, st)
        deadline = time.monotonic() + LAUNCH_TIMEOUT
        for rec, launcher in batch:
            try:
                rc = launcher.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise TestbedError(f"{rec['router']}: {daemon} did not detach within {LAUNCH_TIMEOUT:.0f} s "
                                   f"({rec['dir']}/{daemon}.out)") from None
            if rc != 0:
                tail = log_tail(Path(rec["dir"]) / f"{daemon}.out") or log_tail(Path(rec["log"]))
                raise TestbedError(f"{rec['router']}: {daemon} failed to start (status {rc}): "
                                   + (" | ".join(tail) or "no output"))
        for rec, _ in batch:
            pidfile = Path(rec["dir"]) / f"{daemon}.pid"
            while True:
                try:
                    pid = int(pidfile.read_text().strip())
                    start = nsutil.proc_start_time(pid)
                    if start is not None:
                        break
                except (OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise TestbedError(f"{rec['router']}: {daemon} wrote no pid file ({pidfile}): "
                                       + (" | ".join(log_tail(Path(rec["log"]))) or "no log"))
                time.sleep(0.02)
            rec["pid"], rec["start_time"] = pid, start
            sup.adopt("frr", pid, start, marker=rec["dir"] + "/", router=rec["router"], daemon=daemon)
        if daemon == "ldpd":
            # ldpd forks its label distribution and LDP engine processes before it detaches:
            # they keep the session of the launched process
            sess = _sessions()
            for rec, _ in batch:
                rec["children"] = [{"pid": c, "start_time": nsutil.proc_start_time(c)}
                                   for c in sess.get(rec["launcher"], []) if c != rec["pid"]]
                for c in rec["children"]:
                    sup.adopt("frr", c["pid"], c["start_time"], marker=str(FRR_BIN) + "/", router=rec["router"],
                              daemon="ldpd", helper=True)
        for _rec, launcher in batch:
            sup.forget(launcher)          # it exited once its daemon detached
        if daemon == "zebra":
            for rec, _ in batch:
                sock = Path(rec["dir"]) / "zserv.api"
                while not sock.exists():
                    if time.monotonic() > deadline:
                        raise TestbedError(f"{rec['router']}: zebra opened no {sock}: "
                                           + (" | ".join(log_tail(Path(rec["log"]))) or "no log"))
                    time.sleep(0.02)
        state.write_state(name, st)
        if progress and batch:
            progress.note(f"started {daemon} in " + (f"{len(batch)} routers" if len(batch) > 3 else
                                                     ", ".join(rec["router"] for rec, _ in batch)))
    return recs


def record_unrecorded(sup: Supervisor, name: str) -> list[int]:
    """Record the FRR processes of lab `name` that the supervisor does not know yet, so `down`
    stops them too: a daemon whose pid file in RUN_DIR/frr/<router>/ names it (its `up` was
    killed between the daemon's start and its record), and what a recorded launcher forked
    that kept its session (ldpd's helpers). Each is a PID written in the run folder (by the
    daemon itself, or as a launcher's); it is recorded only while its command line still
    names that router's folder (or FRR's binaries, for a helper)."""
    known = {c.pid for c in sup.children("frr")}
    launchers = {c.pid: c.info.get("router") for c in sup.children("frr") if c.info.get("launcher")}
    added = []
    root = frr_root(name)
    if root.is_dir():
        for pidfile in root.glob("*/*.pid"):
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
            if pid not in known and pid > 1 and pid != os.getpid() and \
                    nsutil.same_process(pid, None, str(pidfile.parent) + "/"):
                sup.adopt("frr", pid, marker=str(pidfile.parent) + "/", router=pidfile.parent.name,
                          daemon=pidfile.stem, from_pid_file=True)
                known.add(pid)
                added.append(pid)
    if launchers:
        for sid, pids in _sessions().items():
            if sid in launchers:
                for pid in pids:
                    if pid not in known and pid != os.getpid():
                        sup.adopt("frr", pid, marker=str(FRR_BIN) + "/", router=launchers[sid], helper=True)
                        known.add(pid)
                        added.append(pid)
    return added


def recorded_pids(st: dict) -> list[tuple[int, int | None]]:
    """(pid, start time) of every FRR process recorded in a lab's state."""
    out = []
    for rec in ((st or {}).get("frr") or {}).get("daemons", []):
        if rec.get("pid"):
            out.append((rec["pid"], rec.get("start_time")))
        out += [(c["pid"], c.get("start_time")) for c in rec.get("children", [])]
    return out


def daemon_health(st: dict) -> list[dict]:
    return [{"router": r["router"], "daemon": r["daemon"], "pid": r.get("pid"),
             "alive": bool(r.get("pid")) and nsutil.same_process(r["pid"], r.get("start_time"))}
            for r in ((st or {}).get("frr") or {}).get("daemons", [])]


# ---------------------------------------------------------------- reading FRR
class Reader:
    """Polls every router's daemons over their vty sockets and turns what they say into
    tables (testbed.controlplane.frr), keeping one connection per daemon."""

    def __init__(self, lab, name: str, computed):
        from testbed.controlplane.frr import VtyClient
        self.lab = lab
        self.computed = computed
        self.routers = [r.name for r in lab.routers]
        self.clients = {r: VtyClient(router_dir(name, r)) for r in self.routers}
        self.last: dict[str, tuple] = {}

    def close(self):
        for c in self.clients.values():
            c.close()

    def read(self, router: str) -> tuple:
        """(routes, mpls, bindings); the last good answer if zebra cannot be reached."""
        from testbed.controlplane.frr import VtyError, read_router
        node = self.lab.nodes[router]
        try:
            got = read_router(None, node.domain is not None, self.clients[router])
            self.last[router] = got
        except VtyError:
            got = self.last.get(router, ({}, {}, {}))
        return got

    def tables(self):
        from testbed.controlplane.frr import frr_control_plane
        return frr_control_plane(self.lab, self.read, self.computed)

    def neighbours(self, router: str) -> tuple[dict, dict, list[str]]:
        """OSPF neighbours {(router id, interface): state}, LDP neighbours {LSR id: state}, errors."""
        from testbed.controlplane.frr import VtyError
        c = self.clients[router]
        errs = []
        ospf, ldp = {}, {}
        try:
            for rid, lst in c.json("ospfd", "show ip ospf neighbor json").get("neighbors", {}).items():
                for n in lst:
                    ospf[(rid, n.get("ifaceName", "").split(":")[0])] = n.get("nbrState", "")
        except (VtyError, ValueError) as e:
            errs.append(str(e))
        if self.lab.nodes[router].domain is not None:
            try:
                for n in c.json("ldpd", "show mpls ldp neighbor json").get("neighbors", []):
                    ldp[n.get("neighborId")] = n.get("state", "")
            except (VtyError, ValueError) as e:
                errs.append(str(e))
        return ospf, ldp, errs


def tables_doc(cp, routers: list[str]) -> dict:
    return {r: cp.tables[r].to_json() for r in routers}


def write_tables(name: str, doc: dict, generation: int, source: str = "frr"):
    """RUN_DIR/tables.json, atomically: what the engine workers run on."""
    state.write_json(tables_path(name), {"generation": generation, "written": time.time(), "source": source,
                                         "routers": doc})


def read_tables(path) -> tuple[int, dict]:
    """(generation, {router: RouterTables}) from a tables file."""
    from testbed.controlplane.tables import RouterTables
    doc = record_json(path, "tables")
    return doc["generation"], {r: RouterTables.from_json(t) for r, t in doc["routers"].items()}


def control_plane_now(lab, name: str, computed):
    """(control plane, generation) the engine workers of lab instance `name` run on in FRR mode
    (its tables file, read right after probing), with the hosts' tables from the computed
    control plane: the truth's input."""
    from testbed.controlplane.tables import ControlPlane
    generation, tables = read_tables(tables_path(name))
    merged = dict(computed.tables)
    merged.update(tables)
    return ControlPlane(lab, merged, computed.distance), generation


# ---------------------------------------------------------------- convergence
def _expected(lab, computed):
    """Per router: OSPF neighbours {(router id, interface): (node, on a LAN?)} and LDP
    neighbours {LSR id: node} (the same-domain routers the computed control plane peers with)."""
    ospf, ldp = {}, {}
    for r in lab.routers:
        exp = {}
        for i in r.interfaces:
            for p in i.peers():
                peer = lab.nodes[p.node]
                if peer.is_router:
                    exp[(str(peer.loopback), i.name)] = (p.node, i.link.kind == "lan")
        ospf[r.name] = exp
        ldp[r.name] = {str(lab.nodes[n].loopback): n for n in computed.tables[r.name].ldp_neighbors}
    return ospf, ldp


class Convergence:
    """One poll of every router: what is still missing, per router.

    ldpd starts in a router once OSPF gave it a route to the loopback (LDP's transport
    address) of every LDP neighbour. Started with the others, ldpd's first TCP connect can
    come before that route, fails with "Network is unreachable", and ldpd retries only after
    its 15 s initial backoff (measured on invisible-php with FRR's default OSPF timers: OSPF
    full after 2 s, LDP operational after 15 s). With the lab's timers (testbed.frr.render)
    OSPF's routes usually win that race, but staging makes it certain at the cost of about
    a second. Routers still waiting after LDP_START_FALLBACK seconds get ldpd anyway."""

    LDP_START_FALLBACK = 30.0

    def __init__(self, lab, name: str, computed, start_ldpd=None, publish: bool = False):
        self.publish = publish
        self.generation = 0                 # the last tables generation handed to the engine
        self.published_doc = None
        self.published_at = None
        self.lab = lab
        self.name = name
        self.computed = computed
        self.reader = Reader(lab, name, computed)
        self.exp_ospf, self.exp_ldp = _expected(lab, computed)
        self.n_ospf = sum(len(v) for v in self.exp_ospf.values())
        self.n_ldp = sum(len(v) for v in self.exp_ldp.values())
        self.start_ldpd = start_ldpd
        self.routes_missing = True
        self.ldp_waiting = {r.name for r in lab.routers if "ldpd" in daemons_of(r)} if start_ldpd else set()
        self.t0 = time.monotonic()

    def close(self):
        self.reader.close()

    def _ldp_routes_missing(self, router: str) -> list[str]:
        """LDP neighbours whose loopback this router has no route to yet."""
        from testbed.controlplane.frr import VtyError
        try:
            routes = self.reader.clients[router].json("zebra", "show ip route json")
        except (VtyError, ValueError):
            return list(self.exp_ldp[router].values())
        have = {p for p, rs in routes.items() if any(x.get("selected") for x in rs)}
        return [peer for rid, peer in self.exp_ldp[router].items() if f"{rid}/32" not in have]

    def start_ready_ldpd(self):
        if not self.ldp_waiting:
            return
        late = time.monotonic() - self.t0 >= self.LDP_START_FALLBACK
        ready = sorted(r for r in self.ldp_waiting if late or not self._ldp_routes_missing(r))
        if ready:
            self.start_ldpd(ready)
            self.ldp_waiting -= set(ready)

    def publish_partial(self):
        """Hand the engine FRR's tables as they are while FRR converges (at most every
        PUBLISH_EVERY seconds, a new generation only when they changed).

        The kernel of a router sends its control plane (LDP's TCP session to a neighbour's
        loopback) by the routes zebra installed, and those may lead through a third router,
        whose kernel does not forward: only its engine does, by its tables. With empty tables
        until convergence, an LDP session whose SYN goes over the direct link and whose
        SYN-ACK comes back through a third router (equal-cost paths: the kernel hashes each
        direction on its own addresses) never opens, and `up` times out (the imported AT&T
        lab: cmbr-phla and ny54-wash). Forwarding by FRR's current FIB is what a router does
        while its IGP converges."""
        if not self.publish:
            return
        now = time.monotonic()
        if self.published_at is not None and now - self.published_at < PUBLISH_EVERY:
            return
        self.published_at = now
        try:
            doc = tables_doc(self.reader.tables(), self.reader.routers)
        except Exception:            # a half-written answer, a daemon starting: next round
            return
        self.published_at = time.monotonic()
        if doc != self.published_doc:
            self.generation += 1
            write_tables(self.name, doc, self.generation)
            self.published_doc = doc

    def poll(self) -> dict:
        self.start_ready_ldpd()
        self.publish_partial()
        missing: dict[str, dict] = {}
        ok_ospf = ok_ldp = 0
        for r in self.reader.routers:
            ospf, ldp, errs = self.reader.neighbours(r)
            m = {}
            bad = []
            for (rid, ifn), (peer, lan) in self.exp_ospf[r].items():
                stt = ospf.get((rid, ifn), "")
                if stt.startswith("Full") or (lan and stt.startswith("2-Way")):
                    ok_ospf += 1
                else:
                    bad.append(f"{peer} ({ifn}: {stt.split('/')[0] or 'none'})")
            if bad:
                m["ospfd"] = "OSPF not full with " + ", ".join(bad)
            bad = []
            if r in self.ldp_waiting:
                errs = [e for e in errs if not e.startswith("ldpd ")]
                m["ldpd"] = "ldpd not started yet: no OSPF route to the loopback of " + \
                    ", ".join(self._ldp_routes_missing(r))
            else:
                for rid, peer in self.exp_ldp[r].items():
                    if ldp.get(rid) == "OPERATIONAL":
                        ok_ldp += 1
                    elif peer in self.ldp_waiting:
                        bad.append(f"{peer} (whose ldpd is not started)")
                    else:
                        bad.append(f"{peer} ({(ldp.get(rid) or 'none').lower()})")
            if bad:
                m["ldpd"] = "LDP not operational with " + ", ".join(bad)
            if errs:
                m["errors"] = "; ".join(errs)
            if m:
                missing[r] = m
        diffs, cp = [], None
        if not missing:
            from testbed.controlplane.frr import compare
            cp = self.reader.tables()
            diffs = compare(self.computed, cp)
            self.routes_missing = any(": no route to " in d for d in diffs)
            for d in diffs:
                r = d.split(":", 1)[0]
                missing.setdefault(r, {}).setdefault("tables", [])
                missing[r]["tables"].append(d.split(": ", 1)[1])
        return {"missing": missing, "ospf": ok_ospf, "ldp": ok_ldp, "diffs": diffs, "cp": cp}

    def summary(self, snap: dict) -> str:
        s = f"OSPF {snap['ospf']}/{self.n_ospf} full, LDP {snap['ldp']}/{self.n_ldp} operational"
        if snap["cp"] is not None:
            s += ", tables = computed" if not snap["diffs"] else f", {len(snap['diffs'])} differences from computed"
        return s


def _dead_daemons(st: dict) -> list[dict]:
    return [r for r in st["frr"]["daemons"] if r.get("pid") and not nsutil.same_process(r["pid"], r["start_time"])]


def _why(name: str, router: str, what: dict) -> str:
    daemon = "ospfd" if "ospfd" in what else ("ldpd" if ("ldpd" in what or "tables" in what) else "zebra")
    parts = []
    for k in ("ospfd", "ldpd", "errors"):
        if k in what:
            parts.append(what[k])
    if "tables" in what:
        t = what["tables"]
        parts.append(f"{len(t)} table differences, e.g. {t[0]}")
    log = router_dir(name, router) / f"{daemon}.log"
    tail = log_tail(log)
    return f"  {router}: {'; '.join(parts)}\n    last lines of {log}:\n" + \
        ("\n".join(f"      {ln}" for ln in tail) if tail else "      (empty)")


def wait_converged(lab, name: str, st: dict, computed, timeout: float, progress=None, start_ldpd=None,
                   publish: bool = False) -> dict:
    """Poll FRR until it has converged (see the module docstring); return the final snapshot
    with its tables. Raise TestbedError naming every unconverged router (what is missing and
    the last lines of the daemon's log) on timeout, or at once when a daemon dies.

    start_ldpd(routers): if given, ldpd is not running yet and is started router by router
    (see Convergence). Converged means: OSPF and LDP complete and the tables equal to the
    computed ones; or, when FRR settles elsewhere, OSPF and LDP complete, a route to every
    prefix of the lab in every router, and no change for STABLE_SECONDS (the differences
    are then reported, not fatal: FRR's ldpd is not every vendor's).

    publish: the engine follows FRR while it converges (Convergence.publish_partial); the
    snapshot's "generation" is the last tables generation written (0: none)."""
    conv = Convergence(lab, name, computed, start_ldpd, publish)
    t0 = time.monotonic()
    deadline = t0 + timeout
    last_summary = None
    stable_doc, stable_since = None, None
    try:
        while True:
            dead = _dead_daemons(st)
            if dead:
                lines = []
                for r in dead:
                    tail = log_tail(Path(r["log"])) or log_tail(Path(r["dir"]) / f"{r['daemon']}.out")
                    lines.append(f"  {r['router']}: {r['daemon']} (pid {r['pid']}) exited\n    last lines of "
                                 f"{r['log']}:\n" + ("\n".join(f"      {ln}" for ln in tail) or "      (empty)"))
                raise TestbedError(f"lab '{name}': FRR daemons died while converging:\n" + "\n".join(lines))
            snap = conv.poll()
            summ = conv.summary(snap)
            if progress and summ != last_summary:
                progress.note(summ)
                last_summary = summ
            if not snap["missing"]:
                snap["seconds"] = time.monotonic() - t0
                snap["summary"] = summ
                snap["generation"] = conv.generation
                return snap
            if snap["cp"] is not None and not conv.routes_missing:
                # OSPF and LDP are complete; the tables differ: converged elsewhere once stable
                doc = tables_doc(snap["cp"], conv.reader.routers)
                if doc != stable_doc:
                    stable_doc, stable_since = doc, time.monotonic()
                elif time.monotonic() - stable_since >= STABLE_SECONDS:
                    snap["seconds"] = time.monotonic() - t0
                    snap["summary"] = summ
                    snap["generation"] = conv.generation
                    return snap
            else:
                stable_doc = None
            if time.monotonic() >= deadline:
                miss = snap["missing"]
                head = (f"lab '{name}': FRR did not converge within {timeout:.0f} s ({summ}); "
                        f"{len(miss)} of {len(lab.routers)} routers not converged:")
                raise TestbedError(head + "\n" + "\n".join(_why(name, r, miss[r]) for r in sorted(miss)))
            time.sleep(POLL_INTERVAL)
    finally:
        conv.close()
