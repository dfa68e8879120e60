"""Absolute arrival times for MIDI messages from python-rtmidi, on CLOCK_MONOTONIC (ns).

python-rtmidi hands over ``(message, delta)``: ``delta`` is seconds since the previous
MIDI *event* the backend saw. With RtMidi's JACK API (RtMidi 5.0, bundled in
python-rtmidi 1.5.8) the backend's process callback calls ``jack_get_time()`` once per
event, in the JACK cycle that delivers it, and sends ``(time - last_time) * 1e-6`` (0.0 for
the first message); the event's frame offset inside the cycle is not used, so every message
of a cycle gets the time that cycle was processed (a period of jitter against the frame the
sender wrote it at, which no timestamping can recover). ``jack_get_time()`` is whole µs of
libjack's clock: CLOCK_MONOTONIC_RAW in Debian's jackd2 1.9.21 (CLOCK_MONOTONIC in older
jack2), not the CLOCK_MONOTONIC the engine's clock uses; the two differ by a rate of a few
to tens of ppm (NTP's correction).

Method: the deltas are differences of integer µs, so their running sum ``cum`` is exact:
``time_k = time_0 + cum_k``. Each message is stamped on arrival in Python, on the same clock
as libjack (``source_clock``), and arrives after its ``time_k``, so ``arrival - cum`` is an
upper bound of ``time_0``; the running minimum of it (``offset``) converges to ``time_0``
plus the smallest arrival latency seen. The estimate ``offset + cum_k`` is then as good as
the best-timed message so far, even when this one reached Python late (the GIL was busy, a
polling thread slept); it is never later than this message's own arrival. It is converted to
CLOCK_MONOTONIC with a pair of clock readings taken at the arrival.

Two guards: the offset may rise by ``max_drift_ppm`` of elapsed time (tolerates a
``source_clock`` that is not libjack's, at that much error per second between well-timed
messages), and an estimate more than ``reanchor_ms`` before the arrival restarts the offset
there (counted in ``reanchors``). The latter catches *lost deltas*: RtMidi's JACK input
updates its last time on messages it then filters out, and python-rtmidi filters SysEx,
timing clock and active sensing by default -- call
``midi_in.ignore_types(sysex=False, timing=False, active_sense=False)`` and drop those in
Python, or every filtered message silently takes its delta away from the sum. And a delta
RtMidi cannot give (negative, NaN, longer than :data:`MAX_DELTA_S`) starts the sum again at
that message, stamped at its arrival (counted in ``bad_deltas``).

Threads: :meth:`MidiTimestamper.stamp` is meant for the one thread that receives the
messages (rtmidi's callback runs on the JACK process thread, holding the GIL).
"""
from __future__ import annotations

import time
from typing import Callable

#: the clock libjack's jack_get_time() reads on Linux with jackd2 1.9.21 (measured here; the
#: disassembly of libjack.so.0 calls clock_gettime with clock id 4)
JACK_CLOCK: int = getattr(time, "CLOCK_MONOTONIC_RAW", time.CLOCK_MONOTONIC)

#: the longest delta taken as one (s); a longer one, a negative one or NaN is not a delta RtMidi gives
MAX_DELTA_S = 86400.0

#: (source-clock ns, CLOCK_MONOTONIC ns) read together
ClockPair = Callable[[], "tuple[int, int]"]


def clock_pair(source_clock: int) -> ClockPair:
    """Reads ``source_clock`` and CLOCK_MONOTONIC back to back (a few hundred ns apart)."""
    if source_clock == time.CLOCK_MONOTONIC:
        def same() -> tuple[int, int]:
            t = time.monotonic_ns()
            return t, t
        return same

    def pair() -> tuple[int, int]:
        a = time.clock_gettime_ns(source_clock)
        m = time.monotonic_ns()
        b = time.clock_gettime_ns(source_clock)
        return (a + b) // 2, m
    return pair


class MidiTimestamper:
    """Turns python-rtmidi ``(message, delta)`` pairs into CLOCK_MONOTONIC arrival times.

    ``source_clock``: the clock the backend's deltas are measured on (libjack's,
    :data:`JACK_CLOCK`). ``max_drift_ppm``: how fast (µs per s) the offset may rise.
    ``reanchor_ms``: an estimate this much before the arrival restarts the offset (a
    message that reached Python later than that, a long GIL stall, is then stamped at its
    arrival: keep it above the stalls a polling thread can see).
    ``now``: a :data:`ClockPair` (tests inject one); default reads the real clocks.
    """

    def __init__(self, source_clock: int = JACK_CLOCK, max_drift_ppm: float = 20.0, reanchor_ms: float = 30.0,
                 now: ClockPair | None = None) -> None:
        self._now = now or clock_pair(source_clock)
        self._drift = max_drift_ppm * 1e-6
        self._reanchor_ns = reanchor_ms * 1e6
        self.reset()

    def reset(self) -> None:
        """Forget the sum and the offset (a new input port, or rtmidi's first message again)."""
        self._cum_us = 0
        self._offset: float | None = None     # source-clock ns of the first message's event
        self._last_src = 0
        self.messages = 0
        self.reanchors = 0
        self.bad_deltas = 0

    @property
    def offset_ns(self) -> float | None:
        """Estimated source-clock ns of the first message's event (None before any)."""
        return self._offset

    def stamp(self, delta: float, arrival: tuple[int, int] | None = None) -> int:
        """CLOCK_MONOTONIC ns at which the backend timed the message whose ``delta``
        (seconds, as rtmidi gives it) this is. Call once per message, in arrival order, as
        soon as it arrives; ``arrival`` = (source-clock ns, CLOCK_MONOTONIC ns) read at
        arrival, read now when omitted."""
        src, mono = arrival if arrival is not None else self._now()
        if self.messages:
            if 0.0 <= delta <= MAX_DELTA_S:
                self._cum_us += round(delta * 1e6)    # exact: deltas are whole µs of libjack's clock
            else:                                     # not a delta (NaN, negative, absurd): count it and
                self.bad_deltas += 1                  # start the sum again here, at this message's arrival
                self._cum_us, self._offset = 0, None
        self.messages += 1
        cum_ns = self._cum_us * 1000
        sample = src - cum_ns                          # >= the first event's time
        if self._offset is None:
            self._offset = float(sample)
        else:
            raised = self._offset + self._drift * max(0, src - self._last_src)
            self._offset = min(raised, float(sample))
            if src - (self._offset + cum_ns) > self._reanchor_ns:
                self.reanchors += 1                    # deltas were lost (filtered messages)
                self._offset = float(sample)
        self._last_src = src
        return int(round(self._offset + cum_ns + (mono - src)))
