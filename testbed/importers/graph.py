"""The neutral form every importer produces: a networkx Graph of routers.

Node attributes: `label` (the data's name, for the lab's router name), optional `pos`
((x, y), longitude/latitude where the data has them) and `asn`. Edge attributes: optional
`cost` (an IGP metric given by the data) and `dist_km` (a length the data gives).
Importers read untrusted files: every problem is a ImportProblem, one line.
"""
from __future__ import annotations

import math

import networkx as nx

from testbed.errors import LabError

MAX_ROUTERS = 5000
MAX_LINKS = 50000


class ImportProblem(LabError):
    """One line: the source, what is wrong and how to fix it (exit status 2, like a bad lab file)."""

    def __init__(self, message: str):
        super().__init__([message])


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def finish(g: nx.Graph, source: str) -> nx.Graph:
    """Checks shared by every format: size limits, no self loops, one connected part."""
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    if g.number_of_nodes() < 2:
        raise ImportProblem(f"{source}: has {g.number_of_nodes()} router(s); a lab needs at least 2 connected routers")
    if g.number_of_nodes() > MAX_ROUTERS or g.number_of_edges() > MAX_LINKS:
        raise ImportProblem(f"{source}: {g.number_of_nodes()} routers and {g.number_of_edges()} links is more than "
                            f"this importer takes ({MAX_ROUTERS} / {MAX_LINKS}); cut the graph first")
    if not nx.is_connected(g):
        parts = sorted(nx.connected_components(g), key=len, reverse=True)
        dropped = sum(len(p) for p in parts[1:])
        g = g.subgraph(parts[0]).copy()
        g.graph["dropped"] = dropped
        if g.number_of_nodes() < 2:
            raise ImportProblem(f"{source}: no two routers are connected; a lab needs links")
    for _, d in g.nodes(data=True):
        pos = d.get("pos")
        if pos is not None:
            try:
                x, y = (_num(pos[0]), _num(pos[1]))
            except (TypeError, IndexError, KeyError):
                x = y = None
            d["pos"] = (x, y) if x is not None and y is not None else None
    for _, _, d in g.edges(data=True):
        for k in ("cost", "dist_km"):
            if k in d:
                v = _num(d[k])
                if v is None or v < 0:
                    del d[k]
                else:
                    d[k] = v
    return g
