"""One TTL decrement per router where the last label is popped and the packet is routed
(an LSP ending untagged, a UHP egress): issue 13's double decrement, on real packets."""
import pytest

from checks import chain_addrs
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber


def _trace(labs, name, **params):
    lab, cp = labs(name, **params)
    pr = ScriptedProber(Sim(lab, cp), "vp")
    return lab, pr.trace(str(lab.probes[0].targets[0]))


@pytest.mark.parametrize("lsrs", [2, 3])
def test_uniform_lsp_ending_untagged_shows_the_egress_once(labs, lsrs):
    # the double decrement made pe2 answer for two probe TTLs (LSE-TTL 1 quoted, then 2)
    lab, hops = _trace(labs, "opaque", lsrs=lsrs, ttl_propagate=True)
    path = ["ce1", "pe1"] + [f"p{i}" for i in range(1, lsrs + 1)] + ["pe2", "ce2"]
    addrs = chain_addrs(lab, ["vp"] + path)
    assert [h.address for h in hops[:-1]] == [addrs[n] for n in path]
    egress = hops[2 + lsrs]
    assert egress.labels and egress.labels[0][1] == 1 and egress.quoted_ttl == lsrs + 1


@pytest.mark.parametrize("lsrs", [2, 3, 6])
def test_return_through_an_abrupt_end_counts_each_router_once(labs, lsrs):
    # pe2's reply: pushed with LSE-TTL 255, N LSRs, pe1 pops untagged (min, then its one
    # decrement), ce1: 255 - N - 2 at the vantage point (it was one less with the bug)
    lab, hops = _trace(labs, "opaque", lsrs=lsrs)
    assert hops[2].reply_ttl == 253 - lsrs
    assert hops[3].reply_ttl == 253 - lsrs       # ce2: pe2 decrements its IP-TTL, min() hides it


def test_uhp_egress_forwards_with_one_decrement(labs):
    # ce2 answers for two probe TTLs (the duplicate-IP artefact), then dst: no third ce2
    lab, hops = _trace(labs, "invisible-uhp")
    addrs = chain_addrs(lab, ["vp", "ce1", "pe1", "p1", "p2", "p3", "pe2", "ce2"])
    assert [h.address for h in hops] == [addrs["ce1"], addrs["pe1"], addrs["ce2"], addrs["ce2"],
                                         str(lab.probes[0].targets[0])]
