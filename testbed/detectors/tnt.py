"""The original TNT (scamper fork + sc_tnt) as a detector: run in a lab's vantage-point
namespace (any namespace, also a user's own), its dumps kept for scoring and read by tnt_text.

Nothing of TNT is in this repository: it is found built under a prefix (`TNT_PREFIX` when
set, else `<checkout>/.peers/tnt`, else `/opt/tnt-peer`). Finding it, the scamper daemon on a
socket unique to the run, sc_tnt, the dumps, and stopping the daemon's processes by their
recorded PIDs are the TNT peer's one runner (testbed.peers.tnt.run_in_namespace); this
module keeps the files a scored run leaves: tnt.warts, tnt.txt (`sc_tnt -d 1`), tnt-v.txt
(`sc_tnt -v -d 1`) and scamper.socket (the socket path the daemon used, gone by then).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from testbed.errors import TestbedError
from testbed.peers.tnt import _pids_with, missing_reason, run_in_namespace  # noqa: F401 (_pids_with: tests)
from testbed.peers.tnt import find_prefix as prefix

from . import tnt_text

DETECTOR_PPS = 100          # scamper's probing rate for a scored run (-p)


def run(ns: str, targets: list[str], extra: list[str] | None = None, workdir: str | None = None,
        timeout: float = 600) -> tuple[str, list]:
    """(verbose dump text, traces) of sc_tnt from namespace ns to targets."""
    if prefix() is None:
        raise TestbedError(missing_reason())
    tmp = tempfile.TemporaryDirectory(prefix="tnt-run-") if workdir is None else None
    d = Path(workdir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    try:
        r = run_in_namespace(ns, targets, extra, out_dir=d, pps=DETECTOR_PPS, timeout=timeout)
        (d / "scamper.socket").write_text(r["socket"] + "\n")
        (d / "tnt.txt").write_text(r["text"])
        (d / "tnt-v.txt").write_text(r["verbose_text"])
        return r["verbose_text"], tnt_text.parse(r["verbose_text"], f"sc_tnt -v -d 1 {r['warts']}")
    finally:
        if tmp is not None:
            tmp.cleanup()
