"""Template parameters: `--set NAME=VALUE` parsed without YAML, and checked against what the
lab reads (params.yaml gives the allowed values of the library's parameters)."""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from testbed.errors import LabError, Problem

KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
WORD = re.compile(r"^[A-Za-z0-9_.:,+-]{0,64}$")
INT = re.compile(r"^[-+]?[0-9]{1,12}$")
FLOAT = re.compile(r"^[-+]?([0-9]{1,12}\.[0-9]{0,12}|\.[0-9]{1,12}|[0-9]{1,12})([eE][-+]?[0-9]{1,3})?$")
GENERIC_INT = (-1_000_000, 1_000_000)


@lru_cache(maxsize=1)
def known() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((Path(__file__).with_name("params.yaml")).read_text())
    return spec


def parse_value(text: str) -> bool | int | float | str:
    """A --set value: integer, finite number, true/false, or a short word (no paths)."""
    t = text.strip()
    if t in ("true", "false"):
        return t == "true"
    if INT.match(t):
        return int(t)
    if FLOAT.match(t):
        v = float(t)
        if not math.isfinite(v):
            raise ValueError(f"{t} is not a finite number")
        return v
    if WORD.match(t):
        return t
    raise ValueError(f"{text!r} is not an integer, a number, true/false or a word of letters, digits and "
                     "'_.:,+-' (at most 64 characters; no '/', spaces or quotes)")


def parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """--set key=value pairs to a dict; every bad pair is reported (one line each)."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for p in pairs or []:
        if "=" not in p:
            problems.append(Problem("--set", p, "expected NAME=VALUE, for example --set lsrs=5"))
            continue
        k, v = p.split("=", 1)
        k = k.strip()
        if not KEY.match(k):
            problems.append(Problem("--set", p, f"{k!r} is not a parameter name (a lowercase letter, then "
                                    "lowercase letters, digits or '_'; for example --set lsrs=5)"))
            continue
        try:
            out[k] = parse_value(v)
        except ValueError as e:
            problems.append(Problem("--set", p, str(e)))
    if problems:
        raise LabError(problems)
    return out


def allowed(name: str, no_limits: bool = False) -> str:
    spec = known().get(name)
    if spec is None:
        lo, hi = GENERIC_INT
        return f"an integer in {lo}..{hi}, a finite number, true/false or a short word"
    if spec["type"] == "int":
        top = "" if no_limits else spec["max"]
        return f"an integer in {spec['min']}..{top} ({spec['what']})"
    if spec["type"] == "vendor":
        from testbed import vendors
        return f"one of {', '.join(vendors.names())} ({spec['what']})"
    return str(spec["type"])


def check(path: str, params: dict[str, Any], reads: set[str] | None, no_limits: bool = False) -> None:
    """Every parameter given must be one the lab reads, with an allowed value."""
    problems: list[Problem] = []
    for k, v in params.items():
        field = f"--set {k}"
        if not isinstance(k, str) or not KEY.match(k):
            problems.append(Problem(path, "--set", f"{k!r} is not a parameter name"))
            continue
        if reads is not None and k not in reads:
            takes = ", ".join(sorted(reads)) or "no parameters"
            problems.append(Problem(path, field, f"this lab reads no parameter '{k}' (it takes: {takes})"))
            continue
        spec = known().get(k)
        ok = True
        if spec is None:
            if isinstance(v, bool) or v is None:
                pass
            elif isinstance(v, int):
                ok = GENERIC_INT[0] <= v <= GENERIC_INT[1]
            elif isinstance(v, float):
                ok = math.isfinite(v) and GENERIC_INT[0] <= v <= GENERIC_INT[1]
            elif isinstance(v, str):
                ok = bool(WORD.match(v))
            else:
                ok = False
        elif spec["type"] == "int":
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= spec["min"] and \
                (no_limits or v <= spec["max"])
        elif spec["type"] == "vendor":
            from testbed import vendors
            ok = isinstance(v, str) and v in vendors.names()
        if not ok:
            extra = "; --no-limits lifts the upper bound" if spec and spec.get("max") and isinstance(v, int) \
                and not isinstance(v, bool) and v > spec["max"] else ""
            problems.append(Problem(path, field, f"got {v!r}; allowed: {allowed(k, no_limits)}{extra}"))
    if problems:
        raise LabError(problems)
