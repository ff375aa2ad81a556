"""Generated lab shapes for the big-lab runtime's tests and benchmarks.

ring_chord(n): routers r0..r{n-1} on a ring, plus one random chord per router (seeded; a
chord that would double a ring link or an earlier chord is left out): a low-diameter graph
(about 2 log2 n hops) whatever n is. A host `vp` on a LAN at r0, a host `dst` on a LAN at
r{n/2}, probes vp -> dst and r0 -> dst (a router vantage point).
"""
from __future__ import annotations

import random


def ring_chord(n: int, seed: int = 1, name: str | None = None) -> str:
    if n < 4:
        raise ValueError("ring_chord needs at least 4 routers")
    rnd = random.Random(f"ring-chord:{seed}:{n}")
    lines = [f"name: {name or f'ring{n}'}", "routers:"] + [f"  r{i}: {{}}" for i in range(n)]
    lines += ["hosts:", "  vp: {}", "  dst: {}", "links:", "  - {lan: [r0, vp], name: vp-lan}"]
    lines += [f"  - [r{i}, r{(i + 1) % n}]" for i in range(n)]
    seen = set()
    for i in range(n):
        j = rnd.randrange(n)
        k = (min(i, j), max(i, j))
        if j == i or abs(i - j) in (1, n - 1) or k in seen:
            continue
        seen.add(k)
        lines.append(f"  - [r{i}, r{j}]")
    lines += [f"  - {{lan: [r{n // 2}, dst], name: dst-lan}}", "probes:", "  - {from: vp, to: dst}",
              "  - {from: r0, to: dst}"]
    return "\n".join(lines) + "\n"
