"""One lab across machines (issue 23): a lab split onto two stand-in machines (namespaces
joined by a veth underlay), each running the big-lab engine for its routers, the cut links
carried by real kernel VXLAN devices between the machines' underlay addresses. Real tools on
real packets, compared hop for hop with the sim:

- a ring-with-chords lab of 40 routers cut across two hosts: uTNT on vp's tap, Debian's
  scamper from the router vantage point r0, the same as the sim; the cut links' frames seen
  as UDP 4789 on the underlay; teardown leaves no namespace, device or process;
- five-vp cut across three hosts: uTNT from the five vantage points' taps, as on the sim;
- the partition (balanced, seeded, fewer cut links than a naive split) and the plan's
  validation (one line per problem, nothing built).
"""
from __future__ import annotations

import copy
import re
import shutil
import subprocess

import pytest

from labnames import N
from testbed import errors
from testbed.controlplane import build
from testbed.probing import probe_lab
from testbed.lab import load_lab
from testbed.runtimes import bigrt
from testbed.runtimes.bigrt import split as sp
from testbed.runtimes.bigrt import vxlan
from testbed.runtimes.bigrt.shapes import ring_chord
from testbed.runtimes.netns import api, nsutil, teardown
from testbed.runtimes.netns.names import prefix

from test_bigrt import _same_scamper, _sim_as_on_the_tap, root_links, utnt_row

HOSTS = {"h1": "10.231.0.1", "h2": "10.231.0.2"}


def ring(tmp_path, n=40):
    f = tmp_path / f"ring{n}.yaml"
    f.write_text(ring_chord(n))
    return load_lab(str(f), no_limits=True)


# ------------------------------------------------------------------ pure: partition and plan
def test_partition_is_balanced_seeded_and_cuts_few_links(tmp_path):
    lab = ring(tmp_path, 400)
    a = sp.split_lab(lab, HOSTS, seed=1)
    assert a == sp.split_lab(lab, HOSTS, seed=1)
    sizes = [len(h["routers"]) for h in a["hosts"]]
    assert sum(sizes) == 400 and max(sizes) - min(sizes) <= 8
    # a naive split (the first half of the routers on h1) cuts the chords across the halves
    naive = sp.cut_links(lab, {**{f"r{i}": "h1" if i < 200 else "h2" for i in range(400)},
                               "vp": "h1", "dst": "h2"})
    assert 0 < a["summary"]["cut_links"] < len(naive)
    # and no worse than networkx's Kernighan-Lin bisection of the same routers (best of 3 seeds)
    import networkx as nx
    g = nx.Graph()
    g.add_edges_from(tuple(i.node for i in ln.interfaces) for ln in lab.links
                     if ln.kind == "p2p" and all(lab.nodes[i.node].is_router for i in ln.interfaces))
    kl = min(sum(1 for u, v in g.edges if (u in side) != (v in side))
             for side in (nx.algorithms.community.kernighan_lin_bisection(g, seed=s)[0] for s in range(3)))
    assert a["summary"]["cut_links"] <= kl
    assert [c["vni"] for c in a["cut"]] == list(range(sp.VNI_BASE, sp.VNI_BASE + len(a["cut"])))
    assert sp.check_plan(a, lab, "p.json") == []
    # a LAN or a link with a host is never cut: r0 goes with vp, r200 with dst
    where = {r: h["name"] for h in a["hosts"] for r in h["routers"]}
    assert "vp" in next(h for h in a["hosts"] if h["name"] == where["r0"])["lab_hosts"]
    four = sp.split_lab(lab, {f"h{i}": f"10.231.0.{i}" for i in range(1, 5)}, seed=3)
    assert sorted(len(h["routers"]) for h in four["hosts"])[0] >= 90 and sp.check_plan(four, lab) == []


def test_a_bad_plan_is_one_line_per_problem(tmp_path):
    lab = ring(tmp_path)
    doc = sp.split_lab(lab, HOSTS, seed=1)
    bad = copy.deepcopy(doc)
    bad["hosts"][1]["underlay"] = "not-an-ip"
    bad["cut"][0]["vni"] = 0
    bad["hosts"][0]["routers"].append(bad["hosts"][1]["routers"][0])
    probs = [str(p) for p in sp.check_plan(bad, lab, "plan.json")]
    assert any("hosts[1].underlay: 'not-an-ip' is not an IP address" in p for p in probs)
    assert any(p.startswith("plan.json: hosts[1].routers: router ") and "each router on one host" in p
               for p in probs)
    assert all("\n" not in p and p.startswith("plan.json: ") for p in probs)
    bad = copy.deepcopy(doc)
    bad["cut"][0]["vni"] = 0
    bad["cut"].pop()
    probs = [str(p) for p in sp.check_plan(bad, lab, "plan.json")]
    assert any(p.startswith("plan.json: cut[0].vni: 0 is not a VXLAN id") for p in probs)
    assert any("has no VXLAN; split the lab again" in p for p in probs)
    other = ring(tmp_path, 41)
    assert any("fingerprint" in str(p) for p in sp.check_plan(doc, other, "plan.json"))
    with pytest.raises(errors.InputError):
        sp.parse_hosts("h1=10.0.0.1,h1=10.0.0.2")
    with pytest.raises(errors.InputError):
        sp.parse_hosts("h1=999.0.0.1,h2=10.0.0.2")
    with pytest.raises(errors.InputError):
        sp.parse_hosts("h1=10.0.0.1,h2=fd00::2")
    mixed = copy.deepcopy(doc)
    mixed["hosts"][1]["underlay"] = "fd00::2"
    assert [p.field for p in sp.check_plan(mixed, lab)] == ["hosts"]


def test_mangled_plans_are_problems_never_crashes(tmp_path):
    """Seeded random damage to a plan (values swapped for other types, keys dropped, lists
    emptied): check_plan answers with one-line problems, never an exception; load_plan turns
    files that are not JSON into one line."""
    import random
    lab = ring(tmp_path)
    doc = sp.split_lab(lab, HOSTS, seed=1)
    rnd = random.Random(23)
    junk = [None, 0, -1, 1 << 40, "", "x", [], {}, [None], {"a": 1}, True, 1.5]

    def paths(x, pre=()):
        yield pre
        if isinstance(x, dict):
            for k, v in x.items():
                yield from paths(v, pre + (k,))
        elif isinstance(x, list):
            for i, v in enumerate(x[:3]):
                yield from paths(v, pre + (i,))
    every = [p for p in paths(doc) if p]
    flagged = 0
    for _ in range(300):
        bad = copy.deepcopy(doc)
        for p in rnd.sample(every, rnd.randint(1, 3)):
            try:
                parent = bad
                for k in p[:-1]:
                    parent = parent[k]
                if rnd.random() < 0.2 and isinstance(parent, dict):
                    parent.pop(p[-1], None)
                else:
                    parent[p[-1]] = rnd.choice(junk)
            except (KeyError, IndexError, TypeError):
                pass
        probs = sp.check_plan(bad, lab, "p.json")
        assert all("\n" not in str(x) and str(x).startswith("p.json:") for x in probs)
        flagged += bool(probs)
    assert flagged > 200
    for text in (b"[" * 100000, b"\xff\xfe", b"{", b"3"):
        f = tmp_path / "p.json"
        f.write_bytes(text)
        with pytest.raises(errors.InputError) as e:
            sp.load_plan(str(f))
        assert "\n" not in str(e.value) and str(e.value).startswith(str(f))


# ------------------------------------------------------------------ on two stand-in machines
def _up_split(lab, doc, tag, nss):
    names = {}
    try:
        for h in nss:
            names[h] = N(f"{tag}-{h}")
            bigrt.up(lab, name=names[h], workers=1, split=(doc, h, nss[h]))
        return names
    except BaseException:
        for n in names.values():
            bigrt.down(n)
        raise


def _down_all(names, nss):
    for n in names.values():
        bigrt.down(n)
        assert teardown.leftovers(n) == {"namespaces": [], "processes": [], "run_dir": []}
    for ns in nss.values():          # the VXLAN devices went with the lab's core namespaces
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", "type", "vxlan"], capture_output=True,
                             text=True, check=True).stdout
        assert out == ""


def _instance_of(doc, names, node):
    for h in doc["hosts"]:
        if node in h["routers"] or node in h["lab_hosts"]:
            return names[h["name"]]
    raise AssertionError(node)


def _same_utnt_split(lab, doc, names, jobs, seed=0):
    cp = build(lab)
    out = []
    for src, targets in jobs:
        name = _instance_of(doc, names, src)
        net = probe_lab(lab, "netns", [(src, targets)], [], name=name, seed=seed)
        sim = _sim_as_on_the_tap(lab, cp, name, src, targets, seed)
        assert len(net) == len(sim) == len(targets)
        for a, b in zip(net, sim):
            assert a["hops"] and [utnt_row(h) for h in a["hops"]] == [utnt_row(h) for h in b["hops"]]
        out += net
    return out


needs_tools = pytest.mark.skipif(not shutil.which("scamper") or not shutil.which("tcpdump"),
                                 reason="Debian's scamper and tcpdump are needed")


@pytest.mark.netns
@needs_tools
def test_ring_across_two_hosts_over_vxlan_matches_the_sim(tmp_path):
    lab = ring(tmp_path, 40)
    doc = sp.split_lab(lab, HOSTS, seed=1)
    where = {r: h["name"] for h in doc["hosts"] for r in h["routers"]}
    dst = str(lab.nodes["dst"].primary_address())
    before = root_links()
    tag = N("pt-spr")
    with vxlan.underlay(tag, HOSTS) as nss:
        names = _up_split(lab, doc, "pt-spr", nss)
        try:
            for h in doc["hosts"]:
                st = api.status(names[h["name"]])
                assert st["status"] == "up"
                links = subprocess.run(["ip", "-n", st["switch"], "-o", "link", "show", "type", "vxlan"],
                                       capture_output=True, text=True, check=True).stdout
                assert len(links.splitlines()) == h["cut_links"] > 0
                mine = [n for n in nsutil.list_netns() if n.startswith(prefix(names[h["name"]]))]   # this lab's only
                assert mine and not any(n.endswith("." + r) for n in mine for r in h["routers"])
            # the underlay carries the cut links: UDP to port 4789 between the hosts' addresses
            cap = subprocess.Popen(["ip", "netns", "exec", nss["h1"], "tcpdump", "-l", "-n", "-c", "4", "-i", "ul0",
                                    "udp", "port", "4789"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
            try:
                first = [cap.stderr.readline() for _ in range(2)]      # capturing before the probes
                assert any("listening on ul0" in ln for ln in first), first
                split_traces = _same_utnt_split(lab, doc, names, [("vp", [dst])])
                on_path = {lab.owner_of(h["address"]) for h in split_traces[0]["hops"] if h["address"]}
                assert {where[r] for r in on_path if r in where} == {"h1", "h2"}     # the trace crosses
                out, _ = cap.communicate(timeout=20)
            finally:
                if cap.poll() is None:
                    cap.kill()
                    cap.wait()
            got = re.findall(r"IP 10\.231\.0\.([12])\.\d+ > 10\.231\.0\.([12])\.4789: VXLAN.* vni (\d+)", out)
            assert len(got) == 4 and all(a != b for a, b, _ in got), out
            assert {int(v) for _, _, v in got} <= {c["vni"] for c in doc["cut"]}
            assert f"> {dst}: ICMP echo request" in out
            _same_scamper(lab, build(lab), api.prober_namespace(_instance_of(doc, names, "r0"), "r0"), "r0", dst)
        finally:
            _down_all(names, nss)
    # and the same as the single-host big-lab runtime on the same lab
    one = N("pt-spr1")
    try:
        bigrt.up(lab, name=one, workers=2)
        single = probe_lab(lab, "netns", [("vp", [dst])], [], name=one, seed=0)
    finally:
        bigrt.down(one)
    assert [[utnt_row(h) for h in t["hops"]] for t in single] == \
        [[utnt_row(h) for h in t["hops"]] for t in split_traces]
    assert root_links() == before
    assert not [n for n in nsutil.list_netns() if n.startswith(f"tbu-{tag}")]


@pytest.mark.netns
@needs_tools
def test_five_vp_across_three_hosts_matches_the_sim():
    """N machines: five-vp on three, the vantage points' traces crossing two cut links."""
    lab = load_lab("five-vp")
    three = {**HOSTS, "h3": "10.231.0.3"}
    doc = sp.split_lab(lab, three, seed=2)
    assert doc["summary"]["cut_links"] >= 2 and all(h["routers"] for h in doc["hosts"])
    with vxlan.underlay(N("pt-spf"), three) as nss:
        names = _up_split(lab, doc, "pt-spf", nss)
        try:
            jobs = [(p.source, [str(t) for t in p.targets]) for p in lab.probes]
            net = _same_utnt_split(lab, doc, names, jobs, seed=1)
            assert all(t["tunnels"] and t["tunnels"][0]["class"] == "INV" for t in net)
        finally:
            _down_all(names, nss)


@pytest.mark.netns
def test_a_plan_for_another_lab_builds_nothing(tmp_path):
    lab = ring(tmp_path, 40)
    doc = sp.split_lab(ring(tmp_path, 41), HOSTS, seed=1)
    name = N("pt-spbad")
    with pytest.raises(errors.LabError) as e:
        bigrt.up(lab, name=name, split=(doc, "h1", None))
    assert "plan: lab: the plan is for lab 'ring41'" in str(e.value)
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
    # the right lab, the wrong host for this machine: its underlay address is not here
    with vxlan.underlay(N("pt-spwu"), HOSTS) as nss:
        with pytest.raises(errors.InputError) as e:
            bigrt.up(lab, name=name, split=(sp.split_lab(lab, HOSTS, seed=1), "h2", nss["h1"]))
        assert "host h2's underlay address 10.231.0.2 is not an address of namespace" in str(e.value)
        assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
    # a lab file by name: the engine starts loading it while `up` does; the plan is checked once
    # `up` has the lab, and what was started is torn down
    with vxlan.underlay(N("pt-spbu"), HOSTS) as nss:
        with pytest.raises(errors.LabError) as e:
            bigrt.up(lab.source, name=name, split=(doc, "h1", nss["h1"]))
        assert "the plan is for lab 'ring41'" in str(e.value)
        assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}


@pytest.mark.netns
def test_a_failed_vxlan_step_tears_everything_down(tmp_path):
    """Another VXLAN on the machine already uses the plan's last VXLAN id (another split lab
    with the same --vni-base): the kernel refuses that device after the namespaces, the engine
    and the other devices exist; `up` removes all of it and says so in one line."""
    lab = ring(tmp_path, 40)
    doc = sp.split_lab(lab, HOSTS, seed=1)
    last = doc["cut"][-1]["vni"]
    name = N("pt-spfail")
    with vxlan.underlay(N("pt-spfu"), HOSTS) as nss:
        subprocess.run(["ip", "-n", nss["h1"], "link", "add", "other", "type", "vxlan", "id", str(last), "local",
                        HOSTS["h1"], "remote", HOSTS["h2"], "dstport", "4789"], check=True)
        with pytest.raises(errors.TestbedError) as e:
            bigrt.up(lab, name=name, split=(doc, "h1", nss["h1"]))
        assert "VXLAN" in str(e.value) and "already exists" in str(e.value) and "\n" not in str(e.value)
        assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
        out = subprocess.run(["ip", "-n", nss["h1"], "-o", "link", "show", "type", "vxlan"], capture_output=True,
                             text=True, check=True).stdout
        assert [ln.split(":")[1].strip() for ln in out.splitlines()] == ["other"]


def test_cli_split_and_a_bad_plan_on_up(tmp_path):
    """`testbed split` writes the plan (and prints it with --json); `testbed up --plan` with a
    broken plan says one line per problem, exit 2, before anything is built."""
    import json
    import sys
    f = tmp_path / "ring40.yaml"
    f.write_text(ring_chord(40))
    plan = tmp_path / "plan.json"
    tb = [sys.executable, "-m", "testbed.cli"]
    r = subprocess.run(tb + ["split", str(f), "--hosts", "h1=10.231.0.1,h2=10.231.0.2", "-o", str(plan), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == json.loads(plan.read_text()) and doc["format"] == "utnt-split"
    assert sorted(sum((h["routers"] for h in doc["hosts"]), [])) == sorted(f"r{i}" for i in range(40))
    doc["hosts"][1]["underlay"] = "10.231.0.1"
    doc["cut"][0]["vni"] = 1 << 24
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    name = N("pt-spcli")
    r = subprocess.run(tb + ["up", str(f), "--runtime", "bigrt", "--plan", str(bad), "--host", "h1",
                             "--name", name], capture_output=True, text=True)
    errs = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert r.returncode == 2 and len(errs) == 2, r.stderr
    assert errs[0].startswith(f"error: {bad}: hosts[1].underlay: 10.231.0.1 is given to two hosts")
    assert errs[1].startswith(f"error: {bad}: cut[0].vni: 16777216 is not a VXLAN id")
    assert teardown.leftovers(name) == {"namespaces": [], "processes": [], "run_dir": []}
    r = subprocess.run(tb + ["split", str(f), "--hosts", "h1=10.231.0.1"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("error: ") == 1 and "at least two hosts" in r.stderr


@pytest.mark.netns
def test_ctrl_c_during_a_split_up_leaves_nothing(tmp_path):
    """SIGINT to `testbed up --plan` once its VXLAN devices exist (the engine is still coming
    up): exit 130, no namespace, process, run folder or VXLAN device left."""
    import json
    import signal
    import sys
    import time
    from testbed.runtimes.netns import state
    f = tmp_path / "ring40.yaml"
    f.write_text(ring_chord(40))
    lab = load_lab(str(f), no_limits=True)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(sp.split_lab(lab, HOSTS, seed=1)))
    name = N("pt-spint")
    with vxlan.underlay(N("pt-spiu"), HOSTS) as nss:
        p = subprocess.Popen([sys.executable, "-m", "testbed.cli", "up", str(f), "--runtime", "bigrt", "--plan",
                              str(plan), "--host", "h1", "--underlay-netns", nss["h1"], "--name", name],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and p.poll() is None:
                st = state.read_state(name) or {}
                if "vxlan" in (st.get("timings") or {}) and st.get("status") == "building":
                    break
                time.sleep(0.02)
            assert p.poll() is None, "up ended before its VXLAN step could be interrupted"
            devs = subprocess.run(["ip", "-n", st["switch"], "-o", "link", "show", "type", "vxlan"],
                                  capture_output=True, text=True).stdout.splitlines()
            assert len(devs) == json.loads(plan.read_text())["hosts"][0]["cut_links"] > 0
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
            left = teardown.leftovers(name)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            if teardown.leftovers(name) != {"namespaces": [], "processes": [], "run_dir": []}:
                teardown.down(name)          # only after the checks below have what `up` left
        assert p.returncode == 130, err
        assert left == {"namespaces": [], "processes": [], "run_dir": []}
        for ns in nss.values():
            assert subprocess.run(["ip", "-n", ns, "-o", "link", "show", "type", "vxlan"], capture_output=True,
                                  text=True, check=True).stdout == ""
