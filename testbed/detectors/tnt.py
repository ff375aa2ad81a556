"""The original TNT (scamper fork + sc_tnt) as a detector: run in a lab's vantage-point
namespace (any namespace, also a user's own), its dumps kept for scoring and read by tnt_text.

Nothing of TNT is in this repository: it is found built under a prefix (`TNT_PREFIX` when
set, else `<checkout>/.peers/tnt`, else `/opt/tnt-peer`). Finding it, the scamper daemon on a
socket unique to the run, sc_tnt, the dumps, and stopping the daemon's processes by their
recorded PIDs are the one TNT runner, run_in_namespace (the TNT peer, testbed.peers.tnt, runs
through it too); a scored run keeps the files a scored run leaves: tnt.warts, tnt.txt (`sc_tnt -d 1`), tnt-v.txt
(`sc_tnt -v -d 1`) and scamper.socket (the socket path the daemon used, gone by then).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from testbed.errors import TestbedError
from testbed.runtimes.netns import nsutil, state

from . import tnt_text

CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_PREFIXES = (CHECKOUT / ".peers" / "tnt", Path("/opt/tnt-peer"))
DEFAULT_PPS = 500
HOW_TO_BUILD = ("build the original TNT (YvesVanaubel/TNT) into one of these prefixes or set TNT_PREFIX; "
                "notes: shared/reference/peer-tnt.md (the project's reference notes, beside the checkout)")


def find_prefix() -> Path | None:
    """The first prefix with ``bin/scamper`` and ``bin/sc_tnt``: $TNT_PREFIX, .peers/tnt, /opt/tnt-peer.

    A set ``TNT_PREFIX`` is the only place looked at."""
    env = os.environ.get("TNT_PREFIX")
    cands = [Path(env)] if env else list(DEFAULT_PREFIXES)
    for p in cands:
        if (p / "bin" / "scamper").is_file() and (p / "bin" / "sc_tnt").is_file():
            return p
    return None


def missing_reason() -> str:
    """One line saying where TNT was looked for (for skips and errors)."""
    env = os.environ.get("TNT_PREFIX")
    where = f"TNT_PREFIX={env}" if env else ", ".join(str(p) for p in DEFAULT_PREFIXES)
    return f"the original TNT is not built (looked in {where}): {HOW_TO_BUILD}"


SOCK_PATH_MAX = 107          # sun_path of a Unix socket address, less its NUL


def _pids_with(marker: str) -> list[tuple[int, int | None]]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            if any(marker in a for a in nsutil.proc_cmdline(pid)):
                out.append((pid, nsutil.proc_start_time(pid)))
        except OSError:
            continue
    return out


def _wait_socket(sock: Path, timeout: float, launcher=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sock.exists():
            return
        if launcher is not None and launcher.poll() not in (None, 0):
            err = (launcher.stderr.read() or b"").decode(errors="replace").strip().splitlines()
            raise TestbedError(f"TNT's scamper daemon exited ({launcher.returncode}) before opening {sock}"
                               + (f": {err[-1]}" if err else ""))
        time.sleep(0.02)
    raise TestbedError(f"scamper did not open its control socket {sock} within {timeout:.0f} s")


def _check(options, targets) -> None:
    for o in options or []:
        if o in ("-a", "-i", "-o", "-U", "-p", "-d", "-D", "-l"):
            raise TestbedError(f"run_tnt: option {o} is set by run_tnt itself; give only TNT's measurement options")
    if not targets:
        raise TestbedError("run_tnt: no targets")


def run_in_namespace(ns: str, targets: list[str], options: list[str] | None = None, *,
                     out_dir: str | Path | None = None, pps: int = DEFAULT_PPS, timeout: float = 600.0,
                     prefix: Path | None = None, run_dir: str | Path | None = None, where: str = "") -> dict:
    """Run the original TNT in network namespace ``ns`` (a lab's vantage point, or any other)
    toward ``targets``: the one TNT runner (the peer and the `--detector tnt` runner use it).

    ``options``: sc_tnt's own options (``-b``, ``-f 4``, ``-m udp-paris``, ``-c 3`` ...; not
    ``-a -i -o -U -p -d``).  Returns ``{"text": sc_tnt -d 1 dump, "verbose_text": sc_tnt -v -d 1
    dump, "warts": path of the warts file (in ``out_dir``, a fresh temporary folder when None,
    which the caller then owns), "elapsed_s": wall time of the measurement, "command": the
    sc_tnt argv, "socket": scamper's control socket (gone by then)}``. ``run_dir``: where the
    socket and the targets file live during the run (a fresh temporary folder when None;
    removed at the end either way).  Raises TestbedError with one line when TNT is missing, the lab or node is
    unknown, or TNT fails.
    """
    prefix = prefix or find_prefix()
    if prefix is None:
        raise TestbedError(missing_reason())
    _check(options, targets)
    opts = list(options or [])
    where = where or f"namespace {ns}"
    scamper_bin, sctnt_bin = str(prefix / "bin" / "scamper"), str(prefix / "bin" / "sc_tnt")
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="tnt-out-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tnt-run-", dir=run_dir))
    sock = work / f"scamper-{os.getpid()}.sock"     # unique per run: how its processes are found
    if len(str(sock).encode()) > SOCK_PATH_MAX:
        shutil.rmtree(work, ignore_errors=True)
        raise TestbedError(f"run_tnt: the run folder {run_dir} is too deep for scamper's control socket "
                           f"({sock}: Unix socket paths hold {SOCK_PATH_MAX} bytes); give a shorter run_dir")
    tfile = work / "targets.txt"
    tfile.write_text("".join(f"{t}\n" for t in targets))
    warts = out / "tnt.warts"
    if warts.exists():
        warts.unlink()
    sup = state.supervisor_of_ns(ns)
    launcher = None

    def record_daemon():
        for pid, start in _pids_with(str(sock)):
            if launcher is None or pid != launcher.pid:
                sup.adopt("detector", pid, start, marker=str(sock), what="TNT's scamper daemon")
    try:
        launcher = sup.start("detector", ["ip", "netns", "exec", ns, scamper_bin, "-D", "-U", str(sock),
                                          "-p", str(int(pps))], stderr=subprocess.PIPE, cwd=None,
                             marker=str(sock), what="TNT's scamper")
        try:
            _wait_socket(sock, 15.0, launcher.popen)
        finally:
            record_daemon()
        argv = ["ip", "netns", "exec", ns, sctnt_bin, "-U", str(sock), "-o", str(warts), "-a", str(tfile)] + opts
        t0 = time.monotonic()
        r = sup.run("detector", argv, timeout=timeout, cwd=str(out), what="sc_tnt")
        elapsed = time.monotonic() - t0
        if r.returncode != 0 or not warts.exists():
            raise TestbedError(f"sc_tnt failed (exit {r.returncode}, {where}): {(r.stderr or r.stdout).strip()[:300]}")
        text = subprocess.run([sctnt_bin, "-d", "1", str(warts)], capture_output=True, text=True,
                              timeout=60, check=True).stdout
        verbose = subprocess.run([sctnt_bin, "-v", "-d", "1", str(warts)], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
        return {"text": text, "verbose_text": verbose, "warts": str(warts), "elapsed_s": elapsed,
                "command": argv[4:], "socket": str(sock)}
    except subprocess.TimeoutExpired as e:
        raise TestbedError(f"sc_tnt did not finish within {e.timeout:.0f} s ({where})") from None
    except subprocess.CalledProcessError as e:
        raise TestbedError(f"sc_tnt dump failed ({' '.join(e.cmd)}): {(e.stderr or '').strip()[:300]}") from None
    finally:
        record_daemon()                       # it may have forked again after we looked
        mine = [c for c in sup.children("detector") if c.marker == str(sock)]
        sup.stop(mine)
        for c in mine:
            sup.forget(c)
        shutil.rmtree(work, ignore_errors=True)


DETECTOR_PPS = 100          # scamper's probing rate for a scored run (-p)


def run(ns: str, targets: list[str], extra: list[str] | None = None, workdir: str | None = None,
        timeout: float = 600) -> tuple[str, list]:
    """(verbose dump text, traces) of sc_tnt from namespace ns to targets."""
    if find_prefix() is None:
        raise TestbedError(missing_reason())
    tmp = tempfile.TemporaryDirectory(prefix="tnt-run-") if workdir is None else None
    d = Path(workdir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    try:
        r = run_in_namespace(ns, targets, extra, out_dir=d, pps=DETECTOR_PPS, timeout=timeout)
        (d / "scamper.socket").write_text(r["socket"] + "\n")
        (d / "tnt.txt").write_text(r["text"])
        (d / "tnt-v.txt").write_text(r["verbose_text"])
        return r["verbose_text"], tnt_text.parse(r["verbose_text"], f"sc_tnt -v -d 1 {r['warts']}")
    finally:
        if tmp is not None:
            tmp.cleanup()
