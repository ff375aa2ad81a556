"""The micro guest's Python tree, run without booting (chroot into its unpacked initramfs, the
guest's own /init environment), and one candidate runtime of benchmarks/bench_guest_runtimes.py
built from it: uTNT's command line works there as it does in the VM. A few seconds; skipped
with one line where the micro guest is not built (make guest-kernel, make vm-image)."""
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testbed.runtimes.qemu import IMAGE_DIR, micro_doc, micro_missing

ROOT = Path(__file__).resolve().parent.parent
# what the micro /init (testbed/runtimes/qemu/guest-init.c) gives Python
GUEST_ENV = {"PYTHONHOME": "/usr", "PYTHONPATH": "/app", "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin",
             "LC_ALL": "C.UTF-8"}


@pytest.fixture
def guest_tree(tmp_path):
    why = micro_missing()
    if why:
        pytest.skip(why)
    if os.geteuid() != 0 or not shutil.which("chroot"):
        pytest.skip("needs root and chroot(8)")
    root = tmp_path / "root"
    root.mkdir()
    initrd = IMAGE_DIR / micro_doc()["initramfs"]
    cat = {".zst": "zstd -q -dc", ".gz": "gzip -dc", ".xz": "xz -dc"}.get(initrd.suffix, "cat")
    subprocess.run(f"{cat} {initrd} | cpio -idm --quiet", shell=True, cwd=root, check=True)
    return root


def guest_python(root, *args):
    return subprocess.run([shutil.which("chroot"), str(root), "/usr/bin/python3", "-S", *args],
                          env=GUEST_ENV, capture_output=True, text=True, timeout=60)


def test_micro_guest_python_runs_utnt_version_and_help(guest_tree):
    """The trimmed standard library leaves importlib.metadata out: --version says so instead of
    a traceback; --help formats (argparse, textwrap, gettext are in)."""
    r = guest_python(guest_tree, "-m", "utnt.cli", "--version")
    assert r.returncode == 0, r.stderr[-800:]
    assert r.stdout.strip() == "utnt (not installed)"
    r = guest_python(guest_tree, "-m", "utnt.cli", "--help")
    assert r.returncode == 0 and "--iface" in r.stdout, r.stderr[-800:]
    # a missing option is argparse's one line and exit 2, in the guest as on the host
    r = guest_python(guest_tree, "-m", "utnt.cli", "-i", "12.0.1.2")
    assert r.returncode == 2 and "required" in r.stderr


def test_one_zip_candidate_loads_utnt_from_its_zip_alone(guest_tree):
    """bench_guest_runtimes' one-zip candidate: uTNT and the stdlib as sourceless .pyc in one
    python311.zip, /app empty; the guest's Python loads uTNT from the zip and runs it."""
    spec = importlib.util.spec_from_file_location("bgr", ROOT / "benchmarks" / "bench_guest_runtimes.py")
    bgr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bgr)
    bgr.make_candidate("one-zip", None, guest_tree)
    assert not any((guest_tree / "app").iterdir())
    assert not (guest_tree / "usr/lib/python3.11/os.pyc").exists()
    r = guest_python(guest_tree, "-c", "import utnt.cli, argparse; print(utnt.cli.__file__, argparse.__file__)")
    assert r.returncode == 0, r.stderr[-800:]
    assert r.stdout.split() == ["/usr/lib/python311.zip/utnt/cli.pyc", "/usr/lib/python311.zip/argparse.pyc"]
    r = guest_python(guest_tree, "-m", "utnt.cli", "--help")
    assert r.returncode == 0 and "--iface" in r.stdout, r.stderr[-800:]
