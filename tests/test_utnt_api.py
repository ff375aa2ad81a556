"""uTNT's Python API (utnt.Options, utnt.trace): what embedding programs, the `utnt` command
line and the testbed all call. The network here is the sim runtime's (uTNT itself imports
nothing from testbed); the CLI and the API must agree on the same lab."""
import io
import json
import subprocess
import sys

import pytest

import utnt
from testbed.runtimes.sim import Sim
from utnt.net import SimPortAdapter


def test_options_read_tnt_command_line():
    o = utnt.Options.from_argv(["-b", "-q", "1", "-m", "udp-paris", "--flow", "0x4d21", "-f", "2", "-w", "0.5"])
    assert (o.brute, o.attempts, o.method, o.flow, o.frpla, o.wait) == (True, 1, "udp-paris", 0x4d21, 2, 0.5)
    assert utnt.Options.from_argv([]) == utnt.Options()
    t = o.tnt_options()
    assert (t.method, t.frpla_threshold, t.brute_force) == ("udp-paris", 2, True)
    p = o.probe_params()
    assert (p.attempts, p.wait, p.flow) == (1, 0.5, 0x4d21)


@pytest.mark.parametrize("argv,why", [
    (["-f", "0"], "-f and -r must be > 0"),
    (["-r", "-1"], "-f and -r must be > 0"),
    (["-q", "two"], "invalid int value"),
    (["-m", "tcp"], "invalid choice"),
    (["--tap", "tap0"], "unrecognized arguments: --tap"),
    (["-i", "11.0.0.1"], "unrecognized arguments: -i"),
    (["--flow", "70000"], "flow identifier from 1 to 65535"),
])
def test_bad_options_are_one_line_value_errors(argv, why):
    with pytest.raises(ValueError) as e:
        utnt.Options.from_argv(argv)
    assert why in str(e.value) and "\n" not in str(e.value)


def _sim_port(labs, name, **params):
    lab, cp = labs(name, **params)
    sim = Sim(lab, cp)
    sp = sim.attach(lab.probes[0].source)
    return lab, sp


def test_trace_reveals_the_invisible_tunnel_on_a_sim_port(labs):
    lab, sp = _sim_port(labs, "invisible-php-juniper", lsrs=3)
    dst = str(lab.probes[0].targets[0])
    doc = utnt.trace(SimPortAdapter(sp), [dst], utnt.Options.from_argv(["-q", "1"]),
                     ip=f"{sp.ip}/{sp.prefixlen}", gw=str(sp.gateway), mac=sp.mac)
    (tr,) = doc["traces"]
    (tun,) = tr["tunnels"]
    assert [lab.owner_of(a) for a in tun["lsrs"]] == ["p1", "p2", "p3"] and tun["technique"] == "DPR"
    assert doc["counters"]["probes"]["probes"] > 0 and doc["counters"]["stack"]


def test_cli_run_and_api_give_the_same_document(labs):
    """`utnt --json` (utnt.cli.run) prints exactly what utnt.trace returns for the same lab."""
    from utnt.cli import build_parser, run
    lab, sp = _sim_port(labs, "explicit")
    dst = str(lab.probes[0].targets[0])
    args = build_parser().parse_args(["-i", dst, "--tap", "unused", "--ip", f"{sp.ip}/{sp.prefixlen}",
                                      "--gw", str(sp.gateway), "--json", "-q", "1", "--flow", "777"])
    out = io.StringIO()
    run(SimPortAdapter(sp), args, out=out)
    lab2, sp2 = _sim_port(labs, "explicit")
    doc = utnt.trace(SimPortAdapter(sp2), [dst], utnt.Options.from_argv(["-q", "1", "--flow", "777"]),
                     ip=f"{sp2.ip}/{sp2.prefixlen}", gw=str(sp2.gateway))
    assert json.loads(out.getvalue())["traces"] == doc["traces"]


def test_the_testbed_drives_utnt_through_its_api_not_its_parser():
    """A sim run from the testbed leaves uTNT's command-line module unloaded."""
    code = ("import sys\n"
            "from testbed.lab import load_lab\nfrom testbed.controlplane import build\n"
            "from testbed.detectors.utnt import probe_sim, utnt_args\n"
            "lab = load_lab('invisible-php', {})\n"
            "doc = probe_sim(lab, build(lab), lab.probes[0].source, [str(lab.probes[0].targets[0])], utnt_args(['-q', '1']))\n"
            "assert doc['traces'][0]['tunnels'], doc\n"
            "print(sorted(m for m in sys.modules if m.startswith('utnt')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = r.stdout
    assert "'utnt.api'" in loaded and "'utnt.cli'" not in loaded
