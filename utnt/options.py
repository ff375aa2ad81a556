"""Options of a uTNT run, mirroring sc_tnt's command line (tnt.md 5.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import METHOD_ICMP_PARIS, METHODS

UTURN_SEQ_THRESHOLD = 3
"""Sum of |u-turn| over a run needed to flag an implicit tunnel (compile-time in TNT, tnt.md 3.2)."""

START_TTL_OFFSET = 2
"""Revelation traces start at the start point's probe TTL minus this, floored at 1 (tnt.md 3.3)."""


@dataclass(frozen=True)
class TntOptions:
    """sc_tnt options.

    ==================  ======  =========================================================
    field               flag    meaning (default)
    ==================  ======  =========================================================
    method              ``-m``  ``icmp-paris`` (default) or ``udp-paris``
    start_ttl           ``-s``  first TTL of the base trace (1)
    ping_count          ``-c``  pings per address for fingerprinting (1)
    frpla_threshold     ``-f``  FRPLA trigger threshold, must be > 0 (3)
    rtla_threshold      ``-r``  RTLA trigger threshold, must be > 0 (1)
    brute_force         ``-b``  try revelation at every pair even without trigger (off)
    allow_private       --      lift the reserved-address rule (uTNT addition, off)
    ==================  ======  =========================================================
    """

    method: str = METHOD_ICMP_PARIS
    start_ttl: int = 1
    ping_count: int = 1
    frpla_threshold: int = 3
    rtla_threshold: int = 1
    brute_force: bool = False
    allow_private: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if not 1 <= self.start_ttl <= 255:
            raise ValueError(f"start TTL must be in 1..255, not {self.start_ttl}")
        if self.ping_count < 1:
            raise ValueError(f"ping count must be >= 1, not {self.ping_count}")
        # sc_tnt's command line demands > 0 (the utnt CLI keeps that rule); the calibration
        # campaign (tnt.md 3.5) swept 0..4, so programmatic runs may use 0
        if self.frpla_threshold < 0:
            raise ValueError(f"FRPLA threshold must be >= 0, not {self.frpla_threshold}")
        if self.rtla_threshold < 0:
            raise ValueError(f"RTLA threshold must be >= 0, not {self.rtla_threshold}")
