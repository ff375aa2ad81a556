"""FILE.graphml (the Internet Topology Zoo's own format, yEd, Gephi, ...).

Node coordinates from Longitude/Latitude (Topology Zoo) or x/y; link metrics from
cost/weight/metric, else OSPF-style from LinkSpeedRaw (reference 100 Gbit/s), else the
great-circle length between the two ends.
"""
from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

from testbed.inputs import LIMITS, parse_xml, read_bytes, safe_path_text

from .graph import ImportProblem, finish

REF_BPS = 100e9


def load_file(path: Path) -> nx.Graph:
    # untrusted XML through the input boundary: a regular file of at most LIMITS["import"]
    # bytes, decoded (UTF-8/16/32), refused with a DOCTYPE or ENTITY anywhere in any encoding
    # (no entity expansion, no external entity), nested at most MAX_DEPTH elements
    raw = read_bytes(path, LIMITS["import"], "GraphML file")
    root = parse_xml(raw, safe_path_text(path), "GraphML file")
    import xml.etree.ElementTree as ET
    try:
        mg = nx.parse_graphml(ET.tostring(root, encoding="unicode"))
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError, TypeError, IndexError, OverflowError) as e:
        m = re.search(r"line (\d+)", str(e))
        raise ImportProblem(f"{path}{':' + m.group(1) if m else ''}: not readable GraphML ({type(e).__name__}); "
                            "check that it is a GraphML file (keys declared, values of their types)") from None
    g = nx.Graph(name=mg.graph.get("Network") or mg.graph.get("name") or path.stem)
    for n, d in mg.nodes(data=True):
        lon, lat = d.get("Longitude", d.get("x")), d.get("Latitude", d.get("y"))
        g.add_node(n, label=str(d.get("label") or d.get("name") or n),
                   pos=(lon, lat) if lon is not None and lat is not None else None, asn=d.get("asn"))
    for a, b, d in mg.edges(data=True):
        if a == b or g.has_edge(a, b):
            continue
        attrs = {}
        for k in ("cost", "weight", "metric"):
            if d.get(k) is not None:
                attrs["cost"] = d[k]
        if "cost" not in attrs and d.get("LinkSpeedRaw"):
            try:
                attrs["cost"] = max(1.0, REF_BPS / float(d["LinkSpeedRaw"]))
            except (ValueError, ZeroDivisionError):
                pass
        g.add_edge(a, b, **attrs)
    g = finish(g, str(path))
    g.graph["origin"] = str(path)
    return g
