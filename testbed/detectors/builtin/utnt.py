"""uTNT (utnt/): in process on a sim port, or as its own process on a tap of its own (netns)."""
from __future__ import annotations

import sys

from testbed.detectors.registry import Detector, RuntimesThat
from testbed.detectors.utnt import (
    given_flow,
    probe_netns,
    probe_sim,
    utnt_args,
    utnt_version,
)


class Utnt(Detector):
    name = "utnt"
    label = "uTNT"
    runtimes = RuntimesThat(port=True, tap=True)
    thresholds = True
    flows = True
    on_tap = True

    @property
    def version(self):
        return utnt_version()

    def check_options(self, options):
        utnt_args(options)              # bad uTNT options fail before anything is brought up

    def flow_given(self, options):
        return given_flow(options)

    def _opts(self, options, flow):
        opts = list(options or [])
        return opts + (["--flow", str(flow)] if flow is not None and self.flow_given(opts) is None else [])

    def probe(self, where, vp, targets, options=None, flow=None):
        opts = self._opts(options, flow)
        from testbed.runtimes import registry
        if registry.get(where.runtime).in_process:
            return None, probe_sim(where.lab, where.cp, vp, targets, utnt_args(opts))["traces"]
        return None, probe_netns(where.name or where.lab.name, vp, targets, opts)["traces"]

    def calibrate(self, where, vp, targets, frpla, rtla, brute, flow=None):
        args = utnt_args(["-b"] if brute else [])
        args.frpla, args.rtla, args.flow = frpla, rtla, flow      # 0 is allowed here (calibration)
        return probe_sim(where.lab, where.cp, vp, targets, args, calibration=True)["traces"]

    def tap_argv(self, att, targets, options, flow):
        argv = [sys.executable, "-m", "utnt.cli", "--tap", att["tap"], "--ip", f"{att['address']}/{att['prefixlen']}",
                "--gw", att["gateway"], "--json", "-a", "/dev/stdin"]
        if att.get("mac"):
            argv += ["--mac", att["mac"]]
        return argv + self._opts(options, flow), "\n".join(targets) + "\n"


DETECTOR = Utnt()
