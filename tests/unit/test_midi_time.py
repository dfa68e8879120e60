"""MidiTimestamper against a simulated RtMidi JACK input: integer-µs event times turned into
deltas the way RtMidi does, arrivals in Python delayed by GIL stalls, a CLOCK_MONOTONIC that
is offset from and drifting against libjack's clock, filtered messages, a wrong clock."""
from __future__ import annotations

import time

import numpy as np

from rtcore.midi_time import JACK_CLOCK, MidiTimestamper, clock_pair

MONO_OFFSET_NS = 230_215_000        # CLOCK_MONOTONIC - CLOCK_MONOTONIC_RAW seen on this machine


def stream(n: int = 2000, seed: int = 0, drift_ppm: float = -4.0, stall_fraction: float = 0.1,
           src_drift_ppm: float = 0.0):
    """Event times (µs, libjack's clock), the deltas rtmidi gives, arrivals (src ns, mono ns),
    and the true CLOCK_MONOTONIC ns of each event. `src_drift_ppm`: the clock Python stamps
    arrivals on runs that much fast against libjack's (a wrong source_clock)."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 400_000, n)                                   # up to 0.4 s apart
    gaps[rng.random(n) < 0.3] = 0                                        # chords: same cycle, same µs
    t_us = 9_627_089_046 + np.cumsum(gaps)
    deltas = [0.0] + [(int(b) - int(a)) * 0.000001 for a, b in zip(t_us[:-1], t_us[1:])]   # as RtMidi computes
    latency = 5_000 + rng.exponential(10_000, n)                         # ns: the JACK thread calls at once
    stall = rng.random(n) < stall_fraction
    latency[stall] += rng.uniform(0.5e6, 8e6, stall.sum())               # the GIL was busy: ms late
    libjack = (t_us * 1000 + rng.integers(0, 1000, n)).astype(float)    # jack_get_time truncates to µs
    # the events on the clock Python stamps arrivals with (libjack's own, or a wrong one)
    src0 = libjack[0]
    true_src = libjack + (libjack - src0) * src_drift_ppm * 1e-6
    arr_src = true_src + latency
    to_mono = lambda s: s + MONO_OFFSET_NS + (s - src0) * drift_ppm * 1e-6      # noqa: E731
    true_mono = to_mono(true_src)
    arrivals = [(int(s), int(to_mono(s))) for s in arr_src]
    return deltas, arrivals, true_mono


def test_estimates_recover_event_times_despite_late_arrivals():
    deltas, arrivals, true_mono = stream()
    ts = MidiTimestamper()
    est = np.array([ts.stamp(d, a) for d, a in zip(deltas, arrivals)], dtype=float)
    err = est - true_mono
    raw = np.array([m for _, m in arrivals]) - true_mono
    assert np.percentile(raw, 99) > 4e6                                 # arrivals alone: ms late
    # the estimates: the best arrival latency, plus what the drift allowance (20 ppm of the
    # time since the last well-timed message) adds: tens of µs, about a frame
    assert np.abs(err[20:]).max() < 50e3 and np.median(np.abs(err[20:])) < 20e3, np.abs(err[20:]).max()
    assert np.all(est <= np.array([m for _, m in arrivals]) + 1)        # never after the arrival
    assert ts.reanchors == 0 and ts.messages == len(deltas)


def test_the_sum_of_deltas_is_exact_over_many_messages():
    deltas, arrivals, _ = stream(n=20_000, stall_fraction=0.0)
    ts = MidiTimestamper()
    first = ts.stamp(deltas[0], arrivals[0])
    for d, a in zip(deltas[1:], arrivals[1:]):
        ts.stamp(d, a)
    span_us = round(sum(round(d * 1e6) for d in deltas))
    assert ts._cum_us == span_us and first <= arrivals[0][1]


def test_filtered_messages_lose_their_deltas_and_are_caught():
    """RtMidi moves its last time on messages it filters (timing clock by default): the
    deltas of what is delivered no longer add up. The estimate restarts at the arrival."""
    deltas, arrivals, true_mono = stream(stall_fraction=0.0)
    keep = np.ones(len(deltas), bool)
    keep[5::7] = False                                                   # every 7th was a filtered clock
    kept = [(d, a, t) for d, a, t, k in zip(deltas, arrivals, true_mono, keep) if k]
    ts = MidiTimestamper(reanchor_ms=10.0)
    err = np.array([ts.stamp(d, a) - t for d, a, t in kept])
    assert ts.reanchors > 10
    assert np.abs(err).max() < 10.5e6                                    # bounded by reanchor_ms
    ok = MidiTimestamper()                                               # all messages delivered: exact
    err_ok = np.array([ok.stamp(d, a) - t for d, a, t in zip(deltas, arrivals, true_mono)])
    assert ok.reanchors == 0 and np.abs(err_ok[20:]).max() < 30e3


def test_a_wrong_source_clock_is_tolerated_up_to_max_drift():
    deltas, arrivals, true_mono = stream(src_drift_ppm=10.0, stall_fraction=0.0)   # ~400 s of messages
    tolerant = MidiTimestamper()
    strict = MidiTimestamper(max_drift_ppm=0.0)
    e_tol = np.array([tolerant.stamp(d, a) for d, a in zip(deltas, arrivals)]) - true_mono
    e_strict = np.array([strict.stamp(d, a) for d, a in zip(deltas, arrivals)]) - true_mono
    assert np.abs(e_strict).max() > 1e6                                  # a ms off after minutes
    assert np.abs(e_tol[20:]).max() < 100e3, np.abs(e_tol[20:]).max()


def test_clock_pair_reads_both_clocks_together():
    src, mono = clock_pair(JACK_CLOCK)()
    assert abs((mono - src) - (time.monotonic_ns() - time.clock_gettime_ns(JACK_CLOCK))) < 2e6
    s, m = clock_pair(time.CLOCK_MONOTONIC)()
    assert s == m
    ts = MidiTimestamper()
    before = time.monotonic_ns()
    got = ts.stamp(0.0)                                                 # the first message: now
    assert before - 1e6 <= got <= time.monotonic_ns()
