"""`testbed signatures` covers the whole behaviour catalogue: every knob a vendor table writes
under `behaviour:` (testbed/knobs/*.yaml, section behaviour) is in testbed/vendors/README.md's
generated knob table, and each of them (and quote_bytes, the domain knobs vpn and sr) has a
KNOB_ROWS row showing the hop-by-hop signature it produces."""
from __future__ import annotations

import re
from pathlib import Path

from testbed import knobs
from testbed.tools.signatures import KNOB_ROWS, knob_row, knobs_of

README = Path(__file__).resolve().parents[1] / "testbed" / "vendors" / "README.md"


def readme_knobs() -> list[str]:
    """Knob names in the first column of the README's knob table (`a`, `b` and `c` rows too)."""
    text = README.read_text()
    table = text[text.index("| knob | written under |"):]
    out = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        out += re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])
    return out


def catalogue_knobs() -> list[str]:
    return [k.name for k in knobs.all_knobs() if k.section == "behaviour"]


def test_every_schema_knob_is_in_the_readme_table():
    documented = set(readme_knobs())
    assert documented, "the knob table was not found in testbed/vendors/README.md"
    missing = [k for k in catalogue_knobs() if k not in documented]
    assert not missing, f"knobs of the vendor schema missing from testbed/vendors/README.md: {missing}"
    unknown = documented - set(knobs.names())
    assert not unknown, f"README knobs that are no declared knob: {unknown}"


def test_every_knob_has_a_signature_row():
    covered = set().union(*(knobs_of(r) for r in KNOB_ROWS))
    missing = [k for k in [*catalogue_knobs(), "quote_bytes", "vpn", "sr"] if k not in covered]
    assert not missing, f"knobs without a row in testbed/tools/signatures.py KNOB_ROWS: {sorted(set(missing))}"


def test_ping_rows_show_the_ip_id_modes_and_the_echo_bucket():
    rows = {r[0].split(":")[0] + ":" + r[0].split(":")[1].split()[0]: r for r in KNOB_ROWS if r[5] == "pings"}
    ids = lambda key: knob_row(*rows[key])["trace"].split(": ")[1].split()   # noqa: E731
    assert ids("ip_id:zero") == ["0"] * 4
    shared = [int(x) for x in ids("ip_id:shared")]
    assert shared == list(range(shared[0], shared[0] + 4))
    assert len(set(ids("ip_id:random"))) == 4 and ids("ip_id:random") != sorted(ids("ip_id:random"), key=int)
    assert ids("limit_echo_reply:1/s,")[2:] == ["*", "*"] and "*" not in ids("limit_echo_reply:1/s,")[:2]


def test_unreachable_rows_silence_the_udp_target():
    row = {r[0]: r for r in KNOB_ROWS}
    off = knob_row(*next(v for k, v in row.items() if k.startswith("answer_unreachable")))["trace"].split()
    assert "pe2" not in off and off[-1] == "*"
    first, again = knob_row(*next(v for k, v in row.items() if k.startswith("limit_unreachable")))["trace"].split(
        " / again: ")
    assert first.split()[-1] == "pe2" and "pe2" not in again.split()
