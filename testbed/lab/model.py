"""The resolved lab: every node, interface, address and MPLS knob decided."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, ip_address
from typing import Any, TypedDict

from testbed.vendors import Personality


@dataclass(slots=True)     # no __dict__ per object: a 100,000-router lab has 300,000 interfaces
class Interface:
    node: str
    name: str                 # eth0, eth1, ... inside the node
    address: IPv4Interface
    link: "Link"
    mac: bytes
    cost: int
    address6: IPv6Interface | None = None   # 6PE labs: the customer side's IPv6 address

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def network(self) -> IPv4Network:
        return self.address.network

    def peers(self) -> list["Interface"]:
        return [i for i in self.link.interfaces if i is not self]


@dataclass(slots=True)
class Link:
    name: str
    kind: str                 # "p2p" or "lan"
    network: IPv4Network
    cost: int
    delay_ms: float
    interfaces: list[Interface] = field(default_factory=list)
    down: bool = False        # failed during a run (testbed.experiments.failure): no adjacency, no frames
    jitter_ms: float = 0.0    # each frame's delay: delay_ms +/- up to jitter_ms (testbed/runtimes/impair.py)
    loss: float = 0.0         # share of frames lost per crossing
    delay_set: bool = False   # delay_ms written in the lab file (link or defaults): the netns engine applies it

    @property
    def nodes(self) -> list[str]:
        return [i.node for i in self.interfaces]


@dataclass
class MplsDomain:
    name: str
    routers: list[str]
    ldp: str
    ttl_propagate: bool
    rfc4950: bool
    popping: str
    icmp_tunneling: bool
    external: str
    explicit: dict[str, bool]   # knob -> set in the lab file (vs vendor default)
    vpn: bool = False
    sr: bool = False
    behaviour: dict[str, Any] = field(default_factory=dict)   # knob -> value (its type: the knob's declaration)
    rsvp: list[tuple[str, str]] = field(default_factory=list)     # [(head, tail)]: LDP over RSVP segments
    bgp_free: bool = False
    sixpe: bool = False       # 6PE: IPv6 customer routes cross the domain with label 2 under the transport label


class DomainKnobs(TypedDict):
    """The knobs a router in two MPLS domains keeps per domain (the labels it advertises there)."""
    ldp: str
    popping: str


@dataclass(slots=True)
class Node:
    name: str
    kind: str                 # "router" or "host"
    vendor: str
    personality: Personality
    loopback: IPv4Address | None
    interfaces: list[Interface] = field(default_factory=list)
    domain: str | None = None            # its MPLS domain (the later one for a router in two)
    domains: list[str] = field(default_factory=list)       # every domain it is in, in file order (two: back to back)
    domain_knobs: dict[str, DomainKnobs] = field(default_factory=dict)  # domain -> {ldp, popping} in force there
    # per-router MPLS behaviour actually in force (domain knobs over vendor defaults)
    ldp: str = "loopbacks"
    popping: str = "php"
    ttl_propagate: bool = True
    rfc4950: bool = False
    icmp_tunneling: bool = False
    icmp_rate_limit: int = 0
    # ICMP source address rule per message kind (vendor table, per-router override)
    icmp_source: dict[str, str] = field(default_factory=lambda: {"time_exceeded": "outgoing",
                                                       "unreachable": "outgoing", "echo_reply": "probed"})
    gateway: IPv4Address | None = None   # hosts only
    # knobs set in the lab file (domain, then router): knob -> value, of the type the knob's declaration gives
    # (testbed/knobs/static.py), so Any: dataclasses.replace(personality, **behaviour) is checked at run time
    behaviour: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] | None = None   # drawing position from the lab file (routers)
    label: str | None = None                 # display name from the lab file (Unicode), else the name

    @property
    def display(self) -> str:
        """The name pictures show: the lab file's `label` (the data's own spelling) or the node name."""
        return self.label or self.name

    @property
    def is_router(self) -> bool:
        return self.kind == "router"

    def addresses(self) -> list[IPv4Address]:
        out = [i.ip for i in self.interfaces]
        if self.loopback is not None:
            out.insert(0, self.loopback)
        return out

    def addresses6(self) -> list[IPv6Address]:
        """The node's IPv6 addresses (6PE labs: its customer-side interfaces), in interface order."""
        return [i.address6.ip for i in self.interfaces if i.address6 is not None]

    def primary_address(self) -> IPv4Address:
        if self.loopback is not None:
            return self.loopback
        return self.interfaces[0].ip

    def iface(self, name: str) -> Interface:
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(name)


@dataclass
class Probe:
    source: str
    targets: list[IPv4Address]
    target_names: list[str]
    targets6: list[tuple[IPv6Address, str]] = field(default_factory=list)   # 6PE labs: [(IPv6 address, node name)] of the targets


@dataclass
class Lab:
    name: str
    description: str
    source: str               # file it came from
    params: dict[str, Any]    # the template parameters (testbed.lab.params: each a YAML scalar or list)
    nodes: dict[str, Node]
    links: list[Link]
    domains: dict[str, MplsDomain]
    probes: list[Probe]
    p2p_prefix: int
    control_plane: str
    expect: dict[str, object] | None = None
    seed: int = 1             # the impairments' random draws (loss, jitter)
    options: dict[str, bool] = field(default_factory=dict)   # how it was loaded (no_limits, local_first): workers reload it so

    @property
    def routers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_router]

    @property
    def hosts(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.is_router]

    def owner_of(self, address: object) -> str | None:
        """The node an address belongs to (router identity for scoring)."""
        addr = ip_address(str(address))
        if addr.version == 6:
            # an IPv4-mapped source (::ffff:a.b.c.d) is the IPv4 address of a 6PE LSR
            addr = addr.ipv4_mapped or addr
        return self.address_map().get(addr)

    def address_map(self) -> dict[IPv4Address | IPv6Address, str]:
        if not hasattr(self, "_addr_map"):
            m: dict[IPv4Address | IPv6Address, str] = {}
            for n in self.nodes.values():
                for a in n.addresses() + n.addresses6():
                    m[a] = n.name
            self._addr_map = m
        return self._addr_map

    def shared_routers(self) -> dict[str, list[str]]:
        """Routers in two MPLS domains (back-to-back LSPs) -> their domains, in file order."""
        return {n.name: list(n.domains) for n in self.routers if len(n.domains) > 1}

    def domain_of(self, node: str) -> MplsDomain | None:
        d = self.nodes[node].domain
        return self.domains[d] if d else None


def make_mac(lab: str, node: str, ifname: str) -> bytes:
    h = hashlib.sha1(f"{lab}/{node}/{ifname}".encode()).digest()
    return bytes([0x02, h[0], h[1], h[2], h[3], h[4]])
