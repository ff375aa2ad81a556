"""Fuzzing the lab loader and the CLI's argument paths (hypothesis): any input gives a valid
lab or a clean error (LabError: one line per problem, each naming a file), never another
exception or a traceback, and leaves nothing behind. Bounded and derandomized (the same
examples on every run, sized for a 2-core CI)."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.errors import LabError
from testbed.lab import load_lab

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])

names = st.one_of(st.sampled_from(["r1", "r2", "r3", "vp", "dst", "pe1", "x"]),
                  st.text(alphabet="abcr0123_-.A\u0430 /", min_size=0, max_size=8))
weird = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                  st.text(max_size=12), st.lists(st.integers(), max_size=3), st.just({}))
numbers = st.one_of(st.integers(-5, 70000), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.just("10"), st.just(None))
addresses = st.one_of(st.sampled_from(["11.9.0.1/31", "11.9.0.0/31", "10.0.0.1/31", "192.168.1.0/31",
                                       "11.255.0.1/31", "12.0.0.5/24", "300.1.1.1/31", "11.9.0.1", "::1/64"]),
                      st.text(max_size=10))
endpoint = st.one_of(names, st.fixed_dictionaries({"node": names}, optional={"address": addresses,
                                                                              "cost": numbers}))
link = st.one_of(
    st.lists(names, min_size=0, max_size=3),
    st.fixed_dictionaries({"endpoints": st.lists(endpoint, min_size=0, max_size=3)},
                          optional={"cost": numbers, "prefix": numbers, "delay_ms": numbers, "name": names}),
    st.fixed_dictionaries({"lan": st.lists(endpoint, min_size=0, max_size=4)},
                          optional={"prefix": numbers, "name": names}),
    weird)
router = st.one_of(st.just({}), st.none(), st.fixed_dictionaries({}, optional={
    "vendor": st.sampled_from(["cisco", "juniper", "linux", "cisko", "host", "../x"]),
    "loopback": st.sampled_from(["11.255.9.9", "10.0.0.1", "11.9.0.1", "x", "1.2.3.4.5"]),
    "icmp_rate_limit": numbers}), weird)
pools = st.sampled_from(["11.0.0.0/16", "11.255.0.0/16", "12.0.0.0/16", "10.0.0.0/8", "11.0.0.0/8", "11.9.0.0/30",
                         "nope", "0.0.0.0/0"])
lab_doc = st.fixed_dictionaries(
    {"routers": st.one_of(st.dictionaries(names, router, max_size=5), weird),
     "links": st.one_of(st.lists(link, max_size=6), weird)},
    optional={"hosts": st.dictionaries(names, st.one_of(st.just({}), weird), max_size=3),
              "addressing": st.fixed_dictionaries({}, optional={"loopbacks": pools, "links": pools, "lans": pools}),
              "defaults": st.fixed_dictionaries({}, optional={"cost": numbers, "delay_ms": numbers,
                                                              "p2p_prefix": numbers, "vendor": names}),
              "mpls": st.dictionaries(names, st.fixed_dictionaries(
                  {"routers": st.lists(names, max_size=4)},
                  optional={"ttl_propagate": weird, "popping": st.sampled_from(["php", "uhp", "x"]),
                            "ldp": st.sampled_from(["all", "loopbacks", 1])}), max_size=2),
              "probes": st.lists(st.fixed_dictionaries({"from": names, "to": st.one_of(names, st.lists(names))}),
                                 max_size=2),
              "name": names, "extra": weird})


def _check_clean(f: Path, tmp: Path):
    before = set(os.listdir(tmp))
    try:
        lab = load_lab(str(f))
    except LabError as e:
        assert e.problems
        for p in e.problems:
            s = str(p)
            assert "\n" not in s and s.startswith(p.file), s
            assert "Traceback" not in s
    else:
        assert lab.routers
        addrs = [a for n in lab.nodes.values() for a in n.addresses()]
        assert len(addrs) == len(set(addrs)), "every address of a valid lab is unique"
    assert set(os.listdir(tmp)) == before


@FUZZ
@given(doc=lab_doc)
def test_fuzz_lab_documents(doc, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fz")
    f = tmp / "lab.yaml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True))
    _check_clean(f, tmp)


fragments = st.sampled_from([
    "routers:", "  r1: {}", "links:", "  - [r1, r2]", "{{", "}}", "{%", "%}", "{#", "#}", "{% for i in range(3) %}",
    "{% endfor %}", "{{ i }}", "{% include '_chain.j2' %}", "{% include x %}", "&a", "*a", "!!python/name:os.system",
    "[", "]", "{", "}", ":", "- ", "  ", "\t", "'", '"', "\\", "{{ ''.__class__ }}", "{% raw %}", "{% endraw %}",
    "{% set lsrs = 2 %}", "{{ lsrs | int }}", "{%- if 1 -%}", "{% endif %}", "\u202e", "\x00", "\ufeff", "---", "..."])


@FUZZ
@given(parts=st.lists(st.one_of(fragments, st.text(max_size=6)), max_size=25), sep=st.sampled_from(["\n", " ", ""]))
def test_fuzz_lab_text(parts, sep, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fz")
    f = tmp / "lab.yaml"
    f.write_text(sep.join(parts), encoding="utf-8", errors="surrogatepass")
    _check_clean(f, tmp)


# ---------------------------------------------------------------- the CLI's argument paths
LABS = ["invisible-php", "plain-ip", "nosuch", "../x", "", "lab.yaml"]
COMMANDS = ["validate", "show", "truth", "trace", "probe", "list", "status", "nosuchcommand"]
OPTIONS = ["--set", "lsrs=2", "lsrs=1.5", "=5", "vendor=juniper", "hops=0", "--json", "--from", "vp", "r1", "nobody",
           "--to", "dst", "12.0.1.2", "no/such", "--name", "", "sec-fz", "--runtime", "sim", "-m", "udp-paris",
           "--no-limits", "--local-includes", "pe1", "--", "-f", "x", "-b", "--bogus", "-h"]


@settings(FUZZ, max_examples=30)
@given(cmd=st.sampled_from(COMMANDS), lab=st.sampled_from(LABS),
       rest=st.lists(st.one_of(st.sampled_from(OPTIONS), st.text(max_size=5)), max_size=6))
def test_fuzz_cli_arguments(cmd, lab, rest, tmp_path_factory):
    from testbed.cli import main
    if cmd == "probe":
        rest = rest + ["--runtime", "sim"]          # never a real lab from a fuzz case
    argv = [cmd, lab] + rest if cmd not in ("list", "status") else [cmd] + rest
    tmp = tmp_path_factory.mktemp("fz")
    (tmp / "lab.yaml").write_text("routers: {r1: {}}\nlinks: [[r1, r1]]\n")
    before = set(os.listdir(tmp))
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(old)
    assert code in (0, 1, 2), (argv, code, err.getvalue())
    assert "Traceback" not in err.getvalue() + out.getvalue(), (argv, err.getvalue())
    if code:
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        assert lines or '"error": true' in out.getvalue(), (argv, out.getvalue())
        assert all(ln.startswith("error: ") for ln in lines), (argv, lines)
    assert set(os.listdir(tmp)) == before, argv
