"""CLI of the namespace runtime: `testbed up | status | exec | capture | down`.

    testbed up LAB [--set K=V ...] [--name NAME] [--workers N] [--control-plane computed|frr]
               [--converge-timeout S] [--json]
    testbed status [NAME] [--json]
    testbed exec NAME NODE -- CMD [ARGS...]
    testbed capture NAME NODE IFACE -w FILE.pcap [-c COUNT] [--timeout S]
    testbed down NAME | --all [--json]

Progress goes to stderr; --json output on stdout is machine-readable. `exec` passes the
command's exit status through; `status NAME` exits 1 when the lab is not up and healthy.
"""
from __future__ import annotations

from testbed.cliargs import float_in, int_in

import json
import os
import sys
import time

from testbed.errors import InputError, TestbedError


def _print_json(obj):
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _err_console():
    from rich.console import Console
    return Console(stderr=True, highlight=False)


def _out_console():
    from rich.console import Console
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class Reporter:
    """Progress of `up` on stderr: a spinner on a terminal, one line per step otherwise."""

    def __init__(self, console):
        self.c = console
        self.live = console.is_terminal
        self.spinner = None
        self.current = ""

    def _stop(self):
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None

    def step(self, label: str):
        self._stop()
        self.current = label
        if self.live:
            self.spinner = self.c.status(f"{label} …")
            self.spinner.start()
        else:
            self.c.print(f"» {label} …")

    def done(self, label: str, seconds: float, detail: str = ""):
        self._stop()
        self.c.print(f"[green]✓[/] {label:<15} {detail:<40} [dim]{seconds:6.2f} s[/]")

    def note(self, msg: str):
        if self.live and self.spinner is not None:
            self.spinner.update(f"{self.current}: {msg}")
        else:
            self.c.print(f"  [dim]{msg}[/]")

    def close(self):
        self._stop()


# ---------------------------------------------------------------- commands
def cmd_up(args):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    from testbed.runtimes.netns import api
    lab = load_lab(args.lab, parse_sets(args.set), no_limits=args.no_limits, local_first=args.local_includes)
    if getattr(args, "plan", None) and getattr(args, "runtime", "netns") == "mininet":
        raise InputError("up: --plan is a big-lab runtime plan: use --runtime bigrt")
    if getattr(args, "runtime", "netns") == "mininet":          # Mininet's CLI until it ends
        from testbed.runtimes import mininet
        rc = mininet.up(lab, name=args.name, batch=args.batch)
        if rc:
            raise TestbedError(f"the Mininet driver ended with status {rc}")
        return
    rep = Reporter(_err_console())
    name = args.name or (f"{lab.name}-{args.host}" if getattr(args, "plan", None) and args.host else lab.name)
    cp = args.control_plane or lab.control_plane
    rep.c.print(f"bringing [bold]{name}[/] up ({len(lab.routers)} routers, {len(lab.hosts)} hosts, "
                f"{len(lab.links)} links; {'FRR' if cp == 'frr' else 'computed'} control plane)")
    try:
        if getattr(args, "runtime", "netns") == "bigrt" or getattr(args, "plan", None):    # big labs, split labs
            from testbed.runtimes.bigrt.cli import up_bigrt
            st = up_bigrt(args, lab, rep)
        else:
            st = api.up(lab, name=args.name, workers=args.workers, progress=rep, control_plane=args.control_plane,
                        converge_timeout=args.converge_timeout)
    finally:
        rep.close()
    if args.json:
        return _print_json(api.status(st["name"]))
    c = _out_console()
    c.print(f"[bold green]{st['name']} is up[/] in {st['up_seconds']:.2f} s: {len(st['namespaces'])} namespaces, "
            f"{len(st['workers'])} engine workers")
    if st.get("control_plane") == "frr":
        f = st["frr"]
        c.print(f"  FRR: {len(f['daemons'])} daemons, converged in {f['converged_seconds']:.1f} s, "
                + ("tables equal to the computed control plane" if not f["differences"] else
                   f"[yellow]{len(f['differences'])} differences from the computed control plane[/]"))
        for d in (f["differences"] or [])[:10]:
            c.print(f"    [yellow]{d}[/]")
        r0 = next(iter(st["routers"]))
        c.print(f"  vtysh: testbed exec {st['name']} {r0} -- vtysh --vty_socket {f['dir']}/{r0} -c 'show mpls table'")
    for a in st.get("attach", []):
        c.print(f"  attach: tap [bold]{a['tap']}[/] in {a['namespace']} on {a['lan']} ({a['network']}): "
                f"use {a['address']}/{a['prefixlen']} via {a['gateway']}")
    for a in st.get("router_attach", []) or []:
        c.print(f"  attach router {a['router']}: tap [bold]{a['tap']}[/] in {a['namespace']} (the router's own stack: "
                f"use {a['address']}/32 via {a['gateway']}); kernel probers in {a['prober_namespace']}")
    rvps = {a["router"] for a in st.get("router_attach", []) or []}
    for p in st.get("probes", []):
        for t in p["targets"][:1]:
            node = f"_vp-{p['from']}" if p["from"] in rvps else p["from"]
            c.print(f"  try: testbed exec {st['name']} {node} -- scamper -O json -c 'trace -P icmp-paris' -i {t}")
    c.print(f"  stop: testbed down {st['name']}")


def cmd_status(args):
    from testbed.runtimes.netns import api
    if args.name:
        st = api.status(args.name)
        if args.json:
            _print_json(st)
        else:
            _print_one(st)
        sys.exit(0 if st.get("status") == "up" else 1)
    rows = api.status()
    if args.json:
        return _print_json(rows)
    if not rows:
        print("no lab is up")
        return
    from rich.table import Table
    t = Table(title="labs in network namespaces")
    for col in ("name", "lab", "status", "routers", "hosts", "workers", "up since", "attach"):
        t.add_column(col)
    for r in rows:
        alive = sum(1 for w in r.get("workers", []) if w.get("alive"))
        since = time.strftime("%H:%M:%S", time.localtime(r["created"])) if r.get("created") else ""
        t.add_row(r["name"], str(r.get("lab", "")), _color(r["status"]), str(len(r.get("routers", {}) or {})),
                  str(len(r.get("hosts", {}) or {})), f"{alive}/{len(r.get('workers', []))}", since,
                  ", ".join(a["tap"] for a in r.get("attach", []) or []))
    _out_console().print(t)


def _color(s: str) -> str:
    return {"up": "[green]up[/]", "degraded": "[red]degraded[/]", "failed": "[red]failed[/]",
            "orphaned": "[yellow]orphaned[/]", "corrupt": "[red]corrupt[/]", "building": "[yellow]building[/]"}.get(s, s)


def _print_one(st: dict):
    c = _out_console()
    if st["status"] == "corrupt":
        from rich.markup import escape
        c.print(f"{st['name']}: [red]corrupt[/]: {escape(st['problem'])}", highlight=False, soft_wrap=True)
        return
    if st["status"] == "elsewhere" or (st.get("runtime") == "mininet" and st["status"] != "orphaned"):
        c.print(f"{st['name']}: {_color(st['status'])}" + (" under Mininet" if st.get("runtime") == "mininet" else
                f" from another run folder ({st.get('run_dir')}; `testbed` with UTNT_LAB_RUN set to its parent "
                "manages it)") + f", engine worker pid {st.get('engine_pid')}", highlight=False)
        return
    if st["status"] in ("down", "orphaned"):
        c.print(f"{st['name']}: {_color(st['status'])}"
                + (f" ({len(st['namespaces'])} leftover namespaces; `testbed down {st['name']}` removes them)"
                   if st.get("namespaces") else ""))
        return
    c.print(f"[bold]{st['name']}[/] ({st.get('lab')}, {st.get('source')}): {_color(st['status'])}")
    if st.get("params"):
        c.print("  params: " + ", ".join(f"{k}={v}" for k, v in st["params"].items()))
    c.print(f"  namespaces: {len(st.get('namespaces', []))} ({st.get('prefix')}*)"
            + (f", [red]{len(st['namespaces_missing'])} missing[/]" if st.get("namespaces_missing") else ""))
    for w in st.get("workers", []):
        c.print(f"  worker {w['index']}: pid {w['pid']} {'alive' if w['alive'] else '[red]dead[/]'}, "
                f"{w['routers']} routers")
    if st.get("control_plane") == "frr":
        ds = st.get("frr_daemons", [])
        dead = [f"{d['router']}/{d['daemon']}" for d in ds if not d["alive"]]
        c.print(f"  FRR: {len(ds) - len(dead)}/{len(ds)} daemons alive"
                + (f" ([red]not running: {', '.join(dead)}[/])" if dead else "")
                + f", sync {'alive' if st.get('frr_sync_alive') else '[red]dead[/]'}, tables generation "
                  f"{st.get('tables_generation')}, files in {(st.get('frr') or {}).get('dir')}")
    for a in st.get("attach", []) or []:
        c.print(f"  attach {a['lan']}: tap {a['tap']} in {a['namespace']}, address {a['address']}/{a['prefixlen']}, "
                f"gateway {a['gateway']} ({a['gateway_node']})")
    for a in st.get("router_attach", []) or []:
        c.print(f"  attach router {a['router']}: tap {a['tap']} in {a['namespace']}, address {a['address']}/32; "
                f"kernel probers in {a['prober_namespace']} (testbed exec {st['name']} _vp-{a['router']} -- ...)")
    if st.get("timings"):
        c.print("  timings: " + ", ".join(f"{k} {v:.3f}s" for k, v in st["timings"].items()))


def cmd_exec(args):
    from testbed.runtimes.netns import api
    cmd = list(args.command or []) or list(getattr(args, "utnt", None) or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    argv = api.exec_argv(args.name, args.node, cmd)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        raise TestbedError(f"cannot run {argv[0]}: {e.strerror}") from None


def cmd_capture(args):
    from testbed.runtimes.netns import api
    err = _err_console()
    nsn = api.namespace_of(args.name, args.node)
    err.print(f"capturing on {args.node} {args.iface} ({nsn}) into {args.write}"
              + (f", {args.count} frames" if args.count else "") + (f", {args.timeout} s" if args.timeout else "")
              + "; Ctrl-C stops")
    res = api.capture(args.name, args.node, args.iface, args.write, count=args.count, timeout=args.timeout)
    if args.json:
        return _print_json(res)
    err.print(f"{res['packets'] if res['packets'] is not None else '?'} frames captured into {res['file']}")


def cmd_down(args):
    from testbed.runtimes.netns import api
    if args.all == bool(args.name):
        raise InputError("give a lab name or --all (not both)")
    reps = _down_all(args) if args.all else [api.down(args.name)]
    if reps is None:
        return
    if args.json:
        return _print_json(reps if args.all else reps[0])
    if not reps:
        print("no lab was up")
    for r in reps:
        if not r["was_up"]:
            print(f"{r['name']}: was not up; nothing to do")
            continue
        print(f"{r['name']}: down ({r['namespaces_removed']} namespaces removed, "
              f"{len(r['workers_stopped'])} engine workers stopped"
              + (f", {len(r['frr_stopped'])} FRR processes stopped" if r.get("frr_stopped") else "")
              + (f", {len(r.get('captures_stopped', []) + r.get('detectors_stopped', []))} captures and detector "
                 "runs stopped" if r.get("captures_stopped") or r.get("detectors_stopped") else "") + ")")
        for p in r["processes_still_inside"]:
            print(f"  note: pid {p['pid']} ({p['cmd']}) was still inside a namespace of the lab; the namespace "
                  "disappears when it exits", file=sys.stderr)
        if r["left"]:
            raise TestbedError(f"{r['name']}: namespaces left behind: {', '.join(r['left'][:5])}")


def probe_target(args, load):
    """What `testbed probe LAB [--name N] [--runtime R]` probes: (lab, runtime, instance).

    The running state decides: `probe NAME` of a lab that is up probes that lab (loaded from
    its recorded file and parameters, so results carry its real name); `--name N` must run
    the lab given; a lab asked for on the netns runtime (--runtime netns or --name) that is
    not up is an error, never a silent fall-back to the sim."""
    from pathlib import Path

    from testbed.errors import InputError
    from testbed.lab import load_lab
    from testbed.lab.loader import find_lab, parse_sets
    from testbed.runtimes.netns import api, names, state
    if args.runtime == "sim":
        return load(args), "sim", None
    inst = args.name if args.name is not None else args.lab
    st = None
    if names.NAME_RE.match(inst or "") and os.geteuid() == 0:
        st = state.read_state(inst)
    if st is None:
        if args.runtime == "netns" or args.name is not None:
            running = ", ".join(state.instances()) or "none"
            raise InputError(f"lab '{inst}' is not up (running: {running}); start it with `testbed up "
                             f"{args.lab}{' --name ' + inst if inst != args.lab else ''}` or probe the sim "
                             "with --runtime sim")
        return load(args), "sim", None
    if st.get("status") == "corrupt":
        raise InputError(st["problem"])
    if args.lab != inst or args.set:
        given = Path(find_lab(args.lab)).resolve()
        if str(given) != str(Path(st.get("source", "")).resolve()) or \
                (args.set and parse_sets(args.set) != (st.get("params") or {})):
            raise InputError(f"lab '{inst}' runs {st.get('lab')} ({st.get('source')}, parameters "
                             f"{st.get('params') or 'none'}), not {args.lab}"
                             f"{' with ' + ' '.join(args.set) if args.set else ''}; probe it as "
                             f"`testbed probe {inst}`, or give another --name")
    lab = load_lab(st["source"], st.get("params") or {}, name=st.get("lab"), **(st.get("options") or {}))
    from testbed.cliargs import check_endpoints
    # `--from all` and `--from vp1,vp2` (many instances) are checked name by name there
    check_endpoints(lab, getattr(args, "source", None), getattr(args, "dest", None))
    api.require_healthy(inst)
    return lab, "netns", inst


def _down_all(args):
    """--all removes every lab on the machine, other people's too: it lists them and asks
    (or takes --yes); without a terminal to ask on, it refuses."""
    from testbed.runtimes.netns import api, teardown
    api._require_root()
    every = teardown.all_names()
    if every and not args.yes:
        listing = ", ".join(f"{n} ({api.status(n).get('lab') or 'leftovers'})" for n in every)
        if not sys.stdin.isatty():
            raise InputError(f"down --all would remove {len(every)} labs: {listing}; nothing removed (no terminal "
                             "to ask on): give --yes, or take labs down by name")
        print(f"down --all removes {len(every)} labs, whoever started them: {listing}", file=sys.stderr)
        try:
            answer = input("remove them all? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed", file=sys.stderr)
            return None
    return teardown.down_all(every)           # the labs listed (and asked about), nothing else


# ---------------------------------------------------------------- parser
def add_control_plane_args(s):
    s.add_argument("--control-plane", choices=["computed", "frr"], default=None,
                   help="where routers' FIB and LFIB come from: computed, or real FRR (zebra, ospfd, ldpd) in "
                        "every router namespace (default: the lab's control_plane, else computed)")
    s.add_argument("--converge-timeout", type=float_in(0.1, 3600), metavar="S", default=None,
                   help="FRR: seconds to wait for OSPF, LDP and the LFIB to converge (default 90 + routers/2)")


def add_parsers(sub):
    import argparse
    s = sub.add_parser("up", help="bring a lab up as network namespaces (namespace runtime)")
    s.add_argument("lab", help="library lab name or path to a lab .yaml file")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="template parameter (repeatable)")
    s.add_argument("--name", help="instance name (default: the lab's name); two instances need two names")
    s.add_argument("--workers", type=int_in(1, 64), help="engine worker processes (default: one per core)")
    add_control_plane_args(s)
    from testbed.cliargs import add_lab_file_args
    add_lab_file_args(s)
    s.add_argument("--json", action="store_true", help="print the lab's state as JSON on stdout")
    s.add_argument("--runtime", choices=["netns", "mininet", "bigrt"], default="netns",
                   help="mininet: build the lab as a Mininet network and give the mininet> prompt; "
                        "bigrt: the big-lab runtime (routers inside engine processes)")
    from testbed.runtimes.bigrt.cli import add_up_args
    add_up_args(s)
    s.add_argument("--batch", metavar="FILE", help="mininet: run these CLI commands instead of the prompt")
    s.set_defaults(fn=cmd_up)

    s = sub.add_parser("status", help="labs up in network namespaces (or one, in detail)")
    s.add_argument("name", nargs="?", help="lab instance name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)

    s = sub.add_parser("exec", help="run a command in a node's namespace: exec NAME NODE -- CMD...")
    s.add_argument("name", help="lab instance name")
    s.add_argument("node", help="node name (_sw: the switch namespace with the bridges and taps)")
    s.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments (after --)")
    s.set_defaults(fn=cmd_exec)

    s = sub.add_parser("capture", help="tcpdump on a node's interface into a pcap file")
    s.add_argument("name", help="lab instance name")
    s.add_argument("node")
    s.add_argument("iface", help="interface (eth0, eth1, ... or any)")
    s.add_argument("-w", dest="write", required=True, metavar="FILE.pcap", help="pcap file ('-' for stdout)")
    s.add_argument("-c", dest="count", type=int_in(1, 10**9), help="stop after this many frames")
    s.add_argument("--timeout", type=float_in(0.1, 86400), help="stop after this many seconds")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_capture)

    s = sub.add_parser("down", help="remove a lab's namespaces, links, bridges, taps and workers")
    s.add_argument("name", nargs="?", help="lab instance name")
    s.add_argument("--all", action="store_true", help="every lab up on this machine (lists them and asks)")
    s.add_argument("--yes", action="store_true", help="with --all: do not ask")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_down)
