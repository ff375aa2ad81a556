"""Link impairments (delay, jitter, loss): one model for the sim and the namespace runtime.

A frame crossing an impaired link in one direction is lost with probability `loss`, else it
arrives `delay_ms` +/- a uniform draw of up to `jitter_ms` later (never before it was sent:
a negative draw counts as 0; frames may overtake each other, as with a real jittery link).
Each direction of each link end draws from its own seeded stream (`stream_key`: the lab's
`seed`, the link's name, the sending node and interface), so a run with the same seed and
the same frames makes the same draws. Loss is drawn first, then jitter, one draw each per
frame, on both runtimes.

Which links are impaired depends on the runtime: the sim always delays by delay_ms (its
virtual clock needs a time per hop; the lab default is 0.05 ms) and draws only where jitter or
loss is set; the namespace runtime adds a delay only where delay_ms is written in the lab file
(on the link or in `defaults`): the default 0.05 ms stands for the wire's own latency, which a
veth already has, and unimpaired links keep the engine's direct path (no timer queue).
"""
from __future__ import annotations

import random


def stream_key(seed: int, link: str, node: str, ifname: str, direction: str = "out") -> str:
    return f"utnt-lab-impair:{seed}:{link}:{node}:{ifname}:{direction}"


class Impairment:
    """One direction of one link end: `draw()` is the seconds a frame takes, None if lost."""

    __slots__ = ("delay", "jitter", "loss", "rng", "lost", "held")

    def __init__(self, delay_ms: float, jitter_ms: float, loss: float, key: str):
        self.delay = delay_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.loss = loss
        self.rng = random.Random(key)
        self.lost = 0
        self.held = 0

    def draw(self) -> float | None:
        if self.loss and self.rng.random() < self.loss:
            self.lost += 1
            return None
        self.held += 1
        if not self.jitter:
            return self.delay
        d = self.delay + self.rng.uniform(-self.jitter, self.jitter)
        return d if d > 0.0 else 0.0

    def to_json(self) -> dict:
        return {"delay_ms": self.delay * 1000.0, "jitter_ms": self.jitter * 1000.0, "loss": self.loss,
                "lost": self.lost, "passed": self.held}


def impaired_on_netns(link) -> bool:
    """Does the namespace runtime hold this link's frames? (see the module doc)"""
    return (link.delay_set and link.delay_ms > 0) or link.jitter_ms > 0 or link.loss > 0


def for_interface(lab, itf, direction: str = "out", seed: int | None = None, netns: bool = False) -> Impairment:
    """The stream of `itf`'s end of its link. netns: the delay only where the lab file sets it."""
    ln = itf.link
    delay = ln.delay_ms if (ln.delay_set or not netns) else 0.0
    return Impairment(delay, ln.jitter_ms, ln.loss,
                      stream_key(lab.seed if seed is None else seed, ln.name, itf.node, itf.name, direction))
