"""Impairments in the engine workers: which ports hold frames, and the timer queue.

On a link with delay, jitter or loss (testbed/runtimes/impair.py decides which; the model and
its seeded draws are shared with the sim), the worker of the router that sends a frame draws
its fate: lost, or held in the timer queue (a heap by due time) and sent when due. The epoll
loop's timeout follows the queue's head.

Hosts run no engine, so on a link with a host (a host's point-to-point link, or a LAN with
hosts or a tap attachment) the routers' side applies the host's direction as well: a frame
arriving on an impaired port whose source MAC is not one of the lab's routers on that link
(a host, or a prober on the tap) draws from the host's own stream (the link's only host; with
several hosts, the receiving end's "in" stream) and is handled when due. So every direction
of every link crosses the whole delay once, as on the sim: a 20 ms link between a host and
its router adds 40 ms to the host's round-trip times.
"""
from __future__ import annotations

import heapq

from testbed.runtimes.impair import for_interface, impaired_on_netns


def port_impairments(lab, node, seed: int | None = None):
    """(egress, ingress) for a router's ports, each a list by port index, or None when no
    port of the router is impaired (the worker keeps its direct path). An ingress entry is
    (Impairment, frozenset of the link's router MACs): frames from any other MAC are held."""
    egress, ingress = [], []
    for itf in node.interfaces:
        ln = itf.link
        if ln.down or not impaired_on_netns(ln):
            egress.append(None)
            ingress.append(None)
            continue
        egress.append(for_interface(lab, itf, "out", seed, True))
        routers = [i for i in ln.interfaces if lab.nodes[i.node].is_router]
        hosts = [i for i in ln.interfaces if not lab.nodes[i.node].is_router]
        if hosts or ln.kind == "lan":
            # one host on the link: its own sending stream, as the sim draws it (a prober on
            # the tap of its LAN stands in for it, as on the sim); else the router end's "in"
            src = for_interface(lab, hosts[0], "out", seed, True) if len(hosts) == 1 \
                else for_interface(lab, itf, "in", seed, True)
            ingress.append((src, frozenset(i.mac for i in routers)))
        else:
            ingress.append(None)
    if not any(egress):
        return None, None
    return egress, (ingress if any(ingress) else None)


class TimerQueue:
    """Frames held until due: (due, seq, send, frame) for sends, (due, seq, None, item) for
    frames received from a host and handled when due."""

    __slots__ = ("heap", "seq")

    def __init__(self):
        self.heap: list = []
        self.seq = 0

    def push(self, due: float, fn, item):
        self.seq += 1
        heapq.heappush(self.heap, (due, self.seq, fn, item))

    def timeout(self, now: float, cap: float) -> float:
        """epoll's timeout: until the head is due, at most `cap` seconds."""
        if not self.heap:
            return cap
        d = self.heap[0][0] - now
        return 0.0 if d <= 0 else (d if d < cap else cap)

    def pop_due(self, now: float):
        """Every entry due by `now`, in due order."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            yield heapq.heappop(heap)

    def __len__(self):
        return len(self.heap)
