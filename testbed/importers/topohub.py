"""`topozoo:NAME`, `sndlib:NAME`, `caida:ASN`: the graphs the PyPI package topohub ships
(Internet Topology Zoo, SNDlib, CAIDA ITDK 2024-08 per-AS router graphs) as node-link JSON."""
from __future__ import annotations


from .graph import ImportProblem
from .nodelink import from_dict

GROUPS = {"topozoo": "topozoo", "sndlib": "sndlib", "caida": "caida/2024-08"}


def _files():
    try:
        import importlib.resources

        import topohub
    except ImportError:
        raise ImportProblem("topology sources topozoo:/sndlib:/caida: need the Python package 'topohub': "
                            "pip install 'utnt-lab[topo]' (or give a FILE.graphml / FILE.json)") from None
    return importlib.resources.files(topohub) / "data", getattr(topohub, "__version__", "?")


def names(group: str) -> list[str]:
    root, _ = _files()
    d = root.joinpath(*GROUPS[group].split("/"))
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".json"))


def load(group: str, name: str):
    root, version = _files()
    d = root.joinpath(*GROUPS[group].split("/"))
    # case-insensitive match on the file name (topozoo:attmpls works too); no path parts
    if "/" in name or "\\" in name or name.startswith("."):
        raise ImportProblem(f"{group}:{name}: a topology name, not a path")
    avail = {p.name[:-5].lower(): p for p in d.iterdir() if p.name.endswith(".json")}
    p = avail.get(name.lower())
    if p is None:
        close = [n for n in sorted(avail) if name.lower()[:3] in n][:8]
        raise ImportProblem(f"{group}:{name}: no such topology in topohub {version}"
                            + (f" (close: {', '.join(close)})" if close else "")
                            + f"; `testbed import --list {group}` lists them")
    from testbed.inputs import LIMITS, loads_json, read_text
    g = from_dict(loads_json(read_text(p, LIMITS["import"], "topohub file"), f"{group}:{name}", "topohub file"),
                  f"{group}:{name}")
    g.graph["origin"] = f"{group}:{p.name[:-5]} (topohub {version})"
    if group == "caida":
        for _, dd in g.nodes(data=True):
            dd["asn"] = dd.get("asn") or int(name) if name.isdigit() else dd.get("asn")
    return g
