"""sampler: zones, pitch, interpolation, envelopes, loops, polyphony (analytic checks)."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc

SR = 48000
T0 = 1237                      # not on the 32-frame control grid


def render(zones, events, frames, params=None, block=64, sr=SR):
    with rc.Engine(sample_rate=sr, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("s", "sampler", dict(params or {}), samples=zones)],
                            master={"enabled": 0.0}))
        return e.render_events(events, frames, block=block)


def sine(hz, seconds, sr=SR):
    return np.sin(2 * np.pi * hz * np.arange(int(seconds * sr)) / sr).astype(np.float32)


def freq(x, sr=SR):
    """Frequency of the strongest sinusoid: peak of a Hann-windowed, heavily zero-padded FFT."""
    n = 1 << 21
    X = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    k = int(np.argmax(X))
    a, b, c = np.log(X[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / n


def cents(f, ref):
    return 1200 * np.log2(f / ref)


def clean(y):
    assert np.all(np.isfinite(y))
    assert np.all((y == 0) | (np.abs(y) >= np.finfo(np.float32).tiny)), "subnormal output"


def test_octave_up_from_root():
    z = rc.SampleZone(sine(440.0, 2.0), SR, root=60)
    y = render([z], [rc.Event.note_on(72, 127, time=T0)], 2 * SR)
    clean(y)
    assert abs(cents(freq(y[T0 + 1000:T0 + 21000, 0]), 880.0)) < 1.0
    # the 2 s one-shot lasts 1 s at twice the speed
    assert np.abs(y[T0 + SR - 100:T0 + SR, 0]).max() > 0.5
    assert np.all(y[T0 + SR + 1:] == 0.0)


def test_sample_rate_conversion_44100_in_48000():
    z = rc.SampleZone(sine(441.0, 1.0, 44100), 44100, root=69)
    y = render([z], [rc.Event.note_on(69, 127, time=T0)], 2 * SR)
    assert abs(cents(freq(y[T0 + 1000:T0 + 41000, 0]), 441.0)) < 1.0
    # the whole second of audio still lasts one second
    nz = np.nonzero(y[:, 0])[0]
    assert abs((nz[-1] - T0) - SR) <= 2


@pytest.mark.parametrize("params,event,semis", [
    ({"tune": 7.0}, None, 7.0),
    ({"tune": -12.0, "fine": 50.0}, None, -11.5),
    ({"bend_range": 2.0}, 1.0, 2.0),
    ({"bend_range": 12.0}, -0.5, -6.0),
])
def test_tune_fine_and_pitch_bend(params, event, semis):
    z = rc.SampleZone(sine(300.0, 1.0), SR, root=60)
    evs = [rc.Event.note_on(60, 127, time=T0)]
    if event is not None:
        evs.insert(0, rc.Event.pitch_bend(event, time=0))
    y = render([z], evs, SR // 2, params)
    assert abs(cents(freq(y[T0 + 1000:T0 + 17000, 0]), 300.0 * 2 ** (semis / 12))) < 1.0


def test_one_shot_plays_exactly_its_length_and_ignores_note_off():
    rng = np.random.default_rng(1)
    data = (rng.uniform(0.1, 0.9, 1000) * rng.choice([-1, 1], 1000)).astype(np.float32)
    z = rc.SampleZone(data, SR, root=60)
    y = render([z], [rc.Event.note_on(60, 127, time=T0), rc.Event.note_off(60, time=T0 + 300)], 4000,
               {"attack": 0.0, "release": 50.0})
    assert np.all(y[:T0] == 0.0)
    np.testing.assert_array_equal(y[T0:T0 + 1000, 0], data)       # bit-exact at the root note
    np.testing.assert_array_equal(y[T0:T0 + 1000, 1], data)       # mono on both channels
    assert np.all(y[T0 + 1000:] == 0.0)


def test_one_shot_release_option_and_linear_release():
    data = np.full(20000, 0.5, np.float32)
    z = rc.SampleZone(data, SR, root=60)
    t1 = T0 + 3000
    y = render([z], [rc.Event.note_on(60, 127, time=T0), rc.Event.note_off(60, time=t1)], 10000,
               {"oneshot_release": 1.0, "release": 10.0})[:, 0]
    n = 480
    np.testing.assert_allclose(y[t1:t1 + n], 0.5 * (1 - np.arange(n) / n), atol=1e-5)
    assert np.all(y[t1 + n:] == 0.0)


def test_linear_attack():
    z = rc.SampleZone(np.full(5000, 0.5, np.float32), SR, root=60)
    y = render([z], [rc.Event.note_on(60, 127, time=T0)], 4000, {"attack": 10.0})[:, 0]
    n = 480
    np.testing.assert_allclose(y[T0:T0 + n], 0.5 * np.arange(n) / n, atol=1e-5)
    np.testing.assert_array_equal(y[T0 + n:T0 + 2000], 0.5)


def test_loop_sustains_while_held_then_releases():
    period = 100                                   # 480 Hz, 10 whole cycles in the loop
    data = sine(480.0, 0.5)                        # 24000 frames
    z = rc.SampleZone(data, SR, root=60, loop=True, loop_start=1000, loop_end=1000 + 10 * period)
    t1 = T0 + 3 * SR                               # held 3 s: far past the end of the file
    y = render([z], [rc.Event.note_on(60, 127, time=T0), rc.Event.note_off(60, time=t1)], 4 * SR,
               {"release": 50.0})[:, 0]
    clean(y[:, None])
    for a in range(T0, t1 - SR // 10, SR // 4):    # every quarter second: still the full sine
        seg = y[a:a + 4800]
        assert abs(np.sqrt(np.mean(seg ** 2)) - np.sqrt(0.5)) < 0.01
    assert abs(cents(freq(y[t1 - SR:t1]), 480.0)) < 1.0
    np.testing.assert_allclose(y[T0:T0 + 5000], data[:5000], atol=1e-6)  # seamless wrap
    rel = 2400
    assert np.abs(y[t1:t1 + 100]).max() > 0.9
    assert np.all(y[t1 + rel:] == 0.0)


def test_loop_continues_through_the_release():
    data = sine(480.0, 0.1)
    z = rc.SampleZone(data, SR, root=60, loop=True, loop_start=0, loop_end=4800)
    t1 = T0 + 4700
    y = render([z], [rc.Event.note_on(60, 127, time=T0), rc.Event.note_off(60, time=t1)], 20000,
               {"release": 100.0})[:, 0]
    # 100 ms release starting 100 frames before the loop end: sound carries on past the wrap
    assert np.abs(y[T0 + 4800 + 1000:T0 + 4800 + 1200]).max() > 0.3


@pytest.mark.parametrize("t", [T0, 4096, 4097])
def test_impulse_at_root_lands_on_the_event_sample(t):
    imp = np.zeros(64, np.float32)
    imp[0] = 1.0
    y = render([rc.SampleZone(imp, SR, root=60)], [rc.Event.note_on(60, 127, time=t)], 8000)
    expect = np.zeros(8000, np.float32)
    expect[t] = 1.0
    np.testing.assert_array_equal(y[:, 0], expect)
    np.testing.assert_array_equal(y[:, 1], expect)


def test_stereo_zone_keeps_channels_apart():
    left = sine(500.0, 0.2)
    data = np.stack([left, np.zeros_like(left)], axis=1)
    y = render([rc.SampleZone(data, SR, root=60)], [rc.Event.note_on(60, 127, time=T0)], 12000)
    np.testing.assert_array_equal(y[T0:T0 + len(left), 0], left)
    assert np.all(y[:, 1] == 0.0)
    swapped = render([rc.SampleZone(data[:, ::-1].copy(), SR, root=60)],
                     [rc.Event.note_on(67, 127, time=T0)], 12000)
    assert np.all(swapped[:, 0] == 0.0)
    assert np.abs(swapped[T0:, 1]).max() > 0.9


def test_zone_mapping_and_out_of_zone_notes():
    lo = rc.SampleZone(np.full(100, 0.25, np.float32), SR, note_lo=40, note_hi=59, root=50)
    hi = rc.SampleZone(np.full(100, -0.5, np.float32), SR, note_lo=60, note_hi=64, root=62)
    y = render([lo, hi], [rc.Event.note_on(n, 127, time=T0 + 1000 * k)
                          for k, n in enumerate([39, 65, 127, 0])], 6000)
    assert np.all(y == 0.0)
    y = render([lo, hi], [rc.Event.note_on(50, 127, time=T0), rc.Event.note_on(62, 127, time=T0 + 1000)], 4000)
    np.testing.assert_array_equal(y[T0:T0 + 100, 0], 0.25)
    np.testing.assert_array_equal(y[T0 + 1000:T0 + 1100, 0], -0.5)
    assert np.all(y[T0 + 100:T0 + 1000] == 0.0)


def test_velocity_and_level():
    z = rc.SampleZone(np.full(1000, 0.5, np.float32), SR, root=60)
    y = render([z], [rc.Event.note_on(60, 64, time=T0)], 3000)
    np.testing.assert_allclose(y[T0:T0 + 1000, 0], 0.5 * 64 / 127, rtol=1e-6)
    y = render([z], [rc.Event.note_on(60, 64, time=T0)], 3000, {"velocity_sens": 0.0, "level": -6.0})
    np.testing.assert_allclose(y[T0:T0 + 1000, 0], 0.5 * 10 ** (-6 / 20), rtol=1e-5)


def test_polyphony_steals_the_oldest_with_a_short_fade():
    dc = rc.SampleZone(np.full(200, 0.25, np.float32), SR, root=60, loop=True)
    evs = [rc.Event.note_on(60, 127, time=T0), rc.Event.note_on(62, 127, time=T0 + 500),
           rc.Event.note_on(64, 127, time=T0 + 1000)]
    y = render([dc], evs, 6000, {"voices": 2})[:, 0]
    t2 = T0 + 1000
    np.testing.assert_array_equal(y[T0 + 500:t2], 0.5)
    fade = y[t2:t2 + 96]                            # 2 ms: 0.75 -> 0.5
    assert fade[0] == pytest.approx(0.75) and np.all(np.diff(fade) < 0)
    np.testing.assert_array_equal(y[t2 + 96:], 0.5)
    y = render([dc], evs, 6000, {"voices": 16})[:, 0]
    np.testing.assert_array_equal(y[t2:], 0.75)


def test_sustain_pedal_holds_looped_notes():
    dc = rc.SampleZone(np.full(200, 0.25, np.float32), SR, root=60, loop=True)
    evs = [rc.Event.cc(64, 127, time=0), rc.Event.note_on(60, 127, time=T0),
           rc.Event.note_off(60, time=T0 + 1000), rc.Event.cc(64, 0, time=T0 + 3000)]
    y = render([dc], evs, 8000, {"release": 10.0})[:, 0]
    np.testing.assert_array_equal(y[T0:T0 + 3000], 0.25)
    assert np.all(y[T0 + 3000 + 480:] == 0.0)


def test_all_notes_off_and_all_sound_off():
    dc = rc.SampleZone(np.full(200, 0.25, np.float32), SR, root=60, loop=True)
    on = [rc.Event.note_on(60, 127, time=T0), rc.Event.note_on(64, 127, time=T0)]
    y = render([dc], on + [rc.Event.all_notes_off(time=T0 + 1000)], 6000, {"release": 20.0})[:, 0]
    assert y[T0 + 999] == 0.5 and np.all(y[T0 + 1000 + 960:] == 0.0)
    y = render([dc], on + [rc.Event.cc(120, 0, time=T0 + 1000)], 6000, {"release": 1000.0})[:, 0]
    assert np.all(y[T0 + 1000 + 96:] == 0.0)


def test_no_subnormals_after_long_silence_and_block_size_invariance():
    rng = np.random.default_rng(3)
    zones = [rc.SampleZone(rng.standard_normal((3000, 2)).astype(np.float32) * 0.3, 44100, 0, 63, 60,
                           loop=True, loop_start=500, loop_end=2500),
             rc.SampleZone(sine(220.0, 0.3), SR, 64, 127, 69)]
    evs = []
    for k in range(40):
        n = int(rng.integers(30, 100))
        t = int(rng.integers(0, 30000))
        evs += [rc.Event.note_on(n, int(rng.integers(1, 128)), time=t),
                rc.Event.note_off(n, time=t + int(rng.integers(1, 5000)))]
    evs.append(rc.Event.pitch_bend(0.3, time=7777))
    p = {"attack": 3.0, "release": 30.0, "voices": 6, "tune": 0.3}
    ref = render(zones, evs, 2 * SR, p, block=64)
    clean(ref)
    assert np.abs(ref[:30000]).max() > 0.1
    assert np.all(ref[-SR // 2:] == 0.0)
    np.testing.assert_array_equal(ref, render(zones, evs, 2 * SR, p, block=1))
    np.testing.assert_array_equal(ref, render(zones, evs, 2 * SR, p, block=1024))


def test_cubic_interpolation_quality():
    """A 1 kHz sine recorded at 44.1 kHz, resampled to 48 kHz, stays within -75 dB of the
    ideal sine (linear interpolation would be around -55 dB)."""
    x = sine(1000.0, 1.0, 44100)
    y = render([rc.SampleZone(x, 44100, root=60)], [rc.Event.note_on(60, 127, time=T0)], 20000)[:, 0]
    ideal = np.sin(2 * np.pi * 1000.0 * np.arange(20000 - T0) / SR)
    err = (y[T0:] - ideal)[100:-100]
    assert 20 * np.log10(np.sqrt(np.mean(err ** 2)) / np.sqrt(0.5)) < -75.0


def test_first_matching_zone_wins():
    a = rc.SampleZone(np.full(100, 0.25, np.float32), SR, note_lo=50, note_hi=70, root=60)
    b = rc.SampleZone(np.full(100, -0.5, np.float32), SR, note_lo=60, note_hi=80, root=60)
    y = render([a, b], [rc.Event.note_on(65, 127, time=T0), rc.Event.note_on(75, 127, time=T0 + 1000)], 3000)
    np.testing.assert_allclose(y[T0 + 10:T0 + 50, 0], 0.25)
    np.testing.assert_allclose(y[T0 + 1010:T0 + 1040, 0], -0.5)
