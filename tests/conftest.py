import os
import shutil

import pytest

# the local index of runs (`testbed runs`) is the user's, not the suite's: tests that check it
# give their own UTNT_RUNS_DB; every other run of the suite records nothing
os.environ["UTNT_RUNS_DB"] = "off"

from testbed.controlplane import build
from testbed.lab import load_lab


@pytest.fixture(scope="session")
def labs():
    cache = {}

    def get(name, **params):
        key = (name, tuple(sorted(params.items())))
        if key not in cache:
            lab = load_lab(name, params)
            cache[key] = (lab, build(lab))
        return cache[key]
    return get


@pytest.fixture(scope="module")
def running(request):
    """Library labs on network namespaces, brought up on first use by `running(name)` (which
    returns the instance name, unique to the run: labnames.N with the module's LAB_PREFIX) and
    all torn down when the module's tests are done; none may be left running."""
    from labnames import N
    from testbed.lab import load_lab
    from testbed.runtimes.netns import api
    prefix = getattr(request.module, "LAB_PREFIX", "rl")
    started = []

    def get(name):
        inst = N(f"{prefix}-{name}")
        if inst not in started:
            api.up(load_lab(name), name=inst)
            started.append(inst)
        return inst
    yield get
    for inst in started:
        api.down(inst)
    assert not [s for s in api.status() if s["name"] in started]


def pytest_report_header(config):
    """One line: which uTNT guest the micro-VM tests boot (our kernel when built, else Debian's)."""
    try:
        from testbed.runtimes.qemu import guest_line, missing
    except ImportError:
        return None
    why = missing()
    return f"micro-VM runtime not here: {why}" if why else guest_line()


def pytest_collection_modifyitems(config, items):
    root = os.geteuid() == 0
    for it in items:
        if "netns" in it.keywords and not root:
            it.add_marker(pytest.mark.skip(reason="needs root for network namespaces"))
        if "frr" in it.keywords and not shutil.which("vtysh"):
            it.add_marker(pytest.mark.skip(reason="Debian's frr is not installed (make bootstrap installs it)"))
        if "vm" in it.keywords:
            from testbed.runtimes.qemu import missing
            why = missing()
            if why:
                it.add_marker(pytest.mark.skip(reason=f"micro-VM runtime not here: {why}"))
