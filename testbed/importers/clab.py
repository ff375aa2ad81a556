"""A containerlab topology (FILE.clab.yml): nodes and `endpoints: ["a:eth1", "b:eth1"]` links.

Nodes of kind `linux` that sit on one link only are taken as hosts' places and dropped
(the importer adds its own hosts); a `bridge` node is a LAN (its routers become neighbours);
every other node is a router.
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import yaml

from .graph import ImportProblem, finish

MAX_BYTES = 8 << 20


def load_file(path: Path) -> nx.Graph:
    if path.stat().st_size > MAX_BYTES:
        raise ImportProblem(f"{path}: larger than {MAX_BYTES >> 20} MiB; this is not a containerlab file")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ImportProblem(f"{path}{':' + str(mark.line + 1) if mark else ''}: not valid YAML "
                            f"({getattr(e, 'problem', e)})") from None
    topo = doc.get("topology") if isinstance(doc, dict) else None
    if not isinstance(topo, dict) or not isinstance(topo.get("nodes"), dict):
        raise ImportProblem(f"{path}: no 'topology: nodes:' mapping; is this a containerlab .clab.yml?")
    links = topo.get("links") or []
    if not isinstance(links, list):
        raise ImportProblem(f"{path}: topology.links is not a list")
    g = nx.Graph(name=str(doc.get("name") or path.stem))
    kinds = {}
    for n, d in topo["nodes"].items():
        kinds[str(n)] = (d or {}).get("kind", "") if isinstance(d, dict) else ""
        if isinstance(d, dict) and d.get("group") == "lan":          # testbed export's LAN switches
            kinds[str(n)] = "bridge"
        g.add_node(str(n), label=str(n), pos=None)
    for i, l in enumerate(links):
        eps = l.get("endpoints") if isinstance(l, dict) else None
        if not isinstance(eps, list) or len(eps) != 2 or not all(isinstance(e, str) and ":" in e for e in eps):
            raise ImportProblem(f"{path}: topology.links[{i}].endpoints: two 'node:interface' strings expected, "
                                f"got {eps!r}")
        a, b = (e.split(":", 1)[0] for e in eps)
        for x in (a, b):
            if x not in g:
                raise ImportProblem(f"{path}: topology.links[{i}]: unknown node '{x}'; declare it under "
                                    "topology.nodes")
        g.add_edge(a, b)
    leaves = [n for n in g if kinds.get(n) == "linux" and g.degree(n) == 1]
    g.remove_nodes_from(leaves)
    # a bridge is a LAN: its routers become neighbours of each other
    for br in [n for n in g if kinds.get(n) in ("bridge", "ovs-bridge")]:
        members = sorted(g.neighbors(br))
        g.remove_node(br)
        g.add_edges_from((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    g = finish(g, str(path))
    g.graph["origin"] = str(path)
    return g
