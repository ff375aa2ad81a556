"""Lab templates: jinja2 in an immutable sandbox, with limits, and a map from rendered lines
back to template lines.

A lab file is untrusted input (shared like a containerlab topology, run as root), so:
- rendering runs in jinja2's ImmutableSandboxedEnvironment (no attribute starting with '_',
  no call of unsafe internals, no mutation), with only range, dict, namespace, cycler and
  joiner as globals;
- `include`, `import` and `extends` load plain file names only (no '/', no '..'), from the
  library (topologies/) or the lab's own folder, each resolved without following a symbolic
  link out of its folder; a library snippet wins over a same-named local file unless the
  user asks for local includes first (local_first);
- numbers handed to calls and filters, repetitions (`*`), powers and `%` formatting are
  bounded, the output is bounded (max_output characters) and rendering has a deadline
  (seconds, by SIGALRM in the main thread).

Line map: before compiling, every template line that starts in literal text gets an
invisible marker (\\x02<file>:<line>\\x03) before its first non-blank character; the
rendered text is split into lines, each line takes the location of the marker right before
its text (or of the previous line's last marker plus one) and the markers are removed. So an error in the YAML names the
template file and line the text came from, also when it came from an included snippet.
"""
from __future__ import annotations

import functools
import math
import os
import re
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar, cast

import jinja2
from jinja2 import meta
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MARK_OPEN, MARK_CLOSE = "\x02", "\x03"   # not whitespace to str.strip (\x1c-\x1f are)
_MARK_RE = re.compile("\x02(\\d+):(\\d+)\x03")
INCLUDE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_NUMBER = 1_000_000          # any number handed to a call or filter
MAX_SEQUENCE = 1_000_000        # characters or items made by *, % and filters
_RAW_OPEN = r"\{%[-+]?\s*raw\s*[-+]?%\}"
T = TypeVar("T")
# a template's values are whatever jinja computes (Any in jinja's own signatures, which these override)
StrictInt = Callable[..., int]          # the lab's `int` filter (testbed.lab.loader._strict_int)


class TemplateProblem(Exception):
    """A template that cannot be rendered: message, and where (file, line) if known."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file, self.line = file, line


class _Deadline(Exception):
    pass


def _check_number(x: object, what: str) -> None:
    if isinstance(x, bool):
        return
    if isinstance(x, int) and abs(x) > MAX_NUMBER:
        raise SecurityError(f"{what}: the number {x} is too large (at most {MAX_NUMBER:,} in a lab template)")
    if isinstance(x, float) and not math.isfinite(x):
        raise SecurityError(f"{what}: {x} is not a finite number")


def _check_args(args: Iterable[object], kwargs: Mapping[str, object], what: str) -> None:
    for a in list(args) + list(kwargs.values()):
        _check_number(a, what)


def _check_size(x: T, what: str) -> T:
    if isinstance(x, (str, list, tuple)) and len(x) > MAX_SEQUENCE:
        raise SecurityError(f"{what} makes {len(x):,} characters or items (at most {MAX_SEQUENCE:,})")
    return x


class LabSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with arithmetic and calls bounded."""
    intercepted_binops = frozenset(["*", "**", "%", "+"])
    intercepted_unops = frozenset()

    def __init__(self, *a: Any, deadline: float | None = None, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.deadline = deadline

    def _tick(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Deadline()

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self._tick()
        _check_number(left, f"'{operator}'")
        _check_number(right, f"'{operator}'")
        if operator == "**":
            if isinstance(right, (int, float)) and isinstance(left, (int, float)) and \
                    abs(right) * math.log2(abs(left) + 2) > 64:
                raise SecurityError(f"{left} ** {right} is too large for a lab template")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * max(n, 0) > MAX_SEQUENCE:
                    raise SecurityError(f"repeating {len(seq)} characters or items {n} times is too much "
                                        f"(at most {MAX_SEQUENCE:,})")
        return _check_size(super().call_binop(context, operator, left, right), f"'{operator}'")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:   # noqa: N805 (jinja's)
        __self._tick()
        _check_args(args, kwargs, f"calling {getattr(__obj, '__name__', 'a function')}")
        return _check_size(super().call(__context, __obj, *args, **kwargs), "a call")


def _guard_filter(name: str, fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        _check_args(args[1:] if args else (), kwargs, f"filter '{name}'")
        return _check_size(fn(*args, **kwargs), f"filter '{name}'")
    return wrapped


class _Loader(jinja2.BaseLoader):
    """Plain names only, from the library and the lab's folder, never through a link out."""

    def __init__(self, folders: list[Path], marker: Callable[[str, str], str]):
        self.folders = [(f, f.resolve()) for f in folders]
        self.marker = marker
        self.loads = 0

    MAX_LOADS = 64

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        self.loads += 1
        if self.loads > self.MAX_LOADS:
            raise TemplateProblem(f"more than {self.MAX_LOADS} includes and imports while rendering (a file "
                                  f"including itself?); the last was '{template}'")
        if not isinstance(template, str) or not INCLUDE_NAME.match(template) or ".." in template:
            raise TemplateProblem(f"include/import of {template!r} refused: a lab includes plain file names "
                                  "(letters, digits, '_', '-', '.') from its own folder or topologies/, "
                                  "no paths")
        for given, real in self.folders:
            cand = given / template
            if not os.path.lexists(cand):
                continue
            target = Path(os.path.realpath(cand))
            if target.parent != real or not target.is_file():
                raise TemplateProblem(f"include of '{template}' refused: {cand} is a link to or is not a file "
                                      f"in {given} ({target}); a lab includes files of its own folder or the "
                                      "library only")
            text = _read_limited(target)
            return self.marker(str(cand), text), str(cand), lambda: True
        raise TemplateProblem(f"include of '{template}': no such file in " +
                              " or ".join(str(g) for g, _ in self.folders))


def _read_limited(path: Path, limit: int = 1 << 20) -> str:
    """A lab file or snippet through the input boundary (testbed.inputs: a regular file, at
    most `limit` bytes, UTF-8)."""
    from testbed.inputs import InputProblem, read_text
    try:
        return read_text(path, limit, "lab file")
    except InputProblem as e:
        raise TemplateProblem(e.problems[0].message) from None


# ------------------------------------------------------------------ markers
_OPEN = re.compile(r"\{([{%#])")


def _data_line_starts(src: str) -> set[int]:
    """0-based numbers of the lines whose first character is in literal text (not inside a
    tag, expression or comment); a scanner of jinja's default delimiters."""
    starts = {0}
    i, n, line = 0, len(src), 0
    state = None            # None: data; '{', '%', '#': inside; 'raw': in a raw block
    quote = None
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            if state is None or state == "raw":
                starts.add(line)
            i += 1
            continue
        if state is None:
            m = _OPEN.match(src, i)
            if m:
                state = m.group(1)
                raw = re.match(_RAW_OPEN, src[i:i + 40]) if state == "%" else None
                if raw:
                    end = raw.end()
                    line += src.count("\n", i, i + end)
                    i += end
                    state = "raw"
                    continue
                i += 2
                continue
        elif state == "raw":
            m = re.match(r"\{%[-+]?\s*endraw\s*[-+]?%\}", src[i:i + 40])
            if m:
                i += m.end()
                state = None
                continue
        elif state == "#":
            if src.startswith("#}", i):
                state = None
                i += 2
                continue
        else:
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif src.startswith("}}" if state == "{" else "%}", i):
                state = None
                i += 2
                continue
        i += 1
    return starts


def add_markers(file_no: int, src: str) -> str:
    out = []
    starts = _data_line_starts(src)
    for k, ln in enumerate(src.split("\n")):
        if k in starts:
            stripped = ln.lstrip(" \t")
            # a whitespace-stripping tag ({%- {{- {#-) must keep seeing the blanks before it
            if stripped and not stripped.startswith(("{%-", "{{-", "{#-")):
                ind = len(ln) - len(stripped)
                ln = f"{ln[:ind]}{MARK_OPEN}{file_no}:{k + 1}{MARK_CLOSE}{stripped}"
        out.append(ln)
    return "\n".join(out)


def strip_markers(text: str, files: list[str]) -> tuple[str, list[tuple[str, int]]]:
    """Remove markers; return the text and (file, line) for every rendered line (1-based list
    index = rendered line - 1)."""
    lines = text.split("\n")
    where: list[tuple[str, int]] = []
    prev = (files[0], 0)
    for ln in lines:
        marks = list(_MARK_RE.finditer(ln))
        if not marks:
            prev = (prev[0], prev[1] + 1)
            where.append(prev)
            continue
        # the line's text starts after the last marker before its first other character (an
        # include's first line follows the marker of the line with the include tag)
        here = marks[0]
        for m in marks:
            if ln[here.end():m.start()].strip(" \t"):
                break
            here = m
        where.append((files[int(here.group(1))], int(here.group(2))))
        last = marks[-1]
        prev = (files[int(last.group(1))], int(last.group(2)))
    return _MARK_RE.sub("", text), where


# ------------------------------------------------------------------ render
def _env(folders: list[Path], files: list[str], deadline: float | None, marked: bool,
         strict_int: StrictInt | None) -> LabSandbox:
    def marker(name: str, text: str) -> str:
        if not marked:
            return text
        if name not in files:
            files.append(name)
        return add_markers(files.index(name), text)
    env = LabSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                     loader=_Loader(folders, marker), deadline=deadline, auto_reload=False, cache_size=0)
    env.globals = {k: env.globals[k] for k in ("range", "dict", "namespace", "cycler", "joiner")}
    if strict_int is not None:         # (variables_of only parses: jinja's own int is never called)
        env.filters["int"] = strict_int
    for k in list(env.filters):
        env.filters[k] = _guard_filter(k, env.filters[k])
    # (jinja's DEFAULT_TESTS is inferred as dict[str, function], which mypy cannot call: its values are tests)
    tests = cast("dict[str, Callable[..., bool]]", env.tests)
    for k in list(tests):
        tests[k] = _guard_filter(k, tests[k])
    return env


def _where_in_template(exc: BaseException, files: list[str]) -> tuple[str | None, int | None]:
    """The innermost template frame of a rendering exception (jinja rewrites them)."""
    file = line = None
    for fr in traceback.extract_tb(exc.__traceback__):
        if fr.filename in files or fr.filename == "<template>":
            file = files[0] if fr.filename == "<template>" else fr.filename
            line = fr.lineno
    return file, line


def _render_once(path: Path, src: str, params: dict[str, Any], folders: list[Path], max_output: int,
                 seconds: float, marked: bool, strict_int: StrictInt | None) -> tuple[str, list[str]]:
    files = [str(path)]
    deadline = time.monotonic() + seconds if seconds else None
    env = _env(folders, files, deadline, marked, strict_int)
    text = add_markers(0, src) if marked else src
    timer = threading.current_thread() is threading.main_thread() and seconds
    old = None
    if timer:
        def on_alarm(signum: int, frame: FrameType | None) -> NoReturn:
            raise _Deadline()
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        tmpl = env.from_string(text)
        tmpl.filename = str(path) if not marked else tmpl.filename
        chunks: list[str] = []
        size = 0
        for chunk in tmpl.generate(**params):
            size += len(chunk)
            if size > max_output:
                raise TemplateProblem(f"the template renders more than {max_output:,} characters; a lab is "
                                      "smaller (--no-limits lifts this)", str(path))
            chunks.append(chunk)
        out = "".join(chunks)
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return out, files


def render_template(path: Path, src: str, params: dict[str, Any], *, library: Path, local_first: bool = False,
                    max_output: int = 4 << 20, seconds: float = 10.0,
                    strict_int: StrictInt | None = None) -> tuple[str, list[tuple[str, int]]]:
    """Render src (the text of lab file path) in the sandbox; return (text, line_map) where
    line_map[k] is the (file, line) of rendered line k + 1. Raises TemplateProblem."""
    folders = [Path(path).parent, library] if local_first else [library, Path(path).parent]
    # one folder given twice (a library lab) is searched once
    seen: set[str] = set()
    uniq: list[Path] = []
    for folder in folders:
        r = os.path.realpath(folder)
        if r not in seen:
            seen.add(r)
            uniq.append(folder)
    try:
        try:
            out, files = _render_once(path, src, params, uniq, max_output, seconds, True, strict_int)
            return strip_markers(out, files)
        except (jinja2.TemplateError, TypeError, ValueError) as first:
            # markers can confuse a template that captures text ({% set x %}...) and computes
            # with it: render once more without them (no line map) and report that one's error
            if isinstance(first, (SecurityError, jinja2.TemplateSyntaxError, jinja2.UndefinedError)):
                raise
            out, files = _render_once(path, src, params, uniq, max_output, seconds, False, strict_int)
            return out, [(str(path), k + 1) for k in range(out.count("\n") + 1)]
    except _Deadline:
        raise TemplateProblem(f"rendering the template took more than {seconds:g} s; a lab template is a "
                              "short loop (--no-limits lifts this)", str(path)) from None
    except TemplateProblem as e:
        if e.line is None:
            e.file, e.line = _where_in_template(e, [str(path)])
            e.file = e.file or str(path)
        raise
    except SecurityError as e:
        f, ln = _where_in_template(e, [str(path)])
        raise TemplateProblem(f"refused by the template sandbox: {e}", f, ln) from None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateProblem(f"jinja2 syntax error: {e.message}", e.filename or str(path), e.lineno) from None
    except RecursionError:
        raise TemplateProblem("the template nests or recurses too deeply (blocks or parentheses nested hundreds "
                              "deep, or a macro calling itself)",
                              str(path)) from None
    except MemoryError:
        raise TemplateProblem("the template needs too much memory", str(path)) from None
    except Exception as e:    # jinja runtime errors, filters on bad values, ...
        f, ln = _where_in_template(e, [str(path)])
        raise TemplateProblem(_one_line(e), f, ln) from e


def _one_line(e: BaseException) -> str:
    msg = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(msg).split())[:300]


def variables_of(path: Path, src: str, *, library: Path, local_first: bool = False) -> set[str] | None:
    """The parameters a template reads (its own and its includes'), None if unknown."""
    folders = [Path(path).parent, library] if local_first else [library, Path(path).parent]
    env = _env(folders, [str(path)], None, False, None)
    loader = env.loader
    assert isinstance(loader, _Loader)         # _env's
    out: set[str] = set()
    todo, seen = [(str(path), src)], set()
    try:
        while todo:
            name, text = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            ast = env.parse(text)
            out |= meta.find_undeclared_variables(ast)
            for ref in meta.find_referenced_templates(ast):
                if ref is None:
                    return None          # a computed include name: cannot know
                s, fn, _ = loader.get_source(env, ref)
                todo.append((fn, s))
    except Exception:
        return None
    return out
