"""Debian's traceroute -e in the vantage point's namespace: the labels-only baseline."""
from __future__ import annotations

from testbed.detectors.registry import Detector, detector_method


class Traceroute(Detector):
    name = "traceroute"
    label = "traceroute -e"
    baseline = True

    def check_options(self, options):
        detector_method(self.name, options)

    def probe(self, where, vp, targets, options=None, flow=None):
        from testbed.detectors.runners import _ns, run_traceroute
        return run_traceroute(_ns(where.name or where.lab.name, vp), targets, detector_method(self.name, options))


DETECTOR = Traceroute()
