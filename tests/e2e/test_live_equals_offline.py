"""Live and offline produce the same samples for the same events.

The keys patch plays a phrase live through PortAudio's JACK host API into a dummy-clocked
JACK server and an independent JACK client records it; the same events are rendered
offline. Once aligned on the first note, the recording must equal the offline render bit
for bit. Where the server skipped cycles (an xrun: the recorder's frames are NaN there and
rtcore's clock simply did not advance), the next stretch is re-aligned by whole periods and
must again match exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore.devices import JACK_HOST_API, resolve_device
from rtcore.live import play
from rtcore.patch import load_patch

from jack_helpers import PERIOD, SAMPLE_RATE, start_recording_on_first_tick

pytestmark = pytest.mark.e2e
PATCH = Path(__file__).resolve().parents[2] / "patches" / "keys.toml"


def phrase() -> list[rc.Event]:
    sr = SAMPLE_RATE
    notes = [(0.00, 0.40, 60), (0.25, 0.60, 64), (0.50, 0.70, 67), (1.00, 0.50, 72), (1.20, 0.40, 71)]
    evs = []
    for start, length, note in notes:
        evs.append(rc.Event.note_on(note, 90, time=int(start * sr) + 5))     # off the 32-frame grid
        evs.append(rc.Event.note_off(note, time=int((start + length) * sr) + 17))
    evs.append(rc.Event.param_set("keys", "cutoff", 4000.0, time=int(0.8 * sr) + 3))
    return evs


def runs_of_finite(x: np.ndarray) -> list[tuple[int, int]]:
    ok = np.isfinite(x).astype(np.int8)
    d = np.diff(np.concatenate([[0], ok, [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def test_live_recording_equals_offline_render(jack_server, recorder):
    patch = load_patch(PATCH)
    seconds = 2.5
    with rc.Engine(SAMPLE_RATE, 1024) as e:
        e.load(patch.graph)
        offline = e.render_events(phrase(), int(seconds * SAMPLE_RATE), block=PERIOD)

    dev = resolve_device(None, JACK_HOST_API)
    before = recorder.output_ports()
    on_tick = start_recording_on_first_tick(recorder, before)

    with rc.Engine(SAMPLE_RATE, 1024) as e:
        e.load(patch.graph)
        st = play(e, events=phrase(), seconds=seconds, device=dev, block=PERIOD, on_tick=on_tick, quiet=True,
                  lead_blocks=150)      # 0.4 s: the recorder is connected before the first note
        live = recorder.stop()
    assert st.events_late == 0 and st.events_dropped == 0
    assert np.all(np.nan_to_num(live[:PERIOD]) == 0.0), "recording started after the phrase"

    for ch in (0, 1):
        x, ref = live[:, ch], offline[:, ch]
        first_live = int(np.flatnonzero(np.nan_to_num(x) != 0)[0])
        first_ref = int(np.flatnonzero(ref != 0)[0])
        shift = first_live - first_ref            # recording frame = offline frame + shift
        matched = 0
        for a, b in runs_of_finite(x):
            a = max(a, first_live)
            b = min(b, len(ref) + shift - 17 * PERIOD)     # the recording runs past the render's end
            if b - a < PERIOD:
                continue
            seg = x[a:b]
            for k in sorted(range(-16, 17), key=abs):
                cand = shift + k * PERIOD
                lo, hi = a - cand, b - cand
                if lo >= 0 and hi <= len(ref) and np.array_equal(seg, ref[lo:hi]):
                    shift, matched = cand, matched + (b - a)
                    break
            else:
                lo = a - shift
                diff = np.abs(seg[: max(0, min(len(seg), len(ref) - lo))] - ref[lo:lo + len(seg)])
                pytest.fail(f"channel {ch}: recorded frames {a}..{b} match no offline stretch "
                            f"(max difference at the expected place {diff.max() if diff.size else 'n/a'})")
        # most of the phrase was compared (the recorder misses a little around server xruns)
        assert matched > 1.2 * SAMPLE_RATE, f"only {matched} frames compared"
    print(f"\n[live == offline] {matched} frames bit-identical; server xruns {recorder.xruns}")
