"""uTNT: TTL arithmetic (tnt.md 2.1, 3.1, 3.2), reserved ranges (5.2) and options (5.2)."""

import pytest

from utnt import ttl
from utnt.detect import annotate_hop
from utnt.model import Hop
from utnt.options import TntOptions
from utnt.reserved import RESERVED_RANGES, is_reserved
from utnt.scripted import echo, te, trace_of


# --- iTTL ------------------------------------------------------------------------------------

@pytest.mark.parametrize("received, expected", [
    (1, 32), (32, 32),          # "otherwise 32"
    (33, 64), (64, 64),         # "above 32 gives 64"
    (65, 128), (128, 128),      # "above 64 gives 128"
    (129, 255), (250, 255), (255, 255),  # "above 128 gives 255"
])
def test_ittl_rounds_up_to_32_64_128_255(received, expected):
    assert ttl.ittl(received) == expected


def test_return_length_is_ittl_minus_ttl_plus_one():
    assert ttl.return_length(255) == 1      # adjacent router
    assert ttl.return_length(250) == 6
    assert ttl.return_length(62) == 3       # echo-reply from a Juniper, 64 - 62 + 1
    assert ttl.return_length(129) == 127


# --- FRPLA / RTLA / u-turn ---------------------------------------------------------------------

def test_frpla_cisco_egress_after_three_hidden_lsrs():
    # egress at probe TTL 3, time-exceeded received with TTL 250: R_TE = 6, FRPLA = 6 - 3
    assert ttl.frpla(250, 3) == 3
    assert ttl.frpla(254, 2) == 0
    assert ttl.frpla(255, 4) == -3


def test_rtla_only_for_255_not_255_signatures():
    # Juniper <255,64>: (255 - 250 + 1) - (64 - 62 + 1) = 6 - 3
    assert ttl.rtla(250, 62) == 3
    assert ttl.rtla(250, 126) == 6 - 3          # <255,128>
    assert ttl.rtla(250, 30) == 6 - 3           # <255,32>
    assert ttl.rtla(250, 250) == 0              # Cisco <255,255>
    assert ttl.rtla(60, 62) == 0                # <64,64>
    assert ttl.rtla(120, 62) == 0               # <128,64>: time-exceeded iTTL is not 255
    assert ttl.rtla(250, None) == 0             # no echo-reply
    assert ttl.rtla(250, 0) == 0                # TNT's "0 means no reply"


def test_uturn_has_no_signature_condition():
    assert ttl.uturn(247, 253) == 9 - 3         # Cisco LSR: TE tunnelled to the LSP end
    assert ttl.uturn(60, 62) == 5 - 3           # <64,64> counts too
    assert ttl.uturn(250, 62) == ttl.rtla(250, 62)
    assert ttl.uturn(250, None) == 0


def test_most_frequent_ttl_ties_go_to_the_higher():
    assert ttl.most_frequent_ttl([250, 250, 251]) == 250
    assert ttl.most_frequent_ttl([250, 251]) == 251
    assert ttl.most_frequent_ttl([61, 62, 62, 61]) == 62
    assert ttl.most_frequent_ttl([]) is None
    assert ttl.most_frequent_ttl([None, None]) is None


def test_annotate_hop_computes_quantities_on_time_exceeded_only():
    tr = trace_of("11.0.9.9", [te("11.0.1.2", 255), te("11.0.2.2", 254), te("11.0.6.2", 250),
                               echo("11.0.9.9", 60)])
    pe2, dst = tr.hops[2], tr.hops[3]
    pe2.er_ttl = 62
    annotate_hop(pe2)
    assert (pe2.ittl_te, pe2.r_te, pe2.ittl_er, pe2.r_er) == (255, 6, 64, 3)
    assert (pe2.frpla, pe2.rtla, pe2.uturn) == (3, 3, 3)
    dst.er_ttl = 50                              # nonsense ER, but the reply is no TE
    annotate_hop(dst)
    assert (dst.ittl_te, dst.r_te) == (64, 5)
    assert (dst.frpla, dst.rtla, dst.uturn) == (0, 0, 0)
    silent = Hop.silent(7)
    annotate_hop(silent)
    assert (silent.r_te, silent.frpla, silent.uturn) == (None, 0, 0)


# --- reserved ranges ---------------------------------------------------------------------------

@pytest.mark.parametrize("addr", [
    "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.254", "127.0.0.1", "169.254.1.1",
    "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1",
    "198.18.0.1", "198.19.255.1", "198.51.100.7", "203.0.113.9", "224.0.0.5", "239.1.1.1",
    "240.0.0.1", "255.255.255.255",
])
def test_reserved_addresses(addr):
    assert is_reserved(addr)


@pytest.mark.parametrize("addr", [
    "1.1.1.1", "11.0.6.2", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1",
    "192.0.1.1", "192.88.98.1", "192.169.0.1", "198.17.0.1", "198.20.0.1", "198.51.101.1",
    "203.0.114.1", "223.255.255.255",
])
def test_public_addresses(addr):
    assert not is_reserved(addr)


def test_reserved_list_is_the_reference_list():
    assert len(RESERVED_RANGES) == 15


def test_allow_private_lifts_the_rule_except_never_unicast_ranges():
    for addr in ("10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.1.1",
                 "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9"):
        assert not is_reserved(addr, allow_private=True), addr
    for addr in ("0.1.2.3", "127.0.0.1", "224.0.0.5", "240.0.0.1"):
        assert is_reserved(addr, allow_private=True), addr


def test_is_reserved_rejects_non_ipv4():
    with pytest.raises(ValueError):
        is_reserved("2001:db8::1")


# --- options ---------------------------------------------------------------------------------

def test_options_defaults_mirror_sc_tnt():
    o = TntOptions()
    assert (o.method, o.start_ttl, o.ping_count, o.frpla_threshold, o.rtla_threshold,
            o.brute_force, o.allow_private) == ("icmp-paris", 1, 1, 3, 1, False, False)


@pytest.mark.parametrize("kw", [
    {"rtla_threshold": -1}, {"frpla_threshold": -1},
    {"method": "tcp"}, {"start_ttl": 0}, {"ping_count": 0},
])
def test_options_validation(kw):
    with pytest.raises(ValueError):
        TntOptions(**kw)


def test_cli_keeps_sc_tnt_rule_thresholds_above_zero_but_calibration_may_use_zero():
    from utnt.cli import build_parser, options_from
    args = build_parser(port_required=False).parse_args(["-f", "0"])
    with pytest.raises(ValueError):
        options_from(args)
    assert options_from(args, calibration=True).frpla_threshold == 0
