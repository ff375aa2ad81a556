"""The strict value types that every schema of the testbed's inputs shares (lab files,
vendor tables, knob declarations): numbers are strict (true is not 1, 1.5 is not 1) and
finite, booleans are true or false only. They sit below the lab model, the vendors and the
knobs, which all check values with them, so the same value fails alike everywhere."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]
