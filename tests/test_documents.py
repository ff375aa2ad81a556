"""The typed documents (testbed/documents): the JSON schemas in docs/ are the ones generated
from the classes; the classes read today's documents exactly (a validated document dumps back
to the same dict); real `testbed run --json` / `testbed score --json` output of library labs on
the sim (and one namespace run) validates against the generated schemas; a detector's output
that does not fit is one line naming the file, the trace/hop and the field (exit 2); the
verdict codes are the scorer's."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import testbed
from testbed import documents
from testbed.cli import main
from testbed.scoring import score as scorer

from labnames import N

REPO = Path(__file__).resolve().parents[1]
LABS = ("mixed", "two-domains-php", "ecmp-explicit", "6pe", "ldp-over-rsvp", "l3vpn")


def _valid(name: str, doc) -> None:
    schema = json.loads((REPO / "docs" / name).read_text())
    v = jsonschema.Draft202012Validator(schema)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:160]}" for e in errors[:5])


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_committed_schemas_are_the_generated_ones():
    for name in documents.SCHEMAS:
        committed = (REPO / "docs" / name).read_text()
        assert committed == documents.schema_text(name), \
            f"docs/{name} differs from the classes: run python -m testbed.documents --write-schemas"
    r = subprocess.run([sys.executable, "-m", "testbed.documents", "--check"], cwd=REPO, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_the_check_fails_on_a_stale_schema(tmp_path):
    r = subprocess.run([sys.executable, "-m", "testbed.documents", "--write-schemas", str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    p = tmp_path / "score.schema.json"
    doc = json.loads(p.read_text())
    doc["$defs"]["Verdict"]["properties"].pop("cause")         # a field the classes have, gone from the file
    p.write_text(json.dumps(doc, indent=1) + "\n")
    r = subprocess.run([sys.executable, "-m", "testbed.documents", "--check", str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "score.schema.json: differs" in r.stderr and "truth.schema" not in r.stderr


def test_the_records_are_the_classes():
    """testbed/documents/records.py types the same dicts for mypy: each TypedDict has its class's keys
    (aliases: class, from, return), the class's required ones required (the scorer adds a trace's
    trace_index once placed), plus the keys of a detector's own the scorer reads (open classes);
    the scorer's Score is without the keys its callers add."""
    from testbed.documents import records
    later = {"TraceScore": {"trace_index"}}
    for name, rec in records.RECORDS.items():
        model = getattr(documents, name)
        fields = {f.alias or k: f for k, f in model.model_fields.items()}
        own = records.DETECTORS_OWN.get(name, set())
        assert set(rec.__annotations__) == set(fields) - records.CALLERS_ADD.get(name, set()) | own, name
        assert own <= rec.__optional_keys__, name
        required = {k for k, f in fields.items() if f.is_required()} - later.get(name, set()) \
            - records.CALLERS_ADD.get(name, set())
        assert rec.__required_keys__ == required, name


def test_verdict_codes_are_the_scorers():
    assert set(documents.CAUSES) == set(scorer.CAUSES)
    assert documents.OUTCOMES == scorer.OUTCOMES


@pytest.mark.parametrize("name", LABS)
def test_sim_run_and_score_documents_validate_and_read_back_exactly(name, tmp_path, capsys):
    code, out, err = _cli(capsys, "run", name, "--seed", "1", "--json")
    assert code in (0, 1), err
    doc = json.loads(out)
    _valid("result.schema.json", doc)
    _valid("score.schema.json", doc["score"])
    truth = testbed.ground_truth(testbed.load(name)).to_json()
    _valid("truth.schema.json", truth)
    for kind, d in (("result", doc), ("score", doc["score"]), ("truth", truth)):
        # the typed object dumps back to the very dict (model_dump gives today's documents)
        assert documents.dump(documents.load(kind, d)) == d
    f = tmp_path / "run.json"
    f.write_text(out)
    code, out, err = _cli(capsys, "score", name, str(f), "--json")
    assert code in (0, 1), err
    scored = json.loads(out)
    _valid("score.schema.json", scored["score"] if "score" in scored else scored)
    s = documents.load("score", doc["score"])
    verdicts = [v for t in s.traces for v in t.verdicts]
    assert verdicts and all(v.outcome in documents.OUTCOMES for v in verdicts)
    assert all(v.reason.startswith(v.cause + ": ") for v in verdicts if v.cause)


def test_a_detector_output_that_does_not_fit_is_one_line_naming_file_hop_and_field(tmp_path, capsys):
    lab = testbed.load("mixed")
    with testbed.up(lab, runtime="sim") as net:
        doc = net.probe(seed=1).to_json()
    i = next(i for i, t in enumerate(doc["traces"]) if len(t["hops"]) > 2)
    doc["traces"][i]["hops"][2]["reply_ttl"] = 300
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc))
    code, out, err = _cli(capsys, "score", "mixed", str(f))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"error: {f}: traces[{i}].hops[2].reply_ttl: Input should be less than or equal to 255 (got 300) (the "
        "detector's output read into the result format does not fit it: docs/result-format.md)"]
    doc["traces"][i]["hops"][2]["reply_ttl"] = 250
    doc["traces"][0]["tunnels"] = [{"class": "TUN", "lsrs": []}]
    f.write_text(json.dumps(doc))
    code, out, err = _cli(capsys, "score", "mixed", str(f))
    assert code == 2 and "traces[0].tunnels[0].class" in err and len(err.strip().splitlines()) == 1


def test_a_broken_truth_or_score_names_its_field():
    lab = testbed.load("invisible-php")
    truth = testbed.ground_truth(lab).to_json()
    truth["probes"][0]["paths"][0]["tunnels"][0]["class"] = "INV"
    with pytest.raises(documents.DocumentError) as e:
        documents.check("truth", truth)
    assert e.value.where == "probes[0].paths[0].tunnels[0].class"
    with testbed.up(lab, runtime="sim") as net:
        sc = testbed.score(lab, net.probe()).to_json()
    sc["traces"][0]["verdicts"][0]["cause"] = "bad-luck"
    with pytest.raises(documents.DocumentError) as e:
        documents.check("score", sc)
    assert e.value.where == "traces[0].verdicts[0].cause"


@pytest.mark.netns
def test_netns_run_documents_and_the_instance_state_validate():
    lab = testbed.load("mixed")
    name = N("docs")
    with testbed.up(lab, runtime="netns", name=name) as net:
        state = net.status()
        result = net.probe(seed=2)
    documents.check("lab-instance", state)
    _valid("lab-instance.schema.json", state)
    sc = testbed.score(lab, result)
    _valid("result.schema.json", result.to_json())
    _valid("score.schema.json", sc.to_json())
    assert documents.dump(documents.load("score", sc.to_json())) == sc.to_json()
