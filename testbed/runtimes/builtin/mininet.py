"""The mininet runtime: the lab as a Mininet network (testbed/runtimes/mininet/), Mininet's
prompt until it ends; while it runs, `status`, `exec`, `probe` (kernel-stack detectors) and
`down` reach it by name like any other lab instance."""
from __future__ import annotations

import json

from testbed.errors import InputError, TestbedError
from testbed.runtimes.base import Instance, Runtime


class Mininet(Runtime):
    name = "mininet"
    summary = "a Mininet network with Mininet's prompt (hosts, routers and LinuxBridge switches as Mininet nodes)"
    label = "Mininet"
    interactive = True
    namespaces = True

    def available(self):
        from testbed.runtimes import mininet
        return mininet.available()

    def up(self, lab, name=None, *, control_plane=None, converge_timeout=None, progress=None, workers=None,
           cp=None, batch=None, **options) -> Instance:
        """Mininet's prompt (or `batch`, a file of its commands) until it ends: the instance is
        down again when this returns."""
        from testbed.runtimes import mininet
        self.control_plane(lab, control_plane)
        rc = mininet.up(lab, name=name, batch=batch)
        if rc:
            raise TestbedError(f"the Mininet driver ended with status {rc}")
        return Instance(lab, self.name, name or lab.name, cp, {"status": "down", "exit": rc})

    def down(self, name):
        from testbed.runtimes.netns import api      # the namespace runtime's down stops the driver too
        return api.down(name)

    def owns(self, name):
        from testbed.runtimes import mininet
        from testbed.runtimes.netns import names
        return bool(names.NAME_RE.match(name or "")) and (mininet.RUN_ROOT / name).is_dir()

    def _spec(self, name) -> dict:
        from testbed.runtimes import mininet
        try:
            spec = json.loads((mininet.RUN_ROOT / name / "spec.json").read_text()[:1 << 22])
        except (OSError, ValueError):
            return {}
        return spec if isinstance(spec, dict) else {}

    def record(self, name):
        spec = self._spec(name)
        if not spec:
            return None
        return {"name": name, "lab": spec.get("lab"), "source": spec.get("source"), "params": spec.get("params") or {},
                "options": {}, "status": self.status(name).get("status")}

    def status(self, name):
        from testbed.runtimes.netns import api
        st = api.status(name)           # the namespace runtime tells a live Mininet lab by its processes
        spec = self._spec(name)
        st.update({k: spec[k] for k in ("lab", "source", "params", "routers") if k in spec and k not in st})
        st.setdefault("hosts", {h["name"]: h["ns"] for h in self._plan(name).get("hosts", [])})
        st["runtime"] = self.name
        return st

    def instances(self):
        from testbed.runtimes import mininet
        from testbed.runtimes.netns import names
        try:
            return sorted(p.name for p in mininet.RUN_ROOT.iterdir() if p.is_dir() and names.NAME_RE.match(p.name))
        except OSError:
            return []

    def require_healthy(self, name):
        from testbed.runtimes import mininet
        st = self.status(name)
        if st.get("status") != "up" or not mininet.driver_alive(mininet.driver_record(name)):
            raise TestbedError(f"Mininet lab '{name}' is {st.get('status')}: its driver is not running; "
                               f"`testbed down {name}` removes what it left")
        return st

    def namespace_of(self, name, node):
        from testbed.runtimes.netns import names, nsutil
        st = self.require_healthy(name)
        spec = self._spec(name)
        nodes = list(spec.get("routers") or {}) + [h["name"] for h in self._plan(name).get("hosts", [])]
        if node not in nodes:
            raise InputError(f"Mininet lab '{name}' has no node '{node}'; nodes: {', '.join(nodes)}")
        ns = names.ns(name, node)
        if ns not in nsutil.list_netns():
            raise TestbedError(f"Mininet lab '{name}' ({st.get('lab')}): node {node} has no namespace {ns}")
        return ns

    def supervisor(self, name):
        from testbed.runtimes import mininet
        from testbed.runtimes.netns.supervisor import Supervisor
        d = mininet.RUN_ROOT / name
        return Supervisor(d) if d.is_dir() else Supervisor()

    def _plan(self, name) -> dict:
        from testbed.runtimes import mininet
        try:
            plan = json.loads((mininet.RUN_ROOT / name / "plan.json").read_text()[:1 << 24])
        except (OSError, ValueError):
            return {}
        return plan if isinstance(plan, dict) else {}


RUNTIME = Mininet()
