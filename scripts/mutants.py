#!/usr/bin/env python3
"""One-line mutants of the scorer's and the truth's rule lines, each run against the tests
that pin those rules: is every rule killed by a mutant of it?

    .venv/bin/python scripts/mutants.py [--list] [--only N,M] [--json FILE] [--tests T ...]

A mutant changes one operator on one line of a rule function (testbed/scoring/score.py,
testbed/truth/tunnels.py, testbed/truth/report.py): == and !=, >= and >, <= and <, and and
or, in and not in, a `not` dropped, += turned to -=, True and False swapped, a number plus
one. Operators are read with Python's tokenizer, so text inside strings (the verdicts'
English) is never mutated; each line gives one mutant (its first mutable token, in line
order). Each mutant is written into a copy of the tree and the tests (default: the scoring
and truth rule tests, not the golden digests) run there with `pytest -x`: a failing run
kills the mutant, a passing one lets it survive. The tree itself is never modified.

Prints one line per mutant and the figure (killed / mutants, per file); --json writes them.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the rule functions: (file, functions)
TARGETS = {
    "testbed/scoring/score.py": ("visibility", "choose_path", "_expected_ttl", "_flagged", "_trigger_index",
                                 "_revealed_before", "_attempts", "_stop_reason", "_egress_hop", "_miss_reason",
                                 "_revelation_reason", "_hidden_target", "_alt_lsrs", "_unseeable", "score_trace", "is_perfect",
                                 "score_run", "_vantage_point"),
    "testbed/truth/tunnels.py": ("_answers", "tunnels_on"),
    "testbed/truth/report.py": ("silent_reason", "_first_revealed"),
}
TESTS = ["tests/test_scoring.py", "tests/test_scorer_rules.py", "tests/test_ecmp_return.py",
         "tests/test_lab_files.py::test_library_lab_truth_matches_its_comment",
         "-k", "not namespaces and not same_seed and not sweep_replays and not explicit_flow_option"]
SWAP = {"==": "!=", "!=": "==", ">=": ">", "<=": "<", ">": ">=", "<": "<=", "and": "or", "or": "and",
        "True": "False", "False": "True", "+=": "-="}


def _functions(src: str, names) -> list[tuple[int, int]]:
    tree = ast.parse(src)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            out.append((node.lineno, node.end_lineno))
    return out


def mutants_of(path: str, names) -> list[dict]:
    """One mutant per mutable line of the named functions: (line, column, old, new)."""
    src = (ROOT / path).read_text()
    spans = _functions(src, names)
    lines = src.splitlines(keepends=True)
    toks = list(tokenize.generate_tokens(io.StringIO(src).readline))
    done, out = set(), []
    for i, t in enumerate(toks):
        ln = t.start[0]
        if ln in done or not any(a < ln <= b for a, b in spans):    # a def line itself is not a rule
            continue
        text = lines[ln - 1]
        if text.lstrip().startswith(("for ", "def ", "@")):
            continue
        new = None
        if t.type == tokenize.OP and t.string in SWAP:
            new = SWAP[t.string]
        elif t.type == tokenize.NAME and t.string in SWAP:
            new = SWAP[t.string]
        elif t.type == tokenize.NAME and t.string == "not":
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            new = "" if not (nxt and nxt.string == "in") else None
            if nxt is not None and nxt.string == "in":
                new = "not in->in"
        elif t.type == tokenize.NAME and t.string == "in":
            prev = toks[i - 1]
            if prev.string == "not" or " for " in text or text.lstrip().startswith("for "):
                continue
            new = "not in"
        elif t.type == tokenize.NUMBER and t.string.isdigit():
            new = str(int(t.string) + 1)
        if new is None:
            continue
        c0, c1 = t.start[1], t.end[1]
        if new == "not in->in":                      # `not in` -> `in`
            c1 = toks[i + 1].end[1]
            repl = "in"
            old = text[c0:c1]
        elif new == "":                              # drop a `not`
            c1 = toks[i + 1].start[1]
            repl, old = "", text[c0:c1]
        else:
            repl, old = new, t.string
        mutated = text[:c0] + repl + text[c1:]
        done.add(ln)
        out.append({"file": path, "line": ln, "old": old.strip() or old, "new": repl or "(dropped)",
                    "before": text.rstrip("\n"), "after": mutated.rstrip("\n")})
    # lines with no operator of the above: a conditional expression's (or a comprehension's)
    # condition negated, `a if c else b` -> `a if not c else b`
    for t in toks:
        ln = t.start[0]
        if ln in done or not any(a < ln <= b for a, b in spans) or t.type != tokenize.NAME or t.string != "if":
            continue
        text = lines[ln - 1]
        if text.lstrip().startswith(("if ", "elif ", "for ", "def ", "@")):
            continue
        c1 = t.end[1]
        done.add(ln)
        out.append({"file": path, "line": ln, "old": "if", "new": "if not",
                    "before": text.rstrip("\n"), "after": (text[:c1] + " not" + text[c1:]).rstrip("\n")})
    out.sort(key=lambda m: m["line"])
    return out


def _copy_tree(dst: Path):
    for name in ("testbed", "tests", "topologies", "utnt", "docs", "router-configs", "pyproject.toml", "setup.py"):
        p = ROOT / name
        if not p.exists():
            continue
        if p.is_dir():
            shutil.copytree(p, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
        else:
            shutil.copy2(p, dst / name)


def run_one(m: dict, tree: Path, tests: list[str], timeout: int) -> tuple[str, float]:
    f = tree / m["file"]
    orig = f.read_text()
    lines = orig.splitlines(keepends=True)
    lines[m["line"] - 1] = m["after"] + "\n"
    f.write_text("".join(lines))
    t0 = time.monotonic()
    try:
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider",
                            *tests], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        verdict = "survived" if r.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        verdict = "killed"                           # a mutant that hangs the tests is caught too
    finally:
        f.write_text(orig)
    return verdict, time.monotonic() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--only", help="run only these mutant numbers (1-based, comma-separated)")
    ap.add_argument("--tests", nargs="+", default=TESTS, help="test files (pytest arguments) that must kill the "
                    "mutants; give '-k EXPR' as '-k=EXPR'")
    ap.add_argument("--json", metavar="FILE", help="write every mutant and its fate")
    ap.add_argument("--survivors-of", metavar="FILE", help="run only the mutants that survived in this --json "
                    "output (matched by file and line text), e.g. after adding tests")
    ap.add_argument("--new-since", metavar="FILE", help="run only the mutants this --json output does not have")
    ap.add_argument("--timeout", type=int, default=600)
    a = ap.parse_args(argv)
    a.tests = [x for t in a.tests for x in (t.split("=", 1) if t.startswith("-k=") else [t])]
    ms = [m for path, names in TARGETS.items() for m in mutants_of(path, names)]
    for i, m in enumerate(ms, 1):
        m["id"] = i
    if a.list:
        for m in ms:
            print(f"{m['id']:3d} {m['file']}:{m['line']}: {m['old']} -> {m['new']}: {m['after'].strip()}")
        return 0
    pick = set(int(x) for x in a.only.split(",")) if a.only else None
    todo = [m for m in ms if pick is None or m["id"] in pick]
    if a.survivors_of or a.new_since:
        # a follow-up run: the survivors of an earlier run, and/or the mutants it did not have
        # (matched by file and line text, so edits elsewhere in a file do not matter)
        keep = set()
        if a.survivors_of:
            prev = json.loads(Path(a.survivors_of).read_text())["results"]
            keep |= {(m["file"], m["before"], m["after"]) for m in prev if m["fate"] == "survived"}
        if a.new_since:
            prev = json.loads(Path(a.new_since).read_text())["results"]
            seen = {(m["file"], m["before"], m["after"]) for m in prev}
            keep |= {(m["file"], m["before"], m["after"]) for m in todo} - seen
        todo = [m for m in todo if (m["file"], m["before"], m["after"]) in keep]
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))       # so the copy below is removed
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        tree = Path(tmp)
        _copy_tree(tree)
        # the copy must be what the tests import (not the installed tree)
        chk = subprocess.run([sys.executable, "-c", "import testbed, sys; print(testbed.__file__)"], cwd=tree,
                             env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
        if not chk.stdout.strip().startswith(str(tree)):
            print(f"error: the tests would import {chk.stdout.strip()}, not the mutated copy", file=sys.stderr)
            return 1
        for m in todo:
            m["fate"], m["seconds"] = run_one(m, tree, a.tests, a.timeout)
            print(f"{m['fate']:8s} {m['id']:3d} {m['file']}:{m['line']}: {m['old']} -> {m['new']}: "
                  f"{m['after'].strip()[:110]}", flush=True)
    per: dict[str, list[int]] = {}
    for m in todo:
        k = per.setdefault(m["file"], [0, 0])
        k[0] += m["fate"] == "killed"
        k[1] += 1
    killed = sum(k for k, _ in per.values())
    print(f"killed {killed} of {len(todo)} one-line mutants ("
          + ", ".join(f"{f}: {k}/{n}" for f, (k, n) in per.items()) + f"); tests: {' '.join(a.tests)}")
    if a.json:
        Path(a.json).write_text(json.dumps({"killed": killed, "mutants": len(todo), "per_file": per,
                                            "tests": a.tests, "results": todo}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
