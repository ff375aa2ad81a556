"""Where a run probes from and to, when the user does not say: one place for every command
(run, probe, trace, on-demand, vm)."""
from __future__ import annotations

from ipaddress import IPv4Address

from testbed.errors import TestbedError


def destination(lab, d: str) -> str:
    """A node's primary address, or an IPv4 address as given."""
    if d in lab.nodes:
        return str(lab.nodes[d].primary_address())
    try:
        IPv4Address(d)
    except ValueError:
        raise TestbedError(f"destination '{d}' is neither a node of {lab.name} nor an IPv4 address") from None
    return d


def probe_source(lab, source: str | None = None) -> str:
    """The vantage point a single run probes from: `source`, else the lab's first probe's
    source, else its first host."""
    return source or (lab.probes[0].source if lab.probes else lab.hosts[0].name)


def probe_targets(lab, vp: str) -> list[str]:
    """Every target of vp's probes (TestbedError naming the fix when it has none)."""
    targets = [str(t) for p in lab.probes if p.source == vp for t in p.targets]
    if not targets:
        raise TestbedError(f"{lab.source}: no probes from {vp}; give --to")
    return targets


def probe_target(lab, vp: str, dest: str | None = None) -> str:
    """The destination a single run from `vp` probes: `dest` (a node or an address), else the
    first target of vp's probes."""
    return destination(lab, dest) if dest else probe_targets(lab, vp)[0]


def probes_of(lab, source=None, dest=None):
    """[(source host, [target addresses])] from the lab's probes or --from/--to."""
    if dest is not None:
        dst = str(lab.nodes[dest].primary_address()) if dest in lab.nodes else dest
        return [(probe_source(lab, source), [dst])]
    out = {}
    for p in lab.probes:
        if source and p.source != source:
            continue
        out.setdefault(p.source, []).extend(str(t) for t in p.targets)
    if not out:
        raise TestbedError(f"{lab.source}: no probes{' from ' + source if source else ''}; add a 'probes:' "
                           "section or give --to")
    return list(out.items())
