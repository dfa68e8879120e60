"""The monophonic ``bass`` node: pitch, glide timing, sub-oscillator, note-stack priority,
legato, the filter, event timing and numeric hygiene -- all analytic."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc
from test_synth import SR, amp_at, cents, hz, no_subnormals, peak_freq

CLEAN = {"cutoff": 20000.0, "resonance": 0.0, "env_amount": 0.0, "level": 0.0, "velocity_sens": 0.0,
         "attack": 0.0, "decay": 0.0, "sustain": 1.0, "sub_level": 0.0, "release": 20.0}
WAVES = {"saw": 0.0, "square": 1.0, "sine": 2.0}


def render(params, events, frames, block=128):
    with rc.Engine(sample_rate=SR, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("b", "bass", params)], master={"enabled": 0.0}))
        y = e.render_events(events, frames, block=block)
        assert e.stats().nonfinite_blocks == 0
    assert np.array_equal(y[:, 0], y[:, 1])                  # mono in both channels
    return y[:, 0].astype(np.float64)


def upward_crossings(x):
    """Times (fractional samples) where x crosses zero going up, linearly interpolated."""
    i = np.flatnonzero((x[:-1] < 0) & (x[1:] >= 0))
    return i + x[i] / (x[i] - x[i + 1])


@pytest.mark.parametrize("wave", ["sine", "saw", "square"])
@pytest.mark.parametrize("note", [28, 40, 55])
def test_pitch_within_a_tenth_of_a_cent(wave, note):
    y = render({**CLEAN, "wave": WAVES[wave]}, [rc.Event.note_on(note, 100, time=0)], 4 * SR)
    f = peak_freq(y[SR // 10:], lo=hz(note) * 0.9, hi=hz(note) * 1.1)
    assert abs(cents(f, hz(note))) < 0.1


def test_glide_is_linear_in_pitch_and_takes_the_stated_time():
    glide_ms, t = 100.0, 24000
    N = round(glide_ms * SR / 1000)
    ev = [rc.Event.note_on(40, 100, time=0), rc.Event.note_on(52, 100, time=t)]
    y = render({**CLEAN, "wave": WAVES["sine"], "glide": glide_ms}, ev, t + N + SR // 2)
    zc = upward_crossings(y)
    mid, f = 0.5 * (zc[1:] + zc[:-1]), SR / np.diff(zc)

    def model(s):                                            # note number at sample s
        j = np.clip(s - t + 1, 0, N)
        return 40 + 12 * j / N
    sel = mid > 2000
    want = hz(model(mid[sel]))
    assert np.abs(f[sel] / want - 1).max() < 0.005
    # still on the way 5 ms before the end, exactly there right after it
    late = (mid > t + N - 400) & (mid < t + N - 240)
    assert np.all(f[late] < hz(52) * 0.985)
    assert abs(cents(peak_freq(y[t + N:]), hz(52))) < 0.1
    assert abs(cents(peak_freq(y[2000:t]), hz(40))) < 0.1


def test_no_glide_jumps_at_once():
    ev = [rc.Event.note_on(40, 100, time=0), rc.Event.note_on(52, 100, time=24000)]
    y = render({**CLEAN, "wave": WAVES["sine"]}, ev, 24000 + SR // 2)
    zc = upward_crossings(y[24000:])
    assert abs(SR / (zc[2] - zc[1]) / hz(52) - 1) < 0.002


@pytest.mark.parametrize("sub_wave", ["square", "sine"])
def test_sub_oscillator_adds_the_octave_below(sub_wave):
    p = {**CLEAN, "wave": WAVES["sine"], "sub_wave": 0.0 if sub_wave == "square" else 1.0}
    f = hz(45)
    y0 = render({**p, "sub_level": 0.0}, [rc.Event.note_on(45, 100, time=0)], SR)[4800:]
    y1 = render({**p, "sub_level": 1.0}, [rc.Event.note_on(45, 100, time=0)], SR)[4800:]
    assert amp_at(y0, f / 2) < 1e-4
    assert amp_at(y1, f) == pytest.approx(1.0, abs=0.02)
    if sub_wave == "sine":
        assert amp_at(y1, f / 2) == pytest.approx(1.0, abs=0.02)
        assert amp_at(y1, 1.5 * f) < 1e-3
    else:                                                    # square: 4/pi, 4/(3 pi) at 3x
        assert amp_at(y1, f / 2) == pytest.approx(4 / np.pi, rel=0.02)
        assert amp_at(y1, 1.5 * f) == pytest.approx(4 / (3 * np.pi), rel=0.03)
    assert abs(cents(peak_freq(y1, hi=0.75 * f), f / 2)) < 0.1


def test_last_note_priority_with_a_note_stack():
    R = round(20 * SR / 1000)
    ev = [rc.Event.note_on(48, 100, time=0), rc.Event.note_on(55, 100, time=10000),
          rc.Event.note_on(60, 100, time=20000), rc.Event.note_off(60, time=30000),
          rc.Event.note_off(55, time=40000), rc.Event.note_on(52, 100, time=50000),
          rc.Event.note_off(48, time=60000), rc.Event.note_off(52, time=70000)]
    y = render({**CLEAN, "wave": WAVES["sine"]}, ev, 80000)
    segments = [(0, 48), (10000, 55), (20000, 60), (30000, 55), (40000, 48), (50000, 52), (60000, 52)]
    for start, note in segments:
        seg = y[start + 1000:start + 10000]
        assert abs(cents(peak_freq(seg), hz(note))) < 1.0, (start, note)
        assert amp_at(seg, hz(note)) == pytest.approx(1.0, abs=0.02)
    assert np.all(y[70000 + R:] == 0.0) and np.any(y[70000 + R - 20:70000 + R] != 0.0)


@pytest.mark.parametrize("legato", [0.0, 1.0])
def test_legato_does_not_retrigger_while_a_note_is_held(legato):
    p = {**CLEAN, "wave": WAVES["sine"], "attack": 10.0, "decay": 20.0, "sustain": 0.5, "legato": legato}
    t = 9600
    ev = [rc.Event.note_on(40, 100, time=0), rc.Event.note_on(43, 100, time=t)]
    y = render(p, ev, t + 4800)
    again = np.abs(y[t:t + 1440]).max()
    assert np.abs(y[t - 1200:t]).max() == pytest.approx(0.5, abs=0.01)   # at sustain before
    if legato:
        assert again < 0.51
    else:
        assert again > 0.75                                    # the envelope went up again (to 1)
    assert np.abs(np.diff(y[t - 10:t + 10])).max() < 0.05      # neither case clicks


def test_sustain_pedal_holds_the_note():
    R = round(20 * SR / 1000)
    ev = [rc.Event.cc(64, 127, time=0), rc.Event.note_on(40, 100, time=0), rc.Event.note_off(40, time=1000),
          rc.Event.cc(64, 0, time=20000)]
    y = render({**CLEAN, "wave": WAVES["sine"]}, ev, 30000)
    assert amp_at(y[15000:20000], hz(40)) == pytest.approx(1.0, abs=0.02)
    assert np.all(y[20000 + R:] == 0.0)


@pytest.mark.parametrize("note", [45, 69])
def test_filter_is_minus_3db_at_cutoff(note):
    def level(**kw):
        y = render({**CLEAN, "wave": WAVES["sine"], **kw}, [rc.Event.note_on(note, 100, time=0)], SR // 2)
        return amp_at(y[4800:], hz(note))
    open_ = level()
    assert 20 * np.log10(level(cutoff=hz(note)) / open_) == pytest.approx(-3.01, abs=0.5)
    # filter envelope: +2 octaves at the peak, back to the cutoff after fenv_decay
    y = render({**CLEAN, "wave": WAVES["sine"], "cutoff": hz(note) / 4, "env_amount": 2.0, "attack": 0.0,
                "fenv_decay": 1.0}, [rc.Event.note_on(note, 100, time=0)], SR // 2)
    assert amp_at(y[4800:], hz(note)) / open_ < 10 ** (-20 / 20)  # closed again: 2 octaves above


@pytest.mark.parametrize("wave", list(WAVES))
@pytest.mark.parametrize("k", [0, 5, 32, 333])
def test_first_nonzero_sample_is_the_event_sample(wave, k):
    p = {**CLEAN, "wave": WAVES[wave], "attack": 3.0, "sub_level": 0.5, "cutoff": 800.0}
    y = render(p, [rc.Event.note_on(36, 100, time=k)], 1024, block=64)
    assert np.all(y[:k] == 0.0) and y[k] != 0.0


def test_output_is_bit_identical_for_any_block_size():
    ev = [rc.Event.note_on(36, 90, time=3), rc.Event.note_on(43, 120, time=1500), rc.Event.note_off(43, time=4000),
          rc.Event.pitch_bend(-0.5, time=4100), rc.Event.note_on(31, 60, time=5000),
          rc.Event.param_set("b", "cutoff", 300.0, time=5200), rc.Event.note_off(31, time=7000),
          rc.Event.note_off(36, time=8000)]
    p = {"glide": 30.0, "resonance": 0.7, "sub_level": 0.8}
    outs = [render(p, ev, 12000, block=b) for b in (1, 64, 1024, 77)]
    assert np.abs(outs[0]).max() > 0.01
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


def test_extreme_settings_stay_finite_and_end_in_exact_silence():
    p = {"wave": WAVES["square"], "resonance": 1.0, "cutoff": 20000.0, "env_amount": 8.0, "attack": 0.0,
         "decay": 0.0, "sustain": 1.0, "release": 1.0, "fenv_decay": 1.0, "glide": 2000.0, "sub_level": 1.0,
         "bend_range": 24.0, "level": 12.0}
    ev = [rc.Event.pitch_bend(1.0, time=0), rc.Event.note_on(0, 127, time=0), rc.Event.note_on(127, 127, time=10),
          rc.Event.param_set("b", "glide", 0.0, time=500), rc.Event.note_on(5, 127, time=20000),
          rc.Event.param_set("b", "cutoff", 20.0, time=21000), rc.Event.param_set("b", "env_amount", -4.0, time=21000),
          rc.Event.cc(120, 0, time=40000)]
    y = render(p, ev, 2 * SR)
    assert np.all(np.isfinite(y)) and np.abs(y).max() > 0.0
    assert no_subnormals(y)
    assert np.all(y[40000 + round(0.003 * SR):] == 0.0)


def test_long_quiet_tail_has_no_subnormals():
    p = {"wave": WAVES["sine"], "release": 3000.0, "resonance": 0.9, "cutoff": 40.0, "level": -40.0}
    y = render(p, [rc.Event.note_on(28, 1, time=0), rc.Event.note_off(28, time=100)], 10 * SR)
    assert no_subnormals(y)
    assert np.all(y[100 + 3 * SR + 1:] == 0.0)
