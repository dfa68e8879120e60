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
        if ":" in name:         # a plugin type another test loaded (ladspa:..., lv2:...): not a built-in
            continue
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


def test_every_midi_message_and_patch_key_is_documented():
    from rtcore import midi_spec
    from rtcore.patch import CC_KEYS, MIDI_KEYS, SNAPSHOT_KEYS

    text = README.read_text()
    midi = text.split("<!-- generated:midi-tables -->")[1].split("<!-- /generated:midi-tables -->")[0]
    for m in midi_spec.CHANNEL_MESSAGES:
        assert f"| {m.name} |" in midi
    for cc, name, _ in midi_spec.FIXED_CONTROLLERS:
        assert f"| {cc} | {name} |" in midi
    for table, keys in (("[midi]", [k for k in MIDI_KEYS if k != "cc"]), ("[[midi.cc]]", CC_KEYS),
                        ("[[snapshot]]", SNAPSHOT_KEYS)):
        for k in keys:
            assert f"| `{table}` `{k}` |" in midi
