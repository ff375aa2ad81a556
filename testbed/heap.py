"""The cyclic garbage collector around big, long-lived object graphs: a lab model and its
control plane are millions of acyclic objects that every full collection would walk again and
again (the most of a 100,000-router lab's load and campaign, measured). Below everything that
uses it: the lab loader, the control plane and the campaign."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_frozen = [0]                # frozen_heap blocks open (no_gc then leaves what it built frozen)


@contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection while tables are built: they are millions of acyclic
    objects, and every full collection walks all of them again (most of the time a 400-router
    ISP's tables took was spent in collections). The previous state comes back after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what was built is handed to the oldest generation as it is (a list splice), not walked
        # by the first young collection after (a second of a 100,000-router lab's load); full
        # collections still see it
        gc.freeze()
        if not _frozen[0]:               # inside frozen_heap: it stays frozen with the rest
            gc.unfreeze()
        if was:
            gc.enable()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive now (a lab, its control plane) kept out of cyclic garbage collection
    until the block ends: a campaign on a 100,000-router lab allocates millions of short-lived
    objects, and every full collection walked the lab's millions of long-lived ones again.
    gc.unfreeze() hands them back to the collector after."""
    gc.freeze()
    _frozen[0] += 1
    try:
        yield
    finally:
        _frozen[0] -= 1
        if not _frozen[0]:
            gc.unfreeze()
