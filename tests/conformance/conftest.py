"""The full conformance run is `-m conformance` (make conformance); the sample always runs."""
import pytest


def pytest_collection_modifyitems(config, items):
    if "conformance" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="the full conformance run is `make conformance` (pytest -m conformance)")
    for item in items:
        if "conformance" in item.keywords and "sample" not in item.name:
            item.add_marker(skip)
