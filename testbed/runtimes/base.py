"""The runtime interface: what every way of bringing a lab to life does, and the lab instance
it hands out.

A runtime brings a lab instance up and down, reports its status, attaches a vantage point
(a tap on its LAN, or a port in this process) and runs commands in its nodes. The built-ins
are one module each in testbed/runtimes/builtin/ (sim, netns, mininet), each with a `RUNTIME`;
testbed/runtimes/registry.py finds them by name. Nothing else asks which runtime it has: it
asks the runtime what it can do (`in_process`, `control_planes`, `taps`, `interactive`).
"""
from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

from testbed.errors import InputError, TestbedError


@dataclass
class Instance:
    """A lab brought up by a runtime: `name` names it on the machine (runtimes whose instances
    outlive the command; None in process), `cp` the computed control plane (what an in-process
    runtime forwards with), `state` what the runtime recorded when it brought it up."""
    lab: object
    runtime: str
    name: str | None = None
    cp: object = None
    state: dict | None = None


class Runtime:
    """The interface. A runtime sets the attributes and implements what it can do; what it
    cannot do raises one line saying so (never a silent fall-back)."""
    name = ""
    summary = ""                        # one line for --help and docs
    label = ""                          # how a report names it ("under <label>")
    in_process = False                  # the lab runs inside this process: no name, nothing outlives the command
    control_planes: tuple = ("computed",)   # where routers' tables may come from
    taps = False                        # tap attachment points: a detector with its own stack joins a LAN
    namespaces = False                  # a network namespace per node: kernel-stack tools run in a vantage point's
    interactive = False                 # `up` hands the terminal to the runtime's own prompt until it ends

    def available(self) -> str | None:
        """None when it can run here, else the one-line reason with the fix."""
        return None

    def require(self):
        why = self.available()
        if why:
            raise TestbedError(why)

    # ------------------------------------------------------------ life cycle
    def up(self, lab, name: str | None = None, *, control_plane: str | None = None,
           converge_timeout: float | None = None, progress=None, workers: int | None = None, cp=None,
           **options) -> Instance:
        raise NotImplementedError

    def running(self, lab, name: str | None = None, on_down=None, **up_options) -> "Running":
        """`with rt.running(lab, name) as inst:` up, and down again when the block ends (the one
        way a lab is brought up and down for a run: testbed.up and run_lab)."""
        return Running(self, lab, name, on_down, up_options)

    def down(self, name: str) -> dict:
        """Take instance `name` down: every process, namespace and file it made. Idempotent."""
        raise TestbedError(f"the {self.name} runtime has no instance to take down")

    def owns(self, name: str) -> bool:
        """Is (or was, leaving leftovers) lab instance `name` this runtime's?"""
        return False

    def status(self, name: str) -> dict:
        """Instance `name`'s state with a live "status" (up, down, orphaned, degraded, ...)."""
        return {"name": name, "status": "down", "runtime": self.name}

    def instances(self) -> list[str]:
        """The names of this runtime's instances on the machine (up or left over)."""
        return []

    def require_healthy(self, name: str) -> dict:
        """The state of instance `name` when it is up and whole; else one line naming what is not."""
        raise TestbedError(f"the {self.name} runtime keeps no lab instance up")

    def record(self, name: str) -> dict | None:
        """What the runtime recorded of instance `name` (at least "source", "params", "lab",
        "options" of the lab file it runs, or "status": "corrupt" and the "problem"); None when
        nothing is recorded (never up, or only leftovers)."""
        return None

    # ------------------------------------------------------------ vantage points and commands
    def control_plane(self, lab, asked: str | None) -> str:
        """The control plane an instance of `lab` runs: `asked`, else the lab's where this
        runtime can run it, else computed. Asking for one it cannot run is an error."""
        if asked is not None and asked not in self.control_planes:
            where = sorted({c.name for c in _kinds(Runtime) if c.name and asked in c.control_planes})
            raise TestbedError(f"the {asked.upper() if asked == 'frr' else asked} control plane runs in the "
                               f"{', '.join(where[:-1]) + ' or ' + where[-1] if len(where) > 1 else where[0]} runtime only "
                               f"(use --runtime {where[0]})")
        mode = asked or getattr(lab, "control_plane", None) or "computed"
        return mode if mode in self.control_planes else "computed"

    def attachment(self, name: str, vp: str) -> dict:
        """The tap attachment point on vp's LAN (keys: namespace, tap, address, prefixlen, gateway, ...)."""
        raise InputError(f"the {self.name} runtime has no tap attachment point: a detector with its own stack "
                         "(uTNT) cannot join its LANs; use a kernel-stack detector (--detector scamper, traceroute "
                         "or tnt) or --runtime netns")

    def namespace_of(self, name: str, node: str) -> str:
        """The network namespace of node `node` of instance `name`."""
        raise InputError(f"the {self.name} runtime runs no node in a namespace of its own")

    def prober_namespace(self, name: str, node: str) -> str:
        """Where a kernel-stack prober of vantage point `node` runs."""
        return self.namespace_of(name, node)

    def supervisor(self, name: str):
        """The supervisor (testbed/runtimes/netns/supervisor.py) that records the processes run in
        instance `name` (a detector, a capture): the instance's down stops them."""
        from testbed.runtimes.netns.supervisor import Supervisor
        return Supervisor()

    def capture(self, name: str, node: str, iface: str, file: str, count: int | None = None,
                timeout: float | None = None) -> dict:
        """tcpdump on a node's interface into a pcap file (`testbed capture`), recorded with the
        instance's supervisor."""
        from testbed.runtimes.netns import api
        return api.capture(name, node, iface, file, count=count, timeout=timeout,
                           namespace=self.namespace_of(name, node), sup=self.supervisor(name))

    def exec_argv(self, name: str, node: str, cmd: list[str]) -> list[str]:
        """The argv that runs cmd inside node `node` of instance `name`."""
        if not cmd:
            raise TestbedError("no command given; usage: testbed exec LAB NODE -- CMD [ARGS...]")
        return ["ip", "netns", "exec", self.namespace_of(name, node)] + list(cmd)


class Running:
    """A lab instance for the length of a `with` block: up on entry, down on leaving, also on
    an exception, Ctrl-C or SIGTERM. In the main thread, while the instance is up, SIGTERM is
    turned into KeyboardInterrupt (unless someone, the CLI's guard, already handles it), and the
    teardown itself is not interruptible. on_down(name): called before the instance goes down."""

    def __init__(self, rt: Runtime, lab, name, on_down, up_options: dict):
        self.rt, self.lab, self.name, self.on_down, self.up_options = rt, lab, name, on_down, up_options
        self.instance: Instance | None = None
        self._old_term = None

    def __enter__(self) -> Instance:
        # a runtime's up tears down what it built when it fails or is interrupted
        self.instance = self.rt.up(self.lab, self.name, **self.up_options)
        if not self.rt.in_process and threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._old_term = signal.signal(signal.SIGTERM, _term_as_interrupt)
        return self.instance

    def __exit__(self, *exc):
        if self.rt.in_process or self.instance is None:
            return False
        name = self.instance.name
        if self.on_down:
            self.on_down(name)
        ignored = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):      # the teardown runs to its end
                ignored[sig] = signal.signal(sig, signal.SIG_IGN)
        try:
            self.rt.down(name)
        finally:
            for sig, h in ignored.items():
                signal.signal(sig, h)
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None
        return False


def _term_as_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def _kinds(cls) -> list:
    """Every subclass of cls defined so far (the registry has imported every runtime)."""
    out = []
    for c in cls.__subclasses__():
        out += [c] + _kinds(c)
    return out
