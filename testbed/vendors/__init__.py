"""Vendor personalities: data tables (one YAML file per vendor) read by one engine.

Nothing here branches on a vendor's name; every behaviour is a field of the table.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SOURCE_MODES = ("outgoing", "probed", "incoming")
SOURCE_KINDS = ("time_exceeded", "unreachable", "echo_reply")


@dataclass(frozen=True)
class Personality:
    name: str
    description: str
    # initial TTL of each kind of locally generated packet
    ttl_time_exceeded: int
    ttl_echo_reply: int
    ttl_unreachable: int
    ttl_other: int
    # MPLS defaults (a domain may override the first five)
    ldp: str                  # "all" (independent control, every IGP prefix) or "loopbacks"
    ttl_propagate: bool       # uniform (True) or pipe (False) at the ingress
    rfc4950: bool             # quote the received label stack in ICMP errors
    popping: str              # "php" (implicit null) or "uhp" (explicit null)
    icmp_tunneling: bool      # an LSR sends its ICMP errors along the LSP (RFC 3032 2.3.2)
    lse_expiry: str           # what an LSR does when the LSE-TTL expires: tunnel | reply | drop
    min_ttl_at_pop: bool      # IP-TTL := min(IP-TTL, LSE-TTL) when the last label is popped
    decrement_at_ingress: bool  # the ingress decrements the IP-TTL before pushing
    php_expiry: str           # penultimate hop with an expiring label: "pop-first" or "labelled"
    explicit_null_expiry: bool  # after popping explicit null, may the IP-TTL expire here?
    pipe_lse_ttl: int         # LSE-TTL pushed when not propagating
    icmp_rate_limit: int      # ICMP errors per second, 0 = unlimited
    quote_bytes: int          # bytes of the offending datagram quoted in ICMP errors
    # ICMP source address per message kind (SOURCE_MODES): "outgoing" = the interface whose
    # route leads back to the prober (RFC 1812 4.3.2.4), "probed" = the address the packet was
    # sent to when it was delivered locally ("outgoing" otherwise), "incoming" = the interface
    # the packet arrived on
    source_time_exceeded: str = "outgoing"
    source_unreachable: str = "outgoing"
    source_echo_reply: str = "probed"
    is_host: bool = False     # a plain Linux host: never forwards


@lru_cache(maxsize=None)
def load(name: str) -> Personality:
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(name)
    raw = yaml.safe_load(path.read_text())
    flat = {"name": raw["name"], "description": raw["description"], "is_host": raw.get("host", False)}
    for kind, ttl in raw["initial_ttl"].items():
        flat[f"ttl_{kind}"] = ttl
    flat.update(raw["mpls"])
    flat.update(raw["icmp"])
    for k in ("source_time_exceeded", "source_unreachable", "source_echo_reply"):
        if flat.get(k, SOURCE_MODES[0]) not in SOURCE_MODES:
            raise ValueError(f"{path}: icmp.{k} must be one of {', '.join(SOURCE_MODES)}, got {flat[k]!r}")
    known = {f.name for f in fields(Personality)}
    unknown = set(flat) - known
    if unknown:
        raise ValueError(f"{path}: unknown vendor fields {sorted(unknown)}")
    return Personality(**flat)


def names(routers_only: bool = True) -> list[str]:
    out = []
    for p in sorted(HERE.glob("*.yaml")):
        if routers_only and load(p.stem).is_host:
            continue
        out.append(p.stem)
    return out
