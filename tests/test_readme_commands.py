"""Every command README.md shows in a ```sh block runs as a user types it, and exits 0.

Each ```sh block is one shell session: its commands run in README order in one `bash`, in a
temporary folder (PATH with the project's .venv/bin first, as an activated virtualenv gives;
`make ...` and `.venv/...` lines from the checkout, as the README says to run them), and the
session stops at the first command that exits non-zero. Lab instances a block brings up are
torn down at its end, also on failure or timeout; a block whose lab instance name is already
up on this machine (someone's lab) is skipped with one line, never touched. Blocks that bring up
the same instance name (README.md:9 and the status block both bring invisible-php up) take
turns through a lock per name, whichever pytest worker or checkout runs them.

Synopses (`[--json]`, `A|B`, `LAB`, `DIR`) belong in ```text blocks: a check fails on any
```sh command that is not runnable as written. Commands too heavy for the suite are listed in
HEAVY (one table, with the reason); they run only with UTNT_README_HEAVY=1 (`make readme-check`)
and are skipped otherwise with one line naming that target. A HEAVY entry that no longer is in
the README fails a check, so the table cannot drift.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HEAVY_ON = os.environ.get("UTNT_README_HEAVY") == "1"
# heavy mode, part of it: UTNT_README_SKIP="make vm,guest-kernel" leaves out heavy commands containing those
HEAVY_SKIP = [s for s in os.environ.get("UTNT_README_SKIP", "").split(",") if s]
# `make test` run from here (heavy mode) sets this: the inner suite never runs this file again
INNER = os.environ.get("UTNT_README_INNER") == "1"

pytestmark = pytest.mark.skipif(INNER, reason="inside `make test` run by test_readme_commands: no recursion")

# command as the README writes it (continuations joined, trailing comment stripped) -> (kind, why)
# kind "heavy": runs only under UTNT_README_HEAVY=1 (make readme-check);
# kind "machines": needs what one machine cannot give; the named test runs it on stand-ins.
HEAVY: dict[str, tuple[str, str]] = {
    "make test": ("heavy", "the whole suite (minutes; this file inside it skips itself)"),
    "make conformance": ("heavy", "uTNT vs the original TNT on every lab variant; needs TNT built at /opt/tnt-peer"),
    ".venv/bin/python benchmarks/bench_tnt_vs_utnt.py": ("heavy", "benchmark, 10 labs x 3 runs; needs TNT built"),
    "make oracle": ("heavy", "records TNT's dumps on ~1,400 labs (~30 min); needs TNT built"),
    'make oracle ORACLE_ARGS="--redo"': ("heavy", "re-records every lab (~30 min); needs TNT built"),
    "testbed run as3356.yaml": ("heavy", "404 routers on namespaces, 300 traces (minutes)"),
    "testbed campaign att.yaml --fail-link dlls,atln --runtime netns --control-plane frr":
        ("heavy", "25 routers on namespaces with FRR, 300 traces before and after the failure"),
    "testbed ondemand five-vp --events 59 --interval 1 --nodes 5": ("heavy", "59 events one per second (> 1 min)"),
    "make vm && testbed vm five-vp --from vp4": ("heavy", "installs QEMU and builds the VM images (apt, minutes)"),
    "make guest-kernel": ("heavy", "builds a Linux kernel (~10 min on 2 cores)"),
    "testbed vm five-vp --image tnt": ("heavy", "the original TNT's VM image: needs TNT built and make vm"),
    "testbed vm five-vp --image utnt-micro-snap": ("heavy", "the micro guest restored from its snapshot: needs "
                                                   "make vm and make guest-kernel"),
    "testbed up five-vp --runtime bigrt --plan plan.json --host h1":
        ("machines", "needs the machine whose underlay address is 192.0.2.1; tests/test_split.py runs it on stand-ins"),
    "testbed down five-vp-h1": ("machines", "tears down the instance of the line before (tests/test_split.py)"),
    "testbed up invisible-php --runtime mininet":
        ("heavy", "interactive: typed in a terminal (tmux), the block's other lines from a second one, then "
                  "`exit` at the prompt; needs make mininet"),
    "testbed probe invisible-php --detector traceroute":
        ("heavy", "from a second terminal beside the mininet> prompt (the line before)"),
}
# commands that need the original TNT built on this machine (TNT_PREFIX or /opt/tnt-peer; it is
# never part of the project): skipped with one line where it is not
NEEDS_TNT = {"testbed vm five-vp --image tnt"}


def _tnt_missing() -> str | None:
    from testbed.detectors.tnt import find_prefix, missing_reason
    return None if find_prefix() is not None else missing_reason()


# commands that hold a prompt: run in a terminal (tmux) until the prompt shows; the block's other
# lines then run from another shell, and the text is typed at the prompt to end it
PROMPTS = {"testbed up invisible-php --runtime mininet": (r"(?m)^mininet>\s*$", "exit")}

RESULTS: dict[str, str | None] = {}   # command -> exit status as its block ran it
LIGHT_TIMEOUT = 600          # one block (seconds)
HEAVY_TIMEOUT = 7200


@dataclass
class Block:
    line: int                                   # the ```sh line
    commands: list[tuple[int, str]] = field(default_factory=list)   # (README line, command)

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def _strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (a # outside quotes, at the start or after a blank)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def parse(text: str) -> list[Block]:
    blocks: list[Block] = []
    cur: Block | None = None
    pending: tuple[int, str] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if cur is None:
            if s == "```sh":
                cur = Block(n)
            continue
        if s.startswith("```"):
            blocks.append(cur)
            cur = None
            continue
        if pending:                                   # a continuation of the line before
            start, head = pending
            raw = head + " " + raw.strip()
            n = start
            pending = None
        line = raw.rstrip()
        if line.endswith("\\"):
            pending = (n, line[:-1].rstrip())
            continue
        cmd = _strip_comment(line).strip()
        if cmd:
            cur.commands.append((n, cmd))
    return blocks


BLOCKS = parse(README.read_text())


def _outside_quotes(cmd: str) -> str:
    """The command with quoted parts blanked out."""
    out, quote = [], None
    for ch in cmd:
        if quote:
            out.append(" ")
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def synopsis_marks(cmd: str) -> list[str]:
    """Why `cmd` reads as a synopsis rather than a command (empty: runnable as written)."""
    bare = _outside_quotes(cmd)
    why = []
    if "[" in bare or "]" in bare:
        why.append("optional part in [brackets]")
    if re.search(r"\w\|\w", bare):
        why.append("alternatives A|B")
    if "..." in bare or "\u2026" in bare:
        why.append("an ellipsis")
    caps = [w for w in bare.split() if re.fullmatch(r"[A-Z][A-Z0-9_]+(\.\w+)?", w)]
    if caps:
        why.append("placeholder " + ", ".join(caps))
    return why


def test_sh_blocks_hold_only_commands_runnable_as_written():
    bad = [f"README.md:{n}: `{cmd}`: {', '.join(w)}; make it a real command or move it to a ```text block"
           for b in BLOCKS for n, cmd in b.commands if (w := synopsis_marks(cmd))]
    assert not bad, "\n".join(bad)


def test_heavy_table_matches_the_readme():
    """Every HEAVY entry is a README command as written (the table cannot drift); every other
    command is run by test_readme_block."""
    shown = {cmd for b in BLOCKS for _, cmd in b.commands}
    stale = sorted(set(HEAVY) - shown)
    assert not stale, ("HEAVY lists commands the README no longer shows (fix the entry to the "
                       "README's new spelling, or remove it): " + "; ".join(stale))
    assert BLOCKS and sum(len(b.commands) for b in BLOCKS) > len(HEAVY)


def test_parser_joins_continuations_and_strips_comments():
    blocks = parse("x\n```sh\na --b \\\n   c   # note\n# only a comment\nprintf 'a # b' > f  # c\n```\n"
                   "```text\nnot LAB [x]\n```\n")
    assert [(b.line, b.commands) for b in blocks] == [(2, [(3, "a --b c"), (6, "printf 'a # b' > f")])]
    assert synopsis_marks("testbed status [x] --json") and synopsis_marks("testbed graph LAB -o a.png|svg")
    assert not synopsis_marks("printf 'vantage_points: all\\ndestinations: [dst]\\n' > c.yaml")
    assert not synopsis_marks('make oracle ORACLE_ARGS="--redo"')


def _lab_name(arg: str, tmp: Path | None) -> str:
    """The instance name a lab argument gets: a library lab's name, or a lab file's `name:`
    (read once the block has written the file; before, the file's stem)."""
    f = (tmp / arg) if tmp else None
    if f and f.is_file():
        m = re.search(r"^name:\s*['\"]?([\w.-]+)", f.read_text(errors="replace"), re.M)
        if m:
            return m.group(1)
    return Path(arg).name.removesuffix(".yaml").removesuffix(".yml")


def _instances(block: Block, tmp: Path | None = None) -> list[str]:
    """Lab instance names the block's commands bring up (namespaces, big-lab, Mininet)."""
    names: list[str] = []
    for _, cmd in block.commands:
        for part in re.split(r"&&|;|\|\||&|\|", cmd):
            try:
                w = shlex.split(part)
            except ValueError:
                continue
            if w[:1] == ["make"] and any(a.startswith("TOPO=") for a in w):
                names += [a.split("=", 1)[1] for a in w if a.startswith("TOPO=")]
                continue
            if w[:1] != ["testbed"] or len(w) < 3 or w[1] not in ("up", "run", "campaign") or w[2].startswith("-"):
                continue
            runtime = w[w.index("--runtime") + 1] if "--runtime" in w[:-1] else None
            if runtime == "sim" or (w[1] == "campaign" and runtime is None):
                continue
            name = _lab_name(w[2], tmp)
            if "--name" in w:
                name = w[w.index("--name") + 1]
            elif "--host" in w:
                name = f"{name}-{w[w.index('--host') + 1]}"
            names.append(name)
    return list(dict.fromkeys(names))


def _present(name: str) -> bool:
    """Is a lab instance of that name on this machine (namespaces or a run folder)?"""
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if any(line.split()[0].startswith(f"tb-{name}.") for line in ns.splitlines() if line.strip()):
        return True
    roots = {os.environ.get("UTNT_LAB_RUN", "/run/utnt-lab"), "/run/utnt-lab-mininet"}
    return any((Path(r) / name).exists() for r in roots)


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["UTNT_RUNS_DB"] = str(tmp / "runs.sqlite")        # `testbed runs` shows this session's runs
    env["UTNT_README_INNER"] = "1"
    env.pop("UTNT_README_HEAVY", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _script(block: Block, tmp: Path, status: Path) -> tuple[str, list[str]]:
    lines = [f"exec 3>>{shlex.quote(str(status))}", f"cd {shlex.quote(str(tmp))}"]
    skipped = []
    for n, cmd in block.commands:
        kind = HEAVY.get(cmd, ("light", ""))[0]
        if kind == "heavy" and HEAVY_ON and any(s in cmd for s in HEAVY_SKIP):
            skipped.append(f"README.md:{n} `{cmd}`: left out by UTNT_README_SKIP")
            lines.append(f"echo '{n} skip' >&3")
            continue
        if cmd in NEEDS_TNT and (kind != "heavy" or HEAVY_ON) and (why := _tnt_missing()):
            skipped.append(f"README.md:{n} `{cmd}`: {why}")
            lines.append(f"echo '{n} skip' >&3")
            continue
        if kind == "machines" or (kind == "heavy" and not HEAVY_ON):
            skipped.append(f"README.md:{n} `{cmd}`: {HEAVY[cmd][1]}"
                           + ("; run it with `make readme-check`" if kind == "heavy" else ""))
            lines.append(f"echo '{n} skip' >&3")
            continue
        if cmd.startswith(("make ", ".venv/")):           # the README runs these from the checkout
            cmd = f"( cd {shlex.quote(str(ROOT))} && {cmd} )"
        lines += [f"# README.md:{n}", cmd, f"__rc=$?; echo \"{n} $__rc\" >&3; [ $__rc -eq 0 ] || exit 97"]
    return "\n".join(lines) + "\nwait\n", skipped


def _down(name: str, env: dict[str, str]) -> None:
    if _present(name):
        subprocess.run(["testbed", "down", name], env=env, capture_output=True, timeout=300)


def _terminal_block(block: Block, tmp: Path, env: dict[str, str]) -> dict[str, str]:
    """A block whose first command holds a prompt (PROMPTS): it runs in a tmux terminal; once its
    prompt shows, the other lines run one by one from another shell; then the prompt is ended."""
    (n0, first), rest = block.commands[0], block.commands[1:]
    prompt, end = PROMPTS[first]
    sess = f"readme-{os.getpid()}-{block.line}"
    done: dict[str, str] = {}
    subprocess.run(["tmux", "new-session", "-d", "-x", "200", "-y", "50", "-s", sess, "-c", str(tmp), "-e",
                    f"PATH={env['PATH']}", "-e", f"UTNT_RUNS_DB={env['UTNT_RUNS_DB']}",
                    f"{first}; echo \"{n0} $?\" >> .status; sleep 600"], check=True, env=env)
    try:
        deadline, text = time.monotonic() + 300, ""
        while time.monotonic() < deadline and not re.search(prompt, text):
            time.sleep(1)
            text = subprocess.run(["tmux", "capture-pane", "-p", "-t", sess], capture_output=True, text=True).stdout
        assert re.search(prompt, text), f"README.md:{n0} `{first}`: no prompt in 300 s:\n{text[-2000:]}"
        for n, cmd in rest:
            r = subprocess.run(["bash", "-c", cmd], cwd=tmp, env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=600)
            done[str(n)] = str(r.returncode)
            assert r.returncode == 0, f"README.md:{n} `{cmd}` exited {r.returncode}:\n{(r.stdout + r.stderr)[-3000:]}"
        subprocess.run(["tmux", "send-keys", "-t", sess, end, "Enter"], check=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (tmp / ".status").exists():
            time.sleep(0.5)
        rc = (tmp / ".status").read_text().split()[1] if (tmp / ".status").exists() else "none"
        done[str(n0)] = rc
        assert rc == "0", f"README.md:{n0} `{first}` exited {rc} after `{end}`"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    return done


LOCKS = Path("/run/utnt-lab-readme")      # root's (the blocks need root): one lock file per instance name


@contextlib.contextmanager
def _instance_locks(names: list[str]):
    """Hold an exclusive lock per lab instance name (in sorted order: no two blocks wait on
    each other) while a block runs, so that two blocks bringing up the same name never run at
    once (pytest-xdist workers, or a `make readme-check` of another checkout)."""
    LOCKS.mkdir(mode=0o700, exist_ok=True)
    fds: list[int] = []
    try:
        for n in sorted(set(names)):
            fd = os.open(LOCKS / f"{n}.lock", os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="README commands bring labs up as namespaces: root")
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(block: Block):
    with _instance_locks(_instances(block)):
        _readme_block(block)


def _readme_block(block: Block):
    taken = [n for n in _instances(block) if _present(n)]
    if taken:
        pytest.skip(f"{block.id}: a lab instance named {', '.join(taken)} is already up on this machine; not touched")
    with tempfile.TemporaryDirectory(prefix="readme-") as d:
        tmp = Path(d)
        env = _env(tmp)
        status = tmp / ".status"
        if block.commands and block.commands[0][1] in PROMPTS:
            if not HEAVY_ON or any(s in c for s in HEAVY_SKIP for _, c in block.commands):
                pytest.skip(f"{block.id}: {HEAVY[block.commands[0][1]][1]}; run by `make readme-check`")
            names = _instances(block)
            try:
                done = _terminal_block(block, tmp, env)
                RESULTS.update({cmd: done.get(str(n)) for n, cmd in block.commands})
            finally:
                for name in names:
                    _down(name, env)
            return
        script, skipped = _script(block, tmp, status)
        (tmp / ".session.sh").write_text(script)
        names = _instances(block)
        t0 = time.monotonic()
        p = subprocess.Popen(["bash", str(tmp / ".session.sh")], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        try:
            try:
                out, _ = p.communicate(timeout=HEAVY_TIMEOUT if HEAVY_ON else LIGHT_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGTERM)
                out, _ = p.communicate(timeout=60)
                pytest.fail(f"{block.id}: the session did not end in time:\n{out[-3000:]}")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            names = list(dict.fromkeys(names + _instances(block, tmp)))   # lab files' own names, now written
            left = [n for n in names if _present(n)]
            for name in left:
                _down(name, env)
        took = time.monotonic() - t0
        done = dict(line.split() for line in status.read_text().splitlines()) if status.exists() else {}
        RESULTS.update({cmd: done.get(str(n)) for n, cmd in block.commands})
        cmds = {str(n): c for n, c in block.commands}
        failed = [(n, rc) for n, rc in done.items() if rc not in ("0", "skip")]
        assert not failed, "\n".join(f"README.md:{n} `{cmds[n]}` exited {rc}" for n, rc in failed) + "\n" + out[-4000:]
        assert len(done) == len(block.commands), f"{block.id}: the session stopped early:\n{out[-4000:]}"
        print(f"{block.id}: {sum(rc == '0' for rc in done.values())} commands in {took:.1f} s")
        for s in skipped:
            print(f"  not run: {s}")
        assert not left, f"{block.id}: lab instance(s) {', '.join(left)} left up at the block's end (torn down now)"


@pytest.mark.parametrize("cmd", list(HEAVY), ids=list(HEAVY))
def test_heavy_command(cmd: str):
    """Each HEAVY command, as its block's session ran it (make readme-check), or one skip line."""
    kind, why = HEAVY[cmd]
    if kind == "machines":
        pytest.skip(f"`{cmd}`: {why}")
    if not HEAVY_ON:
        pytest.skip(f"`{cmd}`: {why}; run by `make readme-check`")
    if cmd not in RESULTS:
        pytest.skip(f"`{cmd}`: its block did not run in this test process (deselected, or another worker)")
    if RESULTS[cmd] == "skip":
        if cmd in NEEDS_TNT and (why := _tnt_missing()):
            pytest.skip(f"`{cmd}`: {why}")
        pytest.skip(f"`{cmd}`: left out by UTNT_README_SKIP")
    assert RESULTS[cmd] == "0", f"`{cmd}` exited {RESULTS[cmd]} in its block (test_readme_block)"


def test_tnt_commands_skip_with_one_line_where_tnt_is_absent(monkeypatch, tmp_path):
    """Heavy mode on a machine without the original TNT: its VM command is left out with one
    line saying so (TNT is built by hand, never by the project), the block's others still run."""
    monkeypatch.setitem(globals(), "HEAVY_ON", True)
    monkeypatch.setenv("TNT_PREFIX", str(tmp_path / "no-tnt"))
    (block,) = [b for b in BLOCKS if any(c in NEEDS_TNT for _, c in b.commands)]
    script, skipped = _script(block, tmp_path, tmp_path / ".status")
    lines = [s for s in skipped if "--image tnt" in s]
    assert len(lines) == 1 and "the original TNT is not built" in lines[0] and "\n" not in lines[0], skipped
    assert "--image tnt" not in script                                # not run
    assert "testbed up five-vp" in script                             # the rest of the block is
