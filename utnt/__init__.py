"""uTNT: a from-scratch reimplementation of TNT's MPLS tunnel detection logic.

The network is reached only through :class:`utnt.reveal.Prober`. Docstrings cite
``tnt.md §N``: the repository's docs/tnt.md, which states TNT's behaviour in our words.
"""

from .api import Options, trace
from .model import Attempt, Hop, MplsTag, Reply, Trace, Tunnel
from .options import TntOptions
from .output import dump_text, format_trace, to_json
from .reserved import is_reserved
from .reveal import Prober, Session
from .tnt import run_tnt, tnt_trace

__all__ = [
    "Attempt", "Hop", "MplsTag", "Reply", "Trace", "Tunnel", "TntOptions", "Prober",
    "Session", "Options", "trace", "run_tnt", "tnt_trace", "dump_text", "format_trace", "to_json", "is_reserved",
]
