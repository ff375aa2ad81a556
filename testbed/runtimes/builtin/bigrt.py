"""The big-lab runtime: routers inside a few engine processes, links between them in memory,
namespaces only for hosts and vantage points (testbed/runtimes/bigrt/); one machine's part of
a lab split across machines with --plan/--host (cut links on kernel VXLAN)."""
from __future__ import annotations

from testbed.errors import InputError, LabError
from testbed.runtimes.base import Instance
from testbed.runtimes.builtin.netns import Netns


class Bigrt(Netns):
    """Everything after `up` is the namespace runtime's: the state, attachment points, prober
    namespaces, health checks and teardown are the same (the state says "runtime": "bigrt")."""
    name = "bigrt"
    summary = "big labs: routers inside a few engine processes, links in memory, namespaces for hosts only (root)"
    control_planes = ("computed",)
    label = "the big-lab runtime"
    up_options = ("plan", "host", "underlay_netns", "pcap")

    def up(self, lab, name=None, *, control_plane=None, converge_timeout=None, progress=None, workers=None,
           cp=None, plan=None, host=None, underlay_netns=None, pcap=None, **options) -> Instance:
        from testbed.runtimes.bigrt import api
        split = None
        if plan or host:
            if not (plan and host):
                raise InputError("up --runtime bigrt: --plan and --host go together (the plan from `testbed split` "
                                 "and which of its hosts this machine is)")
            from testbed.runtimes.bigrt import split as sp
            doc = sp.load_plan(plan)
            problems = sp.check_plan(doc, lab, plan)
            if problems:
                raise LabError(problems)
            sp.host_of(doc, host, plan)
            split = (doc, host, underlay_netns)
        elif underlay_netns:
            raise InputError("up: --underlay-netns is for one machine of a split lab: add --plan and --host")
        st = api.up(lab, name=name, workers=workers, progress=progress, control_plane=control_plane,
                    converge_timeout=converge_timeout, split=split, pcap=pcap)
        if split is not None and progress is not None:
            from testbed.runtimes.bigrt import vxlan
            devs = vxlan.devices(split[0], host)
            peers = sorted({d["remote"] for d in devs})
            progress.c.print(f"host {host} of a lab split across {len(split[0]['hosts'])} machines: "
                             f"{len(st['routers'])} routers here, {len(devs)} cut links as VXLAN devices (UDP "
                             f"{split[0]['vxlan']['dstport']} to {', '.join(peers) or 'no other host'}); bring the "
                             "other hosts up with the same plan, then probe across them")
        return Instance(lab, self.name, st["name"], cp, st)

    def down(self, name):
        from testbed.runtimes.bigrt import api
        return api.down(name)

    def owns(self, name):
        rec = self.record(name) if super().owns(name) else None
        return bool(rec) and rec.get("runtime") == self.name


RUNTIME = Bigrt()
