"""What an LSR does with a received label stack: the one decision the engine (which forwards
the frame) and the truth walker (which follows the tables) both take, so they cannot differ.

Semantics (top label first):
- explicit null (0, and the IPv6 explicit null 2 of 6PE) on top is popped and what is underneath is handled *at the same router*:
  the next label is looked up there, or the IP packet is routed there when the stack is
  empty (RFC 3032 2.1 as relaxed by RFC 4182: explicit null may sit anywhere in the stack);
- otherwise the top label is looked up in the LFIB; the chosen next hop's out-label says
  - a label: swap the top label ("swap"),
  - implicit null (3): pop the top label and forward what is left to that next hop
    ("php": labelled if labels remain, IP otherwise),
  - untagged (no label from downstream): remove the whole stack and send the IP packet to
    that next hop without an IP lookup ("untagged": Cisco's "No Label"/"Untagged" entry,
    where the next hop advertised no label or runs no LDP; show mpls forwarding-table,
    Cisco IOS MPLS Command Reference MP-597).
"""
from __future__ import annotations

from .tables import EXPLICIT_NULL, IMPLICIT_NULL

IPV6_EXPLICIT_NULL = 2      # RFC 3032 2.1 (RFC 4182: anywhere in the stack); 6PE's label under the transport

SWAP, PHP, UNTAGGED, SWAP_PUSH = "swap", "php", "untagged", "swap-push"
ELI = 7         # entropy label indicator (RFC 6790): it and the entropy label under it are popped together


def strip_explicit_null(stack: tuple[int, ...]) -> int:
    """How many labels on top of `stack` this router pops before a lookup: explicit nulls,
    and an entropy label indicator with its entropy label (RFC 6790: the LSP's egress, which
    sees them once the penultimate hop popped the transport label, removes both)."""
    k = 0
    while k < len(stack):
        if stack[k] == EXPLICIT_NULL or stack[k] == IPV6_EXPLICIT_NULL:
            k += 1
        elif stack[k] == ELI:
            k += 2
        else:
            break
    return min(k, len(stack))


def after_hop(stack: tuple[int, ...], out_label: int | None, push: tuple[int, ...] = ()) -> tuple[str, tuple[int, ...]]:
    """(action, labels sent to the next hop) for the received labels `stack` (explicit null
    already stripped) forwarded through an LFIB next hop whose out-label is `out_label`;
    `push`: labels that hop pushes above the swapped one (LDP over RSVP: "swap-push")."""
    if out_label is None:
        return UNTAGGED, ()
    if out_label == IMPLICIT_NULL:
        return PHP, tuple(stack[1:])
    if push:
        return SWAP_PUSH, tuple(push) + (out_label,) + tuple(stack[1:])
    return SWAP, (out_label,) + tuple(stack[1:])
