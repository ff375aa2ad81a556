"""labelseer: a 30-line MPLS tunnel detector of one's own, on uTNT-lab's port interface.

A Paris traceroute (uTNT's stack); a run of hops quoting an RFC 4950 label stack (explicit)
or an IP-TTL above 1 (implicit: the qTTL signature) is one tunnel between the hops around it.
It does not look for opaque or invisible tunnels. docs/tutorial.md walks through it.
"""
import argparse
import json
import sys
from utnt.net import NetProber, ProbeParams, Stack, TapPort


def detect(port, targets, options, *, ip, gw, mac=None, flow=None):
    prober = NetProber(Stack(port, ip, gw, mac=mac), ProbeParams(attempts=2, wait=0.5, flow=flow))
    traces = []
    for dst in targets:
        t = prober.trace(dst)
        hops = [{"address": h.address, "probe_ttl": h.probe_ttl, "quoted_ttl": h.quoted_ttl,
                 "labels": [dict(zip(("label", "tc", "s", "ttl"), e)) for e in h.labels]} for h in t.hops]
        inside = [bool(h["address"] and (h["labels"] or (h["quoted_ttl"] or 1) > 1)) for h in hops] + [False]
        tunnels, i = [], 0
        while i < len(hops):
            j = i
            while inside[j]:
                j += 1
            if j > i:
                tunnels.append({"class": "EXP" if any(h["labels"] for h in hops[i:j]) else "IMP",
                                "ingress": hops[i - 1]["address"] if i else None,
                                "lsrs": [h["address"] for h in hops[i:j]],
                                "egress": hops[j]["address"] if j < len(hops) else None})
            i = j + 1
        traces.append({"src": ip.split("/")[0], "dst": dst, "method": t.method, "detector": "labelseer",
                       "flow": flow, "stop_reason": t.stop_reason, "total_probes": t.probe_count, "hops": hops,
                       "tunnels": tunnels})
    return {"traces": traces}


def main(argv=None):    # as a command: labelseer --tap {tap} --ip {ip} --gw {gw} --mac {mac} {dst}
    p = argparse.ArgumentParser(prog="labelseer")
    for o in ("--tap", "--ip", "--gw", "--mac"):
        p.add_argument(o)
    p.add_argument("dst", nargs="+")
    a = p.parse_args(argv)
    mac = bytes.fromhex(a.mac.replace(":", "")) if a.mac else None
    json.dump(detect(TapPort(a.tap), a.dst, [], ip=a.ip, gw=a.gw, mac=mac), sys.stdout)


if __name__ == "__main__":
    main()
