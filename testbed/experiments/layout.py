"""Where nodes go and what is drawn between them, shared by the static pictures (graph.py)
and the zoomable HTML view (html.py): colours, the networkx graph of a lab, a layout that
reads for 3 to 1,000 routers (coordinates from the lab file where it has them), and the
truth's and the detector's tunnel segments."""
from __future__ import annotations

import networkx as nx

CLASS_COLOURS = {"explicit": "#1f77b4", "implicit": "#2ca02c", "opaque": "#9467bd", "invisible-php": "#d62728",
                 "invisible-uhp": "#ff7f0e", "silent": "#7f7f7f"}
# One colour meaning per picture (`testbed graph --colour`): in the default `class` picture only
# tunnels have a hue (routers are greys: darker inside an MPLS domain); in a `vendor` or `domain`
# picture only routers do, and tunnels are drawn in one dark grey. uTNT's overlay is black in all.
COLOUR_MODES = ("class", "vendor", "domain")
NEUTRAL = {"mpls": "#b8b8b8", "ip": "#f0f0f0", "host": "#ffffff", "tunnel": "#505050"}
PALETTE = ["#4c9be8", "#7fc97f", "#fdc086", "#beaed4", "#f0027f", "#bf5b17", "#386cb0", "#ffff99",
           "#66c2a5", "#e78ac3", "#a6d854", "#e5c494", "#8da0cb", "#fc8d62"]
AGGREGATE = 300     # above this many routers `--aggregate auto` draws PoPs (or communities), not routers


def node_colours(lab, mode: str) -> tuple[dict, list]:
    """Fill colour of every node for one colour meaning, and the legend as (label, colour)."""
    routers = lab.routers
    if mode == "vendor":
        vendors = sorted({r.vendor for r in routers}, key=lambda v: (-sum(1 for r in routers if r.vendor == v), v))
        col = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(vendors)}
        fill = {r.name: col[r.vendor] for r in routers}
        legend = [(f"{v} ({sum(1 for r in routers if r.vendor == v)})", col[v]) for v in vendors]
    elif mode == "domain":
        doms = sorted(lab.domains)
        col = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(doms)}
        fill = {r.name: col[r.domain] if r.domain in col else NEUTRAL["ip"] for r in routers}
        legend = [(f"domain {d} ({len(lab.domains[d].routers)})", col[d]) for d in doms]
        if any(r.domain not in col for r in routers):
            legend.append((f"no MPLS ({sum(1 for r in routers if r.domain not in col)})", NEUTRAL["ip"]))
    else:
        fill = {r.name: NEUTRAL["mpls"] if r.domain else NEUTRAL["ip"] for r in routers}
        legend = []
    for h in lab.hosts:
        fill[h.name] = NEUTRAL["host"]
    return fill, legend


def tunnel_colour(cls: str, mode: str) -> str:
    return CLASS_COLOURS[cls] if mode == "class" else NEUTRAL["tunnel"]


def groups(lab, g, by: str) -> dict:
    """Routers gathered for a picture of a big lab: `pop` = routers at one place (coordinates
    from the data: a city, or a region for hundreds of cities), or, without coordinates, communities of the
    router graph (seeded, so the same picture every time); `domain` = MPLS domain (routers
    outside every domain: one group per connected stretch). Returns {group name: [routers]},
    a group named after its best connected router's display name."""
    routers = [r.name for r in lab.routers]
    rg = g.subgraph(routers)
    parts: list[list[str]]
    if by == "domain":
        parts = [sorted(d.routers) for _n, d in sorted(lab.domains.items())]
        rest = [r for r in routers if not lab.nodes[r].domain]
        parts += [sorted(c) for c in nx.connected_components(rg.subgraph(rest))]
    elif routers and all(lab.nodes[r].pos is not None for r in routers):
        parts = _places(lab, routers)
    else:
        parts = [sorted(c) for c in nx.community.louvain_communities(rg, seed=1, resolution=1.0)]
    out: dict = {}
    for members in sorted(parts, key=lambda m: (-len(m), m[0])):
        if not members:
            continue
        head = max(members, key=lambda r: (rg.degree(r), -members.index(r)))
        name, k = lab.nodes[head].display, 2
        while name in out:
            name, k = f"{lab.nodes[head].display} ({k})", k + 1
        out[name] = members
    return out


def _places(lab, routers: list) -> list[list[str]]:
    """Routers by place: a square grid over the coordinates, its cell doubled from about a
    kilometre until at most `target` cells are occupied (a city's routers, then a region's)."""
    pos = {r: lab.nodes[r].pos for r in routers}
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    target = max(12, min(80, len(routers) // 6))
    cell = 0.01
    while True:
        at: dict = {}
        for r in routers:
            at.setdefault((int((pos[r][0] - min(xs)) // cell), int((pos[r][1] - min(ys)) // cell)), []).append(r)
        if len(at) <= target or cell > span:
            return [sorted(v) for _k, v in sorted(at.items())]
        cell *= 1.5


def text_safe(s: str) -> str:
    """A name as matplotlib text: `$` would start mathtext (a lab's label is untrusted)."""
    return s.replace("$", r"\$")
UTNT_CLASS = {"EXP": "explicit", "IMP": "implicit", "OPA": "opaque", "INV": "invisible-php"}


def _graph(lab):
    g = nx.Graph()
    for n in lab.nodes.values():
        g.add_node(n.name)
    for link in lab.links:
        if link.kind == "p2p":
            a, b = link.interfaces
            g.add_edge(a.node, b.node, link=link.name)
        else:
            hub = f"[{link.name}]"
            g.add_node(hub, lan=True)
            for i in link.interfaces:
                g.add_edge(hub, i.node, link=link.name)
    return g


SMALL = 20          # up to this many routers: the library's look (first path on a line, big labelled nodes)


def _spread(pos: dict, radius: float) -> dict:
    """Routers at the same place (one city, several routers) on a small circle around it."""
    import math
    groups: dict = {}
    for n, (x, y) in pos.items():
        groups.setdefault((round(x / radius), round(y / radius)), []).append(n)
    out = dict(pos)
    for members in groups.values():
        if len(members) < 2:
            continue
        cx = sum(pos[m][0] for m in members) / len(members)
        cy = sum(pos[m][1] for m in members) / len(members)
        r = radius * (0.6 + 0.15 * math.sqrt(len(members)))
        for k, m in enumerate(sorted(members)):
            a = 2 * math.pi * k / len(members)
            out[m] = (cx + r * math.cos(a), cy + r * math.sin(a))
    return out


def _attach_leaves(lab, g, pos: dict, step: float) -> dict:
    """Hosts and LAN hubs next to the router they hang off, pointing away from the centre."""
    import math
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    count: dict = {}
    for n in sorted(g.nodes):
        if n in pos:
            continue
        routers = [m for m in nx.single_source_shortest_path_length(g, n, cutoff=2) if m in pos]
        if not routers:
            pos[n] = (cx, cy)
            continue
        r = routers[0]
        k = count[r] = count.get(r, 0) + 1
        rx, ry = pos[r]
        base = math.atan2(ry - cy, rx - cx) if (rx, ry) != (cx, cy) else 0.0
        a = base + 0.45 * (k - 1) * (-1) ** k
        d = step * (1.0 if n.startswith("[") else 1.8)
        pos[n] = (rx + d * math.cos(a), ry + d * math.sin(a))
    # hosts behind a LAN hub: one more step out
    for n in sorted(g.nodes):
        if not n.startswith("[") and not lab.nodes[n].is_router:
            hubs = [m for m in g.neighbors(n) if m.startswith("[")]
            if hubs:
                hx, hy = pos[hubs[0]]
                routers = [m for m in g.neighbors(hubs[0]) if lab.nodes[m].is_router] if hubs[0] in g else []
                if routers:
                    rx, ry = pos[routers[0]]
                    pos[n] = (hx + (hx - rx), hy + (hy - ry))
    return pos


def _layout(lab, g, truth):
    """Coordinates from the lab file where every router has them (imported data); else, for
    small labs, the first probe's path on a straight line and the rest around it; else a
    force-directed layout of the routers (Kamada-Kawai up to 150 routers, then spring)."""
    routers = [n.name for n in lab.routers]
    if routers and all(lab.nodes[r].pos is not None for r in routers):
        import math
        lat0 = sum(lab.nodes[r].pos[1] for r in routers) / len(routers)
        geo = all(-180 <= lab.nodes[r].pos[0] <= 180 and -90 <= lab.nodes[r].pos[1] <= 90 for r in routers)
        sx = math.cos(math.radians(lat0)) if geo else 1.0
        pos = {r: (lab.nodes[r].pos[0] * sx, lab.nodes[r].pos[1]) for r in routers}
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
        pos = _spread(pos, span / 120)
        return _attach_leaves(lab, g, pos, span / 60)
    if len(routers) > SMALL:
        rg = g.subgraph(routers)
        if len(routers) <= 150 and nx.is_connected(rg):
            pos = nx.kamada_kawai_layout(rg)
        else:
            pos = nx.spring_layout(rg, seed=7, k=1.8 / max(1, len(routers)) ** 0.5, iterations=120)
        pos = {n: (float(p[0]), float(p[1])) for n, p in pos.items()}
        return _attach_leaves(lab, g, pos, 0.04)
    path = []
    if truth["probes"] and truth["probes"][0]["paths"]:
        path = [s["node"] for s in truth["probes"][0]["paths"][0]["forward"]]
    fixed = {}
    for i, n in enumerate(path):
        fixed[n] = (float(i), 0.0)
    # LAN hubs between their members on the path
    for n in g.nodes:
        if n.startswith("[") and n not in fixed:
            xs = [fixed[m][0] for m in g.neighbors(n) if m in fixed]
            if len(xs) >= 2:
                fixed[n] = (sum(xs) / len(xs), 0.0)
    if len(fixed) == len(g.nodes):
        return fixed
    init = {n: fixed.get(n, (len(path) / 2.0, 1.0)) for n in g.nodes}
    if not fixed:
        return nx.kamada_kawai_layout(g)
    return nx.spring_layout(g, pos=init, fixed=list(fixed), seed=7, k=0.9, iterations=200)


def tunnel_segments(lab, truth: dict, result: dict | None):
    """Edges used by ground-truth tunnels, per class, with how many probes cross them; and the
    edges of tunnels uTNT reported, and the routers it revealed."""
    from collections import Counter
    truth_edges: dict[str, Counter] = {}
    lsrs: dict[str, set] = {}
    for p in truth["probes"]:
        for path in p["paths"][:1]:
            for t in path["tunnels"]:
                cls = "silent" if t["silent"] else t["class"]
                seq = [t["ingress"], *t["lsrs"], t["egress"]]
                for a, b in zip(seq, seq[1:]):
                    truth_edges.setdefault(cls, Counter())[tuple(sorted((a, b)))] += 1
                lsrs.setdefault(cls, set()).update(t["lsrs"])
    seen_edges, revealed = Counter(), set()
    for tr in (result or {}).get("traces", []) or (result or {}).get("uTNT", []):
        for t in tr.get("tunnels", []):
            nodes = [lab.owner_of(a) if a else None for a in [t.get("ingress"), *t.get("lsrs", []), t.get("egress")]]
            nodes = [n for n in nodes if n]
            for a, b in zip(nodes, nodes[1:]):
                seen_edges[tuple(sorted((a, b)))] += 1
        for h in tr.get("hops", []):
            if h.get("revealed") and h.get("address"):
                n = lab.owner_of(h["address"])
                if n:
                    revealed.add(n)
    return truth_edges, lsrs, seen_edges, revealed
