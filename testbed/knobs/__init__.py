"""Behaviour knobs, each declared once: testbed/knobs/<knob>.yaml gives its type and allowed
values, its meaning, every vendor's default with the source of that default, and (when the
matrix varies it) its axis. Everything else is derived from these files:

- the vendor personality (testbed.vendors.Personality: one field per knob, in `seq` order)
  and each vendor's values (a vendor table only names the vendor and its base:);
- the validators: the vendor-table schema (testbed/vendors/schema.py) and the lab files'
  `behaviour:` knobs (testbed.vendors.check_knob) check a value with the same pydantic type
  and quote the same `allowed` text in their one-line errors;
- the ground truth's `nodes.<n>.behaviour` record (testbed.vendors.knob_names);
- the knob table of testbed/vendors/README.md (`python -m testbed.knobs --write`; a test
  checks it is up to date);
- the matrix axes (testbed.experiments.matrix: GRID, BEHAVIOUR_AXES, the cell's knobs).

A bad declaration is one line naming the file, the line, the field and the fix.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from testbed.strict import Bool as _Bool, Float as _Float, Int as _Int

HERE = Path(__file__).resolve().parent
README = HERE.parent / "vendors" / "README.md"
BEGIN = "<!-- knob table: generated from testbed/knobs/*.yaml by `python -m testbed.knobs --write`; do not edit -->"
END = "<!-- end of the generated knob table -->"
STATIC = HERE / "static.py"       # the static types mypy reads (`python -m testbed.knobs --write`; a test checks it)
SECTIONS = ("initial_ttl", "mpls", "icmp", "behaviour")   # where a vendor table writes a knob
TYPES = ("bool", "int", "choice", "limit", "bool-or-null")
NOT_SET = object()        # a knob without `default:` must be given for every vendor (its table or its base)

LIMIT_RANGES = {"rate": "a number > 0 (messages per second)", "burst": "a number >= 1 (tokens)",
                "per": "router or interface (one bucket for the router, or one per interface)"}


class Limit(BaseModel):
    """A token bucket: `rate` messages per second, `burst` tokens, per router or interface."""
    model_config = ConfigDict(extra="forbid")
    rate: _Int | _Float = Field(gt=0)
    burst: _Int | _Float | None = Field(None, ge=1)
    per: Literal["router", "interface"] = "router"


# ---------------------------------------------------------------- the declaration file's schema
class _Decl(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _VendorDefault(_Decl):
    value: Any = None
    source: str | None = Field(None, max_length=1000)


class _Axis(_Decl):
    values: list[Any] = Field(min_length=2)
    after: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")


class _Signature(_Decl):
    """A row of `testbed signatures` (testbed/tools/signatures.py KNOB_ROWS) showing the knob."""
    setting: str = Field(max_length=200)
    lab: str
    vendor: str | None = None
    set: dict = {}
    routers: list[str] | None = None        # the routers the knobs are set on (default: the MPLS domains')
    method: str | None = None
    target: str | None = None
    source: str | None = None


class _KnobFile(_Decl):
    seq: _Int = Field(ge=1, le=10_000)
    section: Literal[SECTIONS]
    type: Literal[TYPES]
    values: list[Any] | None = None
    range: tuple[_Int, _Int] | None = None
    unit: str | None = Field(None, max_length=100)   # what a value counts, quoted by the errors
    meaning: str = Field(min_length=1, max_length=1000)
    default: Any = NOT_SET
    axis: _Axis | None = None
    vendors: dict[str, _VendorDefault] = {}
    signatures: list[_Signature] = []


@dataclass(frozen=True)
class Knob:
    name: str
    seq: int
    section: str              # the vendor table's section it is written under
    type: str
    values: tuple | None      # choice
    range: tuple | None       # int: (lo, hi)
    unit: str | None          # what a value counts (the errors quote it after the allowed values)
    meaning: str
    default: Any              # NOT_SET: required (every vendor table or its base gives it)
    vendors: dict             # vendor -> its default (as written: a limit is a mapping)
    sources: dict             # vendor -> where its default comes from
    axis: dict | None         # {"values": [...], "after": grid axis}
    signatures: tuple         # rows for `testbed signatures`
    path: str

    @property
    def key(self) -> str:
        """The field's name in its vendor-table section (initial_ttl: time_exceeded, ...)."""
        return self.name[4:] if self.section == "initial_ttl" else self.name

    @property
    def required(self) -> bool:
        return self.default is NOT_SET

    @property
    def annotation(self):
        """The pydantic type of a value (strict: true is not 1, 1.5 is not 1)."""
        if self.type == "bool":
            return _Bool
        if self.type == "bool-or-null":
            return _Bool | None
        if self.type == "int":
            return Annotated[_Int, Field(ge=self.range[0], le=self.range[1])]
        if self.type == "choice":
            return Literal[tuple(self.values)]
        return Limit | None

    @property
    def allowed(self) -> str:
        """What a value may be, as the one-line errors quote it."""
        return f"{self._allowed} ({self.unit})" if self.unit else self._allowed

    @property
    def _allowed(self) -> str:
        if self.type == "bool":
            return "true or false"
        if self.type == "bool-or-null":
            return "true, false or null"
        if self.type == "int":
            return f"an integer in {self.range[0]}..{self.range[1]}"
        if self.type == "choice":
            vals = [str(v) for v in self.values]
            return " or ".join(vals) if len(vals) == 2 else f"one of {', '.join(vals)}"
        return "{rate: per second, burst: tokens, per: router|interface} or null"

    def convert(self, value):
        """A checked value as the Personality holds it (a limit: (rate, burst, per) or None)."""
        if self.type != "limit" or value is None:
            return value
        if isinstance(value, Limit):
            value = value.model_dump()
        return (float(value["rate"]), float(value.get("burst") or value["rate"]), value.get("per") or "router")

    def check(self, value):
        """The value converted, or ValueError with the fix (the `allowed` text)."""
        try:
            v = _adapter(self).validate_python(value)
        except ValidationError as e:
            err = e.errors()[0]
            sub = next((x for x in reversed(err["loc"]) if x in LIMIT_RANGES), None)
            if self.type == "limit" and sub and isinstance(value, dict):
                raise ValueError(f"{sub}: got {err.get('input')!r}; allowed: {LIMIT_RANGES[sub]}") from None
            raise ValueError(f"got {value!r}; allowed: {self.allowed}") from None
        return self.convert(v)


_ADAPTERS: dict = {}


def _adapter(k: Knob):
    """The pydantic validator of a knob's values (one per knob)."""
    a = _ADAPTERS.get((k.name, k.path))
    if a is None:
        from pydantic import TypeAdapter
        a = _ADAPTERS[(k.name, k.path)] = TypeAdapter(k.annotation)
    return a


def _problem(path, field: str, message: str, line=None):
    from testbed.errors import LabError, Problem
    return LabError([Problem(str(path), field, message, line)])


def _read(path: Path) -> Knob:
    from testbed.yamlpos import YamlProblem, load_with_lines
    try:
        data, lines = load_with_lines(path.read_text())
    except YamlProblem as e:
        raise _problem(path, e.field, str(e), e.line) from None
    if not isinstance(data, dict):
        raise _problem(path, "", "a knob declaration is a YAML mapping (seq, section, type, meaning, default, "
                       "vendors; see testbed/vendors/README.md, 'Adding a knob')", 1)
    try:
        spec = _KnobFile.model_validate(data)
    except ValidationError as e:
        from testbed.errors import LabError
        from testbed.yamlpos import problems_of
        raise LabError(problems_of(str(path), e, lines)) from None
    name = path.stem
    if spec.type == "choice" and not spec.values:
        raise _problem(path, "values", "a choice knob lists its values: values: [a, b]", lines.get(("type",)))
    if spec.type == "int" and (spec.range is None or spec.range[0] > spec.range[1]):
        raise _problem(path, "range", "an int knob gives its range: range: [lowest, highest]", lines.get(("type",)))
    k = Knob(name=name, seq=spec.seq, section=spec.section, type=spec.type,
             values=tuple(spec.values) if spec.values else None, range=tuple(spec.range) if spec.range else None,
             unit=spec.unit,
             meaning=" ".join(spec.meaning.split()), default=spec.default,
             vendors={v: d.value for v, d in spec.vendors.items()},
             sources={v: " ".join(d.source.split()) for v, d in spec.vendors.items() if d.source},
             axis=spec.axis.model_dump() if spec.axis else None,
             signatures=tuple(s.model_dump() for s in spec.signatures), path=str(path))
    tables = sorted(p.stem for p in (HERE.parent / "vendors").glob("*.yaml"))
    for v in k.vendors:
        if v not in tables:          # a knob's vendor defaults are those of the built-in tables
            raise _problem(path, f"vendors.{v}", f"no built-in vendor table '{v}'; known: {', '.join(tables)}",
                           lines.get(("vendors", v)))
    checks = ([("default",)] if not k.required else []) + [("vendors", v, "value") for v in k.vendors]
    for loc in checks:
        value = k.default if loc == ("default",) else k.vendors[loc[1]]
        try:
            _adapter(k).validate_python(value)
        except ValidationError:
            raise _problem(path, ".".join(loc), f"got {value!r}; allowed: {k.allowed}",
                           lines.get(loc) or lines.get(loc[:-1])) from None
    if k.axis:
        for i, v in enumerate(k.axis["values"][1:], 1):
            try:
                _adapter(k).validate_python(v)
            except ValidationError:
                raise _problem(path, f"axis.values[{i}]", f"got {v!r}; allowed: {k.allowed} (the first value is "
                               "the cell as the vendor has it: vendor, or the value that sets nothing)",
                               lines.get(("axis", "values"))) from None
    return k


@lru_cache(maxsize=1)
def _all() -> tuple:
    out = tuple(sorted((_read(p) for p in sorted(HERE.glob("*.yaml"))), key=lambda k: (k.seq, k.name)))
    seen: dict = {}
    for k in out:
        if k.seq in seen:
            line = next((i for i, ln in enumerate(Path(k.path).read_text().splitlines(), 1) if ln.startswith("seq:")),
                        None)
            raise _problem(k.path, "seq", f"{k.seq} is the seq of {seen[k.seq]} too; give this knob the next free "
                           f"number ({max(x.seq for x in out) + 1})", line)
        seen[k.seq] = k.name
    return out


def all_knobs() -> tuple:
    """Every declared knob, in `seq` order (the Personality's and the truth record's order)."""
    return _all()


@lru_cache(maxsize=1)
def by_name() -> dict:
    return {k.name: k for k in _all()}


def names() -> list[str]:
    return [k.name for k in _all()]


def default_for(knob: Knob, chain: list[str]):
    """The knob's default for a built-in vendor whose base chain is `chain` (the vendor first):
    the first vendor of the chain the declaration names, else the knob's own default."""
    for v in chain:
        if v in knob.vendors:
            return knob.vendors[v]
    return knob.default


# ---------------------------------------------------------------- `testbed signatures`
def signature_rows() -> list[tuple]:
    """The declared `signatures:` rows, as testbed/tools/signatures.py KNOB_ROWS takes them:
    (setting, lab, vendor, knobs, routers or None, method, target[, source])."""
    out = []
    for k in _all():
        for i, row in enumerate(k.signatures):
            unknown = [n for n in row["set"] if n not in by_name()]
            if unknown:
                raise _problem(k.path, f"signatures[{i}].set",
                               f"'{unknown[0]}' is no knob; known: {', '.join(names())}")
            values = {n: by_name()[n].check(v) for n, v in row["set"].items()}
            out.append((row["setting"], row["lab"], row["vendor"], values,
                        tuple(row["routers"]) if row["routers"] is not None else None,
                        row["method"], row["target"],
                        *([row["source"]] if row["source"] else [])))
    return out


# ---------------------------------------------------------------- the matrix
def axes() -> dict:
    """{knob: axis values} of the knobs the matrix varies (first value: as the vendor has it)."""
    return {k.name: list(k.axis["values"]) for k in _all() if k.axis}


def splice_axes(grid: dict) -> dict:
    """`grid` with every knob axis inserted after the axis its declaration names (`after:`,
    which may be another knob's axis); an unknown `after` is the end of the grid."""
    pending = {k.name: k.axis for k in _all() if k.axis}
    out: dict = {}

    def put(key, vals):
        out[key] = vals
        for name in [n for n, a in pending.items() if a["after"] == key]:
            put(name, list(pending.pop(name)["values"]))
    for key, vals in grid.items():
        put(key, vals)
    for name, a in list(pending.items()):
        if name in pending:
            put(name, list(pending.pop(name)["values"]))
    return out


# ---------------------------------------------------------------- the docs table
def _md(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{a}: {_md(b)}" for a, b in v.items()) + "}"
    return str(v)


def markdown() -> str:
    """The README's knob table: one row per knob (where a vendor table writes it, values,
    defaults per vendor, meaning)."""
    out = ["| knob | written under | values | default | per vendor (others: as their base:) | meaning |",
           "|---|---|---|---|---|---|"]
    for k in _all():
        values = {"bool": "bool", "bool-or-null": "bool or null", "limit": "`{rate, burst, per}` or null",
                  "int": f"{k.range[0]}..{k.range[1]}" if k.range else "",
                  "choice": ", ".join(f"`{v}`" for v in (k.values or ()))}[k.type]
        default = "(each vendor)" if k.required else f"`{_md(k.default)}`"
        per = "; ".join(f"{v} `{_md(x)}`" for v, x in sorted(k.vendors.items()) if k.required or x != k.default)
        where = k.section if k.section != "initial_ttl" else f"initial_ttl.{k.key}"
        out.append(f"| `{k.name}` | {where} | {values} | {default} | {per or '-'} | "
                   f"{k.meaning.replace('|', '&#124;')} |")
    return "\n".join(out)


def readme_with_table(text: str) -> str:
    """The README text with its generated section replaced by the current table."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{README}: the markers of the generated knob table are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"


# ---------------------------------------------------------------- the static types (for mypy)
def _camel(name: str) -> str:
    return "".join(w.capitalize() for w in name.split("_"))


def _lit(v: object) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def static_module() -> str:
    """testbed/knobs/static.py: what the runtime builds from the declarations, written out for mypy, which
    cannot see a class made by make_dataclass or a Literal made from a list: one Literal alias per choice
    knob and the Personality record (testbed.vendors: one field per knob, in `seq` order)."""
    py = {"bool": "bool", "int": "int", "limit": "tuple[float, float, str] | None", "bool-or-null": "bool | None"}
    out = ['"""The knobs\' static types, generated from testbed/knobs/*.yaml by `python -m testbed.knobs --write`;',
           "do not edit (a test checks it is up to date). mypy reads these where the runtime builds the same",
           "types from the declarations: testbed.vendors.Personality (make_dataclass) and the choice knobs'",
           'Literal types (testbed.lab.schema)."""',
           "from __future__ import annotations", "", "from dataclasses import dataclass",
           "from typing import Literal", ""]
    for k in _all():
        if k.type == "choice":
            out.append(f"{_camel(k.name)} = Literal[{', '.join(_lit(v) for v in k.values or ())}]")
    out += ["", "", "@dataclass(frozen=True)", "class Personality:",
            '    """A vendor\'s behaviour: one field per knob of testbed/knobs (see testbed.knobs)."""',
            "    name: str", "    description: str"]
    for k in _all():
        out.append(f"    {k.name}: {_camel(k.name) if k.type == 'choice' else py[k.type]}")
    out.append("    is_host: bool = False")
    return "\n".join(out) + "\n"


def to_json() -> list[dict]:
    """Every declaration as data (`python -m testbed.knobs --json`)."""
    out = []
    for k in _all():
        d = {"name": k.name, "seq": k.seq, "section": k.section, "key": k.key, "type": k.type, "allowed": k.allowed,
             "meaning": k.meaning, "required": k.required, "default": None if k.required else k.default,
             "vendors": {v: {"value": x, **({"source": k.sources[v]} if v in k.sources else {})}
                         for v, x in sorted(k.vendors.items())},
             "axis": k.axis, "signatures": list(k.signatures)}
        if k.values:
            d["values"] = list(k.values)
        if k.range:
            d["range"] = list(k.range)
        out.append(d)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--json"]:
        import json
        print(json.dumps({"knobs": to_json()}, indent=1))
        return 0
    if argv == ["--write"]:
        README.write_text(readme_with_table(README.read_text()))
        STATIC.write_text(static_module())
        return 0
    if argv == ["--check"]:
        stale = [f"{README}: the knob table" for _ in [0] if README.read_text() != readme_with_table(README.read_text())]
        stale += [f"{STATIC}: the static types" for _ in [0] if STATIC.read_text() != static_module()]
        print(f"{' and '.join(stale)} stale; run python -m testbed.knobs --write" if stale else "up to date")
        return 1 if stale else 0
    if argv in ([], ["--markdown"]):
        print(markdown())
        return 0
    print("usage: python -m testbed.knobs [--markdown | --json | --write | --check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
