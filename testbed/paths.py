"""Where the testbed's data lives: the lab library (topologies/) and the router configuration
templates (router-configs/). A source checkout (or editable install) reads the repository's
folders; a built wheel carries copies inside the package (setup.py copies them into
testbed/_data/). A room of its own, below everything that reads it, so that the package's face
(testbed/__init__.py, which hands on the public API) is imported by nothing inside."""
from pathlib import Path

_PKG = Path(__file__).resolve().parent
REPO_ROOT = _PKG.parent


def _data_dir(name: str) -> Path:
    checkout = REPO_ROOT / name
    return checkout if (REPO_ROOT / "pyproject.toml").is_file() and checkout.is_dir() else _PKG / "_data" / name


TOPOLOGIES = _data_dir("topologies")
ROUTER_CONFIGS = _data_dir("router-configs")
