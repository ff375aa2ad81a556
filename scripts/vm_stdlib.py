"""Pack the standard-library modules uTNT needs into the guest's Python.

Run by the guest's own interpreter (Debian's /usr/bin/python3.11 -S), from
scripts/build-vm-image.sh: `vm_stdlib.py APP_DIR ZIP DYNLOAD_DIR`. ZIP is python311.zip, or a
path ending in `/`: a folder of sourceless .pyc files (the micro guest: its initramfs is
compressed as a whole; under TCG the folder cost ~3% less QEMU CPU than the zip, 3.14 vs 3.25 s
for a boot and two uTNT starts). The set is what a fresh interpreter (`-S -m`, like the guest's)
has loaded once every uTNT module is imported, its command line parsed and its help formatted,
and JSON printed; found in a child process so that nothing this script imports counts.
modulefinder's static closure drags in ~300 modules (asyncio, email, http...) that uTNT never
loads. Prints the modules and extensions.
"""
import os
import subprocess
import sys

app, zpath, dyn = sys.argv[1:4]

PROBE = r"""
import os, sys
before = set(sys.modules)
import runpy            # the guest starts uTNT with -m: runpy and what it imports
app = sys.argv[1]
sys.path[:0] = [app]
names = []
for d, subs, files in os.walk(os.path.join(app, "utnt")):
    subs[:] = sorted(s for s in subs if s != "__pycache__")
    for f in sorted(files):
        if f.endswith(".py"):
            rel = os.path.relpath(os.path.join(d, f), app)[:-3].replace(os.sep, ".")
            names.append(rel[:-9] if rel.endswith(".__init__") else rel)
for n in names:
    __import__(n)
from utnt.cli import build_parser, options_from, params_from
a = build_parser().parse_args(["-i", "12.0.1.2", "--iface", "eth0", "--ip", "12.0.0.9/24", "--gw", "12.0.0.1",
                               "--mac", "02:00:00:00:00:09", "--json"])
options_from(a), params_from(a)
build_parser().format_help()          # -h, and a bad option's usage line
import json
json.dumps({"x": [1.5, None]}, indent=2)
import encodings.ascii, encodings.latin_1, encodings.utf_8
print(" ".join(sorted(set(sys.modules) - before | {n for n in before if n.startswith("encodings")})))
"""
r = subprocess.run([sys.executable, "-S", "-c", PROBE, app], capture_output=True, text=True,
                   env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
if r.returncode != 0:
    sys.exit(f"vm_stdlib: importing uTNT in {app} failed: {r.stderr.strip().splitlines()[-1:]}")
# the interpreter's own start-up reads these (frozen in 3.11, kept as files for a non-frozen start)
needed = set(r.stdout.split()) | {"os", "posixpath", "genericpath", "stat", "_collections_abc", "abc", "codecs",
                                  "io", "_sitebuiltins"}
import importlib  # noqa: E402
import py_compile  # noqa: E402
import shutil  # noqa: E402
import sysconfig  # noqa: E402
import zipfile  # noqa: E402

stdlib = sysconfig.get_paths()["stdlib"]
files, exts = {}, []
for n in sorted(needed):
    if n.startswith("utnt") or n == "__main__":
        continue
    mod = sys.modules.get(n) or importlib.import_module(n)
    f = getattr(mod, "__file__", None)
    if not f or not f.startswith(stdlib + "/") or "-packages/" in f:
        continue
    if f.endswith(".so"):
        exts.append(f)
    else:
        files[os.path.relpath(f, stdlib)] = f
if zpath.endswith("/"):
    for rel, f in sorted(files.items()):
        py_compile.compile(f, cfile=os.path.join(zpath, rel[:-3] + ".pyc"), dfile=rel, doraise=True, optimize=2)
else:
    tmp = f"/tmp/_vm_stdlib_{os.getpid()}.pyc"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, f in sorted(files.items()):
            py_compile.compile(f, cfile=tmp, dfile=rel, doraise=True, optimize=2)
            z.write(tmp, rel[:-3] + ".pyc")
    os.unlink(tmp)
for f in exts:
    shutil.copy(f, dyn)
print(" ".join(sorted(files)) + " | " + " ".join(os.path.basename(e) for e in exts))
