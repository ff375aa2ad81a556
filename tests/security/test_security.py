"""Every hostile or careless input in cases.py is refused with one line per problem (or, for
a local snippet shadowing the library's, ignored), runs no code, reads nothing outside the
lab's folder and the library, and leaves nothing behind. report.py prints the same as a table."""
from __future__ import annotations

import os

import pytest

from collect import all_cases
from runner import run_case

CASES = {c.name: c for c in all_cases()}
ROOT_ONLY = {"utnt-no-tap", "down-all-no-stdin"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_is_refused_and_leaves_nothing(name, tmp_path):
    if name in ROOT_ONLY and os.geteuid() != 0:
        pytest.skip("needs root")
    c = CASES[name]
    r = run_case(c, tmp_path)
    assert not r["traceback"], r
    assert not r["leaked"], r
    assert not r["left_behind"], r
    assert r["refused"], r
    assert r["needle_ok"], r
    if c.expect == "refused" and c.process == "":
        assert r["exit"] == 2 or name in ("graph-missing-folder",), r   # bad input is exit status 2


def test_the_library_snippet_wins_unless_asked(tmp_path):
    """A local _chain.j2 beside a lab is ignored; with --local-includes it is used (and sandboxed)."""
    from cases import Case
    from runner import _in_process, setup
    c = CASES["shadow-library-snippet"]
    labdir, tmp, canary = setup(Case("x", "", files={"lab.yaml": c.files["lab.yaml"],
                                                     "_chain.j2": "hosts: {vp: {}}\nlinks: [[vp, ce1], [ce1, pe1]]\n"}),
                                tmp_path)
    code, out, err = _in_process(["validate", "lab.yaml", "--json"], labdir, tmp)
    assert code == 0, err
    assert '"routers": 6' in out       # the library's chain: ce1 pe1 p1 p2 pe2 ce2
    code, out, err = _in_process(["validate", "lab.yaml", "--local-includes"], labdir, tmp)
    assert code == 2 and "_chain.j2:" in err and "disconnected" in err   # the local chain: pe2 unlinked


def test_report_script_json(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path
    here = Path(__file__).resolve().parent
    r = subprocess.run([sys.executable, str(here / "report.py"), "--json", "-k", "ssti-cycler"], capture_output=True,
                       text=True, timeout=120)
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["total"] == 1 and doc["cases"][0]["refused"] and not doc["failed"]
