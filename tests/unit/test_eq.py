"""eq: analytic magnitude checks with steady sines (RBJ biquads, Butterworth cuts)."""
import numpy as np
import pytest
import rtcore as rc
from nodetest import run_effect

SR = 48000


def run_fx(params, x, ntype="eq", block=256):
    return run_effect(ntype, params, x, block)


def gain_db(params, freq, seconds=0.5):
    t = np.arange(int(SR * seconds)) / SR
    x = (0.25 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    y = run_fx(params, np.stack([x, x], axis=1))
    # steady state only: skip the first 40 %, whole periods do not matter for RMS at this length
    a = len(x) * 2 // 5
    rms = lambda v: np.sqrt(np.mean(v[a:].astype(np.float64) ** 2))
    gl, gr = rms(y[:, 0]) / rms(x), rms(y[:, 1]) / rms(x)
    assert abs(gl - gr) < 1e-6 * max(gl, 1e-9) + 1e-9
    return 20 * np.log10(gl)


def test_flat_is_exact_passthrough():
    x = np.random.default_rng(1).uniform(-0.9, 0.9, (4096, 2)).astype(np.float32)
    y = run_fx({}, x)
    assert np.array_equal(y, x)


@pytest.mark.parametrize("fc", [200.0, 1000.0, 5000.0])
def test_high_cut_minus_3db_at_cutoff(fc):
    assert gain_db({"high_cut": fc}, fc) == pytest.approx(-3.01, abs=0.5)
    assert gain_db({"high_cut": fc}, fc / 10) == pytest.approx(0.0, abs=0.1)
    # 12 dB/oct: two octaves up is about -24 dB
    assert gain_db({"high_cut": fc}, fc * 4) < -20.0


@pytest.mark.parametrize("fc", [50.0, 300.0, 2000.0])
def test_low_cut_minus_3db_at_cutoff(fc):
    assert gain_db({"low_cut": fc}, fc) == pytest.approx(-3.01, abs=0.5)
    assert gain_db({"low_cut": fc}, fc * 10) == pytest.approx(0.0, abs=0.1)
    assert gain_db({"low_cut": fc}, fc / 4) < -20.0


@pytest.mark.parametrize("g,f,q", [(6.0, 1000.0, 1.0), (-9.0, 3000.0, 2.0), (12.0, 200.0, 0.7)])
def test_peak_gain_at_centre(g, f, q):
    assert gain_db({"peak_gain": g, "peak_freq": f, "peak_q": q}, f) == pytest.approx(g, abs=0.2)
    # far away the band does nothing
    assert gain_db({"peak_gain": g, "peak_freq": f, "peak_q": q}, f * 16 if f < 1000 else f / 16) == \
        pytest.approx(0.0, abs=0.3)


def test_shelves_reach_gain_far_from_corner():
    ls = {"low_shelf_freq": 300.0, "low_shelf_gain": 6.0}
    assert gain_db(ls, 20.0, seconds=1.0) == pytest.approx(6.0, abs=0.2)
    assert gain_db(ls, 300.0) == pytest.approx(3.0, abs=0.3)        # half the gain at the corner
    assert gain_db(ls, 10000.0) == pytest.approx(0.0, abs=0.1)
    hs = {"high_shelf_freq": 2000.0, "high_shelf_gain": -8.0}
    assert gain_db(hs, 18000.0) == pytest.approx(-8.0, abs=0.3)
    assert gain_db(hs, 2000.0) == pytest.approx(-4.0, abs=0.3)
    assert gain_db(hs, 100.0) == pytest.approx(0.0, abs=0.1)


def test_bands_combine():
    p = {"low_cut": 40.0, "peak_freq": 1000.0, "peak_gain": 6.0, "high_cut": 15000.0}
    assert gain_db(p, 1000.0) == pytest.approx(6.0, abs=0.2)


def test_parameter_jumps_stay_finite_and_block_size_invariant():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((SR, 2)) * 4.0).astype(np.float32)      # loud
    evs = []
    for k, t in enumerate(range(0, SR, 1500)):
        evs += [rc.Event.param_set("fx", "peak_gain", float(rng.uniform(-24, 24)), time=t),
                rc.Event.param_set("fx", "high_cut", float(rng.uniform(100, 20000)), time=t),
                rc.Event.param_set("fx", "low_cut", float(rng.uniform(10, 5000)), time=t + 7),
                rc.Event.param_set("fx", "low_shelf_gain", float(rng.choice([0.0, 24.0, -24.0])), time=t + 11)]
    outs = []
    for block in (1, 64, 1024):
        with rc.Engine(sample_rate=SR, max_block=1024) as e:
            e.load(rc.GraphSpec(nodes=[rc.NodeSpec("in", "input"), rc.NodeSpec("fx", "eq", {"peak_q": 18.0})],
                                connections=[("in", "fx")], master={"enabled": 0.0}))
            outs.append(e.render_events(evs, SR, block=block, input=x))
    assert np.all(np.isfinite(outs[0]))
    assert np.max(np.abs(outs[0])) < 200.0
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
