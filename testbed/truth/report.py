"""The ground-truth document: per probe, forward and return paths and the tunnels crossed.

A probe is one (vantage point, destination): with ECMP every equal-cost path is listed (the
scorer takes the one the trace's hops show). `cp` is the control plane the data plane ran:
the computed one, or the tables the engine received from FRR (testbed.experiments.run).
Each tunnel also carries what TNT's invisible-tunnel triggers should read at its egress
(`frpla_expected`, `rtla_expected`), from the path lengths and the egress's signature.
"""
from __future__ import annotations

from .tunnels import tunnels_on
from .walk import flow_picker, walk

HIDDEN = ("opaque", "invisible-php", "invisible-uhp")


def _expected_triggers(cp, lab, path, tunnels, t, src_addr):
    """FRPLA and RTLA at the egress hop of tunnel t (tnt.md 2.3, 3.2): FRPLA = R_TE - probe
    TTL, with R_TE the return path's length counted through the return tunnels (min() at pop
    keeps their LSE-TTL); RTLA = the LSRs of pipe return tunnels, for a <255,!=255> egress."""
    nodes = [s.node for s in path]
    if t.egress not in nodes:
        return None, None
    k = nodes.index(t.egress)
    hidden = sum(len(o.lsrs) for o in tunnels if o.cls in HIDDEN and o.egress in nodes[:k + 1])
    ttl = k - hidden
    back = walk(cp, t.egress, src_addr)
    if not back or back[0][-1].action != "deliver":
        return None, None
    ret = back[0]
    ret_tunnels = tunnels_on(lab, ret)
    p = lab.nodes[t.egress].personality
    r_te = len(ret) - 1 - _uncounted(lab, ret, ret_tunnels, p.ttl_time_exceeded)
    rtla = None
    if p.ttl_time_exceeded == 255 and p.ttl_echo_reply != 255:
        rtla = _uncounted(lab, ret, ret_tunnels, p.ttl_echo_reply) - _uncounted(lab, ret, ret_tunnels,
                                                                                 p.ttl_time_exceeded)
    return r_te - ttl, rtla


def _uncounted(lab, ret, ret_tunnels, ittl: int) -> int:
    """LSRs of the return path's tunnels that a reply sent with initial TTL `ittl` by ret's
    first router does not count. A pipe tunnel's LSRs count only through min(IP-TTL, LSE-TTL)
    at the pop (tnt.md 2.2): not at all when the egress applies no min() or the penultimate
    hop does not write the LSE-TTL back (Junos no-propagate-ttl, php_ttl_writeback false), and
    only as far as the LSE-TTL (pipe_lse_ttl less one per LSR) falls below the IP-TTL (a
    <64,64> router's reply, IP-TTL 64, under a pushed 255: none of them)."""
    nodes = [s.node for s in ret]
    out = 0
    for o in ret_tunnels:
        ing = lab.nodes[o.ingress]
        propagate = ing.ttl_propagate
        if o.ingress == nodes[0] and ing.personality.ttl_propagate_local is not None:
            propagate = ing.personality.ttl_propagate_local      # the reply is the ingress's own packet
        if propagate:
            continue
        n = len(o.lsrs)
        if o.egress not in lab.nodes or not lab.nodes[o.egress].personality.min_ttl_at_pop:
            out += n
            continue
        if o.ending == "php" and o.lsrs and not lab.nodes[o.lsrs[-1]].personality.php_ttl_writeback:
            out += n
            continue
        d = nodes.index(o.ingress) if o.ingress in nodes else 0
        ip_ttl = ittl - d                    # each router up to the ingress decrements once
        lse = ing.personality.pipe_lse_ttl - n
        out += n - max(0, min(n, ip_ttl - lse))
    return out


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


def _behaviour(node) -> dict:
    """The vendor behaviour knobs in force at a node (vendor table, domain, router)."""
    from testbed.vendors import knob_names
    p = node.personality
    return {k: (list(v) if isinstance(v, tuple) else v) for k in knob_names() for v in [getattr(p, k)]}


def ground_truth(cp, flows: dict | None = None) -> dict:
    """flows: {(vantage point, destination): (probe source address, method, flow id)} of the
    traces actually sent; the listed path that flow takes is marked `flow_path`."""
    lab = cp.lab
    probes = []
    for pr in lab.probes:
        src_addr = lab.nodes[pr.source].primary_address()
        for dst, dname in zip(pr.targets, pr.target_names):
            fwd = walk(cp, pr.source, dst)
            back = walk(cp, dname, src_addr) if dname in lab.nodes else []
            paths = []
            for p in fwd:
                tuns = tunnels_on(lab, p)
                tj = []
                for t in tuns:
                    d = t.to_json()
                    d["frpla_expected"], d["rtla_expected"] = _expected_triggers(cp, lab, p, tuns, t, src_addr)
                    nodes = [s.node for s in p]
                    k = nodes.index(t.egress) if t.egress in nodes else None
                    d["after_egress"] = nodes[k + 1] if k is not None and k + 1 < len(nodes) else None
                    d["after_egress_is_destination"] = k is not None and k + 2 == len(nodes)
                    tj.append(d)
                steps = []
                for s in p:
                    j = s.to_json()
                    if s.in_addr is not None:       # who answers a probe expiring here, from which address
                        j["time_exceeded_from"] = reply_source(cp, s.node, s.in_addr, src_addr)
                    steps.append(j)
                paths.append({"forward": steps, "tunnels": tj})
            fl = (flows or {}).get((pr.source, str(dst)))
            if fl is not None and len(paths) > 1:
                one = walk(cp, pr.source, dst, pick=flow_picker(fl[0], dst, fl[1], fl[2]))
                seq = [s.node for s in one[0]] if one else None
                for path in paths:
                    path["flow_path"] = [s["node"] for s in path["forward"]] == seq
            probes.append({"from": pr.source, "from_address": str(src_addr), "to": str(dst), "to_name": dname,
                           "ecmp": len(fwd) > 1, "paths": paths,
                           "return": [[s.node for s in p] for p in back]})
    identity = {n.name: {"kind": n.kind, "vendor": n.vendor, "domain": n.domain,
                         "addresses": [str(a) for a in n.addresses()],
                         "icmp_source": dict(n.icmp_source),
                         "behaviour": _behaviour(n), "behaviour_set": sorted(n.behaviour)}
                for n in lab.nodes.values()}
    return {"lab": lab.name, "probes": probes, "nodes": identity}
