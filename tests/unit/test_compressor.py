"""compressor: static curve, unity below threshold, attack/release time constants."""
import numpy as np
import pytest
import rtcore as rc
from nodetest import run_effect

SR = 48000


def run_fx(params, x, block=256):
    return run_effect("compressor", params, x, block)


def sine(level_db, seconds=1.0, freq=1000.0):
    t = np.arange(int(SR * seconds)) / SR
    x = (10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x, x], axis=1)


def steady_change_db(params, level_db, freq=1000.0):
    x = sine(level_db, freq=freq)
    y = run_fx(params, x)
    a = len(x) // 2
    rms = lambda v: np.sqrt(np.mean(v[a:, 0].astype(np.float64) ** 2))
    return 20 * np.log10(rms(y) / rms(x))


@pytest.mark.parametrize("level,thr,ratio", [(-6.0, -20.0, 4.0), (0.0, -30.0, 2.0), (-10.0, -40.0, 10.0),
                                             (-3.0, -12.0, 20.0)])
def test_static_curve_peak_detector(level, thr, ratio):
    p = {"threshold": thr, "ratio": ratio, "attack": 5.0, "release": 200.0}
    expected = -(level - thr) * (1 - 1 / ratio)
    assert steady_change_db(p, level) == pytest.approx(expected, abs=0.5)


def test_static_curve_low_frequency_sine():
    p = {"threshold": -20.0, "ratio": 4.0, "attack": 10.0, "release": 300.0}
    assert steady_change_db(p, -6.0, freq=100.0) == pytest.approx(-10.5, abs=0.5)


def test_static_curve_rms_detector():
    # RMS of a sine is its peak level - 3.01 dB
    p = {"threshold": -20.0, "ratio": 4.0, "detector": 1.0, "attack": 5.0, "release": 100.0}
    rms_level = -6.0 - 3.0103
    assert steady_change_db(p, -6.0) == pytest.approx(-(rms_level + 20.0) * 0.75, abs=0.5)


def test_below_threshold_is_unity_plus_makeup():
    assert steady_change_db({"threshold": -10.0, "ratio": 8.0}, -20.0) == pytest.approx(0.0, abs=0.01)
    assert steady_change_db({"threshold": -10.0, "ratio": 8.0, "makeup": 6.0}, -20.0) == \
        pytest.approx(6.0, abs=0.01)


def test_soft_knee():
    # exactly at the threshold a soft knee of width W reduces by slope * W / 8
    p = {"threshold": -20.0, "ratio": 4.0, "knee": 12.0, "attack": 5.0, "release": 200.0}
    assert steady_change_db(p, -20.0) == pytest.approx(-0.75 * 12 / 8, abs=0.3)
    # outside the knee the hard curve holds
    assert steady_change_db(p, -6.0) == pytest.approx(-10.5, abs=0.5)
    assert steady_change_db(p, -30.0) == pytest.approx(0.0, abs=0.05)


def test_parallel_mix():
    # mix 0.5: half dry + half compressed (-10.5 dB) = 20*log10(0.5 + 0.5*10^(-10.5/20))
    p = {"threshold": -20.0, "ratio": 4.0, "attack": 5.0, "release": 200.0, "mix": 0.5}
    expected = 20 * np.log10(0.5 + 0.5 * 10 ** (-10.5 / 20))
    assert steady_change_db(p, -6.0) == pytest.approx(expected, abs=0.3)


def gain_trace(params, levels_and_lengths):
    """DC steps (an exact, ripple-free level); returns the applied gain in dB per sample."""
    x = np.concatenate([np.full(n, 10 ** (lv / 20), np.float32) for lv, n in levels_and_lengths])
    y = run_fx(params, np.stack([x, x], axis=1))
    return 20 * np.log10(y[:, 0] / x)


def test_attack_time_constant():
    p = {"threshold": -20.0, "ratio": 4.0, "attack": 20.0, "release": 500.0}
    n0 = SR // 2
    g = gain_trace(p, [(-40.0, n0), (-4.0, SR // 2)])     # target reduction 12 dB
    assert np.all(np.abs(g[:n0]) < 1e-3)
    after = g[n0:]
    assert after[-1] == pytest.approx(-12.0, abs=0.05)
    t63 = np.argmax(after <= -12.0 * (1 - np.exp(-1))) / SR
    assert t63 == pytest.approx(0.020, rel=0.15)


def test_release_time_constant():
    p = {"threshold": -20.0, "ratio": 4.0, "attack": 1.0, "release": 100.0}
    n0 = SR // 2
    g = gain_trace(p, [(-4.0, n0), (-40.0, SR)])
    assert g[n0 - 1] == pytest.approx(-12.0, abs=0.05)
    after = g[n0:]
    t37 = np.argmax(after >= -12.0 * np.exp(-1)) / SR   # recovered 63 %
    assert t37 == pytest.approx(0.100, rel=0.2)
    assert after[-1] > -0.01


def test_loud_input_and_parameter_jumps_stay_finite():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((SR, 2)) * 30.0).astype(np.float32)
    x[SR // 3: SR // 2] = 0.0                              # silence: log of zero must be safe
    evs = []
    for t in range(0, SR, 2000):
        evs += [rc.Event.param_set("fx", "threshold", float(rng.uniform(-60, 0)), time=t),
                rc.Event.param_set("fx", "ratio", float(rng.uniform(1, 20)), time=t),
                rc.Event.param_set("fx", "knee", float(rng.uniform(0, 24)), time=t + 3),
                rc.Event.param_set("fx", "attack", float(rng.uniform(0.1, 200)), time=t + 5),
                rc.Event.param_set("fx", "detector", int(rng.integers(0, 2)), time=t + 9)]
    outs = []
    for block in (1, 64, 1024):
        with rc.Engine(sample_rate=SR, max_block=1024) as e:
            e.load(rc.GraphSpec(nodes=[rc.NodeSpec("in", "input"), rc.NodeSpec("fx", "compressor", {})],
                                connections=[("in", "fx")], master={"enabled": 0.0}))
            outs.append(e.render_events(evs, SR, block=block, input=x))
    assert np.all(np.isfinite(outs[0]))
    # makeup 0 dB, mix 1: the gain never exceeds unity, sample by sample
    assert np.all(np.abs(outs[0]) <= np.abs(x) * (1 + 1e-5))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
