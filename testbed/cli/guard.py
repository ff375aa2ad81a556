"""The guard every command runs in: whatever happens, an exit status and at most one line per
problem (2 bad input, 1 failed run or our bug, with the traceback saved to a file, 130 Ctrl-C)."""
from __future__ import annotations

import json
import os
import sys

from testbed.cli.console import stderr
from testbed.errors import LabError, TestbedError


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it cleans up like on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminated(signum, _frame):
    raise Terminated(signum)


def guard(fn, json_errors: bool = False) -> int:
    """Run fn() and turn every way it can end into an exit status and at most one line per
    problem: 2 bad input, 1 failed run (or our bug: the traceback goes to a file), 130 Ctrl-C."""
    import signal
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # SIGTERM and SIGHUP (kill, a closed terminal) end a command like Ctrl-C does: its
        # cleanup runs (instances' taps and leases, VM folders, labs it brought up)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _terminated)
    except ValueError:
        pass
    try:
        try:
            return fn() or 0
        finally:
            sys.stdout.flush()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else _say(str(e.code), 1, json_errors))
    except Terminated as e:
        return _say(f"terminated by {signal.Signals(e.signum).name}", 128 + e.signum, json_errors)
    except KeyboardInterrupt:
        return _say("interrupted", 130, json_errors)
    except BrokenPipeError:
        # the reader went away (`--json | head`): no more output, no complaint
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except LabError as e:
        return _report(e, json_errors)
    except TestbedError as e:
        return _report(e, json_errors)
    except OSError as e:                  # the file system said no: which file, and why
        what = f"{e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else "")
        return _say(f"{what} ({type(e).__name__})", 1, json_errors)
    except MemoryError:
        return _say("out of memory (a lab too large? the size limits are in testbed/lab/limits.yaml)", 1,
                    json_errors)
    except Exception as e:                # our bug: one line, and the traceback kept for a report
        path = _save_traceback()
        where = f"; the traceback is in {path}, please attach it to a bug report" if path else ""
        return _say(f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}{where}", 1, json_errors)


def _report(e: TestbedError, json_errors: bool) -> int:
    from testbed.errors import exit_status, problems_json
    code = exit_status(e)
    if json_errors:
        return _say_json(problems_json(e), code)
    lines = [str(p) for p in e.problems] if isinstance(e, LabError) else [" ".join(str(e).split("\n"))]
    for ln in lines:
        stderr(f"error: {ln}")
    return code


def _say(msg: str, code: int, json_errors: bool) -> int:
    if json_errors:
        return _say_json([{"file": None, "line": None, "field": None, "message": msg}], code)
    stderr(("error: " if code not in (130,) else "") + msg)
    return code


def _say_json(problems: list, code: int) -> int:
    try:
        json.dump({"error": True, "exit": code, "problems": problems}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    return code


def _save_traceback() -> str | None:
    """The traceback of the exception being handled, in a private file (0600 in a 0700 folder)."""
    import time
    import traceback
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    d = os.path.join(base, "utnt-lab")
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"testbed {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}")
        return path
    except OSError:
        return None
