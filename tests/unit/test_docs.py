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
