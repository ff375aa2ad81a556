"""The ground-truth document: per probe, forward and return paths and the tunnels crossed."""
from __future__ import annotations

from .tunnels import tunnels_on
from .walk import walk


def _behaviour(node) -> dict:
    """The vendor behaviour knobs in force at a node (vendor table, domain, router)."""
    from testbed.vendors import knob_names
    p = node.personality
    return {k: (list(v) if isinstance(v, tuple) else v) for k in knob_names() for v in [getattr(p, k)]}


def ground_truth(cp) -> dict:
    lab = cp.lab
    probes = []
    for pr in lab.probes:
        src_addr = lab.nodes[pr.source].primary_address()
        for dst, dname in zip(pr.targets, pr.target_names):
            fwd = walk(cp, pr.source, dst)
            back = walk(cp, dname, src_addr) if dname in lab.nodes else []
            paths = []
            for p in fwd:
                paths.append({"forward": [s.to_json() for s in p],
                              "tunnels": [t.to_json() for t in tunnels_on(lab, p)]})
            probes.append({"from": pr.source, "from_address": str(src_addr), "to": str(dst), "to_name": dname,
                           "ecmp": len(fwd) > 1, "paths": paths,
                           "return": [[s.node for s in p] for p in back]})
    identity = {n.name: {"kind": n.kind, "vendor": n.vendor, "domain": n.domain,
                         "addresses": [str(a) for a in n.addresses()],
                         "behaviour": _behaviour(n), "behaviour_set": sorted(n.behaviour)}
                for n in lab.nodes.values()}
    return {"lab": lab.name, "probes": probes, "nodes": identity}
