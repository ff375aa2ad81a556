"""The knobs' static types, generated from testbed/knobs/*.yaml by `python -m testbed.knobs --write`;
do not edit (a test checks it is up to date). mypy reads these where the runtime builds the same
types from the declarations: testbed.vendors.Personality (make_dataclass) and the choice knobs'
Literal types (testbed.lab.schema)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Ldp = Literal["all", "loopbacks"]
Popping = Literal["php", "uhp"]
LseExpiry = Literal["answer", "drop"]
PhpExpiry = Literal["pop-first", "labelled"]
SourceTimeExceeded = Literal["outgoing", "probed", "incoming"]
SourceUnreachable = Literal["outgoing", "probed", "incoming"]
SourceEchoReply = Literal["outgoing", "probed", "incoming"]
LabelOrder = Literal["sequential", "router"]
TunnelScope = Literal["all", "multi-label", "udp"]
IpId = Literal["shared", "per-interface", "zero", "random"]
StackedPushTtl = Literal["copy", 255]
EchoReplyIpId = Literal["counter", "request"]


@dataclass(frozen=True)
class Personality:
    """A vendor's behaviour: one field per knob of testbed/knobs (see testbed.knobs)."""
    name: str
    description: str
    ttl_time_exceeded: int
    ttl_echo_reply: int
    ttl_unreachable: int
    ttl_other: int
    ldp: Ldp
    ttl_propagate: bool
    rfc4950: bool
    popping: Popping
    icmp_tunneling: bool
    lse_expiry: LseExpiry
    min_ttl_at_pop: bool
    decrement_at_ingress: bool
    php_expiry: PhpExpiry
    explicit_null_expiry: bool
    pipe_lse_ttl: int
    icmp_rate_limit: int
    quote_bytes: int
    source_time_exceeded: SourceTimeExceeded
    source_unreachable: SourceUnreachable
    source_echo_reply: SourceEchoReply
    label_base: int
    label_order: LabelOrder
    srgb_base: int
    tunnel_scope: TunnelScope
    rfc4950_unreachable: bool
    php_quote_popped: bool
    php_ttl_writeback: bool
    answer_time_exceeded: bool
    answer_unreachable: bool
    answer_echo: bool
    limit_time_exceeded: tuple[float, float, str] | None
    limit_unreachable: tuple[float, float, str] | None
    limit_echo_reply: tuple[float, float, str] | None
    ip_id: IpId
    entropy_label: bool
    ttl_propagate_local: bool | None
    no_decrement_ttl: bool
    stacked_push_ttl: StackedPushTtl
    echo_reply_ip_id: EchoReplyIpId
    is_host: bool = False
