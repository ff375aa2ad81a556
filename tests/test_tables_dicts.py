"""The control plane's own dicts (controlplane/tables.py), typed for mypy's strict set with dict's
overloads: a Fib drops its longest-prefix-match index on every kind of change (else a lookup
answers from the FIB before the change), a LazyDict fills before every read, and tables read
back from JSON hold only IPv4 prefixes in the FIB."""
from __future__ import annotations

import pickle
from ipaddress import IPv4Address, IPv4Network

import pytest

from testbed.controlplane.tables import Fib, LazyDict, NextHop, Route, RouterTables

NET8 = IPv4Network("10.0.0.0/8")
NET16 = IPv4Network("10.1.0.0/16")
DST = IPv4Address("10.1.2.3")


def _route(net: IPv4Network, via: str) -> Route:
    return Route(net, "igp", [NextHop("eth0", IPv4Address("192.0.2.1"), via)], via=via)


def _indexed(*routes: Route) -> Fib:
    fib = Fib({r.prefix: r for r in routes})
    fib.longest_match(DST)                          # builds the index
    return fib


def test_fib_every_change_drops_the_index():
    wide, narrow, other = _route(NET8, "wide"), _route(NET16, "narrow"), _route(NET16, "other")

    def check(change, want: str | None) -> None:
        fib = _indexed(wide, narrow)
        assert fib.longest_match(DST) is narrow
        change(fib)
        got = fib.longest_match(DST)
        assert (got.via if got else None) == want, change

    def ior(f: Fib) -> None:
        f |= {NET16: other}

    check(lambda f: f.__setitem__(NET16, other), "other")
    check(lambda f: f.__delitem__(NET16), "wide")
    check(ior, "other")
    check(lambda f: f.pop(NET16), "wide")
    check(lambda f: f.pop(IPv4Network("192.0.2.0/24"), None), "narrow")
    check(lambda f: f.popitem(), "wide")             # (the last inserted: NET16)
    check(lambda f: f.clear(), None)
    check(lambda f: f.update({NET16: other}), "other")
    check(lambda f: f.update([(NET16, other)]), "other")
    check(lambda f: (f.clear(), f.setdefault(NET16, other)), "other")
    fib = _indexed(wide, narrow)
    assert pickle.loads(pickle.dumps(fib)) == fib and type(pickle.loads(pickle.dumps(fib))) is Fib


def test_lazy_dict_fills_before_every_read_and_pickles_plain():
    calls = []

    def fill():
        calls.append(1)
        return [(NET8, 16), (NET16, 17)]

    for read in (len, list, lambda d: d[NET8], lambda d: NET16 in d, lambda d: d.get(NET16), lambda d: list(d.items()),
                 lambda d: d == {NET8: 16, NET16: 17}, lambda d: d | {IPv4Network("10.2.0.0/16"): 18}):
        calls.clear()
        d = LazyDict(fill)
        assert dict.__len__(d) == 0                  # nothing until read
        read(d)
        assert calls == [1] and dict(d) == {NET8: 16, NET16: 17}, read
    d = LazyDict(fill)
    back = pickle.loads(pickle.dumps(d))
    assert type(back) is dict and back == {NET8: 16, NET16: 17}


def test_tables_json_keeps_ipv6_out_of_the_fib():
    t = RouterTables(name="r1")
    t.fib[NET16] = _route(NET16, "r2")
    d = t.to_json()
    assert list(d) == ["router", "fib", "lfib", "ldp_bindings", "ldp_neighbors"]     # fib6 only when there is one
    assert RouterTables.from_json(d) == t
    d["fib"].append({"prefix": "2001:db8::/32", "kind": "igp", "nexthops": []})
    with pytest.raises(AssertionError):
        RouterTables.from_json(d)
