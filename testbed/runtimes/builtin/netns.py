"""The netns runtime: the lab as real Linux network namespaces on this machine, the routers'
engine in worker processes, a tap on every LAN with a host (testbed/runtimes/netns/)."""
from __future__ import annotations

import os

from testbed.runtimes.base import Instance, Runtime


class Netns(Runtime):
    name = "netns"
    summary = "real Linux network namespaces, the engine in worker processes, FRR if asked (root)"
    control_planes = ("computed", "frr")
    label = "network namespaces"
    taps = True
    namespaces = True

    def available(self):
        return None if os.geteuid() == 0 else "the netns runtime needs root (network namespaces)"

    def up(self, lab, name=None, *, control_plane=None, converge_timeout=None, progress=None, workers=None,
           cp=None, **options) -> Instance:
        from testbed.runtimes.netns import api
        st = api.up(lab, name=name, workers=workers, progress=progress, control_plane=control_plane,
                    converge_timeout=converge_timeout)
        return Instance(lab, self.name, st["name"], cp, st)

    def down(self, name):
        from testbed.runtimes.netns import api
        return api.down(name)

    def owns(self, name):
        from testbed.runtimes.netns import names, nsutil, state
        if not names.NAME_RE.match(name or "") or os.geteuid() != 0:
            return False
        return state.read_state(name) is not None or state.run_dir(name).exists() or \
            any(n.startswith(names.prefix(name)) for n in nsutil.list_netns())

    def record(self, name):
        from testbed.runtimes.netns import state
        return state.read_state(name)

    def status(self, name):
        from testbed.runtimes.netns import api
        return api.status(name)

    def instances(self):
        from testbed.runtimes.netns import teardown      # up, or leftover namespaces (any runtime's)
        return teardown.all_names() if os.geteuid() == 0 else []

    def require_healthy(self, name):
        from testbed.runtimes.netns import api
        return api.require_healthy(name)

    def attachment(self, name, vp):
        from testbed.runtimes.netns import api
        return api.attachment(name, vp)

    def namespace_of(self, name, node):
        from testbed.runtimes.netns import api
        return api.namespace_of(name, node)

    def supervisor(self, name):
        from testbed.runtimes.netns import state
        return state.supervisor(name)

    def capture(self, name, node, iface, file, count=None, timeout=None):
        from testbed.runtimes.netns import api
        return api.capture(name, node, iface, file, count=count, timeout=timeout)

    def prober_namespace(self, name, node):
        from testbed.runtimes.netns import api
        return api.prober_namespace(name, node)


RUNTIME = Netns()
