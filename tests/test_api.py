"""The public Python API (testbed/api.py) and the published JSON schemas of its documents.

The README's example is executed exactly as the README shows it; the API's documents are
the CLI's (same traces, truth and score as `testbed run --json`); every document from
several library labs validates against docs/*.schema.json (and a broken one does not);
`testbed.up` on namespaces leaves nothing behind on exit, on an exception, on Ctrl-C and on
SIGTERM."""
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from labnames import N

import testbed
from testbed.runtimes.netns import teardown

REPO = Path(__file__).resolve().parents[1]
TESTBED = str(Path(sys.executable).with_name("testbed"))
NOTHING = {"namespaces": [], "processes": [], "run_dir": []}
SCHEMAS = {p.name: json.loads(p.read_text()) for p in (REPO / "docs").glob("*.schema.json")}
REGISTRY = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in SCHEMAS.values()])


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = SCHEMAS[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


def assert_valid(name: str, doc):
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:160]}" for e in errors[:5])


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's Python API section has one python block"
    return blocks[0]


# ---------------------------------------------------------------- the README, the CLI
def test_readme_example_runs_as_written():
    code = readme_example()
    out = io.StringIO()
    scope = {"__name__": "__readme__"}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (Python API)", "exec"), scope)
    assert "perfect score" in out.getvalue() and "p1 p2 p3 p4" in out.getvalue(), out.getvalue()
    assert isinstance(scope["result"], testbed.Result) and isinstance(scope["truth"], testbed.Truth)
    assert [len(t["lsrs"]) for t in scope["truth"].tunnels()] == [4]      # lsrs=4 reached the template
    assert scope["net"].closed
    assert_valid("score.schema.json", scope["doc"])


def test_import_testbed_stays_light_and_the_api_loads_on_first_use():
    r = subprocess.run([sys.executable, "-c", "import sys, testbed; heavy = [m for m in ('testbed.api', 'pydantic', "
                        "'testbed.lab') if m in sys.modules]; print(heavy); testbed.up; "
                        "print('testbed.api' in sys.modules)"], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["[]", "True"], r.stdout
    with pytest.raises(AttributeError):
        _ = testbed.no_such_thing


def test_api_gives_the_documents_the_cli_gives():
    """Same lab, parameters and seed: `testbed run --json` and the API agree on traces, truth
    and score, because the CLI's `testbed run` is testbed.api.run."""
    r = subprocess.run([TESTBED, "run", "ecmp-explicit", "--runtime", "sim", "--seed", "7", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    lab = testbed.load("ecmp-explicit")
    with testbed.up(lab, runtime="sim") as net:
        result = net.probe(seed=7)
    assert result.traces == cli["traces"]
    assert testbed.ground_truth(lab, result).probes == cli["truth"]
    sc = testbed.score(lab, result)
    assert sc.to_json() == {**cli["score"], "lab": "ecmp-explicit", "detector": "utnt", "runtime": "sim"}
    # the documents survive JSON both ways, and a CLI document is a Result too
    assert testbed.Result.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert testbed.Score.from_json(json.loads(json.dumps(sc.to_json()))) == sc
    assert testbed.score(lab, testbed.Result.from_json(cli)) == sc
    assert testbed.Score.from_json(cli) == sc


def test_cli_probe_is_the_apis_attach_and_probe():
    """`testbed probe LAB` is testbed.attach(...).probe(): same traces, and the detector's own
    description in the document when one is named; attach never brings a lab up."""
    r = subprocess.run([TESTBED, "probe", "ecmp-explicit", "--runtime", "sim", "--seed", "7", "--json",
                        "--detector", "utnt"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    lab = testbed.load("ecmp-explicit")
    res = testbed.attach(lab, "sim").probe(detector="utnt", seed=7, truth=False)
    assert res.traces == cli["traces"] and res.described == cli["detector"] and res.skipped == []
    assert cli["detector"]["name"] == "utnt"
    from testbed.errors import InputError
    with pytest.raises(InputError, match="is not up on the netns runtime"):
        testbed.attach(lab, "netns", N("notup"))


def test_api_errors_are_the_clis_one_line_errors():
    from testbed.errors import InputError, LabError, TestbedError
    with pytest.raises(LabError) as e:
        testbed.load("invisible-php", lsrs=0)
    assert len(e.value.problems) == 1 and "lsrs" in str(e.value)
    lab = testbed.load("invisible-php")
    with pytest.raises(InputError, match="unknown runtime 'docker'"):
        testbed.up(lab, runtime="docker")
    with testbed.up(lab, runtime="sim") as net:
        with pytest.raises(TestbedError, match="runs in the bigrt, mininet or netns runtime only"):
            net.probe(detector="scamper")
        with pytest.raises(InputError, match="bad uTNT options"):
            net.probe(options=["--no-such-option"])
        # a router may be a vantage point (a lab probe `from: <router>`), but ce1 has no probes
        with pytest.raises(TestbedError, match="no probes from ce1; add a 'probes:' section or give --to"):
            net.probe(source="ce1")
    with pytest.raises(TestbedError, match="is down"):
        net.probe()
    other = testbed.load("mixed")
    with testbed.up(other, runtime="sim") as net:
        res = net.probe()
    with pytest.raises(InputError, match="of lab 'mixed', not 'invisible-php'"):
        testbed.score(lab, res)


def test_default_instance_names_are_unique_and_valid():
    from testbed.runtimes.netns.names import check_name
    lab = testbed.load("invisible-php-juniper")           # 21 characters: the name is shortened
    names = {testbed.up(lab).name for _ in range(40)}
    assert len(names) == 40
    for n in names:
        assert check_name(n) == n and n.startswith("invisible-php") and str(format(os.getpid(), "x")) in n


# ---------------------------------------------------------------- schemas, sim documents
def test_truth_of_every_library_lab_validates():
    from testbed.lab import lab_names
    for name in lab_names():
        assert_valid("truth.schema.json", testbed.ground_truth(testbed.load(name)).to_json())


def test_truth_json_of_the_cli_validates():
    r = subprocess.run([TESTBED, "truth", "l3vpn", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert_valid("truth.schema.json", json.loads(r.stdout))


@pytest.mark.parametrize("name,params", [("invisible-php", {}), ("mixed", {}), ("ecmp-explicit", {}),
                                         ("l3vpn", {}), ("five-vp", {}), ("linux-lsr", {}),
                                         ("rate-limited", {}), ("explicit", {"vendor": "juniper"})])
def test_sim_results_and_scores_validate(name, params):
    lab = testbed.load(name, **params)
    with testbed.up(lab, runtime="sim") as net:
        result = net.probe(seed=1)
    sc = testbed.score(lab, result)
    assert_valid("result.schema.json", result.to_json())
    assert_valid("score.schema.json", sc.to_json())
    assert_valid("truth.schema.json", testbed.ground_truth(lab, result).to_json())


def test_schemas_refuse_broken_documents():
    lab = testbed.load("invisible-php")
    with testbed.up(lab, runtime="sim") as net:
        result = net.probe()
    sc = testbed.score(lab, result).to_json()
    truth = testbed.ground_truth(lab).to_json()
    bad = json.loads(json.dumps(sc))
    del bad["totals"]["false_lsrs"]
    bad["traces"][0]["verdicts"][0]["verdict"] = "fine"
    bad["traces"][0]["verdicts"][0]["truth"]["class"] = "INV"       # the truth names classes in full
    errs = {tuple(e.absolute_path)[-1] if e.absolute_path else "" for e in validator("score.schema.json").iter_errors(bad)}
    assert {"totals", "verdict"} <= errs and len(list(validator("score.schema.json").iter_errors(bad))) == 3
    bad = json.loads(json.dumps(truth))
    bad["probes"][0]["paths"][0]["forward"][1]["action"] = "teleport"
    bad["probes"][0]["to"] = "12.0.1.300"
    bad["nodes"]["p1"]["kind"] = "switch"
    assert len(list(validator("truth.schema.json").iter_errors(bad))) == 3


# ---------------------------------------------------------------- namespaces
@pytest.mark.netns
def test_netns_up_probe_score_down_with_two_detectors():
    lab = testbed.load("mixed")
    name = N("api-up")
    with testbed.up(lab, runtime="netns", name=name) as net:
        assert net.status()["status"] == "up" and net.name == name
        result = net.probe(seed=2)
        plain = net.probe(detector="scamper")
    assert teardown.leftovers(name) == NOTHING and net.closed
    sc, sp = testbed.score(lab, result), testbed.score(lab, plain)
    assert result.runtime == "netns" and result.name == name and sc.perfect, sc.summary()
    assert plain.detector == "scamper" and plain.raw and sp.visibility["baseline"]
    assert sp.visibility["not_visible"], "scamper cannot see mixed's invisible tunnel"
    for r, s in ((result, sc), (plain, sp)):
        assert_valid("result.schema.json", r.to_json())
        assert_valid("score.schema.json", s.to_json())
        assert_valid("truth.schema.json", testbed.ground_truth(lab, r).to_json())


@pytest.mark.netns
def test_netns_up_tears_down_when_the_block_raises():
    name = N("api-raise")
    with pytest.raises(ZeroDivisionError):
        with testbed.up(testbed.load("plain-ip", hops=2), name=name) as net:
            assert net.status()["status"] == "up"
            _ = 1 / 0
    assert teardown.leftovers(name) == NOTHING


SCRIPT = """
import sys, time, testbed
with testbed.up(testbed.load("plain-ip", hops=2), name=sys.argv[1]) as net:
    print("up", flush=True)
    time.sleep(120)
"""


@pytest.mark.netns
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_netns_up_tears_down_on_ctrl_c_and_sigterm(sig):
    name = N(f"api-{sig.name.lower()}")
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline() == "up\n", p.stderr.read()
        assert teardown.leftovers(name)["namespaces"]
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # an uncaught KeyboardInterrupt ends Python by SIGINT (SIGTERM became one inside the block)
    assert "KeyboardInterrupt" in err and p.returncode == -signal.SIGINT, err[-500:]
    deadline = time.monotonic() + 5
    while teardown.leftovers(name) != NOTHING and time.monotonic() < deadline:
        time.sleep(0.1)
    assert teardown.leftovers(name) == NOTHING
