"""The original TNT (scamper fork + sc_tnt, found built: testbed.detectors.tnt) in the vantage
point's namespace; its options after `--` go to sc_tnt."""
from __future__ import annotations

from testbed.detectors.registry import Detector


class Tnt(Detector):
    name = "tnt"
    label = "TNT dump"
    thresholds = True

    def check(self, runtime, options=None):
        super().check(runtime, options)
        from testbed.detectors import tnt
        if tnt.find_prefix() is None:
            from testbed.errors import TestbedError
            raise TestbedError(tnt.missing_reason())

    def check_options(self, options):
        pass                            # sc_tnt reads its own

    def probe(self, where, vp, targets, options=None, flow=None):
        from testbed.detectors import tnt
        from testbed.detectors.runners import _ns
        return tnt.run(_ns(where.name or where.lab.name, vp), targets, extra=options)


DETECTOR = Tnt()
