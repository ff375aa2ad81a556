"""The sim runtime: every router and host of a lab in this process, on a virtual clock (no root)."""
from __future__ import annotations

from testbed.runtimes.base import Instance, Runtime


class Sim(Runtime):
    name = "sim"
    summary = "one process, a virtual clock: the lab lives inside the command (no root)"
    label = "the sim"
    in_process = True

    def up(self, lab, name=None, *, control_plane=None, converge_timeout=None, progress=None, workers=None,
           cp=None, **options) -> Instance:
        self.control_plane(lab, control_plane)         # FRR asked for: refused, one line
        if cp is None:
            from testbed.controlplane import build
            cp = build(lab)
        return Instance(lab, self.name, None, cp, {"name": None, "status": "up", "control_plane": "computed"})

    def down(self, name):
        return {"name": name, "was_up": False}

    def status(self, name):
        return {"name": name, "status": "up", "runtime": self.name}

    def require_healthy(self, name):
        return self.status(name)


RUNTIME = Sim()
