"""Where the CLI's output goes: rich consoles on stdout and stderr, the progress of bringing a lab
up, and one line on stderr."""
from __future__ import annotations

import sys


def console():
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 160)


def out_console():
    from rich.console import Console
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def err_console():
    from rich.console import Console
    return Console(stderr=True, highlight=False)


def stderr(line: str):
    from testbed.errors import printable
    try:
        print(printable(line), file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


class Reporter:
    """Progress of `up` on stderr: a spinner on a terminal, one line per step otherwise."""

    def __init__(self, console):
        self.c = console
        self.live = console.is_terminal
        self.spinner = None
        self.current = ""

    def _stop(self):
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None

    def step(self, label: str):
        self._stop()
        self.current = label
        if self.live:
            self.spinner = self.c.status(f"{label} …")
            self.spinner.start()
        else:
            self.c.print(f"» {label} …")

    def done(self, label: str, seconds: float, detail: str = ""):
        self._stop()
        self.c.print(f"[green]✓[/] {label:<15} {detail:<40} [dim]{seconds:6.2f} s[/]")

    def note(self, msg: str):
        if self.live and self.spinner is not None:
            self.spinner.update(f"{self.current}: {msg}")
        else:
            self.c.print(f"  [dim]{msg}[/]")

    def close(self):
        self._stop()
