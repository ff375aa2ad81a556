"""Lab files to Lab objects: jinja2 rendering, YAML with line numbers, schema, then build."""
from __future__ import annotations

from pathlib import Path

import jinja2
import yaml
from pydantic import ValidationError

from testbed import TOPOLOGIES
from testbed.errors import LabError, Problem

from .build import build_lab
from .schema import LabSpec
from .yamlpos import YamlProblem, line_of, load_with_lines


def lab_names() -> list[str]:
    return sorted(p.stem for p in TOPOLOGIES.glob("*.yaml"))


def find_lab(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise LabError([Problem(str(p), "", "no such lab file")])
        return p
    cand = TOPOLOGIES / f"{name_or_path}.yaml"
    if cand.is_file():
        return cand
    raise LabError([Problem(name_or_path, "", "no such lab; choose one of: " + ", ".join(lab_names())
                            + " (or give a path to a .yaml file)")])


def parse_sets(pairs: list[str] | None) -> dict:
    """--set key=value (value read as a YAML scalar: 5 -> int, true -> bool)."""
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise LabError([Problem("--set", p, "expected key=value, for example --set lsrs=5")])
        k, v = p.split("=", 1)
        out[k.strip()] = yaml.safe_load(v) if v.strip() else ""
    return out


class _ParamError(Exception):
    pass


def _strict_int(value, default=None):
    """jinja's int filter turns 'x' into 0 silently; a lab parameter must fail instead."""
    if isinstance(value, bool):
        raise _ParamError(f"expected an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ParamError(f"expected an integer, got {value!r}") from None


def render(path: Path, params: dict) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             loader=jinja2.FileSystemLoader([str(path.parent), str(TOPOLOGIES)]))
    env.filters["int"] = _strict_int
    try:
        return env.from_string(path.read_text()).render(**params)
    except jinja2.TemplateSyntaxError as e:
        raise LabError([Problem(str(path), "template", f"jinja2 syntax error: {e.message}", e.lineno)]) from None
    except jinja2.UndefinedError as e:
        raise LabError([Problem(str(path), "template", f"{e.message}; give it with --set NAME=VALUE "
                                "or a default in the file ({% set n = n | default(3) %})")]) from None
    except _ParamError as e:
        raise LabError([Problem(str(path), "template", f"a parameter is wrong: {e}; fix the --set value "
                                f"(given: {', '.join(f'{k}={v!r}' for k, v in params.items()) or 'none'})")]) from None
    except Exception as e:  # jinja runtime errors (filters on bad values, ...)
        raise LabError([Problem(str(path), "template", f"rendering failed: {e}")]) from None


def _is_type_tag(x: str) -> bool:
    return x in ("LinkSpec", "str", "Endpoint") or x.startswith(("list[", "function-", "union["))


def load_lab(name_or_path: str | Path, params: dict | None = None, name: str | None = None):
    path = find_lab(str(name_or_path))
    params = dict(params or {})
    text = render(path, params)
    try:
        data, lines = load_with_lines(text)
    except YamlProblem as e:
        raise LabError([Problem(str(path), e.field, str(e), e.line)]) from None
    if not isinstance(data, dict):
        raise LabError([Problem(str(path), "", "a lab file is a YAML mapping with at least 'routers' and 'links'", 1)])
    data.pop("params", None)
    try:
        spec = LabSpec.model_validate(data)
    except ValidationError as e:
        problems = []
        seen = set()
        for err in e.errors():
            loc = tuple(x for x in err["loc"] if isinstance(x, int) or not _is_type_tag(x))
            key = (loc, err["msg"])
            if key in seen:
                continue
            seen.add(key)
            # union errors: keep the most specific branch only
            msg = err["msg"].replace("Value error, ", "")
            if err["type"] == "extra_forbidden":
                msg = "unknown field; check the spelling (see topologies/README.md for the fields)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            elif err["type"] == "too_short" and loc[-1:] == ("routers",):
                msg = f"{msg}: an MPLS domain has at least 2 routers (an ingress and an egress)"
            elif err["type"] == "literal_error":
                msg = f"{msg}, got {err.get('input')!r}"
            field = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in loc).replace(".[", "[")
            problems.append(Problem(str(path), field, msg, line_of(lines, loc)))
        problems = _dedupe_links(problems)
        raise LabError(problems) from None
    return build_lab(spec, path=str(path), lines=lines, params=params, name=name or spec.name or path.stem)


def _dedupe_links(problems: list[Problem]) -> list[Problem]:
    """A link that is neither a LinkSpec nor a list yields two union errors; keep the clearer one."""
    out = []
    for p in problems:
        if p.field.startswith("links[") and "input should be a valid list" in p.message.lower():
            continue
        out.append(p)
    return out or problems
