"""Real FRR as the control plane of the namespace runtime (`control_plane: frr`).

Without root: the tables' JSON round trip (what `up` hands the workers), the LFIB completion
of tables_from_frr, and the vty socket client against a stand-in daemon.
With root and Debian's frr (marks netns, frr): uTNT scores the same on FRR as on the computed
control plane; a probe sees exactly the engine's replies (the kernel, which now has
addresses, stays silent); killing ldpd on an LSR changes the engine's LFIB and the trace as
a real network would; a lab whose FRR cannot converge fails `up` with the router and its
daemon's log lines; `down` leaves no FRR process.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from testbed import errors
from testbed.controlplane import build
from testbed.controlplane.frr import VtyClient, VtyError, tables_from_frr
from testbed.controlplane.tables import (EXPLICIT_NULL, IMPLICIT_NULL, LabelHop, LfibEntry, NextHop, Route,
                                         RouterTables)
from testbed.lab import lab_names, load_lab
from testbed.runtimes.netns import api, nsutil, state, teardown
from testbed.tools import scamper
from testbed.runtimes.netns import frr as frrrt
from labnames import N

TESTBED = [sys.executable, "-m", "testbed.cli"]
REPO = Path(__file__).resolve().parent.parent
NEEDS_SCAMPER = pytest.mark.skipif(not shutil.which("scamper"), reason="Debian's scamper is not installed")


# ---------------------------------------------------------------- without root
def test_tables_json_round_trip_every_library_lab():
    n = 0
    for name in lab_names():
        cp = build(load_lab(name))
        for r, t in cp.tables.items():
            back = RouterTables.from_json(json.loads(json.dumps(t.to_json())))
            assert back == t, (name, r)
            assert back.to_json() == t.to_json()
            n += 1
    assert n > 50


def test_tables_json_round_trip_every_kind_of_entry():
    gw = IPv4Address("10.0.0.2")
    t = RouterTables(name="r")
    t.fib[IPv4Network("10.9.0.0/24")] = Route(IPv4Network("10.9.0.0/24"), "bgp",
                                              [NextHop("eth0", gw, "p", (17, 18))], via="next-hop 1.1.1.1 (pe)")
    t.fib[IPv4Network("10.0.0.0/31")] = Route(IPv4Network("10.0.0.0/31"), "connected", [NextHop("eth0", None, None)])
    t.fib[IPv4Network("1.1.1.9/32")] = Route(IPv4Network("1.1.1.9/32"), "local", [])
    for lbl, out in ((16, 99), (17, IMPLICIT_NULL), (18, EXPLICIT_NULL), (19, None)):
        t.lfib[lbl] = LfibEntry(lbl, IPv4Network(f"10.{lbl}.0.0/24"), [LabelHop(out, "eth0", gw, "p")])
    t.bindings = {IPv4Network("10.16.0.0/24"): 16, IPv4Network("1.1.1.9/32"): IMPLICIT_NULL,
                  IPv4Network("10.0.0.0/31"): EXPLICIT_NULL}
    t.ldp_neighbors = ["p"]
    doc = json.loads(json.dumps(t.to_json()))
    assert [e["hops"][0]["out"] for e in doc["lfib"]] == [99, "pop", 0, "untagged"]
    assert RouterTables.from_json(doc) == t


def test_lfib_completion_untagged_where_no_downstream_label(labs):
    """A FEC the router binds a label to, but no next hop gave a label for (FRR installs no
    LSP then): the LFIB gets an untagged hop (pop, forward as IP), as Cisco's "No Label"."""
    lab, cp = labs("invisible-php")
    fec = f"{lab.nodes['pe2'].loopback}/32"
    itf = next(i for i in lab.nodes["p1"].interfaces if [x.node for x in i.peers()] == ["p2"])
    gw = str(itf.peers()[0].ip)
    routes = {fec: [{"selected": True, "protocol": "ospf",
                     "nexthops": [{"ip": gw, "interfaceName": itf.name, "active": True}]}]}
    bindings = {"bindings": [{"prefix": fec, "localLabel": "21", "neighborId": "0.0.0.0"}]}
    t = tables_from_frr(lab, "p1", routes, {}, bindings)
    e = t.lfib[21]
    assert [(h.out_label, h.neighbor) for h in e.hops] == [(None, "p2")] and str(e.fec) == fec
    # with FRR's LSP (a swap to p2's label), nothing is added
    mpls = {"21": {"inLabel": 21, "nexthops": [{"type": "LDP", "outLabel": 30, "nexthop": gw}]}}
    t = tables_from_frr(lab, "p1", routes, mpls, bindings)
    assert [(h.out_label, h.neighbor) for h in t.lfib[21].hops] == [(30, "p2")]


def test_a_next_hop_on_no_subnet_of_the_router_is_an_error_naming_it(labs):
    """FRR's mpls table gives a next hop address, not an interface: one on none of the router's
    subnets used to become a LabelHop without an interface (found by mypy: the interface is a
    str), which the engine could not send on; now it is an error naming the router and hop."""
    lab, _ = labs("invisible-php")
    mpls = {"21": {"inLabel": 21, "nexthops": [{"type": "LDP", "outLabel": 30, "nexthop": "203.0.113.9"}]}}
    with pytest.raises(RuntimeError, match="p1: FRR's next hop 203.0.113.9 is on none of the router's subnets"):
        tables_from_frr(lab, "p1", {}, mpls, {})


def test_vty_client_speaks_the_vtysh_protocol(tmp_path):
    """The command and a NUL out; output, three NULs and the status byte back; several
    commands on one connection; a missing daemon and a rejected command are VtyErrors."""
    path = tmp_path / "zebra.vty"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    seen = []

    def serve():
        c, _ = srv.accept()
        buf = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            buf += d
            while b"\0" in buf:
                cmd, buf = buf.split(b"\0", 1)
                seen.append(cmd.decode())
                if cmd == b"show bogus":
                    c.sendall(b"% Unknown command: show bogus\n" + b"\0\0\0\x02")
                else:
                    body = json.dumps({"cmd": cmd.decode(), "big": "x" * 100000}).encode()
                    c.sendall(body[:5000])
                    c.sendall(body[5000:] + b"\0\0\0\0")
        c.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    with VtyClient(tmp_path) as v:
        assert v.json("zebra", "show ip route json")["cmd"] == "show ip route json"
        assert v.json("zebra", "show mpls table json")["cmd"] == "show mpls table json"
        with pytest.raises(VtyError, match="status 2"):
            v.command("zebra", "show bogus")
        with pytest.raises(VtyError, match="ldpd is not running"):
            v.json("ldpd", "show mpls ldp binding json")
    th.join(5)
    srv.close()
    assert seen == ["show ip route json", "show mpls table json", "show bogus"]


# ---------------------------------------------------------------- live FRR
def _sig(hops):
    """What a prober sees of each hop, label values aside (they are each router's own)."""
    return [(h.address, h.icmp_type, h.icmp_code, h.reply_ttl, h.quoted_ttl, [t for _, t in h.labels], h.er_ttl)
            for h in hops]


def _frr_gone(pids):
    return [p for p, start in pids if nsutil.same_process(p, start)]


@pytest.mark.netns
@pytest.mark.frr
@pytest.mark.parametrize("name", ["invisible-php", "explicit"])
def test_frr_scores_exactly_like_the_computed_control_plane(name):
    from testbed.api import run as run_lab
    lab = load_lab(name)
    frr = run_lab(lab, runtime="netns", control_plane="frr", name=N(f"frr-{name}"))
    comp = run_lab(lab, runtime="netns", control_plane="computed", name=N(f"cmp-{name}"))
    assert frr["control_plane"] == "frr" and comp["control_plane"] == "computed"
    assert frr["frr"]["differences"] == [], frr["frr"]["differences"]
    assert frr["score"]["totals"] == comp["score"]["totals"]
    assert frr["score"]["perfect"] == comp["score"]["perfect"]
    for a, b in zip(frr["traces"], comp["traces"], strict=True):
        assert [h["address"] for h in a["hops"]] == [h["address"] for h in b["hops"]]
        assert [(t["class"], t["ingress"], t["egress"], t["lsrs"]) for t in a["tunnels"]] == \
            [(t["class"], t["ingress"], t["egress"], t["lsrs"]) for t in b["tunnels"]]
    for inst in (N(f"frr-{name}"), N(f"cmp-{name}")):
        assert teardown.leftovers(inst) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.fixture(scope="module")
def frr_lab():
    """invisible-php on FRR (and the same lab computed, for the signatures), for the tests
    below, which run in file order: signatures first, then ldpd killed on p2."""
    lab = load_lab("invisible-php")
    st = api.up(lab, name=N("frr-kill"), control_plane="frr")
    cst = None
    try:
        cst = api.up(lab, name=N("cmp-kill"))
        yield lab, st, cst
    finally:
        if cst is not None:
            api.down(N("cmp-kill"))
        recorded = frrrt.recorded_pids(state.read_state(N("frr-kill")) or st)
        api.down(N("frr-kill"))
        # (d) down leaves no FRR process: every recorded daemon and ldpd helper is gone
        assert recorded and not _frr_gone(recorded)
        assert teardown.leftovers(N("frr-kill")) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.mark.netns
@pytest.mark.frr
@NEEDS_SCAMPER
def test_probes_see_only_the_engine_in_frr_mode(frr_lab):
    """Router namespaces have kernel addresses in FRR mode, but the kernel never answers:
    the same trace and echo-reply TTLs as the computed lab, and one reply per echo."""
    lab, st, cst = frr_lab
    dst = str(lab.probes[0].targets[0])
    hops_frr = scamper.trace_with_pings(st["hosts"]["vp"], dst)
    hops_cmp = scamper.trace_with_pings(cst["hosts"]["vp"], dst)
    assert _sig(hops_frr) == _sig(hops_cmp)
    assert [lab.owner_of(h.address) for h in hops_frr] == ["ce1", "pe1", "pe2", "ce2", "dst"]
    # every address of p2, three echoes each: three replies (not six), with the reply TTL
    # the computed lab gives
    p2 = lab.nodes["p2"]
    before = frrrt.nft_counters(st["routers"]["p2"])["kernel-icmp"]
    addrs = [str(p2.loopback)] + [str(i.ip) for i in p2.interfaces]

    def pings(s):
        out = {}
        for d in scamper._run(s["hosts"]["vp"], ["-c", "ping -c 3", "-i"] + addrs, 60):
            if d.get("type") == "ping":
                rs = d.get("responses", [])
                assert len(rs) == 3 and {r["from"] for r in rs} == {d["dst"]}, d
                out[d["dst"]] = sorted(r["reply_ttl"] for r in rs)
        return out
    got = pings(st)
    assert sorted(got) == sorted(addrs) and got == pings(cst)
    # ... while p2's kernel did try to answer each of them: its output filter dropped them
    assert frrrt.nft_counters(st["routers"]["p2"])["kernel-icmp"] - before >= 3 * len(addrs)


@pytest.mark.netns
@pytest.mark.frr
@NEEDS_SCAMPER
def test_killing_ldpd_on_an_lsr_changes_the_lfib_and_the_trace(frr_lab):
    lab, st, _ = frr_lab
    name = N("frr-kill")
    dst = str(lab.probes[0].targets[0])
    fec = IPv4Network(f"{lab.nodes['pe2'].loopback}/32")   # pe1's BGP next hop toward dst
    gen0, tables = frrrt.read_tables(frrrt.tables_path(name))
    lbl = tables["p1"].bindings[fec]
    assert [(h.neighbor, h.out_label not in (None, IMPLICIT_NULL)) for h in tables["p1"].lfib[lbl].hops] == \
        [("p2", True)]                                       # p1 swaps to p2's label
    assert tables["p2"].lfib
    ldpd = next(d for d in st["frr"]["daemons"] if d["router"] == "p2" and d["daemon"] == "ldpd")
    assert nsutil.same_process(ldpd["pid"], ldpd["start_time"])
    t0 = time.monotonic()
    os.kill(ldpd["pid"], signal.SIGTERM)
    # the sync process writes FRR's new state; every worker loads it
    while True:
        gen, tables = frrrt.read_tables(frrrt.tables_path(name))
        loaded = min(w.get("generation", 0) for w in state.self_registered_workers(name))
        e = tables["p1"].lfib.get(tables["p1"].bindings.get(fec))
        if gen > gen0 and loaded >= gen and e and [h.out_label for h in e.hops] == [None]:
            break
        assert time.monotonic() - t0 < 15, (gen, loaded, e)
        time.sleep(0.2)
    # ldpd's helpers went with it
    assert not _frr_gone([(c["pid"], c["start_time"]) for c in ldpd["children"]])
    assert not tables["p2"].lfib and not tables["p2"].bindings
    assert [(h.neighbor, h.out_label) for h in e.hops] == [("p2", None)]
    assert api.status(name)["status"] == "up"
    hops = scamper.trace_with_pings(st["hosts"]["vp"], dst, fingerprint=False)
    # Before: ce1 pe1 pe2 ce2 dst, the LSRs hidden (pipe TTL). Now p2 has no LDP session:
    # p1 lost p2's label for pe2's loopback and pops (untagged) what pe1 still pushes, so
    # the probe goes on as IP from p1, whose IP-TTL check makes it answer; p2 and p3 route
    # it as plain IP (p3 has no label from p2 either and pe2 is next: implicit null). Every
    # LSR shows up, like a real network whose LSR lost LDP while its IGP stayed up.
    assert [lab.owner_of(h.address) for h in hops] == ["ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2", "dst"]
    assert time.monotonic() - t0 < 20


@pytest.mark.netns
@pytest.mark.frr
def test_a_lab_whose_frr_cannot_converge_fails_and_leaves_nothing(monkeypatch):
    """p2's OSPF hello interval toward p3 broken (2 s against 1 s): the adjacency never
    forms, `up` fails within its timeout naming the routers and quoting ospfd's log, and
    tears everything down: no namespace, no FRR process of the recorded PIDs, no run folder."""
    lab = load_lab("invisible-php")
    name = N("frr-broken")

    def hook(lab_, router, d: Path):
        if router == "p2":
            conf = d / "ospfd.conf"
            txt = conf.read_text()
            head, sep, tail = txt.partition("interface eth1\n")
            conf.write_text(head + sep + tail.replace("ip ospf hello-interval 1", "ip ospf hello-interval 2", 1))
    started = []
    orig = frrrt.start_daemons

    def spy(*a, **kw):
        try:
            return orig(*a, **kw)
        finally:
            started[:] = a[3]["frr"]["daemons"]          # every record so far (state.json goes)
    monkeypatch.setattr(frrrt, "CONFIG_HOOK", hook)
    monkeypatch.setattr(frrrt, "start_daemons", spy)
    t0 = time.monotonic()
    with pytest.raises(errors.TestbedError) as ei:
        api.up(lab, name=name, control_plane="frr", converge_timeout=12)
    took = time.monotonic() - t0
    msg = str(ei.value)
    assert took < 12 + 10, took
    assert "did not converge within 12 s" in msg
    assert "p2: OSPF not full with p3" in msg and "p3: OSPF not full with p2" in msg
    assert "ospfd.log" in msg and "mismatch" in msg.lower()       # ospfd's own words, quoted
    assert all(d["pid"] for d in started) and len([d for d in started if d["daemon"] != "ldpd"]) == 7 * 2
    assert all(len(d["children"]) == 2 for d in started if d["daemon"] == "ldpd")   # lde, ldpe
    pids = [(d["pid"], d["start_time"]) for d in started]
    pids += [(c["pid"], c["start_time"]) for d in started for c in d["children"]]
    assert not _frr_gone(pids)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
    assert api.status(name)["status"] == "down"


@pytest.mark.netns
@pytest.mark.frr
def test_cli_run_on_frr_scores_like_the_default():
    """What CI checks: `testbed run invisible-php --control-plane frr` scores as the default."""
    def run(*extra):
        r = subprocess.run(TESTBED + ["run", "invisible-php", "--json"] + list(extra), capture_output=True,
                           text=True, cwd=REPO)
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(r.stdout)
    frr = run("--control-plane", "frr", "--name", N("frr-cli"))
    default = run("--name", N("cmp-cli"))
    assert frr["control_plane"] == "frr" and default["control_plane"] == "computed"
    assert frr["score"]["totals"] == default["score"]["totals"] and frr["score"]["perfect"]


@pytest.mark.netns
@pytest.mark.frr
def test_ctrl_c_during_convergence_leaves_no_frr_process():
    name = N("frr-int")
    p = subprocess.Popen(TESTBED + ["up", "invisible-php", "--control-plane", "frr", "--name", name],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    recorded = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = state.read_state(name) or {}
            recs = (st.get("frr") or {}).get("daemons", [])
            if len([d for d in recs if d.get("pid")]) >= 14:       # zebra and ospfd everywhere
                recorded = frrrt.recorded_pids(st)
                break
            time.sleep(0.01)
        assert recorded, "the daemons never showed up in state.json"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        api.down(name)
    assert p.returncode == 130, err[-1500:]
    assert not _frr_gone(recorded)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.mark.netns
@pytest.mark.frr
def test_router_vantage_point_on_frr_traces_like_the_computed_control_plane():
    """split-pipe's pe1 probes with its own stack (its vptap and prober namespace) while FRR's
    zebra, ospfd and ldpd run in pe1's namespace: the engine's tables come from FRR, and the
    router vantage point's trace, hop for hop, and its verdicts are those of the computed run."""
    def run(*extra):
        r = subprocess.run(TESTBED + ["run", "split-pipe", "--json", "--seed", "0"] + list(extra),
                           capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(r.stdout)
    frr = run("--control-plane", "frr", "--name", N("frr-rvp"))
    default = run("--name", N("cmp-rvp"))
    assert frr["truth_source"] == "frr"

    def rows(out):
        return {t["vantage_point"]: [(h["address"], h.get("reply_ttl"), [x["label"] for x in h.get("labels") or []])
                                     for h in t["hops"]] for t in out["traces"]}
    assert set(rows(frr)) == {"vp", "pe1"}
    # the labels are FRR's own allocation, the rest is the same
    strip = {vp: [(a, r) for a, r, _ in hops] for vp, hops in rows(frr).items()}
    assert strip == {vp: [(a, r) for a, r, _ in hops] for vp, hops in rows(default).items()}
    assert all(labels for _, _, labels in rows(frr)["pe1"][:3])     # p1..p3 quote their LSE (explicit)

    def verdicts(out):
        return {(s["vantage_point"], v["truth"]["class"]): v["verdict"] for s in out["score"]["traces"]
                for v in s["verdicts"]}
    assert verdicts(frr) == verdicts(default)
    assert verdicts(frr)[("pe1", "explicit")] == "partly: ingress"
    reason = [v.get("reason") for s in frr["score"]["traces"] if s["vantage_point"] == "pe1" for v in s["verdicts"]]
    assert reason[0].startswith("router-vp-ingress: ")


TWO_HOP_SESSION_LAB = """\
name: ldp-two-hops
description: pe1 and pe2 are LDP neighbours whose session's best route runs through p1
routers: {pe1: {}, p1: {}, pe2: {}}
hosts: {vp: {}, dst: {}}
links:
  - {lan: [pe1, vp], name: vp-lan}
  - {endpoints: [pe1, pe2], cost: 30}
  - [pe1, p1]
  - [p1, pe2]
  - {lan: [pe2, dst], name: dst-lan}
mpls:
  core: {routers: [pe1, p1, pe2], ldp: all}
probes:
  - {from: vp, to: dst}
"""


@pytest.mark.netns
@pytest.mark.frr
def test_ldp_session_whose_route_crosses_a_third_router_comes_up(tmp_path):
    """pe1 and pe2 share a link (their LDP hellos meet on it), but the IGP's route between
    their loopbacks, the session's transport addresses, goes through p1 (cost 20 < 30), as
    on the imported AT&T lab's equal-cost pairs. The session's TCP segments then cross p1,
    which only its engine forwards: it needs FRR's tables while FRR converges, segments with
    finished checksums (no TX offload on router interfaces), and ldpd without GTSM (it would
    drop them for their TTL of 254). Any one missing: `up` times out on LDP pe1-pe2."""
    f = tmp_path / "ldp-two-hops.yaml"
    f.write_text(TWO_HOP_SESSION_LAB)
    lab = load_lab(str(f))
    name = N("frr-2hop")
    try:
        api.up(lab, name=name, control_plane="frr", converge_timeout=45)
        pe1 = state.read_state(name)["routers"]["pe1"]
        loop2 = str(lab.nodes["pe2"].loopback)
        route = subprocess.run(["ip", "netns", "exec", pe1, "ip", "route", "get", loop2], capture_output=True,
                               text=True, check=True).stdout
        p1_addr = next(str(i.address.ip) for i in lab.nodes["p1"].interfaces
                       if any(p.node == "pe1" for p in i.peers()))
        assert f"via {p1_addr} " in route, route           # the session's way is through p1
        c = VtyClient(frrrt.router_dir(name, "pe1"))
        try:
            nbrs = {n["neighborId"]: n["state"] for n in c.json("ldpd", "show mpls ldp neighbor json")["neighbors"]}
        finally:
            c.close()
        assert nbrs.get(loop2) == "OPERATIONAL", nbrs
    finally:
        api.down(name)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
