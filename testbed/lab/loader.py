"""Lab files to Lab objects: sandboxed jinja2 rendering, YAML with line numbers, schema, then build.

Every problem is reported with the file and line of the *template* it comes from (a line of
an included snippet names the snippet), and independent problems are reported together.
"""
from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import yaml
from pydantic import ValidationError

from testbed.paths import TOPOLOGIES
from testbed.errors import LabError, Problem
from testbed.inputs import check_name, safe_path_text

from . import params as P
from .build import build_lab
from .schema import RANGES, LabSpec
from .template import TemplateProblem, _read_limited, render_template, variables_of
from .model import Lab
from testbed.yamlpos import YamlProblem, line_of, load_lazy

Lines = Mapping[tuple[Any, ...], int]     # {path in the document: its line} (testbed.yamlpos)

# control characters (but tab and newlines) and bidirectional overrides ("Trojan Source")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufeff]")


@lru_cache(maxsize=1)
def limits() -> dict[str, int]:
    """limits.yaml: the size limits of a lab (bytes, characters, seconds, counts), each an integer."""
    out = yaml.safe_load(Path(__file__).with_name("limits.yaml").read_text())
    assert isinstance(out, dict) and all(isinstance(v, int) for v in out.values()), "limits.yaml: name: integer"
    return out


def lab_names() -> list[str]:
    return sorted(p.stem for p in TOPOLOGIES.glob("*.yaml"))


def find_lab(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if "\x00" in str(name_or_path):
        raise LabError([Problem(repr(name_or_path), "", "a lab name or path has no NUL character")])
    safe_path_text(name_or_path)        # a newline in a file name would reach configs and scripts
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in str(name_or_path):
        if p.suffix not in (".yaml", ".yml"):
            # never parse (and quote in errors) a file that is not a lab file: /etc/shadow
            raise LabError([Problem(str(p), "", "not a lab file: a lab file's name ends in .yaml or .yml")])
        try:
            ok = p.is_file()
        except OSError as e:
            raise LabError([Problem(str(p), "", f"cannot read the lab file: {e.strerror}")]) from None
        if not ok:
            raise LabError([Problem(str(p), "", "no such lab file" if not p.exists() else
                                    "not a regular file; give a lab .yaml file")])
        return p
    cand = TOPOLOGIES / f"{name_or_path}.yaml"
    if re.match(r"^[a-z0-9][a-z0-9_-]{0,63}$", name_or_path) and cand.is_file():
        return cand
    raise LabError([Problem(name_or_path, "", "no such lab; choose one of: " + ", ".join(lab_names())
                            + " (or give a path to a .yaml file)")])


def parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """--set key=value (integers, finite numbers, true/false or short words)."""
    return P.parse_sets(pairs)


class _ParamError(Exception):
    pass


def _strict_int(value: Any, default: object = None) -> int:    # (a jinja filter: any template value)
    """jinja's int filter turns 'x' into 0 and 1.5 into 1 silently; a lab parameter must fail."""
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise _ParamError(f"expected an integer, got {value!r}")
    try:
        v = int(value)
    except (TypeError, ValueError, OverflowError):
        raise _ParamError(f"expected an integer, got {value!r}") from None
    if abs(v) > P.GENERIC_INT[1]:
        raise _ParamError(f"{v} is out of range ({P.GENERIC_INT[0]}..{P.GENERIC_INT[1]})")
    return v


def _is_template(src: str) -> bool:
    return any(t in src for t in ("{{", "{%", "{#"))


def read_lab_text(path: Path, max_bytes: int | None) -> str:
    try:
        src = _read_limited(path, max_bytes or (1 << 30))
    except TemplateProblem as e:
        hint = " (--no-limits lifts the size limit)" if "larger than" in str(e) else ""
        raise LabError([Problem(str(path), "", f"{e}{hint}")]) from None
    except OSError as e:
        raise LabError([Problem(str(path), "", f"cannot read the lab file: {e.strerror}")]) from None
    m = _BAD_CHARS.search(src)
    if m:
        line = src.count("\n", 0, m.start()) + 1
        raise LabError([Problem(str(path), "", f"contains the control or direction-changing character "
                                f"U+{ord(m.group()):04X}; a lab file is plain text (remove it)", line)])
    return src


class _SameLines(Sequence[tuple[str, int]]):
    """The (file, line) of each line of a lab file that is not a template: its own (a list of
    them was a million tuples for a 100,000-router lab)."""

    def __init__(self, path: str, n: int) -> None:
        self.path, self.n = path, n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, k: int) -> tuple[str, int]: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[tuple[str, int]]: ...

    def __getitem__(self, k: int | slice) -> tuple[str, int] | Sequence[tuple[str, int]]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self.n))]
        if not 0 <= k < self.n:
            raise IndexError(k)
        return self.path, k + 1

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return ((self.path, k + 1) for k in range(self.n))


def render(path: Path, params: dict[str, Any], local_first: bool = False, no_limits: bool = False,
           src: str | None = None) -> tuple[str, Sequence[tuple[str, int]]]:
    """The lab file's YAML text and, per rendered line, the (file, line) of the template."""
    lim = limits()
    if src is None:
        src = read_lab_text(path, None if no_limits else lim["file_bytes"])
    if not _is_template(src):
        return src, _SameLines(str(path), src.count("\n") + 1)
    try:
        return render_template(path, src, params, library=TOPOLOGIES, local_first=local_first,
                               max_output=(1 << 30) if no_limits else lim["rendered_chars"],
                               seconds=0 if no_limits else lim["render_seconds"], strict_int=_strict_int)
    except TemplateProblem as e:
        cause = e.__cause__
        if isinstance(cause, jinja_undefined()):
            msg = (f"{e}; give it with --set NAME=VALUE or a default in the file "
                   "({% set n = n | default(3) %})")
        elif isinstance(cause, _ParamError):
            msg = (f"a parameter is wrong: {cause}; fix the --set value (given: "
                   f"{', '.join(f'{k}={v!r}' for k, v in params.items()) or 'none'})")
        else:
            msg = str(e)
        raise LabError([Problem(e.file or str(path), "template", msg, e.line)]) from None


def jinja_undefined() -> type[Exception]:
    import jinja2
    return jinja2.UndefinedError


def _is_type_tag(x: str) -> bool:
    return x in ("LinkSpec", "str", "Endpoint") or x.startswith(("list[", "function-", "union["))


def _remap(problems: list[Problem], where: Sequence[tuple[str, int]], path: str | None = None) -> list[Problem]:
    """Lines of the rendered lab (file `path`) to the template lines they came from; problems
    of other files (a vendor table) keep theirs."""
    out = []
    for p in problems:
        if p.line and 0 < p.line <= len(where) and (path is None or p.file == path):
            f, ln = where[p.line - 1]
            out.append(Problem(f, p.field, p.message, ln))
        else:
            out.append(p)
    return out


def _size_problems(path: str, data: dict[str, object], lines: Lines) -> list[Problem]:
    lim = limits()
    out = []
    for key, what in (("routers", "routers"), ("hosts", "hosts"), ("links", "links"),
                      ("mpls", "mpls_domains"), ("probes", "probes")):
        v = data.get(key)
        if isinstance(v, (dict, list)) and len(v) > lim[what]:
            out.append(Problem(path, key, f"{len(v)} {what.replace('_', ' ')}: more than the limit of {lim[what]} "
                               "(a typo in a --set value?); --no-limits lifts it", line_of(lines, (key,))))
    return out


def load_lab(name_or_path: str | Path, params: dict[str, Any] | None = None, name: str | None = None, *,
             no_limits: bool = False, local_first: bool = False) -> Lab:
    """A validated, addressed Lab. no_limits: lift the size limits (limits.yaml) and the
    upper bounds of parameters; local_first: a lab's own snippets win over the library's.
    No cyclic garbage collection meanwhile (the parsed file and the model are millions of
    long-lived objects that every full collection walked again: half the load of a big lab)."""
    from testbed.heap import no_gc
    with no_gc():
        return _load_lab(name_or_path, params, name, no_limits=no_limits, local_first=local_first)


def _load_lab(name_or_path: str | Path, params: dict[str, Any] | None, name: str | None, *, no_limits: bool,
              local_first: bool) -> Lab:
    path = find_lab(str(name_or_path))
    params = dict(params or {})
    src = read_lab_text(path, None if no_limits else limits()["file_bytes"])
    reads = variables_of(path, src, library=TOPOLOGIES, local_first=local_first) if _is_template(src) else set()
    P.check(str(path), params, reads, no_limits=no_limits)
    text, where = render(path, params, local_first=local_first, no_limits=no_limits, src=src)
    try:
        data, lines = load_lazy(text)         # the lines worked out only to place a problem
    except YamlProblem as e:
        raise LabError(_remap([Problem(str(path), e.field, str(e), e.line)], where)) from None
    if not isinstance(data, dict):
        raise LabError(_remap([Problem(str(path), "", "a lab file is a YAML mapping with at least 'routers' "
                                       "and 'links'", 1)], where))
    if not no_limits:
        big = _size_problems(str(path), data, lines)
        if big:
            raise LabError(_remap(big, where))
    data.pop("params", None)
    try:
        spec = LabSpec.model_validate(data)
    except ValidationError as e:
        probs = _dedupe_links(_schema_problems(str(path), e, lines))
        raise LabError(_remap(probs + _reference_problems(str(path), data, lines, probs), where)) from None
    del data                               # the model is built from spec (a big lab's values, freed)
    try:
        lab = build_lab(spec, path=str(path), lines=lines, params=params,
                        name=name if name is not None else (spec.name or path.stem))
    except LabError as e:
        raise LabError(_remap(e.problems, where, str(path))) from None
    if name is None and not spec.name:
        # the file's stem names the lab: it reaches namespaces, folders and configs, so it
        # follows the same rule as a name: field (checked once the lab's own problems are told)
        check_name(path.stem, "name", str(path), "the lab has no name: field and its file name is not a valid "
                   "name; add name: <a-name> to the file or rename the file")
    elif name is not None:
        check_name(name, "--name", str(path), "give another with --name")
    lab.options = {"no_limits": no_limits, "local_first": local_first}
    return lab


def _reference_problems(path: str, data: dict[str, Any], lines: Lines,
                        found: list[Problem]) -> list[Problem]:
    """With schema errors the lab is not built, but references that do not depend on them
    are still checked (unknown vendors, links to undeclared nodes), so one run reports them
    all, like a compiler."""
    from testbed import vendors
    out, seen = [], {p.field for p in found}
    allowed = vendors.names()
    nodes = set()
    for kind in ("routers", "hosts"):
        if isinstance(data.get(kind), dict):
            nodes |= {k for k in data[kind] if isinstance(k, str)}
    if isinstance(data.get("routers"), dict):
        for r, spec in data["routers"].items():
            v = spec.get("vendor") if isinstance(spec, dict) else None
            field = f"routers.{r}.vendor"
            if isinstance(v, str) and v not in allowed and field not in seen:
                out.append(Problem(path, field, f"unknown vendor '{v}'; allowed: {', '.join(allowed)}",
                                   line_of(lines, ("routers", r, "vendor"))))
    if isinstance(data.get("links"), list) and nodes:
        for i, link in enumerate(data["links"]):
            key = "endpoints" if isinstance(link, dict) and "endpoints" in link else "lan"
            ends = link if isinstance(link, list) else link.get(key) if isinstance(link, dict) else None
            for j, e in enumerate(ends if isinstance(ends, list) else []):
                n = e.get("node") if isinstance(e, dict) else e
                if isinstance(n, str) and n not in nodes and not any(f.startswith(f"links[{i}]") for f in seen):
                    loc = ("links", i) if isinstance(link, list) else ("links", i, key, j)
                    out.append(Problem(path, f"links[{i}]", f"unknown node '{n}'; declare it under routers: or "
                                       f"hosts: (known: {', '.join(sorted(nodes))})", line_of(lines, loc)))
    return out


def _schema_problems(path: str, e: ValidationError, lines: Lines) -> list[Problem]:
    problems = []
    seen = set()
    for err in e.errors():
        loc = tuple(x for x in err["loc"] if isinstance(x, int) or not _is_type_tag(x))
        key = (loc, err["msg"])
        if key in seen:
            continue
        seen.add(key)
        msg = err["msg"].replace("Value error, ", "")
        last = next((x for x in reversed(loc) if isinstance(x, str)), None)
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling (see topologies/README.md for the fields)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "too_short" and loc[-1:] == ("routers",):
            msg = f"{msg}: an MPLS domain has at least 2 routers (an ingress and an egress)"
        elif err["type"] == "literal_error":
            msg = f"{msg}, got {err.get('input')!r}"
        elif last in RANGES and not isinstance(loc[-1], int) and err["type"] not in ("model_type", "dict_type"):
            msg = f"got {err.get('input')!r}; allowed: {RANGES[last]}"
        field = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in loc).replace(".[", "[")
        problems.append(Problem(path, field, msg, line_of(lines, loc)))
    return problems


def _dedupe_links(problems: list[Problem]) -> list[Problem]:
    """A link that is neither a LinkSpec nor a list yields two union errors; keep the clearer one."""
    out = []
    for p in problems:
        if p.field.startswith("links[") and "input should be a valid list" in p.message.lower():
            continue
        out.append(p)
    return out or problems
