"""The sim gives byte-identical traces after its forwarding state was made on demand (issue 23:
routers compiled on their first packet, routes and labels resolved per destination): uTNT's
traces (and the frame-hops they cost) from every vantage point of every library lab, some
vendor variants and the generated matrix sample, seeded flows, hashed and compared with the
digests recorded with the code before the change (tests/golden/traces/digests.json, written
at c9cf895 with UPDATE_GOLDEN=1).

A change meant to alter what probes see (a new reply rule, a vendor knob) regenerates them:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_traces_golden.py
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from testbed.controlplane import build

DIGESTS = Path(__file__).resolve().parent / "golden" / "traces" / "digests.json"
SEED = 1


def _cases(tmp: Path):
    from test_truth_golden import _cases as truth_cases
    yield from truth_cases(tmp)                    # (the imported ISPs where topohub is installed)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, indent=1, sort_keys=True, default=str).encode()).hexdigest()


def digests(tmp: Path) -> dict:
    from testbed.detectors.utnt import probe_sim, utnt_args
    from testbed.detectors.registry import flow_for
    out = {}
    for case, make in _cases(tmp):
        lab = make()
        cp = build(lab)
        docs = []
        for p in lab.probes:
            doc = probe_sim(lab, cp, p.source, [str(t) for t in p.targets],
                            utnt_args(["--flow", str(flow_for(SEED, p.source))]))
            docs.append({"source": p.source, "traces": doc["traces"], "sim": doc["sim"]})
        out[case] = _digest(docs)
    return out


def test_sim_traces_are_byte_identical_to_the_recorded_ones(tmp_path):
    now = digests(tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):
        DIGESTS.parent.mkdir(parents=True, exist_ok=True)
        DIGESTS.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(DIGESTS.read_text())
    missing = sorted(set(recorded) - set(now))
    assert not [m for m in missing if not m.startswith("import:")], f"cases gone: {missing}"
    assert not set(now) - set(recorded), "cases without a recorded digest (UPDATE_GOLDEN=1 records them)"
    assert len(now) >= 30
    changed = sorted(k for k in now if now[k] != recorded.get(k))
    assert not changed, f"sim traces changed for: {changed}"


def test_on_demand_sim_equals_the_sim_on_whole_tables(tmp_path, monkeypatch):
    """The recorded digests pin the traces of one code version; this pins the rule itself on
    whatever the engine and uTNT do now: the sim with routers compiled on first packet and
    routes resolved per destination gives the same traces and frame-hops as the sim with every
    router compiled from its whole FIB and LFIB (compile_node, as the netns workers do)."""
    import testbed.runtimes.sim as sim_module
    from testbed.engine import compile_node
    (tmp_path / "lazy").mkdir()
    (tmp_path / "whole").mkdir()
    lazy = digests(tmp_path / "lazy")
    monkeypatch.setattr(sim_module, "compile_on_demand", compile_node)
    whole = digests(tmp_path / "whole")
    assert len(lazy) >= 30 and set(lazy) == set(whole)
    assert sorted(k for k in lazy if lazy[k] != whole[k]) == []
