"""Regenerate the README's generated sections from real runs (never edited by hand).

    .venv/bin/python scripts/update_readme.py
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def replace(text: str, key: str, body: str) -> str:
    pat = re.compile(rf"(<!-- {key}:begin -->\n).*?(<!-- {key}:end -->)", re.S)
    if not pat.search(text):
        raise SystemExit(f"README has no <!-- {key}:begin/end --> markers")
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), text)


def main():
    from testbed.tools.signatures import signature_table, to_markdown
    readme = ROOT / "README.md"
    text = readme.read_text()
    text = replace(text, "signatures", to_markdown(signature_table(progress=False)))
    from testbed.experiments.board import scoreboard_markdown
    text = replace(text, "scoreboard", scoreboard_markdown())
    # the picture: the mixed lab with its truth and what uTNT saw
    from testbed.controlplane import build
    from testbed.experiments.graph import draw
    from testbed.experiments.run import run_lab
    from testbed.experiments.sweep import plot, sweep
    from testbed.lab import load_lab
    from testbed.truth import ground_truth
    lab = load_lab("mixed")
    draw(lab, ground_truth(build(lab)), str(ROOT / "docs/mixed.png"), run_lab(lab, runtime="sim"))
    plot(sweep(["asymmetric", "invisible-php"], [0, 1, 2, 3, 4], [1], {"lsrs": [2, 3, 4]}),
         str(ROOT / "docs/sweep-frpla.png"))
    readme.write_text(text)
    print(f"updated {readme}")


if __name__ == "__main__":
    main()
