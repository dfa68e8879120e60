"""Hot reload live: 100 reloads while a chord is held and a pattern repeats, played through
PortAudio's JACK host API into a dummy-clocked JACK server and recorded by an independent client.

The two patch variants differ in a float parameter (the pad's cutoff), so every node keeps its
state at every swap and only the cutoff glides. Checks:
  * no click at any swap: the largest sample-to-sample step within 10 ms of each swap is at most
    STEP_MARGIN (1.25) x the largest step of the steady signal, i.e. of the whole recording outside
    those windows. A cut held chord or a state jump is a step of the order of the chord's
    amplitude (~0.2 here), several times the steady signal's largest step (~0.03); the kept swap
    measures at or below the steady level (ratio printed).
  * stronger: the recording equals, bit for bit, an offline render of the same notes with plain
    parameter events setting the cutoff at the frames where the swaps happened (from the engine's
    RT_TM_GRAPH_SWAP telemetry) -- a reload that keeps every node IS a parameter move.
  * a broken patch loaded during playback raises and changes nothing: the bit-exact comparison
    covers the second after it, and its RMS equals the second before it within 2 %.
Where the server skipped cycles (xruns: NaN in the recording, the engine's clock simply did not
advance) the next stretch is re-aligned by whole periods, as in test_live_equals_offline.
"""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc
from rtcore.devices import JACK_HOST_API, resolve_device
from rtcore.engine import lib
from rtcore.live import play

from jack_helpers import PERIOD, SAMPLE_RATE, start_recording_on_first_tick

pytestmark = pytest.mark.e2e

SR = SAMPLE_RATE
CUTOFFS = (1200.0, 2400.0)          # the two variants
RELOADS = 100
STEP_MARGIN = 1.25
WIN = SR // 100                     # 10 ms
SECONDS = 8.0                       # playback; the test takes about 10 s


def variant(k: int) -> rc.GraphSpec:
    return rc.GraphSpec(
        nodes=[rc.NodeSpec("pad", "synth", {"wave": 0.0, "cutoff": CUTOFFS[k % 2], "voices": 6.0,
                                            "attack": 20.0, "level": -14.0, "env_amount": 0.0}, channel=1),
               rc.NodeSpec("pluck", "synth", {"wave": 2.0, "attack": 2.0, "decay": 120.0, "sustain": 0.2,
                                              "release": 60.0, "level": -12.0}, channel=2),
               rc.NodeSpec("room", "reverb", {"mix": 0.25, "decay": 1.5})],
        connections=[("pad", "room")])


def events() -> list[rc.Event]:
    evs = [rc.Event.note_on(n, 90, 1, 0) for n in (48, 55, 64)]            # held to the end
    step = SR // 8
    for k in range(int(5.5 * SR) // step):                                  # 8 notes a second
        n = (72, 76, 79, 76)[k % 4]
        evs += [rc.Event.note_on(n, 100, 2, k * step + 7), rc.Event.note_off(n, 2, k * step + SR // 16)]
    return evs


def finite_runs(x: np.ndarray) -> list[tuple[int, int]]:
    ok = np.isfinite(x).astype(np.int8)
    d = np.diff(np.concatenate([[0], ok, [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def align(x: np.ndarray, ref: np.ndarray, shift: int) -> list[tuple[int, int, int]]:
    """Each finite stretch [a, b) of the recording x matched bit-exactly to ref[a - s:b - s];
    returns (a, b, s). Fails the test if a stretch matches nowhere."""
    out = []
    for a, b in finite_runs(x):
        a = max(a, shift)
        b = min(b, len(ref) + shift - 17 * PERIOD)         # the recording runs past the render's end
        if b - a < PERIOD:
            continue
        for k in sorted(range(-16, 17), key=abs):
            s = shift + k * PERIOD
            if a - s >= 0 and b - s <= len(ref) and np.array_equal(x[a:b], ref[a - s:b - s]):
                out.append((a, b, s))
                shift = s
                break
        else:
            lo = a - shift
            d = np.abs(x[a:b][:max(0, len(ref) - lo)] - ref[lo:lo + b - a])
            pytest.fail(f"recorded frames {a}..{b} match the offline render nowhere "
                        f"(max difference at the expected place {d.max() if d.size else 'n/a'})")
    return out


def test_100_reloads_while_playing_make_no_click_and_a_broken_patch_changes_nothing(jack_server, recorder):
    dev = resolve_device(None, JACK_HOST_API)
    before = recorder.output_ports()
    record = start_recording_on_first_tick(recorder, before)
    state = {"reloads": 0, "broken_at": None, "error": None, "last": 0}

    def on_tick(engine: rc.Engine, pos: int):
        record(engine, pos)
        if pos > 0.3 * SR and state["reloads"] < RELOADS:
            state["reloads"] += 1
            engine.load(variant(state["reloads"]))
            assert len(engine.kept) == 4                     # master, pad, pluck, room
        elif state["reloads"] == RELOADS and state["broken_at"] is None and pos > 6.6 * SR:
            broken = variant(0)
            broken.nodes.append(rc.NodeSpec("x", "theremin"))
            try:
                engine.load(broken)
            except rc.NotFoundError as exc:
                state["error"] = exc
            state["broken_at"] = engine.frame_now()
        return None

    with rc.Engine(SR, 1024) as e:
        e.load(variant(0))
        st = play(e, events=events(), seconds=SECONDS, device=dev, block=PERIOD, on_tick=on_tick, quiet=True,
                  lead_blocks=150)                         # 0.4 s: the recorder is connected before the chord
        live = recorder.stop()
        swaps = [(f, gen, int(v)) for f, kind, gen, v in e.telemetry(1024) if kind == lib.RT_TM_GRAPH_SWAP]
        base = st.transport_origin
    assert state["reloads"] == RELOADS and isinstance(state["error"], rc.NotFoundError)
    assert st.graph_swaps == RELOADS + 1 and len(swaps) == RELOADS + 1
    assert all(kept == 4 for _, _, kept in swaps[1:]), "every node keeps its state at every swap"
    assert st.events_late == 0 and st.events_dropped == 0 and st.nonfinite_blocks == 0

    # offline: the same notes, and the cutoff set by parameter events where the swaps happened; up
    # to 0.1 s before playback ended (play() then sends all-notes-off)
    evs = [rc.Event(ev.type, base + ev.time, ev.channel, ev.data1, ev.data2) for ev in events()]
    evs += [rc.Event.param_set("pad", "cutoff", CUTOFFS[(gen - 1) % 2], f) for f, gen, _ in swaps[1:]]
    with rc.Engine(SR, 1024) as off:
        off.load(variant(0))
        ref = off.render_events(evs, base + int((SECONDS - 0.1) * SR), block=PERIOD)

    x, r = live[:, 0].astype(np.float32), ref[:, 0]
    first_live = int(np.flatnonzero(np.nan_to_num(x) != 0)[0])
    first_ref = int(np.flatnonzero(r != 0)[0])
    runs = align(x, r, first_live - first_ref)
    matched = sum(b - a for a, b, _ in runs)
    assert matched > 5.0 * SR, f"only {matched} frames compared (server xruns {recorder.xruns})"

    # discontinuities at the swaps, on the recording
    def rec_index(frame: int) -> int | None:
        for a, b, s in runs:
            if a <= frame + s - WIN and frame + s + WIN <= b:
                return frame + s
        return None

    at = [i for i in (rec_index(f) for f, _, _ in swaps[1:]) if i is not None]
    assert len(at) >= 0.8 * RELOADS, f"only {len(at)} swaps fall in recorded stretches"
    steps = np.abs(np.diff(x))
    near = np.zeros(len(x), bool)
    for i in at:
        near[i - WIN:i + WIN] = True
    inside = np.zeros(len(x), bool)
    for a, b, _ in runs:
        inside[a + 1:b] = True
    steady = float(steps[(inside & ~near)[1:]].max())
    worst = max(float(steps[i - WIN:i + WIN].max()) for i in at)
    assert worst <= STEP_MARGIN * steady, f"a step of {worst:.4f} at a swap; the steady signal's largest is {steady:.4f}"

    # the broken patch: raised, and the level did not move
    assert state["broken_at"] + SR // 2 < len(r), "the reloads took too long to leave time for the broken patch"
    k = rec_index(state["broken_at"])
    assert k is not None and k + SR // 2 < len(x)
    rms = [float(np.sqrt(np.nanmean(x[s:s + SR // 2].astype(np.float64) ** 2))) for s in (k - SR // 2, k)]
    assert abs(rms[1] / rms[0] - 1) < 0.02, rms
    print(f"\n[live reload] {RELOADS} reloads, {len(at)} swaps checked: largest step at a swap {worst:.4f}, "
          f"steady {steady:.4f} (ratio {worst / steady:.2f}); {matched} frames bit-identical to the offline "
          f"render with parameter events; RMS around the broken load {rms[0]:.4f} -> {rms[1]:.4f}; "
          f"server xruns {recorder.xruns}")
