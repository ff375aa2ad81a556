"""The process-handling cases of cases_procs.py: each refused with one line (exit 2), nothing
brought up, nothing left behind, nothing leaked."""
from __future__ import annotations

import pytest

from cases_procs import cases
from runner import run_case

CASES = {c.name: c for c in cases()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_procs_case_is_refused_and_leaves_nothing(name, tmp_path):
    r = run_case(CASES[name], tmp_path)
    assert not r["traceback"] and not r["leaked"] and not r["left_behind"], r
    assert r["refused"] and r["needle_ok"] and r["exit"] == 2, r
