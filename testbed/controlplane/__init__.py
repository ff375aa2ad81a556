"""Computed control plane: what OSPF and LDP would converge to, per router.

`build(lab)` returns a ControlPlane with, for every router, its FIB (prefix -> next hops,
with the labels an ingress pushes) and its LFIB (in-label -> out-label and next hops).
"""
from .tables import ControlPlane, LfibEntry, LabelHop, NextHop, Route, RouterTables
from .compute import build

__all__ = ["build", "ControlPlane", "RouterTables", "Route", "NextHop", "LfibEntry", "LabelHop"]
