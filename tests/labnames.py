"""Lab instance names unique to this test run, so the suite can run beside other labs
(a user's own, or a second copy of the suite) on the same machine.

`N("pt-side-a")` is `t<run>-pt-side-a`, where <run> is four hex digits drawn once per test
run (or `UTNT_TEST_RUN` when set), and one per pytest-xdist worker. The run tag is a prefix, so name relations the tests rely
on survive: `N("pt-x")` is still a prefix of `N("pt-x-y")`.
"""
from __future__ import annotations

import hashlib
import os
import secrets

BASE_RUN = os.environ.get("UTNT_TEST_RUN") or secrets.token_hex(2)
os.environ["UTNT_TEST_RUN"] = BASE_RUN     # subprocesses see the same tag
# under pytest-xdist every worker has a tag of its own (derived from the run's), so two tests
# on different workers never share a lab name, whatever base names they use
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
RUN = hashlib.sha1(f"{BASE_RUN}-{_WORKER}".encode()).hexdigest()[:4] if _WORKER else BASE_RUN


def N(base: str) -> str:
    """The run's name for `base`; a base too long for the runtime's 24 characters keeps its
    first 13 and a 4-digit hash of the whole, so two long bases stay distinct."""
    if len(base) > 18:
        base = f"{base[:13]}-{hashlib.sha1(base.encode()).hexdigest()[:4]}"
    return f"t{RUN}-{base}"
