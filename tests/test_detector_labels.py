"""The built-in `labels` detector (testbed/detectors/builtin/labels.py): a plain Paris
traceroute's view on the sim, where scamper and traceroute cannot run."""
import pytest

from testbed import errors
from testbed.api import run as run_lab
from testbed.lab import load_lab


def test_labels_sees_the_explicit_tunnel_and_not_the_invisible_one_on_the_sim():
    doc = run_lab(load_lab("mixed"), runtime="sim", detector="labels", seed=1)
    lab = load_lab("mixed")
    (t,) = doc["traces"]
    assert doc["detector"]["name"] == "labels" and t["detector"] == "labels" and t["hops"][-1]["address"] == t["dst"]
    assert [(lab.owner_of(u["ingress"]), [lab.owner_of(a) for a in u["lsrs"]], lab.owner_of(u["egress"]))
            for u in t["tunnels"]] == [("pe1", ["p1", "p2"], "pe2")]
    vis = doc["visibility"]                    # a labels-only baseline: the hidden tunnel is missed by design
    assert vis["baseline"] and vis["not_visible"] == {"invisible-php": 1}
    assert doc["score"]["totals"]["false_tunnels"] == 0


def test_labels_takes_only_a_probe_method():
    doc = run_lab(load_lab("explicit"), runtime="sim", detector="labels", extra=["-m", "udp-paris"], seed=1)
    assert doc["traces"][0]["method"] == "udp-paris" and doc["score"]["perfect"]
    with pytest.raises(errors.TestbedError, match=r"only '-m icmp-paris' or '-m udp-paris' apply \(got: -b\)"):
        run_lab(load_lab("explicit"), runtime="sim", detector="labels", extra=["-b"])
