"""`testbed graph`: the topology with every ground-truth tunnel, and with a run's JSON what the
detector saw overlaid. One colour meaning per picture (`colour`: tunnel class, the default;
or vendor; or MPLS domain, layout.COLOUR_MODES); names as the lab file labels them (Unicode);
a canvas cut to the drawing. Above layout.AGGREGATE routers (or with `aggregate`) routers are
gathered by PoP, community or domain, and the tunnels drawn first, between the groups."""
from __future__ import annotations

from collections import Counter

import networkx as nx

from testbed.experiments.layout import (AGGREGATE, CLASS_COLOURS, COLOUR_MODES, NEUTRAL, SMALL, _graph, _layout,
                                        groups, node_colours, text_safe, tunnel_colour, tunnel_segments)

AGGREGATES = ("auto", "pop", "domain", "none")


def draw(lab, truth: dict, out: str, result: dict | None = None, colour: str = "class",
         aggregate: str = "auto") -> dict:
    """PNG or SVG (matplotlib) by the file's extension; .html: the zoomable view (html.py).
    Returns what was drawn: {"file", "colour", "legend": [labels], "groups": n or None}."""
    if colour not in COLOUR_MODES:
        raise ValueError(f"colour {colour!r}: one of {', '.join(COLOUR_MODES)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate {aggregate!r}: one of {', '.join(AGGREGATES)}")
    if out.endswith(".html"):
        from testbed.experiments.html import write_html
        write_html(lab, truth, out, result, colour=colour)
        return {"file": out, "colour": colour, "legend": [], "groups": None}
    by = aggregate if aggregate != "auto" else ("pop" if len(lab.routers) > AGGREGATE else "none")
    if by != "none":
        return _draw_groups(lab, truth, out, result, colour, by)
    if len(lab.routers) > SMALL:
        return _draw_large(lab, truth, out, result, colour)
    return _draw_small(lab, truth, out, result, colour)


def _figure(xs, ys, width: float, legend_rows: int):
    """A figure whose drawing area has the data's aspect (no empty third of a canvas)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.fonttype"] = "none"        # names stay text in an SVG (searchable, Unicode)
    dx, dy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    height = min(max(width * dy / dx, 2.2), 1.4 * width)
    fig, ax = plt.subplots(figsize=(width, height + 0.25 * legend_rows + 0.5), dpi=110)
    return plt, fig, ax


def _finish(plt, fig, ax, out: str, handles: list, title: str):
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    ax.set_aspect("equal", adjustable="box")
    ax.margins(0.03)
    if handles:
        ncol = min(4, len(handles))
        ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
                  frameon=False)
    fig.savefig(out, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)


def _legend(handles_for: list, colour: str, classes, seen: bool, revealed: int):
    """Legend entries: the picture's one colour meaning, then uTNT's overlay (black)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = []
    if colour == "class":
        handles += [Line2D([0], [0], color=CLASS_COLOURS[c], lw=4, alpha=0.7, label=f"truth: {c}")
                    for c in sorted(classes)]
    else:
        handles += [Patch(facecolor=col, edgecolor="#555555", label=text_safe(lbl)) for lbl, col in handles_for]
        if classes:
            handles.append(Line2D([0], [0], color=NEUTRAL["tunnel"], lw=4, alpha=0.7, label="truth: tunnel"))
    if seen:
        handles.append(Line2D([0], [0], color="black", lw=1.2, ls="--", label="uTNT: reported tunnel"))
    if revealed:
        handles.append(Line2D([0], [0], marker="o", color="w", markeredgecolor="black", markersize=9,
                              label=f"uTNT: revealed LSR ({revealed})"))
    return handles


def _report(out: str, colour: str, handles: list, n_groups=None) -> dict:
    return {"file": out, "colour": colour, "legend": [h.get_label() for h in handles], "groups": n_groups}


def _draw_groups(lab, truth, out, result, colour, by):
    """Hundreds of routers: one disc per group (PoP, community or domain; its area the router
    count), grey links between groups, and the tunnels first: truth tunnels as thick segments
    between the groups they cross (width by crossings), uTNT's dashed in black."""
    g = _graph(lab)
    parts = groups(lab, g, by)
    where = {r: name for name, members in parts.items() for r in members}
    gg = nx.Graph()
    gg.add_nodes_from(parts)
    links: Counter = Counter()
    for link in lab.links:
        ends = sorted({where[i.node] for i in link.interfaces if i.node in where})
        for a, b in zip(ends, ends[1:]):
            links[(a, b)] += 1
            gg.add_edge(a, b)
    if all(lab.nodes[r].pos is not None for r in where):
        import math
        lat0 = sum(lab.nodes[r].pos[1] for r in where) / max(len(where), 1)
        geo = all(-180 <= lab.nodes[r].pos[0] <= 180 and -90 <= lab.nodes[r].pos[1] <= 90 for r in where)
        sx = math.cos(math.radians(lat0)) if geo else 1.0         # a degree of longitude is shorter
        pos = {name: (sx * sum(lab.nodes[r].pos[0] for r in m) / len(m), sum(lab.nodes[r].pos[1] for r in m) / len(m))
               for name, m in parts.items()}
    else:
        pos = {n: (float(p[0]), float(p[1])) for n, p in nx.spring_layout(gg, seed=7, iterations=150).items()}
    truth_edges, _lsrs, seen_edges, revealed = tunnel_segments(lab, truth, result)

    def lift(edges: Counter) -> Counter:
        out_: Counter = Counter()
        for (a, b), c in edges.items():
            ga, gb = where.get(a), where.get(b)
            if ga and gb and ga != gb:
                out_[tuple(sorted((ga, gb)))] += c
        return out_
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    fill, vendor_legend = node_colours(lab, colour)
    classes = [c for c in sorted(truth_edges) if lift(truth_edges[c])]
    handles_pre = _legend(vendor_legend, colour, classes, bool(seen_edges), 0)
    plt, fig, ax = _figure(xs, ys, 14.0, (len(handles_pre) + 3) // 4)
    top_links = max(links.values() or [1])
    nx.draw_networkx_edges(gg, pos, edgelist=list(links), ax=ax, edge_color="#d0d0d0",
                           width=[0.4 + 1.6 * links[e] / top_links for e in links])
    for cls in classes:
        edges = lift(truth_edges[cls])
        top = max(edges.values())
        el = list(edges)
        nx.draw_networkx_edges(gg, pos, edgelist=el, ax=ax, edge_color=tunnel_colour(cls, colour), alpha=0.65,
                               width=[1.2 + 5.0 * edges[e] / top for e in el])
    seen = lift(seen_edges)
    if seen:
        nx.draw_networkx_edges(gg, pos, edgelist=list(seen), ax=ax, edge_color="black", width=1.0, style="dashed")
    names = list(parts)
    size = {n: 18.0 * len(parts[n]) ** 0.5 * (40.0 / max(len(parts), 40)) ** 0.5 * 4 for n in names}

    def majority(members):
        return Counter(fill[r] for r in members).most_common(1)[0][0]
    nx.draw_networkx_nodes(gg, pos, nodelist=names, ax=ax, node_size=[size[n] for n in names],
                           node_color=[majority(parts[n]) for n in names], edgecolors="#444444", linewidths=0.5)
    hit = {where[r] for r in revealed if r in where}
    if hit:
        nx.draw_networkx_nodes(gg, pos, nodelist=sorted(hit), ax=ax, node_size=[size[n] * 1.8 for n in sorted(hit)],
                               node_color="none", edgecolors="black", linewidths=1.2)
    crossing = Counter()
    for edges in truth_edges.values():
        for (a, b), c in lift(edges).items():
            crossing[a] += c
            crossing[b] += c
    shown = sorted(names, key=lambda n: (-crossing[n], -len(parts[n]), n))[:30]
    nx.draw_networkx_labels(gg, pos, labels={n: text_safe(n) for n in shown}, font_size=7, ax=ax,
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    handles = _legend(vendor_legend, colour, classes, bool(seen), len(revealed))
    kind = {"pop": "PoPs" if all(lab.nodes[r].pos is not None for r in where) else "communities",
            "domain": "MPLS domains and IP regions"}[by]
    _finish(plt, fig, ax, out, handles,
            text_safe(f"{lab.name}: {len(lab.routers)} routers in {len(parts)} {kind} (disc area: routers), "
                      f"{len(lab.links)} links, {len(lab.domains)} MPLS domain(s)"))
    return _report(out, colour, handles, len(parts))


def _draw_large(lab, truth, out, result, colour):
    """30 to a few hundred routers: small nodes, tunnel edges by class (width grows with the
    probes crossing them), uTNT's tunnels dashed, the best connected routers named."""
    g = _graph(lab)
    pos = _layout(lab, g, truth)
    n = len(lab.routers)
    routers = [r.name for r in lab.routers]
    hosts = [h.name for h in lab.hosts]
    hubs = [x for x in g.nodes if x.startswith("[")]
    fill, vendor_legend = node_colours(lab, colour)
    truth_edges, _lsrs, seen_edges, revealed = tunnel_segments(lab, truth, result)
    handles = _legend(vendor_legend, colour, truth_edges, bool(seen_edges), len(revealed))
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    plt, fig, ax = _figure(xs, ys, 14.0 if n < 200 else 18.0, (len(handles) + 3) // 4)
    node_size = max(14.0, min(160.0, 6000.0 / n))
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#c8c8c8", width=0.5 if n > 150 else 0.8, alpha=0.7)
    for cls, edges in sorted(truth_edges.items()):
        top = max(edges.values())
        el = [e for e in edges if g.has_edge(*e)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, edge_color=tunnel_colour(cls, colour), alpha=0.55,
                               width=[1.5 + 4.5 * edges[e] / top for e in el])
    if seen_edges:
        el = [e for e in seen_edges if g.has_edge(*e)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, edge_color="black", width=1.0, style="dashed")
    nx.draw_networkx_nodes(g, pos, nodelist=routers, ax=ax, node_size=node_size,
                           node_color=[fill[r] for r in routers], edgecolors="#444444", linewidths=0.5)
    nx.draw_networkx_nodes(g, pos, nodelist=hosts, ax=ax, node_size=node_size * 0.6, node_shape="s",
                           node_color=[fill[h] for h in hosts], edgecolors="#555555", linewidths=0.4)
    nx.draw_networkx_nodes(g, pos, nodelist=hubs, ax=ax, node_size=node_size * 0.15, node_color="#999999",
                           node_shape="D")
    if revealed:
        nx.draw_networkx_nodes(g, pos, nodelist=sorted(revealed), ax=ax, node_size=node_size * 2.2,
                               node_color="none", edgecolors="black", linewidths=1.2)
    # names: every router up to 60, else the best connected ones; the vantage points
    deg = {r: g.degree(r) for r in routers}
    shown = routers if n <= 60 else sorted(routers, key=lambda r: -deg[r])[:25]
    labels = {r: text_safe(lab.nodes[r].display) for r in shown}
    labels.update({h: h for h in hosts if h.startswith("vp")} if len(hosts) <= 60 else {})
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7 if n <= 60 else 6, ax=ax,
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
    where = "coordinates from the data" if all(lab.nodes[r].pos for r in routers) else "force-directed layout"
    _finish(plt, fig, ax, out, handles,
            text_safe(f"{lab.name}: {n} routers, {len(lab.links)} links, {len(lab.domains)} MPLS domain(s) ({where})"))
    return _report(out, colour, handles)


def _draw_small(lab, truth: dict, out: str, result: dict | None, colour: str):
    """The library's look: the first path on a line, big named nodes (the vendor written under
    each router in a `class` picture), every equal-cost path's tunnels as thick segments."""
    g = _graph(lab)
    pos = _layout(lab, g, truth)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    if max(ys) - min(ys) < 0.5:                 # a path on a line: room above and below it
        ys = ys + [min(ys) - 0.8, max(ys) + 0.8]
    fill, vendor_legend = node_colours(lab, colour)
    classes: set = set()
    segs = []
    for p in truth["probes"]:
        for path in p["paths"]:                   # every equal-cost path, not only the first
            for t in path["tunnels"]:
                cls = "silent" if t["silent"] else t["class"]
                classes.add(cls)
                segs.append((cls, [t["ingress"], *t["lsrs"], t["egress"]], t["lsrs"]))
    seen_nodes: list[list[str]] = []
    revealed: set = set()
    for tr in (result or {}).get("traces", []):
        for t in tr.get("tunnels", []):
            nodes = [lab.owner_of(a) if a else None for a in [t.get("ingress"), *t.get("lsrs", []), t.get("egress")]]
            seen_nodes.append([x for x in nodes if x])
        for h in tr.get("hops", []):
            if h.get("revealed") and h.get("address") and lab.owner_of(h["address"]):
                revealed.add(lab.owner_of(h["address"]))
    handles = _legend(vendor_legend, colour, classes, bool(result), len(revealed))
    plt, fig, ax = _figure(xs, ys, min(max(8.0, 1.1 * (max(xs) - min(xs) + 2)), 30.0), (len(handles) + 3) // 4)
    # MPLS domains: a soft grey halo behind their routers, named
    for dn, d in sorted(lab.domains.items()):
        nx.draw_networkx_nodes(g, pos, nodelist=d.routers, node_size=2300, node_color="#ececec", alpha=0.8,
                               ax=ax, linewidths=0)
        cx = sum(pos[r][0] for r in d.routers) / len(d.routers)
        cy = min(pos[r][1] for r in d.routers) - 0.55
        ax.text(cx, cy, text_safe(f"MPLS domain '{dn}'"), ha="center", fontsize=8, color="#555555")
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#bbbbbb", width=1.2)
    for cls, seq, lsrs in segs:
        el = [(a, b) for a, b in zip(seq, seq[1:]) if g.has_edge(a, b)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, width=7, alpha=0.55, edge_color=tunnel_colour(cls, colour))
        nx.draw_networkx_nodes(g, pos, nodelist=lsrs, ax=ax, node_size=900, node_color="none",
                               edgecolors=tunnel_colour(cls, colour), linewidths=3)
    routers = [n.name for n in lab.routers]
    hosts = [n.name for n in lab.hosts]
    hubs = [n for n in g.nodes if n.startswith("[")]
    nx.draw_networkx_nodes(g, pos, nodelist=routers, ax=ax, node_size=520, node_color=[fill[r] for r in routers],
                           edgecolors="#333333", linewidths=0.8)
    nx.draw_networkx_nodes(g, pos, nodelist=hosts, ax=ax, node_size=420, node_shape="s",
                           node_color=[fill[h] for h in hosts], edgecolors="#333333", linewidths=0.8)
    nx.draw_networkx_nodes(g, pos, nodelist=hubs, ax=ax, node_size=60, node_color="#999999", node_shape="D")
    nx.draw_networkx_labels(g, pos, labels={n: text_safe(lab.nodes[n].display) for n in routers + hosts},
                            font_size=8, ax=ax)
    if colour == "class":                        # the vendor as words, not as a second colour
        for r in routers:
            x, y = pos[r]
            ax.text(x, y - 0.3, text_safe(lab.nodes[r].vendor), ha="center", va="top", fontsize=6, color="#444444")
    for nodes in seen_nodes:
        el = [(a, b) for a, b in zip(nodes, nodes[1:]) if g.has_edge(a, b)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, width=2, style="dashed", edge_color="black")
    if revealed:
        nx.draw_networkx_nodes(g, pos, nodelist=sorted(revealed), ax=ax, node_size=1300, node_color="none",
                               edgecolors="black", linewidths=1.2)
    ax.plot([min(xs), max(xs)], [min(ys), max(ys)], alpha=0)     # the extent _figure sized for
    _finish(plt, fig, ax, out, handles, text_safe(f"{lab.name}: {lab.description}"))
    return _report(out, colour, handles)


def load_result(path: str) -> dict:
    """A `testbed run --json` result (graph --result), through the input boundary."""
    from testbed.inputs import InputProblem, read_json
    doc = read_json(path, "result", "result file", fix="give a `testbed run --json` result")
    if not isinstance(doc, dict) or not isinstance(doc.get("traces", []), list):
        raise InputProblem(path, None, "traces", "not a `testbed run --json` result (an object with a traces list)")
    return doc
