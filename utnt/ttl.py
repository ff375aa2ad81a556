"""TTL arithmetic of TNT: iTTL inference and the FRPLA / RTLA / u-turn quantities.

All formulas are those of tnt.md 2.1, 3.1 and 3.2 (summary item 2):

* ``iTTL(ttl)``: the received TTL rounded **up** to 32, 64, 128 or 255;
* ``R = iTTL - ttl + 1``: the inferred return-path length;
* ``FRPLA = R_TE - probe_ttl``;
* ``RTLA = R_TE - R_ER`` only for ``<255, !=255>`` signatures, else 0;
* ``u-turn = R_TE - R_ER`` with no signature condition.

A missing echo-reply is written ``None`` here (TNT writes 0, tnt.md 3.1); both make RTLA and
the u-turn 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def ittl(ttl: int) -> int:
    """Initial TTL inferred from a received TTL (tnt.md 2.1).

    Above 128 gives 255, above 64 gives 128, above 32 gives 64, otherwise 32.
    """
    if ttl > 128:
        return 255
    if ttl > 64:
        return 128
    if ttl > 32:
        return 64
    return 32


def return_length(ttl: int) -> int:
    """Inferred return-path length ``R = iTTL - ttl + 1`` (tnt.md 3.1)."""
    return ittl(ttl) - ttl + 1


def frpla(reply_ttl: int, probe_ttl: int) -> int:
    """Forward/return path length asymmetry ``R_TE - t`` (tnt.md 3.2).

    The caller applies it to time-exceeded replies only.
    """
    return return_length(reply_ttl) - probe_ttl


def rtla(te_ttl: int, er_ttl: int | None) -> int:
    """Return tunnel length ``R_TE - R_ER`` (tnt.md 3.2).

    Only defined for routers whose signature is ``<255, !=255>`` (iTTL of the
    time-exceeded 255 and iTTL of the echo-reply not 255, e.g. Juniper ``<255,64>``);
    0 otherwise and 0 without an echo-reply.
    """
    if not er_ttl:
        return 0
    if ittl(te_ttl) != 255 or ittl(er_ttl) == 255:
        return 0
    return return_length(te_ttl) - return_length(er_ttl)


def uturn(te_ttl: int, er_ttl: int | None) -> int:
    """u-turn ``R_TE - R_ER`` with no signature condition (tnt.md 2.3, 3.2); 0 without ER."""
    if not er_ttl:
        return 0
    return return_length(te_ttl) - return_length(er_ttl)


def most_frequent_ttl(ttls: Iterable[int]) -> int | None:
    """Most frequent echo-reply TTL among ``ping -c N`` replies, ties to the higher TTL.

    None when there was no reply (tnt.md 3.1: "Ties go to the higher TTL").
    """
    counts = Counter(t for t in ttls if t is not None)
    if not counts:
        return None
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
