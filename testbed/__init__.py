"""uTNT-lab: vendor-faithful MPLS labs, their ground truth, and scoring of tunnel detection."""
from pathlib import Path

__version__ = "0.1.0"
_PKG = Path(__file__).resolve().parent
REPO_ROOT = _PKG.parent


def _data_dir(name: str) -> Path:
    """A source checkout (or editable install) reads the repository's folder; a built wheel
    carries a copy inside the package (setup.py copies it into testbed/_data/)."""
    checkout = REPO_ROOT / name
    return checkout if (REPO_ROOT / "pyproject.toml").is_file() and checkout.is_dir() else _PKG / "_data" / name


TOPOLOGIES = _data_dir("topologies")
ROUTER_CONFIGS = _data_dir("router-configs")
