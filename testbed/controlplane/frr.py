"""FIB and LFIB read from real FRR (zebra, ospfd, ldpd) instead of computed.

FRR runs in each router namespace with the configs rendered from router-configs/; we read
its state through vtysh's JSON (`show ip route json`, `show mpls table json`,
`show mpls ldp binding json`) and turn it into the same RouterTables the engine runs on.
FRR runs no BGP in the labs, so the BGP next-hop-self layer for customer prefixes is
applied on top (compute.apply_bgp), exactly as in the computed control plane.
"""
from __future__ import annotations

import json
import subprocess
from ipaddress import IPv4Address, IPv4Network

from .compute import apply_bgp, build as build_computed, classify_prefixes
from .tables import EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, LabelHop, LfibEntry, NextHop, Route, RouterTables

NULLS = {"imp-null": IMPLICIT_NULL, "exp-null": EXPLICIT_NULL, "implicit-null": IMPLICIT_NULL,
         "explicit-null": EXPLICIT_NULL}


def vtysh(namespace: str, sockdir: str, command: str, timeout: float = 10.0) -> dict:
    r = subprocess.run(["ip", "netns", "exec", namespace, "vtysh", "--vty_socket", sockdir, "-c", command],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"vtysh '{command}' in {namespace}: {(r.stderr or r.stdout).strip()[-200:]}")
    return json.loads(r.stdout)


def _label(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, str):
        if v in NULLS:
            return NULLS[v]
        if v.isdigit():
            return int(v)
        return None
    return int(v)


def _iface_for(node, gw: IPv4Address) -> str | None:
    for i in node.interfaces:
        if gw in i.network:
            return i.name
    return None


def tables_from_frr(lab, node_name: str, routes: dict, mpls: dict, bindings: dict) -> RouterTables:
    """One router's tables from FRR's JSON (show ip route / show mpls table / ldp binding)."""
    node = lab.nodes[node_name]
    t = RouterTables(name=node_name)
    for b in bindings.get("bindings", []):
        lbl = _label(b.get("localLabel"))
        if lbl is not None:
            t.bindings.setdefault(IPv4Network(b["prefix"]), lbl)
    t.ldp_neighbors = sorted({lab.owner_of(b["neighborId"]) or b["neighborId"]
                              for b in bindings.get("bindings", []) if b.get("neighborId")})
    for pfx_s, rs in routes.items():
        pfx = IPv4Network(pfx_s)
        sel = next((r for r in rs if r.get("selected")), None)
        if sel is None:
            continue
        proto = sel.get("protocol")
        hops = []
        for nh in sel.get("nexthops", []):
            if nh.get("active") is False:
                continue
            ifname = nh.get("interfaceName")
            if "ip" in nh:
                gw = IPv4Address(nh["ip"])
                push = tuple(x for x in (nh.get("labels") or []) if x != IMPLICIT_NULL)
                hops.append(NextHop(ifname or _iface_for(node, gw), gw, lab.owner_of(gw), push))
            elif ifname:
                hops.append(NextHop(ifname, None, None))
        if proto == "connected":
            if ifname == "lo" or (node.loopback and pfx == IPv4Network(f"{node.loopback}/32")):
                t.fib[pfx] = Route(pfx, "local", [])
            else:
                t.fib[pfx] = Route(pfx, "connected", hops)
        elif hops:
            kind = "ldp" if any(h.push for h in hops) else "igp"
            t.fib[pfx] = Route(pfx, kind, sorted(hops, key=lambda h: (h.ifname, str(h.gateway))),
                               via=f"FRR {proto}")
    fec_of = {lbl: pfx for pfx, lbl in t.bindings.items() if lbl not in (IMPLICIT_NULL, EXPLICIT_NULL)}
    for in_s, e in mpls.items():
        in_label = int(e.get("inLabel", in_s))
        hops = []
        for nh in e.get("nexthops", []):
            gw = IPv4Address(nh["nexthop"]) if nh.get("nexthop") else None
            if gw is None:
                continue
            out = nh.get("outLabel")
            out = None if out is None else int(out)
            hops.append(LabelHop(out, _iface_for(node, gw), gw, lab.owner_of(gw)))
        if hops:
            fec = fec_of.get(in_label, IPv4Network("0.0.0.0/32"))
            t.lfib[in_label] = LfibEntry(in_label, fec, sorted(hops, key=lambda h: (h.ifname, str(h.gateway))))
    return t


def frr_control_plane(lab, read) -> ControlPlane:
    """read(node) -> (routes, mpls, bindings) JSON for every router; hosts as computed."""
    computed = build_computed(lab)
    tables = {}
    for r in lab.routers:
        tables[r.name] = tables_from_frr(lab, r.name, *read(r.name))
    for h in lab.hosts:
        tables[h.name] = computed.tables[h.name]
    apply_bgp(lab, tables, computed.distance, classify_prefixes(lab))
    return ControlPlane(lab=lab, tables=tables, distance=computed.distance)


def compare(computed: ControlPlane, frr: ControlPlane) -> list[str]:
    """Differences that matter to forwarding: per router and prefix, the next-hop routers and
    whether a label is pushed; per LDP FEC, whether the router binds it and with which null.
    Label numbers themselves are each router's own business and are not compared."""
    out = []
    for r in sorted(n.name for n in computed.lab.routers):
        a, b = computed.tables[r], frr.tables[r]
        for pfx, ra in a.fib.items():
            rb = b.fib.get(pfx)
            if rb is None:
                out.append(f"{r}: no route to {pfx} in FRR")
                continue
            ha = sorted((h.neighbor, bool(h.push)) for h in ra.nexthops)
            hb = sorted((h.neighbor, bool(h.push)) for h in rb.nexthops)
            if ha != hb:
                out.append(f"{r}: {pfx} via {ha} computed, {hb} in FRR")
        for pfx, la in a.bindings.items():
            lb = b.bindings.get(pfx)
            if lb is None:
                out.append(f"{r}: no LDP binding for {pfx} in FRR")
            elif (la in (IMPLICIT_NULL, EXPLICIT_NULL) or lb in (IMPLICIT_NULL, EXPLICIT_NULL)) and la != lb:
                out.append(f"{r}: LDP binding for {pfx} is {lb} in FRR, {la} computed")
    return out
