"""YAML loading that remembers the line of every value and refuses duplicate keys.

Lab files are untrusted: only YAML's plain types are constructed (no tags beyond str, int,
float, bool, null, seq and map: `!!python/name:...` is refused before anything is built),
nesting is at most MAX_DEPTH deep (no RecursionError), and aliases may not blow the
document up (an alias bomb stops after a bounded number of values, in milliseconds).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import yaml

Path_ = tuple
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)      # libyaml's parser when there is one
MAX_DEPTH = 32
ALLOWED_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}


class YamlProblem(Exception):
    def __init__(self, message: str, line: int | None, field: str = ""):
        super().__init__(message)
        self.line = line
        self.field = field


def _precheck(text: str) -> int:
    """One pass over the parser's events (the parser keeps a stack, it does not recurse):
    depth, tags; returns the number of events."""
    depth = 0
    count = 0
    for ev in yaml.parse(text, Loader=_Loader):
        count += 1
        if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep; the file should be a few levels of "
                                  "mappings and lists", ev.start_mark.line + 1)
        elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
        tag = getattr(ev, "tag", None)
        if tag is not None and tag not in ("!", "?") and tag not in ALLOWED_TAGS:
            raise YamlProblem(f"the YAML tag {tag!r} is not allowed; only plain values are read (remove the "
                              "tag)", ev.start_mark.line + 1)
    return count


class _Slow(Exception):
    """The quick construction met something only the full walk words well (a duplicate key, a
    key that is not a plain name, too many values): that walk runs and says it."""


class LazyLines(Mapping[tuple[str | int, ...], int]):
    """{path: line} of a document, worked out on first use: a lab file's lines are read only
    to place a problem, and walking them for a 100,000-router lab (a million paths) cost more
    than building its values. Answers as the dict load_with_lines returns does."""

    def __init__(self, text: str):
        self._text: str | None = text
        self._lines: dict[tuple[str | int, ...], int] | None = None

    def _get(self) -> dict[tuple[str | int, ...], int]:
        if self._lines is None:
            self._lines = load_with_lines(self._text or "")[1]
            self._text = None
        return self._lines

    def __contains__(self, path: object) -> bool:
        return path in self._get()

    def __getitem__(self, path: tuple[str | int, ...]) -> int:
        return self._get()[path]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[tuple[str | int, ...]]:
        return iter(self._get())


def load_lazy(text: str) -> tuple[object, Mapping[tuple[str | int, ...], int]]:
    """load_with_lines' values, the same checks and errors, with the lines (LazyLines) worked out
    only when asked: plain strings are taken as parsed, not through the constructor, and no
    path is recorded. Anything the quick walk does not handle goes to load_with_lines."""
    try:
        events = _precheck(text)
        root = yaml.compose(text, Loader=_Loader)
    except (YamlProblem, yaml.YAMLError, RecursionError):
        return load_with_lines(text)
    if root is None:
        return None, LazyLines(text)
    constructor = yaml.SafeLoader("")
    budget = [2 * events + 10_000]
    STR, MAP, SEQ, SCALAR = _STR, yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode

    def construct(node):
        try:
            v = constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise _Slow from None
        if isinstance(v, float) and not math.isfinite(v):
            raise _Slow
        return v

    def walk(node, depth):
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise _Slow
        cls = node.__class__
        if cls is SCALAR:
            return node.value if node.tag == STR else construct(node)
        if cls is MAP:
            out = {}
            for k, v in node.value:
                if k.__class__ is not SCALAR:
                    raise _Slow
                key = k.value if k.tag == STR else construct(k)
                if not isinstance(key, str):
                    if not isinstance(key, (int, float, bool)):
                        raise _Slow
                    key = str(key)
                if key in out:
                    raise _Slow
                out[key] = walk(v, depth + 1)
            return out
        if cls is SEQ:
            return [walk(v, depth + 1) for v in node.value]
        raise _Slow

    try:
        return walk(root, 0), LazyLines(text)
    except (_Slow, RecursionError):
        return load_with_lines(text)
    finally:
        _let_go(constructor)


def _let_go(constructor):
    """The constructor keeps every node it built a value from, and it is itself in a reference
    cycle: without this, a big lab file's nodes and marks lived until a full collection."""
    constructor.constructed_objects.clear()
    constructor.recursive_objects.clear()


_STR = "tag:yaml.org,2002:str"


def load_with_lines(text: str) -> tuple[object, dict[tuple, int]]:
    """Parse YAML; return (data, {path: line}) where path is a tuple of keys/indices."""
    try:
        events = _precheck(text)
        root = yaml.compose(text, Loader=_Loader)
    except YamlProblem:
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(e, "problem", None) or str(e)
        raise YamlProblem(f"not valid YAML: {msg}", line) from None
    except RecursionError:
        raise YamlProblem(f"nested too deeply (at most {MAX_DEPTH} levels)", None) from None
    lines: dict[tuple, int] = {}
    if root is None:
        return None, lines
    constructor = yaml.SafeLoader("")
    budget = [2 * events + 10_000]     # values visited, aliases expanded included

    def construct(node):
        try:
            v = constructor.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            raise YamlProblem(f"not a plain value: {getattr(e, 'problem', None) or e}",
                              node.start_mark.line + 1) from None
        except (ValueError, OverflowError) as e:
            raise YamlProblem(f"not a valid value: {e}", node.start_mark.line + 1) from None
        if isinstance(v, float) and not math.isfinite(v):
            raise YamlProblem(f"{node.value} is not a finite number", node.start_mark.line + 1)
        return v

    def walk(node, path):
        budget[0] -= 1
        if budget[0] < 0:
            raise YamlProblem("the document expands to too many values (aliases referring to aliases?); "
                              "write the values out", node.start_mark.line + 1)
        if len(path) > MAX_DEPTH:
            raise YamlProblem(f"nested more than {MAX_DEPTH} levels deep (an alias inside itself?)",
                              node.start_mark.line + 1)
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise YamlProblem("mapping keys must be plain names", k.start_mark.line + 1,
                                      ".".join(map(str, path)))
                key = construct(k)
                if not isinstance(key, (str, int, float, bool)):
                    raise YamlProblem("mapping keys must be plain names", k.start_mark.line + 1,
                                      ".".join(map(str, path)))
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    raise YamlProblem(f"duplicate key '{key}' (first at line {lines[path + (key,)]}); "
                                      "names must be unique", k.start_mark.line + 1,
                                      ".".join(map(str, path + (key,))))
                lines[path + (key,)] = k.start_mark.line + 1
                out[key] = walk(v, path + (key,))
                lines[path + (key,)] = k.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(v, path + (i,)) for i, v in enumerate(node.value)]
        return construct(node)

    try:
        return walk(root, ()), lines
    finally:
        _let_go(constructor)


def line_of(lines: Mapping[tuple, int], path: tuple) -> int | None:
    """Line of the deepest known prefix of path."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def problems_of(path: str, err, lines: dict | None = None, ranges: dict | None = None) -> list:
    """A pydantic ValidationError of any document checked with these models (a lab file's
    parts, a vendor table, a run-state record) as Problems: one per field, with the line the
    field is on when the document's lines are known (yamlpos.load_with_lines) and the fix
    (`ranges`: field name -> what is allowed)."""
    from testbed.errors import Problem
    out, seen = [], set()
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if isinstance(x, int) or not _union_tag(x))
        if (loc, e["msg"]) in seen:
            continue
        seen.add((loc, e["msg"]))
        last = next((x for x in reversed(loc) if isinstance(x, str)), None)
        msg = e["msg"].replace("Value error, ", "")
        if e["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling or remove it"
        elif e["type"] == "missing":
            msg = "required field is missing; add it"
        elif ranges and last in ranges and not isinstance(loc[-1], int):
            msg = f"got {e.get('input')!r}; allowed: {ranges[last]}"
        elif e["type"] == "literal_error":
            msg = f"{msg}, got {e.get('input')!r}"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            msg = f"{msg}, got {e['input']!r}"
        field = ".".join(str(x) if not isinstance(x, int) else f"[{x}]" for x in loc).replace(".[", "[")
        out.append(Problem(path, field, msg, line_of(lines, loc) if lines else None))
    return out


def _union_tag(x: str) -> bool:
    """pydantic names union members and constrained types in error locations
    (`int`, `list[str]`, `function-after[...]`); they are not fields."""
    return x[:1].isupper() or x in ("int", "str", "float", "bool", "dict", "list", "none") or "[" in x
