"""Engine workers: the routers' data plane on packet sockets (one engine, two runtimes); the
entry point that starts them (the Worker itself: testbed/runtimes/netns/worker.py).

`up` starts one process:

    python -m testbed.runtimes.netns.workers RUN_DIR

It loads the lab file with the parameters in RUN_DIR/spec.json and computes the control
plane once, then forks the other workers (copy-on-write: the control plane is neither
computed twice nor pickled; computing it in every worker at once made each take twice as
long on two cores). Every worker registers itself (RUN_DIR/worker-I.json: pid and start
time; and with the lab's supervisor, RUN_DIR/procs/), compiles its share of the routers
(`compile_node`), and says so on stdout, one line `I word ...` at a time (hello, stage,
compiled, ready, error). It then waits for `go` on stdin (the namespaces exist), enters each of its routers' namespaces in turn to open one
AF_PACKET socket per interface (ETH_P_ALL, outgoing frames ignored, large receive buffer),
comes back, says `ready`, and runs one epoll loop over its sockets: every frame goes through
`Router.handle(port, frame, now)` and what comes out is sent on the matching socket.
Sockets stay bound to their namespaces.

Router vantage points (spec "router_vps": router -> {ifs, mac}): the router's namespace also
holds the attachment's veth and tap (build.py); the worker opens a packet socket on each and
treats what arrives there as the router's own stack: ARP requests are answered with the
attachment's MAC (any address: the prober's gateway is only a name), IPv4 packets are sent as
the router's locally generated packets (Router.send_local: routed and labelled by its tables,
TTL as the prober set it, ttl_propagate_local), and the ICMP the router receives for itself
(Router.local_sink) goes back to every attachment end that has sent something.

A worker exits on SIGTERM, when stdin closes before `go` (its `up` died), and when one of
its namespaces vanishes or is replaced (checked every second).

FRR control plane (spec "control_plane": "frr"): nothing is computed; the routers start with
empty tables (they answer ARP, forward nothing) and take their FIB and LFIB from the tables
file (spec "tables", written by `up` while FRR converges and once it has, then by the sync
process), checked
every TABLES_EVERY seconds. A newer generation replaces each router's FIB and LFIB in place
(ARP cache and pending frames kept, route cache cleared); the worker then records the
generation it runs in its worker-I.json ("generation"), which `up` waits for. The computed
control plane reads the same file when one appears (a failure during a run writes the
recomputed tables there: testbed/experiments/failure.py); until then it runs on its own.

Impairments (links with delay_ms written in the lab file, jitter_ms or loss:
testbed/runtimes/netns/impair.py): a frame a router sends on such a link is lost or held in
a timer queue and sent when due, and one received from a host on it is handled when due; the
epoll timeout follows the queue. Routers without an impaired port keep the direct path.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
from pathlib import Path

from testbed.inputs import record_json
from testbed.runtimes.bigrt.engine import main as big_main
from testbed.runtimes.netns.worker import Worker, _control_plane, _wait_go, say, serve


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    run_dir = Path(argv[0])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    index = 0
    w = None
    # no cyclic garbage collection while building: the control plane and the routers are
    # millions of acyclic objects that full collections would walk again and again (about
    # 30 % of the build time), and in forked workers touch page by page (copy on write)
    gc.disable()
    try:
        spec = record_json(run_dir / "spec.json", "tables")
        if spec.get("big_engine"):       # the big-lab runtime's engine (one entry point, one marker)
            return big_main(run_dir, spec)
        w = Worker(run_dir, 0, spec)
        w.register()
        lab, cp, cp_seconds = _control_plane(spec)
        for i in range(1, len(spec["partitions"])):
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                index = i
                w = Worker(run_dir, i, spec)
                w.register()
                break
        else:
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # forked workers reap themselves
        w.compile(lab, cp, cp_seconds)
        del cp, lab
        gc.freeze()           # what is left lives as long as the worker: never walk it again
        gc.enable()
        if not _wait_go():
            os._exit(0)       # our `up` went away (or aborted): nothing to serve
        w.open_sockets()
    except SystemExit:
        os._exit(0)
    except Exception as e:
        say(f"{index} error {type(e).__name__}: {e}")
        print(f"worker {index}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(1)
    serve(w, index, f"ready {sum(len(p) for _, p in w.socks)}")


if __name__ == "__main__":
    sys.exit(main())
