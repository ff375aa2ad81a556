"""The knob echo_reply_ip_id (testbed/knobs/echo_reply_ip_id.yaml) on real packets in the sim:
with `request` a router's echo replies carry the IP-ID of the request they answer (the `echo`
IP-ID class of router fingerprints), its errors keep its own counter; with `counter` (every
vendor's default) the replies count as ip_id says. Set in a lab file, per domain or router, or
in a vendor table of one's own; recorded in the truth; a bad value is one line. In namespaces,
Debian's scamper pings and tcpdump records the replies."""
import shutil
import subprocess
import time

import pytest
from scapy.all import ICMP, IP, UDP, Ether, raw

from testbed import vendors
from testbed.controlplane import build
from testbed.errors import LabError
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

LAB = """
routers:
  r1: {vendor: %(vendor)s}
  r2: {vendor: %(vendor)s%(r2)s}
hosts: {vp: {}, dst: {}}
links: [[vp, r1], [r1, r2], [r2, dst]]
probes: [{from: vp, to: dst}]
"""
IDS = (4242, 7, 60001, 4242)


def _replies(tmp_path, vendor="cisco", r2=""):
    """IP-IDs of r2's echo replies to requests with IDS, then of its time-exceeded to two UDP probes."""
    f = tmp_path / "echo.yaml"
    f.write_text(LAB % {"vendor": vendor, "r2": r2})
    lab = load_lab(str(f))
    cp = build(lab)
    pr = ScriptedProber(Sim(lab, cp), "vp")
    to, dst = str(lab.nodes["r2"].interfaces[0].ip), str(lab.probes[0].targets[0])
    echo, errors = [], []
    for i, ident in enumerate(IDS + (None, None)):
        pkt = IP(src=pr.src, dst=to, id=ident) / ICMP(id=3, seq=i) if ident is not None else \
            IP(src=pr.src, dst=dst, ttl=2, id=99) / UDP(sport=40000 + i, dport=33434)
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / pkt))
        pr.sim.run(0.2)
        for fr in pr.port.recv_all():
            if fr[12:14] == b"\x08\x00" and ICMP in Ether(fr):
                r = Ether(fr)
                (echo if r[ICMP].type == 0 else errors).append(r[IP].id)
    return lab, cp, echo, errors


def test_request_copies_the_request_ip_id_and_errors_keep_the_counter(tmp_path):
    lab, cp, echo, errors = _replies(tmp_path, r2=", behaviour: {echo_reply_ip_id: request}")
    assert lab.nodes["r2"].personality.echo_reply_ip_id == "request"
    assert echo == list(IDS)
    assert errors == [1, 2]                     # the shared counter, untouched by the echo replies
    nodes = ground_truth(cp)["nodes"]
    assert nodes["r2"]["behaviour"]["echo_reply_ip_id"] == "request" and "echo_reply_ip_id" in nodes["r2"][
        "behaviour_set"]
    assert nodes["r1"]["behaviour"]["echo_reply_ip_id"] == "counter"


@pytest.mark.parametrize("vendor", vendors.names())
def test_every_vendor_counts_by_default(tmp_path, vendor):
    lab, _, echo, _ = _replies(tmp_path, vendor)
    mode = lab.nodes["r2"].personality.ip_id
    assert lab.nodes["r2"].personality.echo_reply_ip_id == "counter" and len(echo) == len(IDS)
    if mode in ("shared", "per-interface"):
        assert echo == [1, 2, 3, 4]
    elif mode == "random":
        assert echo != list(IDS) and len(set(echo)) == len(IDS)


def test_a_vendor_table_of_ones_own_sets_it(tmp_path, monkeypatch):
    d = tmp_path / "vendors"
    d.mkdir()
    (d / "echoer.yaml").write_text("name: echoer\ndescription: a Cisco that echoes IP-IDs\nbase: cisco\n"
                                   "behaviour: {echo_reply_ip_id: request}\n")
    monkeypatch.setenv(vendors.ENV, str(d))
    _, _, echo, _ = _replies(tmp_path, "echoer")
    assert echo == list(IDS)


def test_a_bad_value_is_one_line(tmp_path):
    with pytest.raises(LabError) as e:
        _replies(tmp_path, r2=", behaviour: {echo_reply_ip_id: echo}")
    msg = str(e.value).strip()
    assert "\n" not in msg and ":4: routers.r2.behaviour.echo_reply_ip_id: got 'echo'; allowed: counter or " \
        "request" in msg, msg


@pytest.mark.netns
@pytest.mark.skipif(not (shutil.which("tcpdump") and shutil.which("scamper")), reason="tcpdump and scamper are needed")
def test_real_ping_in_namespaces(tmp_path):
    """Debian's scamper pings from the vp namespace, tcpdump records vp's interface and scamper
    reports each reply's IP-ID: r2 (request) echoes every request's IP-ID, r1 (counter)
    answers from its counter."""
    from scapy.all import rdpcap

    from labnames import N
    from test_netns_signatures import assert_gone
    from testbed.runtimes.netns import api
    from testbed.tools import scamper
    f = tmp_path / "echo.yaml"
    f.write_text(LAB % {"vendor": "cisco", "r2": ", behaviour: {echo_reply_ip_id: request}"})
    lab = load_lab(str(f))
    to = {n: str(lab.nodes[n].interfaces[0].ip) for n in ("r1", "r2")}
    name = N("pt-echoid")
    pcap = tmp_path / "vp.pcap"
    st = api.up(lab, name=name)
    try:
        cap = subprocess.Popen(api.capture_argv(name, "vp", "eth0", str(pcap)), stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL)
        assert b"listening" in cap.stderr.readline()
        docs = scamper._run(st["hosts"]["vp"], ["-c", "ping -c 3 -i 1", "-i", to["r1"], to["r2"]], 60)
        time.sleep(1.5)                           # tcpdump hands packets over per ring block (1 s timeout)
        cap.terminate()
        cap.wait()
    finally:
        api.down(name)
    assert_gone(name)
    sent, got = {}, {}
    for p in rdpcap(str(pcap)):
        if IP in p and ICMP in p and p[ICMP].type in (0, 8):
            peer = p[IP].dst if p[ICMP].type == 8 else p[IP].src
            (sent if p[ICMP].type == 8 else got).setdefault(peer, {})[p[ICMP].seq] = p[IP].id
    for n in ("r1", "r2"):
        assert len(sent[to[n]]) == len(got[to[n]]) == 3, (sent, got)
    req2, rep2 = sent[to["r2"]], got[to["r2"]]
    assert rep2 == req2 and len(set(req2.values())) == 3          # each reply carries its request's IP-ID
    rep1 = [got[to["r1"]][s] for s in sorted(got[to["r1"]])]
    assert rep1 == list(range(rep1[0], rep1[0] + 3)) and rep1 != [sent[to["r1"]][s] for s in sorted(sent[to["r1"]])]
    seen = {d["dst"]: [(r["probe_ipid"], r["reply_ipid"]) for r in d["responses"]] for d in docs
            if d.get("type") == "ping"}                             # scamper's own reading of the same pings
    assert [p for p, r in seen[to["r2"]] if p == r] == [p for p, _ in seen[to["r2"]]] and len(seen[to["r2"]]) == 3
    assert [r for _, r in seen[to["r1"]]] == rep1
