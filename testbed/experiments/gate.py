"""The bar a completed run must clear, for CI jobs: `--strict` (a perfect score) and
`--fail-under` (a detection figure at least a fraction).

Exit statuses of the commands that report a score: 0 the run completed (and cleared the bar
when one was given), 1 the run failed, 2 bad input, **3 the run completed below the bar**.
The figures come from the score's totals (the scorer's counts), never from its text:

- ``recall``: detected tunnels over detectable ones (present minus undetectable; 1.0 when none);
- ``precision``: detected tunnels over detected plus false tunnels (1.0 when none reported);
- ``lsrs``: LSRs found over LSRs present (1.0 when none).
"""
from __future__ import annotations

import argparse
import sys

from testbed.errors import printable

BELOW_BAR = 3
METRICS = ("recall", "precision", "lsrs")


def _ratio(num: int, den: int) -> float:
    return 1.0 if den <= 0 else num / den


def figures(totals: dict) -> dict[str, float]:
    """recall, precision and LSR recall of one score's totals."""
    detectable = totals["present"] - totals.get("undetectable", 0)
    return {"recall": _ratio(totals["detected"], detectable),
            "precision": _ratio(totals["detected"], totals["detected"] + totals["false_tunnels"]),
            "lsrs": _ratio(totals["lsrs_found"], totals["lsrs_present"])}


def _bar(text: str) -> tuple[str, float]:
    """`0.9` (recall) or `METRIC=0.9`, the fraction within 0..1."""
    metric, _, value = text.rpartition("=")
    metric = metric.strip() or "recall"
    if metric not in METRICS:
        raise argparse.ArgumentTypeError(f"'{printable(text)}': the metric is one of {', '.join(METRICS)} "
                                         "(e.g. --fail-under recall=0.9)")
    try:
        f = float(value)
    except ValueError:
        f = float("nan")
    if not 0.0 <= f <= 1.0:            # NaN fails both comparisons
        raise argparse.ArgumentTypeError(f"'{printable(text)}': the bar is a fraction from 0 to 1 "
                                         "(e.g. --fail-under 0.95)")
    return metric, f


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true",
                   help="exit 3 unless the score is perfect (every tunnel, class, ingress, egress and LSR right, "
                        "nothing false)")
    p.add_argument("--fail-under", action="append", type=_bar, metavar="[METRIC=]FRACTION", default=None,
                   help="exit 3 when a figure of the score is below FRACTION: recall (the default metric), "
                        "precision or lsrs; repeatable, e.g. --fail-under 0.9 --fail-under precision=1")


def shortfalls(totals: dict, strict: bool = False, bars: list[tuple[str, float]] | None = None) -> list[str]:
    """What keeps one score below the bar, one phrase each (empty: it clears it)."""
    from testbed.scoring.score import is_perfect
    out = []
    if strict and not is_perfect(totals):
        out.append("not perfect")
    got = figures(totals)
    for metric, floor in bars or []:
        if got[metric] < floor:
            out.append(f"{metric} {got[metric]:.3f} < {floor:g}")
    return out


def check(args, scored: list[tuple[str, dict]]) -> None:
    """After the report is printed: exit 3 with one line on stderr when any (what, totals) of
    a completed run is below the bar that args set (--strict, --fail-under); nothing otherwise."""
    strict, bars = getattr(args, "strict", False), getattr(args, "fail_under", None) or []
    if not strict and not bars:
        return
    failing = [(what, s) for what, totals in scored if (s := shortfalls(totals, strict, bars))]
    if not failing:
        return
    shown = "; ".join(f"{printable(what)}: {', '.join(s)}" for what, s in failing[:5])
    more = f"; and {len(failing) - 5} more" if len(failing) > 5 else ""
    sys.stdout.flush()
    print(f"below the bar ({len(failing)} of {len(scored)}): {shown}{more}", file=sys.stderr)
    raise SystemExit(BELOW_BAR)
