"""Small contracts: `expect:` is checked (validate, run), `testbed score` refuses a
result of another lab or of an edited lab file unless --force, and `campaign --fail-link`
honours --seed and -o. Real CLI runs on the sim (in-process `testbed.cli.main`)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from testbed.cli import main

LIB = Path(__file__).resolve().parents[1] / "topologies"


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _copy(tmp_path, name: str, edit=None) -> Path:
    text = (LIB / f"{name}.yaml").read_text()
    if edit:
        text = edit(text)
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    return f


# ---- expect:
def test_validate_says_which_expectation_failed(tmp_path, capsys):
    good = _copy(tmp_path, "ecmp-explicit")
    assert _run(capsys, "validate", str(good))[0] == 0
    bad = _copy(tmp_path, "ecmp-explicit", lambda t: t.replace("lsrs: [a1, m, b1]}", "lsrs: [a1, m, b2]}"))
    code, out, err = _run(capsys, "validate", str(bad))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    line = next(n for n, ln in enumerate(bad.read_text().splitlines(), 1) if ln.startswith("expect:"))
    assert lines[0] == (f"error: {bad}:{line}: expect.tunnels[0].lsrs: expected ['a1', 'm', 'b2'], the truth shows "
                        "['a1', 'm', 'b1'] (explicit pe1 -> a1 m b1 -> pe2); fix the lab or its expect block")
    # a class that is wrong, and a tunnel the block does not list
    bad = _copy(tmp_path, "two-domains-php", lambda t: t.replace(
        "    - {class: invisible-php, ingress: pe3, egress: pe4, lsrs: [p4, p5, p6]}\n", "").replace(
        "{class: invisible-php, ingress: pe1", "{class: opaque, ingress: pe1"))
    code, _, err = _run(capsys, "validate", str(bad))
    assert code == 2
    assert "expect.tunnels[0].class: expected 'opaque', the truth shows 'invisible-php'" in err
    assert "expect.tunnels: the truth shows 2 tunnel(s), the block lists 1" in err


def test_run_checks_expect_after_scoring(tmp_path, capsys):
    bad = _copy(tmp_path, "explicit", lambda t: t.replace("class: explicit", "class: implicit"))
    code, out, err = _run(capsys, "run", str(bad), "--runtime", "sim", "--json")
    assert code == 2
    doc = json.loads(out)
    assert doc["score"]["perfect"]                       # the run itself went through, then the check
    assert doc["expect_failed"] == err.strip().removeprefix("error: ").splitlines()
    assert "expect.tunnels[0].class: expected 'implicit', the truth shows 'explicit'" in err


def test_run_checks_the_expected_score(tmp_path, capsys):
    bad = _copy(tmp_path, "two-domains-php", lambda t: t.replace("score: {detected: 1,", "score: {detected: 2,"))
    assert _run(capsys, "validate", str(bad))[0] == 0            # validate runs no detector
    code, _, err = _run(capsys, "run", str(bad), "--runtime", "sim")
    assert code == 2
    assert "expect.score.detected: expected 2, the run's score gives 1" in err.splitlines()[-1]
    good = _copy(tmp_path, "two-domains-php")
    assert _run(capsys, "run", str(good), "--runtime", "sim", "--json")[0] == 0


def test_a_malformed_expect_block_is_one_line_naming_the_field(tmp_path, capsys):
    """An expect: block of the wrong shape (tunnels not a list, an entry not a mapping, score not
    a mapping) is a bad-input error naming file, line, field and fix (it was an internal error:
    TypeError or AttributeError from check_expect)."""
    for edit, field, got in (
            (lambda t: t.replace("expect:\n  tunnels:\n", "expect:\n  tunnels: 5\n  old:\n"), "expect.tunnels", "got 5"),
            (lambda t: t.replace("expect:\n  tunnels:\n", "expect:\n  tunnels:\n    - explicit\n  old:\n"),
             "expect.tunnels[0]", "got 'explicit'"),
            (lambda t: t.replace("expect:\n", "expect:\n  score: [detected]\n"), "expect.score", "got ['detected']")):
        bad = _copy(tmp_path, "explicit", edit)
        code, out, err = _run(capsys, "validate", str(bad))
        line = next(n for n, ln in enumerate(bad.read_text().splitlines(), 1) if ln.startswith("expect:"))
        assert (code, out) == (2, "")
        (msg,) = err.strip().splitlines()
        assert msg.startswith(f"error: {bad}:{line}: {field}: expected ") and f"{got}; write " in msg


# ---- score: the lab a result was recorded on
def test_score_refuses_another_lab_and_an_edited_lab_unless_forced(tmp_path, capsys):
    lab = _copy(tmp_path, "explicit")
    code, out, _ = _run(capsys, "run", str(lab), "--runtime", "sim", "--json", "--seed", "3")
    assert code == 0
    doc = json.loads(out)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", doc["lab_digest"])
    res = tmp_path / "run.json"
    res.write_text(out)
    assert _run(capsys, "score", str(lab), str(res), "--json")[0] == 0
    # another lab
    code, out, err = _run(capsys, "score", "implicit", str(res))
    assert code == 2 and out == ""
    assert err.strip() == (f"error: {res}: lab: the result was recorded on lab 'explicit', not 'implicit'; score it "
                           "against 'explicit', or add --force to score it here anyway")
    assert _run(capsys, "score", "implicit", str(res), "--force", "--json")[0] == 0
    # the same lab file, edited since the run (its routers' vendor), or with other --set values
    lab.write_text(lab.read_text().replace("default('cisco')", "default('juniper')"))
    code, out, err = _run(capsys, "score", str(lab), str(res))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {res}: lab_digest: the result was recorded on 'explicit' as it was before an "
                          "edit") and err.count("\n") == 1
    assert _run(capsys, "score", str(lab), str(res), "--force", "--json")[0] == 0
    lab.write_text(lab.read_text().replace("default('juniper')", "default('cisco')"))
    assert _run(capsys, "score", str(lab), str(res), "--json")[0] == 0
    assert _run(capsys, "score", str(lab), str(res), "--set", "lsrs=4")[0] == 2


def test_score_reads_each_result_file_once(tmp_path, capsys, monkeypatch):
    """The lab a result was recorded on and its traces come from one read of the file (the
    input boundary's read_text, counted): a file is not opened again to be parsed."""
    import testbed.inputs
    code, out, _ = _run(capsys, "run", "explicit", "--runtime", "sim", "--json", "--seed", "3")
    assert code == 0
    res = tmp_path / "run.json"
    res.write_text(out)
    reads = []
    real = testbed.inputs.read_text

    def counted(path, *a, **kw):
        reads.append(str(path))
        return real(path, *a, **kw)
    monkeypatch.setattr(testbed.inputs, "read_text", counted)
    monkeypatch.setattr("testbed.detectors.read_text", counted)
    assert _run(capsys, "score", "explicit", str(res), "--json")[0] == 0
    assert reads.count(str(res)) == 1, reads


# ---- campaign --fail-link
def test_fail_link_honours_seed_and_output(tmp_path, capsys):
    docs = []
    for i in range(2):
        out_dir = tmp_path / f"f{i}"
        code, out, _ = _run(capsys, "campaign", "ecmp-explicit", "--fail-link", "a1,m", "--seed", "7", "--json",
                            "-o", str(out_dir))
        assert code == 0
        doc = json.loads(out)
        assert doc["seed"] == 7 and doc["files"]["json"] == str(out_dir / "failure.json")
        written = json.loads((out_dir / "failure.json").read_text())
        assert written["phases"] == doc["phases"]
        docs.append(doc["phases"])
    assert docs[0] == docs[1]                          # same seed, same traces
    flows = set()
    for seed in (1, 2, 3, 4, 5, 6):
        code, out, _ = _run(capsys, "campaign", "ecmp-explicit", "--fail-link", "a1,m", "--seed", str(seed), "--json")
        flows.add(json.dumps(json.loads(out)["phases"][0]["traces"][0]["flow"]))
    assert len(flows) > 1                              # the seed reaches the probes
