"""On real namespaces: uTNT's tags per hop against the truth (tap attachment), and
the packet-socket port (uTNT beside the vantage point, with its own address and MAC)."""
import json
import subprocess
import sys

import pytest

from checks import check_tags_against_truth
from testbed.controlplane import build
from testbed.detectors.utnt import probe_netns
from testbed.lab import load_lab
from testbed.runtimes.netns import api

pytestmark = pytest.mark.netns


LAB_PREFIX = "un"       # lab names of the shared `running` fixture (conftest.py)


@pytest.mark.parametrize("name", ["invisible-php", "invisible-php-juniper", "invisible-uhp", "opaque", "explicit",
                                  "implicit", "plain-ip"])
def test_tags_on_namespaces_agree_with_truth(running, name):
    inst = running(name)
    lab = load_lab(name)
    doc = probe_netns(inst, "vp", [str(lab.probes[0].targets[0])], [])
    check_tags_against_truth(lab, build(lab), doc, name)


def test_packet_socket_port_beside_the_vantage_point(running):
    inst = running("invisible-php")
    lab = load_lab("invisible-php")
    att = api.attachment(inst, "vp")
    # a second address on the vantage point's LAN, owned by uTNT's own stack (not the kernel)
    addr = att["address"].rsplit(".", 1)[0] + ".253"
    dst = str(lab.probes[0].targets[0])
    r = subprocess.run(["ip", "netns", "exec", api.namespace_of(inst, "vp"), sys.executable, "-m", "utnt.cli",
                        "--iface", "eth0", "--ip", f"{addr}/{att['prefixlen']}", "--gw", att["gateway"],
                        "--mac", "02:00:00:00:02:53", "-i", dst, "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    tr = doc["traces"][0]
    assert tr["src"] == addr
    tun = tr["tunnels"][0]
    assert (tun["class"], tun["trigger"], tun["technique"]) == ("INV", "FRPLA", "BRPR")
    assert [lab.owner_of(a) for a in tun["lsrs"]] == ["p1", "p2", "p3"]
    # the kernel of the vantage point never learnt that address: it is uTNT's alone
    out = subprocess.run(["ip", "-n", api.namespace_of(inst, "vp"), "-4", "addr"], capture_output=True,
                         text=True).stdout
    assert addr not in out
