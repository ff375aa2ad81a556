"""Detector outputs read into the traces the scorer reads (docs/result-format.md).

    from testbed.detectors import read_results
    traces = read_results(["run.warts.txt", "scamper.json"], fmt=None)   # formats detected

One module per format: utnt_json (uTNT's JSON and the documented result format),
tnt_text (sc_tnt -d 1 dump), scamper_json (scamper -O json, sc_warts2json), traceroute_text
(traceroute -e). Unreadable input raises ResultError: one line naming the file, the line,
the field and the fix.
"""
from __future__ import annotations

from utnt.output import JSON_FORMAT

from testbed.inputs import LIMITS, InputProblem, loads_json, read_stdin, read_text, safe_path_text

from . import scamper_json, tnt_text, traceroute_text, utnt_json
from .base import ResultError, tunnels_from_labels, tunnels_from_tags

PARSERS = {"utnt-json": utnt_json.parse, "tnt-text": tnt_text.parse, "scamper-json": scamper_json.parse,
           "traceroute": traceroute_text.parse}
ALIASES = {"utnt": "utnt-json", "json": "utnt-json", "tnt": "tnt-text", "sc_tnt": "tnt-text",
           "scamper": "scamper-json", "warts2json": "scamper-json", "sc_warts2json": "scamper-json",
           "traceroute-e": "traceroute"}
FORMATS = tuple(PARSERS)

# what each detector can see, for the report (a labels-only baseline is not a miss of TNT's)
BASELINES = {"scamper-json": "scamper", "traceroute": "traceroute"}

__all__ = ["FORMATS", "PARSERS", "ResultError", "detect_format", "parse_text", "read_result", "read_results",
           "traces_in", "tunnels_from_labels", "tunnels_from_tags"]


def format_name(fmt: str) -> str:
    f = ALIASES.get(fmt, fmt)
    if f not in PARSERS:
        raise ResultError("--format", None, "format", f"unknown format '{fmt}'; choose one of "
                          f"{', '.join(FORMATS)} (or leave it out to detect it)")
    return f


def detect_format(text: str, path: str = "<input>") -> str:
    s = text.lstrip()
    if not s:
        raise ResultError(path, None, "content", "empty file; nothing to score")
    first = s.splitlines()[0].strip()
    if s[0] in "{[":
        try:
            doc = loads_json(s, path, "result file")
        except InputProblem:
            doc = None
            try:
                doc = loads_json(first, path, "result file")   # JSON lines: scamper writes one object per line
            except InputProblem as e:
                raise ResultError(path, 1, "json", f"{e.problems[0].message}; give --format if this is another "
                                  "format") from None
            if isinstance(doc, dict) and ("type" in doc or "addr" in str(doc)):
                return "scamper-json"
            raise ResultError(path, 2, "json", "several JSON values but not scamper's one-object-per-line output; "
                              "give --format") from None
        items = doc if isinstance(doc, list) else [doc]
        for o in items:
            if not isinstance(o, dict):
                continue
            if o.get("format") == JSON_FORMAT or "traces" in o:
                return "utnt-json"
            if o.get("type") in ("trace", "ping", "cycle-start", "cycle-stop", "list", "tracelb"):
                return "scamper-json"
            hops = o.get("hops") or []
            if isinstance(hops, list) and hops and isinstance(hops[0], dict):
                return "scamper-json" if "addr" in hops[0] else "utnt-json"
        return "utnt-json"
    if first.startswith("traceroute to "):
        return "traceroute"
    if first.startswith("trace [") and " from " in first:
        return "tnt-text"
    if first.startswith("traceroute from ") or first.startswith("traceroute ["):
        raise ResultError(path, 1, "format", "this looks like scamper's text output; run scamper with -O json "
                          "(or convert a warts file with sc_warts2json)")
    # the first line is not quoted: a file that is not a result file (/etc/shadow) is never echoed
    raise ResultError(path, 1, "format", "cannot tell the format from the first line; give --format "
                      f"({', '.join(FORMATS)}) or a detector's result file")


def parse_text(text: str, path: str = "<input>", fmt: str | None = None) -> list[dict]:
    try:
        f = format_name(fmt) if fmt else detect_format(text, path)
        return PARSERS[f](text, path)           # each parser checks its traces (base.checked)
    except InputProblem as e:
        if isinstance(e, ResultError):
            raise
        p = e.problems[0]
        raise ResultError(p.file, p.line, p.field, p.message) from None


def read_result(path) -> tuple[str, str]:
    """(text, name) of one result file ('-' reads stdin), through the input boundary."""
    try:
        if path == "-":
            return read_stdin(LIMITS["result"], "result file"), "<stdin>"
        return read_text(path, LIMITS["result"], "result file"), safe_path_text(path)
    except InputProblem as e:
        q = e.problems[0]
        raise ResultError(q.file, q.line, q.field, q.message) from None


def traces_in(text: str, name: str, fmt: str | None = None) -> list[dict]:
    """Every trace of a result file's text (read_result), each tagged with its file."""
    out = parse_text(text, name, fmt)
    for t in out:
        t.setdefault("file", name)
    return out


def read_results(paths, fmt: str | None = None) -> list[dict]:
    """Every trace of every file ('-' reads stdin), each tagged with its file."""
    return [t for p in paths for t in traces_in(*read_result(p), fmt)]
