"""Each kind of bad patch gives one clear error naming the file, the table and the key."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from rtcore import PatchError
from rtcore.patch import load_patch

GOOD = """
[engine]
sample_rate = 48000
block = 64
tempo = 100

[[node]]
name = "in"
type = "input"

[[node]]
name = "amp"
type = "gain"
gain = -6.0

[[connect]]
from = "in"
to = "amp"

[[midi.cc]]
cc = 7
to = "amp.gain"
min = -40
max = 0
"""


def error_of(write_patch, text: str) -> str:
    path = write_patch(text)
    with pytest.raises(PatchError) as info:
        load_patch(path)
    msg = str(info.value)
    assert "\n" not in msg, "errors are one line"
    assert str(path) in msg, "errors name the file"
    return msg


def test_good_patch_loads(write_patch):
    p = load_patch(write_patch(GOOD))
    assert p.sample_rate == 48000 and p.block == 64 and p.tempo == 100
    assert [n.name for n in p.graph.nodes] == ["in", "amp"]
    assert p.graph.connections == [("in", "amp")]
    assert p.graph.node("amp").params == {"gain": -6.0}
    assert p.cc_maps[0].value(0) == -40 and p.cc_maps[0].value(127) == 0
    assert p.uses_input


def test_malformed_toml(write_patch):
    msg = error_of(write_patch, "[engine\nsample_rate = 48000\n")
    assert "TOML syntax error" in msg and "line 1" in msg


def test_not_utf8(write_patch, tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PatchError, match="not a text"):
        load_patch(p)


def test_missing_patch_file(tmp_path):
    with pytest.raises(PatchError, match="no such patch file"):
        load_patch(tmp_path / "nope.toml")


def test_unknown_node_type(write_patch):
    msg = error_of(write_patch, GOOD.replace('type = "gain"', 'type = "gian"'))
    assert "[[node]] 'amp'" in msg and "'type'" in msg and "gian" in msg
    assert "did you mean 'gain'" in msg and "allowed:" in msg


def test_unknown_parameter(write_patch):
    msg = error_of(write_patch, GOOD.replace("gain = -6.0", "gane = -6.0"))
    assert "[[node]] 'amp'" in msg and "unknown key 'gane'" in msg and "allowed: gain, mute" in msg


def test_out_of_range_parameter(write_patch):
    msg = error_of(write_patch, GOOD.replace("gain = -6.0", "gain = 60.0"))
    assert "key 'gain'" in msg and "-96..24 dB" in msg


def test_wrong_type_parameter(write_patch):
    msg = error_of(write_patch, GOOD.replace("gain = -6.0", 'gain = "loud"'))
    assert "key 'gain'" in msg and "number" in msg


def test_unknown_engine_key(write_patch):
    msg = error_of(write_patch, GOOD.replace("tempo = 100", "tempi = 100"))
    assert "[engine]" in msg and "unknown key 'tempi'" in msg and "did you mean 'tempo'" in msg


def test_engine_value_out_of_range(write_patch):
    msg = error_of(write_patch, GOOD.replace("tempo = 100", "tempo = 1000"))
    assert "[engine]" in msg and "'tempo'" in msg and "20..300 BPM" in msg


def test_unknown_top_level_table(write_patch):
    msg = error_of(write_patch, GOOD + "\n[effects]\nx = 1\n")
    assert "top level" in msg and "'effects'" in msg and "allowed: engine, node, connect, midi" in msg


def test_connection_to_unknown_node(write_patch):
    msg = error_of(write_patch, GOOD.replace('to = "amp"\n', 'to = "amp2"\n', 1))
    assert "[[connect]] #1" in msg and "'amp2'" in msg and "nodes: in, amp, master" in msg


def test_connection_into_an_instrument_or_source(write_patch):
    msg = error_of(write_patch, GOOD.replace('from = "in"\nto = "amp"', 'from = "amp"\nto = "in"'))
    assert "[[connect]] #1" in msg and "takes no audio input" in msg


def test_cycle(write_patch):
    text = GOOD + '\n[[node]]\nname = "amp2"\ntype = "gain"\n' \
        '\n[[connect]]\nfrom = "amp"\nto = "amp2"\n\n[[connect]]\nfrom = "amp2"\nto = "amp"\n'
    msg = error_of(write_patch, text)
    assert "cycle" in msg and "amp -> amp2 -> amp" in msg


def test_duplicate_and_reserved_names(write_patch):
    msg = error_of(write_patch, GOOD.replace('name = "amp"', 'name = "in"'))
    assert "already has this name" in msg
    msg = error_of(write_patch, GOOD.replace('name = "amp"', 'name = "master"'))
    assert "reserved" in msg


def test_missing_name_and_type(write_patch):
    assert "missing key 'name'" in error_of(write_patch, '[[node]]\ntype = "gain"\n')
    msg = error_of(write_patch, '[[node]]\nname = "x"\n')
    assert "missing key 'type'" in msg and "gain" in msg


def test_cc_map_errors(write_patch):
    msg = error_of(write_patch, GOOD.replace('to = "amp.gain"', 'to = "amp.volume"'))
    assert "[[midi.cc]] #1" in msg and "no parameter 'volume'" in msg
    msg = error_of(write_patch, GOOD.replace("cc = 7", "cc = 200"))
    assert "[[midi.cc]] #1" in msg and "'cc'" in msg and "0..127" in msg
    msg = error_of(write_patch, GOOD.replace("max = 0", "max = 0\ncurve = \"cubic\""))
    assert "'curve'" in msg and "lin, exp, log" in msg


def test_sampler_missing_file(write_patch):
    text = '[[node]]\nname = "kit"\ntype = "sampler"\n[[node.sample]]\nfile = "kick.wav"\nnote = 36\n'
    from rtcore.params import node_types
    if "sampler" not in node_types():
        pytest.skip("sampler node not built")
    msg = error_of(write_patch, text)
    assert "[[node.sample]] #1" in msg and "kick.wav" in msg and "does not exist" in msg


def test_sampler_file_not_audio(write_patch, tmp_path):
    from rtcore.params import node_types
    if "sampler" not in node_types():
        pytest.skip("sampler node not built")
    (tmp_path / "kick.wav").write_text("this is not audio")
    text = '[[node]]\nname = "kit"\ntype = "sampler"\n[[node.sample]]\nfile = "kick.wav"\nnote = 36\n'
    msg = error_of(write_patch, text)
    assert "kick.wav" in msg and "not a readable audio file" in msg


def test_sampler_zone_loaded(write_patch, tmp_path):
    from rtcore.params import node_types
    if "sampler" not in node_types():
        pytest.skip("sampler node not built")
    sf.write(str(tmp_path / "kick.wav"), np.zeros(100, np.float32), 44100)
    p = load_patch(write_patch('[[node]]\nname = "kit"\ntype = "sampler"\n'
                               '[[node.sample]]\nfile = "kick.wav"\nnotes = [35, 36]\nroot = 36\n'))
    z = p.graph.node("kit").samples[0]
    assert (z.note_lo, z.note_hi, z.root, z.sample_rate, z.data.shape) == (35, 36, 36, 44100.0, (100, 1))


def test_empty_patch(write_patch):
    assert "no nodes" in error_of(write_patch, "[engine]\ntempo = 90\n")
