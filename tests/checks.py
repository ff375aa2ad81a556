"""Assertions shared by the sim and netns end-to-end tests of uTNT."""
from testbed.truth import ground_truth

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
