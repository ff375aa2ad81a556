"""The vendor-table schema (pydantic, with the lab files' strict types): the shape of one
testbed/vendors/<vendor>.yaml as written. The sections (initial_ttl, mpls, icmp, behaviour)
and their fields are made from the knob declarations (testbed/knobs/<knob>.yaml: each
knob's section, type and allowed values), so a table and a lab file's `behaviour:` are
checked by the same types and their errors quote the same `allowed` text. Every field is
optional here: a table sets what differs from the knobs' per-vendor defaults (its own
built-in defaults, its base: table's, the knob's default); the merged values must then be
complete (checked in testbed.vendors.load, naming the field and the tables looked in)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from testbed import knobs
from testbed.strict import Bool

Limit = knobs.Limit


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _section(title: str, section: str):
    return create_model(title, __base__=Strict,
                        **{k.key: (k.annotation, None) for k in knobs.all_knobs() if k.section == section})


InitialTTL = _section("InitialTTL", "initial_ttl")
Mpls = _section("Mpls", "mpls")
Icmp = _section("Icmp", "icmp")
Behaviour = _section("Behaviour", "behaviour")
# field name -> what is allowed (quoted by the one-line errors)
RANGES = {**{k.key: k.allowed for k in knobs.all_knobs()}, **knobs.LIMIT_RANGES}


class VendorFile(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,23}$")
    description: str = Field(max_length=300)
    base: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,23}$")
    host: Bool = False
    initial_ttl: InitialTTL = InitialTTL()
    mpls: Mpls = Mpls()
    icmp: Icmp = Icmp()
    behaviour: Behaviour = Behaviour()
