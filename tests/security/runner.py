"""Run one security case (cases.py) in a folder of its own and say what happened."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testbed.runtimes.netns.nsutil import live_processes

from cases import CANARY, REPO, SECRET, Case

BIN = Path(sys.executable).parent
LEAKS = (SECRET, "root:x:0:0")
# what a case could create outside its folder: namespaces and run folders of the instance
# names the cases use, and the tap the utnt case names
INSTANCES = ("invisible-php", "sec")
TAP = "sectap0"
ACTIVE: set[int] = set()         # subprocesses of cases running right now (report.py runs them in threads)


def _tree(d: Path) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(d, followlinks=False):
        for f in dirs + files:
            out.add(os.path.relpath(os.path.join(root, f), d))
    return out


def _outside() -> set[str]:
    found = set()
    try:
        for n in os.listdir("/run/netns"):
            if any(n.startswith(f"tb-{i}.") for i in INSTANCES):
                found.add(f"netns {n}")
    except FileNotFoundError:
        pass
    for i in INSTANCES:
        if os.path.exists(f"/run/utnt-lab/{i}"):
            found.add(f"run folder /run/utnt-lab/{i}")
    if os.path.exists(f"/sys/class/net/{TAP}"):
        found.add(f"link {TAP}")
    return found


def _children() -> list[int]:
    me = os.getpid()
    return [pid for pid, rest in live_processes() if int(rest[1]) == me and pid not in ACTIVE]


def setup(case: Case, base: Path) -> tuple[Path, Path, Path]:
    """base/secret.txt (outside the lab), base/lab/ (the case's files), base/tmp (its TMPDIR)."""
    (base / "secret.txt").write_text(SECRET + "\n")
    labdir = base / "lab"
    labdir.mkdir()
    tmp = base / "tmp"
    tmp.mkdir()
    canary = base / "canary"
    for rel, content in case.files.items():
        p = labdir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], p)
            continue
        if isinstance(content, bytes):
            p.write_bytes(content)
            continue
        p.write_text(content.replace(CANARY, str(canary)).replace("SECRET_PATH", str(base / "secret.txt")))
    return labdir, tmp, canary


def _in_process(argv: list[str], cwd: Path, tmp: Path) -> tuple[int, str, str]:
    from testbed.cli import main
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_tmp, old_env = os.getcwd(), tempfile.tempdir, os.environ.get("TMPDIR")
    os.chdir(cwd)
    tempfile.tempdir = str(tmp)
    os.environ["TMPDIR"] = str(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except BaseException as e:          # noqa: BLE001 - the point: nothing may escape main()
                import traceback
                err.write("Traceback (escaped main):\n" + traceback.format_exc())
                code = -1 if not isinstance(e, SystemExit) else e.code
    finally:
        os.chdir(old_cwd)
        tempfile.tempdir = old_tmp
        if old_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_env
    return code, out.getvalue(), err.getvalue()


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _process(case: Case, cwd: Path, tmp: Path) -> tuple[int, str, str]:
    env = _env(tmp)
    prog = str(BIN / ("utnt" if case.process == "utnt" else "testbed"))
    p = subprocess.Popen([prog, *case.argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    ACTIVE.add(p.pid)
    try:
        if case.process == "pipe":
            import fcntl
            fcntl.fcntl(p.stdout.fileno(), 1031, 4096)      # F_SETPIPE_SZ: a page, so the output overflows it
            head = p.stdout.read(10)             # `| head -c 10`: read a little, then close the pipe
            p.stdout.close()
            err = p.stderr.read()
            code = p.wait(timeout=60)
            return code, head.decode(errors="replace"), err.decode(errors="replace")
        if case.process == "sigint":
            time.sleep(float(case.name.split("-")[-1].rstrip("s")))
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        ACTIVE.discard(p.pid)


def _before_our_code(err: str) -> bool:
    """A KeyboardInterrupt traceback none of whose frames is a file of the project (the
    interpreter's start, the virtualenv's .pth finder, the console script's import line)."""
    import re
    frames = re.findall(r'File "([^"]+)", line', err)
    ours = [f for f in frames if f.startswith((str(REPO / "testbed"), str(REPO / "utnt")))]
    return "KeyboardInterrupt" in err and bool(frames) and not ours


def run_case(case: Case, base: Path) -> dict:
    labdir, tmp, canary = setup(case, base)
    before_out = _outside()
    # children of this process from before the case (multiprocessing's resource_tracker left by
    # an earlier test in the same pytest process) are not the case's
    before_children = set(_children())
    if case.setup is not None:
        case.setup(labdir)
    before_files = _tree(labdir)
    t = time.monotonic()
    try:
        if case.process:
            code, out, err = _process(case, labdir, tmp)
        else:
            code, out, err = _in_process(case.argv, labdir, tmp)
    finally:
        if case.teardown is not None:
            case.teardown(labdir)
    seconds = time.monotonic() - t
    left = sorted(f"file {f}" for f in _tree(labdir) - before_files)
    left += sorted(f"tmp {f}" for f in _tree(tmp))
    left += sorted(_outside() - before_out)
    left += [f"child pid {p}" for p in _children() if p not in before_children]
    if canary.exists():
        left.append("CANARY: a payload ran code")
    text = out + err
    leaked = [s for s in LEAKS if s in text]
    traceback_seen = "Traceback" in text
    startup = case.process == "sigint" and ("Fatal Python error: init_import_site" in err or _before_our_code(err))
    if startup:
        # the signal came while the interpreter itself was starting (importing `site` and the
        # .pth files of the virtualenv), before any line of the project ran: Python's own
        # report, which no code of ours can catch; on a loaded machine this lasts > 1 s
        traceback_seen = False
        err = "Ctrl-C before any project code ran (Python's start-up, the console script's import line)"
    err_lines = [ln for ln in err.splitlines() if ln.strip()]
    json_doc = None
    if "--json" in case.argv and out.strip().startswith("{") and case.process != "pipe":
        try:
            json_doc = json.loads(out)
        except ValueError:
            json_doc = None
    if case.expect == "refused":
        one_line_each = all(ln.startswith(("error: ", "utnt: ")) for ln in err_lines) and bool(err_lines or json_doc)
        refused = code in (1, 2) and one_line_each and not traceback_seen
        if json_doc is not None:
            refused = code in (1, 2) and json_doc.get("error") is True and not traceback_seen
    elif case.expect == "refused-or-empty":
        refused = not traceback_seen and (code == 2 or (code == 0 and "no lab was up" in out))
    elif case.expect in ("library", "valid"):
        refused = code == 0 and not traceback_seen
    else:      # quiet: any status, no traceback, no noise beyond one line
        refused = not traceback_seen and len(err_lines) <= 1
    if case.forbid and case.forbid in text:
        leaked.append(f"forbidden text {case.forbid!r} in the output")
    ok = refused and not left and not leaked
    if json_doc is not None:
        message = json_doc["problems"][0]["message"] if json_doc.get("problems") else out.strip()[:200]
    else:
        message = err_lines[0] if err_lines else (out.strip().splitlines() or [""])[-1]
    return {"case": case.name, "what": case.what, "expect": case.expect, "exit": code, "refused": refused,
            "ok": ok and (not case.needle or case.needle.lower() in text.lower()),
            "needle_ok": not case.needle or case.needle.lower() in text.lower(),
            "message": message, "lines": len(err_lines), "left_behind": left, "leaked": leaked,
            "traceback": traceback_seen, "code_ran": canary.exists(), "seconds": round(seconds, 3)}
