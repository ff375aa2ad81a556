"""A labels-only Paris traceroute on uTNT's stack: the plain traceroute user's view (explicit
tunnels from RFC 4950 quotes, testbed.detectors.base.tunnels_from_labels) on every runtime,
the sim included (scamper and traceroute need a kernel: namespaces only). Options after `--`:
`-m icmp-paris|udp-paris`."""
from __future__ import annotations

from testbed.detectors.base import tunnels_from_labels
from testbed.detectors.registry import PortDetector, detector_method


def trace_labels(port, targets, options, *, ip, gw, mac=None, flow=None):
    from utnt.net import NetProber, ProbeParams, Stack
    prober = NetProber(Stack(port, ip, gw, mac=mac), ProbeParams(attempts=1, wait=1.0, flow=flow))
    traces = []
    for dst in targets:
        t = prober.trace(dst, method=detector_method("labels", options))
        hops = [{"address": h.address, "probe_ttl": h.probe_ttl, "rtt_ms": h.rtt_ms, "reply_ttl": h.reply_ttl,
                 "quoted_ttl": h.quoted_ttl, "icmp_type": h.icmp_type, "icmp_code": h.icmp_code,
                 "labels": [dict(zip(("label", "tc", "s", "ttl"), e)) for e in h.labels]} for h in t.hops]
        traces.append({"src": ip.split("/")[0], "dst": dst, "method": t.method, "detector": "labels", "flow": flow,
                       "stop_reason": t.stop_reason, "total_probes": t.probe_count, "hops": hops,
                       "tunnels": tunnels_from_labels(hops)})
    return {"traces": traces}


class Labels(PortDetector):
    baseline = True

    def check_options(self, options):
        detector_method(self.name, options)


DETECTOR = Labels("labels", trace_labels, label="labels-only Paris traceroute")
