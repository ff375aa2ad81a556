"""Ground truth: what each probe's packets cross, read from the control plane (never from the engine)."""
from .walk import Step, walk
from .tunnels import Tunnel, tunnels_on
from .report import flows_of, ground_truth, lab_digest

__all__ = ["Step", "walk", "Tunnel", "tunnels_on", "ground_truth", "flows_of", "lab_digest"]
