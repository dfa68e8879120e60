"""Mapping wall-clock time (CLOCK_MONOTONIC, ns) to engine frames, for timestamped live input.

The audio thread publishes, once per block, the engine frame at the block's start and the
monotonic time its processing began (``rt_engine_clock``). Callbacks are sometimes woken
late, never early, so the *lower envelope* of ``time - frame / rate`` is the clock; the
rate is measured (a JACK dummy driver runs a fraction of a percent off its nominal rate).
"""
from __future__ import annotations

import threading
from collections import deque
from itertools import takewhile

from ._native import ffi, lib

WINDOW_NS = 1_000_000_000        # lower envelope over the last second of blocks
RATE_SPAN_NS = 20_000_000_000    # the rate is measured over up to 20 s of blocks


class ClockModel:
    """Engine frame at a monotonic time. Thread-safe; :meth:`update` is cheap and is called
    by :meth:`frame_at` itself, so the model follows the stream without its own thread."""

    def __init__(self, engine) -> None:   # engine: rtcore.Engine
        self._engine = engine
        self._nominal = float(engine.sample_rate)
        self._lock = threading.Lock()
        self._points: deque[tuple[int, int]] = deque()     # (ns, frame), one per block seen
        self._first: tuple[int, int] | None = None
        self._f = ffi.new("int64_t *")
        self._t = ffi.new("int64_t *")
        self._fit_key: tuple | None = None     # (points, last point) the cached fit was made from
        self._fit = (self._nominal, 0.0)       # (rate, offset ns): changes once per block, not per call

    def update(self) -> None:
        with self._lock:
            lib.rt_engine_clock(self._engine.handle, self._f, self._t)
            frame, ns = int(self._f[0]), int(self._t[0])
            if ns == 0:
                return
            if self._points and self._points[-1][1] == frame:
                return
            if self._points and frame < self._points[-1][1]:     # engine clock restarted
                self._points.clear()
                self._first = None
            self._points.append((ns, frame))
            if self._first is None or ns - self._first[0] > RATE_SPAN_NS:
                self._first = self._points[0]
            while len(self._points) > 2 and ns - self._points[0][0] > RATE_SPAN_NS:
                self._points.popleft()

    @property
    def rate(self) -> float:
        """Measured frames per second (the nominal sample rate until 0.5 s have run)."""
        with self._lock:
            return self._rate()

    def _rate(self) -> float:
        if len(self._points) < 2:
            return self._nominal
        (t0, f0), (t1, f1) = self._points[0], self._points[-1]
        if t1 - t0 < 500_000_000:
            return self._nominal
        r = (f1 - f0) * 1e9 / (t1 - t0)
        return r if abs(r / self._nominal - 1.0) < 0.05 else self._nominal

    def frame_at(self, ns: int) -> int:
        """Engine frame that was (or will be) at the start of processing at monotonic ``ns``."""
        self.update()
        with self._lock:
            if not self._points:
                return int(self._f[0])
            key = (len(self._points), self._points[-1])
            if key != self._fit_key:
                rate = self._rate()
                last_ns = self._points[-1][0]
                recent = takewhile(lambda p: last_ns - p[0] <= WINDOW_NS, reversed(self._points))
                offset = min(t - f * 1e9 / rate for t, f in recent)
                self._fit_key, self._fit = key, (rate, offset)
            rate, offset = self._fit
            return int((ns - offset) * rate / 1e9)

    def now(self) -> int:
        """Engine frame now."""
        return self.frame_at(lib.rt_monotonic_ns())
