"""NetworkX node-link JSON (what topohub ships; also any FILE.json in that form).

Positions are `pos: [longitude, latitude]`; link lengths `dist` (km); an explicit
`weight`/`cost` is taken as the IGP metric.
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx

from testbed.inputs import read_json, safe_path_text

from .graph import ImportProblem, finish



def from_dict(doc, source: str) -> nx.Graph:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise ImportProblem(f"{source}: not NetworkX node-link JSON (a mapping with a 'nodes' list and "
                            "'edges' or 'links'); export it with networkx.node_link_data")
    edges = doc.get("edges", doc.get("links"))
    if not isinstance(edges, list):
        raise ImportProblem(f"{source}: node-link JSON without an 'edges' (or 'links') list")
    g = nx.Graph(name=str((doc.get("graph") or {}).get("name", "")) if isinstance(doc.get("graph"), dict) else "")
    for i, n in enumerate(doc["nodes"]):
        if not isinstance(n, dict) or "id" not in n or not isinstance(n["id"], (str, int, float)) or \
                isinstance(n["id"], bool):
            raise ImportProblem(f"{source}: nodes[{i}] has no scalar 'id'; every node needs one")
        g.add_node(n["id"], label=str(n.get("name") or n.get("label") or n["id"]), pos=n.get("pos"),
                   asn=n.get("asn"))
    for i, e in enumerate(edges):
        if not isinstance(e, dict) or "source" not in e or "target" not in e:
            raise ImportProblem(f"{source}: edges[{i}] needs 'source' and 'target'")
        a, b = e["source"], e["target"]
        if a not in g or b not in g:
            raise ImportProblem(f"{source}: edges[{i}].{'source' if a not in g else 'target'} is not the id of a "
                                "node; list it under 'nodes'")
        attrs = {}
        if e.get("dist") is not None:
            attrs["dist_km"] = e["dist"]
        for k in ("cost", "weight"):
            if e.get(k) is not None:
                attrs["cost"] = e[k]
        g.add_edge(a, b, **attrs)
    return finish(g, source)


def load_file(path: Path) -> nx.Graph:
    doc = read_json(path, "import", "node-link JSON file", fix="give NetworkX node-link JSON")
    return from_dict(doc, safe_path_text(path))
