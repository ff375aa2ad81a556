"""uTNT's Python API: one call runs TNT over an L2 port and returns the result document.

    import utnt
    from utnt.net import TapPort
    opts = utnt.Options.from_argv(["-b", "-q", "1"])       # sc_tnt's options, as on the command line
    doc = utnt.trace(TapPort("tap-vp"), ["11.0.0.9"], opts, ip="12.0.0.254/24", gw="12.0.0.1")
    doc["traces"][0]["hops"] ...                            # docs/result-format.md, as `utnt --json`

`port` is anything with uTNT's port interface (utnt.net: TapPort, PacketSocketPort,
SimPortAdapter). The command line (`utnt`) and the testbed both go through `trace`, so a
program that embeds uTNT runs exactly what they run.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:                   # imported when used: `import utnt` stays light (micro-VM guests)
    import argparse

    from utnt.net import ProbeParams
    from utnt.net.ports import Port
    from utnt.options import TntOptions


def _flow(s: str) -> int:
    import argparse
    try:
        v = int(s, 0)
    except ValueError:
        v = 0
    if not 1 <= v <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"'{s}' is not a flow identifier from 1 to 65535")
    return v


def add_options(p: argparse.ArgumentParser) -> None:
    """TNT's and the prober's options on an argparse parser (the `utnt` command line adds the
    destinations and the port; Options.from_argv reads these alone)."""
    p.add_argument("-m", dest="method", default="icmp-paris", choices=["icmp-paris", "udp-paris"])
    p.add_argument("-s", dest="start_ttl", type=int, default=1, help="first TTL of the base trace (1)")
    p.add_argument("-c", dest="ping_count", type=int, default=1, help="pings per hop for fingerprinting (1)")
    p.add_argument("-f", dest="frpla", type=int, default=3, help="FRPLA threshold, > 0 (3)")
    p.add_argument("-r", dest="rtla", type=int, default=1, help="RTLA threshold, > 0 (1)")
    p.add_argument("-b", dest="brute", action="store_true", help="brute force: try revelation everywhere")
    p.add_argument("-q", dest="attempts", type=int, default=3, help="attempts per hop (3)")
    p.add_argument("-w", dest="wait", type=float, default=1.0, help="seconds to wait for a reply (1)")
    p.add_argument("-g", dest="gap", type=int, default=5, help="gap limit: silent hops that end a trace (5)")
    p.add_argument("--max-ttl", type=int, default=64)
    p.add_argument("--rate", type=float, default=0.0, help="probe rate limit in packets/s (0: none)")
    p.add_argument("--flow", type=_flow, default=None, help="Paris flow identifier, 1..65535: the ICMP "
                   "checksum of icmp-paris probes, the UDP source port of udp-paris probes (default: random); "
                   "per-flow load balancers then pick the same equal-cost path every run")
    p.add_argument("--allow-private", action="store_true", help="lift the reserved-address rule "
                   "(labs addressed from private space)")


@dataclass
class Options:
    """Every option of a run: sc_tnt's (-m -s -c -f -r -b) and the prober's (-q -w -g
    --max-ttl --rate --flow), with the command line's defaults. Plain fields: a sweep sets
    the thresholds and the flow cell by cell."""
    method: str = "icmp-paris"
    start_ttl: int = 1
    ping_count: int = 1
    frpla: int = 3
    rtla: int = 1
    brute: bool = False
    attempts: int = 3
    wait: float = 1.0
    gap: int = 5
    max_ttl: int = 64
    rate: float = 0.0
    flow: int | None = None
    allow_private: bool = False

    @classmethod
    def from_args(cls, ns: argparse.Namespace) -> "Options":
        """From an argparse namespace of utnt's parser (utnt.cli.build_parser)."""
        return cls(**{f.name: getattr(ns, f.name) for f in fields(cls)})

    @classmethod
    def from_argv(cls, argv: list[str] | None, prog: str = "utnt") -> "Options":
        """Parse TNT-style options (destinations and the port go to trace()). Raises ValueError with argparse's
        one-line reason, or the rule a value breaks (-f and -r must be > 0, as in sc_tnt)."""
        import argparse
        p = argparse.ArgumentParser(prog=prog, add_help=False)
        add_options(p)
        said = io.StringIO()
        try:
            with contextlib.redirect_stderr(said):
                ns = p.parse_args(list(argv or []))
        except SystemExit:
            why = (said.getvalue().strip().splitlines() or [""])[-1].split(": error: ")[-1]
            raise ValueError(why or "unreadable options") from None
        opts = cls.from_args(ns)
        opts.tnt_options()                          # the sc_tnt rules, checked now
        return opts

    def tnt_options(self, calibration: bool = False) -> TntOptions:
        """sc_tnt's options (utnt.options.TntOptions); calibration runs may use thresholds of 0."""
        from utnt.options import TntOptions
        if not calibration and (self.frpla <= 0 or self.rtla <= 0):
            raise ValueError("-f and -r must be > 0 (as in sc_tnt)")
        return TntOptions(method=self.method, start_ttl=self.start_ttl, ping_count=self.ping_count,
                          frpla_threshold=self.frpla, rtla_threshold=self.rtla, brute_force=self.brute,
                          allow_private=self.allow_private)

    def probe_params(self) -> ProbeParams:
        from utnt.net import ProbeParams
        return ProbeParams(attempts=self.attempts, wait=self.wait, gap_limit=self.gap, max_ttl=self.max_ttl,
                           ping_count=self.ping_count, rate=self.rate, flow=self.flow)


def trace(port: Port, targets: list[str], options: Options | None = None, *, ip: str, gw: str,
          mac: bytes | None = None, calibration: bool = False, keep_traces: bool = False) -> Any:
    """Run TNT toward every target over `port` with our own stack at `ip` (address/prefix)
    behind gateway `gw`. Returns the result document (to_json of the traces, plus counters);
    with keep_traces, (document, traces) so a caller can also print TNT's text dump."""
    from utnt.net import NetProber, Stack
    from utnt.output import to_json
    from utnt.tnt import run_tnt
    from utnt.targets import IPV6_REFUSED, is_ipv6
    for t in targets:
        if is_ipv6(str(t)):
            raise ValueError(f"target '{t}' {IPV6_REFUSED}")
    options = options or Options()
    stack = Stack(port, ip, gw, mac=mac)
    prober = NetProber(stack, options.probe_params())
    traces = run_tnt(prober, list(targets), options.tnt_options(calibration=calibration))
    doc = to_json(traces)
    doc["counters"] = {"probes": prober.counters.to_json(), "stack": stack.counters}
    return (doc, traces) if keep_traces else doc
