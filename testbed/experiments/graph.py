"""`testbed graph`: the topology drawn with routers by vendor, MPLS domains, and every
ground-truth tunnel coloured by class; with a run's JSON, what uTNT saw overlaid."""
from __future__ import annotations


import networkx as nx

from testbed.experiments.layout import CLASS_COLOURS, SMALL, VENDOR_COLOURS, _graph, _layout, tunnel_segments


def draw(lab, truth: dict, out: str, result: dict | None = None):
    """PNG or SVG (matplotlib) by the file's extension; .html: the zoomable view (html.py)."""
    if out.endswith(".html"):
        from testbed.experiments.html import write_html
        return write_html(lab, truth, out, result)
    if len(lab.routers) > SMALL:
        return _draw_large(lab, truth, out, result)
    return _draw_small(lab, truth, out, result)


def _draw_large(lab, truth, out, result):
    """30 to 1,000 routers: small nodes coloured by vendor, rings by MPLS domain, tunnel edges by
    class (width grows with the probes crossing them), uTNT's tunnels dashed, few labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    g = _graph(lab)
    pos = _layout(lab, g, truth)
    n = len(lab.routers)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    aspect = (max(ys) - min(ys) + 1e-9) / (max(xs) - min(xs) + 1e-9)
    w = 14 if n < 200 else 18
    fig, ax = plt.subplots(figsize=(w, max(6.0, min(w * aspect, 14)) + 0.8), dpi=110)
    node_size = max(14.0, min(160.0, 6000.0 / n))
    routers = [r.name for r in lab.routers]
    hosts = [h.name for h in lab.hosts]
    hubs = [x for x in g.nodes if x.startswith("[")]
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#c8c8c8", width=0.5 if n > 150 else 0.8, alpha=0.7)
    truth_edges, _lsrs, seen_edges, revealed = tunnel_segments(lab, truth, result)
    for cls, edges in sorted(truth_edges.items()):
        top = max(edges.values())
        el = [e for e in edges if g.has_edge(*e)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, edge_color=CLASS_COLOURS[cls], alpha=0.55,
                               width=[1.5 + 4.5 * edges[e] / top for e in el])
    if seen_edges:
        el = [e for e in seen_edges if g.has_edge(*e)]
        nx.draw_networkx_edges(g, pos, edgelist=el, ax=ax, edge_color="black", width=1.0, style="dashed")
    dom_colours = plt.get_cmap("Dark2")
    doms = sorted(lab.domains)
    ring = {r: dom_colours(i % 8) for i, d in enumerate(doms) for r in lab.domains[d].routers}
    nx.draw_networkx_nodes(g, pos, nodelist=routers, ax=ax, node_size=node_size,
                           node_color=[VENDOR_COLOURS.get(lab.nodes[r].vendor, "#ccc") for r in routers],
                           edgecolors=[ring.get(r, "#333333") for r in routers],
                           linewidths=1.6 if len(doms) > 1 else 0.6)
    nx.draw_networkx_nodes(g, pos, nodelist=hosts, ax=ax, node_size=node_size * 0.6, node_shape="s",
                           node_color=VENDOR_COLOURS["host"], edgecolors="#555555", linewidths=0.4)
    nx.draw_networkx_nodes(g, pos, nodelist=hubs, ax=ax, node_size=node_size * 0.15, node_color="#999999",
                           node_shape="D")
    if revealed:
        nx.draw_networkx_nodes(g, pos, nodelist=sorted(revealed), ax=ax, node_size=node_size * 2.2,
                               node_color="none", edgecolors="black", linewidths=1.2)
    # labels: every router up to 60, else the best connected ones and the vantage points
    deg = {r: g.degree(r) for r in routers}
    shown = routers if n <= 60 else sorted(routers, key=lambda r: -deg[r])[:25]
    labels = {r: r for r in shown}
    labels.update({h: h for h in hosts if h.startswith("vp")} if len(hosts) <= 60 else {})
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7 if n <= 60 else 6, ax=ax,
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
    handles = [Patch(color=VENDOR_COLOURS[v], label=f"{v} ({sum(1 for r in lab.routers if r.vendor == v)})")
               for v in ("cisco", "juniper", "linux") if any(r.vendor == v for r in lab.routers)]
    handles.append(Patch(color=VENDOR_COLOURS["host"], label=f"host ({len(hosts)})"))
    if len(doms) > 1:
        handles += [Line2D([0], [0], marker="o", color="w", markeredgecolor=dom_colours(i % 8), markersize=8,
                           markeredgewidth=2, label=f"domain {d} ({len(lab.domains[d].routers)})")
                    for i, d in enumerate(doms)]
    handles += [Line2D([0], [0], color=CLASS_COLOURS[c], lw=4, alpha=0.6,
                       label=f"truth: {c} ({sum(truth_edges[c].values())} hop crossings)")
                for c in sorted(truth_edges)]
    if seen_edges or revealed:
        handles.append(Line2D([0], [0], color="black", lw=1, ls="--", label="uTNT: reported tunnel"))
        handles.append(Line2D([0], [0], marker="o", color="w", markeredgecolor="black", markersize=9,
                              label=f"uTNT: revealed LSR ({len(revealed)})"))
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    where = "coordinates from the data" if all(lab.nodes[r].pos for r in routers) else "force-directed layout"
    ax.set_title(f"{lab.name}: {n} routers, {len(lab.links)} links, {len(doms)} MPLS domain(s) ({where})",
                 fontsize=10)
    ax.axis("off")
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _draw_small(lab, truth: dict, out: str, result: dict | None = None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    g = _graph(lab)
    pos = _layout(lab, g, truth)
    xs = [p[0] for p in pos.values()]
    width = max(8.0, 1.1 * (max(xs) - min(xs) + 2))
    fig, ax = plt.subplots(figsize=(min(width, 30), 4.8), dpi=110)
    # MPLS domains: a soft halo behind their routers
    for i, (dn, d) in enumerate(sorted(lab.domains.items())):
        nx.draw_networkx_nodes(g, pos, nodelist=d.routers, node_size=2300, node_color="#fff3b0", alpha=0.6,
                               ax=ax, linewidths=0)
        cx = sum(pos[r][0] for r in d.routers) / len(d.routers)
        cy = min(pos[r][1] for r in d.routers) - 0.3
        ax.text(cx, cy, f"MPLS domain '{dn}'", ha="center", fontsize=8, color="#806600")
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color="#bbbbbb", width=1.2)
    # ground-truth tunnels: thick coloured segments ingress -> LSRs -> egress
    legend_classes = set()
    offset = 0
    for p in truth["probes"]:
        for path in p["paths"]:                   # every equal-cost path, not only the first
            for t in path["tunnels"]:
                cls = "silent" if t["silent"] else t["class"]
                legend_classes.add(cls)
                seq = [t["ingress"], *t["lsrs"], t["egress"]]
                for a, b in zip(seq, seq[1:]):
                    if g.has_edge(a, b):
                        nx.draw_networkx_edges(g, pos, edgelist=[(a, b)], ax=ax, width=7, alpha=0.55,
                                               edge_color=CLASS_COLOURS[cls])
                nx.draw_networkx_nodes(g, pos, nodelist=t["lsrs"], ax=ax, node_size=900, node_color="none",
                                       edgecolors=CLASS_COLOURS[cls], linewidths=3)
                offset += 1
    routers = [n.name for n in lab.routers]
    hosts = [n.name for n in lab.hosts]
    hubs = [n for n in g.nodes if n.startswith("[")]
    nx.draw_networkx_nodes(g, pos, nodelist=routers, ax=ax, node_size=520,
                           node_color=[VENDOR_COLOURS.get(lab.nodes[r].vendor, "#ccc") for r in routers],
                           edgecolors="#333333", linewidths=0.8)
    nx.draw_networkx_nodes(g, pos, nodelist=hosts, ax=ax, node_size=420, node_shape="s",
                           node_color=VENDOR_COLOURS["host"], edgecolors="#333333", linewidths=0.8)
    nx.draw_networkx_nodes(g, pos, nodelist=hubs, ax=ax, node_size=60, node_color="#999999", node_shape="D")
    nx.draw_networkx_labels(g, pos, labels={n: n for n in routers + hosts}, font_size=8, ax=ax)
    handles = [Patch(color=VENDOR_COLOURS[v], label=v) for v in ("cisco", "juniper", "linux", "host")
               if v == "host" or any(n.vendor == v for n in lab.routers)]
    handles += [Line2D([0], [0], color=CLASS_COLOURS[c], lw=5, alpha=0.6, label=f"truth: {c}")
                for c in sorted(legend_classes)]
    # uTNT's view
    if result:
        seen = set()
        for tr in result.get("traces", []):
            for t in tr.get("tunnels", []):
                nodes = [lab.owner_of(a) if a else None for a in [t.get("ingress"), *t.get("lsrs", []),
                                                                  t.get("egress")]]
                nodes = [n for n in nodes if n]
                for a, b in zip(nodes, nodes[1:]):
                    if g.has_edge(a, b):
                        nx.draw_networkx_edges(g, pos, edgelist=[(a, b)], ax=ax, width=2, style="dashed",
                                               edge_color="black")
                seen.update(nodes)
            for h in tr.get("hops", []):
                if h.get("revealed") and h.get("address"):
                    n = lab.owner_of(h["address"])
                    if n:
                        x, y = pos[n]
                        ax.text(x, y + 0.22, "revealed", ha="center", fontsize=7, color="black")
        handles.append(Line2D([0], [0], color="black", lw=2, ls="--", label="uTNT: reported tunnel"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(f"{lab.name}: {lab.description}", fontsize=9)
    ax.axis("off")
    ys = [p[1] for p in pos.values()]
    if max(ys) - min(ys) < 0.5:                 # a path on a line: keep a readable vertical scale
        ax.set_ylim(-0.8, 0.8)
    ax.margins(0.04, 0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def load_result(path: str) -> dict:
    """A `testbed run --json` result (graph --result), through the input boundary."""
    from testbed.inputs import InputProblem, read_json
    doc = read_json(path, "result", "result file", fix="give a `testbed run --json` result")
    if not isinstance(doc, dict) or not isinstance(doc.get("traces", []), list):
        raise InputProblem(path, None, "traces", "not a `testbed run --json` result (an object with a traces list)")
    return doc
