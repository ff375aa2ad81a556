"""python -m testbed.documents --write-schemas [DIR]: write the JSON schemas generated from
the typed documents (default: the repository's docs/); --check: exit 1 naming each schema
that differs from the generated one."""
from __future__ import annotations

import sys
from pathlib import Path

from . import SCHEMAS, schema_text


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("--write-schemas", "--check"):
        print("usage: python -m testbed.documents --write-schemas [DIR] | --check [DIR]", file=sys.stderr)
        return 2
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "docs"
    stale = []
    for name in SCHEMAS:
        p = out / name
        text = schema_text(name)
        if argv[0] == "--check":
            if not p.is_file() or p.read_text() != text:
                stale.append(name)
        else:
            p.write_text(text)
            print(p)
    for name in stale:
        print(f"{out / name}: differs from the schema generated from testbed/documents; run python -m "
              "testbed.documents --write-schemas", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
