"""Data model of the uTNT detector: replies, hops, traces and tunnels.

Everything here is plain data.  The prober (written elsewhere) fills
:class:`Reply`/:class:`Hop`/:class:`Trace` with what it measured; the detector
(:mod:`utnt.detect`, :mod:`utnt.reveal`, :mod:`utnt.tnt`) adds the computed
quantities (tnt.md 3.1), the MPLS tags (tnt.md 5.5) and the :class:`Tunnel`
summaries.

Vocabulary (tnt.md 1, 3.2, 4.3, 5.5):

* tunnel classes: ``EXP`` explicit, ``IMP`` implicit, ``OPA`` opaque, ``INV`` invisible;
* hop roles: ``ING`` ingress LER, ``LSR`` label switching router, ``EGR`` egress LER;
* triggers: ``DUPIP``, ``RTLA``, ``FRPLA``, ``MTTL``, ``QTTL``, ``UTURN``, ``BTFC``
  (brute force); explicit tunnels need no trigger (the labels are the evidence);
* revelation techniques: ``DPR``, ``BRPR``, ``BUDDY``, ``UNKN``;
* stop reasons of a revelation: ``NTH-RV``, ``ING-NF``, ``TGT-NR`` (tnt.md 4.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- ICMP constants -------------------------------------------------------------------------
ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_TIME_EXCEEDED = 11
ICMP_CODE_PORT_UNREACH = 3

# --- probe methods (tnt.md 5.2, option -m) --------------------------------------------------
METHOD_ICMP_PARIS = "icmp-paris"
METHOD_UDP_PARIS = "udp-paris"
METHODS = (METHOD_ICMP_PARIS, METHOD_UDP_PARIS)

# --- tunnel classes, roles -------------------------------------------------------------------
EXP, IMP, OPA, INV = "EXP", "IMP", "OPA", "INV"
ING, LSR, EGR = "ING", "LSR", "EGR"

# --- triggers ---------------------------------------------------------------------------------
DUPIP, RTLA, FRPLA, MTTL, QTTL, UTURN, BTFC = (
    "DUPIP", "RTLA", "FRPLA", "MTTL", "QTTL", "UTURN", "BTFC")

# --- techniques ---------------------------------------------------------------------------------
DPR, BRPR, BUDDY, UNKN = "DPR", "BRPR", "BUDDY", "UNKN"

# --- stop reasons (tnt.md 4.3); the last four are uTNT's names for the loop-avoidance stops ----
NTH_RV, ING_NF, TGT_NR = "NTH-RV", "ING-NF", "TGT-NR"
STOP_LOOP = "LOOP"          # new target already in the LSP
STOP_UNRESP = "UNRESP"      # new target did not answer (a '*' hop)
STOP_RSVD = "RSVD"          # new target has a reserved address
STOP_MAXSTEP = "MAX-STEP"   # safety net, never expected in practice

LabelEntry = tuple[int, int, int, int]
"""One RFC 4950 label stack entry: (label, tc, s, ttl); the first entry is the top."""


@dataclass
class Reply:
    """One reply to one probe, as the prober measured it (tnt.md summary item 1)."""

    address: str
    probe_ttl: int
    rtt_ms: float | None
    icmp_type: int
    icmp_code: int
    reply_ttl: int
    quoted_ttl: int | None = None
    labels: list[LabelEntry] = field(default_factory=list)


SEARCH_TRIGGERS = (DUPIP, RTLA, FRPLA, MTTL)
"""The revelation triggers a hop can carry, in sc_tnt's print order (several may be set)."""


class MplsTag:
    """The ``[MPLS,...]`` annotation of a hop (tnt.md 5.5), held as sc_tnt holds it: flags.

    sc_tnt gives a hop a set of flags, never one label: roles ``ing``/``egr``/``lsr`` (a hop
    between two LSPs is ``EGR`` and ``ING`` at once), tunnel classes ``exp``/``imp_qt``/
    ``imp_ut``/``opa``/``inv`` (a tunnel end may belong to tunnels of several classes), the
    revelation triggers it was found by (``triggers``, any of DUPIP RTLA FRPLA MTTL), and for a
    revealed hop its technique and step.  What is printed follows from the flags
    (:func:`utnt.output.format_mpls`): an LSR shows one class (IMP, else OPA, else EXP, else
    INV), an ingress or egress every class it has; an LSR without any class is inferred
    (``INF``, sc_tnt.c identify_juniper_implicit_hop); ``QTTL``/``UTURN`` are the two implicit
    classes, printed after the triggers unless the hop is inferred; an invisible hop without
    trigger was found by brute force (``BTFC``).

    ``MplsTag(cls, role, trigger, ...)`` builds the one-class, one-role tag of most hops
    (``trigger`` may list several parts, ``"FRPLA,UTURN"``)."""

    __slots__ = ("ing", "egr", "lsr", "exp", "imp_qt", "imp_ut", "opa", "inv", "triggers",
                 "technique", "step", "incomplete", "revealed")

    def __init__(self, cls: str | None = None, role: str | None = None, trigger: str | None = None,
                 technique: str | None = None, step: int | None = None, incomplete: bool = False,
                 inferred: bool = False, revealed: bool = False) -> None:
        self.ing = self.egr = self.lsr = False
        self.exp = self.imp_qt = self.imp_ut = self.opa = self.inv = False
        self.triggers: set[str] = set()
        self.technique, self.step = technique, step
        self.incomplete, self.revealed = incomplete, revealed
        for part in (role or "").replace("+", ",").split(","):
            if part:
                setattr(self, {"ING": "ing", "EGR": "egr", "LSR": "lsr"}[part], True)
        parts = [p for p in (trigger or "").split(",") if p]
        for part in parts:
            if part == QTTL:
                self.imp_qt = True
            elif part == UTURN:
                self.imp_ut = True
            elif part in SEARCH_TRIGGERS:
                self.triggers.add(part)
        if inferred:
            self.lsr = True
            return
        for c in (cls or "").replace("+", ",").split(","):
            if c == EXP:
                self.exp = True
            elif c == OPA:
                self.opa = True
            elif c == INV:
                self.inv = True
            elif c == IMP and not (self.imp_qt or self.imp_ut):
                self.imp_qt = True

    # -- sc_tnt's predicates ------------------------------------------------------------------
    @property
    def imp(self) -> bool:
        return self.imp_qt or self.imp_ut

    @property
    def has_class(self) -> bool:
        return self.exp or self.imp or self.opa or self.inv

    @property
    def inferred(self) -> bool:
        """INF: an LSR with no tunnel class (sc_tnt's INFERRED)."""
        return self.lsr and not self.has_class

    @property
    def opa_egr(self) -> bool:
        return self.opa and self.egr

    def clear_roles(self) -> None:
        """sc_tnt's clear_lsr_type_mask: drop ING, EGR and LSR, keep the classes."""
        self.ing = self.egr = self.lsr = False

    def clear_classes(self) -> None:
        """sc_tnt's clear_tun_type_mask: drop every class, keep the roles."""
        self.exp = self.imp_qt = self.imp_ut = self.opa = self.inv = False

    # -- what is printed ------------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        """Printed classes: one for an LSR (IMP > OPA > EXP > INV), every one for an end."""
        if self.lsr:
            for flag, c in ((self.imp, IMP), (self.opa, OPA), (self.exp, EXP), (self.inv, INV)):
                if flag:
                    return [c]
            return []
        return [c for flag, c in ((self.exp, EXP), (self.opa, OPA), (self.imp, IMP), (self.inv, INV))
                if flag]

    @property
    def roles(self) -> list[str]:
        """Printed roles, in sc_tnt's order: LSR, EGR, ING."""
        return [r for flag, r in ((self.lsr, LSR), (self.egr, EGR), (self.ing, ING)) if flag]

    @property
    def trigger_parts(self) -> list[str]:
        """Printed triggers and signatures: BTFC, or DUPIP RTLA FRPLA MTTL; then INF, or QTTL UTURN."""
        if not self.triggers and self.inv:
            out = [BTFC]
        else:
            out = [t for t in SEARCH_TRIGGERS if t in self.triggers]
        if self.inferred:
            return out + ["INF"]
        return out + ([QTTL] if self.imp_qt else []) + ([UTURN] if self.imp_ut else [])

    @property
    def cls(self) -> str | None:
        """The first printed class (None for an inferred LSR)."""
        c = self.classes
        return c[0] if c else None

    @property
    def role(self) -> str | None:
        """LSR, else EGR, else ING (a hop that is EGR and ING reports EGR here)."""
        r = self.roles
        return r[0] if r else None

    @property
    def trigger(self) -> str | None:
        """The printed triggers and signatures joined by commas (without INF), None when none."""
        parts = [p for p in self.trigger_parts if p != "INF"]
        return ",".join(parts) if parts else None

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, k) if k != "triggers" else frozenset(self.triggers)
                     for k in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MplsTag) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"MplsTag({','.join(self.classes + self.roles + self.trigger_parts)}"
                f"{',' + self.technique if self.technique else ''}"
                f"{',step=' + str(self.step) if self.step is not None else ''}"
                f"{',INCOMP?' if self.incomplete else ''})")

    def __deepcopy__(self, memo: dict[int, object]) -> MplsTag:
        new = MplsTag.__new__(MplsTag)
        for k in self.__slots__:
            v = getattr(self, k)
            setattr(new, k, set(v) if k == "triggers" else v)
        return new


@dataclass
class Attempt:
    """A revelation that was tried from this hop and revealed nothing (tnt.md 5.5 verbose)."""

    trigger: str | None  # None: a brute-force test that revealed nothing (TNT prints no trigger)
    reason: str          # NTH-RV | ING-NF | TGT-NR
    buddy: bool = False  # the buddy technique was tried as well (BUD)


@dataclass
class Hop:
    """One line of a trace.

    ``index`` is the probe TTL for hops of the base trace and the ``H`` number for hops
    inserted by revelation (``revealed`` is then True and ``probe_ttl`` keeps the TTL the
    hop answered in its revelation trace).  ``address`` is None for a silent hop.
    """

    index: int
    address: str | None = None
    probe_ttl: int | None = None
    rtt_ms: float | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    reply_ttl: int | None = None
    quoted_ttl: int | None = None
    labels: list[LabelEntry] = field(default_factory=list)
    er_ttl: int | None = None        # most frequent echo-reply TTL, None = no answer / not pinged
    reserved: bool = False
    revealed: bool = False
    tnt_ttl: int | None = None       # position-based TTL after insertion (warts attribute 25)
    shown_h: bool | None = None      # printed as H<index> (utnt.reveal.renumber); None: when revealed
    before_silent_ingress: bool = False   # the start point of a tunnel whose ingress is silent
    # computed quantities (tnt.md 3.1, 3.2) -- filled by utnt.detect.annotate_hop
    ittl_te: int | None = None
    ittl_er: int | None = None
    r_te: int | None = None
    r_er: int | None = None
    frpla: int = 0
    rtla: int = 0
    uturn: int = 0
    # tags
    mpls: MplsTag | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @classmethod
    def from_reply(cls, reply: Reply, index: int | None = None) -> "Hop":
        """A hop carrying the fields of the reply chosen for it."""
        return cls(
            index=reply.probe_ttl if index is None else index,
            address=reply.address,
            probe_ttl=reply.probe_ttl,
            rtt_ms=reply.rtt_ms,
            icmp_type=reply.icmp_type,
            icmp_code=reply.icmp_code,
            reply_ttl=reply.reply_ttl,
            quoted_ttl=reply.quoted_ttl,
            labels=[(lse[0], lse[1], lse[2], lse[3]) for lse in reply.labels],
        )

    @classmethod
    def silent(cls, probe_ttl: int) -> "Hop":
        """A hop that did not answer (``*``)."""
        return cls(index=probe_ttl, probe_ttl=probe_ttl)

    @property
    def responsive(self) -> bool:
        return self.address is not None

    @property
    def is_time_exceeded(self) -> bool:
        return self.icmp_type == ICMP_TIME_EXCEEDED

    @property
    def is_port_unreachable(self) -> bool:
        return self.icmp_type == ICMP_DEST_UNREACH and self.icmp_code == ICMP_CODE_PORT_UNREACH

    @property
    def top_lse_ttl(self) -> int | None:
        """TTL of the top label stack entry (the first one quoted), None without labels."""
        return self.labels[0][3] if self.labels else None

    @property
    def label(self) -> str:
        """The index as printed: ``7`` or ``H2``."""
        shown_h = self.revealed if self.shown_h is None else self.shown_h
        return f"H{self.index}" if shown_h else str(self.index)


@dataclass
class Tunnel:
    """Summary of one tunnel found in one trace.

    ``ingress``/``egress`` are None when unknown (silent ingress, trace ending inside the
    tunnel, ...).  ``lsrs`` lists the LSR addresses from ingress to egress (None for a
    silent revealed hop).  ``complete`` is False when the tunnel is marked ``INCOMP?``, when
    an opaque or invisible tunnel was not revealed, or when an end of an explicit/implicit
    tunnel is missing.  ``stop_reason`` is the revelation stop reason (None when revelation
    ended normally or was not needed).
    """

    cls: str
    ingress: str | None
    egress: str | None
    lsrs: list[str | None] = field(default_factory=list)
    trigger: str | None = None
    technique: str | None = None
    complete: bool = True
    stop_reason: str | None = None
    start_point: str | None = None     # where revelation traces were anchored
    next_hop: str | None = None        # the hop that triggered the test ("next")
    ingress_null: bool = False         # INGRESS_IS_NULL
    buddy: bool = False
    estimated_length: int | None = None  # opaque: 255 - LSE-TTL
    steps: int = 0
    probe_count: int = 0
    cached: bool = False
    members: list[Hop] = field(default_factory=list, repr=False, compare=False)


@dataclass
class Trace:
    """One Paris traceroute (base trace or revelation trace).

    ``probe_count`` is what the prober reports for the trace itself (None: unknown, the
    driver then estimates it with the cost model of tnt.md 4.6).  ``ping_probes`` and
    ``reveal_probes`` are added by the driver for the pings and revelation traces done on
    behalf of this trace.
    """

    src: str
    dst: str
    method: str = METHOD_ICMP_PARIS
    hops: list[Hop] = field(default_factory=list)
    stop_reason: str | None = None
    probe_count: int | None = None
    start_ttl: int = 1
    ping_probes: int = 0
    reveal_probes: int = 0
    tunnels: list[Tunnel] = field(default_factory=list)

    @classmethod
    def from_replies(cls, src: str, dst: str, method: str, first_ttl: int,
                     replies: list[Reply | None], stop_reason: str | None = None,
                     probe_count: int | None = None) -> "Trace":
        """Build a trace from one chosen reply (or None for silence) per TTL from first_ttl."""
        hops = [Hop.from_reply(r) if r is not None else Hop.silent(first_ttl + k)
                for k, r in enumerate(replies)]
        return cls(src=src, dst=dst, method=method, hops=hops, stop_reason=stop_reason,
                   probe_count=probe_count, start_ttl=first_ttl)

    @property
    def total_probes(self) -> int:
        return (self.probe_count or 0) + self.ping_probes + self.reveal_probes

    def reached(self) -> bool:
        return any(h.address == self.dst for h in self.hops)
