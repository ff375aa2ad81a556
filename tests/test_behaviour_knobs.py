"""The behaviour catalogue's knobs (issue 13) on real packets in the sim: precedence
(vendor < domain < router) and the truth record, one clear error line for a bad knob, and
what each ICMP-answering knob does to the replies a prober gets (scapy decodes them)."""
import pytest
from scapy.all import ICMP, IP, Ether, raw

from testbed.controlplane import build
from testbed.errors import LabError
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

LINE = """
routers:
  r1: {}
  r2: {behaviour: {%s}}
  r3: {}
hosts: {vp: {}, dst: {}}
links: [[vp, r1], [r1, r2], [r2, r3], [r3, dst]]
probes: [{from: vp, to: dst}]
mpls:
  core: {routers: [r1, r2, r3], behaviour: {ip_id: zero, answer_echo: false}}
"""


def _lab(tmp_path, knobs="", text=None):
    f = tmp_path / "k.yaml"
    f.write_text(text or LINE % knobs)
    lab = load_lab(str(f))
    return lab, build(lab)


def _replies(pr, pkts):
    out = []
    for p in pkts:
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / p))
    pr.sim.run(0.2)
    for f in pr.port.recv_all():
        if f[12:14] == b"\x08\x00":
            out.append(Ether(f))
    return out


def test_router_knob_over_domain_over_vendor_and_recorded_in_truth(tmp_path):
    lab, cp = _lab(tmp_path, "answer_echo: true")
    p = {n: lab.nodes[n].personality for n in ("r1", "r2", "r3")}
    assert p["r1"].ip_id == "zero" and not p["r1"].answer_echo        # domain over vendor (shared, true)
    assert p["r2"].ip_id == "zero" and p["r2"].answer_echo            # router over domain
    nodes = ground_truth(cp)["nodes"]
    assert nodes["r2"]["behaviour"]["answer_echo"] is True and nodes["r1"]["behaviour"]["answer_echo"] is False
    assert nodes["r2"]["behaviour_set"] == ["answer_echo", "ip_id"]
    pr = ScriptedProber(Sim(lab, cp), "vp")
    assert pr.ping(str(lab.nodes["r1"].interfaces[0].ip)) is None      # answers no ping
    assert pr.ping(str(lab.nodes["r2"].interfaces[0].ip)) is not None
    assert pr.probe(str(lab.probes[0].targets[0]), 1).icmp_type == 11  # but answers traceroute


@pytest.mark.parametrize("knob,fix", [("answer_ping: false", "unknown behaviour 'answer_ping'"),
                                      ("ip_id: counter",
                                       "got 'counter'; allowed: one of shared, per-interface, zero, random"),
                                      ("label_base: -4", "got -4; allowed: an integer in 16..1048575"),
                                      ("limit_echo_reply: {rate: 0}", "rate: got 0; allowed: a number > 0"),
                                      ("tunnel_scope: true", "got True; allowed: one of all, multi-label, udp")])
def test_bad_knob_is_one_line_with_file_line_and_field(tmp_path, knob, fix):
    with pytest.raises(LabError) as e:
        _lab(tmp_path, knob)
    msg = str(e.value).strip()
    assert "\n" not in msg and fix in msg and "routers.r2.behaviour." in msg and ":4:" in msg, msg


@pytest.mark.parametrize("mode", ["shared", "per-interface", "zero", "random"])
def test_ip_id_modes(tmp_path, mode):
    """Echo replies from r2 to pings arriving on its two interfaces (from vp and from dst)."""
    lab, cp = _lab(tmp_path, f"ip_id: {mode}, answer_echo: true")
    sim = Sim(lab, cp)
    a, b = ScriptedProber(sim, "vp"), ScriptedProber(sim, "dst")
    to = str(lab.nodes["r2"].loopback)
    ids = {}
    for seq in range(6):
        pr = (a, b)[seq % 2]
        got = [r[IP].id for r in _replies(pr, [IP(src=pr.src, dst=to) / ICMP(id=9, seq=seq)]) if r[ICMP].type == 0]
        ids.setdefault(pr.src, []).extend(got)
    va, vb = ids[a.src], ids[b.src]
    assert len(va) == len(vb) == 3
    if mode == "zero":
        assert va == vb == [0, 0, 0]
    elif mode == "shared":             # one counter: the two sides interleave
        assert sorted(va + vb) == list(range(min(va), min(va) + 6)) and va[1] - va[0] == 2
    elif mode == "per-interface":      # a counter per incoming interface
        assert va == vb == [1, 2, 3]
    else:
        seq = [x for pair in zip(va, vb) for x in pair]   # in the order they were sent
        assert len(set(seq)) == 6 and any(y - x != 1 for x, y in zip(seq, seq[1:]))


def test_echo_reply_token_bucket(tmp_path):
    lab, cp = _lab(tmp_path, "answer_echo: true, limit_echo_reply: {rate: 1, burst: 3}")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    to = str(lab.nodes["r2"].loopback)
    got = _replies(pr, [IP(src=pr.src, dst=to) / ICMP(id=5, seq=i) for i in range(10)])
    assert len([r for r in got if r[ICMP].type == 0]) == 3
    pr.sim.run(2.0)                                       # two tokens back
    got = _replies(pr, [IP(src=pr.src, dst=to) / ICMP(id=5, seq=i) for i in range(10)])
    assert len([r for r in got if r[ICMP].type == 0]) == 2


def test_time_exceeded_bucket_per_interface_vs_per_router(tmp_path):
    """Nokia-style buckets per interface: probes expiring at r2 from both sides each get one
    reply; with one bucket per router only the first side does."""
    for per, want in (("interface", (1, 1)), ("router", (1, 0))):
        lab, cp = _lab(tmp_path, f"limit_time_exceeded: {{rate: 0.01, burst: 1, per: {per}}}")
        sim = Sim(lab, cp)
        a, b = ScriptedProber(sim, "vp"), ScriptedProber(sim, "dst")
        got_a = _replies(a, [IP(src=a.src, dst=b.src, ttl=2) / ICMP(id=1, seq=i) for i in range(3)])
        got_b = _replies(b, [IP(src=b.src, dst=a.src, ttl=2) / ICMP(id=2, seq=i) for i in range(3)])
        count = tuple(len([r for r in g if r[ICMP].type == 11]) for g in (got_a, got_b))
        assert count == want, (per, count)


def test_nokia_tunnels_udp_only_and_quotes_no_labels_in_unreachables(labs):
    lab, cp = labs("explicit", vendor="nokia")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    dst = str(lab.probes[0].targets[0])
    icmp = pr.trace(dst)
    udp = pr.trace(dst, method="udp-paris")
    assert [h.uturn for h in icmp[2:5]] == [0, 0, 0]
    assert udp[2].reply_ttl < icmp[2].reply_ttl          # the UDP probe's error went along the LSP
    assert all(h.labels for h in udp[2:5]) and all(h.labels for h in icmp[2:5])


def test_rfc4950_on_unreachables_is_a_knob(tmp_path, labs):
    lab, cp = labs("invisible-uhp")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    to = str(lab.nodes["pe2"].loopback)
    h = pr.trace(to, method="udp-paris")[-1]
    assert h.icmp_type == 3 and h.labels == [(0, 252)]    # UHP: pe2 quotes the explicit null it popped
    import dataclasses
    lab = load_lab("invisible-uhp")
    lab.nodes["pe2"].personality = dataclasses.replace(lab.nodes["pe2"].personality, rfc4950_unreachable=False)
    pr = ScriptedProber(Sim(lab, build(lab)), "vp")
    h = pr.trace(to, method="udp-paris")[-1]
    assert h.icmp_type == 3 and h.labels == []


def test_huawei_tunnels_two_label_errors_only(labs):
    lab, cp = labs("l3vpn", vendor="huawei")
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]))
    assert all(len(h.labels) == 2 and h.uturn > 0 for h in hops[2:5])   # two labels: along the LSP
    lab, cp = labs("huawei-lsp")
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]))
    assert all(len(h.labels) == 1 and h.uturn == 0 for h in hops[2:5])  # one label: IP-routed


def test_junos_no_propagate_ttl_hides_the_return_tunnel(labs):
    """RTLA rests on min() at the return LSP's PHP pop (tnt.md 2.3): without the write-back
    (Junos no-propagate-ttl) the time-exceeded no longer counts the return tunnel."""
    import dataclasses
    lab, cp = labs("invisible-php-juniper", vendor="juniper")
    dst = str(lab.probes[0].targets[0])
    pe2 = ScriptedProber(Sim(lab, cp), "vp").trace(dst)[2]
    assert pe2.return_te - pe2.return_er == 3 and pe2.frpla == 3
    lab = load_lab("invisible-php-juniper", {"vendor": "juniper"})
    for n in lab.routers:
        if n.domain:
            n.personality = dataclasses.replace(n.personality, php_ttl_writeback=False)
    pe2 = ScriptedProber(Sim(lab, build(lab)), "vp").trace(dst)[2]
    assert pe2.return_te - pe2.return_er == 0 and pe2.frpla == 0
