"""The lab-file schema (pydantic): shapes and types of what a person writes by hand.

Cross-references (a link to a missing node, overlapping addresses, ...) are checked
afterwards in build.py, where the whole lab is known.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from testbed import knobs
from testbed.inputs import NAME  # the one name rule (lab, node, domain, instance names)
from testbed.strict import Bool, Float, Int
from testbed.yamlpos import problems_of  # noqa: F401 (pydantic errors as Problems; imported from here too)

# numbers are strict (true is not 1, 1.5 is not 1) and finite (testbed.strict); every range
# is in RANGES, which the loader quotes in its messages
# the vendor knobs a lab file sets outside `behaviour:` (a domain's ldp, ttl_propagate, rfc4950,
# popping, icmp_tunneling; a router's icmp_rate_limit and icmp_source) take their types and
# allowed values from the knob declarations (testbed/knobs/<knob>.yaml)
# (built at run time from the declarations: mypy reads the same types from testbed/knobs/static.py)
_KNOB = {k.name: k for k in knobs.all_knobs()}
if TYPE_CHECKING:
    from testbed.knobs.static import Ldp as LdpPolicy, Popping, SourceTimeExceeded as SourceMode
    IcmpRateLimit = int
else:
    LdpPolicy, Popping = _KNOB["ldp"].annotation, _KNOB["popping"].annotation
    IcmpRateLimit = _KNOB["icmp_rate_limit"].annotation
    SourceMode = _KNOB["source_time_exceeded"].annotation
RANGES = {
    "cost": "an integer in 1..65535 (IGP cost)",
    "delay_ms": "a number in 0..10000 (milliseconds)",
    "jitter_ms": "a number in 0..10000 (milliseconds; each frame's delay is delay_ms +/- up to jitter_ms)",
    "loss": "a number in 0..1 (the share of frames lost on each crossing, e.g. 0.3)",
    "seed": "an integer in 0..4294967295 (seeds the links' loss and jitter)",
    "prefix": "an integer: 30 or 31 for a point-to-point link, 8..29 for a LAN",
    "p2p_prefix": "30 or 31",
    **{k: _KNOB[k].allowed for k in ("ttl_propagate", "rfc4950", "icmp_tunneling", "icmp_rate_limit")},
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Defaults(Strict):
    vendor: str = "cisco"
    p2p_prefix: Literal[30, 31] = 31
    cost: Int = Field(default=10, ge=1, le=65535)
    delay_ms: Float = Field(default=0.05, ge=0, le=10000)
    jitter_ms: Float = Field(default=0.0, ge=0, le=10000)
    loss: Float = Field(default=0.0, ge=0, le=1)


class Addressing(Strict):
    loopbacks: IPv4Network = IPv4Network("11.255.0.0/16")
    links: IPv4Network = IPv4Network("11.0.0.0/16")
    lans: IPv4Network = IPv4Network("12.0.0.0/16")
    # 6PE (a domain with sixpe: true): every customer-side link (one end outside the 6PE domain)
    # gets the /64 number k of this prefix (k: the link's position in links:), its ends ::1, ::2, ...
    ipv6: IPv6Network = IPv6Network("2001:db8:600::/48")


def _label(v: str) -> str:
    """A display name: the data's own spelling (Unicode, NFC), one line, no control characters."""
    import unicodedata
    v = unicodedata.normalize("NFC", v)
    bad = [c for c in v if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")]
    if bad:
        raise ValueError(f"a label is one line of printable text; {bad[0]!r} is not (remove it)")
    if not v.strip():
        raise ValueError("a label is not empty; remove the field to use the router's name")
    return v


Label = Annotated[str, Field(max_length=64), AfterValidator(_label)]


class IcmpSourceSpec(Strict):
    """Per-router override of the vendor's ICMP source-address rule (testbed/vendors/*.yaml)."""
    time_exceeded: SourceMode | None = None
    unreachable: SourceMode | None = None
    echo_reply: SourceMode | None = None


class RouterSpec(Strict):
    vendor: str | None = None
    loopback: IPv4Address | None = None
    icmp_rate_limit: IcmpRateLimit | None = None
    icmp_source: IcmpSourceSpec | None = None
    behaviour: dict[str, object] | None = None   # vendor behaviour knobs for this router (testbed/vendors)
    pos: tuple[Float, Float] | None = None       # drawing position (longitude, latitude when imported)
    label: Label | None = None         # display name in pictures (the data's own name, Unicode kept)


class HostSpec(Strict):
    pass


class Endpoint(Strict):
    node: str
    address: IPv4Interface | None = None
    cost: Int | None = Field(default=None, ge=1, le=65535)   # this end's outgoing IGP cost (asymmetric links)


class LinkSpec(Strict):
    endpoints: list[str | Endpoint] | None = None
    lan: list[str | Endpoint] | None = None
    cost: Int | None = Field(default=None, ge=1, le=65535)
    prefix: Int | None = Field(default=None, ge=8, le=31)
    delay_ms: Float | None = Field(default=None, ge=0, le=10000)
    jitter_ms: Float | None = Field(default=None, ge=0, le=10000)
    loss: Float | None = Field(default=None, ge=0, le=1)
    name: str | None = Field(default=None, pattern=NAME)

    @model_validator(mode="after")
    def one_kind(self) -> LinkSpec:
        if (self.endpoints is None) == (self.lan is None):
            raise ValueError("a link has either 'endpoints' (point-to-point, two nodes) or 'lan' (two or more)")
        if self.endpoints is not None and len(self.endpoints) != 2:
            raise ValueError(f"'endpoints' lists exactly two nodes, got {len(self.endpoints)}; use 'lan' for more")
        if self.lan is not None and len(self.lan) < 2:
            raise ValueError("a 'lan' has at least two nodes")
        if self.endpoints is not None and self.prefix is not None and self.prefix not in (30, 31):
            raise ValueError("point-to-point 'prefix' is 30 or 31")
        if self.lan is not None and self.prefix is not None and self.prefix > 29:
            raise ValueError("a LAN 'prefix' is at most 29")
        return self


class DomainSpec(Strict):
    routers: list[str] = Field(min_length=2)
    ldp: LdpPolicy | None = None
    ttl_propagate: Bool | None = None
    rfc4950: Bool | None = None
    popping: Popping | None = None
    icmp_tunneling: Bool | None = None
    external: Literal["bgp", "igp"] = "bgp"
    vpn: Bool = False                  # L3VPN: BGP routes carry a VPN label under the transport label
    sr: Bool = False                   # SR-MPLS: node SIDs from the SRGB instead of LDP labels
    rsvp: list[list[str]] = []         # LDP over RSVP: [[head, tail], ...] RSVP-TE LSPs inside the domain
    bgp_free: Bool = False             # BGP-free core: routers with no link out of the domain have no
                                       # route to external (customer) prefixes
    sixpe: Bool = False                # 6PE (RFC 4798): IPv6 customers over this IPv4-only core, the
                                       # IPv6 explicit-null label 2 under the transport label
    behaviour: dict[str, object] | None = None   # vendor behaviour knobs for the domain's routers


class ProbeSpec(Strict):
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)

    @field_validator("to", mode="before")
    @classmethod
    def one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v


class LabSpec(Strict):
    name: str | None = Field(default=None, pattern=NAME)
    description: str = Field(default="", max_length=500)
    expect: dict[str, object] | None = None          # what the library promises (checked in tests)
    defaults: Defaults = Defaults()
    addressing: Addressing = Addressing()
    routers: dict[str, RouterSpec | None] = Field(min_length=1)
    hosts: dict[str, HostSpec | None] = {}
    links: list[LinkSpec | list[str | Endpoint]] = Field(min_length=1)
    mpls: dict[str, DomainSpec] = {}
    probes: list[ProbeSpec] = []
    control_plane: Literal["computed", "frr"] = "computed"
    seed: Int = Field(default=1, ge=0, le=4294967295)   # impairments (loss, jitter) draw from it
