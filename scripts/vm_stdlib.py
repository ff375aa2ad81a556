"""Pack the standard-library modules uTNT needs into the guest's python311.zip.

Run by the guest's own interpreter (Debian's /usr/bin/python3.11 -S), from
scripts/build-vm-image.sh: `vm_stdlib.py APP_DIR ZIP DYNLOAD_DIR`. The set is what the
interpreter has loaded once every uTNT module is imported and its command line parsed and
printed (uTNT has no import inside a function); modulefinder's static closure drags in ~300
modules (asyncio, email, http...) that uTNT never loads. Prints the modules and extensions.
"""
import os
import sys

app, zpath, dyn = sys.argv[1:4]
before = set(sys.modules)
sys.path[:0] = [app]
import importlib  # noqa: E402
import pkgutil  # noqa: E402

import utnt  # noqa: E402

for m in pkgutil.walk_packages(utnt.__path__, "utnt."):
    importlib.import_module(m.name)
from utnt.cli import build_parser, options_from, params_from  # noqa: E402

a = build_parser().parse_args(["-i", "12.0.1.2", "--iface", "eth0", "--ip", "12.0.0.9/24", "--gw", "12.0.0.1",
                               "--mac", "02:00:00:00:00:09", "--json"])
options_from(a), params_from(a)
import json  # noqa: E402

json.dumps({"x": [1.5, None]}, indent=2)
import encodings.ascii, encodings.latin_1, encodings.utf_8  # noqa: E401,E402  (interpreter start-up)

needed = set(sys.modules) - before | {n for n in before if n.startswith("encodings")} | \
    {"os", "posixpath", "genericpath", "stat", "_collections_abc", "abc", "codecs", "io", "_sitebuiltins"}
import py_compile  # noqa: E402
import shutil  # noqa: E402
import sysconfig  # noqa: E402
import zipfile  # noqa: E402

stdlib = sysconfig.get_paths()["stdlib"]
files, exts = {}, []
for n in sorted(needed):
    mod = sys.modules.get(n) or importlib.import_module(n)
    f = getattr(mod, "__file__", None)
    if not f or not f.startswith(stdlib + "/") or "-packages/" in f:
        continue
    if f.endswith(".so"):
        exts.append(f)
    else:
        files[os.path.relpath(f, stdlib)] = f
tmp = f"/tmp/_vm_stdlib_{os.getpid()}.pyc"
with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
    for rel, f in sorted(files.items()):
        py_compile.compile(f, cfile=tmp, dfile=rel, doraise=True, optimize=2)
        z.write(tmp, rel[:-3] + ".pyc")
os.unlink(tmp)
for f in exts:
    shutil.copy(f, dyn)
print(" ".join(sorted(files)) + " | " + " ".join(os.path.basename(e) for e in exts))
