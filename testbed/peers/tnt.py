"""The original TNT (scamper fork + sc_tnt, YvesVanaubel/TNT) run as a peer inside a lab.

Nothing of TNT lives in this repository: the user builds it (see
shared/reference/peer-tnt.md (the project's reference notes, beside the checkout), or the upstream README) into a prefix found here, in
this order: ``$TNT_PREFIX``, ``<checkout>/.peers/tnt``, ``/opt/tnt-peer``; the prefix must
hold ``bin/scamper`` and ``bin/sc_tnt``.

:func:`run_tnt` runs one measurement in a running namespace lab (``testbed up``), through
:func:`run_in_namespace`, the one TNT runner (testbed.detectors.tnt, also behind ``--detector tnt``):

1. ``scamper -D -U SOCK -p PPS`` in the vantage point's namespace, with a socket path unique
   to this run.  With privilege separation this scamper ignores ``-e pidfile`` (the daemon
   exits), so its processes are found by that unique path on their command line and
   recorded by PID and start time with the lab's supervisor (testbed.runtimes.netns.supervisor:
   `testbed down` stops them too);
2. ``sc_tnt -U SOCK -o OUT.warts -a TARGETS [options]`` (TNT's own options, e.g. ``-b``);
3. the dumps ``sc_tnt -d 1 OUT.warts`` and ``sc_tnt -v -d 1 OUT.warts``;
4. on every exit path (success, error, timeout, Ctrl-C) the recorded processes are stopped
   (SIGTERM, SIGKILL only for the same process) and the socket and targets file removed.
"""
from __future__ import annotations

from pathlib import Path

from testbed.detectors.tnt import (  # noqa: F401 (DEFAULT_PREFIXES, _pids_with: tests)
    DEFAULT_PPS,
    DEFAULT_PREFIXES,
    _check,
    _pids_with,
    find_prefix,
    missing_reason,
    run_in_namespace,
)
from testbed.errors import TestbedError
from testbed.runtimes.netns import api as netns


def run_tnt(lab_name: str, vp: str, targets: list[str], options: list[str] | None = None, *,
            out_dir: str | Path | None = None, pps: int = DEFAULT_PPS, timeout: float = 600.0,
            prefix: Path | None = None, run_dir: str | Path | None = None) -> dict:
    """Run the original TNT from node ``vp`` of the running lab ``lab_name`` toward ``targets``
    (:func:`run_in_namespace` in that node's namespace; its arguments and result)."""
    prefix = prefix or find_prefix()
    if prefix is None:
        raise TestbedError(missing_reason())
    _check(options, targets)
    # a host's namespace, or a router vantage point's prober namespace
    return run_in_namespace(netns.prober_namespace(lab_name, vp), targets, options, out_dir=out_dir, pps=pps,
                            timeout=timeout, prefix=prefix, run_dir=run_dir, where=f"lab {lab_name}, from {vp}")
