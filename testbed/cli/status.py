"""`testbed status [NAME]`: the labs that are up (or one, in detail); exit 1 when NAME is not up and healthy."""
from __future__ import annotations

import sys
import time

from testbed.cli.console import out_console
from testbed.cliargs import print_json


def run(args):
    from testbed import api
    if args.name:
        st = api.status(args.name)
        if args.json:
            print_json(st)
        else:
            _print_one(st)
        sys.exit(0 if st.get("status") == "up" else 1)
    rows = api.status()
    if args.json:
        return print_json(rows)
    if not rows:
        print("no lab is up")
        return
    from rich.table import Table
    t = Table(title="lab instances")
    for col in ("name", "lab", "status", "routers", "hosts", "workers", "up since", "attach"):
        t.add_column(col)
    for r in rows:
        alive = sum(1 for w in r.get("workers", []) if w.get("alive"))
        since = time.strftime("%H:%M:%S", time.localtime(r["created"])) if r.get("created") else ""
        t.add_row(r["name"], str(r.get("lab", "")), _color(r["status"]), str(len(r.get("routers", {}) or {})),
                  str(len(r.get("hosts", {}) or {})), f"{alive}/{len(r.get('workers', []))}", since,
                  ", ".join(a["tap"] for a in r.get("attach", []) or []))
    out_console().print(t)


def _color(s: str) -> str:
    return {"up": "[green]up[/]", "degraded": "[red]degraded[/]", "failed": "[red]failed[/]",
            "orphaned": "[yellow]orphaned[/]", "corrupt": "[red]corrupt[/]", "building": "[yellow]building[/]"}.get(s, s)


def _print_one(st: dict):
    c = out_console()
    if st["status"] == "corrupt":
        from rich.markup import escape
        c.print(f"{st['name']}: [red]corrupt[/]: {escape(st['problem'])}", highlight=False, soft_wrap=True)
        return
    from testbed.runtimes import registry
    rt = registry.get(st["runtime"]) if st.get("runtime") in registry.names() else None
    if st["status"] == "elsewhere" or (rt is not None and rt.interactive and st["status"] != "orphaned"):
        c.print(f"{st['name']}: {_color(st['status'])}" + (f" under {rt.label}" if st["status"] != "elsewhere" else
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


def add_parser(sub):
    s = sub.add_parser("status", help="the lab instances on this machine, whichever runtime runs them (or one, in detail)")
    s.add_argument("name", nargs="?", help="lab instance name")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)
