"""Feed a rendered config to FRR's own parser and report the lines it rejects.

How (measured on Debian's FRR 8.4.4):

* Daemon configs (zebra.conf, ospfd.conf, ldpd.conf, ...): the daemon's own config-check mode,
  ``/usr/lib/frr/<daemon> -C -f FILE``. It parses the whole file with the daemon's command
  tree (so a command put in the wrong daemon's file is caught too) and exits. It always exits
  with status 0; every rejected line is logged as, for example::

      2026/11/22 02:14:53 OSPF: [SHWNK-NWT5S][EC 100663304] No such command on config line 8:  bogus ospf line

  ``-C`` is not side-effect free: zebra -C applies some commands to the kernel (``ip forwarding``
  set net.ipv4.ip_forward=1, lo was brought up), ospfd -C writes /run/frr/ospfd-gr.json, every
  daemon leaves a crash-log directory /var/tmp/frr/<daemon>.<pid>, and ldpd forks two children
  that outlive it as zombies. So each check runs under ``unshare --mount --pid --net --fork
  --kill-child``: a private network namespace, a private PID namespace (everything the daemon
  forked dies and is reaped with it, also on timeout) and private bind mounts of a temporary
  directory over /run and /var/tmp. /etc/frr is never read or written (the file is passed with
  -f). ``log file PATH`` lines are pointed into the temporary directory (same line numbers),
  because -C opens the log file. The temporary directory is removed afterwards. Needs root.
  FRR says "No such command" also for a line the daemon knows but refuses in that context
  (``network ... area`` next to ``ip ospf area``: the daemon prints "Please remove all ip ospf
  area x.x.x.x commands first." and then retries the line in the parent nodes).

* Integrated configs (frr.conf, ``daemon="vtysh"``): ``vtysh --config_dir TMP --dryrun -f FILE``;
  vtysh prints ``line 4: % Unknown command[17]:  bogus command here`` and exits non-zero.
  ``daemon="vtysh.conf"`` checks a vtysh.conf the same way (vtysh reads TMP/vtysh.conf).

* ``daemon="daemons"``: the Debian /etc/frr/daemons file is a shell fragment; it is checked
  with ``bash -n`` and for ``name=yes|no`` lines naming known daemons (frrcommon.sh reads it).

To be sure the parser really ran to the end of the file, a sentinel line that matches no
command is appended; it must come back as the last rejected line, or FrrCheckError is raised
(rather than reporting a config that was never parsed as accepted).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

FRR_SBIN = Path(os.environ.get("FRR_SBIN", "/usr/lib/frr"))
SENTINEL = "utnt-config-check-end-of-file"
DEFAULT_TIMEOUT = 20.0

# daemon config files FRR 8.4 can check with -C
DAEMONS = ("zebra", "ospfd", "ldpd", "staticd", "bgpd", "ospf6d", "ripd", "ripngd", "isisd", "pimd",
           "nhrpd", "eigrpd", "babeld", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd")
OTHER_KINDS = ("vtysh", "vtysh.conf", "daemons")
_ALIASES = {"frr": "vtysh", "frr.conf": "vtysh", "integrated": "vtysh"}
_DEBIAN_DAEMONS = ("zebra", "bgpd", "ripd", "ripngd", "ospfd", "ospf6d", "isisd", "babeld", "pimd", "pim6d",
                   "ldpd", "nhrpd", "eigrpd", "sharpd", "pbrd", "staticd", "bfdd", "fabricd", "vrrpd", "pathd")

# "... [EC 100663304] No such command on config line 8:  bogus ospf line" (8.4 also: "ERROR: ...")
_DAEMON_REJECT = re.compile(r"\](?: ERROR:)? (?P<reason>[^\]]+?) on config line (?P<line>\d+): ?(?P<text>.*)$")
# a northbound commit failing after the file was read (no line number)
_DAEMON_FAIL = re.compile(r"failed to read configuration file.*$")
# vtysh: "line 4: % Unknown command[17]:  bogus command here"
_VTYSH_REJECT = re.compile(r"^line (?P<line>\d+): % (?P<reason>.+?)(?:\[\d+\])?: ?(?P<text>.*)$")


class FrrCheckError(RuntimeError):
    """The checker itself could not run (FRR missing, timeout, file not parsed to the end)."""


@dataclass(frozen=True)
class Rejection:
    line: int          # 1-based line of the checked text; 0 when FRR names no line
    text: str          # the rejected line as FRR quotes it
    reason: str        # FRR's words: "No such command", "Unknown command", ...

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.text.strip()}  [{self.reason}]"


@dataclass
class CheckResult:
    daemon: str
    rejected: list[Rejection] = field(default_factory=list)
    output: str = ""          # everything FRR printed (minus the sentinel's rejection)
    command: str = ""

    @property
    def ok(self) -> bool:
        return not self.rejected


def frr_available() -> bool:
    return (FRR_SBIN / "zebra").is_file()


def _normalise_daemon(daemon: str) -> str:
    d = _ALIASES.get(daemon, daemon)
    if d.endswith(".conf") and d != "vtysh.conf" and d[:-5] in DAEMONS:
        d = d[:-5]                 # "zebra.conf" -> "zebra"
    if d not in DAEMONS and d not in OTHER_KINDS:
        raise ValueError(f"cannot check configs for '{daemon}'; choose one of: "
                         f"{', '.join(DAEMONS + OTHER_KINDS)}")
    return d


def _read(path_or_text: str | os.PathLike) -> str:
    """A Path (or a str naming an existing file, without newlines) is read; other str is the text."""
    if isinstance(path_or_text, os.PathLike):
        return Path(path_or_text).read_text()
    s = str(path_or_text)
    if "\n" not in s and s.strip() and len(s) < 4096:
        try:
            p = Path(s)
            if p.is_file():
                return p.read_text()
        except OSError:
            pass
    return s


def _with_sentinel(text: str) -> tuple[str, int]:
    if text and not text.endswith("\n"):
        text += "\n"
    line = text.count("\n") + 1
    return text + SENTINEL + "\n", line


def check_config(path_or_text: str | os.PathLike, daemon: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """The lines FRR's parser rejects, as "line N: <text>  [<reason>]"; [] = accepted.

    daemon: "zebra", "ospfd", "ldpd", ... (also "zebra.conf"), "vtysh" for an integrated
    frr.conf, "vtysh.conf" or "daemons". Raises FrrCheckError if the check could not run.
    """
    return [str(r) for r in check_config_detailed(path_or_text, daemon, timeout=timeout).rejected]


def check_config_detailed(path_or_text: str | os.PathLike, daemon: str, *,
                          timeout: float = DEFAULT_TIMEOUT) -> CheckResult:
    d = _normalise_daemon(daemon)
    text = _read(path_or_text)
    if d == "daemons":
        return _check_daemons_file(text, timeout)
    if d in ("vtysh", "vtysh.conf"):
        return _check_vtysh(text, d, timeout)
    return _check_daemon(text, d, timeout)


def check_many(items: list[tuple[str | os.PathLike, str]], *, jobs: int | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> list[list[str]]:
    """check_config() for many (path_or_text, daemon) pairs in parallel, results in order."""
    if not items:
        return []
    jobs = jobs or min(16, max(2, (os.cpu_count() or 2) * 4))
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        return list(ex.map(lambda it: check_config(it[0], it[1], timeout=timeout), items))


def check_rendered(files: dict[str, str], *, jobs: int | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> dict[str, list[str]]:
    """Check the output of testbed.frr.render_router(): {file name: rejected lines}."""
    from .render import CHECKER
    names = [f for f in files if f in CHECKER]
    res = check_many([(files[f], CHECKER[f]) for f in names], jobs=jobs, timeout=timeout)
    return dict(zip(names, res))


# ---------------------------------------------------------------- daemon -C

def _frr_ids() -> tuple[int, int] | None:
    try:
        import grp
        import pwd
        return pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    except (KeyError, ImportError):
        return None


def _run(cmd: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        # unshare --kill-child has taken the namespace's processes down with it
        raise FrrCheckError(f"{what}: no answer within {timeout:g} s: {shlex.join(cmd)}\n"
                            f"{(e.output or '') if isinstance(e.output, str) else ''}") from None
    except FileNotFoundError as e:
        raise FrrCheckError(f"{what}: cannot run {cmd[0]}: {e}") from None


def _tmp_base() -> str:
    """A temp directory not under /run or /var/tmp, which the check hides behind bind mounts."""
    base = Path(tempfile.gettempdir()).resolve()
    if any(base == Path(h) or Path(h) in base.parents for h in ("/run", "/var/tmp", "/var/run")):
        return "/tmp"
    return str(base)


def _check_daemon(text: str, daemon: str, timeout: float) -> CheckResult:
    binary = FRR_SBIN / daemon
    if not binary.is_file():
        raise FrrCheckError(f"{binary} not found; install Debian's frr package (apt-get install frr)")
    if os.geteuid() != 0:
        raise FrrCheckError(f"checking a {daemon} config needs root: the check runs {daemon} -C in private "
                            "network/PID/mount namespaces, and FRR's daemons switch to the frr user")
    unshare = shutil.which("unshare")
    if unshare is None:
        raise FrrCheckError("unshare (util-linux) not found; it isolates the FRR config check")
    tmp = Path(tempfile.mkdtemp(prefix=f"frr-check-{daemon}-", dir=_tmp_base()))
    try:
        tmp.chmod(0o755)
        body, sentinel_line = _with_sentinel(_redirect_log_files(text, tmp / "logs"))
        conf = tmp / f"{daemon}.conf"
        conf.write_text(body)
        conf.chmod(0o644)
        run_dir, vartmp = tmp / "run", tmp / "vartmp"
        (run_dir / "frr").mkdir(parents=True)
        vartmp.mkdir()
        ids = _frr_ids()
        if ids:
            for p in (run_dir / "frr", vartmp):
                os.chown(p, *ids)
        q = shlex.quote
        daemon_cmd = f"{q(str(binary))} -C -f {q(str(conf))}"
        if not ids:
            daemon_cmd += " -u root -g root"
        script = (f"mount -n --bind {q(str(run_dir))} /run && mount -n --bind {q(str(vartmp))} /var/tmp"
                  f" && {daemon_cmd}")
        cmd = [unshare, "--mount", "--pid", "--net", "--fork", "--kill-child", "--propagation", "private",
               "sh", "-c", script]
        proc = _run(cmd, timeout, f"{daemon} -C")
        return _parse_daemon_output(proc.stdout, daemon, sentinel_line, daemon_cmd, proc.returncode,
                                    text.split("\n"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_LOG_FILE = re.compile(r"^(?P<pre>\s*log\s+file\s+)(?P<path>\S+)(?P<post>.*)$")


def _redirect_log_files(text: str, log_dir: Path) -> str:
    """`log file PATH ...` makes the daemon open PATH even with -C: point it into the temp dir
    (same line numbers), so the check neither creates files outside it nor fails on a
    directory that only exists when the lab runs."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        m = _LOG_FILE.match(line)
        if m:
            log_dir.mkdir(exist_ok=True)
            log_dir.chmod(0o777)
            line = f"{m['pre']}{log_dir}/line{n}.log{m['post']}"
        out.append(line)
    return "\n".join(out)


def _parse_daemon_output(out: str, daemon: str, sentinel_line: int, command: str, rc: int,
                         original: list[str]) -> CheckResult:
    res = CheckResult(daemon=daemon, command=command)
    kept, seen_sentinel = [], False
    for raw in out.splitlines():
        m = _DAEMON_REJECT.search(raw)
        if m:
            line = int(m["line"])
            if m["text"].strip() == SENTINEL and line == sentinel_line:
                seen_sentinel = True
                continue
            quoted = original[line - 1] if 1 <= line <= len(original) else m["text"]
            res.rejected.append(Rejection(line, quoted, m["reason"]))
        elif fail := _DAEMON_FAIL.search(raw):
            res.rejected.append(Rejection(0, "", fail.group(0)))
        kept.append(raw)
    res.output = "\n".join(kept)
    if not seen_sentinel:
        raise FrrCheckError(f"{daemon} -C did not parse the config to its end (exit status {rc}); "
                            f"command: {command}\noutput:\n{out.strip() or '(none)'}")
    return res


# ---------------------------------------------------------------- vtysh --dryrun

def _check_vtysh(text: str, kind: str, timeout: float) -> CheckResult:
    vtysh = shutil.which("vtysh") or "/usr/bin/vtysh"
    if not Path(vtysh).is_file():
        raise FrrCheckError("vtysh not found; install Debian's frr package (apt-get install frr)")
    body, sentinel_line = _with_sentinel(text)
    tmp = Path(tempfile.mkdtemp(prefix="frr-check-vtysh-"))
    try:
        conf = tmp / "frr.conf"
        if kind == "vtysh.conf":
            (tmp / "vtysh.conf").write_text(body)
            conf.write_text("")
        else:
            (tmp / "vtysh.conf").write_text("")      # do not read /etc/frr/vtysh.conf
            conf.write_text(body)
        cmd = [vtysh, "--config_dir", str(tmp), "--dryrun", "-f", str(conf)]
        proc = _run(cmd, timeout, "vtysh --dryrun")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = CheckResult(daemon=kind, command=shlex.join(cmd))
    kept, seen_sentinel = [], False
    for raw in proc.stdout.splitlines():
        m = _VTYSH_REJECT.match(raw.strip())
        if m:
            line = int(m["line"])
            if m["text"].strip() == SENTINEL and line == sentinel_line:
                seen_sentinel = True
                continue
            res.rejected.append(Rejection(line, m["text"], m["reason"]))
        kept.append(raw)
    res.output = "\n".join(kept)
    if not seen_sentinel:
        raise FrrCheckError(f"vtysh did not parse the {kind} to its end (exit status {proc.returncode}); "
                            f"command: {res.command}\noutput:\n{proc.stdout.strip() or '(none)'}")
    return res


# ---------------------------------------------------------------- /etc/frr/daemons

_ASSIGN = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


def _check_daemons_file(text: str, timeout: float) -> CheckResult:
    res = CheckResult(daemon="daemons", command="bash -n")
    bash = shutil.which("bash")
    if bash:
        proc = subprocess.run([bash, "-n"], input=text, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        res.output = proc.stdout
        for raw in proc.stdout.splitlines():
            m = re.search(r"line (\d+): (.*)$", raw)
            if m:
                res.rejected.append(Rejection(int(m[1]), m[2], "bash syntax error"))
        if proc.returncode and not res.rejected:
            res.rejected.append(Rejection(0, proc.stdout.strip(), "bash syntax error"))
    extra = ("vtysh_enable", "frr_profile", "MAX_FDS", "FRR_NO_ROOT", "watchfrr_options", "frr_global_options")
    for n, raw in enumerate(text.split("\n"), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        m = _ASSIGN.match(s)
        if not m:
            res.rejected.append(Rejection(n, raw, "not a name=value line"))
            continue
        name, value = m["name"], m["value"]
        if name in _DEBIAN_DAEMONS:
            if value not in ("yes", "no"):
                res.rejected.append(Rejection(n, raw, "a daemon is enabled with yes or no"))
        elif name.endswith(("_options", "_instances", "_wrap")) and name.rsplit("_", 1)[0] in _DEBIAN_DAEMONS:
            pass
        elif name not in extra:
            res.rejected.append(Rejection(n, raw, "unknown name (frrcommon.sh would ignore it)"))
    return res
