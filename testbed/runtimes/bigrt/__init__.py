"""The big-lab runtime: routers inside a few engine processes, links between them in memory.

For labs of thousands of routers, where one namespace and packet sockets per router (the
netns runtime) cost too much kernel memory and time. Only hosts and vantage points are
namespaces (veth and taps in one core namespace); the routers are the same engine
(testbed/engine) with the same computed control plane, so replies and truth are those of
the sim and the netns runtime. Parts:

    api.py     up (down, status, attachment... are the namespace runtime's: same state)
    plan.py    which kernel objects a lab needs (hosts, LANs with hosts, vantage points)
    engine.py  the engine processes: in-memory links, socket pairs between workers, packet
               sockets on the kernel-facing ports, per-link pcap
    split.py   one lab across machines: the partition onto hosts and its plan (checked)
    vxlan.py   the kernel VXLAN devices carrying the cut links; stand-in machines for tests

Entry points: `up(lab, name=..., workers=..., pcap=[...])` (it also takes the netns `up`'s
arguments) and `down(name)`; `status`, `attachment`, `prober_namespace`, `namespace_of`,
`exec_in`, `require_healthy` are the namespace runtime's (the same state). It is registered as
the runtime `bigrt` (testbed/runtimes/builtin/bigrt.py): `testbed up LAB --runtime bigrt`,
`testbed run LAB --runtime bigrt`; `testbed split` (testbed/cli/split.py) plans a lab across machines.
"""
__all__ = ["up", "down", "RUNTIME", "status", "attachment", "prober_namespace", "namespace_of", "exec_in",
           "require_healthy", "pcap_files"]


def __getattr__(name):
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
