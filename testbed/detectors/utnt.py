"""uTNT (utnt/) as the testbed runs it: its options after `--` as uTNT's own API reads them,
in this process on a sim port beside a vantage point (sim), or as its own process on the
tap of a vantage point's LAN in the lab's switch namespace (netns), like a unikernel.
The detector that the registry lists (testbed.detectors.builtin.utnt) runs through these."""
from __future__ import annotations

import json
import shlex
import sys

from testbed.errors import InputError, TestbedError


def utnt_args(extra: list[str] | None):
    """uTNT options given after `--` (TNT's -m -s -c -f -r -b, and -q -w -g --rate ...), as
    uTNT's own API reads them (utnt.Options)."""
    from utnt import Options
    try:
        return Options.from_argv(extra, prog="testbed run -- ")
    except ValueError as e:
        raise InputError(f"bad uTNT options after '--': {' '.join(extra or [])} ({e})") from None


def given_flow(extra) -> int | None:
    """The Paris flow identifier that uTNT's options give (`--flow N`), else None."""
    extra = list(extra or [])
    if "--flow" in extra and extra.index("--flow") + 1 < len(extra):
        utnt_args(extra)                    # a bad --flow is one line (exit 2), not a ValueError
        try:
            return int(extra[extra.index("--flow") + 1], 0)
        except ValueError:
            raise InputError(f"bad uTNT options after '--': --flow {extra[extra.index('--flow') + 1]!r} is not a "
                             "flow identifier from 1 to 65535") from None
    return None


def probe_sim(lab, cp, source: str, targets: list[str], args, sim=None, calibration: bool = False) -> dict:
    """uTNT through its Python API (utnt.trace) on a sim port beside `source`."""
    import utnt
    from testbed.runtimes.sim import Sim
    from utnt.net import SimPortAdapter
    sim = sim or Sim(lab, cp)
    # a router vantage point probes with the router's own stack (locally generated packets)
    sp = sim.attach_router(source) if lab.nodes[source].is_router else sim.attach(source)
    doc = utnt.trace(SimPortAdapter(sp), targets, args, ip=f"{sp.ip}/{sp.prefixlen}", gw=str(sp.gateway),
                     mac=sp.mac, calibration=calibration)
    doc["sim"] = {"virtual_seconds": round(sim.now, 6), "frame_hops": sim.frame_hops}
    return doc


def probe_netns(lab_name: str, source: str, targets: list[str], extra: list[str] | None) -> dict:
    """Run uTNT in the lab's switch namespace on the tap of `source`'s LAN."""
    from testbed.runtimes import registry
    att = registry.owner_of_up(lab_name).attachment(lab_name, source)
    cmd = ["ip", "netns", "exec", att["namespace"], sys.executable, "-m", "utnt.cli", "--tap", att["tap"],
           "--ip", f"{att['address']}/{att['prefixlen']}", "--gw", att["gateway"], "--json"]
    # targets on stdin (no temporary file to leave behind); recorded with the lab's supervisor
    # (`testbed down` stops it) and tied to us (it dies with us: PDEATHSIG)
    from testbed.runtimes.netns.state import supervisor
    cmd += ["-a", "/dev/stdin"] + list(extra or [])
    r = supervisor(lab_name).run("detector", cmd, input="\n".join(targets) + "\n", what="utnt", vantage_point=source,
                                    namespace=att["namespace"])
    if r.returncode != 0:
        raise TestbedError(f"uTNT failed in {att['namespace']} ({shlex.join(cmd)}): "
                           f"{(r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else r.returncode}")
    return json.loads(r.stdout)


def utnt_version() -> str | None:
    """The installed uTNT-lab version (None when not installed as a package)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("utnt-lab")
    except PackageNotFoundError:
        return None
