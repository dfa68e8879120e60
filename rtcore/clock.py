"""Mapping wall-clock time (CLOCK_MONOTONIC, ns) to engine frames, for timestamped live input.

The audio thread publishes, once per block, the engine frame at the block's start and the
monotonic time its processing began (``rt_engine_clock``). A callback is woken late, never
early, so every point lies on or above the line ``ns = offset + frame * 1e9 / rate``; the
model is that line's *lower envelope*:

* ``rate`` (frames per second) is measured, because a device's clock is not its nominal
  rate (jackd's dummy driver runs about 0.4 % slow here). The points of each tenth of a second
  are reduced to their lowest one (the least-delayed callback); the rate is the slope of the
  lower convex hull of those minima at their mean frame (the line under all of them that
  hugs them best), so a burst of late callbacks, even seconds long, does not tilt it.
* ``offset`` is the minimum of ``ns - frame * 1e9 / rate`` over the last second of points,
  kept incrementally in a monotonic deque: :meth:`frame_at` is O(1) amortized however many
  points the window holds (20,000 OSC messages a second need that).
* A discontinuity -- the host skipped cycles (an xrun: time went on, frames did not), so
  the floor rose for good -- is detected when no point of the last 0.2 s came within half
  a block of the old floor: the old points are dropped and the envelope restarts there.
  An engine clock that goes backwards (a new stream) resets the model.

The estimate is the frame of a block whose processing would start with the least delay
seen: the host's own cycle start is earlier by that floor (tens of µs: about one frame).

Threads: any. The model holds a lock; :meth:`update` (called by :meth:`frame_at`) reads the
engine's seqlock, never blocking the audio thread.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from typing import Callable

from ._native import ffi, lib

#: (frame at the start of the last processed block, CLOCK_MONOTONIC ns its processing began);
#: ns == 0 while no block has run.
ClockReader = Callable[[], "tuple[int, int]"]

WINDOW_S = 1.0            # the offset is the floor of the last second of blocks
JUMP_WINDOW_S = 0.2       # a floor that stayed this long above the old one is a discontinuity
BUCKET_S = 0.1            # the rate fit uses the lowest point of each tenth of a second
RATE_SPAN_S = 30.0        # ... over the last 30 s
MIN_RATE_SPAN_S = 0.3     # before that much, the nominal rate
MAX_RATE_ERROR = 0.05     # a measured rate further than 5 % from nominal is not believed


def engine_reader(engine) -> ClockReader:
    """The clock reader of an :class:`~rtcore.Engine` (``rt_engine_clock``)."""
    f, t = ffi.new("int64_t *"), ffi.new("int64_t *")
    handle = engine.handle

    def read() -> tuple[int, int]:
        if lib.rt_engine_clock(handle, f, t) < 0:      # the writer kept the seqlock busy: no point
            return 0, 0
        return int(f[0]), int(t[0])
    return read


class _WindowMin:
    """Sliding-window minimum of (ns, value) pairs added in time order: a monotonic deque
    whose front is the minimum of the points newer than ``now - span``."""

    __slots__ = ("span", "q")

    def __init__(self, span_ns: float) -> None:
        self.span = span_ns
        self.q: deque[tuple[int, float]] = deque()

    def add(self, ns: int, value: float) -> None:
        q = self.q
        while q and q[-1][1] >= value:
            q.pop()
        q.append((ns, value))
        while q[0][0] < ns - self.span:
            q.popleft()

    def min(self) -> tuple[int, float]:
        return self.q[0]

    def clear(self) -> None:
        self.q.clear()


def _lower_hull_slope(pts: list[tuple[float, float]]) -> float:
    """Slope of the lower convex hull of (x, y) points (sorted by x) at their mean x: the
    line below every point that minimizes the summed gap to them."""
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) <= 0:   # hull[-1] not below the chord
                hull.pop()
            else:
                break
        hull.append(p)
    xm = sum(x for x, _ in pts) / len(pts)
    for (x1, y1), (x2, y2) in zip(hull, hull[1:]):
        if x2 >= xm:
            return (y2 - y1) / (x2 - x1)
    (x1, y1), (x2, y2) = hull[-2], hull[-1]
    return (y2 - y1) / (x2 - x1)


class ClockModel:
    """Engine frame at a CLOCK_MONOTONIC time, from the engine's published block clock.

    ``ClockModel(engine)`` reads ``rt_engine_clock``; tests and tools may pass
    ``reader`` (a :data:`ClockReader`) and ``sample_rate`` (Hz) instead. The model follows
    the stream by itself: :meth:`frame_at` first takes the newest block point, so call it
    (or :meth:`update`) at least a few times a second -- every call adds at most one point,
    and the more blocks it sees the closer the floor is to the least-delayed one.
    """

    def __init__(self, engine=None, *, reader: ClockReader | None = None, sample_rate: float | None = None,
                 window_s: float = WINDOW_S) -> None:
        if reader is None:
            if engine is None:
                raise ValueError("ClockModel needs an engine or a reader")
            reader = engine_reader(engine)
        if sample_rate is None:
            if engine is None:
                raise ValueError("ClockModel(reader=...) needs sample_rate")
            sample_rate = float(engine.sample_rate)
        self._read = reader
        self._nominal = float(sample_rate)
        self._window_ns = window_s * 1e9
        self._lock = threading.Lock()
        self.reset()

    # ---- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every point (the next one starts a new envelope at the nominal rate)."""
        self._rate = self._nominal
        self._measured = False
        self._ns_per_frame = 1e9 / self._nominal
        self._last: tuple[int, int] | None = None          # (ns, frame) of the newest point
        self._step = 0                                      # smallest frame step seen (the block)
        self._points: deque[tuple[int, int]] = deque()      # (ns, frame) of the window, for a rebuild
        self._floor = _WindowMin(self._window_ns)
        self._recent = _WindowMin(JUMP_WINDOW_S * 1e9)
        self._buckets: deque[tuple[int, float, int]] = deque()   # (ns, d0, frame) lowest per bucket
        self._bucket: tuple[int, float, int] | None = None
        self._bucket_t0 = 0
        self.discontinuities = 0                            # floor jumps seen (skipped cycles)

    @property
    def rate(self) -> float:
        """Frames per second: measured once 0.4 s of blocks are seen, nominal before."""
        with self._lock:
            return self._rate

    @property
    def offset_ns(self) -> float | None:
        """The envelope's CLOCK_MONOTONIC ns at engine frame 0 (None before the first block)."""
        with self._lock:
            return self._floor.min()[1] if self._floor.q else None

    def update(self) -> bool:
        """Take the engine's newest block point; True when it was a new one."""
        frame, ns = self._read()
        if ns == 0:
            return False
        with self._lock:
            return self._add(ns, frame)

    def frame_at(self, ns: int) -> int:
        """Engine frame that is (or was, or will be) starting at CLOCK_MONOTONIC ``ns``:
        the envelope's frame, rounded down. Before the first block: the last frame read."""
        frame, t = self._read()
        with self._lock:
            if t:
                self._add(t, frame)
            if not self._floor.q:
                return frame
            return math.floor((ns - self._floor.min()[1]) / self._ns_per_frame)

    def now(self) -> int:
        """Engine frame now."""
        return self.frame_at(lib.rt_monotonic_ns())

    def time_at(self, frame: int) -> int | None:
        """CLOCK_MONOTONIC ns at which engine ``frame`` starts (the inverse of
        :meth:`frame_at`); None before the first block. For output that must leave at a
        frame's time (MIDI clock)."""
        f, t = self._read()
        with self._lock:
            if t:
                self._add(t, f)
            if not self._floor.q:
                return None
            return int(round(self._floor.min()[1] + frame * self._ns_per_frame))

    # ---- internals (lock held) -------------------------------------------------------------
    def _add(self, ns: int, frame: int) -> bool:
        last = self._last
        if last is not None:
            if frame == last[1]:
                return False
            if frame < last[1] or ns <= last[0]:            # a new stream: start over
                self.reset()
            else:
                step = frame - last[1]
                self._step = step if not self._step else min(self._step, step)
        self._last = (ns, frame)
        self._add_rate_point(ns, frame)
        d = ns - frame * self._ns_per_frame
        self._points.append((ns, frame))
        while self._points[0][0] < ns - self._window_ns:
            self._points.popleft()
        self._floor.add(ns, d)
        self._recent.add(ns, d)
        self._check_jump(ns)
        return True

    def _add_rate_point(self, ns: int, frame: int) -> None:
        d0 = ns - frame * 1e9 / self._nominal             # against the nominal rate: fixed for good
        if self._bucket is None:
            self._bucket, self._bucket_t0 = (ns, d0, frame), ns
        elif d0 < self._bucket[1]:
            self._bucket = (ns, d0, frame)
        if ns - self._bucket_t0 < BUCKET_S * 1e9:
            return
        self._buckets.append(self._bucket)
        self._bucket, self._bucket_t0 = None, ns
        while self._buckets[0][0] < ns - RATE_SPAN_S * 1e9:
            self._buckets.popleft()
        if len(self._buckets) < 2 or self._buckets[-1][0] - self._buckets[0][0] < MIN_RATE_SPAN_S * 1e9:
            return
        slope = _lower_hull_slope([(float(f), d) for _, d, f in self._buckets])   # ns per frame vs nominal
        ns_per_frame = 1e9 / self._nominal + slope
        rate = 1e9 / ns_per_frame if ns_per_frame > 0 else 0.0
        if abs(rate / self._nominal - 1.0) > MAX_RATE_ERROR:
            return
        self._rate, self._ns_per_frame, self._measured = rate, ns_per_frame, True
        self._rebuild()

    def _rebuild(self) -> None:
        """The rate changed: recompute the window minima from the window's points."""
        self._floor.clear()
        self._recent.clear()
        for ns, frame in self._points:
            d = ns - frame * self._ns_per_frame
            self._floor.add(ns, d)
            self._recent.add(ns, d)

    def _check_jump(self, ns: int) -> None:
        if not self._measured or not self._step:
            return
        floor_ns, floor = self._floor.min()
        if floor_ns >= ns - JUMP_WINDOW_S * 1e9:            # the floor is recent: nothing to compare
            return
        threshold = 0.5 * self._step * self._ns_per_frame  # half a block
        if self._recent.min()[1] - floor <= threshold:
            return
        # the floor rose for good: keep only the recent points, restart the rate buckets
        # (frames before the jump are offset against those after it)
        self.discontinuities += 1
        keep = ns - JUMP_WINDOW_S * 1e9
        while self._points and self._points[0][0] < keep:
            self._points.popleft()
        self._buckets.clear()
        self._bucket = None
        self._rebuild()
