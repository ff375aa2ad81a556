"""A non-editable install works from any directory: the wheel carries the lab library and
the FRR templates (setup.py copies them into testbed/_data/), and the installed package
finds them there instead of in a checkout."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_installed_elsewhere_runs_the_main_job_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "-w", str(wheels), str(REPO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = wheels.glob("utnt_lab-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    lib = {Path(n).name for n in names if n.startswith("testbed/_data/topologies/")}
    assert {p.name for p in (REPO / "topologies").iterdir() if p.is_file()} <= lib
    assert "testbed/_data/router-configs/zebra.conf.j2" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)

    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(whl)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the installed copy first; the venv's own site-packages only for the dependencies
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", "import testbed, utnt; print(testbed.__file__); print(testbed.TOPOLOGIES)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True)
    pkg_file, topo = probe.stdout.split()
    assert pkg_file.startswith(str(target)) and topo == str(target / "testbed" / "_data" / "topologies"), probe.stdout
    run = subprocess.run([sys.executable, "-m", "testbed.cli", "run", "invisible-php", "--runtime", "sim", "--json"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    import json
    doc = json.loads(run.stdout)
    assert doc["lab"] == "invisible-php" and doc["score"]["perfect"] is True


def test_version_of_both_commands_is_the_distributions():
    """`testbed --version` and `utnt --version`, as a user types them, print the version that
    pyproject.toml declares (testbed's own constant included: it must not drift)."""
    import re
    import subprocess
    import sys
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    for cmd in ("testbed", "utnt"):
        r = subprocess.run([str(Path(sys.executable).with_name(cmd)), "--version"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert re.fullmatch(rf"{cmd}( \(uTNT-lab\))? {re.escape(declared)}\n", r.stdout), r.stdout
