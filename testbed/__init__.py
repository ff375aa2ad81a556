"""uTNT-lab: vendor-faithful MPLS labs, their ground truth, and scoring of tunnel detection."""
from pathlib import Path

__version__ = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = REPO_ROOT / "topologies"
ROUTER_CONFIGS = REPO_ROOT / "router-configs"
