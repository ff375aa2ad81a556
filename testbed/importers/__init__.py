"""`testbed import SOURCE -o LAB.yaml`: real topologies as ordinary, editable lab files.

One module per source format: topohub.py (topozoo:NAME, sndlib:NAME, caida:ASN from the
topohub package), nodelink.py (FILE.json), graphml.py (FILE.graphml), clab.py
(FILE.clab.yml / .yml / .yaml). build.py turns the router graph into a lab; write() prints it.
"""
from __future__ import annotations

import json
from pathlib import Path

from .build import lab_from_graph, slug
from .graph import ImportProblem

__all__ = ["load_graph", "import_lab", "write", "ImportProblem"]


def load_graph(source: str):
    group, sep, rest = source.partition(":")
    if sep and group in ("topozoo", "sndlib", "caida"):
        from . import topohub
        return topohub.load(group, rest)
    p = Path(source)
    if not p.exists():               # a FIFO or a device is refused by the reader (testbed.inputs)
        raise ImportProblem(f"{source}: neither a file nor topozoo:NAME, sndlib:NAME or caida:ASN")
    suffix = p.name.lower()
    if suffix.endswith(".graphml"):
        from . import graphml
        return graphml.load_file(p)
    if suffix.endswith(".json"):
        from . import nodelink
        g = nodelink.load_file(p)
        g.graph["origin"] = str(p)
        return g
    if suffix.endswith((".yml", ".yaml")):
        from . import clab
        return clab.load_file(p)
    raise ImportProblem(f"{source}: unknown format; give FILE.graphml, FILE.json (node-link), FILE.clab.yml, "
                        "or topozoo:NAME / sndlib:NAME / caida:ASN")


def default_name(source: str) -> str:
    group, sep, rest = source.partition(":")
    base = (("as" + rest) if group == "caida" else rest) if sep and group in ("topozoo", "sndlib", "caida") \
        else Path(source).name.split(".")[0]
    return slug(base, 24)


def import_lab(source: str, name: str | None = None, **opts) -> dict:
    g = load_graph(source)
    return lab_from_graph(g, name or default_name(source), source=source, **opts)


def _flow(v) -> str:
    return json.dumps(v, separators=(", ", ": ")).replace('"', "") if not isinstance(v, str) else v


def _map(d: dict) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v) if isinstance(v, str) and not v.replace('-', '').replace('_', '').isalnum() else _flow(v)}"
                           for k, v in d.items()) + "}"


def to_yaml(doc: dict, command: str = "") -> str:
    """The lab as YAML a person can edit: one line per router, link, domain knob and probe."""
    out = [f"# {command}" if command else "# imported topology",
           "# An ordinary lab file: edit routers, links, domains and probes (topologies/README.md).",
           f"name: {doc['name']}", f"description: {json.dumps(doc['description'])}",
           f"defaults: {_map(doc['defaults'])}", "routers:"]
    out += [f"  {r}: {_map(s)}" for r, s in doc["routers"].items()]
    out.append("hosts:")
    out += [f"  {h}: {{}}" for h in doc["hosts"]]
    out.append("links:")
    out += [f"  - {_map(link)}" for link in doc["links"]]
    out.append("mpls:" if doc["mpls"] else "mpls: {}")
    for dn, d in doc["mpls"].items():
        d = dict(d)
        out.append(f"  {dn}:   # tunnel class: {d.pop('class')}")
        for k, v in d.items():
            if k != "routers":
                out.append(f"    {k}: {_flow(v).lower() if isinstance(v, bool) else v}")
        out.append(f"    routers: [{', '.join(d['routers'])}]")
    out.append("probes:")
    out += [f"  - {{from: {p['from']}, to: [{', '.join(p['to'])}]}}" for p in doc["probes"]]
    return "\n".join(out) + "\n"


def write(doc: dict, path: str, command: str = "") -> str:
    text = to_yaml(doc, command)
    Path(path).write_text(text)
    return text
