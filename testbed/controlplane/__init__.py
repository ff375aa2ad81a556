"""Computed control plane: what OSPF and LDP would converge to, per router.

`build(lab)` returns a ControlPlane with, for every router, its FIB (prefix -> next hops,
with the labels an ingress pushes) and its LFIB (in-label -> out-label and next hops):
whole tables (compute.py, deferred per router) up to scale.SCALE_ROUTERS routers, above that
per destination on demand (scale.py: the same routes and labels without all-pairs state).
"""
from typing import TYPE_CHECKING

from .compute import _build
from . import scale
from testbed.heap import no_gc

from .tables import ControlPlane, LabelHop, LfibEntry, NextHop, Route, RouterTables

if TYPE_CHECKING:
    from testbed.lab.model import Lab

__all__ = ["build", "ControlPlane", "RouterTables", "Route", "NextHop", "LfibEntry", "LabelHop"]


def build(lab: "Lab", only: set[str] | None = None) -> ControlPlane:
    """The control plane of `lab` (module docstring). only: on a big lab, the nodes whose tables
    are wanted (one machine's part of a split lab: scale.build_scale); whole tables ignore it."""
    if len(lab.routers) > scale.SCALE_ROUTERS:
        return scale.build_scale(lab, only)
    with no_gc():
        return _build(lab)
