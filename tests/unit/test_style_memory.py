"""The style memory (csrc/nodes/style_memory.c): the AI learns the player's phrases while it
plays and, at `personal` = 1, its memory voice answers with them; at 0 nothing of them."""
from __future__ import annotations

import pytest

import rtcore as rc
from rtcore.engine import lib

pytest.importorskip("onnx", reason="the test models are built with onnx.helper")
import ai_models  # noqa: E402  (tests/unit)

SR = 48000
TEMPO = 120.0
STEP = SR * 60 / TEMPO / 4                      # 6000 frames per 16th
PHRASE = [60, 64, 67, 72, 71, 67, 64, 62]       # eighth notes: one bar


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(ai_models.make_gru_model(tmp_path_factory.mktemp("m") / "gru.onnx", layers=1, hidden=64, seed=5))


def phrase_then_silence() -> list[rc.Event]:
    evs = [rc.Event.transport(True, TEMPO, 0)]
    for i, n in enumerate(PHRASE):
        start = int(i * 2 * STEP)
        evs += [rc.Event.note_on(n, 100, 1, start), rc.Event.note_off(n, 1, start + int(2 * STEP) - 100)]
    return evs


def voice_pitches(model: str, seconds: float = 8.0, block: int = 128, **params) -> list[int]:
    ai = rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": model})
    t = rc.node_types()["ai"]
    ai.params = {k: t.param(k).coerce(v) for k, v in {"temperature": 0.8, **params}.items()}
    g = rc.GraphSpec(nodes=[rc.NodeSpec("lead", "synth", {}, channel=1), ai,
                            rc.NodeSpec("choir", "synth", {}, channel=0)],
                     event_connections=[("harm", "choir")], master={"enabled": 0.0})
    voice = int(params.get("memory_voice", 0))
    with rc.Engine(SR, 1024) as e:
        e.load(g)
        e.render_events(phrase_then_silence(), int(seconds * SR), block=block)
        notes = e.poll_notes()
    return [n for f, typ, ch, n, v in sorted(notes) if typ == lib.RT_EV_NOTE_ON and ch == 2 + voice]


def longest_run_of(phrase: list[int], played: list[int]) -> int:
    """The longest stretch of consecutive phrase notes that ``played`` plays consecutively."""
    best = 0
    for i in range(len(played)):
        for j in range(len(phrase)):
            k = 0
            while i + k < len(played) and j + k < len(phrase) and played[i + k] == phrase[j + k]:
                k += 1
            best = max(best, k)
    return best


def test_personal_1_plays_back_the_phrase_just_heard(model):
    played = voice_pitches(model, personal=1.0)
    assert longest_run_of(PHRASE, played) == len(PHRASE), played
    # it goes on answering after the player stopped (the phrase comes back after a bar's rest)
    assert sum(1 for i in range(len(played)) if played[i:i + len(PHRASE)] == PHRASE) >= 2, played


def test_personal_0_plays_none_of_it(model):
    played = voice_pitches(model, personal=0.0)
    assert played, "the model plays on its own"
    assert longest_run_of(PHRASE, played) <= 2, played


def test_personal_0_is_the_model_unchanged(model):
    """personal = 0 takes no coin from the RNG: the same notes as without the parameter."""
    assert voice_pitches(model, personal=0.0) == voice_pitches(model)


def test_memory_voice_plays_the_phrase_in_its_own_register(model):
    played = voice_pitches(model, personal=1.0, memory_voice=2)             # bass: two octaves down
    assert longest_run_of([p - 24 for p in PHRASE], played) == len(PHRASE), played


def test_a_blend_mixes_memory_and_model(model):
    played = voice_pitches(model, seconds=12.0, personal=0.5)
    run = longest_run_of(PHRASE, played)
    assert 2 <= run, played                                  # fragments of the phrase come through
    assert any(p not in PHRASE for p in played), played     # and the model's own notes


def test_the_memory_scan_stays_bounded_on_a_full_memory(model):
    """Minutes of playing (the ring full and wrapping) at personal = 1 on the audio thread
    (offline = inline): it renders, and the voice still answers."""
    evs = [rc.Event.transport(True, 240.0, 0)]
    step = SR * 60 / 240.0 / 4
    for i in range(2600):                                    # > RT_MEM_STEPS / 2 notes of 2 steps
        n = PHRASE[i % len(PHRASE)] + (i // 97) % 5
        evs += [rc.Event.note_on(n, 100, 1, int(i * 2 * step)), rc.Event.note_off(n, 1, int((i * 2 + 1.5) * step))]
    ai = rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": model})
    ai.params = {"personal": 1.0}
    g = rc.GraphSpec(nodes=[ai, rc.NodeSpec("choir", "synth", {}, channel=0)],
                     event_connections=[("harm", "choir")], master={"enabled": 0.0})
    notes: list = []
    with rc.Engine(SR, 1024) as e:
        e.load(g)
        e.render_events(evs, int(2600 * 2 * step) + SR, block=256,
                        progress=lambda done: notes.extend(e.poll_notes()))      # drain every second
        notes += e.poll_notes()
        st = e.stats()
    assert st.ai_steps >= 5200 and st.ai_missed_deadlines == 0 and st.notes_out_dropped == 0
    late = [n for f, typ, ch, n, v in notes if typ == lib.RT_EV_NOTE_ON and ch == 2 and f > 2400 * 2 * step]
    assert len(late) > 50, late                         # still answering with the ring wrapped
