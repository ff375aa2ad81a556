"""FILE.graphml (the Internet Topology Zoo's own format, yEd, Gephi, ...).

Node coordinates from Longitude/Latitude (Topology Zoo) or x/y; link metrics from
cost/weight/metric, else OSPF-style from LinkSpeedRaw (reference 100 Gbit/s), else the
great-circle length between the two ends.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx

from .graph import ImportProblem, finish

MAX_BYTES = 64 << 20
REF_BPS = 100e9


def load_file(path: Path) -> nx.Graph:
    if path.stat().st_size > MAX_BYTES:
        raise ImportProblem(f"{path}: larger than {MAX_BYTES >> 20} MiB; this is not a topology file")
    raw = path.read_bytes()
    # untrusted XML: no DTDs, hence no entity expansion (billion laughs) and no external entities
    if re.search(rb"<!(DOCTYPE|ENTITY)", raw[:1 << 20], re.I):
        raise ImportProblem(f"{path}: GraphML with a DOCTYPE/ENTITY declaration is refused (entity expansion); "
                            "remove the declaration")
    try:
        mg = nx.read_graphml(str(path))
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError) as e:
        m = re.search(r"line (\d+)", str(e))
        raise ImportProblem(f"{path}{':' + m.group(1) if m else ''}: not readable GraphML ({e}); "
                            "check that it is a GraphML file") from None
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
