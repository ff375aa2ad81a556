"""The namespace runtime: a lab as real Linux networks on one machine (no Docker, no kernel MPLS).

One network namespace per router and per host (`tb-<name>.<node>`), veth pairs for
point-to-point links, bridges in a per-lab switch namespace for LANs, a tap on every LAN
with a host (the attachment point for probers with their own stack). Hosts are plain Linux;
routers' data plane is the engine of the sim runtime, run by worker processes on packet
sockets. Parts, each importing only those below it:

    api.py         up / down / status / exec_in / capture / attachment (the entry points)
    teardown.py    down: stop the recorded processes, remove the namespaces and the run folder
    frr.py         the FRR control plane (daemons, convergence, tables); frrsync.py its sync process
    workers.py     the engine's entry point: starts and forks the workers (both runtimes' engines)
    worker.py      an engine worker: its routers' data plane on packet sockets
    check.py       forwarding check: echo from every probe source through the lab
    supervisor.py  every child process: start, record in the run folder, health, stop by PID
    build.py       the netlink side: creates a plan's namespaces, links and addresses
    plan.py        the plan: lab -> namespaces, links, addresses (pure, no root)
    state.py       the run folder and its records; names.py every name a lab creates
    nsutil.py      setns, sysctls, interface ioctls, /proc; rtnl.py a minimal rtnetlink client

The entry points load lazily, so `import testbed.runtimes.netns.plan` touches no kernel API.
"""
__all__ = ["up", "down", "down_all", "status", "exec_in", "capture", "attachment"]


def __getattr__(name):
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
