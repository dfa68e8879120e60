"""The AI accompanies a melody live: PortAudio -> JACK dummy server, the inference thread
predicting ahead, every step ready by its deadline, the choir audible in the recording."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore.devices import JACK_HOST_API, resolve_device
from rtcore.live import play

from jack_helpers import PERIOD, SAMPLE_RATE, start_recording_on_first_tick

pytestmark = pytest.mark.e2e
pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
import ai_models  # noqa: E402


def test_ai_accompanies_live_without_missing_a_deadline(jack_server, recorder, tmp_path):
    model = ai_models.make_gru_model(tmp_path / "gru.onnx", layers=2, hidden=128, seed=1)
    spec = rc.GraphSpec(nodes=[rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": str(model)}),
                               rc.NodeSpec("choir", "synth", {"wave": 2.0}, channel=0)],
                        event_connections=[("harm", "choir")], master={"enabled": 0.0})
    step = SAMPLE_RATE * 60 / 120 / 4
    events = []
    for i, n in enumerate([60, 64, 67, 72, 71, 67, 64, 62]):
        events += [rc.Event.note_on(n, 100, 1, int(i * 4 * step)), rc.Event.note_off(n, 1, int((i * 4 + 3) * step))]
    before = recorder.output_ports()
    on_tick = start_recording_on_first_tick(recorder, before)

    with rc.Engine(SAMPLE_RATE, 1024) as e:
        e.tempo = 120.0
        e.load(spec)
        st = play(e, events=events, seconds=3.0, device=resolve_device(None, JACK_HOST_API), block=PERIOD,
                  on_tick=on_tick, quiet=True)
        y = recorder.stop()
    assert st.ai_steps >= 20
    assert st.ai_missed_deadlines == 0
    assert st.notes_out > 0 and st.notes_out_dropped == 0
    x = np.nan_to_num(y[:, 0])
    assert np.sqrt(np.mean(x ** 2)) > 1e-3          # the AI's choir is heard
    print(f"\n[live AI] {st.ai_steps} steps, {st.notes_out} notes, 0 missed deadlines; "
          f"callback p99 {st.cb_p99_us:.0f} µs, max {st.cb_max_us:.0f} µs")
