"""6PE (RFC 4798) on the sim: the lab model, the control plane's labelled IPv6 routes, the
hop-by-hop signature of an IPv6 Paris traceroute (scapy probes, ::ffff: mapped LSR sources,
two-label RFC 4950 quotes, the u-turn of tunnelled ICMPv6), the truth and the score (the 6PE
tunnel not probed by TNT/uTNT, IPv4 only), and uTNT refusing an IPv6 target."""
import subprocess
import sys
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from checks import sixpe_expected
from testbed.errors import LabError
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber

LAB = """
routers: {{ce1: {{}}, pe1: {{}}, p1: {{}}, pe2: {{}}, ce2: {{}}}}
hosts: {{vp: {{}}, dst: {{}}}}
links: [[vp, ce1], [ce1, pe1], [pe1, p1], [p1, pe2], [pe2, ce2], [ce2, dst]]
{addressing}
mpls:
  core:
    routers: [pe1, p1, pe2]
    sixpe: true
{extra}
probes: [{{from: vp, to: dst}}]
"""


def _lab(tmp_path, addressing="", extra=""):
    f = tmp_path / "six.yaml"
    f.write_text(LAB.format(addressing=addressing, extra=extra))
    return load_lab(str(f))


def test_customer_side_is_dual_stack_and_the_core_ipv4_only(labs):
    lab, cp = labs("6pe")
    assert [str(a) for a in lab.nodes["vp"].addresses6()] == ["2001:db8:600::2"]
    assert all(not lab.nodes[p].addresses6() for p in ("p1", "p2", "p3"))
    assert [str(a) for a in lab.nodes["pe1"].addresses6()] == ["2001:db8:600:1::2"]      # customer side only
    assert lab.owner_of("::ffff:11.0.0.3") == "p1" and lab.owner_of("2001:db8:600:7::2") == "dst"
    assert [(str(a), n) for a, n in lab.probes[0].targets6] == [("2001:db8:600:7::2", "dst")]


def test_sixpe_routes_push_the_transport_label_over_label_2(labs):
    lab, cp = labs("6pe")
    r = cp.tables["pe1"].lookup6(IPv6Address("2001:db8:600:7::2"))
    lo = cp.tables["pe1"].fib[__import__("ipaddress").IPv4Network(f"{lab.nodes['pe2'].loopback}/32")]
    assert r.kind == "bgp" and f"::ffff:{lab.nodes['pe2'].loopback}" in r.via
    assert [h.push for h in r.nexthops] == [tuple(h.push) + (2,) for h in lo.nexthops]
    assert all(not cp.tables[p].fib6 for p in ("p1", "p2", "p3"))      # no IPv6 route in the core
    back = cp.tables["pe2"].lookup6(IPv6Address("2001:db8:600::2"))
    assert back.nexthops[0].push[-1] == 2 and back.nexthops[0].neighbor == "p3"


@pytest.mark.parametrize("lsrs", [3, 5])
def test_ipv6_trace_shows_mapped_lsrs_with_two_labels_and_the_uturn(labs, lsrs):
    lab, cp = labs("6pe", lsrs=lsrs)
    pr = ScriptedProber(Sim(lab, cp), "vp")
    hops = pr.trace6(str(lab.probes[0].targets6[0][0]))
    got = [(h.address, h.labels, h.reply_ttl) for h in hops]
    want = sixpe_expected(lab, cp)
    assert got == want
    for k, (addr, labels, _) in enumerate(want[2:2 + lsrs], 1):
        assert addr == f"::ffff:{lab.nodes[f'p{k}'].iface('eth0').ip}"       # the incoming interface, mapped
    assert hops[-1].icmp_type == 0 and hops[-1].address == str(lab.probes[0].targets6[0][0])
    assert [h.quoted_ttl for h in hops[2:2 + lsrs + 1]] == list(range(1, lsrs + 2))   # qTTL rises to the egress


def test_junos_p_routers_without_tunnelling_are_silent_as_the_truth_says(labs):
    lab, cp = labs("6pe", vendor="juniper")
    hops = ScriptedProber(Sim(lab, cp), "vp").trace6(str(lab.probes[0].targets6[0][0]))
    assert [h.address is None for h in hops[2:5]] == [True] * 3
    from testbed.truth import ground_truth
    t = ground_truth(cp)["probes6"][0]["paths"][0]["tunnels"][0]
    assert t["silent"] and "no IPv6 route back" in t["silent_reason"]


def test_truth_and_score_show_the_6pe_tunnel_as_not_probed(labs):
    import testbed
    from testbed.scoring.score import NOT_PROBED_IPV6
    lab = testbed.load("6pe")
    truth = testbed.ground_truth(lab)
    (t6,) = truth.probes6[0]["paths"][0]["tunnels"]
    assert (t6["class"], t6["family"], t6["stack_depth"], t6["ending"]) == ("explicit", "6pe", 2, "php")
    assert t6["lsr_addresses"] == [f"::ffff:{lab.nodes[p].iface('eth0').ip}" for p in ("p1", "p2", "p3")]
    exp = lab.expect["tunnels6"][0]
    assert {k: t6[k] for k in exp} == exp
    with testbed.up(lab, runtime="sim") as net:
        result = net.probe(seed=1)
    sc = testbed.score(lab, result)
    assert sc.perfect and sc.totals["undetectable"] == 1 and sc.totals["detected"] == 1
    (np,) = sc.not_probed
    assert np["to"] == "2001:db8:600:7::2" and np["verdicts"][0]["verdict"] == f"undetectable: {NOT_PROBED_IPV6}"
    from test_api import assert_valid
    assert_valid("score.schema.json", sc.to_json())
    assert_valid("truth.schema.json", truth.to_json())


def test_utnt_refuses_an_ipv6_target_with_one_line():
    r = subprocess.run([str(Path(sys.executable).with_name("utnt")), "-i", "2001:db8:600:7::2", "--tap", "x", "--ip", "12.0.0.9/24",
                        "--gw", "12.0.0.1"], capture_output=True, text=True)
    assert r.returncode == 2
    (line,) = [x for x in r.stderr.splitlines() if "error" in x]
    assert "IPv6" in line and "IPv4 only" in line
    import utnt
    with pytest.raises(ValueError, match="IPv4 only"):
        utnt.trace(None, ["2001:db8::1"], ip="12.0.0.9/24", gw="12.0.0.1")


@pytest.mark.parametrize("extra,field", [
    ("    vpn: true", "mpls.core.vpn"), ("    popping: uhp", "mpls.core.popping"),
    ("    external: igp", "mpls.core.external")])
def test_sixpe_refuses_what_it_does_not_model_one_line_each(tmp_path, extra, field):
    with pytest.raises(LabError) as e:
        _lab(tmp_path, extra=extra)
    (p,) = e.value.problems
    assert p.field == field and "sixpe" in p.message and p.line


def test_bad_ipv6_prefix_is_one_line(tmp_path):
    with pytest.raises(LabError) as e:
        _lab(tmp_path, addressing="addressing: {ipv6: 'fe80::/62'}")
    (p,) = e.value.problems
    assert p.field == "addressing.ipv6" and "/64" in p.message and p.line
    with pytest.raises(LabError) as e:
        _lab(tmp_path, addressing="addressing: {ipv6: '2001:db8::/33x'}")
    assert [p.field for p in e.value.problems] == ["addressing.ipv6"]
    lab = _lab(tmp_path, addressing="addressing: {ipv6: '2001:db8:77::/48'}")
    assert str(lab.nodes["vp"].addresses6()[0]) == "2001:db8:77::1"
