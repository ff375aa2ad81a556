"""uTNT-lab: vendor-faithful MPLS labs, their ground truth, and scoring of tunnel detection."""
import sys as _sys

if _sys.argv and _sys.argv[0].rsplit("/", 1)[-1] == "testbed":
    # the `testbed` command: a Ctrl-C while Python still imports the CLI ends quietly (the
    # CLI's guard, testbed.cli.guard, takes over once main() runs)
    import _signal          # the C module: `signal` itself takes long to import (enum)
    import posix as _posix

    def _early_interrupt(signum, frame):
        _posix.write(2, b"interrupted\n")
        _posix._exit(130)
    _signal.signal(_signal.SIGINT, _early_interrupt)
from pathlib import Path

__version__ = "0.1.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = REPO_ROOT / "topologies"
ROUTER_CONFIGS = REPO_ROOT / "router-configs"
