"""External clocks without a network or a sound card: the engine's anchor handling (join at
once, slew small errors, stop), the MIDI clock follower's tempo fit through jittery ticks, Song
Position and Start/Stop, tap tempo, and the session routing tempo requests to the clock."""
from __future__ import annotations

import random

import pytest

import rtcore as rc
from rtcore._native import ffi, lib
from rtcore.errors import RtCoreError
from rtcore.patch import load_patch
from rtcore.session import Session
from rtcore.sync import MidiClockIn, TapTempo, make_clock

SR = 48000

PATCH = """
[engine]
tempo = 100
[clock]
source = "midi"
[[node]]
name = "t"
type = "tone"
[[node]]
name = "echo"
type = "delay"
sync = "1/4"
[[connect]]
from = "t"
to = "echo"
"""


def anchor(eng, frame, beat, tempo, playing=lib.RT_CLOCK_KEEP, jump=0) -> None:
    a = ffi.new("rt_clock_anchor_t *")
    a.frame, a.beat, a.tempo, a.playing, a.jump = frame, beat, tempo, playing, jump
    assert lib.rt_engine_clock_anchor(eng.handle, a) == 0


def test_anchors_join_at_once_slew_small_errors_and_stop():
    with rc.Engine(SR, 1024) as eng:
        eng.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone", {})]))
        anchor(eng, 1000, 2.0, 120.0, playing=1)              # joining: beat 2 at frame 1000
        eng.render(128)
        st = eng.stats()
        assert st.transport_playing == 1 and st.transport_origin == 1000 - 48000 and st.tempo == 120.0
        anchor(eng, 25000, 3.0 + 0.002, 120.0)               # 1 ms early: slewed, not jumped
        eng.render(128)
        st = eng.stats()
        assert st.clock_jumps == 0 and st.clock_error_ms == pytest.approx(-1.0, abs=1e-6)
        assert -47000 - 48 < st.transport_origin < -47000     # moving toward -47048 a little per block
        for _ in range(20):
            eng.render(128)
        assert eng.stats().transport_origin == -47048         # arrived, 6.4 frames per block at most
        anchor(eng, 96000, 4.5, 120.0)                       # half a beat off: taken at once
        eng.render(128)
        st = eng.stats()
        assert st.clock_jumps == 1 and st.transport_origin == 96000 - 4.5 * 24000
        anchor(eng, 100000, 5.0, 120.0, playing=0)
        eng.render(128)
        assert eng.stats().transport_playing == 0 and eng.stats().clock_anchors == 4
        a = ffi.new("rt_clock_anchor_t *")
        a.tempo, a.beat = 0.0, 0.0
        assert lib.rt_engine_clock_anchor(eng.handle, a) == lib.RT_ERR_RANGE


def test_midi_clock_tempo_fit_through_jittery_ticks(write_patch):
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, load_patch(write_patch(PATCH)), live=False)
        clock = make_clock(s, "midi")
        assert isinstance(clock, MidiClockIn)
        s.clock_source = clock
        rng = random.Random(3)
        period = 60e9 / (123.4 * 24)                          # ns per tick at 123.4 BPM
        t0 = 10_000_000_000
        s.midi_system(b"\xfa", t0)                            # Start
        for k in range(4 * 24):
            # every tick timed at a 128-frame JACK cycle start: up to 2.7 ms late
            s.midi_system(b"\xf8", int(t0 + k * period + rng.uniform(0, 2.667e6)))
        assert clock.bpm == pytest.approx(123.4, abs=0.1)
        assert s.tempo == pytest.approx(123.4, abs=0.1)      # the session follows ...
        assert s.get_param("echo", "tempo") == pytest.approx(123.4, abs=0.1)   # ... and the synced delay
        assert s.playing and clock.counters["anchors"] > 0
        eng.render(256)
        assert eng.stats().transport_playing == 1
        s.midi_system(b"\xfc", t0 + int(100 * period))       # Stop
        eng.render(256)
        assert eng.stats().transport_playing == 0 and not s.playing
        s.midi_system(bytes([0xF2, 0x10, 0x00]), t0)          # Song Position: 16 sixteenths = beat 4
        assert clock.position == 96
        with pytest.raises(RtCoreError, match="tempo follows MIDI clock"):
            s.set_tempo(140)                                 # the clock decides
        s.close()


def test_tap_tempo():
    tap = TapTempo()
    assert tap.tap(0.0) is None                               # one tap is no tempo
    assert tap.tap(0.5) == pytest.approx(120.0)
    assert tap.tap(1.0) == pytest.approx(120.0)
    assert tap.tap(1.48) == pytest.approx(120.0)              # the median ignores one sloppy tap
    assert tap.tap(5.0) is None                               # a pause: start again
    assert tap.tap(5.4) == pytest.approx(150.0)


def test_tap_tempo_through_the_session(write_patch):
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, load_patch(write_patch(PATCH.replace('source = "midi"', 'source = "internal"'))),
                    live=False)
        s._tap = TapTempo()
        times = iter([0.0, 0.6, 1.2])
        orig = s._tap.tap
        s._tap.tap = lambda now=None: orig(next(times))
        assert s.tap() is None and s.tap() == pytest.approx(100.0) and s.tap() == pytest.approx(100.0)
        assert s.tempo == pytest.approx(100.0) and s.get_param("echo", "tempo") == pytest.approx(100.0)
        s.close()


def test_clock_patch_keys_are_checked(write_patch):
    p = load_patch(write_patch(PATCH.replace('source = "midi"', 'source = "link"\nquantum = 3')))
    assert p.clock_source == "link" and p.quantum == 3
    with pytest.raises(rc.PatchError, match=r"\[clock\]: key 'source' = 'ableton' \(allowed: internal, link, midi\)"):
        load_patch(write_patch(PATCH.replace('source = "midi"', 'source = "ableton"')))
    with pytest.raises(rc.PatchError, match=r"unknown key 'quantun'.*did you mean 'quantum'"):
        load_patch(write_patch(PATCH.replace('source = "midi"', 'quantun = 4')))
