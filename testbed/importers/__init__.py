"""`testbed import SOURCE -o LAB.yaml`: real topologies as ordinary, editable lab files.

One module per source format: topohub.py (topozoo:NAME, sndlib:NAME, caida:ASN from the
topohub package), nodelink.py (FILE.json), graphml.py (FILE.graphml), clab.py
(FILE.clab.yml / .yml / .yaml), synthetic.py (synthetic:isp?routers=N&seed=S, generated). build.py turns the router graph into a lab; write() prints it.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from .build import lab_from_graph, slug
from .graph import ImportProblem

__all__ = ["load_graph", "import_lab", "write", "ImportProblem"]


def load_graph(source: str):
    group, sep, rest = source.partition(":")
    if sep and group in ("topozoo", "sndlib", "caida"):
        from . import topohub
        return topohub.load(group, rest)
    if sep and group == "synthetic":
        from . import synthetic
        return synthetic.load(rest)
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
                        "or topozoo:NAME / sndlib:NAME / caida:ASN / synthetic:isp?routers=N&seed=S")


def default_name(source: str) -> str:
    group, sep, rest = source.partition(":")
    if sep and group == "synthetic":
        from . import synthetic
        kind, p = synthetic.parse(rest)
        return slug(f"{kind}{p['routers']}-s{p['seed']}", 24)
    base = (("as" + rest) if group == "caida" else rest) if sep and group in ("topozoo", "sndlib", "caida") \
        else Path(source).name.split(".")[0]
    return slug(base, 24)


def import_lab(source: str, name: str | None = None, **opts) -> dict:
    g = load_graph(source)
    return lab_from_graph(g, name or default_name(source), source=source, **opts)


class _Flow(dict):
    """A mapping written on one line ({k: v, ...}): a router, a link, a probe."""


class _FlowList(list):
    """A list written on one line ([a, b, ...]): a domain's routers."""


class _Dumper(yaml.SafeDumper):
    pass


_JINJA_OPEN = re.compile(r"\{[{%#]")


class _CDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


for _d in (_Dumper, _CDumper):
    _d.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                                   flow_style=True))
    _d.add_representer(_FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                       flow_style=True))
BIG = 5000          # routers: over this, libyaml's emitter (pure Python's takes minutes for 100,000)


def _dump(obj, fast: bool = False) -> str:
    return yaml.dump(obj, Dumper=_CDumper if fast else _Dumper, sort_keys=False, allow_unicode=True,
                     width=1 << 20, default_flow_style=False)


def escape_jinja(text: str) -> str:
    """Lab files are jinja2 templates: every opening delimiter ({{, {%, {#) in the text is written
    as a jinja2 expression printing it ({{ '{{' }}), so rendering gives the text back verbatim."""
    return _JINJA_OPEN.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def _comment(text: str) -> str:
    return "# " + "".join(ch if ch.isprintable() else " " for ch in text)


def to_yaml(doc: dict, command: str = "") -> str:
    """The lab as YAML a person can edit (one line per router, link and probe), written by a
    YAML serializer (names such as `no` or numbers such as 1e308 come back as they went in)
    with jinja2's delimiters escaped: loading the file gives back `doc` (tests/test_importers.py)."""
    head = [_comment(command) if command else "# imported topology",
            "# An ordinary lab file: edit routers, links, domains and probes (topologies/README.md)."]
    fast = len(doc["routers"]) > BIG
    parts = [_dump({"name": doc["name"], "description": doc["description"], "defaults": _Flow(doc["defaults"]),
                    **({"addressing": _Flow(doc["addressing"])} if doc.get("addressing") else {})}),
             _dump({"routers": {r: _Flow(s) for r, s in doc["routers"].items()}}, fast),
             _dump({"hosts": {h: _Flow(s) for h, s in doc["hosts"].items()}}),
             _dump({"links": [_Flow(link) for link in doc["links"]]}, fast)]
    if doc["mpls"]:
        mpls = ["mpls:"]
        for dn, d in doc["mpls"].items():
            body = {k: v for k, v in d.items() if k not in ("class", "why", "routers")}
            body["routers"] = _FlowList(d["routers"])
            mpls.append("  " + _comment(d.get("why") or f"tunnel class: {d['class']}"))
            mpls += ["  " + line for line in _dump({dn: body}, fast).splitlines()]
        parts.append("\n".join(mpls) + "\n")
    else:
        parts.append("mpls: {}\n")
    parts.append(_dump({"probes": [_Flow({"from": pr["from"], "to": list(pr["to"])}) for pr in doc["probes"]]}))
    return escape_jinja("\n".join(head) + "\n" + "".join(parts))


def lab_dict(doc: dict) -> dict:
    """What `doc` says as a lab file's mapping (the importer's bookkeeping keys dropped): what
    to_yaml's text must load back to."""
    out = {k: doc[k] for k in ("name", "description", "defaults", "routers", "hosts", "links")}
    if doc.get("addressing"):
        out["addressing"] = doc["addressing"]
    out["mpls"] = {dn: {k: v for k, v in d.items() if k not in ("class", "why")} for dn, d in doc["mpls"].items()}
    out["probes"] = [{"from": p["from"], "to": list(p["to"])} for p in doc["probes"]]
    return out


def write(doc: dict, path: str, command: str = "") -> str:
    """Write the lab file whole or not at all: the text goes to a temporary file beside `path`,
    is loaded as a lab (what we write must be a valid lab), then renamed into place."""
    from testbed.lab import load_lab
    text = to_yaml(doc, command)
    target = Path(path)
    if target.exists() and not target.is_file():
        raise ImportProblem(f"{path}: exists and is not a regular file; give another -o")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".import-", suffix=".yaml", dir=target.parent)
    except OSError as e:
        raise ImportProblem(f"{path}: cannot write there ({e.strerror}); give -o a file in a folder you can "
                            "write to") from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        load_lab(tmp, no_limits=True)        # a synthetic ISP may be over the size limits: it is still valid
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return text
