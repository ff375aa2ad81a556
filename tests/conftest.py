import os
import shutil

import pytest

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
