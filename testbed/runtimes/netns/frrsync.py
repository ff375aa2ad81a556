"""Control-plane sync of a lab in FRR mode: FRR's state, about once a second, into tables.json.

    python -m testbed.runtimes.netns.frrsync RUN_DIR

`up` starts it once FRR has converged and RUN_DIR/tables.json holds the converged tables; its PID
and start time are in state.json (`frr.sync`) and in the run folder's process records
(supervisor.py: recorded by `up` when it starts it, and by itself); `down` stops it.
Every SYNC_INTERVAL it reads each router's routes, MPLS table and LDP bindings over the daemons' vty sockets, builds the tables as `up` did
(testbed.controlplane.frr with the BGP layer on top) and, when they differ from the last
ones written, writes them with the next generation number (atomically: a new file renamed
over the old). The engine workers notice the new file and swap their routers' FIB and LFIB.
A router whose zebra cannot be reached keeps its last tables; one whose ldpd is gone has no
LDP bindings (and zebra drops LDP's labels by itself). Each change is logged to
RUN_DIR/frrsync.log with the routers it touched.

A process of its own rather than a thread in worker 0: reading and parsing every router's
JSON each second would compete for worker 0's interpreter lock with the packets of the
routers it serves (and only those), and a separate process is recorded, checked and
stopped like the workers.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from testbed.inputs import record_json

SYNC_INTERVAL = 1.0


def log(msg: str):
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    run_dir = Path(argv[0])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.runtimes.netns import frr as frrrt
    from testbed.runtimes.netns.supervisor import Supervisor
    spec = record_json(run_dir / "spec.json", "tables")
    name = spec["name"]
    Supervisor(run_dir).adopt("sync", os.getpid(), marker=str(run_dir))
    lab = load_lab(spec["source"], spec["params"], name=spec["lab"])
    computed = build(lab)
    doc = record_json(frrrt.tables_path(name), "tables")
    generation, last = doc["generation"], doc["routers"]
    reader = frrrt.Reader(lab, name, computed)
    log(f"following FRR of {len(reader.routers)} routers from generation {generation}")
    try:
        while True:
            t0 = time.monotonic()
            if not (run_dir / "spec.json").exists():
                log("the run folder is gone; exiting")
                return
            try:
                cp = reader.tables()
                cur = frrrt.tables_doc(cp, reader.routers)
            except Exception as e:       # a half-written answer, a daemon restarting: next round
                log(f"reading FRR failed: {type(e).__name__}: {e}")
                cur = last
            if cur != last:
                changed = [r for r in reader.routers if cur.get(r) != last.get(r)]
                generation += 1
                frrrt.write_tables(name, cur, generation)
                from testbed.controlplane.frr import compare
                diffs = compare(computed, cp)
                log(f"generation {generation}: {', '.join(changed)} changed; "
                    f"{len(diffs)} differences from the computed control plane"
                    + (f" (e.g. {diffs[0]})" if diffs else ""))
                last = cur
            time.sleep(max(0.05, SYNC_INTERVAL - (time.monotonic() - t0)))
    except SystemExit:
        pass
    finally:
        reader.close()


if __name__ == "__main__":
    sys.exit(main())
