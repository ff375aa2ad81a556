"""`synthetic:isp?routers=N&seed=S`: a hierarchical ISP generated from a seed (issue 23), shaped
as CAIDA's router-level graphs of big ISPs look: a meshed core, aggregation routers dual-homed
to two cores, points of presence (PoPs: two distribution routers dual-homed to an aggregation
pair) and, in each PoP, access routers (most of the routers), some dual-homed, some single,
some hanging off another access router (the degree-1 tails of ITDK data).

Parameters (the query after `?`, each optional): routers (20..200000, default 1000), seed
(default 1), pop (mean routers per PoP, 8..1000, default 60). Link lengths by tier give delays
(build.py: 200 km per ms) and IGP costs (core 10, aggregation 20, PoP 30, access 40, tail 50).
Same parameters, same graph: the generator draws from one random.Random(seed).
"""
from __future__ import annotations

import random
from urllib.parse import parse_qsl

import networkx as nx

from .graph import ImportProblem

KINDS = ("isp",)
PARAMS = {"routers": (20, 200_000, 1000), "seed": (0, 4294967295, 1), "pop": (8, 1000, 60)}
TIERS = {"core": (10, 800.0), "agg": (20, 200.0), "pop": (30, 40.0), "access": (40, 10.0), "tail": (50, 2.0)}
ASN = 64512


def parse(rest: str) -> tuple[str, dict]:
    kind, _, query = rest.partition("?")
    if kind not in KINDS:
        raise ImportProblem(f"synthetic:{rest[:60]}: unknown kind '{kind[:20]}'; give synthetic:isp?routers=N&seed=S")
    got = {}
    for k, v in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if k not in PARAMS:
            raise ImportProblem(f"synthetic:{rest[:60]}: unknown parameter '{k[:20]}'; give "
                                + ", ".join(f"{p}={lo}..{hi}" for p, (lo, hi, _) in PARAMS.items()))
        lo, hi, _ = PARAMS[k]
        if not (v.isascii() and v.isdigit() and len(v) <= 10) or not lo <= int(v) <= hi:
            raise ImportProblem(f"synthetic:{rest[:60]}: parameter {k}={v[:20]!r} is not a whole number "
                                f"from {lo} to {hi}")
        got[k] = int(v)
    return kind, {p: got.get(p, d) for p, (_, _, d) in PARAMS.items()}


def isp(routers: int, seed: int, pop: int) -> nx.Graph:
    """The router graph: node attributes label, tier, asn; edge attributes cost, dist_km."""
    rng = random.Random(seed)
    n = routers
    n_core = max(4, min(64, round((n ** 0.5) / 5)))
    n_pop = max(1, (n - n_core) // pop)
    n_agg = max(2, min(n_pop * 2, round(n_pop / 4) * 2))
    while n_core + n_agg + 2 * n_pop > n and n_pop > 1:
        n_pop -= 1
        n_agg = max(2, min(n_pop * 2, round(n_pop / 4) * 2))
    n_access = n - n_core - n_agg - 2 * n_pop
    g = nx.Graph()

    def add(name, tier):
        g.add_node(name, label=name, tier=tier, asn=ASN)

    def link(a, b, tier):
        cost, km = TIERS[tier]
        g.add_edge(a, b, cost=cost, dist_km=round(km * rng.uniform(0.5, 1.5), 1))

    cores = [f"core{i + 1}" for i in range(n_core)]
    for c in cores:
        add(c, "core")
    for i, c in enumerate(cores):                       # a ring with chords: every core has degree >= 3
        link(c, cores[(i + 1) % n_core], "core")
        link(c, cores[(i + n_core // 2) % n_core], "core")
    for _ in range(n_core):
        a, b = rng.sample(cores, 2)
        link(a, b, "core")
    aggs = [f"agg{i + 1}" for i in range(n_agg)]
    for i, a in enumerate(aggs):                        # aggregation pairs, each member to two cores
        add(a, "agg")
        c = (i // 2) % n_core
        link(a, cores[c], "agg")
        link(a, cores[(c + 1 + i % 2) % n_core], "agg")
        if i % 2:
            link(a, aggs[i - 1], "agg")
    access_left = n_access
    for p in range(n_pop):
        d1, d2 = f"pop{p + 1}a", f"pop{p + 1}b"
        add(d1, "pop")
        add(d2, "pop")
        link(d1, d2, "pop")
        pair = 2 * (rng.randrange(n_agg // 2))
        for d in (d1, d2):
            link(d, aggs[pair], "pop")
            link(d, aggs[pair + 1], "pop")
        k = access_left // (n_pop - p) if p < n_pop - 1 else access_left
        k = max(0, min(access_left, k))
        access_left -= k
        made = []
        for j in range(k):
            a = f"p{p + 1}r{j + 1}"
            add(a, "access")
            x = rng.random()
            if made and x < 0.15:                      # a tail off another access router
                link(a, rng.choice(made), "tail")
            elif x < 0.6:                               # dual-homed
                link(a, d1, "access")
                link(a, d2, "access")
            else:
                link(a, d1 if rng.random() < 0.5 else d2, "access")
            made.append(a)
    g.graph["origin"] = f"synthetic:isp?routers={n}&seed={seed}&pop={pop}"
    g.graph["shape"] = {"core": n_core, "aggregation": n_agg, "pops": n_pop, "pop_routers": 2 * n_pop,
                        "access": n_access}
    return g


def load(rest: str) -> nx.Graph:
    kind, p = parse(rest)
    return isp(p["routers"], p["seed"], p["pop"])
