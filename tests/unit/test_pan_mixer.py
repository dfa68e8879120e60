"""pan: constant-power law and width; mixer: per-input gain/pan in connection order."""
import numpy as np
import pytest
import rtcore as rc
from nodetest import run_effect

SR = 48000
DB = lambda a: 20 * np.log10(a)


def run_pan(params, x, block=256, events=()):
    return run_effect("pan", params, x, block, events)


def mono(n=2048, v=0.5):
    return np.full((n, 2), v, np.float32)


def test_centre_is_minus_3db_each_side():
    y = run_pan({}, mono())
    assert DB(y[-1, 0] / 0.5) == pytest.approx(-3.0103, abs=0.1)
    assert DB(y[-1, 1] / 0.5) == pytest.approx(-3.0103, abs=0.1)


@pytest.mark.parametrize("pan", [-1.0, -0.6, -0.2, 0.0, 0.3, 0.8, 1.0])
def test_constant_power_for_mono_source(pan):
    y = run_pan({"pan": pan}, mono())
    l, r = y[-1] / 0.5
    assert l ** 2 + r ** 2 == pytest.approx(1.0, abs=1e-5)
    th = (pan + 1) * np.pi / 4
    assert l == pytest.approx(np.cos(th), abs=1e-6) and r == pytest.approx(np.sin(th), abs=1e-6)


def test_hard_left_right_is_silent():
    x = np.random.default_rng(10).uniform(-1, 1, (4096, 2)).astype(np.float32)
    y = run_pan({"pan": -1.0}, x)
    assert np.all(y[:, 1] == 0.0)
    np.testing.assert_allclose(y[:, 0], 0.5 * (x[:, 0] + x[:, 1]), atol=1e-6)   # nothing lost
    y = run_pan({"pan": 1.0}, x)
    assert np.all(y[:, 0] == 0.0)


def test_width():
    x = np.random.default_rng(11).uniform(-1, 1, (4096, 2)).astype(np.float32)
    g = np.cos(np.pi / 4)
    y0 = run_pan({"width": 0.0}, x)
    np.testing.assert_allclose(y0[:, 0], y0[:, 1])
    np.testing.assert_allclose(y0[:, 0], g * 0.5 * (x[:, 0] + x[:, 1]), atol=1e-6)
    y1 = run_pan({"width": 1.0}, x)
    np.testing.assert_allclose(y1, g * x, atol=1e-6)
    y2 = run_pan({"width": 2.0}, x)
    m, s = 0.5 * (x[:, 0] + x[:, 1]), 0.5 * (x[:, 0] - x[:, 1])
    np.testing.assert_allclose(y2[:, 0], g * (m + 2 * s), atol=1e-6)
    np.testing.assert_allclose(y2[:, 1], g * (m - 2 * s), atol=1e-6)


def test_pan_moves_are_ramped_and_finite():
    x = mono(SR, 0.5)
    evs = [rc.Event.param_set("fx", "pan", -1.0, time=1000), rc.Event.param_set("fx", "pan", 1.0, time=9000),
           rc.Event.param_set("fx", "width", 2.0, time=9000)]
    outs = [run_pan({}, x, block=b, events=evs) for b in (1, 64, 1024)]
    y = outs[0]
    assert np.all(np.isfinite(y))
    assert np.max(np.abs(np.diff(y[:, 0]))) < 0.01               # no jump anywhere
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


# ---- mixer -------------------------------------------------------------------------

def run_mixer(params, n_inputs, n=4096, block=256, events=()):
    """input k is a DC of level (k+1)/100 on both channels, made by gain nodes from one input."""
    nodes = [rc.NodeSpec("in", "input")]
    conns = []
    for k in range(n_inputs):
        nodes.append(rc.NodeSpec(f"g{k}", "gain", {"gain": float(DB((k + 1) / 100))}))
        conns.append(("in", f"g{k}"))
    nodes.append(rc.NodeSpec("mix", "mixer", params))
    conns += [(f"g{k}", "mix") for k in range(n_inputs)]
    with rc.Engine(sample_rate=SR, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=nodes, connections=conns, master={"enabled": 0.0}))
        x = np.ones((n, 2), np.float32)
        if events:
            return e.render_events(list(events), n, block=block, input=x)
        return e.render(n, block=block, input=x)


def test_mixer_defaults_sum_at_unity():
    y = run_mixer({}, 3)
    assert y[-1, 0] == pytest.approx(0.06, rel=1e-5) and y[-1, 1] == pytest.approx(0.06, rel=1e-5)


def test_mixer_gains_apply_to_the_right_inputs():
    # mute every input but k: the output is exactly input k's level
    for k in range(4):
        p = {f"gain_{j + 1}": -96.0 for j in range(4) if j != k}
        y = run_mixer(p, 4)
        assert y[-1, 0] == pytest.approx((k + 1) / 100, rel=1e-5)
    y = run_mixer({"gain_2": -6.0, "master": 6.0}, 2)
    expected = (0.01 + 0.02 * 10 ** (-6 / 20)) * 10 ** (6 / 20)
    assert y[-1, 0] == pytest.approx(expected, rel=1e-5)


def test_mixer_pans_apply_to_the_right_inputs():
    y = run_mixer({"pan_1": -1.0, "pan_3": 1.0}, 3)
    # input 1 (0.01) all left, input 3 (0.03) all right, both at +3 dB (0 dB-centre law);
    # input 2 (0.02) centred at unity
    s2 = np.sqrt(2)
    assert y[-1, 0] == pytest.approx(0.01 * s2 + 0.02, rel=1e-5)
    assert y[-1, 1] == pytest.approx(0.03 * s2 + 0.02, rel=1e-5)


def test_mixer_inputs_beyond_eight_pass_at_unity_through_master():
    y = run_mixer({"gain_1": -96.0, "master": -6.0}, 10)
    expected = (sum((k + 1) / 100 for k in range(1, 10))) * 10 ** (-6 / 20)
    assert y[-1, 0] == pytest.approx(expected, rel=1e-5)
    y = run_mixer({f"gain_{j}": -96.0 for j in range(1, 9)}, 12)
    assert y[-1, 0] == pytest.approx(sum((k + 1) / 100 for k in range(8, 12)), rel=1e-5)


def test_mixer_fader_moves_are_ramped_and_block_invariant():
    evs = [rc.Event.param_set("mix", "gain_1", -96.0, time=1000), rc.Event.param_set("mix", "gain_1", 12.0, time=5000),
           rc.Event.param_set("mix", "pan_2", 1.0, time=5003), rc.Event.param_set("mix", "master", -20.0, time=7001)]
    outs = [run_mixer({}, 10, n=SR // 4, block=b, events=evs) for b in (1, 64, 1024)]
    assert np.all(np.isfinite(outs[0]))
    # the master glide (0 -> -20 dB, 10 ms) moves 0.076 in its first 32 frames: ramped per
    # sample that is < 0.0025 a step; stepped per control period it would be one 0.076 jump
    assert np.max(np.abs(np.diff(outs[0][:, 0]))) < 0.005
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_mixer_without_inputs_is_silent():
    with rc.Engine(sample_rate=SR, max_block=256) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("mix", "mixer", {})], master={"enabled": 0.0}))
        assert np.all(e.render(1000, block=100) == 0.0)
