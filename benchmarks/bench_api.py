"""What the public API and the checked records cost (issue 14). Medians of this run, each
against its peer measured in the same run:

- `import testbed` in a fresh interpreter (the API is imported on first use only) against
  a bare interpreter and `import testbed.api` (what the first `testbed.load` imports);
- a sim run through the API (load, up, probe, score) against testbed.api.run
  (what `testbed run --runtime sim` calls): the API adds a layer, not work;
- reading back a run-state record of a 300-router lab (state.json as `up` writes it) with
  its pydantic check (records.State) against plain json.loads.
"""
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_of as _median_of  # noqa: E402

import testbed  # noqa: E402

RUNS = 7


def median_of(fn, runs=RUNS):
    return _median_of(fn, runs)


def fresh_import(module: str) -> float:
    def once():
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return median_of(once)


def state_record(routers: int) -> str:
    """state.json of a chain of `routers` routers, as api.up writes it (without bringing it up)."""
    from testbed.runtimes.netns import build as nsbuild
    lines = ["name: chain", "routers:"] + [f"  r{i}: {{}}" for i in range(routers)]
    lines += ["hosts:", "  vp: {}", "  dst: {}", "links:", "  - {lan: [r0, vp], name: vp-lan}"]
    lines += [f"  - [r{i}, r{i + 1}]" for i in range(routers - 1)]
    lines += [f"  - {{lan: [r{routers - 1}, dst], name: dst-lan}}", "probes:", "  - {from: vp, to: dst}"]
    path = Path("/tmp") / f"bench-api-chain-{routers}.yaml"
    path.write_text("\n".join(lines) + "\n")
    lab = testbed.load(str(path), no_limits=True)
    path.unlink()
    name = "bench-api"
    plan = nsbuild.make_plan(lab, name)
    st = {"schema": 1, "name": name, "lab": lab.name, "source": str(path), "params": {}, "options": {},
          "status": "up", "created": time.time(), "prefix": f"tb-{name}.", "namespaces": plan.namespaces,
          "routers": plan.routers, "hosts": plan.hosts, "switch": plan.switch,
          "bridges": [{"name": ln.bridge, "namespace": plan.switch, "lan": ln.name} for ln in plan.lans],
          "taps": [{"name": ln.tap, "namespace": plan.switch, "lan": ln.name} for ln in plan.lans if ln.tap],
          "attach": plan.attach, "timings": {"namespaces": 0.5}, "probes": [], "check": None,
          "control_plane": "computed", "frr": None,
          "workers": [{"index": i, "pid": 1000 + i, "start_time": 123, "routers": [r.name for r in lab.routers][i::2],
                       "log": "/run/utnt-lab/bench-api/workers.log"} for i in range(2)]}
    return json.dumps(st, indent=1)


def main():
    bare, light, api = fresh_import("sys"), fresh_import("testbed"), fresh_import("testbed.api")
    print(f"fresh interpreter: bare {bare * 1000:.0f} ms, import testbed {light * 1000:.0f} ms, "
          f"import testbed.api {api * 1000:.0f} ms")

    from testbed.api import run as run_lab

    def via_api():
        lab = testbed.load("invisible-php")
        with testbed.up(lab, runtime="sim") as net:
            result = net.probe()
        assert testbed.score(lab, result).perfect

    def via_run_lab():
        from testbed.lab import load_lab
        assert run_lab(load_lab("invisible-php"), runtime="sim")["score"]["perfect"]
    via_api(), via_run_lab()                       # warm: imports and caches out of the figure
    ta, tc = [], []
    for _ in range(RUNS):                          # interleaved: both see the same machine load
        ta.append(median_of(via_api, 1))
        tc.append(median_of(via_run_lab, 1))
    a, c = statistics.median(ta), statistics.median(tc)
    print(f"sim run of invisible-php: API {a * 1000:.0f} ms, run_lab {c * 1000:.0f} ms (ratio {a / c:.2f})")

    from testbed.runtimes.netns import records
    text = state_record(300)
    path = Path("/run/utnt-lab/bench-api/state.json")
    doc, problem = records.check(records.State, path, text, expect_name="bench-api")
    assert problem is None, problem
    n = 50
    checked = median_of(lambda: [records.check(records.State, path, text, "bench-api") for _ in range(n)]) / n
    plain = median_of(lambda: [json.loads(text) for _ in range(n)]) / n
    print(f"state.json of a 300-router lab ({len(text) // 1024} KiB): checked read {checked * 1000:.2f} ms, "
          f"json.loads {plain * 1000:.2f} ms")


if __name__ == "__main__":
    main()
