"""Stopping processes the runtime started, by their recorded (PID, start time): SIGTERM, a
wait, SIGKILL only for a PID that still belongs to the same process, and reaping of our own
children (state.CHILDREN). Used by teardown, the FRR daemons, the TNT peer and detector runs;
it imports no other part of the runtime but nsutil and state."""
from __future__ import annotations

import os
import signal
import time

from . import nsutil, state

TERM_WAIT = 3.0


def _reap(pid: int):
    p = state.CHILDREN.get(pid)
    if p is not None:
        if p.poll() is not None:
            state.CHILDREN.pop(pid, None)
    else:
        nsutil.reap(pid)


def terminate(procs: list[tuple[int, int | None]], wait: float = TERM_WAIT) -> list[int]:
    """SIGTERM each recorded (pid, start time), then SIGKILL those still there after `wait`
    (only if the PID still belongs to the same process); returns the PIDs."""
    for pid, _ in procs:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    left = _wait_gone(procs, wait)
    for pid, start in left:
        if nsutil.same_process(pid, start):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _wait_gone(left, wait)
    return [p for p, _ in procs]


def _wait_gone(pids: list[tuple[int, int | None]], timeout: float) -> list[tuple[int, int | None]]:
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        for pid, _ in alive:
            _reap(pid)
        alive = [(p, st) for p, st in alive if nsutil.same_process(p, st)]
        if alive:
            time.sleep(0.02)
    for pid, _ in pids:
        _reap(pid)
    return alive
