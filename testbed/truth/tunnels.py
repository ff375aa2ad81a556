"""Cut a walked path into MPLS tunnels and name each one's class (tnt.md section 1)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from testbed.controlplane.labelop import IPV6_EXPLICIT_NULL
from testbed.controlplane.labelop import strip_explicit_null
from testbed.controlplane.tables import EXPLICIT_NULL

from .walk import Step, addr_str

if TYPE_CHECKING:
    from testbed.controlplane.tables import ControlPlane
    from testbed.lab.model import Lab, Node

CLASSES = ("explicit", "implicit", "opaque", "invisible-php", "invisible-uhp")


class InnerTunnel(TypedDict):
    """A tunnel in a tunnel (LDP over RSVP, _inner_tunnels): as the truth document lists it."""
    head: str
    tail: str | None
    lsrs: list[str]
    push_ttl: str | int          # the head's stacked_push_ttl: "copy" or 255
    hidden: bool


@dataclass
class Tunnel:
    cls: str
    ingress: str
    egress: str
    lsrs: list[str]
    ingress_addr: str | None
    egress_addr: str | None
    lsr_addrs: list[str]
    domain: str | None
    silent: bool = False             # LSRs drop expiring packets silently (Linux): TNT cannot see them
    ending: str = "php"              # php | uhp | abrupt
    notes: list[str] = field(default_factory=list)
    stack_depth: int = 1             # most labels the packet carried in this tunnel (2: L3VPN)
    inner: list[InnerTunnel] = field(default_factory=list)   # tunnels in this tunnel (LDP over RSVP): head, tail,
                                                # LSRs, the head's stacked_push_ttl, hidden or not
    no_decrement: bool = False       # the ingress has Junos no-decrement-ttl (pipe for its own packets too)
    family: str = "ipv4"             # "6pe": IPv6 over the IPv4 core (label 2 under the transport label)

    @property
    def hidden(self) -> bool:
        return self.cls in ("opaque", "invisible-php", "invisible-uhp")

    def to_json(self) -> dict[str, Any]:
        return {"class": self.cls, "ingress": self.ingress, "egress": self.egress, "lsrs": self.lsrs,
                "ingress_address": self.ingress_addr, "egress_address": self.egress_addr,
                "lsr_addresses": self.lsr_addrs, "domain": self.domain, "silent": self.silent,
                "ending": self.ending, "hidden": self.hidden, "notes": self.notes, "stack_depth": self.stack_depth,
                "inner": self.inner, "no_decrement": self.no_decrement,
                **({"family": self.family} if self.family != "ipv4" else {})}


def _answers(node: Node) -> bool:
    """Does this LSR send a time-exceeded when a label's TTL expires (vendor knobs)?"""
    p = node.personality
    return p.lse_expiry != "drop" and p.answer_time_exceeded


def tunnels_on(lab: Lab, path: list[Step], cp: ControlPlane | None = None) -> list[Tunnel]:
    """The tunnels of a walked path. With the control plane `cp`, an untagged pop is known to
    cut its LSP short (docs/tunnels.md) also where the path leaves the domain toward a FEC that
    belongs to the domain; without it, only where the next router is in the popper's domain."""
    out: list[Tunnel] = []
    i = 0
    while i < len(path):
        if not path[i].labels_in:
            i += 1
            continue
        j = i
        while j < len(path) and path[j].labels_in:
            j += 1
            if j < len(path) and path[j - 1].action == "pop-explicit-null" and \
                    strip_explicit_null(path[j - 1].labels_in) == len(path[j - 1].labels_in):
                break          # a UHP egress that pushes again (back-to-back LSPs): the next LSP starts here
        labelled = path[i:j]            # routers that received the packet labelled
        ingress = path[i - 1]
        last = labelled[-1]
        ing = lab.nodes[ingress.node]
        notes: list[str] = []
        egress: Step | None
        propagate = ing.ttl_propagate
        if ingress.action == "source" and ing.personality.ttl_propagate_local is not None:
            # the ingress router sent this packet itself (a router vantage point): the split
            # pipe's local setting applies (Cisco `no mpls ip propagate-ttl forwarded|local`)
            propagate = ing.personality.ttl_propagate_local
        uniform = propagate and not ing.personality.no_decrement_ttl
        if last.action in ("untagged", "pop-explicit-null"):
            ending = "uhp" if last.labels_in[0] == EXPLICIT_NULL else (
                "php" if last.labels_in == (IPV6_EXPLICIT_NULL,) else "abrupt")   # 6PE: PHP, then label 2
            after = path[j].node if j < len(path) else None
            cut = ending == "abrupt" and last.action == "untagged" and _cut(lab, cp, last, after)
            if cut and uniform:
                # an LSP cut inside its domain (mixed LDP policies, docs/tunnels.md): the popper
                # decrements the label's TTL like any LSR (a probe expires there on the label,
                # quoting it) and hands the packet unlabelled to the next router of the same
                # domain, as a PHP hop does; that router is the first to see the IP header: the
                # egress. At a domain's edge the popper stays the egress (the LSP's exit LER).
                egress, lsrs = path[j], labelled
            else:
                egress, lsrs = last, labelled[:-1]
            if cut:
                notes.append(_cut_note(lab, cp, last, after))
        else:
            egress = path[j] if j < len(path) else None
            lsrs = labelled
            ending = "php"
        lsr_nodes = [lab.nodes[s.node] for s in lsrs]
        silent = bool(lsr_nodes) and all(not _answers(n) for n in lsr_nodes)
        if ing.personality.no_decrement_ttl:
            # Junos no-decrement-ttl: LSE-TTL 255 for forwarded and own packets alike
            propagate = False
            notes.append("no-decrement-ttl at the ingress: the LSP costs two hops (ingress and egress), "
                         "its penultimate hop pops without the TTL write-back")
        if propagate:
            quoting = [n.rfc4950 for n in lsr_nodes if _answers(n)]
            if quoting and all(quoting):
                cls = "explicit"
            elif quoting and any(quoting):
                cls = "explicit"
                notes.append("heterogeneous: some LSRs quote labels, some do not")
            else:
                cls = "implicit"
        else:
            if ending == "abrupt":
                assert egress is not None          # an abrupt ending is a pop on the path: its egress is a step
                eg = lab.nodes[egress.node]
                cls = "opaque" if eg.rfc4950 else "invisible-php"
            elif ending == "uhp":
                cls = "invisible-uhp"
            else:
                cls = "invisible-php"
        if silent:
            notes.append("LSRs drop packets whose LSE-TTL expires (Linux) or send no time-exceeded: "
                         "they never answer")
        inner = _inner_tunnels(lab, labelled, propagate)
        for t in inner:
            notes.append(f"{t['head']} pushes a label over the stack toward {t['tail']} (LDP over RSVP) with "
                         f"TTL {t['push_ttl']}: {', '.join(t['lsrs'])} "
                         + ("never see the probe's TTL expire (hidden)" if t["hidden"] else "stay visible"))
        out.append(Tunnel(cls=cls, ingress=ingress.node, egress=egress.node if egress else "?",
                          lsrs=[s.node for s in lsrs],
                          ingress_addr=addr_str(ingress.in_addr) if ingress.in_addr else None,
                          egress_addr=addr_str(egress.in_addr) if egress and egress.in_addr else None,
                          lsr_addrs=[addr_str(s.in_addr) for s in lsrs], domain=_domain(lab, ing, labelled[0]),
                          silent=silent,
                          ending=ending, notes=notes, stack_depth=max(len(s.labels_in) for s in labelled),
                          inner=inner, no_decrement=bool(ing.personality.no_decrement_ttl),
                          family="6pe" if any(IPV6_EXPLICIT_NULL in s.labels_in for s in labelled) else "ipv4"))
        i = j
    return out


def _domain(lab: Lab, ing: Node, first: Step) -> str | None:
    """The tunnel's domain: the one its ingress shares with the first router that got the packet
    labelled (a router in two domains, back to back, is the ingress of the later LSP)."""
    common = [d for d in ing.domains if d in lab.nodes[first.node].domains]
    return common[0] if common else ing.domain


def _fec_owners(lab: Lab, cp: ControlPlane | None, step: Step) -> tuple[str | None, list[str]]:
    """The FEC of the label `step` arrived with at its router, and the routers owning it."""
    if cp is None:
        return None, []
    e = cp.tables[step.node].label_entry(step.labels_in[0])
    if e is None or e.fec is None:
        return None, []
    owners: dict[str, list[str]] | None = cp.__dict__.get("_fec_owners")   # prefix -> routers, once per control plane
    if owners is None:
        owners = {}
        for r in lab.routers:
            if r.loopback is not None:
                owners.setdefault(f"{r.loopback}/32", []).append(r.name)
            for i in r.interfaces:
                owners.setdefault(str(i.network), []).append(r.name)
        cp.__dict__["_fec_owners"] = owners
    return str(e.fec), owners.get(str(e.fec), [])


def _cut(lab: Lab, cp: ControlPlane | None, last: Step, after: str | None) -> bool:
    """An untagged pop that cuts its LSP short inside the popper's domain: the next router is a
    router of the same domain (it advertised no label: mixed LDP policies), or the FEC belongs to
    another router of the domain and the IGP path to it leaves the domain here. Not a cut: an
    LSP that ends at the domain's edge toward a FEC outside it (opaque, an L3VPN's VPN label)."""
    ds = set(lab.nodes[last.node].domains)
    if not ds:
        return False
    if after is not None and after in lab.nodes and lab.nodes[after].is_router and ds & set(lab.nodes[after].domains):
        return True
    _, owners = _fec_owners(lab, cp, last)
    return any(o != last.node and ds & set(lab.nodes[o].domains) for o in owners)


def _cut_note(lab: Lab, cp: ControlPlane | None, last: Step, after: str | None) -> str:
    """Why an LSP is cut at the popper: its next hop gave no label."""
    popper = last.node
    p = lab.nodes[popper]
    a = lab.nodes[after] if after in lab.nodes else None
    if a is not None and a.is_router and a.domain == p.domain:
        if a.ldp != p.ldp:
            return (f"LSP cut by mixed LDP policies: {popper} (ldp {p.ldp}) binds this FEC but its next hop "
                    f"{after} (ldp {a.ldp}) advertises no label for it, so {popper} pops it untagged "
                    "(docs/tunnels.md)")
        return (f"LSP cut inside domain {p.domain}: the next hop {after} advertises no label for this FEC, so "
                f"{popper} pops it untagged (docs/tunnels.md)")
    fec, owners = _fec_owners(lab, cp, last)
    return (f"LSP cut at the edge of domain {p.domain}: its FEC {fec} belongs to {', '.join(owners)} in the domain, "
            f"but the IGP's path there leaves the domain at {popper} (next hop {after}, no label), so {popper} "
            "pops it untagged (docs/tunnels.md)")


def _inner_tunnels(lab: Lab, labelled: list[Step], propagate: bool) -> list[InnerTunnel]:
    """Runs of the tunnel where a router pushed a label over the stack (action swap-push):
    head, tail (the first router that gets the outer depth back), the LSRs between. With the
    head's stacked_push_ttl 255 (Junos) the inner LSRs decrement a TTL of 255 and the pop
    before the tail keeps the lower label's (min): they never answer a probe of the outer
    LSP; with copy (RFC 3443 uniform) they do, if the outer LSP propagates the TTL."""
    out: list[InnerTunnel] = []
    for k, st in enumerate(labelled):
        if st.action != "swap-push":
            continue
        depth = len(st.labels_in)
        j = k + 1
        while j < len(labelled) and len(labelled[j].labels_in) > depth:
            j += 1
        push_ttl = lab.nodes[st.node].personality.stacked_push_ttl
        out.append({"head": st.node, "tail": labelled[j].node if j < len(labelled) else None,
                    "lsrs": [x.node for x in labelled[k + 1:j]], "push_ttl": push_ttl,
                    "hidden": push_ttl != "copy" or not propagate})
    return out
