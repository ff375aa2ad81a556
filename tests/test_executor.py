"""The executor everywhere (testbed.experiments.pool): the matrix and the sweep give exactly the
in-process results over 2 local processes and on a local Dask cluster (distributed.LocalCluster,
2 worker processes), through the functions and through the CLI's --workers / --scheduler.
The cells are seeded and independent, so where they ran must not show in the result."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from testbed.errors import TestbedError as BadInput
from testbed.experiments.matrix import parse_grid, run_matrix
from testbed.experiments.sweep import sweep

distributed = pytest.importorskip("distributed", reason="dask not installed (pip install 'utnt-lab[dask]'; "
                                                        "make bootstrap installs it)")

CELLS = 24          # matrix cells sampled with the seed below: all four classes, vendors, ECMP, VPs
SEED = 11
GRID = parse_grid({"lsrs": "1,2,3"})       # short chains keep the three runs of the matrix quick


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as c:
        yield c


def _cells(doc):
    """A matrix result without the CPU time each cell took (the only field that is a measurement)."""
    return [{k: v for k, v in c.items() if k != "cpu_seconds"} for c in doc["cells"]]


def test_matrix_on_processes_and_on_dask_gives_the_in_process_results(cluster):
    inline = run_matrix(GRID, seed=SEED, limit=CELLS, workers=1)
    assert inline["executor"] == "inline" and len(inline["cells"]) == CELLS
    assert not [c for c in inline["cells"] if "error" in c]
    assert {c["params"]["class"] for c in inline["cells"]} == {"explicit", "implicit", "opaque", "invisible"}
    seen = []
    procs = run_matrix(GRID, seed=SEED, limit=CELLS, workers=2,
                       progress=lambda done, total, r: seen.append((done, r["cell"])))
    dask = run_matrix(GRID, seed=SEED, limit=CELLS, scheduler=cluster.scheduler_address)
    assert procs["executor"] == "processes" and dask["executor"] == "dask"
    assert [d for d, _ in seen] == list(range(1, CELLS + 1))                     # progress per finished cell
    assert sorted(c for _, c in seen) == sorted(c["cell"] for c in inline["cells"])
    for other in (procs, dask):
        assert [c["cell"] for c in other["cells"]] == [c["cell"] for c in inline["cells"]]   # ordered by cell
        assert _cells(other) == _cells(inline)
        assert other["summary"] == inline["summary"]
    assert inline["summary"]["perfect"] > 0 and inline["summary"]["per_class"]


def test_sweep_on_dask_through_the_cli_gives_the_in_process_results(cluster, tmp_path):
    labs, frpla, rtla, sets = ["invisible-php", "asymmetric"], [1, 3], [1, 2], {"lsrs": [2, 3]}
    inline = sweep(labs, frpla, rtla, sets, seed=4, workers=1)
    assert inline["executor"] == "inline" and len(inline["cells"]) == (2 + 1) * 2 * 2
    out = tmp_path / "sweep.json"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "sweep", *labs, "--frpla", "1,3", "--rtla", "1..2",
                        "--set", "lsrs=2..3", "--seed", "4", "--scheduler", cluster.scheduler_address,
                        "-o", str(out), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["executor"] == "dask"
    assert doc["cells"] == json.loads(json.dumps(inline["cells"])) and doc["grid"] == json.loads(
        json.dumps(inline["grid"]))
    assert sum(c["TP"] for c in doc["cells"]) > 0          # the hidden tunnels' triggers fired somewhere


def test_executor_arguments_are_checked_in_one_line():
    with pytest.raises(BadInput, match="--workers 0"):
        run_matrix(seed=SEED, limit=2, workers=0)
    with pytest.raises(BadInput, match="sim runtime only"):
        run_matrix(seed=SEED, limit=2, runtime="netns", scheduler="tcp://127.0.0.1:1")


def test_scoreboard_rows_are_the_same_on_dask(cluster):
    from testbed.experiments.board import scoreboard
    labs = ["invisible-php", "two-vp", "mixed", "ecmp-explicit"]
    inline = scoreboard("sim", labs, seed=1, workers=1)
    finished = []
    on_dask = scoreboard("sim", labs, seed=1, scheduler=cluster.scheduler_address, progress=finished.append)
    assert on_dask == inline and [r["lab"] for r in on_dask] == labs
    assert sorted(finished) == sorted(labs) and sum(r["present"] for r in inline) > 0


def test_workers_never_fork_more_processes_than_cells():
    """Issue 21: --workers 300 forked 300 processes for 4 cells; the pool starts with the
    first map, at most one process per cell."""
    from testbed.experiments.pool import Executor
    with Executor(workers=50) as ex:
        assert ex.map(abs, [-1, -2, 3]) == [1, 2, 3]
        assert ex._pool._max_workers == 3
