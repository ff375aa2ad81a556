"""Accuracy regression. uTNT's score per library lab must equal the reviewed
expectations: a drop fails, and an improvement fails too until expectations.yaml is updated."""
from pathlib import Path

import pytest
import yaml

from testbed.experiments.board import COLUMNS, scoreboard
from testbed.lab import lab_names

EXPECT = yaml.safe_load((Path(__file__).parent / "expectations.yaml").read_text())


def test_every_library_lab_has_expectations():
    assert set(EXPECT["sim"]) == set(lab_names())


def test_every_miss_has_a_reason():
    for lab, e in EXPECT["sim"].items():
        missed = (e["present"] - e["detected"] or e["lsrs_present"] - e["lsrs_found"] or e["false_tunnels"]
                  or e["false_lsrs"] or e["undetectable"] or e["present"] - e["class_correct"])
        if missed:
            assert lab in EXPECT["misses"], f"{lab}: a miss without a one-line reason in expectations.yaml"


@pytest.fixture(scope="module")
def board():
    return {r["lab"]: r for r in scoreboard("sim")}


@pytest.mark.parametrize("lab", sorted(EXPECT["sim"]))
def test_sim_accuracy_matches_expectations(board, lab):
    got = {k: board[lab][k] for k in COLUMNS}
    want = EXPECT["sim"][lab]
    diffs = {k: (want[k], got[k]) for k in COLUMNS if want[k] != got[k]}
    assert not diffs, (f"{lab}: score changed (expected, got): {diffs}; if this is deliberate, "
                       "update tests/accuracy/expectations.yaml")
