"""The behaviour catalogue's second round (issue 13) on real packets in the sim: Junos
no-decrement-ttl, a label pushed over a stack (LDP over RSVP: Junos 255 vs copy), ICMP quote
lengths per vendor, and a BGP-free Huawei core whose LSRs cannot route their replies back.
The namespace side (scamper, traceroute -e, tcpdump) is tests/test_netns_catalogue.py."""
import pytest
from scapy.all import ICMP, IP, UDP, Ether, raw

from checks import CHECKS, chain_addrs, in_addr
from testbed.controlplane import build
from testbed.errors import LabError
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.scoring.score import visibility
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

# vp - ce1 - pe1 - p1 - p2 - p3 - pe2 - ce2 - dst, Juniper, a UNIFORM domain whose LERs have
# no-decrement-ttl (set per router: the LSRs keep their own defaults)
NO_DECREMENT = """
routers:
  ce1: {vendor: cisco}
  pe1: {vendor: juniper%(ler)s}
  p1: {vendor: juniper}
  p2: {vendor: juniper}
  p3: {vendor: juniper}
  pe2: {vendor: juniper%(ler)s}
  ce2: {vendor: cisco}
hosts: {vp: {}, dst: {}}
links:
  - {lan: [ce1, vp], name: vp-lan}
  - [ce1, pe1]
  - [pe1, p1]
  - [p1, p2]
  - [p2, p3]
  - [p3, pe2]
  - [pe2, ce2]
  - {lan: [ce2, dst], name: dst-lan}
probes: [{from: vp, to: dst}]
mpls:
  core: {routers: [pe1, p1, p2, p3, pe2], ttl_propagate: true, ldp: loopbacks}
"""

# vp - r1 (cisco, 28) - r2 (quote_bytes 200) - r3 (juniper, 128) - dst (Linux host, 548)
QUOTES = """
routers:
  r1: {vendor: cisco}
  r2: {vendor: cisco, behaviour: {quote_bytes: 200}}
  r3: {vendor: juniper}
hosts: {vp: {}, dst: {}}
links: [{lan: [r1, vp], name: vp-lan}, [r1, r2], [r2, r3], {lan: [r3, dst], name: dst-lan}]
probes: [{from: vp, to: dst}]
"""


def no_decrement_lab(tmp_path, on=True):
    f = tmp_path / "nodec.yaml"
    f.write_text(NO_DECREMENT % {"ler": ", behaviour: {no_decrement_ttl: true}" if on else ""})
    lab = load_lab(str(f))
    return lab, build(lab)


def quote_lab(tmp_path):
    f = tmp_path / "quotes.yaml"
    f.write_text(QUOTES)
    lab = load_lab(str(f))
    return lab, build(lab)


def expected_quote_sizes(lab, probe_len: int) -> dict:
    """IP total length of the error each node sends about a `probe_len`-byte probe without
    labels: 20 + 8 + min(quote_bytes, probe_len) (RFC 792 / RFC 1812 4.3.2.3)."""
    return {n: 28 + min(lab.nodes[n].personality.quote_bytes, probe_len) for n in ("r1", "r2", "r3", "dst")}


# ---- 1. Junos no-decrement-ttl

def test_no_decrement_ttl_hides_a_uniform_lsp_and_its_return(tmp_path):
    lab, cp = no_decrement_lab(tmp_path, on=False)
    dst = str(lab.probes[0].targets[0])
    base = ScriptedProber(Sim(lab, cp), "vp").trace(dst)
    assert all(len(h.labels) == 1 for h in base[2:5])            # uniform: an explicit tunnel
    lab, cp = no_decrement_lab(tmp_path)
    assert lab.nodes["p3"].personality.php_ttl_writeback is True  # the LSR's own setting is untouched
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(dst)
    addrs = chain_addrs(lab, ["vp", "ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2"])
    # the cloud costs two hops (ingress, egress): pe1 then pe2, no labels, and the return LSP
    # pops without write-back, so neither FRPLA nor RTLA sees the 3 LSRs (tnt.md 2.3)
    assert [h.address for h in hops[:4]] == [addrs["ce1"], addrs["pe1"], addrs["pe2"], addrs["ce2"]]
    pe2 = hops[2]
    assert pe2.labels == [] and pe2.frpla == 0 and pe2.return_te - pe2.return_er == 0
    t = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"][0]
    assert t["class"] == "invisible-php" and t["no_decrement"] and t["lsrs"] == ["p1", "p2", "p3"]
    assert (t["frpla_expected"], t["rtla_expected"]) == (0, 0)
    assert not all(h.writeback for e in cp["p3"].lfib.values() for h in e.hops)   # signalled to the PHP hop
    assert "no-decrement-ttl" in " ".join(t["notes"])
    assert visibility(lab, t) is not None                          # TNT has no signal left


def test_no_decrement_ttl_from_the_ingress_itself_sees_the_egress_first(tmp_path):
    """Junos "Disabling Normal TTL Decrementing": a traceroute started on the ingress router
    gets its first answer from the egress (the router's own packets are pushed at 255 too)."""
    lab, cp = no_decrement_lab(tmp_path)
    own = ScriptedProber(Sim(lab, cp), "pe1").trace(str(lab.probes[0].targets[0]))
    assert own[0].address == in_addr(lab, "pe2", "p3") and own[0].labels == []


def test_no_decrement_ttl_write_back_stays_when_an_ingress_lacks_it(tmp_path):
    """LDP merges every ingress's LSP into one label: the PHP hop drops the write-back only when
    every LER of the domain signals no-decrement-ttl (documented approximation of RSVP's per-LSP
    object). Here pe2 alone has it: pe1's LSP is uniform, explicit, and p3 writes back."""
    f = tmp_path / "half.yaml"
    f.write_text((NO_DECREMENT % {"ler": ""}).replace("pe2: {vendor: juniper}",
                                                       "pe2: {vendor: juniper, behaviour: {no_decrement_ttl: true}}"))
    lab = load_lab(str(f))
    cp = build(lab)
    assert all(h.writeback for e in cp["p3"].lfib.values() for h in e.hops)
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]))
    assert all(len(h.labels) == 1 for h in hops[2:5])


# ---- 2. a new top label over an existing stack (LDP over RSVP)

@pytest.mark.parametrize("vendor", ["juniper", "cisco"])
def test_ldp_over_rsvp_stacked_push_ttl(labs, vendor):
    lab, cp = labs("ldp-over-rsvp", vendor=vendor)
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]))
    CHECKS["ldp-over-rsvp"](lab, hops)
    e = next(e for e in cp["p1"].lfib.values() if any(h.push for h in e.hops))
    assert e.hops[0].neighbor == "p2" and e.hops[0].out_label == cp["p4"].bindings[e.fec]
    t = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"][0]
    assert t["stack_depth"] == 2 and t["lsrs"] == ["p1", "p2", "p3", "p4"]
    (inner,) = t["inner"]
    assert (inner["head"], inner["tail"], inner["lsrs"]) == ("p1", "p4", ["p2", "p3"])
    assert inner["hidden"] is (vendor == "juniper") and inner["push_ttl"] == (255 if vendor == "juniper" else "copy")


def test_stacked_push_ttl_is_a_router_knob(tmp_path):
    """Only the head's knob matters: a Cisco core whose head p1 is set to 255 hides p2, p3."""
    lab = load_lab("ldp-over-rsvp", {"vendor": "cisco"})
    import dataclasses
    lab.nodes["p1"].personality = dataclasses.replace(lab.nodes["p1"].personality, stacked_push_ttl=255)
    hops = ScriptedProber(Sim(lab, build(lab)), "vp").trace(str(lab.probes[0].targets[0]))
    assert [lab.owner_of(h.address) for h in hops[2:4]] == ["p1", "p4"]


@pytest.mark.parametrize("rsvp,fix", [("[[p1, p2]]", "are neighbours"), ("[[p1, ce2]]", "two different routers"),
                                      ("[[p1]]", "two different routers")])
def test_bad_rsvp_pair_is_one_line(tmp_path, rsvp, fix):
    f = tmp_path / "r.yaml"
    f.write_text((NO_DECREMENT % {"ler": ""}).replace("ldp: loopbacks}", f"ldp: loopbacks, rsvp: {rsvp}}}"))
    with pytest.raises(LabError) as e:
        load_lab(str(f))
    msg = str(e.value).strip()
    assert "\n" not in msg and fix in msg and "mpls.core.rsvp[0]" in msg, msg


# ---- 3. ICMP quote lengths

def _replies(pr, pkts, run=0.2):
    for p in pkts:
        pr.port.send(raw(Ether(dst=pr.gwmac, src=pr.mac) / p))
    pr.sim.run(run)
    return [Ether(f) for f in pr.port.recv_all() if f[12:14] == b"\x08\x00"]


def test_quote_bytes_per_vendor_and_router(tmp_path):
    lab, cp = quote_lab(tmp_path)
    pr = ScriptedProber(Sim(lab, cp), "vp")
    dst = str(lab.probes[0].targets[0])
    want = expected_quote_sizes(lab, 328)
    assert want == {"r1": 56, "r2": 228, "r3": 156, "dst": 356}
    probes = [IP(src=pr.src, dst=dst, ttl=t) / ICMP(id=7, seq=t) / (b"x" * 300) for t in (1, 2, 3)]
    probes.append(IP(src=pr.src, dst=dst) / UDP(sport=4000, dport=33434) / (b"x" * 300))
    got = {lab.owner_of(r[IP].src): (r[IP].len, len(raw(r[IP])), r[ICMP].type) for r in _replies(pr, probes)}
    assert {n: v[0] for n, v in got.items()} == want
    assert all(v[0] == v[1] for v in got.values())               # the header says what was sent
    nodes = ground_truth(cp)["nodes"]
    assert [nodes[n]["behaviour"]["quote_bytes"] for n in ("r1", "r2", "r3")] == [28, 200, 128]
    assert nodes["r2"]["behaviour_set"] == ["quote_bytes"]


def test_labelled_errors_pad_the_quote_to_128(labs):
    """RFC 4884: with an MPLS extension the quote is padded to 128 whatever quote_bytes says:
    the Cisco LSR's reply is 20 + 8 + 128 + 4 (extension header) + 4 (object header) + 4 (one
    LSE) = 168, the LFP table's Cisco size (vendors.md 2.2); ce1 (no labels) quotes 28."""
    lab, cp = labs("explicit")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    dst = str(lab.probes[0].targets[0])
    got = {lab.owner_of(r[IP].src): r[IP].len
           for r in _replies(pr, [IP(src=pr.src, dst=dst, ttl=t) / ICMP(id=8, seq=t) / (b"y" * 64) for t in (1, 3)])}
    assert got == {"ce1": 56, "p1": 168}


@pytest.mark.parametrize("value", [27, 1473, "full", True])
def test_bad_quote_bytes_is_one_line(tmp_path, value):
    f = tmp_path / "q.yaml"
    f.write_text(QUOTES.replace("quote_bytes: 200", f"quote_bytes: {str(value).lower()}"))
    with pytest.raises(LabError) as e:
        load_lab(str(f))
    msg = str(e.value).strip()
    assert "\n" not in msg and "28..1472" in msg and "routers.r2.behaviour.quote_bytes" in msg, msg


# ---- 4. a Huawei BGP-free core

def test_bgp_free_core_huawei_lsrs_are_stars_with_the_reason_in_the_truth(labs):
    lab, cp = labs("huawei-bgp-free")
    pr = ScriptedProber(Sim(lab, cp), "vp")
    hops = pr.trace(str(lab.probes[0].targets[0]))
    CHECKS["huawei-bgp-free"](lab, hops)
    assert pr.ping(str(lab.nodes["p2"].loopback)) is None          # no echo-reply route either
    assert cp["p2"].lookup(lab.nodes["vp"].interfaces[0].ip) is None
    assert cp["pe1"].lookup(lab.nodes["vp"].interfaces[0].ip) is not None
    gt = ground_truth(cp)
    path = gt["probes"][0]["paths"][0]
    silent = {s["node"]: s.get("silent") for s in path["forward"]}
    assert all("no IP route back" in silent[p] for p in ("p1", "p2", "p3"))
    assert silent["pe1"] is None and silent["pe2"] is None
    t = path["tunnels"][0]
    assert t["silent"] and "ttl expiration pop" in t["silent_reason"]
    assert "no IP route back" in visibility(lab, t)


def test_bgp_free_core_cisco_tunnels_its_errors_home(labs):
    """Cisco tunnels the time-exceeded along the LSP to pe2, which has the route: p1 and p2 are
    seen (labels, no echo-reply); the penultimate hop pops first and IP-routes: a star."""
    lab, cp = labs("huawei-bgp-free", vendor="cisco")
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]))
    assert [lab.owner_of(h.address) if h.address else None for h in hops[2:6]] == ["p1", "p2", None, "pe2"]
    assert all(h.labels and h.er_ttl is None for h in hops[2:4])
    t = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"][0]
    assert not t["silent"]


def test_testbed_signatures_rows_for_the_new_knobs():
    """`testbed signatures` has a row per new knob, and each shows the signature it produces."""
    from testbed.tools.signatures import KNOB_ROWS, knob_row
    rows = {k[0]: knob_row(*k)["trace"] for k in KNOB_ROWS
            if k[0].startswith(("no_decrement_ttl", "stacked_push_ttl", "quote_bytes", "bgp_free"))}

    def get(prefix):
        (trace,) = [t for k, t in rows.items() if k.startswith(prefix)]
        return trace
    assert get("no_decrement_ttl: true on the LERs") == "ce1 pe1 pe2 ce2 dst"
    assert get("no_decrement_ttl: true, from pe1").startswith("pe2 ")          # the egress first
    assert "p2" not in get("stacked_push_ttl: 255") and "p2[L1/1" in get("stacked_push_ttl: copy (Cisco")
    assert get("quote_bytes: vendor defaults").split()[:3] == ["ce1:56", "pe1:56", "p1:168"]
    assert {"pe1:356", "p1:168"} <= set(get("quote_bytes: 548").split())
    assert get("bgp_free: true (domain), Huawei") == "ce1 pe1 * * * pe2 ce2 dst"
    assert get("bgp_free: true (domain), Cisco").split()[2:5] == ["p1[L1", "f6]", "p2[L1"]


@pytest.mark.parametrize("vendor", ["huawei", "cisco", "juniper", "nokia", "linux"])
def test_bgp_free_truth_names_exactly_the_silent_hops(vendor):
    """The truth's per-hop silent reason (walker side) agrees with what the engine sends, for
    vendors that tunnel, IP-route or drop: a star exactly where the truth says silent."""
    lab = load_lab("huawei-bgp-free", {"vendor": vendor})
    cp = build(lab)
    hops = ScriptedProber(Sim(lab, cp), "vp").trace(str(lab.probes[0].targets[0]), fingerprint=False)
    steps = {s["node"]: s for s in ground_truth(cp)["probes"][0]["paths"][0]["forward"]}
    order = ["ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2"]
    assert [h.address is None for h in hops[:7]] == [bool(steps[n].get("silent")) for n in order]
