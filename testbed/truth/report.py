"""The ground-truth document: per probe, forward and return paths and the tunnels crossed."""
from __future__ import annotations

from .tunnels import tunnels_on
from .walk import walk


def reply_source(cp, node: str, in_addr, to, kind: str = "time_exceeded", probed=None):
    """The address `node` answers a packet from: its ICMP source rule for `kind` (vendor table or
    per-router override, testbed/vendors/*.yaml): "outgoing" = the interface of its route back
    to `to` (RFC 1812 4.3.2.4), "probed" = the probed address when delivered locally,
    "incoming" = the interface the packet came in on. Mirrors the engine (engine/router.py)."""
    n = cp.lab.nodes[node]
    mode = n.icmp_source.get(kind, "outgoing")
    if mode == "incoming" and in_addr is not None:
        return str(in_addr)
    if mode == "probed" and probed is not None:
        return str(probed)
    r = cp.tables[node].lookup(to)
    if r is None or not r.nexthops:
        return str(in_addr) if in_addr is not None else None
    return str(n.iface(r.nexthops[0].ifname).ip)


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
                steps = []
                for s in p:
                    j = s.to_json()
                    if s.in_addr is not None:       # who answers a probe expiring here, from which address
                        j["time_exceeded_from"] = reply_source(cp, s.node, s.in_addr, src_addr)
                    steps.append(j)
                paths.append({"forward": steps,
                              "tunnels": [t.to_json() for t in tunnels_on(lab, p)]})
            probes.append({"from": pr.source, "from_address": str(src_addr), "to": str(dst), "to_name": dname,
                           "ecmp": len(fwd) > 1, "paths": paths,
                           "return": [[s.node for s in p] for p in back]})
    identity = {n.name: {"kind": n.kind, "vendor": n.vendor, "domain": n.domain,
                         "addresses": [str(a) for a in n.addresses()],
                         "icmp_source": dict(n.icmp_source)} for n in lab.nodes.values()}
    return {"lab": lab.name, "probes": probes, "nodes": identity}
