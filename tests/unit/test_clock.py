"""ClockModel against a simulated audio clock: a device running off its nominal rate,
callbacks woken late by a heavy-tailed delay, skipped cycles, a restarted stream, sparse
readers; and frame_at's cost at OSC rates."""
from __future__ import annotations

import time

import numpy as np
import pytest

from rtcore.clock import ClockModel, _lower_hull_slope

NOMINAL = 48000.0


class FakeClock:
    """Blocks of `block` frames on a device clock of `rate` frames/s starting at t0; block i
    starts processing `delay[i]` ns after its true start. read() returns what the engine
    publishes at time `now`: the newest block that began processing by then."""

    def __init__(self, seconds: float, rate: float = 47_800.0, block: int = 128, floor_us: float = 30.0,
                 seed: int = 0, late_fraction: float = 0.02, late_ms: float = 3.0, t0: int = 5_000_000_000):
        rng = np.random.default_rng(seed)
        n = int(seconds * rate / block)
        self.rate, self.block, self.t0, self.floor_ns = rate, block, t0, floor_us * 1e3
        self.frames = np.arange(n, dtype=np.int64) * block
        delay = floor_us * 1e3 + rng.exponential(40e3, n)                 # tens of µs of wake-up jitter
        late = rng.random(n) < late_fraction
        delay[late] += rng.exponential(late_ms * 1e6, late.sum())          # and now and then milliseconds
        self.true_ns = t0 + self.frames * 1e9 / rate                       # ideal block starts
        self.ns = (self.true_ns + delay).astype(np.int64)
        self.ns = np.maximum.accumulate(self.ns)                           # a late block delays the next
        self.now = 0

    def read(self) -> tuple[int, int]:
        i = int(np.searchsorted(self.ns, self.now, side="right")) - 1
        return (0, 0) if i < 0 else (int(self.frames[i]), int(self.ns[i]))

    def skip(self, at_s: float, blocks: int) -> None:
        """The host skipped `blocks` cycles at `at_s`: later blocks start that much later."""
        k = int(at_s * self.rate / self.block)
        shift = blocks * self.block * 1e9 / self.rate
        self.ns[k:] += int(shift)
        self.true_ns[k:] += shift

    def true_frame(self, ns: float) -> float:
        """The device frame at `ns` (after any skip: measured from the last block start)."""
        i = int(np.searchsorted(self.true_ns, ns, side="right")) - 1
        return float(self.frames[i] + (ns - self.true_ns[i]) * self.rate / 1e9)


def drive(clock: FakeClock, model: ClockModel, until_s: float, step_ms: float = 0.5, query=None):
    """Advance time in steps, calling frame_at each step (as a MIDI/OSC thread would)."""
    errs = []
    t = clock.now or clock.t0
    end = clock.t0 + until_s * 1e9
    while t < end:
        t += step_ms * 1e6
        clock.now = int(t)
        got = model.frame_at(int(t))
        if query is not None and t > query:
            # the model's frame at this time vs the device's; the envelope sits `floor` late
            errs.append(got - clock.true_frame(t - clock.floor_ns))
    return np.array(errs)


def test_rate_and_frames_follow_an_off_nominal_jittery_clock():
    clock = FakeClock(12.0)
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    assert model.frame_at(clock.t0) == 0 and model.rate == NOMINAL      # no block yet
    errs = drive(clock, model, 12.0, query=clock.t0 + 3e9)
    assert abs(model.rate / clock.rate - 1) < 20e-6, model.rate         # 0.4 % off nominal: measured
    assert np.percentile(np.abs(errs), 99) <= 2.0 and np.abs(errs).max() <= 3.0, np.percentile(np.abs(errs), 99)
    assert model.discontinuities == 0                                    # late callbacks are not jumps


def test_early_estimate_is_usable_within_a_second():
    clock = FakeClock(2.0)
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    errs = drive(clock, model, 2.0, query=clock.t0 + 0.5e9)
    assert np.abs(errs).max() < 24, np.abs(errs).max()                  # < 0.5 ms from half a second on
    assert abs(model.rate / clock.rate - 1) < 300e-6


def test_a_sparse_reader_still_finds_the_floor():
    clock = FakeClock(12.0)
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    errs = drive(clock, model, 12.0, step_ms=50.0, query=clock.t0 + 4e9)   # 20 calls a second
    assert abs(model.rate / clock.rate - 1) < 100e-6
    assert np.abs(errs).max() <= 6.0, np.abs(errs).max()


def test_skipped_cycles_move_the_envelope_within_a_fifth_of_a_second():
    clock = FakeClock(8.0, late_fraction=0.0)
    clock.skip(4.0, blocks=3)                                            # an xrun: 384 frames never ran
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    drive(clock, model, 4.0)
    before = model.offset_ns
    errs = drive(clock, model, 8.0, query=clock.t0 + 4.3e9)
    assert model.discontinuities == 1
    assert model.offset_ns - before == pytest.approx(3 * 128 * 1e9 / clock.rate, abs=50e3)
    assert np.abs(errs).max() <= 3.0, np.abs(errs).max()


def test_a_restarted_stream_resets_the_model():
    a = FakeClock(3.0)
    model = ClockModel(reader=lambda: a.read(), sample_rate=NOMINAL)
    drive(a, model, 3.0)
    b = FakeClock(3.0, rate=48_010.0, t0=a.t0 + 4_000_000_000, seed=1)   # frames start again at 0
    model._read = b.read
    errs = drive(b, model, 3.0, query=b.t0 + 1.5e9)
    assert abs(model.rate / b.rate - 1) < 300e-6 and np.abs(errs).max() <= 4.0


def test_window_minimum_matches_brute_force():
    clock = FakeClock(4.0, late_fraction=0.2, seed=3)
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    for t in np.arange(clock.t0, clock.t0 + 4e9, 0.3e6):
        clock.now = int(t)
        model.update()
        pts = [(n, f) for n, f in model._points]
        if not pts:
            continue
        k = model._ns_per_frame
        brute = min(n - f * k for n, f in pts if n >= pts[-1][0] - 1e9)
        assert model.offset_ns == pytest.approx(brute, abs=1e-3)


def test_lower_hull_slope_ignores_points_above_the_line():
    x = np.arange(20.0)
    y = 3.0 * x + 7.0
    y[[2, 5, 6, 13]] += [40.0, 9.0, 100.0, 25.0]                          # late points lie above
    assert _lower_hull_slope(list(zip(x, y))) == pytest.approx(3.0)


def test_frame_at_is_cheap_at_osc_rates():
    """20,000 calls with 30 s of block points behind them: well under a second."""
    clock = FakeClock(31.0, block=64, late_fraction=0.0)
    model = ClockModel(reader=clock.read, sample_rate=NOMINAL)
    for t in np.arange(clock.t0, clock.t0 + 30e9, 1.3e6):                 # every block seen
        clock.now = int(t)
        model.update()
    reader_calls = []
    fixed = clock.read()
    model._read = lambda: (reader_calls.append(1), fixed)[1]
    t0 = time.perf_counter()
    for i in range(20_000):
        model.frame_at(clock.now + i * 50_000)
    spent = time.perf_counter() - t0
    assert len(reader_calls) == 20_000 and spent < 1.0, spent
