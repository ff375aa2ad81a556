"""The input boundary: every file the testbed reads goes through here.

Lab files, importers' input files (GraphML, node-link JSON, containerlab YAML, SNDlib),
result files of every format, campaign files, a detector's output, state records of the
run folder, VM results. The rules are the same for all:

- a regular file only (a FIFO, a device, a directory is refused before it is read: opened
  non-blocking, checked with fstat), read with a limit (never more than `limit` + 1 bytes);
- UTF-8 text (or the encoding the caller names), no NUL;
- JSON: at most MAX_DEPTH levels (checked by a scan before the parser recurses), no NaN or
  Infinity, integers of at most MAX_DIGITS digits, finite floats, no lone surrogate;
- YAML: plain tags only, depth and alias-expansion limits (testbed.yamlpos);
- XML: no DOCTYPE (so no DTD, no entity) in any encoding, checked on the decoded text;
- every problem is one line naming the file, the line, the field and the fix (a LabError:
  exit status 2), and never quotes the content of a file that is not a lab file.

It imports only testbed.errors and testbed.yamlpos, so the lab loader and everything else
can use it.
"""
from __future__ import annotations

import math
import os
import re
import stat
import sys

from testbed.errors import LabError, Problem

KiB, MiB = 1 << 10, 1 << 20
# the limits of each kind of file, declared once
LIMITS = {
    "lab": 1 * MiB,             # a lab file or snippet (testbed/lab/limits.yaml may lower it)
    "import": 16 * MiB,         # an importer's input (GraphML, node-link JSON, containerlab, SNDlib)
    "result": 256 * MiB,        # a detector's result file or output (a campaign of thousands of traces)
    "campaign": 1 * MiB,        # a campaign file
    "state": 16 * MiB,          # a state record of the run folder (state.json, leases, children)
    "tables": 1024 * MiB,       # the run folder's control-plane tables and spec (a 400-router ISP's are big)
    "vm": 64 * MiB,             # a file a VM wrote into its share
}
MAX_DEPTH = 64                  # JSON nesting (a result is 5 levels deep)
MAX_DIGITS = 40                 # digits of a JSON number (an address fits in 10)
NAME = r"^[a-z][a-z0-9_-]{0,23}$"
NAME_RE = re.compile(NAME)
NAME_RULE = "1-24 characters, a lowercase letter then lowercase letters, digits, '-' or '_'"


class InputProblem(LabError):
    """A file that cannot be read as the kind it should be: one Problem."""

    def __init__(self, file, line: int | None, field: str, message: str):
        super().__init__([Problem(file=str(file), line=line, field=field, message=message)])


# ------------------------------------------------------------------------------ names
def check_name(name, where: str = "name", file: str = "<argument>", fix: str = "rename it") -> str:
    """The one rule for every name that reaches a path, a config, a command or a namespace
    (lab and instance names, node names, file stems used as names)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        shown = name if isinstance(name, str) else type(name).__name__
        raise InputProblem(file, None, where, f"{shown!r} is not a valid name ({NAME_RULE}); {fix}")
    return name


def safe_path_text(path) -> str:
    """A path as the user typed it, refused if it holds a control character (a newline in a
    file name would end up in configs, logs and shell-sourced files)."""
    s = os.fspath(path)
    if isinstance(s, bytes):
        s = os.fsdecode(s)
    if any(not c.isprintable() and c != " " for c in s) or "\ufffd" in s:
        raise InputProblem(repr(s)[1:-1], None, "path", "the file name holds a newline or another control "
                           "character; rename the file to plain letters, digits, '-', '_' and '.'")
    return s


# ------------------------------------------------------------------------------ bytes
def read_bytes(path, limit: int, what: str = "file", *, nofollow: bool = False) -> bytes:
    """At most `limit` bytes of a regular file, or an InputProblem."""
    shown = safe_path_text(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise InputProblem(shown, None, "file", f"cannot read the {what}: {e.strerror}; give an existing, "
                           "readable regular file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "a socket")
            raise InputProblem(shown, None, "file", f"is {kind}, not a regular file; give the {what} itself")
        if st.st_size > limit:
            raise InputProblem(shown, None, "file", f"{st.st_size} bytes: larger than the limit of {_size(limit)} "
                               f"for a {what}; is this the right file?")
        chunks, n = [], 0
        while n <= limit:
            try:
                b = os.read(fd, min(limit + 1 - n, 1 << 20))
            except BlockingIOError:
                continue
            except OSError as e:
                raise InputProblem(shown, None, "file", f"cannot read the {what}: {e.strerror}") from None
            if not b:
                break
            chunks.append(b)
            n += len(b)
        if n > limit:
            raise InputProblem(shown, None, "file", f"larger than the limit of {_size(limit)} for a {what}; "
                               "is this the right file?")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_stdin(limit: int, what: str = "input") -> str:
    data = sys.stdin.buffer.read(limit + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read(limit + 1).encode()
    if len(data) > limit:
        raise InputProblem("<stdin>", None, "input", f"larger than the limit of {_size(limit)} for a {what}")
    return decode(data, "<stdin>", what)


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= MiB else f"{n >> 10} KiB"


def decode(data: bytes, path, what: str = "file", encoding: str = "utf-8") -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputProblem(path, line, "encoding", f"not {encoding.upper()} text (byte {e.start}); is this a "
                           f"{what}? save it as {encoding.upper()}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputProblem(path, line, "content", f"holds a NUL character; a {what} is text")
    return text


def read_text(path, limit: int, what: str = "file", *, nofollow: bool = False) -> str:
    return decode(read_bytes(path, limit, what, nofollow=nofollow), safe_path_text(path), what)


# ------------------------------------------------------------------------------ JSON
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONG_DIGITS = re.compile(r"[0-9]{%d}" % (MAX_DIGITS + 1))
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def _too_deep(stripped: str) -> bool:
    """Whether JSON text with its strings removed nests deeper than MAX_DEPTH (C-speed passes:
    a result file of 80 MB is checked in about a second)."""
    from itertools import accumulate
    brackets = _NOT_BRACKET.sub("", stripped)
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0) > MAX_DEPTH


def json_depth_problem(text: str) -> int | None:
    """The line where JSON text nests deeper than MAX_DEPTH (None: it does not). One pass,
    strings skipped, no recursion."""
    depth, i, n = 0, 0, len(text)
    find = re.compile(r'[\[\]{}"]')
    while True:
        m = find.search(text, i)
        if m is None:
            return None
        c, i = m.group(), m.end()
        if c == '"':
            while True:
                j = text.find('"', i)
                if j < 0:
                    return None
                k = j - 1
                while k >= i and text[k] == "\\":
                    k -= 1
                i = j + 1
                if (j - 1 - k) % 2 == 0:
                    break
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, m.start()) + 1
        else:
            depth -= 1
        if i >= n:
            return None


def _reject_constant(s):
    raise ValueError(f"{s} is not a number JSON allows; write a finite number or null")


def _int(s: str):
    if len(s.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(s)} digits; numbers here have at most {MAX_DIGITS}")
    return int(s)


def _float(s: str):
    if len(s) > MAX_DIGITS + 20:
        raise ValueError(f"a number of {len(s)} characters; numbers here have at most {MAX_DIGITS} digits")
    v = float(s)
    if not math.isfinite(v):
        raise ValueError(f"{s[:30]} is out of range; write a finite number")
    return v


def _surrogate_check(doc, path, what):
    stack = [doc]
    while stack:
        o = stack.pop()
        if isinstance(o, str):
            try:
                o.encode("utf-8")
            except UnicodeEncodeError:
                raise InputProblem(path, None, "json", f"a string holds a lone surrogate (\\ud800-\\udfff); a "
                                   f"{what} is Unicode text") from None
        elif isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)


def loads_json(text: str, path, what: str = "JSON file", fix: str = "") -> object:
    """JSON text to Python values, strictly (see the module's rules)."""
    import json
    # fast passes over the raw text first (brackets and digit runs inside strings can only
    # make them say "maybe"); only a "maybe" pays for taking the strings out
    stripped = text
    digits = text.translate(_DIGITS_TO_ZERO)         # C-speed: a run of 41 digits is 41 zeros
    if _too_deep(text) or "0" * (MAX_DIGITS + 1) in digits:
        stripped = _JSON_STRING.sub('""', text)      # strings out: what is left is structure and numbers
        if _too_deep(stripped):
            line = json_depth_problem(text)
            raise InputProblem(path, line, "json", f"nested more than {MAX_DEPTH} levels deep; a {what} is a few "
                               "levels of objects and lists")
        m = _LONG_DIGITS.search(stripped)
        if m:
            n = len(re.match(r"[0-9]*", stripped[m.start():]).group())
            raise InputProblem(path, None, "json", f"a number of {n} digits; numbers here have at most {MAX_DIGITS}")
    # the float hook costs a Python call per number: only where it can matter (an exponent
    # can overflow to infinity; NaN and Infinity always go through parse_constant)
    hooks = {"parse_float": _float} if ("0e" in digits or "0E" in digits) else {}
    try:
        doc = json.loads(text, parse_constant=_reject_constant, **hooks)
    except json.JSONDecodeError as e:
        raise InputProblem(path, e.lineno, "json", f"not valid JSON: {e.msg} (column {e.colno})"
                           + (f"; {fix}" if fix else "")) from None
    except ValueError as e:
        raise InputProblem(path, None, "json", str(e)) from None
    except RecursionError:
        raise InputProblem(path, None, "json", f"nested too deeply; a {what} is a few levels deep") from None
    if _SURROGATE_ESCAPE.search(text):                # a lone surrogate can only come from an escape
        _surrogate_check(doc, path, what)
    return doc


def read_json(path, kind: str, what: str = "JSON file", *, nofollow: bool = False, fix: str = "") -> object:
    return loads_json(read_text(path, LIMITS[kind], what, nofollow=nofollow), safe_path_text(path), what, fix)


def record_json(path, kind: str = "state") -> dict:
    """A JSON object the testbed wrote into its run folder, read back through the boundary
    (regular file, not a link, bounded, strict JSON). Raises OSError when it is gone and
    ValueError when it is not a well-formed object, as the readers of records expect."""
    try:
        doc = read_json(path, kind, "state record", nofollow=True)
    except InputProblem as e:
        if not os.path.lexists(path):
            raise FileNotFoundError(str(path)) from None
        raise ValueError(str(e)) from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a JSON object")
    return doc


# ------------------------------------------------------------------------------ YAML
def loads_yaml(text: str, path, what: str = "YAML file") -> object:
    """YAML with plain tags, bounded depth and alias expansion (testbed.yamlpos)."""
    from testbed.yamlpos import YamlProblem, load_with_lines
    try:
        data, _lines = load_with_lines(text)
    except YamlProblem as e:
        raise InputProblem(path, e.line, e.field or "yaml", f"{e}") from None
    return data


def read_yaml(path, kind: str, what: str = "YAML file") -> object:
    return loads_yaml(read_text(path, LIMITS[kind], what), safe_path_text(path), what)


# ------------------------------------------------------------------------------ XML
_XML_ENCODINGS = (("utf-32", (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")), ("utf-16", (b"\xfe\xff", b"\xff\xfe")),
                  ("utf-8-sig", (b"\xef\xbb\xbf",)))


def xml_text(data: bytes, path, what: str = "XML file") -> str:
    """The decoded text of an XML document (UTF-8, or UTF-16/32 with a byte-order mark or
    the zero bytes of one), refused if it holds a DOCTYPE anywhere (a DTD could declare
    entities: billion laughs, external files)."""
    enc = "utf-8"
    for name, boms in _XML_ENCODINGS:
        if data.startswith(boms):
            enc = name
            break
    else:
        # no byte-order mark: the zero bytes around the first (ASCII) character tell UTF-16/32
        head = data[:4]
        if len(head) == 4 and head[1:] == b"\x00\x00\x00" and head[0]:
            enc = "utf-32-le"
        elif len(head) == 4 and head[:3] == b"\x00\x00\x00" and head[3]:
            enc = "utf-32-be"
        elif len(head) >= 2 and head[0] and not head[1]:
            enc = "utf-16-le"
        elif len(head) >= 2 and not head[0] and head[1]:
            enc = "utf-16-be"
    text = decode(data, path, what, enc)
    if enc.startswith("utf-8"):
        text = text.lstrip("\ufeff")
    if re.search(r"<!\s*DOCTYPE|<!\s*ENTITY", text, re.IGNORECASE):
        raise InputProblem(path, text.count("\n", 0, re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.I).start()) + 1,
                           "DOCTYPE", f"a {what} with a DTD (<!DOCTYPE ...>) is refused (entities could expand "
                           "without bound or read files); remove the DOCTYPE")
    return text


def parse_xml(data: bytes, path, what: str = "XML file"):
    """An ElementTree root of a DTD-free document (see xml_text)."""
    import xml.etree.ElementTree as ET
    text = xml_text(data, path, what)
    # the declaration names the bytes' encoding; the text is decoded already
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    depth_line = _xml_depth_problem(text)
    if depth_line is not None:
        raise InputProblem(path, depth_line, "xml", f"nested more than {MAX_DEPTH} levels deep; a {what} is a "
                           "few levels of elements")
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        raise InputProblem(path, line, "xml", f"not well-formed XML ({str(e).split(':')[0]}); give a valid "
                           f"{what}") from None


def _xml_depth_problem(text: str) -> int | None:
    depth = 0
    for m in re.finditer(r"<(/?)[A-Za-z_][^>]*?(/?)>|<!--.*?-->|<!\[CDATA\[.*?\]\]>", text, re.S):
        if m.group(0).startswith(("<!--", "<![")):
            continue
        if m.group(1):
            depth -= 1
        elif not m.group(2):
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, m.start()) + 1
    return None


# ------------------------------------------------------------------------------ values
def ipv4(value, path, field: str, line: int | None = None, *, none_ok: bool = False):
    """An IPv4 address in dotted-quad text, or an InputProblem (the value is not quoted
    beyond 40 printable characters)."""
    from ipaddress import IPv4Address
    if value is None and none_ok:
        return None
    if isinstance(value, str) and len(value) <= 15:
        try:
            return str(IPv4Address(value))
        except ValueError:
            pass
    raise InputProblem(path, line, field, "not an IPv4 address; the testbed's labs are IPv4 "
                       "(write a dotted quad such as 11.0.0.1" + (", or null" if none_ok else "") + ")")


def shown(value, n: int = 40) -> str:
    """A value of an untrusted file, short and printable, for an error line."""
    s = repr(value) if not isinstance(value, str) else "'" + value + "'"
    s = "".join(c if c.isprintable() else "?" for c in s)
    return s if len(s) <= n else s[:n - 4] + "...'"
