"""The tone node (test tone / tuning reference), offline: pitch, level, switching, and
bit-exact block-size invariance."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc

SR = 48000


def render(params: dict, frames: int = SR, block: int = 128, events=()) -> np.ndarray:
    with rc.Engine(SR, 1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone", params)], master={"enabled": 0.0}))
        return e.render_events(list(events), frames, block=block)


def peak_freq(x: np.ndarray) -> float:
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / len(x)


def test_param_table():
    nt = rc.node_types()["tone"]
    assert nt.param_names() == ["freq", "level", "enabled"]
    f, lv, en = (nt.param(n) for n in ("freq", "level", "enabled"))
    assert (f.unit, f.min, f.max, f.default, f.kind) == ("Hz", 20.0, 20000.0, 1000.0, "float")
    assert (lv.unit, lv.min, lv.max, lv.default, lv.kind) == ("dB", -96.0, 0.0, -12.0, "float")
    assert (en.min, en.max, en.default, en.kind) == (0.0, 1.0, 1.0, "bool")


@pytest.mark.parametrize("freq,level", [(1000.0, -12.0), (440.0, -6.0), (17000.0, -20.0), (20.0, 0.0)])
def test_pitch_and_level(freq, level):
    y = render({"freq": freq, "level": level})
    assert np.array_equal(y[:, 0], y[:, 1])
    assert abs(peak_freq(y[:, 0]) - freq) < 0.01 * max(1.0, freq / 100)
    peak = 20 * np.log10(np.abs(y[:, 0]).max())
    assert abs(peak - level) < 0.05 if freq < 10000 else abs(peak - level) < 0.3


def test_exact_sine_from_phase_zero():
    y = render({"freq": 1000.0, "level": -12.0}, frames=4800)[:, 0]
    n = np.arange(4800)
    ideal = 10 ** (-12 / 20) * np.sin(2 * np.pi * 1000.0 * n / SR)
    assert np.abs(y - ideal).max() < 1e-6


def test_switch_on_off_is_ramped_and_restarts_phase():
    on, off = 9600, 19200
    ev = [rc.Event.param_set("t", "enabled", True, time=on), rc.Event.param_set("t", "enabled", False, time=off)]
    y = render({"enabled": 0.0}, frames=28800, events=ev)[:, 0]
    assert np.all(y[:on + 1] == 0.0)                    # silent, then sin(0) * 0 at the switch-on
    d = np.abs(np.diff(y))
    assert d.max() < 0.25 * 2 * np.pi * 1000 / SR * 1.01   # never steeper than the sine itself: no click
    assert np.all(y[off + 32:] == 0.0)                  # off within one control period (32 frames)
    n = np.arange(on + 32, off)
    ideal = 10 ** (-12 / 20) * np.sin(2 * np.pi * 1000.0 * (n - on) / SR)
    assert np.abs(y[on + 32:off] - ideal).max() < 1e-6    # after the ramp: the sine from phase 0


def test_level_floor_is_silence():
    assert np.all(render({"level": -96.0}, frames=4800) == 0.0)


def test_block_size_invariance():
    ev = [rc.Event.param_set("t", "freq", 3000.0, time=5000), rc.Event.param_set("t", "level", -3.0, time=7001),
          rc.Event.param_set("t", "enabled", False, time=15003)]
    outs = [render({}, frames=20000, block=b, events=ev) for b in (1, 64, 1024)]
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
