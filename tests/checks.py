"""Assertions shared by the sim and netns tests: per-class traceroute signatures, and uTNT's
tags against the ground truth."""
from testbed.tools.scripted import _ittl
from testbed.truth import ground_truth


def in_addr(lab, node, prev):
    """Address of node's interface facing prev (what a traceroute shows for node)."""
    for itf in lab.nodes[node].interfaces:
        if prev in [p.node for p in itf.peers()]:
            return str(itf.ip)
    raise KeyError((node, prev))


def chain_addrs(lab, names):
    return {node: in_addr(lab, node, prev) for prev, node in zip(names, names[1:])}


# ---- per-class signatures of a traceroute with pings (HopReply lists from the sim's scripted
# prober or from scamper's JSON): tnt.md 1-3

def check_explicit(lab, hops, lsrs=3):
    path = ["ce1", "pe1"] + [f"p{i}" for i in range(1, lsrs + 1)] + ["pe2", "ce2"]
    addrs = chain_addrs(lab, ["vp"] + path)
    assert [h.address for h in hops[:-1]] == [addrs[n] for n in path]
    lsr_hops = hops[2:2 + lsrs]
    for k, h in enumerate(lsr_hops, start=1):
        assert h.icmp_type == 11 and len(h.labels) == 1
        assert h.labels[0][1] == 1, "explicit LSRs quote LSE-TTL 1"
        assert h.quoted_ttl == (k if k < lsrs else 1)
    uturns = [h.uturn for h in lsr_hops]
    assert uturns[0] == 2 * lsrs and all(a > b for a, b in zip(uturns, uturns[1:]))
    for h in hops[:2] + hops[2 + lsrs:-1]:
        assert h.labels == [] and h.quoted_ttl == 1
    assert hops[-1].icmp_type == 0
    assert {(_ittl(h.reply_ttl), _ittl(h.er_ttl)) for h in hops[:-1]} == {(255, 255)}   # Cisco
    assert (_ittl(hops[-1].reply_ttl), _ittl(hops[-1].er_ttl)) == (64, 64)             # Linux host


def check_implicit(lab, hops, lsrs=3):
    lsr_hops = hops[2:2 + lsrs]
    assert all(h.labels == [] for h in hops)
    assert [h.quoted_ttl for h in lsr_hops] == list(range(1, lsrs)) + [1]
    uturns = [h.uturn for h in lsr_hops[:-1]]
    assert all(a > b for a, b in zip(uturns, uturns[1:])) and uturns[-1] > 0
    assert hops[1].uturn == 0 and hops[2 + lsrs].uturn == 0


def check_opaque(lab, hops, lsrs=3):
    addrs = chain_addrs(lab, ["vp", "ce1", "pe1", "p1"] + [f"p{i}" for i in range(2, lsrs + 1)] + ["pe2", "ce2"])
    assert [h.address for h in hops[:4]] == [addrs["ce1"], addrs["pe1"], addrs["pe2"], addrs["ce2"]]
    eh = hops[2]
    assert len(eh.labels) == 1 and eh.labels[0][1] == 255 - lsrs
    assert all(h.labels == [] for h in hops if h is not eh)


def check_invisible_php(lab, hops, lsrs=3):
    addrs = chain_addrs(lab, ["vp", "ce1", "pe1", "p1"] + [f"p{i}" for i in range(2, lsrs + 1)] + ["pe2"])
    assert hops[1].address == addrs["pe1"] and hops[2].address == addrs["pe2"]
    egress = hops[2]
    assert egress.labels == [] and egress.quoted_ttl == 1
    assert egress.frpla == lsrs
    assert egress.return_te == egress.return_er
    assert hops[1].frpla == 0
    assert not any(h.address in [addrs[f"p{i}"] for i in range(1, lsrs + 1)] for h in hops)


def check_juniper(lab, hops, lsrs=3):
    egress = hops[2]
    assert egress.reply_ttl > 128 and egress.er_ttl <= 64       # <255,64>
    assert egress.return_te - egress.return_er == lsrs          # RTLA
    assert egress.frpla == lsrs


def check_uhp(lab, hops):
    addrs = chain_addrs(lab, ["vp", "ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2"])
    assert [h.address for h in hops[:4]] == [addrs["ce1"], addrs["pe1"], addrs["ce2"], addrs["ce2"]]
    assert addrs["pe2"] not in [h.address for h in hops]


def check_linux(lab, hops, lsrs=3):
    assert [h.address for h in hops[2:2 + lsrs]] == [None] * lsrs
    for h in hops:
        if h.address:
            assert h.reply_ttl <= 64 and (h.er_ttl is None or h.er_ttl <= 64)
            assert h.labels == []


def check_plain(lab, hops):
    assert all(h.address for h in hops)
    for h in hops[:-1]:
        assert h.labels == [] and h.quoted_ttl == 1 and h.frpla == 0 and h.uturn == 0


def check_asymmetric(lab, hops):
    by = {h.address: h for h in hops}
    assert by[in_addr(lab, "r4", "r3")].frpla == 3
    assert [by[in_addr(lab, n, p)].frpla for p, n in (("vp", "r1"), ("r1", "r2"), ("r2", "r3"))] == [0, 0, 0]


def check_mixed(lab, hops):
    labelled = [h for h in hops if h.labels]
    assert [h.address for h in labelled] == [in_addr(lab, "p1", "pe1"), in_addr(lab, "p2", "p1")]
    pe4 = next(h for h in hops if h.address == in_addr(lab, "pe4", "p5"))
    assert pe4.frpla == 3
    assert hops[hops.index(pe4) - 1].address == in_addr(lab, "pe3", "x1")


def check_five_vp(lab, hops):
    # from vp1: ce1 pe1 then pe2 as neighbours (pipe TTL hides p1 p2 p3), FRPLA 3 at pe2
    addrs = chain_addrs(lab, ["vp1", "ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2"])
    assert [h.address for h in hops[:4]] == [addrs["ce1"], addrs["pe1"], addrs["pe2"], addrs["ce2"]]
    assert hops[2].frpla == 3 and hops[1].frpla == 0 and hops[2].labels == []
    assert not any(h.address in (addrs["p1"], addrs["p2"], addrs["p3"]) for h in hops)


CHECKS = {
    "explicit": check_explicit, "implicit": check_implicit, "opaque": check_opaque,
    "invisible-php": check_invisible_php, "invisible-php-juniper": check_juniper, "invisible-uhp": check_uhp,
    "linux-lsr": check_linux, "plain-ip": check_plain, "asymmetric": check_asymmetric, "mixed": check_mixed,
    "five-vp": check_five_vp,
}

TECHNIQUE = {"invisible-php": ("FRPLA", "BRPR"), "invisible-php-juniper": ("RTLA", "DPR"),
             "invisible-uhp": ("DUPIP", "BUDDY"), "opaque": ("MTTL", "BRPR"), "implicit": ("QTTL", None),
             "explicit": (None, None)}


def check_tags_against_truth(lab, cp, doc, name):
    """Every [MPLS,...] tag uTNT printed names the right router for its role and class."""
    truth = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"]
    visible = [t for t in truth if not t["silent"]]
    tr = doc["traces"][0]
    tagged = [h for h in tr["hops"] if h["mpls"]]
    if not visible:
        assert tagged == [] and tr["tunnels"] == [], "no tunnel may be reported where there is none"
        return
    for h in tagged:
        node = lab.owner_of(h["address"])
        t = next(t for t in visible if node in [t["ingress"], t["egress"], *t["lsrs"]])
        role = {"ING": t["ingress"], "EGR": t["egress"]}.get(h["mpls"]["role"])
        if role is not None:
            assert node == role, (h["label"], h["mpls"], node)
        else:
            assert node in t["lsrs"], (h["label"], node)
        assert h["mpls"]["class"] == {"explicit": "EXP", "implicit": "IMP", "opaque": "OPA"}.get(t["class"], "INV")
    if name in TECHNIQUE:
        trigger, tech = TECHNIQUE[name]
        tun = tr["tunnels"][0]
        assert (tun["trigger"], tun["technique"]) == (trigger, tech)
        revealed = [h for h in tr["hops"] if h["revealed"]]
        assert all(h["mpls"]["technique"] == tech for h in revealed)
