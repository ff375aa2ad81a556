"""Vendor personalities: data tables (one YAML file per vendor) read by one engine.

Nothing here branches on a vendor's name; every behaviour is a knob (testbed/knobs/<knob>.yaml,
declared once: type, allowed values, meaning, each vendor's default and its source). A vendor
table names the vendor and its base: table and may set knobs that differ (a table of one's
own, UTNT_LAB_VENDORS); a vendor's value of a knob is, in order: what its table writes, the
knob's default for that vendor (built-in tables), the same for its base: tables, the knob's
default.
"""
from __future__ import annotations

import os
from dataclasses import make_dataclass
from functools import lru_cache
from pathlib import Path

from testbed import knobs as _knobs

HERE = Path(__file__).resolve().parent
ENV = "UTNT_LAB_VENDORS"
SOURCE_MODES = ("outgoing", "probed", "incoming")
SOURCE_KINDS = ("time_exceeded", "unreachable", "echo_reply")
_PY = {"bool": bool, "int": int, "choice": str, "limit": "tuple | None", "bool-or-null": "bool | None"}

# The personality of a vendor (one frozen record per vendor, the same after a lab's domain and
# router knobs are applied with dataclasses.replace): its name and description, one field per
# knob in the knobs' `seq` order, and is_host (a plain Linux host: never forwards).
Personality = make_dataclass(
    "Personality",
    [("name", str), ("description", str), *[(k.name, _PY[k.type]) for k in _knobs.all_knobs()],
     ("is_host", bool, False)],
    frozen=True)
Personality.__module__ = __name__          # pickled by name (matrix workers, Dask)
Personality.__doc__ = "A vendor's behaviour: one field per knob of testbed/knobs (see testbed.knobs)."
NOT_KNOBS = ("name", "description", "is_host")


def knob_names() -> list[str]:
    return _knobs.names()


def check_knob(name: str, value):
    """The value a behaviour knob takes (a limit as (rate, burst, per) or None), or ValueError
    with a message naming the fix: the knob's declared type and allowed values, the same check
    as a vendor table's (testbed/vendors/schema.py)."""
    knob = _knobs.by_name().get(name)
    if knob is None:
        raise ValueError(f"unknown behaviour '{name}'; known: {', '.join(knob_names())}")
    return knob.check(value)


def search_path() -> list[Path]:
    """Where vendor tables are looked up: the folders in UTNT_LAB_VENDORS (separated by ':'),
    whose tables add vendors or replace built-in ones of the same name, then this folder."""
    extra = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return extra + [HERE]


def table_path(name: str, dirs=None) -> Path | None:
    for d in dirs or search_path():
        p = d / f"{name}.yaml"
        if p.is_file():
            return p
    return None


def _bad(path, field: str, message: str, line: int | None = None):
    from testbed.errors import LabError, Problem
    return LabError([Problem(str(path), field, message, line)])


def _read(name: str, dirs: tuple, seen: tuple = ()) -> list:
    """The table's chain [(vendor, path, sections as written)], the table first, then its
    `base:` tables, each file checked against the schema (vendors/schema.py) with its lines:
    a bad table is a LabError naming file, line, field and fix."""
    from pydantic import ValidationError

    from testbed.yamlpos import YamlProblem, load_with_lines, problems_of

    from .schema import RANGES, VendorFile
    path = table_path(name, dirs)
    if path is None:
        raise KeyError(name)
    try:
        from testbed.inputs import LIMITS, read_text
        text = read_text(path, LIMITS["lab"], "vendor table")
        data, lines = load_with_lines(text)
    except YamlProblem as e:
        raise _bad(path, e.field, str(e), e.line) from None
    except (OSError, UnicodeDecodeError) as e:
        raise _bad(path, "", f"cannot read the vendor table: {e}") from None
    if not isinstance(data, dict):
        raise _bad(path, "", "a vendor table is a YAML mapping (name, description, base, host and the knobs it "
                   "sets under initial_ttl, mpls, icmp, behaviour; see testbed/vendors/README.md)", 1)
    try:
        spec = VendorFile.model_validate(data)
    except ValidationError as e:
        from testbed.errors import LabError
        raise LabError(problems_of(str(path), e, lines, RANGES)) from None
    if spec.name != name:
        raise _bad(path, "name", f"'{spec.name}' is not the file's name; a vendor table's name is its file name "
                   f"(write name: {name})", lines.get(("name",)))
    raw = spec.model_dump(exclude_unset=True, exclude={"base"})
    here = [(name, path, raw)]
    if spec.base is None:
        return here
    if spec.base in seen + (name,):
        raise _bad(path, "base", f"'{spec.base}' leads back to this table ({' -> '.join(seen + (name, spec.base))}); "
                   "a table's base chain must end in a table without base:", lines.get(("base",)))
    try:
        return here + _read(spec.base, dirs, seen + (name,))
    except KeyError:
        raise _bad(path, "base", f"no vendor table '{spec.base}'; known: {', '.join(_stems(dirs))}",
                   lines.get(("base",))) from None


def _stems(dirs) -> list[str]:
    return sorted({p.stem for d in dirs for p in Path(d).glob("*.yaml")})


def load(name: str) -> Personality:
    """The personality of vendor `name` (a table on search_path()); KeyError if there is
    none; a LabError (file, line, field, fix) if its table is bad."""
    return _load(name, tuple(search_path()))


@lru_cache(maxsize=None)
def _load(name: str, dirs: tuple) -> Personality:
    chain = _read(name, dirs)
    first = lambda key, default: next((raw[key] for _, _, raw in chain if key in raw), default)  # noqa: E731
    flat = {"name": first("name", name), "description": first("description", ""), "is_host": first("host", False)}
    for k in _knobs.all_knobs():
        for vendor, path, raw in chain:
            sec = raw.get(k.section, {})
            if k.key in sec:
                flat[k.name] = k.convert(sec[k.key])
                break
            if path.parent == HERE and vendor in k.vendors:      # a built-in table: the knob's own default
                flat[k.name] = k.convert(k.vendors[vendor])
                break
        else:
            if k.required:
                raise _bad(chain[0][1], f"{k.section}.{k.key}", "required field is missing (in this table and its "
                           f"base: tables, if any); add it under {k.section}:")
            flat[k.name] = k.convert(k.default)
    return Personality(**flat)


def names(routers_only: bool = True) -> list[str]:
    out = []
    for stem in _stems(search_path()):
        if routers_only and load(stem).is_host:
            continue
        out.append(stem)
    return out
