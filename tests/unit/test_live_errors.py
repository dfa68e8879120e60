"""play() error paths that need no audio server: every failure is a typed, one-line error
raised before any sound, and the engine stays usable offline."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc
from rtcore.live import play


@pytest.fixture
def engine():
    with rc.Engine(48000, 1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone", {})], master={"enabled": 0.0}))
        yield e


def test_bad_events_fail_before_the_stream_opens(engine):
    with pytest.raises(rc.NotFoundError, match="no node named 'nope'"):
        play(engine, events=[rc.Event.param_set("nope", "freq", 440.0, time=0)], quiet=True)
    with pytest.raises(rc.NotFoundError, match="no parameter 'pitch'"):
        play(engine, events=[rc.Event.param_set("t", "pitch", 440.0, time=0)], quiet=True)
    with pytest.raises(rc.ParamRangeError):
        play(engine, events=[rc.Event.param_set("t", "freq", 1e6, time=0)], quiet=True)
    with pytest.raises(ValueError, match=">= 0"):
        play(engine, events=[rc.Event.param_set("t", "freq", 440.0, time=-5)], quiet=True)
    assert engine._audio is None


def test_missing_device_then_render(engine):
    with pytest.raises(rc.DeviceError) as ei:
        play(engine, device=999, seconds=0.1, quiet=True)
    assert "999" in str(ei.value) and "\n" not in str(ei.value)
    assert engine._audio is None and not engine.audio_running
    y = engine.render(4800)
    assert abs(20 * np.log10(np.abs(y[:, 0]).max()) + 12.0) < 0.05
