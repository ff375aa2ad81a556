"""No code decides by comparing a runtime's or a detector's name, outside the registries that
own those names, and nothing reads the scorer's English back: what a runtime or detector can do
is asked of its registry entry (in_process, on_tap, flows, check_options...), and a verdict is
read by its codes (outcome, wrong, cause), never by its text. These tests read the source tree,
so a comparison that comes back fails here with its file and line."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("sim", "netns", "mininet", "bigrt", "qemu", "utnt", "tnt", "scamper", "traceroute", "labels")
_LIT = r"""['"](?:%s)['"]""" % "|".join(NAMES)
# NAME == x, x != NAME, x in ("a", NAME), NAME in x: a decision taken on a name
_STR = r"""['"][\w.-]*['"]"""
COMPARE = re.compile(rf"""(?:[=!]=\s*{_LIT})|(?:{_LIT}\s*[=!]=)|(?:\bin\s*[\(\[\{{]\s*(?:{_STR}\s*,\s*)*{_LIT})|"""
                     rf"""(?:{_LIT}\s+in\b)""")
FOR_IN = re.compile(r"\bfor\s+[\w, ]+\s+in\s*[\(\[\{][^\)\]\}]*[\)\]\}]")      # iterating over names decides nothing
# the places that own the names: the two registries and their built-in entries; and the VM
# guest images, a catalogue of their own whose names ("utnt", "tnt", "tiny") are images, not detectors
OWNERS = ("testbed/runtimes/registry.py", "testbed/detectors/registry.py", "testbed/runtimes/builtin/",
          "testbed/detectors/builtin/", "testbed/runtimes/qemu/", "testbed/cli/vm.py", "testbed/experiments/vm.py")


def _sources():
    # benchmarks are left out: they measure named runtimes head to head, each with its own knobs
    for top in ("testbed", "utnt", "scripts"):
        for f in sorted((ROOT / top).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            if not rel.startswith(OWNERS):
                yield rel, f.read_text()


def _code(line: str) -> str:
    return FOR_IN.sub("", line.split("#", 1)[0])


def test_no_comparison_against_a_runtime_or_detector_name():
    hits = []
    for rel, text in _sources():
        for n, line in enumerate(text.splitlines(), 1):
            code = _code(line)
            if COMPARE.search(code) and "add_argument" not in code:
                hits.append(f"{rel}:{n}: {line.strip()}")
    assert not hits, "decided by a runtime's or detector's name (ask its registry entry instead):\n" + "\n".join(hits)


def test_the_pattern_catches_what_it_forbids():
    """The check above can fail: each of these is a name dispatch it must see."""
    for bad in ('if runtime == "netns":', 'if "tnt" != det.name:', 'elif rt.name in ("sim", "bigrt"):',
                "x = det == 'scamper'", 'if "mininet" in names:'):
        assert COMPARE.search(_code(bad)), bad
    for fine in ('registry.get("netns")', 'add_runtime_arg(s, "sim")', 'doc = {"runtime": "bigrt"}',
                 'for k in ("tnt", "utnt"):', 'if x in (nh.get("labels") or []):'):
        assert not COMPARE.search(_code(fine)), fine


_TEXT = r"""(?:\b(?:verdict|reason|why|why_not)\b|\[['"](?:verdict|reason|why)['"]\])"""
# the verdict's English cut up, searched or looked into
VERDICT_TEXT = re.compile(rf"""{_TEXT}\.(?:startswith|endswith|split|partition|find|index)\(|"""
                          rf"""re\.(?:match|search|findall|fullmatch)\(.*{_TEXT}|['"]\s+in\s+\w*{_TEXT}""")


def test_no_verdict_english_parsed_back():
    """The scorer writes a cause code beside its English (`cause`, `reason`); nobody reads the
    English to learn the code (testbed/scoring/score.py once did, from its own visibility text)."""
    hits = []
    for rel, text in _sources():
        for n, line in enumerate(text.splitlines(), 1):
            if VERDICT_TEXT.search(_code(line)):
                hits.append(f"{rel}:{n}: {line.strip()}")
    assert not hits, "English parsed back (read the codes instead):\n" + "\n".join(hits)
    assert VERDICT_TEXT.search('if why.startswith("silent LSRs"):')
    for bad in ('v["verdict"].startswith("undetectable")', 'if "silent" in v["reason"]:',
                're.match(r"undetectable: (.*)", u["verdict"])'):
        assert VERDICT_TEXT.search(bad), bad


def test_an_undetectable_tunnel_comes_with_its_cause_code_from_the_scorer_itself():
    """The code is decided where the English is written (undetectable()), not read back from it:
    a one-LSR invisible PHP tunnel is below TNT's thresholds, and its verdict names the code."""
    from testbed.controlplane import build
    from testbed.lab import load_lab
    from testbed.scoring import score_run
    from testbed.scoring.score import CAUSES, undetectable, visibility
    from testbed.truth import ground_truth
    lab = load_lab("invisible-php", {"lsrs": 1})
    truth = ground_truth(build(lab))
    t = truth["probes"][0]["paths"][0]["tunnels"][0]
    code, why = undetectable(lab, t)
    assert code == "invisible-below-threshold" and code in CAUSES and why == visibility(lab, t)
    trace = {"vantage_point": truth["probes"][0]["from"], "dst": truth["probes"][0]["to"], "src": None,
             "method": "icmp", "hops": [], "tunnels": []}
    v = score_run(lab, truth, [trace])["traces"][0]["verdicts"][0]
    assert (v["outcome"], v["cause"]) == ("undetectable", code) and why in v["reason"]
