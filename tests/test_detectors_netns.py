"""On real namespace labs: Debian's scamper and traceroute, uTNT and (when
built) the original TNT probe the same running lab; their real outputs are parsed and
scored by `testbed score`, and `testbed run --detector ...` runs and scores them.

The lab is `mixed`: an explicit tunnel (pe1 -> p1 p2 -> pe2, RFC 4950 labels) and an
invisible PHP tunnel (pe3 -> p3 p4 p5 -> pe4). A plain traceroute sees only the first; TNT
and uTNT reveal both.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labnames import N
from testbed.detectors import parse_text, read_results, tnt
from testbed.detectors.utnt import probe_netns
from testbed.experiments.score_files import score_files
from testbed.runtimes.netns import api

pytestmark = [pytest.mark.netns,
              pytest.mark.skipif(not shutil.which("scamper") or not shutil.which("traceroute"),
                                 reason="Debian's scamper and traceroute are needed")]
ROOT = Path(__file__).resolve().parents[1]
DST = "12.0.1.2"
needs_tnt = pytest.mark.skipif(tnt.find_prefix() is None, reason=tnt.missing_reason())


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "testbed.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """One running `mixed` lab; every detector's real output written to a file."""
    d = tmp_path_factory.mktemp("det")
    name = N("pt-det")
    st = api.up("mixed", name=name)
    try:
        vp = st["hosts"]["vp"]

        def ns(*cmd):
            r = subprocess.run(["ip", "netns", "exec", vp, *cmd], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            return r.stdout
        f = {}
        f["scamper"] = d / "scamper.json"
        f["scamper"].write_text(ns("scamper", "-O", "json", "-c", "trace -P icmp-paris", "-i", DST))
        ns("scamper", "-O", "warts", "-o", str(d / "s.warts"), "-c", "trace -P udp-paris", "-i", DST)
        f["warts2json"] = d / "warts2json.json"
        f["warts2json"].write_text(subprocess.run(["sc_warts2json", str(d / "s.warts")], capture_output=True,
                                                  text=True, check=True).stdout)
        f["traceroute"] = d / "traceroute.txt"
        # 3 probes per hop; -n: a name lookup would send DNS queries into the lab (its resolver's
        # address is private and unreachable there) and traceroute then drops the replies it got
        f["traceroute"].write_text(ns("traceroute", "-e", "-n", "-I", DST))
        f["traceroute-n"] = d / "traceroute-n.txt"
        f["traceroute-n"].write_text(ns("traceroute", "-e", "-n", "-q", "1", "-U", DST))
        # toward an address nobody answers: silent hops to the max TTL, a destination no probe has
        f["traceroute-gone"] = d / "traceroute-gone.txt"
        f["traceroute-gone"].write_text(ns("traceroute", "-e", "-n", "-q", "2", "-w", "1", "-m", "11", "-I",
                                           "12.0.1.99"))
        # every attempt of every hop (-Q): several replies per probe TTL
        f["scamper-all"] = d / "scamper-all.json"
        f["scamper-all"].write_text(ns("scamper", "-O", "json", "-c", "trace -P icmp-paris -q 3 -Q", "-i", DST))
        doc = probe_netns(name, "vp", [DST], [])
        f["utnt"] = d / "utnt.json"
        f["utnt"].write_text(json.dumps(doc))
        att = api.attachment(name, "vp")
        r = subprocess.run(["ip", "netns", "exec", att["namespace"], sys.executable, "-m", "utnt.cli", "--tap",
                            att["tap"], "--ip", f"{att['address']}/{att['prefixlen']}", "--gw", att["gateway"],
                            "-i", DST, "--scamper-json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        f["utnt-scamper"] = d / "utnt-scamper.json"
        f["utnt-scamper"].write_text(r.stdout)
        if tnt.find_prefix() is not None:
            work = d / "tnt"
            tnt.run(vp, [DST], workdir=str(work))
            sock = (work / "scamper.socket").read_text().strip()
            assert tnt._pids_with(sock) == [], "TNT's scamper daemon outlived the run"
            assert not Path(sock).exists()
            f["tnt"], f["tnt-v"] = work / "tnt.txt", work / "tnt-v.txt"
            f["tnt-warts2json"] = d / "tnt-warts2json.json"
            f["tnt-warts2json"].write_text(subprocess.run(["sc_warts2json", str(work / "tnt.warts")],
                                                          capture_output=True, text=True, check=True).stdout)
        yield name, f
    finally:
        api.down(name)


def test_parsers_read_every_real_output(outputs):
    _, f = outputs
    want = {"scamper": "scamper-json", "warts2json": "scamper-json", "traceroute": "traceroute",
            "traceroute-n": "traceroute", "utnt": "utnt-json", "utnt-scamper": "scamper-json",
            "tnt": "tnt-text", "tnt-v": "tnt-text", "scamper-all": "scamper-json"}
    for k, path in f.items():
        if k not in want:
            continue
        (t,) = read_results([str(path)])
        assert t["format"] == want[k], k
        assert t["dst"] == DST
        # every one of them saw the explicit tunnel's labelled LSRs 11.0.0.3 and 11.0.0.5
        exp = [u for u in t["tunnels"] if u["class"] == "EXP"]
        assert [(u["ingress"], u["lsrs"], u["egress"]) for u in exp] == \
            [("11.0.0.1", ["11.0.0.3", "11.0.0.5"], "11.0.0.7")], k
    # three probes per hop, some lost to the routers' ICMP rate limit ('*' beside replies)
    (tr,) = read_results([str(f["traceroute"])])
    lines = f["traceroute"].read_text().splitlines()[1:]
    assert [h["replies"] for h in tr["hops"]] == [line.count(" ms") for line in lines]
    (sa,) = read_results([str(f["scamper-all"])])
    assert [h["replies"] for h in sa["hops"]] == [3] * 10
    assert [h["address"] for h in sa["hops"]] == [h["address"] for h in read_results([str(f["scamper"])])[0]["hops"]]
    (gone,) = read_results([str(f["traceroute-gone"])])
    text = f["traceroute-gone"].read_text().splitlines()
    assert sum(1 for line in text if line.rstrip().endswith("* *")) >= 2          # silent to the max TTL
    assert gone["dst"] == "12.0.1.99" and gone["hops"][-1]["address"] == "11.0.0.21"   # trailing '* *' dropped
    assert [u["lsrs"] for u in gone["tunnels"]] == [["11.0.0.3", "11.0.0.5"]]


def test_score_tnt_dump_scamper_json_and_traceroute_of_the_same_run(outputs):
    """The issue's done-when: one `testbed score` over the running lab, by name."""
    name, f = outputs
    files = [f["scamper"], f["traceroute"], f["utnt"]] + ([f["tnt"]] if "tnt" in f else [])
    out, _lab = score_files(None, [*map(str, files), str(f["traceroute-gone"])], running=name)
    by = {d["detector"]["name"]: d for d in out}
    assert by["traceroute"]["unmatched"] == [{"dst": "12.0.1.99", "src": None, "file": str(f["traceroute-gone"])}]
    assert len(by["traceroute"]["score"]["traces"]) == 1
    for det in ("scamper", "traceroute"):
        sc = by[det]["score"]["per_class"]
        assert sc["explicit"]["detected"] == sc["explicit"]["class_correct"] == 1
        assert sc["invisible-php"]["detected"] == 0
        assert by[det]["visibility"]["not_visible"] == {"invisible-php": 1}
        assert by[det]["score"]["totals"]["false_tunnels"] == 0
    assert by["traceroute"]["traces"][0]["src"] == "12.0.0.2"            # from the lab's probe
    assert by["utnt"]["score"]["perfect"]
    if "tnt" in by:
        assert by["tnt"]["score"]["perfect"]
        assert by["tnt"]["score"]["totals"]["hidden_lsrs_revealed"] == 3
    text = _cli("score", "--name", name, *map(str, files))               # the command, human output
    assert "not visible to it here: 1 invisible-php" in text.lower()
    assert "detectors on mixed" in text


@needs_tnt
def test_tnt_dump_with_and_without_v_same_tunnels_as_utnt(outputs):
    _, f = outputs
    (a,), (b,) = read_results([str(f["tnt"])]), read_results([str(f["tnt-v"])])
    assert a["tunnels"] == b["tunnels"]
    assert any(h.get("attempts") for h in b["hops"]) or not any("ATTEMPT" in line for line in
                                                                 f["tnt-v"].read_text().splitlines())
    (u,) = read_results([str(f["utnt"])])
    key = ("class", "ingress", "egress", "lsrs", "trigger", "technique")
    assert [{k: x[k] for k in key} for x in a["tunnels"]] == [{k: x[k] for k in key} for x in u["tunnels"]]
    # TNT's warts read by Debian's sc_warts2json: the revealed hops are in the hop array with
    # the probe TTL of the egress; the scamper parser keeps them as hops in path order
    (w,) = read_results([str(f["tnt-warts2json"])])
    assert [h["address"] for h in w["hops"]] == [h["address"] for h in a["hops"]]
    assert [h["probe_ttl"] for h in w["hops"] if h["address"] in ("11.0.0.13", "11.0.0.15", "11.0.0.17")] == [8] * 3


def test_utnt_scamper_json_has_scampers_structure(outputs):
    """uTNT's --scamper-json uses real scamper's names and nesting (scamper 20211212 here);
    only its documented extra key "tnt" is its own."""
    _, f = outputs
    real = next(json.loads(x) for x in f["scamper"].read_text().splitlines() if '"type":"trace"' in x)
    ours = [json.loads(x) for x in f["utnt-scamper"].read_text().splitlines()]
    assert len(ours) == 1 and ours[0]["type"] == "trace"
    ours = ours[0]
    assert set(ours) - {"tnt"} <= set(real), set(ours) - set(real)
    assert ours["method"] == real["method"] == "icmp-echo-paris"
    real_hop_keys = set().union(*real["hops"])
    for h in ours["hops"]:
        assert set(h) - {"tnt"} <= real_hop_keys, set(h) - real_hop_keys
        for k in h:
            if k in real["hops"][0]:
                assert type(h[k]) is type(real["hops"][0][k]) or h[k] is None, k
    rl = next(h for h in real["hops"] if h.get("icmpext"))
    ol = next(h for h in ours["hops"] if h.get("icmpext"))
    assert set(ol["icmpext"][0]) == set(rl["icmpext"][0])
    assert set(ol["icmpext"][0]["mpls_labels"][0]) == set(rl["icmpext"][0]["mpls_labels"][0])
    assert ol["icmpext"][0] == rl["icmpext"][0]                        # the same label stack, byte for byte
    # read by the same parser, the same path (uTNT adds its revealed hops)
    (p_real,), (p_ours,) = parse_text(f["scamper"].read_text()), parse_text(f["utnt-scamper"].read_text())
    revealed = {h["addr"] for h in ours["hops"] if h.get("tnt", {}).get("revealed")}
    assert revealed == {"11.0.0.13", "11.0.0.15", "11.0.0.17"}
    assert [h["address"] for h in p_ours["hops"] if h["address"] not in revealed] == \
        [h["address"] for h in p_real["hops"]]


def test_run_detector_scamper_shows_a_plain_traceroute_users_view():
    out = json.loads(_cli("run", "mixed", "--detector", "scamper", "--name", N("pt-det-sc"), "--json"))
    assert out["detector"]["name"] == "scamper"
    (t,) = out["traces"]
    assert t["format"] == "scamper-json" and t["src"] == "12.0.0.2"
    assert [u["class"] for u in t["tunnels"]] == ["EXP"]
    assert out["visibility"]["not_visible"] == {"invisible-php": 1}
    assert out["score"]["totals"]["detected"] == 1 and not out["score"]["perfect"]
    assert api.status(N("pt-det-sc"))["status"] == "down"


def test_run_detector_cmd_traceroute_with_format():
    out = json.loads(_cli("run", "explicit", "--name", N("pt-det-cmd"), "--detector-cmd",
                          "traceroute -e -n -q 1 -I {dst}", "--format", "traceroute", "--json"))
    assert out["detector"]["command"].startswith("traceroute")
    assert out["detector"]["name"] == "traceroute"          # its own name, not "cmd"
    assert out["score"]["perfect"], out["score"]["traces"][0]["verdicts"]
    assert out["visibility"]["not_visible"] == {}


@needs_tnt
def test_run_detector_tnt_reveals_like_utnt():
    out = json.loads(_cli("run", "mixed", "--detector", "tnt", "--name", N("pt-det-tnt"), "--json"))
    assert out["score"]["perfect"], out["score"]["traces"][0]["verdicts"]
    assert out["score"]["totals"]["hidden_lsrs_revealed"] == 3
    assert "visibility" not in out


def _tnt_procs(owner_pid: int, is_it) -> list[int]:
    """PIDs of the processes on the TNT socket of process owner_pid (scamper-<pid>.sock) whose
    command line passes is_it."""
    from testbed.runtimes.netns.nsutil import proc_cmdline
    out = []
    for pid, _ in tnt._pids_with(f"/scamper-{owner_pid}.sock"):
        try:
            if is_it(proc_cmdline(pid)):
                out.append(pid)
        except OSError:
            pass
    return out


def _tnt_daemons(owner_pid: int) -> list[int]:
    """TNT scamper daemons started by the process owner_pid."""
    return _tnt_procs(owner_pid, lambda argv: "-D" in argv and "-U" in argv)


def _sc_tnt_running(owner_pid: int) -> bool:
    """sc_tnt (the measurement, not the daemon) runs on the socket of process owner_pid."""
    return bool(_tnt_procs(owner_pid, lambda argv: any(a.endswith("sc_tnt") for a in argv)))


@needs_tnt
def test_ctrl_c_during_a_tnt_run_stops_the_daemon_and_tears_the_lab_down(tmp_path):
    """Ctrl-C while sc_tnt measures: exit 130, the daemon stopped, the lab down. The lab is
    `mixed` with 100 ms on every link, so sc_tnt measures for many seconds (each probe waits
    up to 2.8 s for its answer) and the interrupt lands inside the measurement, however slow
    this machine is at noticing the daemon (on `mixed` as it is, sc_tnt ends within half a
    second, and an interrupt sent after that found the run finished)."""
    import signal
    import time
    lab = tmp_path / "slow-mixed.yaml"
    lab.write_text((ROOT / "topologies" / "mixed.yaml").read_text() + "defaults: {delay_ms: 100}\n")
    name = N("pt-det-int")
    p = subprocess.Popen([sys.executable, "-m", "testbed.cli", "run", str(lab), "--detector", "tnt", "--name", name],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while not (_tnt_daemons(p.pid) and _sc_tnt_running(p.pid)) and time.monotonic() < deadline \
                and p.poll() is None:
            time.sleep(0.05)
        assert _tnt_daemons(p.pid), "TNT's scamper daemon never started"
        assert _sc_tnt_running(p.pid), "sc_tnt never started"
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 130
        assert "interrupted" in p.stdout.read().decode()
        assert _tnt_daemons(p.pid) == [] and not _sc_tnt_running(p.pid)
        assert api.status(name)["status"] == "down"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if api.status(name)["status"] != "down":
            api.down(name)


def test_built_in_runners_on_the_running_lab(outputs):
    """run_detector's scamper and traceroute runners (what `testbed run --detector` uses) on
    the module's running lab: real runs, the vantage point's address filled in."""
    from testbed.detectors.registry import run_detector
    from testbed.errors import TestbedError
    name, _ = outputs
    for det, fmt in (("traceroute", "traceroute"), ("scamper", "scamper-json")):
        raw, (t,) = run_detector(det, name, "vp", [DST])
        assert t["format"] == fmt and t["src"] == "12.0.0.2" and t["vantage_point"] == "vp"
        assert [(u["ingress"], u["lsrs"], u["egress"]) for u in t["tunnels"]] == \
            [("11.0.0.1", ["11.0.0.3", "11.0.0.5"], "11.0.0.7")], det
        assert raw.strip()
    raw, (t,) = run_detector(None, name, "vp", [DST], cmd="traceroute -e -n -q 1 -I {dst}")
    assert t["detector"] == "traceroute" and t["hops"][-1]["address"] == DST
    with pytest.raises(TestbedError, match=r"has no \{dst\}"):
        run_detector(None, name, "vp", [DST], cmd="traceroute -e 12.0.1.2")
    with pytest.raises(TestbedError, match="failed in"):
        run_detector(None, name, "vp", [DST], cmd="traceroute --no-such-option {dst}")


def test_run_detector_cmd_one_unreadable_output_marks_that_trace_only():
    """Issue 21: a --detector-cmd that prints one bad address for one vantage point used to
    lose the whole run after probing; now that trace is kept, empty, marked unreadable (and
    scored as a miss), and the other vantage points' real traceroutes are scored."""
    from testbed.lab import load_lab
    lab = load_lab("five-vp")
    bad_src = str(lab.nodes[lab.probes[0].source].primary_address())
    cmd = (f"sh -c 'case {{src}} in {bad_src}) echo \"traceroute to {{dst}} ({{dst}}), 30 hops max\"; "
           "echo \" 1  999.0.0.1  0.1 ms\";; *) traceroute -e -n -q 1 -I {dst};; esac'")
    out = json.loads(_cli("run", "five-vp", "--name", N("pt-det-bad"), "--detector-cmd", cmd, "--format",
                          "traceroute", "--json"))
    bad = [t for t in out["traces"] if t.get("unreadable")]
    good = [t for t in out["traces"] if not t.get("unreadable")]
    assert len(bad) == 1 and bad[0]["src"] == bad_src and bad[0]["stop_reason"] == "UNREADABLE"
    assert "not an IPv4 address" in bad[0]["unreadable"] and bad[0]["hops"] == []
    assert len(good) == len(lab.probes) - 1 and all(t["hops"] for t in good)
    assert api.status(N("pt-det-bad"))["status"] == "down"
