"""A detector of one's own through every experiment, as uTNT goes.

examples/labelseer/labelseer.py is a 30-line detector (a Paris traceroute with uTNT's stack;
labelled or qTTL > 1 hops are a tunnel). Its package is installed the way pip leaves one (a
dist-info with the entry point its pyproject.toml declares, on the path: offline, no build), and
it runs through scoreboard, a 100-cell matrix, a campaign on an imported ISP and ondemand, as
`--detector labelseer` (a port function: in process on the sim, on a tap of its own on
namespaces) and as a command template (`--detector-cmd`, real packets). It sees explicit
tunnels and not invisible ones: the scores say so, `testbed diff` shows what uTNT got right that
it did not, and `--strict` fails a CI job on the lab it gets wrong.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from labnames import N

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "labelseer"


def install_on_path(d: Path, entry_points: dict | None = None, module: Path | None = EXAMPLE / "labelseer.py",
                    name: str = "labelseer") -> Path:
    """What `pip install examples/labelseer` leaves in site-packages (the module, a dist-info
    with the pyproject's entry points), written into folder d: put d on PYTHONPATH."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    eps = entry_points if entry_points is not None else project["entry-points"]
    di = d / f"{name}-{project['version']}.dist-info"
    di.mkdir(parents=True, exist_ok=True)
    (di / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {project['version']}\n")
    (di / "entry_points.txt").write_text("".join(f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in e.items())
                                                 for g, e in eps.items()))
    if module is not None:
        shutil.copy(module, d / module.name)
        (di / "RECORD").write_text(f"{module.name},,\n{di.name}/METADATA,,\n")
    return d


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return install_on_path(tmp_path_factory.mktemp("site"))


def cli(site, *args, code=0):
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    r = subprocess.run([sys.executable, "-m", "testbed.cli", *args], capture_output=True, text=True, cwd=ROOT,
                       env=env, timeout=600)
    assert r.returncode == code, (r.returncode, r.stderr[-3000:])
    return r


def test_the_example_is_a_30_line_detector():
    code = [ln for ln in (EXAMPLE / "labelseer.py").read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]
    body = code[code.index("def detect(port, targets, options, *, ip, gw, mac=None, flow=None):"):
                next(i for i, ln in enumerate(code) if ln.startswith("def main"))]
    assert len(body) <= 30, len(body)


def test_the_registry_has_the_built_ins_then_the_installed_packages(site, tmp_path):
    out = cli(site, "scoreboard", "--help").stdout
    listed = re.search(r"who probes: ([a-z, -]+?) \(default utnt", " ".join(out.split())).group(1).split(", ")
    assert listed[0] == "utnt" and listed[-1] == "labelseer"            # the built-ins, then the packages'
    assert {"tnt", "scamper", "traceroute"} <= set(listed)
    r = cli(site, "scoreboard", "explicit", "--detector", "nosuch", code=2)
    assert "invalid choice: 'nosuch'" in r.stderr and "labelseer" in r.stderr
    # a package whose entry point does not import: one line naming it and the fix
    broken = install_on_path(tmp_path / "broken", {"utnt_lab.detectors": {"broken": "no_such_module:detect"}},
                             module=None, name="brokendet")
    r = cli(broken, "scoreboard", "explicit", "--detector", "broken", code=1)
    assert r.stderr.count("\n") == 1 and "detector 'broken' (entry point no_such_module:detect" in r.stderr \
        and "does not load" in r.stderr
    # a package whose detector raises: one line naming it and the vantage point, exit 1
    boom = tmp_path / "boom"
    boom.mkdir()
    (boom / "boomdet.py").write_text("def detect(port, targets, options, **kw):\n    raise RuntimeError('my bug')\n")
    install_on_path(boom, {"utnt_lab.detectors": {"boom": "boomdet:detect"}}, module=None, name="boomdet")
    r = cli(boom, "run", "explicit", "--runtime", "sim", "--detector", "boom", code=1)
    assert r.stderr == "error: detector 'boom' failed from vp: RuntimeError: my bug\n"
    # a command template needs real packets: refused on the sim before anything runs
    r = cli(site, "scoreboard", "explicit", "--detector-cmd", "mytool {dst}", code=2)
    assert re.search(r"--detector-cmd runs in the bigrt, mininet or netns runtime only \(it needs real packets\)", r.stderr)


def test_no_detector_name_is_dispatched_on_outside_the_registry():
    """Experiments ask a detector what it can do, never what it is called (the VM runtime's
    guest images, testbed/experiments/vm.py, are images, not registered detectors)."""
    pat = re.compile(r"""(detector|det)\w*\s*(==|!=)\s*["'](utnt|tnt|scamper|traceroute|cmd)["']"""
                     r"""|["'](utnt|tnt|scamper|traceroute)["']\s*(==|!=)\s*\w*det"""
                     r"""|\bin \(["'](utnt|tnt|scamper|traceroute)["']""")
    hits = []
    for f in (ROOT / "testbed").rglob("*.py"):
        rel = f.relative_to(ROOT).as_posix()
        if rel in ("testbed/detectors/registry.py", "testbed/experiments/vm.py") or "/builtin/" in rel:
            continue
        hits += [f"{rel}:{i}: {ln.strip()}" for i, ln in enumerate(f.read_text().splitlines(), 1) if pat.search(ln)]
    assert not hits, hits


def test_scoreboard_run_diff_and_strict_on_the_sim(site, tmp_path):
    rows = json.loads(cli(site, "scoreboard", "explicit", "invisible-php", "--detector", "labelseer", "--seed", "1",
                          "--json").stdout)
    by = {r["lab"]: r for r in rows}
    assert {r["detector"] for r in rows} == {"labelseer"}
    assert by["explicit"]["perfect"] and by["explicit"]["lsrs_found"] == 3 and by["explicit"]["probes"] > 0
    assert not by["invisible-php"]["perfect"] and by["invisible-php"]["detected"] == 0
    r = cli(site, "scoreboard", "explicit", "invisible-php", "--detector", "labelseer", "--seed", "1", "--strict",
            code=3)
    assert "invisible-php: not perfect" in r.stderr and "explicit" not in r.stderr.split("below the bar")[1]
    cli(site, "scoreboard", "explicit", "--detector", "labelseer", "--seed", "1", "--strict")     # a perfect lab: 0
    # the same documents as uTNT's, and testbed diff between the two
    docs = {}
    for det in ("utnt", "labelseer"):
        p = tmp_path / f"{det}.json"
        p.write_text(cli(site, "run", "invisible-php", "--runtime", "sim", "--seed", "1", "--detector", det,
                         "--json").stdout)
        docs[det] = json.loads(p.read_text())
    assert set(docs["utnt"]) == set(docs["labelseer"])
    assert docs["labelseer"]["detector"]["name"] == "labelseer" and docs["labelseer"]["detector"]["version"] == "0.1.0"
    assert docs["utnt"]["detector"]["name"] == "utnt"
    d = json.loads(cli(site, "diff", str(tmp_path / "utnt.json"), str(tmp_path / "labelseer.json"), "--json").stdout)
    assert (d["a"]["detector"], d["b"]["detector"]) == ("utnt", "labelseer") and d["regressions"] == 1
    r = cli(site, "diff", str(tmp_path / "utnt.json"), str(tmp_path / "labelseer.json"), "--strict", code=3)
    assert "right in" in r.stderr
    cli(site, "run", "invisible-php", "--runtime", "sim", "--detector", "labelseer", "--strict", code=3)


def test_a_100_cell_matrix_on_the_sim(site, monkeypatch):
    """100 cells of a grid of explicit, implicit, opaque and invisible tunnels (vendors, LSRs,
    popping): the detector's recall per truth class is what its rule can see."""
    from testbed.detectors import registry
    from testbed.experiments.matrix import GRID, run_matrix
    monkeypatch.syspath_prepend(str(site))
    registry.reset()
    try:
        grid = {k: v[:1] for k, v in GRID.items()}
        grid.update(**{"class": GRID["class"], "popping": ["php", "uhp"], "lsrs": [1, 2],
                       "ler_vendor": ["cisco", "juniper", "linux"], "lsr_vendor": ["cisco", "juniper", "linux"]})
        doc = run_matrix(grid, seed=3, limit=100, workers=2, detector="labelseer")
    finally:
        registry.reset()
    s = doc["summary"]
    assert doc["detector"]["name"] == "labelseer" and s["cells"] == 100 and not s["errors"]
    rec = {r["class"]: r for r in s["per_class"]}
    assert rec["explicit"]["present"] > 10 and rec["explicit"]["recall"] > 0.9
    # an invisible PHP tunnel shows nothing it reads (a UHP egress answers labelled: it is seen)
    assert rec["invisible-php"]["present"] >= 1 and rec["invisible-php"]["detected"] == 0, rec["invisible-php"]
    assert s["tags"]["INV"] == {} and s["tags"]["OPA"] == {}       # it never reports what it cannot see


def test_a_campaign_on_an_imported_isp(site, tmp_path):
    lab = tmp_path / "att.yaml"
    cli(site, "import", "topozoo:AttMpls", "-o", str(lab), "--vps", "2", "--dsts", "4", "--domains", "2",
        "--classes", "invisible-php,explicit", "--seed", "2")
    docs = {}
    for det in ("utnt", "labelseer"):
        docs[det] = json.loads(cli(site, "campaign", str(lab), "--seed", "1", "--detector", det, "--json",
                                   "--no-pictures", "-o", str(tmp_path / det)).stdout)
    mine, utnt = docs["labelseer"], docs["utnt"]
    assert set(mine) == set(utnt) and mine["detector"]["name"] == "labelseer"
    assert mine["traces"] == utnt["traces"] == 8
    assert mine["truth_classes"] == utnt["truth_classes"] and mine["truth_classes"]["explicit"] > 3
    assert mine["classes"]["EXP"]["tp"] > 3 and mine["classes"]["EXP"]["precision"] == 1.0
    assert sum(c["reported"] for k, c in mine["classes"].items() if k != "EXP") == 0
    assert json.loads((tmp_path / "labelseer" / "campaign.json").read_text())["detector"]["name"] == "labelseer"


def test_sweep_refuses_a_detector_without_thresholds(site):
    r = cli(site, "sweep", "explicit", "--detector", "labelseer", "--frpla", "1", "--rtla", "1", code=2)
    assert "takes no FRPLA/RTLA thresholds" in r.stderr


# ---------------------------------------------------------------- real packets (namespaces)
def template(site) -> str:
    return f"{sys.executable} {site / 'labelseer.py'} --tap {{tap}} --ip {{ip}} --gw {{gw}} --mac {{mac}} {{dst}}"


@pytest.mark.netns
def test_run_and_scoreboard_on_namespaces_as_a_package_and_as_a_command(site):
    for how in (["--detector", "labelseer"], ["--detector-cmd", template(site)]):
        doc = json.loads(cli(site, "run", "explicit", "--runtime", "netns", "--name", N("pt-ls-run"), "--seed", "1",
                             *how, "--json").stdout)
        assert doc["score"]["perfect"] and doc["detector"]["name"] == "labelseer", how
        assert doc["traces"][0]["hops"][-1]["address"] == doc["traces"][0]["dst"]
    rows = json.loads(cli(site, "scoreboard", "invisible-php", "--runtime", "netns", "--detector-cmd", template(site),
                          "--json").stdout)
    assert rows[0]["detector"] == "labelseer" and rows[0]["detected"] == 0 and not rows[0]["unvouched"]


@pytest.mark.netns
def test_matrix_cells_and_ondemand_on_namespaces(site, tmp_path):
    from testbed.experiments.matrix import GRID
    sets = [f"{k}={v[0]}" for k, v in GRID.items() if k not in ("class", "lsrs")] + ["class=explicit", "lsrs=1,2"]
    doc = json.loads(cli(site, "matrix", "--runtime", "netns", "--limit", "2", "--detector-cmd", template(site),
                         "--json", *[x for s in sets for x in ("--set", s)]).stdout)
    assert doc["summary"]["cells"] == 2 and doc["summary"]["perfect"] == 2 and doc["detector"]["name"] == "labelseer"
    for how in (["--detector", "labelseer"], ["--detector-cmd", template(site)]):
        doc = json.loads(cli(site, "ondemand", "explicit", "--name", N("pt-ls-od"), "--events", "3", "--interval",
                             "0.3", "--nodes", "2", "--plot", str(tmp_path / "od.png"),
                             *how, "--json").stdout)
        (rt,) = doc["runtimes"]
        assert rt["completed"] + rt["dropped"] == 3 and rt["completed"] >= 2 and rt["failed"] == 0, rt
        assert rt["traces_correct"] == rt["traces_scored"] == rt["completed"], rt


@pytest.mark.netns
def test_a_campaign_on_an_imported_isp_as_a_command_on_namespaces(site, tmp_path):
    """The command template on real packets finds on the imported ISP what the package found
    on the sim (the same truth, the same per-class counts)."""
    lab = tmp_path / "att.yaml"
    cli(site, "import", "topozoo:AttMpls", "-o", str(lab), "--vps", "2", "--dsts", "4", "--domains", "2",
        "--classes", "invisible-php,explicit", "--seed", "2")
    docs = {}
    for runtime, how in (("sim", ["--detector", "labelseer"]), ("netns", ["--detector-cmd", template(site)])):
        docs[runtime] = json.loads(cli(site, "campaign", str(lab), "--runtime", runtime, "--name", N("pt-ls-att"),
                                       "--seed", "1", *how, "--json", "--no-pictures", "-o",
                                       str(tmp_path / runtime)).stdout)
    sim, real = docs["sim"], docs["netns"]
    assert real["ok"] and real["detector"]["name"] == "labelseer" and real["traces"] == sim["traces"] == 8
    assert {k: (v["present"], v["tp"], v["reported"]) for k, v in real["classes"].items()} == \
        {k: (v["present"], v["tp"], v["reported"]) for k, v in sim["classes"].items()}
