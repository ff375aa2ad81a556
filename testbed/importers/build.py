"""A router graph (graph.py's neutral form) to an ordinary, editable lab file.

Decided here, all seeded: router names from the data's labels, link costs (the data's
metric, else its length in km, else the great-circle length of the coordinates, else the
lab default), delays from lengths (light in fibre: 200 km per ms), MPLS domains (one per
AS, or a share of the routers grown from the best-connected one, optionally cut into N
regions), the tunnel class of each domain as explicit knobs, a vendor mix, hosts as
vantage points and destinations at the edge (lowest-degree routers), and probes.
"""
from __future__ import annotations

import math
import random
import re
from collections import deque

import networkx as nx

from .graph import ImportProblem

CLASS_KNOBS = {
    "explicit": {"ttl_propagate": True, "rfc4950": True},
    "implicit": {"ttl_propagate": True, "rfc4950": False},
    "invisible-php": {"ttl_propagate": False, "popping": "php"},
    "invisible-uhp": {"ttl_propagate": False, "popping": "uhp"},
    "opaque": {"ttl_propagate": False, "rfc4950": True, "ldp": "all", "external": "igp"},
    "vendor": {},                       # every knob from the routers' vendor defaults
}
FIBRE_KM_PER_MS = 200.0
VENDORS = ("cisco", "juniper", "linux")
LDP_POLICIES = ("domain", "all", "loopbacks", "vendor")
MAX_ASN = 4294967295
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
DESCRIPTION_MAX = 500                   # the lab schema's limit
BIG_POOLS = {"loopbacks": "28.0.0.0/14", "links": "20.0.0.0/12", "lans": "29.0.0.0/16"}
MAX_HOSTS = 1200                        # the lab size limit on hosts (testbed/lab/limits.yaml)


def parse_vendors(text: str | None) -> dict[str, float]:
    if not text:
        return {"cisco": 1.0}
    out = {}
    for part in text.split(","):
        name, sep, share = part.partition("=")
        name = name.strip()
        try:
            v = float(share) if sep else 1.0
        except ValueError:
            v = -1
        if name not in VENDORS or not (math.isfinite(v) and v >= 0):
            raise ImportProblem(f"--vendors: '{part}' is not VENDOR=SHARE with VENDOR one of {', '.join(VENDORS)} "
                                "(e.g. cisco=0.6,juniper=0.3,linux=0.1)")
        out[name] = v
    total = sum(out.values())
    if total <= 0:
        raise ImportProblem("--vendors: the shares add up to 0; give at least one positive share")
    return {k: v / total for k, v in out.items()}


def parse_classes(text: str | None) -> list[str]:
    cl = [c.strip() for c in (text or "invisible-php").split(",") if c.strip()]
    for c in cl:
        if c not in CLASS_KNOBS:
            raise ImportProblem(f"--classes: unknown tunnel class '{c}'; choose from {', '.join(CLASS_KNOBS)}")
    return cl or ["invisible-php"]


def _asn(value, source: str, node) -> int | None:
    """An imported node's AS number: an integer 0..4294967295 (a digit string counts), or None.
    Anything else is refused: it would name a domain in the lab file."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            (isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 10)):
        raise ImportProblem(f"{source}: node {str(node)[:40]!r}: field 'asn' is {str(value)[:40]!r}, not an AS number; "
                            f"give an integer 0..{MAX_ASN} or remove the field")
    v = int(value)
    if not 0 <= v <= MAX_ASN:
        raise ImportProblem(f"{source}: node {str(node)[:40]!r}: field 'asn' is {v}, outside 0..{MAX_ASN}; "
                            "give a real AS number or remove the field")
    return v


def _ldp_policy(members: list, vendor_of: dict, policy: str) -> tuple[str | None, str]:
    """The domain's LDP label policy and why (docs/tunnels.md): `domain` (default) gives the
    whole domain the policy of its most common vendor (ties: the first in VENDORS), as an
    operator configures one policy per domain; `all` / `loopbacks` force one; `vendor` writes
    none, so every router keeps its vendor's default and a mixed domain cuts LSPs where an
    `ldp all` router's next hop runs `ldp loopbacks` (the truth notes every cut)."""
    from testbed.vendors import load as vendor
    if policy == "vendor":
        return None, "each router its vendor's default (mixed policies cut LSPs; the truth notes each cut)"
    if policy in ("all", "loopbacks"):
        return policy, "--ldp " + policy
    count: dict = {}
    for m in members:
        count[vendor_of[m]] = count.get(vendor_of[m], 0) + 1
    top = min(count, key=lambda v: (-count[v], VENDORS.index(v)))
    return vendor(top).ldp, f"one policy per domain: that of its most common vendor ({top}, {count[top]} of {len(members)})"


def slug(text: str, limit: int = 20) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-_")
    if not s or not s[0].isalpha():
        s = "r" + s
    return s[:limit].rstrip("-_") or "r"


def display_label(text) -> str | None:
    """The data's name as a picture shows it: NFC, control characters dropped, spaces folded,
    at most 64 characters (the lab schema's `label` rule); None when nothing printable is left."""
    import unicodedata
    s = unicodedata.normalize("NFC", str(text))
    s = "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else " " for c in s)
    s = " ".join(s.split())[:64].strip()
    return s or None


def _names(g: nx.Graph) -> dict:
    out, used = {}, set()
    for n in sorted(g.nodes, key=str):
        base = slug(g.nodes[n].get("label") or n)
        name, k = base, 2
        while name in used or name.startswith(("vp", "d")) and re.fullmatch(r"(vp|d)\d+", name):
            name = f"{base[:17]}-{k}"
            k += 1
        used.add(name)
        out[n] = name
    return out


def _haversine(a, b) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _geo(pos) -> bool:
    return pos is not None and -180 <= pos[0] <= 180 and -90 <= pos[1] <= 90


def _grow(g: nx.Graph, start, count: int) -> list:
    """`count` routers connected to `start`, breadth first (a connected domain)."""
    seen, q, out = {start}, deque([start]), []
    while q and len(out) < count:
        n = q.popleft()
        out.append(n)
        for m in sorted(g.neighbors(n), key=lambda x: (-g.degree(x), str(x))):
            if m not in seen:
                seen.add(m)
                q.append(m)
    return out


def _regions(g: nx.Graph, members: list, n: int, rng: random.Random) -> list[list]:
    """Cut a connected set into n connected regions (multi-source BFS from seeded seeds)."""
    sub = g.subgraph(members)
    seeds = rng.sample(sorted(members, key=str), min(n, len(members)))
    owner = {s: i for i, s in enumerate(seeds)}
    q = deque(seeds)
    while q:
        x = q.popleft()
        for m in sorted(sub.neighbors(x), key=str):
            if m not in owner:
                owner[m] = owner[x]
                q.append(m)
    regs = [[m for m in members if owner.get(m) == i] for i in range(len(seeds))]
    return [r for r in regs if len(r) >= 2]


def lab_from_graph(g: nx.Graph, name: str, *, source: str, vendors: str | None = None, share: float = 1.0,
                   domains: int | None = None, classes: str | None = None, vps: int = 10, dsts: int = 30,
                   probes: str = "all", seed: int = 1, ldp: str = "domain") -> dict:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ImportProblem(f"--name: {str(name)[:40]!r} is not a lab name; give 1-24 characters: a lowercase "
                            "letter, then lowercase letters, digits, '-' or '_'")
    if ldp not in LDP_POLICIES:
        raise ImportProblem(f"--ldp: '{ldp}' is not one of {', '.join(LDP_POLICIES)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_ASN:
        raise ImportProblem(f"--seed: {seed!r} is not an integer 0..{MAX_ASN}")
    if domains is not None and not 1 <= domains <= 64:
        raise ImportProblem(f"--domains: {domains} is not between 1 and 64 (the lab limit on MPLS domains)")
    rng = random.Random(seed)
    mix = parse_vendors(vendors)
    cls = parse_classes(classes)
    if not 0 <= share <= 1:
        raise ImportProblem(f"--mpls-share: {share} is not between 0 and 1")
    if vps < 1 or dsts < 1:
        raise ImportProblem("--vps and --dsts: at least 1 each")
    if vps + dsts > MAX_HOSTS:
        raise ImportProblem(f"--vps and --dsts: {vps} + {dsts} hosts is more than a lab takes ({MAX_HOSTS}); "
                            "give fewer")
    names = _names(g)
    routers = sorted(g.nodes, key=lambda n: names[n])

    # ---- vendor mix: exact shares (largest remainder), assigned in seeded random order
    order = routers[:]
    rng.shuffle(order)
    counts = {v: int(s * len(order)) for v, s in mix.items()}
    rest = len(order) - sum(counts.values())
    for v, _ in sorted(mix.items(), key=lambda kv: -(kv[1] * len(order) - counts[kv[0]]))[:rest]:
        counts[v] += 1
    vendor_of, k = {}, 0
    for v in sorted(counts, key=lambda x: VENDORS.index(x)):
        for n in order[k:k + counts[v]]:
            vendor_of[n] = v
        k += counts[v]
    default_vendor = max(counts, key=lambda v: counts[v])

    # ---- MPLS domains: one per AS (or one for the whole graph), a share of each, N regions
    by_as: dict = {}
    origin = g.graph.get("origin", source)
    for n in routers:
        by_as.setdefault(_asn(g.nodes[n].get("asn"), origin, n), []).append(n)
    doms: list[tuple[str, list]] = []
    for asn, members in sorted(by_as.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        # the graph itself where the view would hold all of it (networkx views filter every step)
        sub = g if len(members) == g.number_of_nodes() else g.subgraph(members)
        part = max(nx.connected_components(sub), key=len)
        want = round(share * len(part))
        if want < 2:
            continue
        start = max(part, key=lambda x: (sub.degree(x), str(x)))
        members = _grow(sub if len(part) == sub.number_of_nodes() else sub.subgraph(part), start, want)
        base = f"as{asn}" if asn is not None else "core"
        if domains and domains > 1:
            for i, r in enumerate(_regions(g, members, domains, rng)):
                doms.append((f"{base}-{i + 1}", r))
        else:
            doms.append((base, members))

    # ---- links: cost and delay from the data
    has_cost = any("cost" in d for _, _, d in g.edges(data=True))
    links = []
    for a, b in sorted(g.edges, key=lambda e: (names[e[0]], names[e[1]])):
        d = g.edges[a, b]
        pa, pb = g.nodes[a].get("pos"), g.nodes[b].get("pos")
        km = d.get("dist_km")
        if km is None and _geo(pa) and _geo(pb):
            km = _haversine(pa, pb)
        entry = {"endpoints": sorted([names[a], names[b]])}
        if has_cost and "cost" in d:
            entry["cost"] = int(min(65535, max(1, round(d["cost"]))))
        elif km is not None:
            entry["cost"] = int(min(65535, max(1, round(km))))
        if km is not None:
            entry["delay_ms"] = round(min(10000.0, km / FIBRE_KM_PER_MS), 3)
        links.append(entry)

    # ---- hosts at the edge: lowest degree first (seeded order among equals)
    tiebreak = {n: rng.random() for n in routers}
    edge = sorted(routers, key=lambda n: (g.degree(n), tiebreak[n]))
    places = [edge[i % len(edge)] for i in range(vps + dsts)]
    vp_at, dst_at = places[:vps], places[vps:]
    hosts = {f"vp{i + 1}": r for i, r in enumerate(vp_at)}
    dests = {f"d{i + 1}": r for i, r in enumerate(dst_at)}
    for h, r in hosts.items():
        links.append({"lan": [names[r], h], "name": f"{h}-lan"})
    for h, r in dests.items():
        links.append({"endpoints": [h, names[r]]})

    # ---- probes: all pairs or a seeded sample of destinations per vantage point
    dnames = list(dests)
    plist = []
    for h in hosts:
        if probes == "all":
            to = dnames
        else:
            try:
                kk = int(probes)
            except ValueError:
                raise ImportProblem(f"--probes: '{probes}' is neither 'all' nor a number of destinations per "
                                    "vantage point") from None
            if kk < 1:
                raise ImportProblem("--probes: at least 1 destination per vantage point")
            to = sorted(rng.sample(dnames, min(kk, len(dnames))), key=lambda x: int(x[1:]))
        plist.append({"from": h, "to": to})

    rdoc = {}
    for n in routers:
        spec = {}
        if vendor_of[n] != default_vendor:
            spec["vendor"] = vendor_of[n]
        pos = g.nodes[n].get("pos")
        if pos is not None:                     # finite numbers (graph.finish)
            spec["pos"] = [round(float(pos[0]), 4), round(float(pos[1]), 4)]
        label = display_label(g.nodes[n].get("label") or n)
        if label and label != names[n]:          # the data's own spelling, for pictures (Jaén, not ja-n)
            spec["label"] = label
        rdoc[names[n]] = spec
    mpls = {}
    for i, (dn, members) in enumerate(doms):
        c = cls[i % len(cls)]
        knobs = dict(CLASS_KNOBS[c])
        why = f"tunnel class: {c}"
        if "ldp" in knobs:
            why += f"; ldp {knobs['ldp']} (the class needs it)"
        else:
            pol, reason = _ldp_policy(members, vendor_of, ldp)
            if pol is not None:
                knobs["ldp"] = pol
            why += f"; ldp {pol or 'per router'}: {reason}"
        mpls[dn] = {"class": c, "why": why, "routers": sorted(names[m] for m in members), **knobs}
    description = "".join(ch if ch.isprintable() else " " for ch in
                          f"imported from {g.graph.get('origin', source)}: {len(routers)} routers, "
                          f"{g.number_of_edges()} links, {len(doms)} MPLS domain(s), {len(hosts)} vantage points, "
                          f"{len(dests)} destinations (seed {seed})")
    if len(description) > DESCRIPTION_MAX:
        description = description[:DESCRIPTION_MAX - 3] + "..."
    doc = {
        "name": name,
        "description": description,
        "defaults": {"vendor": default_vendor, "cost": 10},
        "routers": rdoc,
        "hosts": {h: {} for h in [*hosts, *dests]},
        "links": links,
        "mpls": mpls,
        "probes": plist,
        "_dropped": g.graph.get("dropped", 0),
    }
    # the default pools hold 32,768 /31 links and 65,535 loopbacks: a bigger graph (a synthetic
    # ISP) gets pools of its size, in public-looking space outside TNT's reserved ranges
    if len(links) > 30000 or len(routers) > 60000:
        doc["addressing"] = dict(BIG_POOLS)
    return doc
