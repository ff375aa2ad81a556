"""The ground-truth document: per probe, forward and return paths and the tunnels crossed.

A probe is one (vantage point, destination): with ECMP every equal-cost path is listed (the
scorer takes the one the trace's hops show). `cp` is the control plane the data plane ran:
the computed one, or the tables the engine received from FRR (testbed.runtimes.netns.frr.control_plane_now).
Each tunnel also carries what TNT's invisible-tunnel triggers should read at its egress
(`frpla_expected`, `rtla_expected`), from the path lengths and the egress's signature.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import TYPE_CHECKING, Any, cast

from testbed.documents import check
from testbed.engine.reply import reply_source as choose_source
from testbed.engine.reply import source_mode

from .tunnels import Tunnel, tunnels_on
from .walk import Address, AddressLike, H, Step, addr_str, flow_picker, walk

if TYPE_CHECKING:
    from testbed.controlplane.tables import ControlPlane, NextHop, Route
    from testbed.errors import Problem
    from testbed.lab.model import Lab, Node, Probe

Doc = dict[str, Any]         # a part of the truth document (JSON; its schema: testbed/documents, check("truth"))
Flows = dict[tuple[str, str], tuple[str, str, int]]     # (vantage point, destination) -> (source, method, flow)

SIXPE_NOTE = ("6PE: IPv6 over the IPv4 core with the IPv6 explicit-null label 2 under the transport label; "
              "the LSRs answer from IPv4-mapped addresses (::ffff:a.b.c.d)")

HIDDEN = ("opaque", "invisible-php", "invisible-uhp")


@dataclass
class _Memo:
    """What one ground truth asks again and again (the same trace from many probes): per tunnel,
    the LSRs a revelation trace can show (_reveal_lsrs) and those the first one from a vantage point
    shows (_first_revealed); per router and prober, its equal-cost replies (_returns)."""
    reveal: dict[tuple[str, str, str], list[list[str]]] = field(default_factory=dict)
    first: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)
    returns: dict[tuple[str, str, str], list[Doc]] = field(default_factory=dict)
    # per egress and prober: (R_TE, R_ER) of each equal-cost return path (_return_lengths)
    lengths: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)


def segment_json(lab: Lab, path: list[Step], t: Tunnel) -> Doc:
    """A labelled stretch with no LSR (docs/tunnels.md): the ingress pushes a label that the very
    next router removes. Nothing lies between them to find or reveal, so it is not counted as a
    tunnel; `seen_as` says what a trace can show of it (from the routers' vendor behaviour):
    "explicit-lsr" (the popper quotes a label with LSE-TTL 255 or 1 and TNT lists it as the one
    LSR of an explicit tunnel), "opaque" (an LSE-TTL in TNT's opaque range: an MTTL with nothing
    to reveal), "duplicate-ip" (a UHP egress lets an expiring packet through: DUPIP with nothing
    to reveal) or "nothing"."""
    nodes = [s.node for s in path]
    k = nodes.index(t.egress) if t.egress in nodes else None
    after = nodes[k + 1] if k is not None and k + 1 < len(nodes) else None
    ing, eg = lab.nodes[t.ingress], lab.nodes[t.egress] if t.egress in lab.nodes else None
    seen, why = "nothing", ""
    if eg is not None and eg.personality.answer_time_exceeded:
        if t.ending == "uhp":
            if not (ing.ttl_propagate and not ing.personality.no_decrement_ttl):
                if not eg.personality.explicit_null_expiry:
                    seen, why = "duplicate-ip", (f"{t.egress} lets a packet whose TTL ends there through (UHP), so "
                                                 f"{after} answers two probe TTLs (DUPIP) and nothing is revealed")
            elif eg.rfc4950:
                seen, why = "explicit-lsr", f"{t.egress} quotes the explicit-null label with LSE-TTL 1"
        elif t.ending == "abrupt" and eg.rfc4950:
            lse = 255 if ing.personality.no_decrement_ttl else (ing.personality.pipe_lse_ttl or 255)
            if lse <= 1 or lse == 255:
                seen, why = "explicit-lsr", (f"{t.egress} quotes the label with LSE-TTL {lse} (nothing spent in the "
                                             f"LSP): TNT lists it as the one LSR of an explicit tunnel ending at "
                                             f"{after}")
            else:
                seen, why = "opaque", (f"{t.egress} quotes the label with LSE-TTL {lse}: an opaque signature (MTTL) "
                                       "with no LSR to reveal")
    what = (f"zero-LSR segment: {t.ingress} pushes a label that {t.egress}, the next router, removes "
            f"({t.ending}); no LSR between them, so no tunnel to find")
    return {"ingress": t.ingress, "egress": t.egress, "after": after, "domain": t.domain, "ending": t.ending,
            "seen_as": seen, "what": what + (f"; a trace shows: {why}" if why else "; a trace shows nothing of it"),
            "notes": list(t.notes)}


def _delivered(cp: ControlPlane, path: list[Step], dst: AddressLike) -> bool:
    """Does the walked path deliver to dst: a plain delivery, or a UHP tunnel's explicit-null pop
    at the router that owns dst (a router vantage point whose own address is reached through a
    UHP LSP: walk ends the path at the pop, with nothing under the label to forward)."""
    if not path:
        return False
    last = path[-1]
    if last.action == "deliver":
        return True
    return last.action == "pop-explicit-null" and ip_address(str(dst)) in cp.lab.nodes[last.node].addresses()


def _expected_triggers(cp: ControlPlane, lab: Lab, path: list[Step], tunnels: list[Tunnel], t: Tunnel,
                       src_addr: Address, memo: _Memo | None = None) -> tuple[list[int] | None, list[int] | None]:
    """FRPLA and RTLA at the egress hop of tunnel t (tnt.md 2.3, 3.2): FRPLA = R_TE - probe
    TTL, with R_TE the return path's length counted through the return tunnels (min() at pop
    keeps their LSE-TTL); RTLA = R_TE - R_ER, for a <255,!=255> egress.

    Returns (frpla values, rtla values or None): one value per distinct result over the
    equal-cost return paths. The egress picks its reply's next hop by the hash of the packet
    it answers and the routers after it hash the reply on its own header (engine/reply.py,
    engine/router.py flow_hash), so the egress's time-exceeded and its echo reply may each
    come back over any of them; with equal-cost paths of different lengths (AS3356) the
    trigger reads the length of the one the reply took (at the egress's own equal-cost next
    hops, the one its source address names: reply_paths)."""
    nodes = [s.node for s in path]
    if t.egress not in nodes:
        return None, None
    k = nodes.index(t.egress)
    hidden = sum(len(o.lsrs) for o in tunnels if o.cls in HIDDEN and o.egress in nodes[:k + 1])
    ttl = k - hidden
    lengths = _return_lengths(cp, lab, t.egress, src_addr, _Memo() if memo is None else memo)
    if not lengths:
        return None, None
    p = lab.nodes[t.egress].personality
    frpla = sorted({r_te - ttl for r_te, _ in lengths})
    rtla = None
    if p.ttl_time_exceeded == 255 and p.ttl_echo_reply != 255:
        rtla = sorted({r_te - r_er for r_te, _ in lengths for _, r_er in lengths})
    return frpla, rtla


def _return_lengths(cp: ControlPlane, lab: Lab, egress: str, src_addr: Address,
                    memo: _Memo) -> list[tuple[int, int]]:
    """(R_TE, R_ER) of every equal-cost return path from `egress` to the prober: they depend on
    the egress and the prober only, so a campaign's probes that share an egress walk them once."""
    key = (egress, str(src_addr))
    got = memo.lengths.get(key)
    if got is None:
        p = lab.nodes[egress].personality
        got = []
        for ret in walk(cp, egress, src_addr):
            if not _delivered(cp, ret, src_addr):
                continue
            ret_tunnels = tunnels_on(lab, ret, cp)
            got.append((len(ret) - 1 - _uncounted(cp, ret, ret_tunnels, p.ttl_time_exceeded),
                        len(ret) - 1 - _uncounted(cp, ret, ret_tunnels, p.ttl_echo_reply)))
        memo.lengths[key] = got
    return got


def _reveal_lsrs(cp: ControlPlane, t: Tunnel, memo: _Memo) -> list[list[str]]:
    """The LSRs a revelation trace can show (tnt.md 4.3): TNT traces toward the egress's
    incoming address, another destination than the probe's, hence another Paris flow; every
    equal-cost path from the ingress to that address gives the routers between them."""
    if not t.egress_addr:
        return []
    key = (t.ingress, t.egress, t.egress_addr)
    cache = memo.reveal
    if key not in cache:
        out: list[list[str]] = []
        for b in walk(cp, t.ingress, t.egress_addr):
            ns = [s.node for s in b]
            if t.egress in ns:
                mid = ns[1:ns.index(t.egress)]
                if mid not in out:
                    out.append(mid)
        cache[key] = out
    return cache[key]


def _first_revealed(cp: ControlPlane, source: str, t: Tunnel, addr: str, memo: _Memo) -> list[str]:
    """The routers between hidden tunnel t's ingress and egress that the first revelation trace
    from `source` toward `addr` (an address the egress answers from; TNT traces toward the
    egress hop's address, tnt.md 4.3) can show, over every equal-cost path: those that answer
    as plain hops, not hidden inside a tunnel of that trace. BRPR reveals the last LSR because
    the LSP toward the address of the link the egress shares with it ends at that LSR; the LSP
    toward the address of another link of the egress ends at the egress itself, as hidden as
    the tunnel (pipe TTL): the trace shows nothing between them (TNT's NTH-RV)."""
    key = (source, t.ingress, t.egress, addr)
    cache = memo.first
    if key not in cache:
        out: list[str] = []
        for b in walk(cp, source, addr):
            nodes = [s.node for s in b]
            if t.ingress not in nodes:
                continue
            inside = {n for o in tunnels_on(cp.lab, b, cp) if o.hidden for n in o.lsrs}
            for n in nodes[nodes.index(t.ingress) + 1:]:
                if n == t.egress:
                    break
                if n not in inside and n not in out:
                    out.append(n)
        cache[key] = out
    return cache[key]


def _uncounted(cp: ControlPlane, ret: list[Step], ret_tunnels: list[Tunnel], ittl: int) -> int:
    """LSRs of the return path's tunnels that a reply sent with initial TTL `ittl` by ret's
    first router does not count. None of them counts when the tunnel ends by PHP at a
    penultimate hop that does not write the LSE-TTL back (Junos no-propagate-ttl,
    php_ttl_writeback false, or an LSP signalled no-decrement-ttl): the IP-TTL leaves the pop as
    the ingress wrote it, uniform (ttl_propagate) tunnel or pipe. Otherwise a uniform tunnel's
    LSRs count, and a pipe tunnel's only through min(IP-TTL, LSE-TTL) at the pop (tnt.md 2.2):
    not at all when the egress applies no min(), and only as far as the LSE-TTL (pipe_lse_ttl,
    255 under no-decrement-ttl, less one per LSR) falls below the IP-TTL (a <64,64> router's
    reply, IP-TTL 64, under a pushed 255: none of them)."""
    lab = cp.lab
    nodes = [s.node for s in ret]
    out = 0
    for o in ret_tunnels:
        n = len(o.lsrs)
        if o.ending == "php" and o.lsrs and not _php_writes_back(cp, ret, o.lsrs[-1]):
            out += n
            continue
        ing = lab.nodes[o.ingress]
        propagate = ing.ttl_propagate
        if o.ingress == nodes[0] and ing.personality.ttl_propagate_local is not None:
            propagate = ing.personality.ttl_propagate_local      # the reply is the ingress's own packet
        if propagate and not o.no_decrement:
            continue
        if o.egress not in lab.nodes or not lab.nodes[o.egress].personality.min_ttl_at_pop:
            out += n
            continue
        d = nodes.index(o.ingress) if o.ingress in nodes else 0
        ip_ttl = ittl - d                    # each router up to the ingress decrements once
        lse = (255 if o.no_decrement else ing.personality.pipe_lse_ttl) - n
        out += n - max(0, min(n, ip_ttl - lse))
    return out


def _php_writes_back(cp: ControlPlane, path: list[Step], node: str) -> bool:
    """The penultimate hop `node` of a walked path: its vendor write-back and the LFIB hop's
    (a no-decrement-ttl LSP pops without it)."""
    if not cp.lab.nodes[node].personality.php_ttl_writeback:
        return False
    for s in path:
        if s.node == node and s.labels_in:
            e = cp.tables[node].label_entry(s.labels_in[0])
            return e is None or all(h.writeback for h in e.hops)
    return True


def silent_reason(cp: ControlPlane, step: Step, src_addr: Address, udp: bool = False) -> str | None:
    """Why the router of a walked step sends nothing back when a probe expires there (None: it
    answers). Mirrors the engine (engine/router.py _lse_expired, _originate): a router that
    drops expiring labels (Linux) or sends no time-exceeded (answer_time_exceeded false) is
    silent; so is one whose reply is IP-routed (an unlabelled probe, a one-label error under
    Huawei's `ttl expiration pop`, a penultimate hop that pops first) while it has no IP route
    to the probe's source (a BGP-free core, domain knob bgp_free)."""
    n = cp.lab.nodes[step.node]
    p = n.personality
    labelled = bool(step.labels_in)
    if labelled and p.lse_expiry == "drop":
        return "drops packets whose LSE-TTL expires (lse_expiry drop, Linux)"
    if not p.answer_time_exceeded:
        return "sends no time-exceeded (answer_time_exceeded false)"
    routed = _ip_routed(cp, step, udp)
    if routed and _lookup(cp, step.node, src_addr) is None:
        if ":" in str(src_addr):
            return (f"no IPv6 route back to {src_addr}: a 6PE P router sends its ICMPv6 time-exceeded along the LSP "
                    "only with ICMP tunnelling; not tunnelled, it is IP-routed and dropped")
        why = "a one-label error under ttl expiration pop" if labelled and p.tunnel_scope == "multi-label" \
            else ("the penultimate hop pops first" if labelled and n.icmp_tunneling else "not tunnelled")
        return f"no IP route back to {src_addr}: its time-exceeded is IP-routed ({why}) and dropped (BGP-free core)"
    return None


def _ip_routed(cp: ControlPlane, step: Step, udp: bool = False) -> bool:
    """Whether the time-exceeded of the router of a walked step is IP-routed back (not sent along
    the LSP the probe was on): an unlabelled probe, a penultimate hop that pops first, a router
    without ICMP tunnelling or out of its tunnel_scope (engine/router.py _lse_expired)."""
    if not step.labels_in:
        return True
    n = cp.lab.nodes[step.node]
    p = n.personality
    e = cp.tables[step.node].label_entry(step.labels_in[0])
    hop = e.hops[0] if e is not None and e.hops else None
    pops_first = hop is not None and hop.out_label == 3 and len(step.labels_in) == 1 and \
        p.php_expiry == "pop-first"
    scope = {"all": True, "multi-label": len(step.labels_in) >= 2, "udp": udp}[p.tunnel_scope]
    return pops_first or not (n.icmp_tunneling and hop is not None and scope)


def _lookup(cp: ControlPlane, node: str, addr: AddressLike) -> Route | None:
    a = ip_address(str(addr))
    return cp.tables[node].lookup6(a) if a.version == 6 else cp.tables[node].lookup(a)


def reply_source6(cp: ControlPlane, node: str, in_addr: Address | None, to: Address) -> str | None:
    """The source of `node`'s ICMPv6 error to `to` (mirrors engine/ipv6.py _source6): the IPv6
    address of the interface its route back leaves through, else its first IPv6 address, else
    the IPv4-mapped address of the incoming interface (`in_addr` already is that on a P router)."""
    n = cp.lab.nodes[node]
    r = cp.tables[node].lookup6(to)
    if r is not None and r.nexthops:
        itf = n.iface(r.nexthops[0].ifname)
        if itf.address6 is not None:
            return str(itf.address6.ip)
    mine = n.addresses6()
    if mine:
        return str(mine[0])
    return addr_str(in_addr) if in_addr is not None else None


def reply_sources(cp: ControlPlane, node: str, in_addr: Address | None, to: IPv4Address,
                  kind: str = "time_exceeded", probed: Address | None = None) -> list[tuple[str | None, NextHop | None]]:
    """[(source address or None, next hop or None)] of every reply `node` can send to `to` about a
    packet that came in at `in_addr`: one per equal-cost next hop of its route back, which the
    router decides first (by the answered packet's hash), the source following from it by its
    rule for `kind` (vendor table or per-router override): "outgoing" = the interface of that
    next hop (RFC 1812 4.3.2.4), "probed" = the probed address when delivered locally,
    "incoming" = the interface the packet came in on. The engine's rule (engine/reply.py)."""
    n = cp.lab.nodes[node]
    mode = source_mode(n.icmp_source, kind)
    r = cp.tables[node].lookup(to)
    hops: list[NextHop | None] = list(r.nexthops) if r is not None and r.nexthops else [None]
    out: list[tuple[str | None, NextHop | None]] = []
    for nh in hops:
        a = choose_source(mode, n.iface(nh.ifname).ip if nh is not None else None, in_addr, probed)
        out.append((str(a) if a is not None else None, nh))
    return out


def reply_source(cp: ControlPlane, node: str, in_addr: Address | None, to: IPv4Address, kind: str = "time_exceeded",
                 probed: Address | None = None) -> str | None:
    """The address `node` answers a packet from (reply_sources): with equal-cost next hops back,
    the one of the first (which one a flow takes is listed by reply_paths)."""
    return reply_sources(cp, node, in_addr, to, kind, probed)[0][0]


def reply_paths(cp: ControlPlane, node: str, to: IPv4Address, in_addr: Address | None = None,
                kind: str = "time_exceeded", probed: Address | None = None) -> list[Doc]:
    """Every IP-routed reply `node` can send to `to`: per equal-cost next hop of its route back
    (reply_sources), its source address (`from`), and every path the reply can then take (later
    routers hash it on their own equal-cost next hops) with its length `r` as the reply's TTL
    counts it: a reply sent with initial TTL i arrives with i - r + 1 (return tunnels' LSRs
    counted as _uncounted says, with the vendor's initial TTL for `kind`)."""
    lab = cp.lab
    p = lab.nodes[node].personality
    ittl = p.ttl_echo_reply if kind == "echo_reply" else (
        p.ttl_time_exceeded if kind == "time_exceeded" else p.ttl_unreachable)
    out: list[Doc] = []
    for src, nh in reply_sources(cp, node, in_addr, to, kind, probed):
        if nh is None:
            continue
        first: list[NextHop] = []

        def pick(hops: list[H], nh: NextHop = nh) -> list[H]:  # the router's own decision first, then every branch
            if not first:  # noqa: B023 (walk calls it in this iteration)
                first.append(nh)  # noqa: B023 (walk calls it in this iteration)
                return cast("list[H]", [nh])    # the first pick is at `node`'s route back: among NextHops
            return hops
        for ret in walk(cp, node, to, pick=pick):
            if _delivered(cp, ret, to):
                r = len(ret) - 1 - _uncounted(cp, ret, tunnels_on(lab, ret), ittl)
                out.append({"from": src, "nodes": [s.node for s in ret], "r": r})
    return out


def _behaviour(node: Node) -> Doc:
    """The vendor behaviour knobs in force at a node (vendor table, domain, router)."""
    from testbed.vendors import knob_names
    p = node.personality
    return {k: (list(v) if isinstance(v, tuple) else v) for k in knob_names() for v in [getattr(p, k)]}


def lab_digest(lab: Lab) -> str:
    """A digest of everything the truth and the scorer read from a lab: nodes (kind, vendor,
    domain, addresses, MPLS knobs and every vendor behaviour knob in force), links (ends,
    costs, state), domains and probes. A result records it (`testbed run --json`,
    `testbed probe --json`): `testbed score` refuses to score it against an edited lab."""
    import hashlib
    import json

    nodes = {n.name: {"kind": n.kind, "vendor": n.vendor, "domain": n.domain,
                      "addresses": [str(a) for a in n.addresses() + n.addresses6()],
                      "mpls": [n.ldp, n.popping, n.ttl_propagate, n.rfc4950, n.icmp_tunneling],
                      "icmp_source": dict(n.icmp_source), "behaviour": _behaviour(n)}
             for n in lab.nodes.values()}
    links = [[ln.name, ln.kind, str(ln.network), ln.cost, ln.down,
              [[i.node, i.name, str(i.address), i.cost] for i in ln.interfaces]] for ln in lab.links]
    domains = {d.name: [d.routers, d.ldp, d.ttl_propagate, d.rfc4950, d.popping, d.icmp_tunneling, d.external,
                        d.vpn, d.sr, d.behaviour, d.rsvp, d.bgp_free, d.sixpe] for d in lab.domains.values()}
    probes = [[p.source, [str(t) for t in p.targets]] for p in lab.probes]
    doc = {"nodes": nodes, "links": links, "domains": domains, "probes": probes, "cp": lab.control_plane}
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def flows_of(traces: list[Doc]) -> Flows:
    """{(vantage point, destination): (source address, method, flow)} of seeded traces: the
    `flows` ground_truth follows (the equal-cost path each probe's flow took)."""
    return {(t["vantage_point"], t["dst"]): (t["src"], t["method"], t["flow"]) for t in traces
            if t.get("flow") is not None and t.get("vantage_point")}


def ground_truth(cp: ControlPlane, flows: Flows | None = None) -> Doc:
    """flows: {(vantage point, destination): (probe source address, method, flow id)} of the
    traces actually sent; the listed path that flow takes is marked `flow_path`."""
    lab = cp.lab
    probes: list[Doc] = []
    probes6: list[Doc] = []
    reveal_cache = _Memo()
    for pr in lab.probes:
        src_addr = lab.nodes[pr.source].primary_address()
        for dst, dname in zip(pr.targets, pr.target_names):
            probes.append(_probe(cp, pr, src_addr, dst, dname, flows, reveal_cache))
        if pr.targets6:                    # 6PE: the same probes over IPv6 (no IPv4 detector sends them)
            src6 = lab.nodes[pr.source].addresses6()[0]
            for dst6, dname in pr.targets6:
                d = _probe(cp, pr, src6, dst6, dname, None, reveal_cache)
                d["family"] = "ipv6"
                for path in d["paths"]:
                    for t in path["tunnels"]:
                        if t.get("family") == "6pe":
                            t["notes"].append(SIXPE_NOTE)
                probes6.append(d)
    beh: dict[int, Doc] = {}      # per personality (shared by the routers of a vendor): one knob read
    share = len(lab.nodes) > CHECK_EVERY_NODE       # a big lab: one dict per personality, not per node

    def behaviour(n: Node) -> Doc:
        got = beh.get(id(n.personality))
        if got is None:
            got = beh[id(n.personality)] = _behaviour(n)
        return got if share else dict(got)

    identity = {n.name: {"kind": n.kind, "vendor": n.vendor, "domain": n.domain,
                         "addresses": [str(a) for a in n.addresses()],
                         "icmp_source": dict(n.icmp_source),
                         "behaviour": behaviour(n), "behaviour_set": sorted(n.behaviour)}
                for n in lab.nodes.values()}
    for n in lab.nodes.values():
        if n.addresses6():
            identity[n.name]["addresses6"] = [str(a) for a in n.addresses6()]
    doc = {"lab": lab.name, "probes": probes, "nodes": identity}
    if probes6:
        doc["probes6"] = probes6
    if len(identity) <= CHECK_EVERY_NODE:
        check("truth", doc)      # the Truth document (testbed/documents); unchanged
        return doc
    # a big lab: every probe checked, and of the node identities (built by the code above from
    # the typed lab model) one per personality and kind: the 100,000 of a synthetic ISP were
    # most of the truth's check
    one: dict[tuple[int, str, str | None, bool], str] = {}
    for n in lab.nodes.values():
        one.setdefault((id(n.personality), n.kind, n.domain, len(n.interfaces) > 0), n.name)
    check("truth", {**doc, "nodes": {k: identity[k] for k in one.values()}})
    return doc


CHECK_EVERY_NODE = 2000     # above this many nodes the truth's check reads a node per personality


def _returns(cp: ControlPlane, step: Step, src_addr: IPv4Address, memo: _Memo) -> list[Doc] | None:
    """For a router with equal-cost next hops back to the prober whose time-exceeded is IP-routed:
    each reply it can send, its source address and return path (reply_paths). None otherwise
    (one next hop back: `time_exceeded_from` says it all)."""
    if not _ip_routed(cp, step):
        return None
    r = cp.tables[step.node].lookup(src_addr)
    if r is None or len(r.nexthops) < 2:
        return None
    key = (step.node, str(step.in_addr), str(src_addr))
    cache = memo.returns
    if key not in cache:
        cache[key] = reply_paths(cp, step.node, src_addr, step.in_addr)
    return cache[key]


def _probe(cp: ControlPlane, pr: Probe, src_addr: Address, dst: Address, dname: str, flows: Flows | None,
           reveal_cache: _Memo) -> Doc:
    """The truth of one (vantage point, destination): forward paths with their tunnels, returns."""
    lab = cp.lab
    v6 = dst.version == 6
    fwd = walk(cp, pr.source, dst)
    back = walk(cp, dname, src_addr) if dname in lab.nodes else []
    paths: list[Doc] = []
    for p in fwd:
        tuns = tunnels_on(lab, p, cp)
        tj: list[Doc] = []
        segs = [segment_json(lab, p, t) for t in tuns if not t.lsrs]
        for t in tuns:
            if not t.lsrs:
                continue                    # a zero-LSR segment: no tunnel to find (docs/tunnels.md)
            d = t.to_json()
            frpla, rtla = _expected_triggers(cp, lab, p, tuns, t, src_addr, reveal_cache)
            # the most the trigger can read (the longest equal-cost return path), and every
            # value the equal-cost return paths give (one without return ECMP)
            d["frpla_expected"] = max(frpla) if frpla else None
            d["rtla_expected"] = max(rtla) if rtla else None
            d["frpla_return_paths"], d["rtla_return_paths"] = frpla, rtla
            d["reveal_lsrs"] = _reveal_lsrs(cp, t, reveal_cache) if t.hidden else []
            if t.hidden and isinstance(src_addr, IPv4Address):       # (not v6)
                # per address the egress may answer the probe from (one per equal-cost next hop
                # back), the LSRs the first revelation trace toward it can show
                eg = next((s for s in p if s.node == t.egress and s.in_addr is not None), None)
                if eg is not None:
                    d["reveal_from"] = {a: _first_revealed(cp, pr.source, t, a, reveal_cache)
                                        for a in dict.fromkeys(a for a, _ in reply_sources(
                                            cp, t.egress, eg.in_addr, src_addr)) if a}
            # LSRs whose echo reply to the prober has no IP route back (a BGP-free core): a ping
            # to them goes unanswered, so no u-turn (R_TE - R_ER) can be read there
            unrouted = [n for n in d["lsrs"] if not v6 and _lookup(cp, n, src_addr) is None]
            if unrouted:
                d["echo_unrouted"] = unrouted
            nodes = [s.node for s in p]
            k = nodes.index(t.egress) if t.egress in nodes else None
            d["after_egress"] = nodes[k + 1] if k is not None and k + 1 < len(nodes) else None
            d["after_egress_is_destination"] = k is not None and k + 2 == len(nodes)
            tj.append(d)
        steps: list[Doc] = []
        quiet: dict[str, str] = {}
        for s in p:
            j = s.to_json()
            if s.in_addr is not None:       # who answers a probe expiring here, from which address
                j["time_exceeded_from"] = reply_source(cp, s.node, s.in_addr, src_addr) \
                    if isinstance(src_addr, IPv4Address) else reply_source6(cp, s.node, s.in_addr, src_addr)
                why = silent_reason(cp, s, src_addr) if s.action not in ("deliver", "drop") else None
                if why:
                    j["silent"] = quiet[s.node] = why
                elif isinstance(src_addr, IPv4Address) and s.action not in ("deliver", "drop"):     # (not v6)
                    rets = _returns(cp, s, src_addr, reveal_cache)
                    if rets:
                        j["time_exceeded_returns"] = rets
            steps.append(j)
        for d in tj:
            reasons = [quiet.get(x) for x in d["lsrs"]]
            if d["lsrs"] and all(reasons) and not d["silent"]:
                d["silent"] = True
                d["silent_reason"] = reasons[0]
                d["notes"].append(f"every LSR is silent: {reasons[0]}")
        paths.append({"forward": steps, "tunnels": tj, **({"segments": segs} if segs else {})})
    fl = (flows or {}).get((pr.source, str(dst)))
    if fl is not None and len(paths) > 1:
        one = walk(cp, pr.source, dst, pick=flow_picker(fl[0], dst, fl[1], fl[2]))
        seq = [s.node for s in one[0]] if one else None
        for path in paths:
            path["flow_path"] = [s["node"] for s in path["forward"]] == seq
    return {"from": pr.source, "from_address": str(src_addr), "to": str(dst), "to_name": dname,
            "ecmp": len(fwd) > 1, "paths": paths,
            "return": [[s.node for s in p] for p in back]}


def check_expect(lab: Lab, probes: list[Doc], probes6: list[Doc] | None = None,
                 totals: dict[str, Any] | None = None) -> list[Problem]:
    """The lab file's `expect:` block against its ground truth (probes: ground_truth()['probes'],
    every probe and equal-cost path in order): one Problem per expectation that fails, naming
    the file, the line of the block, the field, what the truth shows and the fix. `tunnels`
    (and `tunnels6` for the IPv6 probes of a 6PE lab) list the truth's tunnels in order; each
    field an entry gives (class, ingress, egress, lsrs, silent, stack_depth, family, ...) must
    be the truth's. `score` (checked when a run's score `totals` are given) names counts of the
    scorer's totals the run must give."""
    from testbed.errors import Problem
    exp: dict[str, object] = lab.expect or {}
    out = []
    line = _expect_line(lab.source)
    for key, got_probes in (("tunnels", probes), ("tunnels6", probes6)):
        if key not in exp or got_probes is None:      # tunnels6: only where the IPv6 probes were walked
            continue
        want = exp[key] or []
        if not isinstance(want, list):
            out.append(Problem(lab.source, f"expect.{key}", f"expected a list of tunnels, got {want!r}; write one "
                               "entry per tunnel: - {class: ..., ingress: ..., egress: ..., lsrs: [...]}", line))
            continue
        got = [t for p in got_probes for path in p["paths"] for t in path["tunnels"]]
        for i, w in enumerate(want):
            field = f"expect.{key}[{i}]"
            if not isinstance(w, dict):
                out.append(Problem(lab.source, field, f"expected a tunnel's fields to check, got {w!r}; write "
                                   "{class: ..., ingress: ..., egress: ..., lsrs: [...]}", line))
                continue
            if i >= len(got):
                out.append(Problem(lab.source, field, f"the truth has {len(got)} tunnel(s), none for "
                                   f"{_brief(w)}; fix the lab or drop this entry", line))
                continue
            bad = [k for k, v in w.items() if got[i].get(k) != v]
            if bad:
                out.append(Problem(lab.source, f"{field}.{bad[0]}", f"expected {w[bad[0]]!r}, the truth shows "
                                   f"{got[i].get(bad[0])!r} ({_brief(got[i])}); fix the lab or its expect block",
                                   line))
        if len(got) > len(want):
            out.append(Problem(lab.source, f"expect.{key}", f"the truth shows {len(got)} tunnel(s), the block lists "
                               f"{len(want)}; the first not listed: {_brief(got[len(want)])}; add it", line))
    score = exp.get("score") or {}
    if not isinstance(score, dict):
        out.append(Problem(lab.source, "expect.score", f"expected the score's totals to check, got {score!r}; "
                           "write {detected: N, ...} (names of the scorer's totals)", line))
    elif totals is not None:
        for k, v in score.items():
            if totals.get(k) != v:
                out.append(Problem(lab.source, f"expect.score.{k}", f"expected {v!r}, the run's score gives "
                                   f"{totals.get(k)!r}; fix the lab, the detector or the expect block", line))
    return out


def _expect_line(source: str) -> int | None:
    """The line of the lab file's `expect:` key (None if the file cannot be read)."""
    try:
        with open(source, errors="replace") as f:
            for n, ln in enumerate(f, 1):
                if ln.startswith("expect:"):
                    return n
    except OSError:
        return None
    return None


def _brief(t: Doc) -> str:
    lsrs = " ".join(t.get("lsrs") or []) or "(none)"
    return f"{t.get('class')} {t.get('ingress')} -> {lsrs} -> {t.get('egress')}"
