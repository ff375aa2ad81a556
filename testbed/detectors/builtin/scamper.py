"""Debian's scamper (Paris traceroute, -O json) in the vantage point's namespace: the
labels-only baseline (explicit tunnels from RFC 4950 quotes)."""
from __future__ import annotations

from testbed.detectors.registry import Detector, detector_method


class Scamper(Detector):
    name = "scamper"
    label = "scamper"
    baseline = True

    def check_options(self, options):
        detector_method(self.name, options)

    def probe(self, where, vp, targets, options=None, flow=None):
        from testbed.detectors.runners import _ns, run_scamper
        return run_scamper(_ns(where.name or where.lab.name, vp), targets, detector_method(self.name, options))


DETECTOR = Scamper()
