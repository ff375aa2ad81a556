"""Bar pictures of results: a campaign's per-class precision and recall, the scoreboard, and any
table of rows (the matrix) as grouped bars."""
from __future__ import annotations


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def campaign_bars(doc: dict, out: str):
    """Per uTNT class: truth tunnels present, detected, with the right class, reported by uTNT;
    precision and recall written over the bars."""
    plt = _plt()
    rows = [(c, k) for c, k in doc["classes"].items() if k["present"] or k["reported"] or k["undetectable"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(rows) + 2), 4.4), dpi=110)
    series = (("present", "truth present", "#bbbbbb"), ("undetectable", "undetectable (silent LSRs)", "#eeeeee"),
              ("detected", "detected", "#9ecae1"), ("tp", "class right", "#3182bd"),
              ("reported", "reported by uTNT", "#fdae6b"))
    w = 0.16
    for j, (key, label, colour) in enumerate(series):
        xs = [i + (j - 2) * w for i in range(len(rows))]
        ax.bar(xs, [k[key] for _, k in rows], w, label=label, color=colour, edgecolor="#555555", linewidth=0.5)
    top = max([1] + [max(k["present"], k["reported"], k["undetectable"]) for _, k in rows])
    for i, (c, k) in enumerate(rows):
        p = "-" if k["precision"] is None else f"{100 * k['precision']:.0f}%"
        r = "-" if k["recall"] is None else f"{100 * k['recall']:.0f}%"
        ax.text(i, top * 1.06, f"precision {p}\nrecall {r}", ha="center", fontsize=8)
    ax.set_xticks(range(len(rows)), [c for c, _ in rows])
    ax.set_ylim(0, top * 1.3)
    ax.set_ylabel("tunnels (over all traces)")
    ax.set_title(f"campaign {doc['lab']} ({doc['runtime']}): {doc['vantage_points']} vantage points, "
                 f"{doc['traces']} traces, {doc['probes']['total']} probes", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def grouped_bars(rows: list[dict], label_key: str, series: list[tuple[str, str]], out: str, title: str,
                 ylabel: str = "count"):
    """One group per row (a lab, a matrix cell), one bar per (key, legend label) in `series`."""
    plt = _plt()
    n = len(rows)
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.9 * n + 3)), 4.6), dpi=110)
    w = 0.8 / max(1, len(series))
    cmap = plt.get_cmap("tab10")
    for j, (key, label) in enumerate(series):
        xs = [i - 0.4 + w * (j + 0.5) for i in range(n)]
        ax.bar(xs, [r.get(key) or 0 for r in rows], w, label=label, color=cmap(j % 10))
    ax.set_xticks(range(n), [str(r[label_key]) for r in rows], rotation=30 if n > 6 else 0, ha="right" if n > 6
                  else "center", fontsize=8)
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def scoreboard_bars(rows: list[dict], out: str, runtime: str = "sim"):
    grouped_bars(rows, "lab", [("present", "truth tunnels"), ("detected", "detected"), ("class_correct", "class right"),
                               ("hidden_lsrs_present", "hidden LSRs"), ("hidden_lsrs_revealed", "revealed"),
                               ("false_tunnels", "false tunnels"), ("undetectable", "undetectable")],
                 out, f"uTNT scoreboard ({runtime} runtime)")


def matrix_bars(rows: list[dict], out: str, label_key: str = "cell"):
    """The matrix's rows (whatever their label), with the scorer's totals as bars."""
    grouped_bars(rows, label_key, [("present", "truth tunnels"), ("detected", "detected"),
                                   ("class_correct", "class right"), ("false_tunnels", "false tunnels")],
                 out, "uTNT over the matrix")
