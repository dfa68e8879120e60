"""drums: synthesized GM kit -- onsets, spectra, choke, decay, determinism (analytic checks)."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc

SR = 48000
T0 = 1237                      # not on the 32-frame control grid
GM_NOTES = [35, 36, 37, 38, 39, 40, 42, 44, 46]


def render(events, frames, params=None, block=64, sr=SR):
    with rc.Engine(sample_rate=sr, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("d", "drums", {"spread": 0.0, **(params or {})})],
                            master={"enabled": 0.0}))
        return e.render_events(events, frames, block=block)


def hit(note, t=T0, vel=127):
    return rc.Event.note_on(note, vel, time=t)


def spectrum(x):
    X = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return np.fft.rfftfreq(len(x), 1 / SR), X


def clean(y):
    assert np.all(np.isfinite(y))
    assert np.all((y == 0) | (np.abs(y) >= np.finfo(np.float32).tiny)), "subnormal output"


@pytest.mark.parametrize("note", GM_NOTES)
def test_each_note_starts_exactly_at_its_event_and_dies_out(note):
    y = render([hit(note)], SR * 2)
    clean(y)
    assert np.all(y[:T0] == 0.0)
    assert np.abs(y[T0:T0 + 3, 0]).max() > 1e-3          # sound right at the event sample
    assert np.abs(y[T0:T0 + 4800, 0]).max() > 0.1        # a real hit
    assert np.all(y[-SR // 4:] == 0.0)                    # tail decayed to exact silence
    np.testing.assert_array_equal(y[:, 0], y[:, 1])       # spread 0: mono


def test_unknown_notes_are_silent():
    y = render([hit(n, T0 + 10 * k) for k, n in enumerate([0, 34, 41, 43, 45, 47, 60, 127])], 8000)
    assert np.all(y == 0.0)


def test_note_off_is_ignored():
    a = render([hit(38)], 20000)
    b = render([hit(38), rc.Event.note_off(38, time=T0 + 100)], 20000)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("tune", [50.0, 80.0])
def test_kick_settles_on_its_low_fundamental(tune):
    y = render([hit(36)], SR, {"kick_tune": tune})[:, 0]
    # right after the hit the sweep is well above the base pitch
    early = y[T0:T0 + 480]
    zc_early = np.count_nonzero(np.diff(np.signbit(early))) / 2 / (480 / SR)
    assert zc_early > 2 * tune
    seg = y[T0 + int(0.06 * SR):T0 + int(0.4 * SR)]
    f, X = spectrum(np.concatenate([seg, np.zeros(3 * len(seg), np.float32)]))
    peak = f[np.argmax(X)]
    assert peak < 150.0
    assert abs(peak - tune) < 0.1 * tune
    centroid = (X * f).sum() / X.sum()
    assert centroid < 150.0


@pytest.mark.parametrize("note", [42, 44, 46])
def test_hats_are_mostly_above_5k(note):
    y = render([hit(note)], SR // 2)[:, 0]
    f, X = spectrum(y[T0:])
    assert X[f > 5000].sum() / X.sum() > 0.9


def test_snare_has_broadband_noise_and_tone():
    y = render([hit(38)], SR // 2)[:, 0][T0:T0 + 9600]
    f, X = spectrum(y)
    bands = [X[(f >= lo) & (f < 2 * lo)].sum() for lo in (1000, 2000, 4000)]
    total = X.sum()
    # every octave 1-8 kHz carries real energy (noise), within 15 dB of each other
    assert min(bands) > 0.03 * total
    assert 10 * np.log10(max(bands) / min(bands)) < 15
    # and the tuned partial is there: snappy 0 leaves a tone near snare_tune
    t = render([hit(38)], SR // 2, {"snare_snappy": 0.0, "snare_tune": 200.0})[:, 0][T0 + 960:T0 + 4800]
    f, X = spectrum(np.concatenate([t, np.zeros(7 * len(t), np.float32)]))
    assert abs(f[np.argmax(X)] - 200.0) < 15.0


def test_clap_has_bursts_then_a_tail():
    y = render([hit(39)], SR)[:, 0]
    env = np.array([np.abs(y[T0 + k:T0 + k + 48]).max() for k in range(0, 1920, 48)])  # 1 ms frames
    # bursts at 0, 10, 20 and 30 ms: each burst onset is louder than the 1 ms just before it
    for ms in (10, 20, 30):
        assert env[ms] > 2 * env[ms - 1], (ms, env[ms - 2:ms + 2])
    f, X = spectrum(y[T0:T0 + 9600])
    centroid = (X * f).sum() / X.sum()
    assert 700 < centroid < 4000


def test_closed_hat_chokes_open_hat():
    t1 = T0 + 4800                                  # closed hat 100 ms after the open one
    open_only = render([hit(46)], SR)[:, 0]
    both = render([hit(46), hit(42, t1)], SR)[:, 0]
    np.testing.assert_array_equal(open_only[:t1], both[:t1])
    w = slice(t1 + 9600, t1 + 19200)                # 200..400 ms after the closed hat
    e_open = np.sum(open_only[w] ** 2)
    e_both = np.sum(both[w] ** 2)
    assert e_open > 0
    assert e_both < 1e-4 * e_open                  # more than 40 dB down: choked


def test_velocity_scales_level():
    a = render([hit(38, vel=127)], 12000)
    b = render([hit(38, vel=64)], 12000)
    w = slice(0, T0 + 4800)         # voices stop at an absolute -80 dB, so compare the body
    np.testing.assert_allclose(b[w], a[w] * (64 / 127), rtol=1e-4, atol=1e-6)
    assert np.abs(a[w]).max() > 0.5
    c = render([hit(38, vel=64)], 12000, {"velocity_sens": 0.0})
    np.testing.assert_array_equal(a, c)


def test_levels_in_db():
    a = render([hit(42)], 12000)
    b = render([hit(42)], 12000, {"hat_level": -9.0, "level": -6.0})
    np.testing.assert_allclose(b, a * 10 ** (-12 / 20), rtol=1e-4, atol=1e-6)
    assert np.all(render([hit(36)], 12000, {"kick_level": -60.0}) == 0.0)


def test_retrigger_has_no_click():
    p = {"kick_click": 0.0}
    t1 = T0 + 7000
    y = render([hit(36), hit(36, t1)], SR, p)[:, 0]
    jump = np.abs(np.diff(y[t1 - 50:t1 + 200])).max()
    steady = np.abs(np.diff(y[T0:T0 + 2000])).max()     # a fresh hit's own slope
    assert jump <= 1.05 * steady
    assert np.abs(y[t1:t1 + 2000]).max() > 0.9          # and it does hit again at full level


def test_all_notes_off_chokes_everything():
    evs = [hit(n, T0) for n in (36, 38, 39, 46)]
    t1 = T0 + 2400
    y = render(evs + [rc.Event.all_notes_off(time=t1)], SR)
    clean(y)
    assert np.abs(y[t1 - 480:t1]).max() > 0.1
    assert np.abs(y[t1 + 960:]).max() < 1e-3           # -60 dB within 20 ms


def test_deterministic_and_block_size_invariant():
    evs = [hit(n, T0 + 997 * k, 40 + 9 * k) for k, n in enumerate(GM_NOTES)] + [hit(42, T0 + 20000)]
    p = {"spread": 0.7}
    ref = render(evs, 30000, p, block=64)
    clean(ref)
    assert not np.array_equal(ref[:, 0], ref[:, 1])       # spread pans the kit
    np.testing.assert_array_equal(ref, render(evs, 30000, p, block=64))
    np.testing.assert_array_equal(ref, render(evs, 30000, p, block=1))
    np.testing.assert_array_equal(ref, render(evs, 30000, p, block=1024))


def test_other_sample_rate():
    y = render([hit(n, T0 + 2000 * k) for k, n in enumerate(GM_NOTES)], 96000, sr=96000)
    clean(y)
    assert np.abs(y).max() > 0.1
    assert np.all(y[:T0] == 0.0)
