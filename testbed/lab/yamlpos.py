"""YAML loading that remembers the line of every value and refuses duplicate keys."""
from __future__ import annotations

import yaml

Path_ = tuple


class YamlProblem(Exception):
    def __init__(self, message: str, line: int | None, field: str = ""):
        super().__init__(message)
        self.line = line
        self.field = field


def load_with_lines(text: str) -> tuple[object, dict[tuple, int]]:
    """Parse YAML; return (data, {path: line}) where path is a tuple of keys/indices."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(e, "problem", None) or str(e)
        raise YamlProblem(f"not valid YAML: {msg}", line) from None
    lines: dict[tuple, int] = {}
    if root is None:
        return None, lines
    constructor = yaml.SafeLoader("")

    def walk(node, path):
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for k, v in node.value:
                key = constructor.construct_object(k, deep=True)
                if not isinstance(key, (str, int, float, bool)) or isinstance(key, bool) and False:
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
        return constructor.construct_object(node, deep=True)

    return walk(root, ()), lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """Line of the deepest known prefix of path."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())
