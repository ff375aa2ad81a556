"""uTNT carries its own code: nothing under utnt/ imports the testbed (GUIDE: imports run one
way; a unikernel build of uTNT has no testbed)."""
import ast
from pathlib import Path

UTNT = Path(__file__).resolve().parents[1] / "utnt"


def test_utnt_imports_nothing_from_testbed():
    offenders = []
    for f in sorted(UTNT.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{f.relative_to(UTNT.parent)}:{node.lineno} {n}" for n in names
                          if n == "testbed" or n.startswith("testbed.")]
    assert offenders == []


def test_the_testbed_codec_imports_nothing_from_utnt():
    """The other half of "never share a codec": the engine and testbed/wire do not borrow uTNT's
    wire code either (the two are compared only through scapy and tcpdump,
    tests/test_codec_differential.py)."""
    root = UTNT.parent / "testbed"
    offenders = []
    for f in sorted([*(root / "wire").rglob("*.py"), *(root / "engine").rglob("*.py")]):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            offenders += [f"{f.relative_to(root.parent)}:{node.lineno} {n}" for n in names
                          if n == "utnt" or n.startswith("utnt.")]
    assert offenders == []
