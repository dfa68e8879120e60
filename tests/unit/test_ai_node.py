"""The AI accompanist node: zero logical latency on the step grid, determinism, controls,
the threaded path matching the offline one, the deadline fallback, bad models."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore.engine import lib

pytest.importorskip("onnx", reason="the test models are built with onnx.helper")
import ai_models  # noqa: E402  (tests/unit)

SR = 48000
TEMPO = 120.0
STEP = SR * 60 / TEMPO / 4          # 6000 frames per 16th
MELODY = [60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 72, 71]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(ai_models.make_gru_model(tmp_path_factory.mktemp("m") / "gru.onnx", layers=1, hidden=64, seed=3))


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory) -> str:
    return str(ai_models.make_slow_model(tmp_path_factory.mktemp("m") / "slow.onnx", ms=300.0))


def graph(model: str, **ai_params) -> rc.GraphSpec:
    ai = rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": model})
    t = rc.node_types()["ai"]
    ai.params = {k: t.param(k).coerce(v) for k, v in ai_params.items()}
    return rc.GraphSpec(nodes=[rc.NodeSpec("lead", "synth", {"wave": 3.0}, channel=1), ai,
                               rc.NodeSpec("choir", "synth", {"wave": 2.0}, channel=0)],
                        event_connections=[("harm", "choir")], master={"enabled": 0.0})


def melody_events(offset: int = 0, late: int = 0) -> list[rc.Event]:
    evs = [rc.Event.transport(True, TEMPO, 0)]
    for i, n in enumerate(MELODY):
        start = int(round(i * 4 * STEP)) + offset + (late if i % 2 else 0)      # a note every beat
        evs += [rc.Event.note_on(n, 100, 1, start), rc.Event.note_off(n, 1, start + int(3.5 * STEP))]
    return evs


def render(model: str, block: int = 128, seconds: float = 6.5, events=None, **ai_params):
    with rc.Engine(SR, 1024) as e:
        e.load(graph(model, **ai_params))
        y = e.render_events(events if events is not None else melody_events(), int(seconds * SR), block=block)
        notes = e.poll_notes()
        return y, notes, e.stats()


def ons(notes, channel=None):
    return [(f, ch, n) for f, t, ch, n, v in notes if t == lib.RT_EV_NOTE_ON and (channel is None or ch == channel)]


def test_the_ai_answers_on_the_step_grid_with_zero_logical_latency(model):
    y, notes, st = render(model)
    assert st.ai_steps == pytest.approx(6.5 * SR / STEP, abs=1)
    assert st.ai_missed_deadlines == 0 and np.all(np.isfinite(y))
    on = ons(notes)
    assert on and {ch for _, ch, _ in on} <= {2, 3, 4}
    # every AI note starts at the first control tick of a step: at most 31 frames after it
    for f, _, _ in on:
        k = round(f / STEP) if f % STEP < STEP / 2 else int(f // STEP)
        assert 0 <= f - k * STEP < lib.RT_CONTROL_FRAMES, f
    # where the player starts a note, the AI's chord starts in the same step (no extra step of latency)
    starts = {int(f // STEP) for f, _, _ in on}
    assert all(i * 4 in starts for i in range(len(MELODY)) if i * 4 * STEP < 6.5 * SR) or len(starts) > len(MELODY)


def test_render_with_ai_is_deterministic_and_block_size_invariant(model):
    runs = [render(model, block=b, seconds=3.0) for b in (1, 64, 1024)]
    for y, notes, _ in runs[1:]:
        assert np.array_equal(y, runs[0][0]) and notes == runs[0][1]
    y2, notes2, _ = render(model, block=64, seconds=3.0)
    assert np.array_equal(y2, runs[1][0]) and notes2 == runs[1][1]


def test_seed_and_temperature(model):
    a = ons(render(model, seconds=3.0, temperature=0.0, seed=1)[1])
    b = ons(render(model, seconds=3.0, temperature=0.0, seed=99)[1])
    assert a == b                                   # temperature 0: always the likeliest token
    c = ons(render(model, seconds=3.0, temperature=1.5, top_k=0, seed=1)[1])
    d = ons(render(model, seconds=3.0, temperature=1.5, top_k=0, seed=2)[1])
    assert c != d                                   # sampling follows the seed


def test_voice_switches_and_transpose(model):
    base = ons(render(model, seconds=3.0, temperature=0.0)[1])
    no_alto = ons(render(model, seconds=3.0, temperature=0.0, alto=False)[1])
    assert not [x for x in no_alto if x[1] == 2] and [x for x in base if x[1] == 2]
    assert [x for x in no_alto if x[1] != 2] == [x for x in base if x[1] != 2]
    up = ons(render(model, seconds=3.0, temperature=0.0, transpose=12)[1])
    assert [(f, ch, n + 12) for f, ch, n in base] == up


def test_a_control_change_takes_effect_within_one_step(model):
    evs = melody_events() + [rc.Event.param_set("harm", "bass", False, time=int(10 * STEP) + 5)]
    _, notes, _ = render(model, seconds=4.0, events=evs, temperature=0.0)
    bass_on = [f for f, ch, _ in ons(notes, 4)]
    assert bass_on and max(bass_on) < 11 * STEP + lib.RT_CONTROL_FRAMES
    offs = [f for f, t, ch, n, v in notes if t == lib.RT_EV_NOTE_OFF and ch == 4]
    assert offs and max(offs) < 11 * STEP + lib.RT_CONTROL_FRAMES   # its note released at the next step


def sounding_counts(notes, channels):
    """How many AI notes sound after each event (in time order)."""
    live, counts = set(), []
    for f, t, ch, n, v in sorted(notes, key=lambda r: (r[0], r[1] == lib.RT_EV_NOTE_ON)):
        if ch not in channels:
            continue
        if t == lib.RT_EV_NOTE_ON:
            live.add((ch, n))
        else:
            live.discard((ch, n))
        counts.append(len(live))
    return counts


def test_styles(model):
    _, arp, _ = render(model, seconds=3.0, temperature=0.0, style="arpeggio")
    assert max(sounding_counts(arp, {2, 3, 4})) == 1            # one note of the chord at a time
    steps = sorted({int(f // STEP) for f, _, _ in ons(arp)})
    assert len(steps) > 0.8 * 3.0 * SR / STEP                   # density 1: (nearly) every 16th
    _, arp8, _ = render(model, seconds=3.0, temperature=0.0, style="arpeggio", density=0.5)
    assert all(s % 2 == 0 for s in {int(f // STEP) for f, _, _ in ons(arp8)})
    _, bp, _ = render(model, seconds=3.0, temperature=0.0, style="bass+pad", density=0.25)
    bass_steps = {int(f // STEP) for f, _, _ in ons(bp, 4)}
    assert bass_steps and all(s % 4 == 0 for s in bass_steps)    # quarter notes
    _, chorale, _ = render(model, seconds=3.0, temperature=0.0)
    assert len(ons(chorale, 4)) < len(bass_steps) + len(ons(chorale, 4)) + 1


def test_late_note_is_reharmonized_within_the_late_window(model):
    late = int(0.010 * SR)                                      # 10 ms after the step began
    _, notes, st = render(model, seconds=3.0, events=melody_events(late=late), temperature=0.0)
    assert st.ai_late_notes >= 1
    _, _, st0 = render(model, seconds=3.0, events=melody_events(late=late), temperature=0.0, late_window=0.0)
    assert st0.ai_late_notes == 0


def paced(model: str, seconds: float, block: int = 128, **ai_params):
    """Render in real time with freewheel off: the inference thread and deadlines apply."""
    with rc.Engine(SR, 1024) as e:
        e.load(graph(model, **ai_params))
        e.set_freewheel(False)
        e.send(melody_events(offset=4800))          # beat 0 is 0.1 s ahead: the AI pre-rolls
        e.send(rc.Event.transport(True, TEMPO, 4800))
        t0 = time.monotonic()
        out = []
        for k in range(int(seconds * SR) // block):
            out.append(e.render(block, block))
            lag = t0 + (k + 1) * block / SR - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        return np.concatenate(out), e.poll_notes(), e.stats()


def test_threaded_prediction_plays_what_the_offline_render_plays(model):
    _, notes, st = paced(model, 2.0, temperature=0.8, seed=7)
    assert st.ai_missed_deadlines == 0, "a 64-unit GRU step must be ready in time"
    evs = [e for e in melody_events(offset=4800)] + [rc.Event.transport(True, TEMPO, 4800)]
    _, offline, _ = render(model, seconds=2.0, events=evs, temperature=0.8, seed=7)
    assert ons(notes) == ons(offline)


def test_deadline_fallback_holds_the_chord_and_counts(slow_model):
    y, notes, st = paced(slow_model, 2.0)
    assert st.ai_missed_deadlines >= 5                # a 300 ms step model cannot keep up with 125 ms steps
    assert st.ai_steps >= 10 and np.all(np.isfinite(y))
    assert np.abs(y).max() > 0                        # the player's synth kept playing


def test_missing_model_is_a_patch_error(write_patch):
    p = write_patch('[[node]]\nname = "harm"\ntype = "ai"\nmodel = "nope.onnx"\nto = "choir"\n'
                    '[[node]]\nname = "choir"\ntype = "synth"\n')
    with pytest.raises(rc.PatchError, match=r"\[\[node\]\] 'harm'.*nope.onnx does not exist"):
        rc.load_patch(p)


def test_ai_to_must_name_an_instrument(write_patch, model, monkeypatch):
    monkeypatch.setenv("RTCORE_PATH", str(Path(model).parent))     # the model lies outside the patch's folder
    p = write_patch(f'[[node]]\nname = "harm"\ntype = "ai"\nmodel = "{model}"\nto = "verb"\n'
                    '[[node]]\nname = "verb"\ntype = "reverb"\n')
    with pytest.raises(rc.PatchError, match="cannot play notes"):
        rc.load_patch(p)


def test_corrupt_model_plays_without_the_ai(tmp_path, write_patch):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf" * 10)
    p = write_patch(f'[engine]\ntempo = 120\n[[node]]\nname = "harm"\ntype = "ai"\nchannel = 1\nmodel = "{bad}"\n'
                    'to = "choir"\n[[node]]\nname = "choir"\ntype = "synth"\n'
                    '[[node]]\nname = "lead"\ntype = "synth"\nchannel = 1\n')
    patch = rc.load_patch(p)
    with rc.Engine(SR, 1024) as e:
        with pytest.raises(rc.RtCoreError, match="bad.onnx"):
            e.load(patch.graph)                       # strict: the error, the old graph keeps playing
        e.load(patch.graph, ai_errors="warn")         # lenient: the rest of the patch plays
        assert len(e.warnings) == 1 and "bad.onnx" in e.warnings[0] and "without the AI" in e.warnings[0]
        y = e.render_events(melody_events(), SR, 128)
        assert np.abs(y).max() > 0.01 and e.stats().ai_steps == 0
    mid = tmp_path / "m.mid"
    import mido
    m = mido.MidiFile()
    t = mido.MidiTrack()
    t += [mido.Message("note_on", note=60, velocity=90, time=0), mido.Message("note_off", note=60, time=480)]
    m.tracks.append(t)
    m.save(str(mid))
    r = subprocess.run([sys.executable, "-m", "rtcore", "render", str(p), "--midi", str(mid), "--out",
                        str(tmp_path / "o.wav")], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and "bad.onnx" in r.stderr and "without the AI" in r.stderr
