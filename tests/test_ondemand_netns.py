"""Many uTNT instances at once on a running lab, and the on-demand experiment.

20 concurrent instances (each on its own tap, address and MAC) must give the same per-trace
results as one instance at a time, on invisible-php (20 on one LAN) and on five-vp (4 on
each of 5 LANs); the on-demand scheduler drops events when every node is busy."""
import subprocess

import pytest

from testbed.errors import TestbedError as BadInput
from testbed.experiments.ondemand import ondemand
from testbed.experiments.ondemand_runtimes import traces_from_tnt_dump
from testbed.experiments.parallel import Entry, canonical, entries_for, load_campaign, probe_many
from testbed.lab import load_lab
from testbed.runtimes.netns import api
from testbed.runtimes.netns.instances import free_addresses, lease_instance, release_instance

pytestmark = pytest.mark.netns


LAB_PREFIX = "od"       # lab names of the shared `running` fixture (conftest.py)


@pytest.mark.parametrize("name,repeat", [("invisible-php", 20), ("five-vp", 4)])
def test_twenty_concurrent_instances_match_sequential_runs(running, name, repeat):
    lab = load_lab(name)
    inst = running(name)
    seq = probe_many(lab, inst, entries_for(lab), parallel=1)
    assert seq["score"]["perfect"], seq["score"]
    want = {(r["vp"], tr["dst"]): canonical(tr) for r, trs in
            ((r, [t for t in seq["traces"] if t["src"] == r["address"]]) for r in seq["instances"]) for tr in trs}
    assert len(want) == len(lab.probes)
    par = probe_many(lab, inst, entries_for(lab, repeat=repeat), parallel=20)
    assert par["summary"]["instances"] == 20 and par["summary"]["completed"] == 20, par["summary"]
    assert par["score"]["perfect"], par["score"]
    # each instance had its own address, MAC and tap, all on its vantage point's LAN
    assert len({r["address"] for r in par["instances"]}) == 20
    assert len({r["mac"] for r in par["instances"]}) == 20
    assert len({r["tap"] for r in par["instances"]}) == 20
    lab_addrs = {str(i.ip) for n in lab.nodes.values() for i in n.interfaces}
    for r in par["instances"]:
        assert r["address"] not in lab_addrs
        host_net = lab.nodes[r["vp"]].interfaces[0].address.network
        assert r["address"] in {str(a) for a in host_net.hosts()}
        # measured from outside uTNT: memory and the first probe seen in the switch namespace.
        # Peak RSS is the kernel's (wait4 at reap), so every instance has it: a Python process
        # is over 5 MB. PSS is sampled; an instance whose whole run fell between two samples
        # (seen twice in loaded CI runs, 20 threads on 2 cores) has none: 0, never a wrong figure
        assert r["rss_kb"] > 5000, r
        assert r["pss_kb"] == 0 or (r["pss_kb"] > 1000 and r["rss_kb"] >= r["pss_kb"])
        assert r["first_probe_s"] is not None and 0 < r["first_probe_s"] < r["seconds"]
    sampled = [r for r in par["instances"] if r["pss_kb"]]
    assert len(sampled) >= 15, [r["pss_kb"] for r in par["instances"]]
    assert par["summary"]["median_pss_kb"] > 1000
    for r in par["instances"]:
        tr = [t for t in par["traces"] if t["src"] == r["address"]]
        assert len(tr) == 1 and tr[0]["src"] == r["address"]
        assert canonical(tr[0]) == want[(r["vp"], tr[0]["dst"])], (r["vp"], r["address"])
    # instances leave nothing behind: no tap on a bridge, no address lease
    sw = api.status(inst)["switch"]
    links = subprocess.run(["ip", "-n", sw, "-o", "link"], capture_output=True, text=True).stdout
    assert not [r["tap"] for r in par["instances"] if f" {r['tap']}:" in links]
    from testbed.runtimes.netns import state
    assert not list((state.run_dir(inst) / "instances").iterdir())


def test_readme_probe_from_all_command_runs_as_typed(running):
    """The README's `testbed probe five-vp --from all --repeat 4 --parallel 20`, run as a user
    types it (the lab under this run's name): it exited 2 ('not a node of the lab') because the
    running-lab check read 'all' as a node name."""
    import json
    import sys
    from pathlib import Path
    inst = running("five-vp")
    testbed = str(Path(sys.executable).with_name("testbed"))
    r = subprocess.run([testbed, "probe", inst, "--from", "all", "--repeat", "4", "--parallel", "20", "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    assert doc["summary"]["instances"] == 20 and doc["summary"]["completed"] == 20, doc["summary"]
    assert doc["score"]["perfect"], doc["score"]
    # a list of vantage points is checked name by name, with one line naming the bad one
    r = subprocess.run([testbed, "probe", inst, "--from", "vp1,nosuchvp"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "--from nosuchvp: not a node of the lab" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_leases_never_clash_with_the_lab_or_each_other(running):
    lab = load_lab("invisible-php")
    inst = running("invisible-php")
    att = api.attachment(inst, "vp")
    free = free_addresses(lab, att)
    assert att["address"] not in {str(a) for a in free}
    assert not {str(a) for a in free} & {str(i.ip) for i in lab.nodes["ce1"].interfaces + lab.nodes["vp"].interfaces}
    a, b = lease_instance(lab, inst, "vp"), lease_instance(lab, inst, "vp")
    try:
        assert a["address"] != b["address"] and a["mac"] != b["mac"] and a["tap"] != b["tap"]
        assert a["address"] == str(free[0]) and b["address"] == str(free[1])
    finally:
        release_instance(inst, a)
        release_instance(inst, b)
    c = lease_instance(lab, inst, "vp")
    release_instance(inst, c)
    assert c["address"] == a["address"]          # released leases are reused
    # a campaign's earlier addresses are taken again only when no other is free, so each of
    # its instances keeps an address (and MAC and tap) of its own
    d = lease_instance(lab, inst, "vp", avoid={a["address"], b["address"]})
    release_instance(inst, d)
    assert d["address"] == str(free[2])
    e = lease_instance(lab, inst, "vp", avoid={str(x) for x in free})
    release_instance(inst, e)
    assert e["address"] == str(free[0])


def test_ondemand_drops_events_when_every_node_is_busy(running):
    lab = load_lab("invisible-php")
    inst = running("invisible-php")
    # one node, events 10 ms apart: a uTNT run takes far longer than the 30 ms they span (a
    # Python start, TNT's revelation traces), so the events fired while it runs find no free node
    doc = ondemand(lab, name=inst, events=4, interval=0.01, nodes=1, runtimes=["utnt-process"])
    r = doc["runtimes"][0]
    assert [x["status"] for x in r["rows"]] == ["completed", "dropped", "dropped", "dropped"]
    assert (r["completed"], r["dropped"], r["failed"]) == (1, 3, 0)
    assert r["accuracy"] == 1.0 and r["traces_correct"] == 1
    assert r["mean_event_s"] > 0.03 and len(r["completions"]) == 1        # longer than the events' span


def test_ondemand_skips_a_missing_runtime_with_one_line(running, monkeypatch):
    from testbed.experiments import ondemand_runtimes as rts
    monkeypatch.setattr(rts.TntProcess, "RUNNER", "testbed.no_such_runner")
    lab = load_lab("invisible-php")
    doc = ondemand(lab, name=running("invisible-php"), events=1, interval=0.1, nodes=1,
                   runtimes=["tnt-process"])
    assert doc["runtimes"] == []
    assert len(doc["skipped"]) == 1 and "testbed.no_such_runner" in doc["skipped"][0]["reason"]


def test_campaign_file_is_validated_with_file_line_and_field(tmp_path):
    lab = load_lab("five-vp")
    f = tmp_path / "c.yaml"
    f.write_text("vantage_points: [vp1, vp4]\ndestinations: [dst]\nstart_times: {every: 0.5, count: 3}\n")
    got = load_campaign(lab, str(f))
    dst = str(lab.nodes["dst"].primary_address())
    assert [(e.vp, e.dst, e.start) for e in got] == [(vp, dst, t) for t in (0.0, 0.5, 1.0) for vp in ("vp1", "vp4")]
    f.write_text("vantage_points: all\ndestinations: [dst]\nstart_time: [0]\n")
    with pytest.raises(BadInput, match=r"c.yaml:3: field: unknown field \(did you mean start_times\?\)"):
        load_campaign(lab, str(f))
    f.write_text("vantage_points: [vp1, pe1]\ndestinations: [dst]\n")
    with pytest.raises(BadInput, match=r"c.yaml:1: vantage_points: not all are hosts of five-vp"):
        load_campaign(lab, str(f))
    f.write_text("vantage_points: all\ndestinations: [nowhere]\n")
    with pytest.raises(BadInput, match=r"c.yaml:2: destinations: item 1 is neither a node"):
        load_campaign(lab, str(f))


def test_tnt_dump_becomes_scorable_tunnels():
    # the shape of `sc_tnt -d 1` (tnt.md 5.5): an invisible tunnel revealed by BRPR
    dump = """trace [icmp-paris] from 12.0.0.2 to 12.0.1.2
  1  12.0.0.1  0.396 ms  rTTLs=<255,255>  qttl=1
  2  11.0.0.1  0.200 ms  rTTLs=<254,254>  qttl=1  [MPLS,INV,ING,FRPLA]
 H1  11.0.0.3  0.165 ms  rTTLs=<253,253>  qttl=1  [MPLS,INV,LSR,FRPLA,BRPR,step=3]
 H2  11.0.0.5  0.263 ms  rTTLs=<252,252>  qttl=1  frpla=1  [MPLS,INV,LSR,FRPLA,BRPR,step=2]
  3  11.0.0.9  0.627 ms  rTTLs=<250,250>  qttl=1  frpla=3  [MPLS,INV,EGR,FRPLA]
  4  *
  5  12.0.1.2  0.549 ms  rTTLs=<60,60>
"""
    (tr,) = traces_from_tnt_dump(dump)
    assert tr["dst"] == "12.0.1.2" and [h["address"] for h in tr["hops"]][-2:] == [None, "12.0.1.2"]
    keys = ("class", "ingress", "egress", "lsrs", "trigger")
    assert [{k: t[k] for k in keys} for t in tr["tunnels"]] == [
        {"class": "INV", "ingress": "11.0.0.1", "egress": "11.0.0.9", "lsrs": ["11.0.0.3", "11.0.0.5"],
         "trigger": "FRPLA"}]


def test_entries_for_all_vantage_points():
    lab = load_lab("five-vp")
    got = entries_for(lab, "all", repeat=2)
    assert [e.vp for e in got] == [f"vp{i}" for i in range(1, 6) for _ in range(2)]
    assert all(isinstance(e, Entry) and e.start == 0 for e in got)


def test_ctrl_c_stops_every_instance_and_leaves_no_tap_or_lease(running):
    import os
    import signal
    import sys
    import time

    from testbed.runtimes.netns import state
    inst = running("invisible-php")
    leases = state.run_dir(inst) / "instances"
    p = subprocess.Popen([sys.executable, "-m", "testbed.cli", "probe", "invisible-php", "--name", inst,
                          "--repeat", "10", "--parallel", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 60
    addrs = set()
    while time.monotonic() < deadline and len(addrs) < 5:
        addrs |= {f.name for f in leases.iterdir()} if leases.exists() else set()
        time.sleep(0.05)
    assert addrs, "no instance started"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert not list(leases.iterdir())
    sw = api.status(inst)["switch"]
    links = subprocess.run(["ip", "-n", sw, "-o", "link"], capture_output=True, text=True).stdout
    assert " ui" not in links
    # no uTNT process of this run is left on any of the leased addresses, in this lab's
    # namespaces (another test's lab of the same file, running beside it, leases the same ones)
    from testbed.runtimes.netns import names
    ours = {os.stat(f"/run/netns/{n}").st_ino for n in os.listdir("/run/netns") if n.startswith(names.prefix(inst))}
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            where = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        if "utnt.cli" in cmd and any(a in cmd for a in addrs) and where in ours:
            left.append(pid)
    assert not left, left
