"""The one exception raised by the wire parsers."""
from __future__ import annotations


class WireError(ValueError):
    """Bytes that cannot be parsed as the protocol asked for (truncated, wrong version, bad length...).

    Subclass of ValueError so that callers that already catch ValueError keep working.
    """


def span_end(buf, off: int, end: int | None, need: int, what: str) -> int:
    """The end of the bytes a parser may read (default: the buffer's); WireError when `end`
    lies beyond the buffer or fewer than `need` bytes follow `off`.
    `what` names the part, e.g. "UDP header" (its first word names the protocol)."""
    if end is None:
        return _need(len(buf), off, need, what)
    if end > len(buf):
        raise WireError(f"{what.split()[0]}: end {end} beyond buffer of {len(buf)} bytes")
    return _need(end, off, need, what)


def _need(end: int, off: int, need: int, what: str) -> int:
    if off < 0 or end - off < need:
        raise WireError(f"{what} truncated: {end - off} bytes < {need}")
    return end
