"""The README's reference tables are generated from the code's tables: fail when they drift."""
from pathlib import Path

from rtcore.docs import render_readme
from rtcore.params import node_types

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_node_tables_match_the_code():
    text = README.read_text()
    assert render_readme(text) == text, "README is stale: run `python -m rtcore.docs`"


def test_every_node_type_is_documented():
    text = README.read_text()
    for name, t in node_types().items():
        assert f"**`{name}`**" in text
        for p in t.params:
            assert f"| `{p.name}` |" in text


def test_every_osc_address_is_documented():
    from rtcore.docs import BLOCKS
    from rtcore.osc.addresses import ADDRESSES, OUTGOING

    text = README.read_text()
    for name in BLOCKS:
        assert f"<!-- generated:{name} -->" in text and f"<!-- /generated:{name} -->" in text
    osc = text.split("<!-- generated:osc-tables -->")[1].split("<!-- /generated:osc-tables -->")[0]
    for a in ADDRESSES:
        assert f"| `{a.pattern}` |" in osc
    for address, _, _ in OUTGOING:
        assert f"| `{address}` |" in osc
