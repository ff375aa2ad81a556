"""FIB and LFIB read from real FRR (zebra, ospfd, ldpd) instead of computed.

FRR runs in each router namespace with the configs rendered from router-configs/; we read
its state through vtysh's JSON (`show ip route json`, `show mpls table json`,
`show mpls ldp binding json`) and turn it into the same RouterTables the engine runs on.
FRR runs no BGP in the labs, so the BGP next-hop-self layer for customer prefixes is
applied on top (compute.apply_bgp), exactly as in the computed control plane.

Two ways to ask a router's daemons: `vtysh(namespace, sockdir, command)` runs FRR's vtysh,
and `VtyClient(sockdir)` speaks vtysh's own protocol on the daemons' vty sockets
(`<sockdir>/<daemon>.vty`: the command and a NUL out; the output, three NULs and a status
byte back), about fifty times cheaper than a vtysh process: what polling every router of
a running lab once a second needs. `read_router(sockdir, ldp)` gives tables_from_frr's input.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any

from .sixpe import apply_6pe
from .compute import _build as build_computed, apply_bgp, apply_catalogue, classify_prefixes
from .tables import EXPLICIT_NULL, IMPLICIT_NULL, ControlPlane, LabelHop, LfibEntry, NextHop, Route, RouterTables

if TYPE_CHECKING:
    from testbed.lab.model import Lab, Node

# FRR's JSON (vtysh `... json`): whatever the daemons print, read key by key
FrrJson = dict[str, Any]
FrrState = tuple[FrrJson, FrrJson, FrrJson]      # (routes, mpls, bindings) of one router

NULLS = {"imp-null": IMPLICIT_NULL, "exp-null": EXPLICIT_NULL, "implicit-null": IMPLICIT_NULL,
         "explicit-null": EXPLICIT_NULL}


def vtysh(namespace: str, sockdir: str, command: str, timeout: float = 10.0) -> FrrJson:
    r = subprocess.run(["ip", "netns", "exec", namespace, "vtysh", "--vty_socket", sockdir, "-c", command],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"vtysh '{command}' in {namespace}: {(r.stderr or r.stdout).strip()[-200:]}")
    out: FrrJson = json.loads(r.stdout)
    return out


class VtyError(RuntimeError):
    """A daemon that cannot be reached (not running) or that rejected a command."""


class VtyClient:
    """Commands to one router's FRR daemons over their vty sockets (no vtysh process).

        with VtyClient("/run/utnt-lab/lab/frr/p1") as v:
            v.json("zebra", "show mpls table json")
    One connection per daemon, kept for the client's lifetime.
    """

    def __init__(self, sockdir: str | os.PathLike[str], timeout: float = 5.0):
        self.sockdir = str(sockdir)
        self.timeout = timeout
        self.socks: dict[str, socket.socket] = {}

    def close(self) -> None:
        for s in self.socks.values():
            try:
                s.close()
            except OSError:
                pass
        self.socks.clear()

    def __enter__(self) -> VtyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sock(self, daemon: str) -> socket.socket:
        s = self.socks.get(daemon)
        if s is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(os.path.join(self.sockdir, f"{daemon}.vty"))
            except OSError as e:
                s.close()
                raise VtyError(f"{daemon} is not running ({os.path.join(self.sockdir, daemon + '.vty')}: "
                               f"{e.strerror or e})") from None
            self.socks[daemon] = s
        return s

    def command(self, daemon: str, command: str) -> str:
        s = self._sock(daemon)
        buf = bytearray()
        try:
            s.sendall(command.encode() + b"\0")
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    raise EOFError
                buf += chunk
                if len(buf) >= 4 and buf[-4:-1] == b"\0\0\0":
                    break
        except (OSError, EOFError) as e:
            self.socks.pop(daemon, None)
            s.close()
            why = "closed the connection" if isinstance(e, EOFError) else str(e)
            raise VtyError(f"{daemon}: '{command}': {why}") from None
        status = buf[-1]
        text = bytes(buf[:-4]).decode(errors="replace")
        if status != 0:
            raise VtyError(f"{daemon} rejected '{command}' (status {status}): {text.strip()[-200:]}")
        return text

    def json(self, daemon: str, command: str) -> FrrJson:
        text = self.command(daemon, command)
        out: FrrJson = json.loads(text) if text.strip() else {}
        return out


def read_router(sockdir: str | os.PathLike[str], ldp: bool, client: VtyClient | None = None) -> FrrState:
    """(routes, mpls, bindings): tables_from_frr's input for one router, over its vty sockets.
    A router without ldpd (ldp False, or ldpd not running) has no bindings."""
    own = client is None
    v = client or VtyClient(sockdir)
    try:
        routes = v.json("zebra", "show ip route json")
        mpls = v.json("zebra", "show mpls table json")
        bindings: FrrJson = {}
        if ldp:
            try:
                bindings = v.json("ldpd", "show mpls ldp binding json")
            except VtyError:
                bindings = {}
        return routes, mpls, bindings
    finally:
        if own:
            v.close()


def _label(v: Any) -> int | None:          # (a value of FRR's JSON)
    if v is None:
        return None
    if isinstance(v, str):
        if v in NULLS:
            return NULLS[v]
        if v.isdigit():
            return int(v)
        return None
    return int(v)


def _iface_for(node: Node, gw: IPv4Address) -> str:
    """The router's interface on the subnet of next hop `gw` (FRR's mpls table names none)."""
    for i in node.interfaces:
        if gw in i.network:
            return i.name
    raise RuntimeError(f"{node.name}: FRR's next hop {gw} is on none of the router's subnets")


def tables_from_frr(lab: Lab, node_name: str, routes: FrrJson, mpls: FrrJson, bindings: FrrJson) -> RouterTables:
    """One router's tables from FRR's JSON (show ip route / show mpls table / ldp binding).

    LFIB completion: a FEC this router binds a label to (independent control: it advertises
    it upstream) whose next hop gave no label (no LDP session on that side, or a neighbour
    outside the domain) gets an *untagged* hop, as Cisco's LFIB shows "No Label": pop and
    forward as IP. FRR's ldpd installs no LSP at all then (zebra's table lacks the label),
    so an upstream router would push a label that nothing swaps; the data plane is the
    engine's, and its vendors do what the computed control plane models."""
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
        hops: list[NextHop] = []
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
        lhops: list[LabelHop] = []
        for nh in e.get("nexthops", []):
            if not nh.get("nexthop"):
                continue
            lgw = IPv4Address(nh["nexthop"])
            out = nh.get("outLabel")
            out = None if out is None else int(out)
            lhops.append(LabelHop(out, _iface_for(node, lgw), lgw, lab.owner_of(lgw)))
        if lhops:
            fec = fec_of.get(in_label, IPv4Network("0.0.0.0/32"))
            t.lfib[in_label] = LfibEntry(in_label, fec, sorted(lhops, key=lambda h: (h.ifname, str(h.gateway))))
    for in_label, fec in fec_of.items():
        route = t.fib.get(fec)
        if route is None or route.kind not in ("igp", "ldp"):
            continue
        e = t.lfib.get(in_label)
        have = {h.gateway for h in e.hops} if e else set()
        extra = [LabelHop(None, nh.ifname, nh.gateway, nh.neighbor) for nh in route.nexthops
                 if isinstance(nh.gateway, IPv4Address) and nh.gateway not in have]     # (IPv4 FIB: never IPv6)
        if extra:
            lhops = (list(e.hops) if e else []) + extra
            t.lfib[in_label] = LfibEntry(in_label, fec, sorted(lhops, key=lambda h: (h.ifname, str(h.gateway))))
    return t


def frr_control_plane(lab: Lab, read: Callable[[str], FrrState], computed: ControlPlane | None = None) -> ControlPlane:
    """read(node) -> (routes, mpls, bindings) JSON for every router; hosts as computed.
    computed: the lab's computed control plane if the caller has it (its distances and
    hosts are reused; building it again on every poll would cost more than reading FRR)."""
    computed = computed or build_computed(lab)     # FRR labs are namespace-sized: whole tables
    tables: dict[str, RouterTables] = {}
    for r in lab.routers:
        tables[r.name] = tables_from_frr(lab, r.name, *read(r.name))
    for h in lab.hosts:
        tables[h.name] = computed.tables[h.name]
    apply_bgp(lab, tables, computed.distance, classify_prefixes(lab))
    apply_catalogue(lab, tables, computed.distance)
    apply_6pe(lab, tables)
    return ControlPlane(lab=lab, tables=tables, distance=computed.distance)


def _out_kind(label: int | None) -> str:
    if label is None:
        return "untagged"
    return {IMPLICIT_NULL: "pop", EXPLICIT_NULL: "explicit-null"}.get(label, "swap")


def compare(computed: ControlPlane, frr: ControlPlane) -> list[str]:
    """Differences that matter to forwarding: per router and prefix, the next-hop routers and
    whether a label is pushed; per LDP FEC, whether the router binds it and with which null;
    per FEC with a local label, the LFIB's next-hop routers and what each does to the label
    (swap, pop, untagged). Label numbers themselves are each router's own business and are
    not compared."""
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
        fb = {e.fec: e for e in b.lfib.values()}
        for e in sorted(a.lfib.values(), key=lambda e: (int(e.fec.network_address), e.fec.prefixlen)):
            f = fb.get(e.fec)
            if f is None:
                out.append(f"{r}: no LFIB entry for {e.fec} in FRR")
                continue
            ka = sorted((h.neighbor or "", _out_kind(h.out_label)) for h in e.hops)
            kb = sorted((h.neighbor or "", _out_kind(h.out_label)) for h in f.hops)
            if ka != kb:
                out.append(f"{r}: LFIB for {e.fec} is {kb} in FRR, {ka} computed")
    return out
