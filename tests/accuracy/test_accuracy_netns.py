"""On real namespaces, for a representative subset of the library, uTNT
attached by tap scores exactly what the reviewed expectations say (the same as the sim)."""
from pathlib import Path

import pytest
import yaml

from testbed.experiments.board import COLUMNS
from testbed.api import run as run_lab
from testbed.lab import load_lab
from labnames import N

EXPECT = yaml.safe_load((Path(__file__).parent / "expectations.yaml").read_text())
SUBSET = ["invisible-php", "invisible-php-juniper", "invisible-uhp", "explicit", "implicit", "opaque", "plain-ip"]


@pytest.mark.netns
@pytest.mark.parametrize("name", SUBSET)
def test_netns_accuracy_matches_expectations(name):
    lab = load_lab(name)
    doc = run_lab(lab, runtime="netns", name=N(f"acc-{name}"))
    got = {k: doc["score"]["totals"][k] for k in COLUMNS}
    want = EXPECT["sim"][name]
    assert got == {k: want[k] for k in COLUMNS}, f"{name} on netns: expected {want}, got {got}"
    # uTNT ran as its own process on the tap, with its own address (not the vantage point's)
    assert doc["traces"][0]["src"] != str(lab.nodes["vp"].interfaces[0].ip)
    # and the lab is gone afterwards
    from testbed.runtimes.netns import api
    assert all(s["name"] != N(f"acc-{name}") for s in api.status())
