"""Vendor personalities: data tables (one YAML file per vendor) read by one engine.

Nothing here branches on a vendor's name; every behaviour is a field of the table.
"""
from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = "UTNT_LAB_VENDORS"
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
    lse_expiry: str           # an LSR whose LSE-TTL expires: answer (where to: icmp_tunneling) | drop
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
    # ---- the behaviour catalogue (issue 13); every field below can be set per vendor (YAML
    # `behaviour:`), per MPLS domain and per router (lab file `behaviour:`)
    label_base: int = 16              # first dynamic label the router allocates
    label_order: str = "sequential"   # sequential (FECs by address) | router (a router-specific order)
    srgb_base: int = 16000            # SR-MPLS global block: node SID label = srgb_base + index
    tunnel_scope: str = "all"         # which time-exceeded an icmp_tunneling LSR tunnels:
                                      # all | multi-label (ttl expiration pop) | udp (SR OS)
    rfc4950_unreachable: bool = True  # quote the label stack in destination-unreachable too
    php_quote_popped: bool = True     # a penultimate hop that pops first still quotes the label
    php_ttl_writeback: bool = True    # PHP writes the LSE-TTL into the IP header (min); Junos
                                      # no-propagate-ttl pops without it
    answer_time_exceeded: bool = True
    answer_unreachable: bool = True
    answer_echo: bool = True
    limit_time_exceeded: tuple | None = None   # (per second, burst, "router" | "interface")
    limit_unreachable: tuple | None = None
    limit_echo_reply: tuple | None = None
    ip_id: str = "shared"             # shared | per-interface | zero | random
    entropy_label: bool = False       # an ingress pushes ELI 7 + an entropy label under its labels
    ttl_propagate_local: bool | None = None   # locally generated packets (None: as ttl_propagate);
                                              # Cisco split pipe "no mpls ip propagate-ttl forwarded"
    no_decrement_ttl: bool = False    # Junos `no-decrement-ttl`: as an ingress, push LSE-TTL 255 for
                                      # forwarded and own packets, and the LSP's penultimate hop pops
                                      # without writing the LSE-TTL back (signalled along the LSP)
    stacked_push_ttl: str | int = "copy"   # TTL of a new top label pushed over an existing stack
                                           # (LDP over RSVP): copy the LSE-TTL (RFC 3443) or 255 (Junos)


CHOICES = {"lse_expiry": ("answer", "drop"), "label_order": ("sequential", "router"),
           "tunnel_scope": ("all", "multi-label", "udp"), "ip_id": ("shared", "per-interface", "zero", "random"),
           "stacked_push_ttl": ("copy", 255)}
QUOTE_RANGE = (28, 1472)    # RFC 792's IP header + 64 bits .. a 1500-byte MTU less the ICMP reply's headers
LIMITS = ("limit_time_exceeded", "limit_unreachable", "limit_echo_reply")
NOT_KNOBS = ("name", "description", "is_host")


def knob_names() -> list[str]:
    return [f.name for f in fields(Personality) if f.name not in NOT_KNOBS]


def _limit(v):
    """{rate: N, burst: B, per: router|interface} (or null) -> (N, B, per) or None."""
    if v is None:
        return None
    if not isinstance(v, dict) or set(v) - {"rate", "burst", "per"} or "rate" not in v:
        raise ValueError("a limit is {rate: per second, burst: tokens, per: router|interface} or null")
    rate, burst, per = v["rate"], v.get("burst", v["rate"]), v.get("per", "router")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0 or \
            isinstance(burst, bool) or not isinstance(burst, (int, float)) or burst < 1:
        raise ValueError("rate must be > 0 and burst >= 1")
    if per not in ("router", "interface"):
        raise ValueError("per is router or interface")
    return (float(rate), float(burst), per)


def check_knob(name: str, value):
    """The value a behaviour knob takes, or ValueError with a message naming the fix."""
    known = knob_names()
    if name not in known:
        raise ValueError(f"unknown behaviour '{name}'; known: {', '.join(known)}")
    if name in LIMITS:
        return _limit(value)
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise ValueError(f"'{value}' is not one of {', '.join(map(str, CHOICES[name]))}")
        return value
    if name == "quote_bytes":
        if isinstance(value, bool) or not isinstance(value, int) or not QUOTE_RANGE[0] <= value <= QUOTE_RANGE[1]:
            raise ValueError(f"expected an integer in {QUOTE_RANGE[0]}..{QUOTE_RANGE[1]} (bytes of the original "
                             f"datagram quoted), got {value!r}")
        return value
    if name == "ttl_propagate_local":
        if value is not None and not isinstance(value, bool):
            raise ValueError("expected true, false or null")
        return value
    kind = type(getattr(load("cisco"), name))
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def search_path() -> list[Path]:
    """Where vendor tables are looked up: the folders in UTNT_LAB_VENDORS (separated by ':'),
    whose tables add vendors or replace built-in ones of the same name, then this folder."""
    extra = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    return extra + [HERE]


def table_path(name: str, dirs=None) -> Path | None:
    for d in dirs or search_path():
        p = d / f"{name}.yaml"
        if p.is_file():
            return p
    return None


def _bad(path, field: str, message: str, line: int | None = None):
    from testbed.errors import LabError, Problem
    return LabError([Problem(str(path), field, message, line)])


def _read(name: str, dirs: tuple, seen: tuple = ()) -> dict:
    """The table's fields as written, merged over its `base:` tables section by section, each
    file checked against the schema (vendors/schema.py)
    with its lines: a bad table is a LabError naming file, line, field and fix."""
    from pydantic import ValidationError

    from testbed.lab.schema import problems_of
    from testbed.yamlpos import YamlProblem, load_with_lines

    from .schema import RANGES, VendorFile
    path = table_path(name, dirs)
    if path is None:
        raise KeyError(name)
    try:
        from testbed.inputs import LIMITS, read_text
        text = read_text(path, LIMITS["lab"], "vendor table")
        data, lines = load_with_lines(text)
    except YamlProblem as e:
        raise _bad(path, e.field, str(e), e.line) from None
    except (OSError, UnicodeDecodeError) as e:
        raise _bad(path, "", f"cannot read the vendor table: {e}") from None
    if not isinstance(data, dict):
        raise _bad(path, "", "a vendor table is a YAML mapping (name, description, initial_ttl, mpls, icmp, "
                   "behaviour; see testbed/vendors/README.md)", 1)
    try:
        spec = VendorFile.model_validate(data)
    except ValidationError as e:
        from testbed.errors import LabError
        raise LabError(problems_of(str(path), e, lines, RANGES)) from None
    if spec.name != name:
        raise _bad(path, "name", f"'{spec.name}' is not the file's name; a vendor table's name is its file name "
                   f"(write name: {name})", lines.get(("name",)))
    raw = spec.model_dump(exclude_unset=True, exclude={"base"})
    if spec.base is None:
        return raw
    if spec.base in seen + (name,):
        raise _bad(path, "base", f"'{spec.base}' leads back to this table ({' -> '.join(seen + (name, spec.base))}); "
                   "a table's base chain must end in a table without base:", lines.get(("base",)))
    try:
        out = _read(spec.base, dirs, seen + (name,))
    except KeyError:
        raise _bad(path, "base", f"no vendor table '{spec.base}'; known: {', '.join(_stems(dirs))}",
                   lines.get(("base",))) from None
    for k, v in raw.items():
        out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) else v
    return out


def _stems(dirs) -> list[str]:
    return sorted({p.stem for d in dirs for p in Path(d).glob("*.yaml")})


def load(name: str) -> Personality:
    """The personality of vendor `name` (a table on search_path()); KeyError if there is
    none; a LabError (file, line, field, fix) if its table is bad."""
    return _load(name, tuple(search_path()))


@lru_cache(maxsize=None)
def _load(name: str, dirs: tuple) -> Personality:
    raw = _read(name, dirs)
    path = table_path(name, dirs)
    flat = {"name": raw["name"], "description": raw["description"], "is_host": raw.get("host", False)}
    for kind, ttl in raw.get("initial_ttl", {}).items():
        flat[f"ttl_{kind}"] = ttl
    flat.update(raw.get("mpls", {}))
    flat.update(raw.get("icmp", {}))
    for k, v in raw.get("behaviour", {}).items():
        flat[k] = None if v is None else (float(v["rate"]), float(v.get("burst") or v["rate"]),
                                          v.get("per", "router")) if k in LIMITS else v
    sections = {"ttl_": "initial_ttl", "source_": "icmp"}
    for f in fields(Personality):
        if f.name in flat or f.default is not MISSING:
            continue
        sec = next((s for pre, s in sections.items() if f.name.startswith(pre)), None) or \
            ("icmp" if f.name in ("icmp_rate_limit", "quote_bytes") else "mpls")
        key = f.name[4:] if sec == "initial_ttl" else f.name
        raise _bad(path, f"{sec}.{key}", f"required field is missing (in this table and its base: tables, if "
                   f"any); add it under {sec}:")
    return Personality(**flat)


def names(routers_only: bool = True) -> list[str]:
    out = []
    for stem in _stems(search_path()):
        if routers_only and load(stem).is_host:
            continue
        out.append(stem)
    return out
