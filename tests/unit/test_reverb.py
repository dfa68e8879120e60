"""reverb: decaying impulse response, RT60 near `decay`, decorrelated L/R, clean silence."""
import numpy as np
import pytest
import rtcore as rc
from nodetest import run_effect

SR = 48000


def run_fx(params, x, block=256, events=()):
    return run_effect("reverb", params, x, block, events)


def impulse_response(params, seconds):
    x = np.zeros((int(SR * seconds), 2), np.float32)
    x[0] = 1.0
    return run_fx({"mix": 1.0, **params}, x).astype(np.float64)


def rt60_from_ir(y):
    """Schroeder backward integration; slope fitted between -5 and -35 dB, extrapolated to 60 dB."""
    e = np.sum(y ** 2, axis=1)
    edc = np.cumsum(e[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0] + 1e-300)
    i0, i1 = np.argmax(edc_db <= -5), np.argmax(edc_db <= -35)
    t = np.arange(i0, i1) / SR
    slope = np.polyfit(t, edc_db[i0:i1], 1)[0]          # dB per second (negative)
    return -60.0 / slope


def test_impulse_response_decays():
    y = impulse_response({"decay": 1.0, "damping": 0.3}, 2.0)
    e1, e2 = np.sum(y[:SR] ** 2), np.sum(y[SR:] ** 2)
    assert e1 > 1e-3
    assert e2 < 1e-3 * e1                                 # 60 dB/s: second second is far quieter
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("decay", [0.5, 2.0, 5.0])
def test_rt60_matches_decay(decay):
    y = impulse_response({"decay": decay, "damping": 0.0, "predelay": 0.0}, decay * 1.2 + 0.3)
    rt = rt60_from_ir(y)
    assert decay / 1.5 < rt < decay * 1.5
    assert rt == pytest.approx(decay, rel=0.25)          # in practice it is much closer


def test_damping_shortens_high_frequencies():
    y = impulse_response({"decay": 2.0, "damping": 0.8}, 2.0)[:, 0]
    spec_early = np.abs(np.fft.rfft(y[:SR // 4]))
    spec_late = np.abs(np.fft.rfft(y[SR:SR + SR // 4]))
    f = np.fft.rfftfreq(SR // 4, 1 / SR)
    hi, lo = (f > 5000) & (f < 15000), (f > 50) & (f < 500)
    ratio = lambda s: np.sum(s[hi] ** 2) / np.sum(s[lo] ** 2)
    assert ratio(spec_late) < 0.1 * ratio(spec_early)


def test_predelay():
    y = impulse_response({"predelay": 50.0}, 0.2)
    first = np.argmax(np.any(np.abs(y) > 1e-9, axis=1))
    # the shortest line is 1427 samples; nothing before pre-delay + it
    assert first >= 2400 + 1427 - 1
    y0 = impulse_response({"predelay": 0.0}, 0.2)
    assert np.argmax(np.any(np.abs(y0) > 1e-9, axis=1)) == first - 2400


def test_stereo_outputs_decorrelated():
    y = impulse_response({"decay": 2.0}, 2.0)
    corr = np.corrcoef(y[:, 0], y[:, 1])[0, 1]
    assert abs(corr) < 0.5
    # same with a mono noise input
    x = np.random.default_rng(6).standard_normal(SR).astype(np.float32) * 0.3
    yn = run_fx({"mix": 1.0}, np.stack([x, x], axis=1))[SR // 4:]
    assert abs(np.corrcoef(yn[:, 0], yn[:, 1])[0, 1]) < 0.5


def test_width_zero_is_mono():
    y = impulse_response({"width": 0.0}, 0.5)
    assert np.array_equal(y[:, 0], y[:, 1])
    assert np.max(np.abs(y)) > 1e-3


def test_dry_passes_at_mix_zero():
    x = np.random.default_rng(7).uniform(-1, 1, (4096, 2)).astype(np.float32)
    assert np.array_equal(run_fx({"mix": 0.0}, x), x)


def test_silence_after_long_time_without_subnormals():
    x = np.zeros((SR * 20, 2), np.float32)
    x[:SR // 2] = np.random.default_rng(8).uniform(-1, 1, (SR // 2, 2))
    y = run_fx({"decay": 0.5, "mix": 1.0}, x, block=512)
    assert np.all(np.isfinite(y))
    assert np.all((y == 0) | (np.abs(y) >= np.finfo(np.float32).tiny))
    assert np.max(np.abs(y[-SR:])) < 1e-20


def test_loud_input_and_parameter_jumps():
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((SR, 2)) * 20.0).astype(np.float32)
    evs = []
    for t in range(0, SR, 1900):
        evs += [rc.Event.param_set("fx", "decay", float(rng.uniform(0.1, 30)), time=t),
                rc.Event.param_set("fx", "size", float(rng.uniform(0.25, 2)), time=t + 2),
                rc.Event.param_set("fx", "predelay", float(rng.uniform(0, 250)), time=t + 3),
                rc.Event.param_set("fx", "damping", float(rng.uniform(0, 1)), time=t + 7),
                rc.Event.param_set("fx", "width", float(rng.uniform(0, 1)), time=t + 7)]
    outs = [run_fx({"decay": 30.0}, x, block=b, events=evs) for b in (1, 64, 1024)]
    assert np.all(np.isfinite(outs[0]))
    assert np.max(np.abs(outs[0])) < 1e3
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
