"""Detectors as one interface, found in one registry: built-ins and a user's take the same path.

    from testbed.detectors import registry
    det = registry.get("utnt")                       # or registry.get(None, cmd="mytool --json {dst}")
    det.check("sim", options)                        # before anything is brought up
    raw, traces = det.probe(Where(lab, "sim", cp=cp), "vp", ["12.0.1.2"], options, flow=7)

A detector probes (a lab instance, a vantage point, destinations, options) and returns traces
in the result format (docs/result-format.md): every experiment (run, scoreboard, sweep,
matrix, campaign, ondemand, failure) calls `probe` and scores what comes back, whatever the
detector is.

Where detectors come from:
  * built-ins: one module per detector in testbed/detectors/builtin/, each with a `DETECTOR`
    (adding one is one new file there and its test);
  * a user's Python package: an entry point in the group `utnt_lab.detectors` whose object is
    a port function `detect(port, targets, options, *, ip, gw, mac=None, flow=None) -> result
    document` (a PortDetector: it runs on the sim in process and on namespaces on a tap of its
    own, like uTNT) or a Detector (e.g. a CommandDetector);
  * a user's command template (`--detector-cmd 'mytool --json {dst}'`): a CommandDetector, run
    per destination with real packets (namespaces only).

Names are looked up here and nowhere else: experiments ask a detector what it can do
(`runtimes`, `baseline`, `thresholds`, `flows`), never what it is called.
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shlex
import sys
from dataclasses import dataclass

from testbed.errors import InputError, TestbedError

GROUP = "utnt_lab.detectors"          # the entry-point group of a user's detector package
DEFAULT = "utnt"


def runtimes_that(*, port: bool = False, tap: bool = False, namespace: bool = False) -> tuple:
    """The registered runtimes (testbed.runtimes.registry) a detector can probe on, by what it
    needs: a port in this process (in-process runtimes), a tap of its own on a LAN (taps), or
    a vantage point's own namespace (a kernel-stack tool: namespaces)."""
    from testbed.runtimes import registry as rr
    return tuple(n for n in rr.names() if (port and rr.get(n).in_process) or (tap and rr.get(n).taps)
                 or (namespace and rr.get(n).namespaces))



def one_of(names) -> str:
    """'netns', 'mininet or netns', 'bigrt, mininet or netns': the runtimes a thing runs in."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

class RuntimesThat:
    """A detector's `runtimes`, asked of the runtime registry when read (a runtime added later counts)."""

    def __init__(self, **needs):
        self.needs = needs

    def __get__(self, obj, cls=None) -> tuple:
        return runtimes_that(**self.needs)


@dataclass
class Where:
    """A lab instance a detector probes: the sim (lab, its computed control plane) or a running
    namespace lab (`name`)."""
    lab: object
    runtime: str
    name: str | None = None
    cp: object = None


class Detector:
    """The interface. Subclasses set the attributes and implement `probe`."""
    name = ""
    label = ""
    baseline = False            # a labels-only view (a plain traceroute): hidden classes are missed by design
    runtimes = RuntimesThat(namespace=True)      # kernel-stack tools: a namespace per node
    thresholds = False          # takes TNT's FRPLA/RTLA thresholds and brute force (-f -r -b): `sweep`
    flows = False               # probes with the Paris flow it is given (seeded ECMP paths)
    on_tap = False              # runs with its own stack on a tap of its own (tap_argv)
    command = None
    format = None

    @property
    def version(self) -> str | None:
        return None

    @property
    def flag(self) -> str:
        return f"--detector {self.name}"

    def check(self, runtime: str, options: list[str] | None = None):
        """Refuse, before anything is brought up, a runtime or options this detector cannot take."""
        if runtime not in self.runtimes:
            why = "it has no port detector for it" if set(self.runtimes) & set(runtimes_that(port=True)) else \
                "it needs real packets"
            raise InputError(f"{self.flag} runs in the {one_of(self.runtimes)} runtime only ({why}); use "
                             f"--runtime {self.runtimes[-1]}")
        self.check_options(options)

    def check_options(self, options):
        if options:
            raise InputError(f"options after '--' for {self.flag}: it takes none (got: "
                             f"{' '.join(options)})")

    def flow_given(self, options) -> int | None:
        """The Paris flow its options ask for (uTNT's --flow), which a seed does not override."""
        return None

    def flow(self, options, seed, vp: str) -> int | None:
        """The Paris flow it probes with from vantage point vp: the one its options give (uTNT's
        --flow), else flow_for(seed, vp) with a seed; None for a detector that takes none."""
        if not self.flows:
            return None
        given = self.flow_given(options)
        return given if given is not None else (flow_for(seed, vp) if seed is not None else None)

    def probe(self, where: Where, vp: str, targets: list[str], options=None, flow=None) -> tuple[str | None, list]:
        """(its raw output or None, traces) from vp to targets; flow: the Paris flow to probe
        with (flows detectors, from the run's seed), None: its own choice."""
        raise NotImplementedError

    def calibrate(self, where: Where, vp: str, targets: list[str], frpla: int, rtla: int, brute: bool,
                  flow=None) -> list[dict]:
        """Traces at FRPLA/RTLA thresholds (0 allowed) and with or without brute force, on the
        sim (thresholds detectors: `sweep`)."""
        raise NotImplementedError

    def tap_argv(self, att: dict, targets: list[str], options, flow) -> tuple[list[str], str | None]:
        """(argv run in att["namespace"], stdin) of one instance on tap att["tap"] with its own
        address (on_tap detectors)."""
        raise NotImplementedError

    def parse(self, out: str, what: str) -> list[dict]:
        """Its output in the result format (docs/result-format.md); a trace that names no
        detector is this one's."""
        from testbed.detectors.utnt_json import parse_doc
        from testbed.inputs import loads_json
        return parse_doc(_named(loads_json(out, what, "detector output"), self.name), what)

    def seen_as(self, traces: list[dict]) -> str:
        """The name what it saw is judged as (visibility): its own."""
        return self.name

    def describe(self, traces: list[dict] | None = None) -> dict:
        return {"name": self.name, "command": self.command, "format": self.format, "version": self.version}


def _named(doc, name: str):
    for t in (doc.get("traces") if isinstance(doc, dict) else doc if isinstance(doc, list) else None) or []:
        if isinstance(t, dict):
            t.setdefault("detector", name)
    return doc


# ---------------------------------------------------------------- running on a tap (netns)
def run_on_tap(det: Detector, lab_name: str, vp: str, targets: list[str], options, flow) -> tuple[str, list]:
    """One instance of an on_tap detector on the tap attachment point of vp's LAN (its own
    address), recorded with the lab's supervisor (`testbed down` stops it; it dies with us)."""
    from testbed.runtimes import registry as runtimes
    from testbed.runtimes.netns.state import supervisor
    att = dict(runtimes.owner_of_up(lab_name).attachment(lab_name, vp))
    if not att.get("mac"):              # a MAC of its own, locally administered (as uTNT draws one)
        import secrets
        att["mac"] = ":".join(f"{b:02x}" for b in bytes([0x02]) + secrets.token_bytes(5))
    argv, stdin = det.tap_argv(att, targets, options, flow)
    full = ["ip", "netns", "exec", att["namespace"], *argv]
    r = supervisor(lab_name).run("detector", full, input=stdin, what=det.name, vantage_point=vp,
                                 namespace=att["namespace"])
    if r.returncode != 0:
        last = (r.stderr or r.stdout or "").strip().splitlines()
        raise TestbedError(f"{det.label or det.name} failed in {att['namespace']} ({shlex.join(full)}): "
                           f"{last[-1] if last else r.returncode}")
    return r.stdout, det.parse(r.stdout, f"output of {det.name} in {att['namespace']}")


def sim_port(where: Where, vp: str):
    """(sim, port) of vantage point vp on a fresh Sim of the lab (a host's port, or a router's own stack)."""
    from testbed.controlplane import build
    from testbed.runtimes.sim import Sim
    sim = Sim(where.lab, where.cp or build(where.lab))
    sp = sim.attach_router(vp) if where.lab.nodes[vp].is_router else sim.attach(vp)
    return sim, sp


# ---------------------------------------------------------------- a user's Python detector
class PortDetector(Detector):
    """A function on uTNT's port interface (send/recv whole Ethernet frames, clock):
    `fn(port, targets, options, *, ip, gw, mac=None, flow=None) -> {"traces": [...]}`. On the sim
    it gets a port of the vantage point's host in this process; on namespaces it runs as its
    own process (testbed.detectors.portrun) on a tap of its own."""
    runtimes = RuntimesThat(port=True, tap=True)
    flows = True
    on_tap = True

    def __init__(self, name: str, fn, label: str | None = None, module: str | None = None):
        self.name, self.fn, self.label = name, fn, label or name
        self.module = module or getattr(fn, "__module__", None)

    @property
    def version(self):
        from importlib import metadata
        top = (self.module or "").split(".")[0]
        for dist in metadata.packages_distributions().get(top, []):
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        return None

    def check_options(self, options):
        pass                    # the function reads its own options (a bad one: its run fails, said)

    def probe(self, where, vp, targets, options=None, flow=None):
        from testbed.runtimes import registry as runtimes
        if runtimes.get(where.runtime).in_process:
            from utnt.net import SimPortAdapter
            _, sp = sim_port(where, vp)
            try:
                doc = self.fn(SimPortAdapter(sp), list(targets), list(options or []), ip=f"{sp.ip}/{sp.prefixlen}",
                              gw=str(sp.gateway), mac=sp.mac, flow=flow)
            except Exception as e:      # noqa: BLE001 - the user's code failed: one line, as a process would say
                raise TestbedError(f"detector '{self.name}' failed from {vp}: {type(e).__name__}: "
                                   f"{' '.join(str(e).split())[:200]}") from None
            from testbed.detectors.utnt_json import parse_doc
            return None, parse_doc(_named(json.loads(json.dumps(doc, default=str)), self.name), f"{self.name} on the sim")
        return run_on_tap(self, where.name or where.lab.name, vp, targets, options, flow)

    def tap_argv(self, att, targets, options, flow):
        argv = [sys.executable, "-m", "testbed.detectors.portrun", self.name, "--tap", att["tap"],
                "--ip", f"{att['address']}/{att['prefixlen']}", "--gw", att["gateway"]]
        if att.get("mac"):
            argv += ["--mac", att["mac"]]
        if flow is not None:
            argv += ["--flow", str(flow)]
        return argv + ["--", *(options or [])], "\n".join(targets) + "\n"


# ---------------------------------------------------------------- a user's command template
class CommandDetector(Detector):
    """A command run once per destination: `{dst}` is replaced by the destination. Without
    `{tap}` it runs in the vantage point's namespace (a kernel-stack tool: `{src}` is the vantage
    point's address); with `{tap}` it runs on a tap of its own in the lab's switch namespace,
    like uTNT (`{ip}` address/prefix, `{gw}` gateway, `{mac}`, `{flow}` the Paris flow). Its
    stdout is read as `fmt` (detected when None)."""

    @property
    def runtimes(self):
        """A kernel-stack command runs wherever nodes have namespaces; one on a tap where labs have taps."""
        return runtimes_that(tap=True) if self.on_tap else runtimes_that(namespace=True)

    def __init__(self, template: str, fmt: str | None = None, name: str | None = None, label: str | None = None):
        if "{dst}" not in template:
            raise InputError(f"--detector-cmd '{template}' has no {{dst}}; write where the destination goes, "
                             "e.g. --detector-cmd 'mytool --json {dst}'")
        if fmt is not None:
            from testbed.detectors import format_name
            fmt = format_name(fmt)
        self.command, self.format = template, fmt
        self.on_tap = "{tap}" in template
        self.flows = self.on_tap and "{flow}" in template
        self.name = name or "cmd"
        self.label = label or name or ""

    @property
    def flag(self):
        return "--detector-cmd" if self.name == "cmd" else f"--detector {self.name}"

    def probe(self, where, vp, targets, options=None, flow=None):
        if self.on_tap:
            raws, traces = [], []
            for dst in targets:
                raw, trs = run_on_tap(self, where.name or where.lab.name, vp, [dst], options, flow)
                raws.append(raw)
                traces += trs
            return "".join(raws), traces
        from testbed.detectors.runners import _ns, _vp_address, run_command
        return run_command(_ns(where.name or where.lab.name, vp), targets, self.command, self.format,
                           _vp_address(where.lab, where.name or where.lab.name, vp))

    def _argv(self, values: dict) -> list[str]:
        text = self.command
        for k, v in values.items():
            text = text.replace("{" + k + "}", str(v))
        try:
            return shlex.split(text)
        except ValueError as e:
            raise InputError(f"--detector-cmd '{self.command}': {e}") from None

    def tap_argv(self, att, targets, options, flow):
        return self._argv({"dst": targets[0], "tap": att["tap"], "ip": f"{att['address']}/{att['prefixlen']}",
                           "gw": att["gateway"], "mac": att.get("mac") or "", "flow": flow or "",
                           "src": att["address"]}), None

    def parse(self, out, what):
        from testbed.detectors import parse_text
        from testbed.detectors.base import ResultError, trace
        try:
            return parse_text(out, what, self.format)
        except ResultError as e:      # one unreadable output loses its trace, scored as a miss
            return [trace(None, None, None, [], [], detector="cmd", fmt=self.format or "unreadable",
                          stop_reason="UNREADABLE", unreadable=str(e.problems[0]))]

    def seen_as(self, traces):
        parsed = {t.get("detector") for t in traces}
        return parsed.pop() if len(parsed) == 1 else self.name

    def describe(self, traces=None):
        name = self.name
        if name == "cmd" and traces is not None:       # (the registry's own placeholder name)
            name = cmd_detector_name(self.command, traces)
        return {"name": name, "command": self.command, "format": self.format, "version": None}


def detector_method(detector: str, extra: list[str] | None) -> str:
    """The probe method of a plain tracer from the options after `--` (`-m icmp-paris|udp-paris`,
    the only one scamper and traceroute take)."""
    extra = list(extra or [])
    if extra[:1] == ["-m"] and len(extra) == 2 and extra[1] in ("icmp-paris", "udp-paris"):
        return extra[1]
    if extra:
        raise TestbedError(f"options after '--' for --detector {detector}: only '-m icmp-paris' or '-m udp-paris' "
                           f"apply (got: {' '.join(extra)})")
    return "icmp-paris"




def cmd_detector_name(cmd: str, traces: list[dict]) -> str:
    """The name of a user's --detector-cmd: what its own output calls it (a trace's `detector`,
    other than the format's default `utnt`), else its program's name."""
    named = sorted({str(t["detector"]) for t in traces if t.get("detector") not in (None, "", "utnt")})
    if named:
        return ",".join(named)
    try:
        words = shlex.split(cmd)
    except ValueError:
        words = cmd.split()
    return os.path.basename(words[0]) if words else "detector"


# ---------------------------------------------------------------- the registry
_BUILTIN: dict | None = None
_PLUGINS: dict | None = None


def builtins() -> dict:
    """{name: Detector} of testbed/detectors/builtin/*.py (each module's DETECTOR)."""
    global _BUILTIN
    if _BUILTIN is None:
        from testbed.detectors import builtin
        found = {}
        for m in sorted(pkgutil.iter_modules(builtin.__path__), key=lambda m: m.name):
            det = getattr(importlib.import_module(f"{builtin.__name__}.{m.name}"), "DETECTOR", None)
            if isinstance(det, Detector):
                found[det.name] = det
        _BUILTIN = dict(sorted(found.items(), key=lambda kv: (kv[0] != DEFAULT, kv[0])))
    return _BUILTIN


def _entry_points() -> list:
    from importlib import metadata
    try:
        return list(metadata.entry_points(group=GROUP))
    except Exception:               # noqa: BLE001 - a broken distribution elsewhere on the path
        return []


def plugins() -> dict:
    """{name: Detector} of the installed packages' entry points (group utnt_lab.detectors); a
    name a built-in has stays the built-in's. Loaded when first used by name (get)."""
    global _PLUGINS
    if _PLUGINS is None:
        _PLUGINS = {ep.name: ep for ep in _entry_points() if ep.name not in builtins()}
    return _PLUGINS


def names() -> list[str]:
    """Every registered detector's name: the built-ins, then the installed packages'."""
    return list(builtins()) + sorted(plugins())


def _load(ep) -> Detector:
    try:
        obj = ep.load()
    except Exception as e:          # noqa: BLE001 - a user's package that does not import: one line
        raise TestbedError(f"detector '{ep.name}' (entry point {ep.value} in group {GROUP}) does not load: "
                           f"{type(e).__name__}: {e}; fix or uninstall the package that declares it") from None
    if isinstance(obj, Detector):
        obj.name = ep.name
        obj.label = obj.label or ep.name
        return obj
    if callable(obj):
        return PortDetector(ep.name, obj, module=ep.value.split(":")[0])
    raise TestbedError(f"detector '{ep.name}' (entry point {ep.value} in group {GROUP}) is neither a function "
                       "detect(port, targets, options, *, ip, gw, mac=None, flow=None) nor a Detector")


def get(name: str | None = DEFAULT, cmd: str | None = None, fmt: str | None = None) -> Detector:
    """The detector of --detector NAME (or --detector-cmd TEMPLATE [--format FMT])."""
    if isinstance(name, Detector):
        return name
    if cmd:
        return CommandDetector(cmd, fmt)
    name = name or DEFAULT
    if name in builtins():
        return builtins()[name]
    ep = plugins().get(name)
    if ep is None:
        raise InputError(f"unknown detector '{name}'; choose one of {', '.join(names())} (a package of yours "
                         f"registers more through the entry-point group {GROUP}), or give --detector-cmd")
    if isinstance(ep, Detector):        # loaded before
        return ep
    det = _load(ep)
    _PLUGINS[name] = det
    return det


def check_detector(runtime: str, detector=None, extra: list[str] | None = None,
                   detector_cmd: str | None = None, fmt: str | None = None) -> Detector:
    """The registered detector a run uses (--detector NAME, or a user's --detector-cmd), after the
    checks that must pass before anything is brought up: the runtimes it runs on, its options
    after `--`, what it needs installed."""
    det = get(detector, detector_cmd, fmt)
    det.check(runtime, extra)
    return det


def flow_for(seed, source: str) -> int:
    """The Paris flow identifier (uTNT --flow) of vantage point `source` in a run with `seed`:
    the same seed gives the same probes, hence the same equal-cost paths, on every runtime."""
    import random
    return random.Random(f"utnt-lab:{seed}:{source}").randint(1, 0xFFFF)


def label(name) -> str:
    """A detector's label for a report, from its name (a name no longer registered: itself)."""
    if isinstance(name, Detector):
        return name.label
    b = builtins().get(name)
    return b.label if b is not None else str(name)


def is_baseline(name) -> bool:
    if isinstance(name, Detector):
        return name.baseline
    b = builtins().get(name)
    return bool(b is not None and b.baseline)


def reset():
    """Forget what was found (a package installed while this process runs: tests)."""
    global _BUILTIN, _PLUGINS
    _BUILTIN = _PLUGINS = None
    from importlib import metadata
    if hasattr(metadata, "_cache_clear"):
        metadata._cache_clear()
    importlib.invalidate_caches()


def run_detector(detector: str | None, lab_name: str, vp: str, targets: list[str], cmd: str | None = None,
                 fmt: str | None = None, extra: list[str] | None = None, lab=None, flow=None) -> tuple[str, list]:
    """(raw output, traces) of one registered detector (testbed.detectors.registry; or a
    command template `cmd`) from `vp` to `targets` on a running lab; traces without a source
    address get the vantage point's.

        raw, traces = run_detector("scamper", "mylab", "vp", ["12.0.1.2"])
        raw, traces = run_detector(None, "mylab", "vp", ["12.0.1.2"], cmd="mytool --json {dst}", fmt="utnt-json")
    """
    from testbed.detectors.runners import _vp_address
    det = get(detector, cmd, fmt)
    det.check("netns", extra)
    raw, traces = det.probe(Where(lab, "netns", lab_name), vp, targets, extra, flow)
    src = _vp_address(lab, lab_name, vp)
    for t in traces:
        if not t.get("src"):
            t["src"] = src
        t.setdefault("vantage_point", vp)
    return raw or "", traces
