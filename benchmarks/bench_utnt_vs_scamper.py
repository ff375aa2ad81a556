"""uTNT's wall time per lab against Debian's scamper doing the plain Paris trace on the same
lab, in one run (issue 5). Needs root (network namespaces) and scamper.

uTNT does what sc_tnt does (trace, a ping per hop, revelation traces), scamper only the
trace, so the ratio shows what detection costs on top of a traceroute; probes are counted.
"""
import secrets
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testbed.lab import load_lab  # noqa: E402
from testbed.runtimes.netns import api  # noqa: E402

RUN = secrets.token_hex(2)   # lab names unique to this run: benchmarks run beside anyone's labs

LABS = ["plain-ip", "explicit", "invisible-php", "invisible-php-juniper", "invisible-uhp", "opaque"]
RUNS = 5


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}: {r.stderr.strip()[-300:]}")
    return dt, r.stdout


def main():
    if not shutil.which("scamper"):
        raise SystemExit("scamper is not installed (make bootstrap installs it)")
    print(f"{'lab':24s} {'uTNT median':>12s} {'scamper median':>15s} {'ratio':>7s} {'uTNT probes':>12s}")
    for name in LABS:
        lab = load_lab(name)
        inst = f"b{RUN}-{name}"[:24]
        api.up(lab, name=inst)
        try:
            att = api.attachment(inst, "vp")
            dst = str(lab.probes[0].targets[0])
            vp_ns = api.namespace_of(inst, "vp")
            u_times, s_times, probes = [], [], 0
            for _ in range(RUNS):
                dt, out = timed(["ip", "netns", "exec", att["namespace"], sys.executable, "-m", "utnt.cli",
                                 "--tap", att["tap"], "--ip", f"{att['address']}/{att['prefixlen']}",
                                 "--gw", att["gateway"], "-i", dst, "--json"])
                u_times.append(dt)
                probes = sum(t["total_probes"] for t in json.loads(out)["traces"])
                dt, _ = timed(["ip", "netns", "exec", vp_ns, "scamper", "-O", "json", "-c",
                               "trace -P icmp-paris -q 3 -w 1 -g 5", "-i", dst])
                s_times.append(dt)
            um, sm = statistics.median(u_times), statistics.median(s_times)
            print(f"{name:24s} {um * 1000:10.0f}ms {sm * 1000:13.0f}ms {um / sm:7.2f} {probes:12d}")
        finally:
            api.down(inst)


if __name__ == "__main__":
    main()
