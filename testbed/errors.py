"""Errors a user can act on: one line per problem, naming the file, the line, the field and the fix."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return printable(f"{where}:{field} {self.message}")


def printable(s: str) -> str:
    """One line of plain text: newlines, terminal escapes and other control characters in what
    a lab file or an argument said are shown escaped, never acted on."""
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


class TestbedError(Exception):
    """Any failure reported to the user as a clean message (no traceback)."""


class LabError(TestbedError):
    """A lab file that cannot be built; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(TestbedError):
    """Bad input that is not a lab file (an unknown node, a bad name, a lab that is not up):
    exit status 2 like a LabError."""


def exit_status(e: BaseException) -> int:
    """2 for bad input, 1 for a failed run."""
    return 2 if isinstance(e, (LabError, InputError)) else 1


def problems_json(e: BaseException) -> list[dict]:
    if isinstance(e, LabError):
        return [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in e.problems]
    return [{"file": None, "line": None, "field": None, "message": str(e)}]
