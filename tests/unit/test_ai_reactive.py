"""The AI node's `follow = reactive` mode: every new note-on re-harmonizes at its own sample,
wherever it falls in the 16th step, with the same harmony the grid mode gives a note played
on the step; offline renders are block-size invariant and the inference thread plays what the
offline render plays."""
from __future__ import annotations

import time

import numpy as np
import pytest

import rtcore as rc
from rtcore.engine import lib

pytest.importorskip("onnx", reason="the test models are built with onnx.helper")
import ai_models  # noqa: E402  (tests/unit)

SR = 48000
TEMPO = 120.0
STEP = 6000                          # frames per 16th at 120 BPM, 48 kHz
TICK = lib.RT_CONTROL_FRAMES
AI_CHANNELS = {2, 3, 4}
PITCHES = [60, 64, 67, 62, 65, 69, 59, 72, 57, 71, 64, 60, 67, 74, 62, 66]
# offsets into the note's step: on the step's tick, just after it, inside the 30 ms late
# window, past it, anywhere up to the last frame; odd steps start 16 frames before their tick
# (6000 % 32 == 16), so offset 5 on an odd step lands between the boundary and the tick
OFFSETS = [0, 1, 5, 17, 31, 333, 1439, 1441, 2000, 2999, 3001, 4321, 5000, 5555, 5983, 5999]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(ai_models.make_gru_model(tmp_path_factory.mktemp("m") / "gru.onnx", layers=1, hidden=64, seed=5))


def graph(model: str, **ai_params) -> rc.GraphSpec:
    ai = rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": model})
    t = rc.node_types()["ai"]
    ai.params = {k: t.param(k).coerce(v) for k, v in ai_params.items()}
    return rc.GraphSpec(nodes=[rc.NodeSpec("lead", "synth", {"wave": 3.0}, channel=1), ai,
                               rc.NodeSpec("choir", "synth", {"wave": 2.0}, channel=0)],
                        event_connections=[("harm", "choir")], master={"enabled": 0.0})


def player(offsets=OFFSETS, origin: int = 0, on_step: bool = False) -> list[tuple[int, int, int]]:
    """(note-on frame, note-off frame, pitch): a note every 3 steps, each at its own offset
    into its step (or, with on_step, moved to its step's first frame), held ~1.7 steps."""
    out = []
    for i, offset in enumerate(offsets):
        step = 3 * i + 1 + (i % 2)                 # odd and even steps
        on = origin + step * STEP + (0 if on_step else offset)
        off = origin + step * STEP + offset + 10_000
        out.append((on, off, PITCHES[i % len(PITCHES)]))
    return out


def events(notes, origin: int = 0) -> list[rc.Event]:
    evs = [rc.Event.transport(True, TEMPO, origin)]
    for on, off, pitch in notes:
        evs += [rc.Event.note_on(pitch, 100, 1, on), rc.Event.note_off(pitch, 1, off)]
    return evs


def render(model: str, notes, block: int = 128, **ai_params):
    frames = max(off for _, off, _ in notes) + 2 * STEP
    with rc.Engine(SR, 1024) as e:
        e.load(graph(model, **ai_params))
        e.render_events(events(notes), frames, block=block)
        return [r for r in e.poll_notes() if r[2] in AI_CHANNELS], e.stats()


def sounding_at(ai_notes, frame: int) -> set[tuple[int, int]]:
    """The AI notes (channel, pitch) sounding after every event before `frame` (emission order)."""
    live: set[tuple[int, int]] = set()
    for f, t, ch, n, _ in ai_notes:
        if f >= frame:
            break
        if t == lib.RT_EV_NOTE_ON:
            live.add((ch, n))
        else:
            live.discard((ch, n))
    return live


def next_tick(frame: int) -> int:
    return -(-frame // TICK) * TICK


def test_each_note_is_reharmonized_at_its_own_frame(model):
    notes = player()
    ai, st = render(model, notes, follow="reactive", temperature=0.8, seed=3)
    assert st.ai_missed_notes == 0 and st.ai_missed_deadlines == 0
    frames = [f for f, *_ in ai]
    assert frames == sorted(frames)
    answered = 0
    for on, _, _ in notes:
        step = on // STEP
        step_end = next_tick((step + 1) * STEP)          # where the grid begins the next step
        here = [r for r in ai if r[0] == on]
        later = [r for r in ai if on < r[0] < step_end]
        assert not later, f"note at {on}: the AI answered late, at {later[0][0]}"
        answered += bool(here)
    # a re-pick whose row holds every voice changes nothing: allow a few such notes
    assert answered >= 0.75 * len(notes), f"only {answered} of {len(notes)} notes answered at their frame"
    # the notes that landed after their step's first tick were re-picks
    repicks = sum(1 for on, _, _ in notes if on > next_tick(on // STEP * STEP))
    assert st.ai_late_notes >= 0.75 * repicks > 0


def test_reactive_harmony_is_the_grid_harmony_of_the_notes_step(model):
    """At the end of every step the AI sounds what the grid mode sounds when each note is
    played on its step: the re-pick used that step's row and the model's state followed it."""
    params = dict(temperature=0.8, seed=3)
    reactive, _ = render(model, player(), follow="reactive", **params)
    grid, _ = render(model, player(on_step=True), follow="grid", **params)
    last = max(f for f, *_ in grid) // STEP + 2
    for k in range(1, last):
        assert sounding_at(reactive, k * STEP) == sounding_at(grid, k * STEP), f"end of step {k - 1}"
    # and the same notes, later: reactive answers are not on the grid, the grid's are
    assert any(f % TICK for f, *_ in reactive) and not any(f % TICK for f, *_ in grid)


def test_reactive_render_is_block_size_invariant(model):
    notes = player()
    runs = [render(model, notes, block=b, follow="reactive", temperature=0.8, seed=3)[0] for b in (1, 37, 128, 1024)]
    assert runs[0] and all(r == runs[0] for r in runs[1:])


def test_grid_mode_is_unchanged_by_offgrid_notes(model):
    """Grid mode: the AI answers only on control ticks (a late note inside the window re-picks
    at the next tick), whatever the offsets; `follow = grid` is the default."""
    notes = player()
    default, _ = render(model, notes, temperature=0.8, seed=3)
    grid, st = render(model, notes, follow="grid", temperature=0.8, seed=3)
    assert default == grid and grid
    assert all(f % TICK == 0 for f, *_ in grid)
    assert st.ai_missed_notes == 0


def paced(model: str, notes, origin: int, seconds: float, block: int = 128, **ai_params):
    """Render in real time with freewheel off: the inference thread serves the re-picks."""
    with rc.Engine(SR, 1024) as e:
        e.load(graph(model, **ai_params))
        e.set_freewheel(False)
        e.send(events(notes, origin))
        t0 = time.monotonic()
        for k in range(int(seconds * SR) // block):
            e.render(block, block)
            lag = t0 + (k + 1) * block / SR - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        return [r for r in e.poll_notes() if r[2] in AI_CHANNELS], e.stats()


def test_threaded_reactive_plays_what_the_offline_render_plays(model):
    origin = 4800                                   # beat 0 0.1 s ahead: the thread pre-rolls
    # past the 30 ms window (after the commit), and at least 21 ms before the next step: a
    # note in the step's last block leaves the thread no time to redo the next step (the
    # next step then holds its chord, counted in ai_missed_deadlines)
    notes = player(OFFSETS[7:13], origin=origin)
    seconds = (max(off for _, off, _ in notes) + STEP) / SR
    live, st = paced(model, notes, origin, seconds, follow="reactive", temperature=0.8, seed=7)
    assert st.ai_missed_deadlines == 0 and st.ai_missed_notes == 0, "a 64-unit GRU step must be ready in time"
    frames = int(seconds * SR) // 128 * 128
    with rc.Engine(SR, 1024) as e:
        e.load(graph(model, follow="reactive", temperature=0.8, seed=7))
        e.render_events(events(notes, origin), frames, block=128)
        offline = [r for r in e.poll_notes() if r[2] in AI_CHANNELS]
    # these re-picks came after the commit: the thread was asked again for the next step,
    # from the new pick (else the next steps would follow the discarded row's state)
    assert live and live == offline and st.ai_late_notes >= len(notes) - 1


def tok(pitch: int) -> int:
    return 2 + pitch - 28                          # RT_AI_PITCH0 + pitch - RT_AI_PITCH_LO


@pytest.fixture(scope="module")
def lookup(tmp_path_factory) -> str:
    """Held melody: alto 72; rest: alto 79; a new pitch p: alto holds, tenor p-12, bass p-24."""
    table = {1: (tok(72), 1, 1), 0: (tok(79), 1, 1)}
    table.update({tok(p): (1, tok(p - 12), tok(p - 24)) for p in range(52, 90)})
    return str(ai_models.make_lookup_model(tmp_path_factory.mktemp("m") / "lookup.onnx", table))


@pytest.mark.parametrize("follow,late", [("reactive", 3000), ("grid", 480)])
def test_a_repick_holds_the_previous_steps_chord_not_the_discarded_rows(lookup, follow, late):
    """Step 4 begins on a rest (alto 79); the note 10 or 62 ms later re-picks the row of its
    pitch, whose alto holds: the alto of step 3 (72) sounds again, not the discarded 79."""
    notes = [(1 * STEP, 3 * STEP + 100, 60), (4 * STEP + late, 6 * STEP, 62)]
    ai, st = render(lookup, notes, follow=follow, temperature=0.0)
    assert sounding_at(ai, 4 * STEP + 100) == {(2, 79), (3, 48), (4, 36)}    # the rest's row
    assert sounding_at(ai, 5 * STEP) == {(2, 72), (3, 50), (4, 38)}          # re-picked
    assert st.ai_late_notes == 1
