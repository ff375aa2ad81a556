"""Run a tracer inside a running lab's vantage-point namespace and read its output.

The runners the built-in detectors (testbed/detectors/builtin/) call: scamper and traceroute
are Debian's; their probes leave the vantage point's kernel like a user's would. A user
command runs once per destination (`{dst}` replaced, `{src}` too), inside the vantage point's
namespace; its stdout is parsed with `fmt` (detected when None). testbed.detectors.registry.run_detector
runs any registered detector on a running lab.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess

from testbed.errors import TestbedError

from . import parse_text, scamper_json, traceroute_text
from .base import ResultError, trace

SCAMPER_TRACE = "trace -P {method} -q 1 -w 1"
TRACEROUTE = ["traceroute", "-e", "-n", "-q", "1", "-w", "1", "-N", "1"]


def _ns(lab_name: str, vp: str) -> str:
    from testbed.runtimes import registry
    return registry.owner_of_up(lab_name).prober_namespace(lab_name, vp)


def _vp_address(lab, lab_name: str, vp: str) -> str | None:
    if lab is None:
        from testbed.runtimes.netns import api
        st = api.status(lab_name)
        if not st.get("source"):
            return None
        from testbed.lab import load_lab
        lab = load_lab(st["source"], st.get("params") or {}, name=st.get("lab"))
    node = lab.nodes.get(vp)
    return str(node.primary_address()) if node is not None else None


def _exec(ns: str, argv: list[str], what: str, timeout: float) -> str:
    """argv in namespace ns, recorded with the supervisor of the lab ns belongs to, in a
    process group of its own: `testbed down` stops it with everything it forked, it dies with
    us, and output beyond the supervisor's OUTPUT_LIMIT stops it (one line, not gigabytes)."""
    from testbed.runtimes import registry
    from testbed.runtimes.netns.names import lab_of_ns
    full = ["ip", "netns", "exec", ns] + argv
    lab_name = lab_of_ns(ns)
    rt = registry.owner(lab_name) if lab_name else None
    sup = rt.supervisor(lab_name) if rt is not None else registry.get(registry.DEFAULT).supervisor(None)
    try:
        r = sup.run("detector", full, timeout=timeout, what=what, namespace=ns)
    except subprocess.TimeoutExpired:
        raise TestbedError(f"{what} did not finish in {timeout:.0f} s in {ns} ({shlex.join(argv)})") from None
    except FileNotFoundError as e:
        raise TestbedError(f"{what}: {e}") from None
    if r.returncode != 0:
        last = (r.stderr or r.stdout).strip().splitlines()
        raise TestbedError(f"{what} failed in {ns} ({shlex.join(argv)}): {last[-1] if last else r.returncode}")
    return r.stdout


def run_scamper(ns: str, targets: list[str], method: str = "icmp-paris", timeout: float = 300) -> tuple[str, list]:
    if not shutil.which("scamper"):
        raise TestbedError("scamper is not installed (apt-get install scamper)")
    argv = ["scamper", "-O", "json", "-c", SCAMPER_TRACE.format(method=method), "-i", *targets]
    out = _exec(ns, argv, "scamper", timeout)
    return out, scamper_json.parse(out, f"scamper in {ns}")


def run_traceroute(ns: str, targets: list[str], method: str = "icmp-paris", timeout: float = 300) -> tuple[str, list]:
    if not shutil.which("traceroute"):
        raise TestbedError("traceroute is not installed (apt-get install traceroute)")
    texts, traces = [], []
    for dst in targets:
        argv = TRACEROUTE + (["-I"] if method.startswith("icmp") else ["-U"]) + [dst]
        out = _exec(ns, argv, "traceroute", timeout)
        texts.append(out)
        for t in traceroute_text.parse(out, f"traceroute in {ns}"):
            t["method"] = "icmp" if method.startswith("icmp") else "udp"      # traceroute is not Paris
            traces.append(t)
    return "".join(texts), traces


def run_command(ns: str, targets: list[str], cmd: str, fmt: str | None, src: str | None,
                timeout: float = 600) -> tuple[str, list]:
    if "{dst}" not in cmd:
        raise TestbedError(f"--detector-cmd '{cmd}' has no {{dst}}; write where the destination goes, "
                           "e.g. --detector-cmd 'mytool --json {dst}'")
    texts, traces = [], []
    for dst in targets:
        try:
            argv = shlex.split(cmd.replace("{dst}", dst).replace("{src}", src or ""))
        except ValueError as e:
            raise TestbedError(f"--detector-cmd '{cmd}': {e}") from None
        out = _exec(ns, argv, f"detector command '{argv[0]}'", timeout)
        texts.append(out)
        try:
            traces += parse_text(out, f"output of {shlex.join(argv)}", fmt)
        except ResultError as e:
            # one unreadable output (a bad address, a NaN) loses this destination's trace, not
            # the whole run: the trace is kept, empty and marked with why, and scored as a miss
            traces.append(trace(src, dst, None, [], [], detector="cmd", fmt=fmt or "unreadable",
                                stop_reason="UNREADABLE", unreadable=str(e.problems[0])))
    return "".join(texts), traces
