"""delay: exact echo positions, feedback decay, tempo sync, smooth time changes."""
import numpy as np
import pytest
import rtcore as rc
from nodetest import run_effect

SR = 48000
SYNC = ["off", "1/4", "1/8", "1/8d", "1/16", "1/4t", "1/8t", "1/2", "1"]


def run_fx(params, x, block=256, events=()):
    return run_effect("delay", params, x, block, events)


def impulse(n, at=0, left=1.0, right=1.0):
    x = np.zeros((n, 2), np.float32)
    x[at] = (left, right)
    return x


@pytest.mark.parametrize("ms", [1.0, 37.3, 250.0, 1000.0, 2000.0])
def test_echo_at_exact_sample(ms):
    exact = ms * SR / 1000
    d = round(exact)
    y = run_fx({"time": ms, "feedback": 0.0, "mix": 1.0}, impulse(d + 500, at=100))
    lo = int(np.floor(exact))
    for c in range(2):
        assert np.argmax(np.abs(y[:, c])) == 100 + d
        if exact == d:
            assert y[100 + d, c] == 1.0                             # integer delay: exact copy
        else:   # fractional: linear interpolation splits the impulse over two samples
            assert y[100 + lo, c] == pytest.approx(1 - (exact - lo), abs=1e-3)
            assert y[100 + lo + 1, c] == pytest.approx(exact - lo, abs=1e-3)
    assert np.sum(np.abs(y) > 1e-6) == (2 if exact == d else 4)   # one echo, nothing else


def test_feedback_echoes_decay_by_factor():
    fb, ms = 0.6, 100.0
    d = round(ms * SR / 1000)
    y = run_fx({"time": ms, "feedback": fb, "mix": 1.0}, impulse(6 * d + 10))
    for k in range(1, 6):
        assert y[k * d, 0] == pytest.approx(fb ** (k - 1), rel=1e-5)
        assert y[k * d, 1] == pytest.approx(fb ** (k - 1), rel=1e-5)
    mask = np.ones(len(y), bool)
    mask[[k * d for k in range(1, 7)]] = False
    assert np.max(np.abs(y[mask])) < 1e-6


def test_dry_wet_mix():
    y = run_fx({"time": 10.0, "feedback": 0.0, "mix": 0.25}, impulse(1000))
    assert y[0, 0] == pytest.approx(0.75)
    assert y[480, 0] == pytest.approx(0.25)


@pytest.mark.parametrize("sync,beats", [("1/4", 1.0), ("1/8", 0.5), ("1/8d", 0.75), ("1/16", 0.25),
                                        ("1/4t", 2 / 3), ("1/8t", 1 / 3), ("1/2", 2.0)])
@pytest.mark.parametrize("tempo", [90.0, 128.0])
def test_tempo_sync(sync, beats, tempo):
    d = round(60.0 / tempo * beats * SR)
    y = run_fx({"time": 500.0, "sync": float(SYNC.index(sync)), "tempo": tempo, "feedback": 0.0, "mix": 1.0},
               impulse(d + 500))
    assert abs(int(np.argmax(np.abs(y[:, 0]))) - d) <= 1   # 60/tempo*beats may fall between samples
    assert np.max(np.abs(y[:, 0])) > 0.5


def test_ping_pong_alternates():
    d = 4800
    y = run_fx({"time": 100.0, "feedback": 0.5, "mix": 1.0, "ping_pong": 1.0}, impulse(4 * d + 10))
    assert y[d, 0] == pytest.approx(1.0) and y[d, 1] == 0.0            # (L+R)/2 into the left line
    assert y[2 * d, 1] == pytest.approx(0.5) and y[2 * d, 0] == 0.0
    assert y[3 * d, 0] == pytest.approx(0.25) and y[3 * d, 1] == 0.0


def test_damping_darkens_repeats():
    d = 4800
    y0 = run_fx({"time": 100.0, "feedback": 0.9, "mix": 1.0}, impulse(5 * d))
    y1 = run_fx({"time": 100.0, "feedback": 0.9, "mix": 1.0, "damping": 0.7}, impulse(5 * d))
    seg = lambda y, k: y[k * d - 50:k * d + 400, 0]
    # first echo is not filtered; later ones lose high-frequency energy (peak spreads out)
    assert np.allclose(seg(y0, 1), seg(y1, 1))
    assert np.max(np.abs(seg(y1, 4))) < 0.5 * np.max(np.abs(seg(y0, 4)))
    assert np.all(np.isfinite(y1))


def test_tail_decays_to_silence():
    x = np.zeros((SR * 6, 2), np.float32)
    x[:SR // 10] = np.random.default_rng(4).uniform(-1, 1, (SR // 10, 2))
    y = run_fx({"time": 50.0, "feedback": 0.7, "damping": 0.3, "mix": 1.0}, x)
    assert np.max(np.abs(y[-SR:])) < 1e-6
    assert np.all((y == 0) | (np.abs(y) >= np.finfo(np.float32).tiny))


def test_time_change_is_smooth():
    # a sine through a delay whose time jumps 100 -> 300 ms: the wet signal glides (no jumps)
    t = np.arange(SR) / SR
    s = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    x = np.stack([s, s], axis=1)
    evs = [rc.Event.param_set("fx", "time", 300.0, time=SR // 2),
           rc.Event.param_set("fx", "sync", "1/8", time=3 * SR // 4)]
    y = run_fx({"time": 100.0, "feedback": 0.0, "mix": 1.0}, x, events=evs)
    seg = y[SR // 5:, 0]
    # max sample-to-sample step of a 0.5-amplitude 220 Hz sine is 2*pi*220/SR*0.5 = 0.0144;
    # gliding read positions shift the pitch a little but never jump
    assert np.max(np.abs(np.diff(seg))) < 0.05


def test_block_size_invariance_and_loud_jumps():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((SR, 2)) * 10.0).astype(np.float32)
    evs = []
    for t in range(0, SR, 1700):
        evs += [rc.Event.param_set("fx", "time", float(rng.uniform(1, 2000)), time=t),
                rc.Event.param_set("fx", "feedback", float(rng.uniform(0, 0.98)), time=t + 1),
                rc.Event.param_set("fx", "sync", SYNC[int(rng.integers(0, 9))], time=t + 5),
                rc.Event.param_set("fx", "tempo", float(rng.uniform(20, 300)), time=t + 5),
                rc.Event.param_set("fx", "ping_pong", int(rng.integers(0, 2)), time=t + 9),
                rc.Event.param_set("fx", "damping", float(rng.uniform(0, 1)), time=t + 13)]
    outs = [run_fx({}, x, block=b, events=evs) for b in (1, 64, 1024)]
    assert np.all(np.isfinite(outs[0]))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
