"""Runtimes found by name: `--runtime NAME` and every lab instance's runtime are looked up here
and nowhere else.

    from testbed.runtimes import registry
    rt = registry.get("netns")                     # a testbed.runtimes.base.Runtime
    inst = rt.up(lab, "mylab")                     # an Instance; rt.down("mylab") takes it down
    registry.owner("mylab")                        # the runtime running lab instance "mylab", or None

The built-ins are the modules of testbed/runtimes/builtin/, each with a `RUNTIME`: adding a
runtime is one new file there (and its test). Experiments ask a runtime what it can do
(`in_process`, `control_planes`, `taps`, `interactive`), never what it is called.
"""
from __future__ import annotations

import importlib
import pkgutil

from testbed.errors import InputError
from testbed.runtimes.base import Runtime

DEFAULT = "sim"
_FOUND: dict | None = None


def builtins() -> dict:
    """{name: Runtime} of testbed/runtimes/builtin/*.py (each module's RUNTIME), sim first."""
    global _FOUND
    if _FOUND is None:
        from testbed.runtimes import builtin
        found = {}
        for m in sorted(pkgutil.iter_modules(builtin.__path__), key=lambda m: m.name):
            rt = getattr(importlib.import_module(f"{builtin.__name__}.{m.name}"), "RUNTIME", None)
            if isinstance(rt, Runtime):
                found[rt.name] = rt
        _FOUND = dict(sorted(found.items(), key=lambda kv: (kv[0] != DEFAULT, kv[0])))
    return _FOUND


def names(*, in_process: bool | None = None, interactive: bool | None = None, control_plane: str | None = None,
          taps: bool | None = None) -> list[str]:
    """The registered runtimes' names, those with the given abilities only."""
    return [n for n, rt in builtins().items()
            if (in_process is None or rt.in_process == in_process)
            and (interactive is None or rt.interactive == interactive)
            and (taps is None or rt.taps == taps)
            and (control_plane is None or control_plane in rt.control_planes)]


def get(name: str | Runtime | None = DEFAULT) -> Runtime:
    """The runtime of --runtime NAME."""
    if isinstance(name, Runtime):
        return name
    rt = builtins().get(name or DEFAULT)
    if rt is None:
        raise InputError(f"unknown runtime '{name}'; choose one of {', '.join(names())}")
    return rt


def owner(name: str) -> Runtime | None:
    """The runtime whose lab instance (up, or left over) is called `name`; None when none is."""
    for rt in builtins().values():
        if not rt.in_process and rt.owns(name):
            return rt
    return None


def instances() -> list[str]:
    """Every lab instance on the machine, whichever runtime runs it (up or left over)."""
    seen: dict[str, None] = {}
    for rt in builtins().values():
        for n in rt.instances():
            seen.setdefault(n)
    return sorted(seen)


def owner_of_up(name: str) -> Runtime:
    """The runtime of lab instance `name`, which must exist; else one line naming what is up."""
    rt = owner(name)
    if rt is None:
        raise InputError(f"lab '{name}' is not up (running: {', '.join(instances()) or 'none'}); start it with "
                         f"`testbed up {name}`")
    return rt


def reset():
    """Forget what was found (a runtime module added while this process runs: tests)."""
    global _FOUND
    _FOUND = None
    importlib.invalidate_caches()
