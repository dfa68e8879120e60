"""ClockModel: the fit it caches per block equals the lower-envelope formula over its points,
and a new block updates it (no stale answer). Blocks are rendered offline, a few ms apart."""
from __future__ import annotations

import time

import rtcore as rc
from rtcore._native import lib
from rtcore.clock import WINDOW_NS, ClockModel


def reference(clock: ClockModel, ns: int) -> int:
    pts = list(clock._points)
    rate = clock._rate()
    last = pts[-1][0]
    offset = min(t - f * 1e9 / rate for t, f in pts if last - t <= WINDOW_NS)
    return int((ns - offset) * rate / 1e9)


def test_cached_fit_follows_every_block():
    with rc.Engine(48000, 1024) as eng:
        eng.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone")]))
        clock = ClockModel(eng)
        seen = set()
        for i in range(40):
            eng.render(128)
            time.sleep(0.001 + (i % 3) * 0.002)          # uneven wake-ups, like a real callback
            now = lib.rt_monotonic_ns()
            for ns in (now, now + 5_000_000, now - 20_000_000):
                got = clock.frame_at(ns)
                assert got == reference(clock, ns)
            seen.add(clock.frame_at(now))
        assert len(clock._points) == 40 and len(seen) == 40
