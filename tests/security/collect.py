"""Every security case: cases() of cases.py and of every other tests/security/cases*.py
(one module per area: lab files, the input boundary, runtimes...), names unique."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("cases*.py"))


def all_cases() -> list:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    out, seen = [], {}
    for m in modules():
        mod = importlib.import_module(m)
        fn = getattr(mod, "cases", None)
        if fn is None:
            continue
        for c in fn():
            if c.name in seen:
                raise ValueError(f"security case {c.name} is in {seen[c.name]} and {m}; names are unique")
            seen[c.name] = m
            c.module = m
            out.append(c)
    return out
