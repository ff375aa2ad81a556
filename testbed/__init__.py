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
__version__ = "0.1.0"

from testbed.paths import REPO_ROOT, ROUTER_CONFIGS, TOPOLOGIES  # noqa: E402,F401  (testbed.TOPOLOGIES, ...)

# the public Python API (testbed/api.py), imported on first use so that `import testbed` (and
# the CLI's start-up) stays fast: testbed.load, testbed.up, testbed.ground_truth, testbed.score
_API = ("load", "up", "attach", "run", "ground_truth", "score", "Net", "Result", "Truth", "Score")


def __getattr__(name):
    if name in _API:
        from testbed import api
        return getattr(api, name)
    raise AttributeError(f"module 'testbed' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
