"""Session: the hub live control goes through (offline: "now" is the render position)."""
from __future__ import annotations

import numpy as np
import pytest

from rtcore.engine import Engine
from rtcore.errors import NotFoundError, ParamRangeError, PatchError, RtCoreError
from rtcore.patch import load_patch
from rtcore.session import Session

TONE = """
[engine]
tempo = 100
[[node]]
name = "osc"
type = "tone"
freq = 440
level = -6
[[node]]
name = "amp"
type = "gain"
gain = 0
[[connect]]
from = "osc"
to = "amp"
[[midi.cc]]
cc = 7
to = "amp.gain"
min = -40
max = 0
[[snapshot]]
name = "soft"
glide = 0.5
amp = { gain = -20 }
[[snapshot]]
name = "loud"
program = 5
amp = { gain = 0 }
osc = { freq = 880 }
"""


def _rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


@pytest.fixture
def session(write_patch):
    path = write_patch(TONE)
    eng = Engine(48000, 1024)
    s = Session(eng, load_patch(path), live=False)
    yield s
    s.close()
    eng.close()


def test_set_and_read_back(session):
    assert session.get_param("amp", "gain") == 0.0
    assert session.set_param("amp", "gain", -12) == -12.0
    assert session.get_param("amp", "gain") == -12.0
    with pytest.raises(ParamRangeError, match="amp.gain"):
        session.set_param("amp", "gain", 99)
    with pytest.raises(NotFoundError, match="no parameter 'gian'"):
        session.set_param("amp", "gian", 1)
    with pytest.raises(NotFoundError, match="no node named 'amq'"):
        session.get_param("amq", "gain")


def test_snapshot_glides_float_params_and_switches_at_once_without_glide(session):
    session.engine.render(4800)
    session.recall("soft")                         # 0 dB -> -20 dB over 0.5 s
    out = session.engine.render(48000)
    levels = [_rms_db(out[i:i + 2400, 0]) for i in range(0, 48000, 2400)]
    assert levels[0] > -10                         # still near the start
    assert abs(levels[-1] - (-6 - 3 - 20)) < 0.5   # sine peak -6 dB -> RMS -9 dB, minus 20
    mid = levels[2:9]                              # during the glide: going down step by step
    assert all(b < a for a, b in zip(mid, mid[1:]))
    assert session.get_param("amp", "gain") == -20
    session.recall(5)                              # by program number, no glide: at once
    out = session.engine.render(4800)
    assert abs(_rms_db(out[1200:, 0]) - (-9)) < 0.5
    assert session.get_param("osc", "freq") == 880
    with pytest.raises(NotFoundError, match="no snapshot 'chorus' \\(snapshots: soft, loud\\)"):
        session.recall("chorus")


def test_program_change_recalls_a_snapshot(session):
    session.midi([0xC0, 5])
    assert session.get_param("osc", "freq") == 880
    session.midi([0xC0, 99])                       # no such program: logged, nothing changes
    assert "program change 99" in session.errors[-1]


def test_cc_map_with_soft_takeover(session):
    session.set_param("amp", "gain", -20)          # the knob (CC 7) is not there yet
    session.midi([0xB0, 7, 127])                   # 0 dB: far from -20: ignored
    assert session.get_param("amp", "gain") == -20
    session.midi([0xB0, 7, 70])                    # -17.95: still above, no crossing from 0 dB side
    assert session.get_param("amp", "gain") == -20
    session.midi([0xB0, 7, 60])                    # -21.1: crossed -20: picked up
    assert session.get_param("amp", "gain") == pytest.approx(-40 + 40 * 60 / 127)
    session.midi([0xB0, 7, 127])                   # now it follows at once
    assert session.get_param("amp", "gain") == 0.0
    session.recall("soft")                         # something else moved it: pick up again
    session.midi([0xB0, 7, 120])                   # -2.2 dB: has not reached -20
    assert session.get_param("amp", "gain") == -20
    session.midi([0xB0, 7, 0])                     # swept through -20: follows
    assert session.get_param("amp", "gain") == -40


def test_midi_learn_and_sidecar_leave_the_patch_untouched(session):
    before = session.patch.path.read_bytes()
    session.learn("osc.freq")
    assert session.learning == "osc.freq"
    session.midi([0xB2, 21, 0])                    # CC 21 on channel 3
    assert session.learning is None
    m = [m for m in session.patch.cc_maps if m.learned]
    assert [(x.cc, x.channel, x.node, x.param, x.curve) for x in m] == [(21, 3, "osc", "freq", "exp")]
    path = session.learn_save()
    assert path.name == "p.learn.toml" and path.parent == session.patch.path.parent
    assert session.patch.path.read_bytes() == before
    again = load_patch(session.patch.path)           # loaded with the patch
    assert [(x.cc, x.channel, x.node, x.param, x.learned) for x in again.cc_maps if x.learned] == \
        [(21, 3, "osc", "freq", True)]
    with pytest.raises(RtCoreError, match="node.param"):
        session.learn("freq")


def test_reload_keeps_old_patch_on_error(session, write_patch):
    session.engine.render(2400)
    gen = session.engine.stats().graph_generation
    bad = write_patch(TONE.replace('type = "gain"', 'type = "gainz"'), "bad.toml")
    with pytest.raises(PatchError, match="gainz"):
        session.load(bad)
    session.engine.render(2400)
    assert session.engine.stats().graph_generation == gen
    assert "reload failed" in session.errors[-1]
    good = write_patch(TONE.replace("freq = 440", "freq = 660"), "good.toml")
    session.load(good)
    session.engine.render(2400)
    assert session.engine.stats().graph_generation != gen
    assert session.get_param("osc", "freq") == 660


def test_tempo_change_keeps_the_beat(session):
    session.play(time=0)
    session.engine.render(24000)                   # 0.5 s at 100 BPM = 0.8333 beats
    session.set_tempo(50)
    session.engine.render(256)
    st = session.engine.stats()
    beats = (st.frames - st.transport_origin) * st.tempo / 60 / 48000
    assert st.tempo == 50
    assert beats == pytest.approx((24000 + 256) / 48000 * 100 / 60 - 256 / 48000 * 50 / 60, abs=1e-3)
    with pytest.raises(ParamRangeError, match="tempo 500"):
        session.set_tempo(500)


def test_malformed_midi_is_one_line_and_harmless(session):
    for bad in ([0x40, 1, 2], [0x90, 60], [0xB0, 200, 1], []):
        with pytest.raises(RtCoreError, match="MIDI"):
            session.midi(bad)
    session.midi([0xF8])                           # clock: not played, not an error
    session.engine.render(256)


def test_snapshot_validation(write_patch):
    for text, msg in [
        ('[[snapshot]]\nname = "a"\namp = { gian = 1 }', "no parameter 'gian'"),
        ('[[snapshot]]\nname = "a"\nmap = { gain = 1 }', "not a node"),
        ('[[snapshot]]\nname = "a"\namp = { gain = 100 }', "amp.gain"),
        ('[[snapshot]]\nname = "a"\nprogram = 1\namp = { gain = 1 }\n[[snapshot]]\nname = "b"\nprogram = 1\namp = { gain = 1 }',
         "another snapshot already answers program 1"),
        ('[[snapshot]]\nname = "a"', "no parameters"),
        ('[midi]\nlatency = "low"', "latency"),
    ]:
        base = TONE.split("[[midi.cc]]")[0]
        with pytest.raises(PatchError, match=msg):
            load_patch(write_patch(base + text))


def test_watch_reloads_on_change_and_keeps_playing_a_broken_edit(session, monkeypatch):
    import time

    import rtcore.session as sess

    monkeypatch.setattr(sess, "WATCH_SECONDS", 0.05)
    logs: list[str] = []
    session.add_log_listener(logs.append)
    path = session.patch.path
    first = session.patch
    session.watch()

    def wait_for(pred, what):
        deadline = time.monotonic() + 5
        while not pred():
            assert time.monotonic() < deadline, f"{what}: {logs}"
            time.sleep(0.02)

    # every edit changes the file's size too: a file system's clock may not tick between two writes
    path.write_text(path.read_text().replace("freq = 440", "freq = 660.0"))
    wait_for(lambda: session.patch is not first, "no reload after an edit")
    assert session.get_param("osc", "freq") == 660
    good = session.patch
    path.write_text(path.read_text().replace("freq = 660.0", "freq = 66000"))      # out of range
    wait_for(lambda: any("reload failed" in line for line in logs), "a broken edit is not reported")
    assert session.patch is good and session.get_param("osc", "freq") == 660
    session.engine.render(256)                                                 # still plays
    path.write_text(path.read_text().replace("freq = 66000", "freq = 330.00"))
    wait_for(lambda: session.get_param("osc", "freq") == 330, "no reload after the fix")
