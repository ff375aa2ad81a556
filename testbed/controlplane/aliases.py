"""The type aliases the control plane's modules share (compute, cache, scale): the lab's routing
graph as compute reads it, and the numpy arrays it keeps (named for the type checker only:
numpy is imported when the control plane is computed, not when this module is)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]
    Bound = tuple[IntArray, IntArray]          # a router's LDP bindings: (prefix indices, labels), numpy

Owners = dict[IPv4Network, list[tuple[str, int]]]          # prefix -> [(router, stub cost)]
Nbr = tuple[str, str, IPv4Address, int]                    # (ifname, neighbour router, its address, link cost)
Nbrs = dict[str, list[Nbr]]
