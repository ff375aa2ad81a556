"""The vendor-table schema (pydantic, with the lab files' strict types): the shape of one
testbed/vendors/<vendor>.yaml as written. A table with `base:` overrides its base section by
section, so every field is optional here; the merged table must then be complete (checked
in testbed.vendors.load, naming the field and the tables it was looked for in)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from testbed.lab.schema import Bool, Float, Int

SourceMode = Literal["outgoing", "probed", "incoming"]
TTL = Field(None, ge=1, le=255)
RANGES = {
    "time_exceeded": "an integer in 1..255 (the initial TTL of the router's time-exceeded)",
    "echo_reply": "an integer in 1..255 (the initial TTL of its echo replies)",
    "unreachable": "an integer in 1..255 (the initial TTL of its destination-unreachable)",
    "other": "an integer in 1..255 (the initial TTL of its other packets)",
    "pipe_lse_ttl": "an integer in 0..255 (the LSE-TTL an ingress pushes in pipe mode)",
    "icmp_rate_limit": "an integer in 0..1000000 (ICMP errors per second; 0: no limit)",
    "quote_bytes": "an integer in 28..1472 (bytes of the offending datagram an ICMP error quotes)",
    "label_base": "an integer in 16..1048575 (the first dynamic label)",
    "srgb_base": "an integer in 16..1048575 (the SR global block's first label)",
    "rate": "a number > 0 (messages per second)",
    "burst": "a number >= 1 (tokens)",
    "stacked_push_ttl": "copy or 255 (the TTL of a new top label pushed over an existing stack)",
}
for _b in ("ttl_propagate", "rfc4950", "icmp_tunneling", "min_ttl_at_pop", "decrement_at_ingress",
           "explicit_null_expiry", "rfc4950_unreachable", "php_quote_popped", "php_ttl_writeback",
           "answer_time_exceeded", "answer_unreachable", "answer_echo", "entropy_label", "host",
           "no_decrement_ttl"):
    RANGES[_b] = "true or false"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InitialTTL(Strict):
    time_exceeded: Int | None = TTL
    echo_reply: Int | None = TTL
    unreachable: Int | None = TTL
    other: Int | None = TTL


class Mpls(Strict):
    ldp: Literal["all", "loopbacks"] | None = None
    ttl_propagate: Bool | None = None
    rfc4950: Bool | None = None
    popping: Literal["php", "uhp"] | None = None
    icmp_tunneling: Bool | None = None
    lse_expiry: Literal["answer", "drop"] | None = None
    min_ttl_at_pop: Bool | None = None
    decrement_at_ingress: Bool | None = None
    php_expiry: Literal["pop-first", "labelled"] | None = None
    explicit_null_expiry: Bool | None = None
    pipe_lse_ttl: Int | None = Field(None, ge=0, le=255)


class Icmp(Strict):
    icmp_rate_limit: Int | None = Field(None, ge=0, le=1_000_000)
    quote_bytes: Int | None = Field(None, ge=28, le=1472)
    source_time_exceeded: SourceMode | None = None
    source_unreachable: SourceMode | None = None
    source_echo_reply: SourceMode | None = None


class Limit(Strict):
    rate: Int | Float = Field(gt=0)
    burst: Int | Float | None = Field(None, ge=1)
    per: Literal["router", "interface"] = "router"


class Behaviour(Strict):
    """The behaviour catalogue (testbed/vendors/README.md); a lab file sets the same knobs."""
    label_base: Int | None = Field(None, ge=16, le=1_048_575)
    label_order: Literal["sequential", "router"] | None = None
    srgb_base: Int | None = Field(None, ge=16, le=1_048_575)
    tunnel_scope: Literal["all", "multi-label", "udp"] | None = None
    rfc4950_unreachable: Bool | None = None
    php_quote_popped: Bool | None = None
    php_ttl_writeback: Bool | None = None
    answer_time_exceeded: Bool | None = None
    answer_unreachable: Bool | None = None
    answer_echo: Bool | None = None
    limit_time_exceeded: Limit | None = None
    limit_unreachable: Limit | None = None
    limit_echo_reply: Limit | None = None
    ip_id: Literal["shared", "per-interface", "zero", "random"] | None = None
    entropy_label: Bool | None = None
    ttl_propagate_local: Bool | None = None
    no_decrement_ttl: Bool | None = None
    stacked_push_ttl: Literal["copy", 255] | None = None


class VendorFile(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,23}$")
    description: str = Field(max_length=300)
    base: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,23}$")
    host: Bool = False
    initial_ttl: InitialTTL = InitialTTL()
    mpls: Mpls = Mpls()
    icmp: Icmp = Icmp()
    behaviour: Behaviour = Behaviour()
