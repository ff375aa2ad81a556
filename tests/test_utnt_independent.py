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
