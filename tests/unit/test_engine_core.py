"""Engine mechanics: graph swaps, scheduling counters, the NaN guard, block-size invariance."""
from __future__ import annotations

import numpy as np
import pytest

import rtcore as rc
from rtcore import Event, GraphSpec, NodeSpec

SR = 48000


def amp_graph(gain_db: float = 0.0) -> GraphSpec:
    return GraphSpec(nodes=[NodeSpec("in", "input"), NodeSpec("amp", "gain", {"gain": gain_db})],
                     connections=[("in", "amp")], master={"enabled": 0.0})


def dc(frames: int, value: float = 0.5) -> np.ndarray:
    return np.full((frames, 2), value, dtype=np.float32)


def test_render_is_block_size_invariant_with_param_changes():
    x = (np.random.default_rng(1).standard_normal((SR, 2)) * 0.2).astype(np.float32)
    evs = [Event.param_set("amp", "gain", g, t) for g, t in ((-12.0, 1001), (3.0, 17777), (-40.0, 30001))]
    evs.append(Event.param_set("amp", "mute", True, 40003))
    outs = []
    for block in (1, 64, 1024):
        with rc.Engine(SR, 1024) as e:
            e.load(amp_graph())
            outs.append(e.render_events(evs, SR, block=block, input=x))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])
    assert np.abs(outs[0][-1000:]).max() == 0.0            # muted at the end


def test_graph_swap_crossfades_without_a_click_and_frees_the_old_graph():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph(0.0))
        a = e.render(4800, 128, dc(4800))
        assert np.allclose(a[-1], 0.5)
        e.load(amp_graph(-20.0), keep_state=False)     # a plain swap (hot reload would glide the gain)
        b = e.render(4800, 128, dc(4800))
        assert np.allclose(b[-1], 0.05, atol=1e-6)
        steps = np.abs(np.diff(np.concatenate([a[:, 0], b[:, 0]])))
        assert steps.max() < 0.45 / 480 * 1.5          # a 10 ms linear crossfade, not a jump
        s = e.stats()
        assert s.graph_swaps == 2 and s.graph_generation == 2
        kinds = [t[1] for t in e.telemetry()]
        assert kinds.count(rc.engine.lib.RT_TM_GRAPH_SWAP) == 2


def test_broken_graph_leaves_the_old_one_playing():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph(-6.0))
        bad = amp_graph(0.0)
        bad.connections.append(("amp", "nowhere"))
        with pytest.raises(KeyError):
            e.load(bad)
        bad2 = amp_graph(0.0)
        bad2.nodes[1].params["gain"] = 99.0
        with pytest.raises(rc.ParamRangeError, match="gain"):
            e.load(bad2)
        y = e.render(2400, 128, dc(2400))
        assert np.allclose(y[-1], 0.5 * 10 ** (-6 / 20), rtol=1e-5)
        assert e.stats().graph_swaps == 1


def test_late_and_stale_events_are_counted():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph())
        e.render(1000, 100)
        e.send(Event.param_set("amp", "gain", -6.0, time=10))        # already in the past
        e.send(Event.param_set("amp", "gain", -6.0, time=1_000_000))  # far ahead, for this graph
        e.render(100, 100)
        e.load(amp_graph())                                           # the scheduled one is now stale
        e.send(Event(rc.engine.lib.RT_EV_PARAM, 1_000_000, node=None))  # needs a node: ignored
        e.render(100, 100)
        s = e.stats()
        assert s.events_late == 1
        assert s.events_in == 3


def test_stale_event_for_replaced_graph():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph())
        e.send(Event.param_set("amp", "gain", -6.0, time=2000))
        e.render(100, 100)            # the event waits in the pending queue
        e.load(amp_graph(), keep_state=False)   # replaced before it was due (a kept node would get it)
        e.render(4000, 100)
        assert e.stats().events_stale == 1


def test_full_ring_is_reported_never_silent():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph())
        n = rc.engine.lib.RT_EVENT_RING_SIZE
        sent = e.send([Event.param_set("amp", "gain", -1.0)] * (n + 100))
        assert sent == n
        assert e.stats().events_dropped == 100
        with pytest.raises(rc.QueueFullError):
            e.send(Event.param_set("amp", "gain", -1.0))
        e.render(256, 256)            # the audio thread drains the ring
        e.send(Event.param_set("amp", "gain", -1.0))


def test_nan_input_is_muted_and_counted_and_the_engine_recovers():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph())
        x = dc(512, 0.25)
        x[300, 0] = np.nan
        y = e.render(512, 256, x)
        assert np.all(np.isfinite(y))
        assert np.all(y[256:] == 0.0) and np.allclose(y[:256], 0.25)
        assert e.stats().nonfinite_blocks == 1
        y2 = e.render(256, 256, dc(256, 0.25))
        assert np.allclose(y2, 0.25)


def test_meters_report_per_node_levels():
    with rc.Engine(SR, 256) as e:
        e.load(amp_graph(-6.0))
        e.render(256, 256, dc(256, 0.5))
        m = e.meters()
        assert m["in"][0] == pytest.approx(0.5) and m["in"][2] == pytest.approx(0.5)
        assert m["amp"][0] == pytest.approx(0.5 * 10 ** (-6 / 20), rel=1e-5)
        assert set(m) == {"master", "in", "amp"}


def test_master_limiter_holds_the_ceiling():
    spec = amp_graph(12.0)
    spec.master = {"ceiling": -1.0}
    with rc.Engine(SR, 256) as e:
        e.load(spec)
        x = (np.sin(np.arange(SR) * 2 * np.pi * 100 / SR)[:, None] * np.ones(2)).astype(np.float32)
        y = e.render(SR, 128, x)
        assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-6
        assert np.abs(y).max() > 10 ** (-1 / 20) * 0.99


def test_close_is_idempotent_and_blocks_use():
    e = rc.Engine(SR, 256)
    e.close()
    e.close()
    with pytest.raises(rc.EngineStateError):
        e.render(10)


def test_bad_activation_values():
    with pytest.raises(rc.ParamRangeError):
        rc.Engine(100, 256)
    with pytest.raises(rc.ParamRangeError):
        rc.Engine(SR, 100000)
    with pytest.raises(ValueError):          # typed errors are also ValueErrors where that fits
        rc.Engine(SR, 0)
