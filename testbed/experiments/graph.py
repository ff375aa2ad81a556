"""`testbed graph`: the topology drawn with routers by vendor, MPLS domains, and every
ground-truth tunnel coloured by class; with a run's JSON, what uTNT saw overlaid."""
from __future__ import annotations

import json

import networkx as nx

CLASS_COLOURS = {"explicit": "#1f77b4", "implicit": "#2ca02c", "opaque": "#9467bd", "invisible-php": "#d62728",
                 "invisible-uhp": "#ff7f0e", "silent": "#7f7f7f"}
VENDOR_COLOURS = {"cisco": "#4c9be8", "juniper": "#7fc97f", "linux": "#fdc086", "host": "#dddddd"}
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


def _layout(lab, g, truth):
    """The first probe's path on a straight line, everything else placed around it."""
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


def draw(lab, truth: dict, out: str, result: dict | None = None):
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
    with open(path) as f:
        return json.load(f)
