"""A containerlab topology (FILE.clab.yml): nodes and `endpoints: ["a:eth1", "b:eth1"]` links.

Nodes of kind `linux` that sit on one link only are taken as hosts' places and dropped
(the importer adds its own hosts); a `bridge` node is a LAN (its routers become neighbours);
every other node is a router.
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx

from testbed.inputs import read_yaml

from .graph import ImportProblem, finish



def load_file(path: Path) -> nx.Graph:
    # the input boundary: a regular file, bounded, UTF-8, YAML with plain tags, depth and
    # alias limits (an alias bomb of 1 KB stops in milliseconds)
    doc = read_yaml(path, "import", "containerlab file")
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
            raise ImportProblem(f"{path}: topology.links[{i}].endpoints: two 'node:interface' strings expected")
        a, b = (e.split(":", 1)[0] for e in eps)
        for x in (a, b):
            if x not in g:
                raise ImportProblem(f"{path}: topology.links[{i}]: an endpoint names no node of topology.nodes; "
                                    "declare it there")
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
