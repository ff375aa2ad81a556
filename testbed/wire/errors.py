"""The one exception raised by the wire parsers."""
from __future__ import annotations


class WireError(ValueError):
    """Bytes that cannot be parsed as the protocol asked for (truncated, wrong version, bad length...).

    Subclass of ValueError so that callers that already catch ValueError keep working.
    """
