"""The stream supervisor's decisions, on a stand-in engine and a fake clock (the real thing, with a
JACK server killed and restarted, is tests/e2e/test_faults_live.py); and what a lost stream does to
the session's and the engine's idea of "now"."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

import rtcore as rc
from rtcore.errors import DeviceError
from rtcore.session import Session
from rtcore.supervisor import RETRY_LOG_SECONDS, StreamSupervisor


TICK = 0.0625       # s between ticks (the play loop's is 0.05; this one adds up exactly)


@dataclass
class _Stats:
    callbacks: int


class FakeEngine:
    """audio_lost / reopen_audio / start / stats as the supervisor uses them. ``down_for``: how
    many reopening attempts fail before the device is back."""

    def __init__(self, down_for: int = 0) -> None:
        self.lost = False
        self.callbacks = 0
        self.running = True
        self.down_for = down_for
        self.attempts = 0
        self.audio_device = ("system", "JACK Audio Connection Kit")

    @property
    def audio_lost(self) -> bool:
        return self.lost

    def reopen_audio(self) -> None:
        self.attempts += 1
        if self.attempts <= self.down_for:
            raise DeviceError("reopen audio device 'system': no output device 'system'")
        self.lost = False

    def start(self) -> None:
        self.callbacks += 1           # the reopened stream runs at once

    def stats(self) -> _Stats:
        if self.running and not self.lost:
            self.callbacks += 1
        return _Stats(self.callbacks)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _supervisor(engine: FakeEngine, clock: Clock):
    logs: list[str] = []
    hooks: list[str] = []
    sup = StreamSupervisor(engine, logs.append, on_lost=lambda: hooks.append("lost"),
                           on_back=lambda: hooks.append("back"), clock=clock)
    return sup, logs, hooks


def test_a_lost_stream_is_reported_once_retried_every_half_second_and_brought_back():
    eng, clock = FakeEngine(down_for=5), Clock()
    sup, logs, hooks = _supervisor(eng, clock)
    sup.tick()
    assert sup.state == "running" and logs == []
    eng.lost = True
    sup.tick()
    assert sup.state == "lost" and hooks == ["lost"] and len(logs) == 1
    assert logs[0].startswith("audio stream lost ('system' (JACK Audio Connection Kit) went away)")
    assert "AUDIO LOST" in sup.status
    for _ in range(7):                     # 16 ticks a second (exact in binary) for 0.44 s: no retry yet
        clock.t += TICK
        sup.tick()
    assert eng.attempts == 0
    for _ in range(60):                    # 3.75 s more: one attempt per 0.5 s, the 6th succeeds
        clock.t += TICK
        sup.tick()
    assert eng.attempts == 6 and sup.state == "running" and hooks == ["lost", "back"]
    assert sum("still reconnecting (attempt 1)" in line for line in logs) == 1
    assert len(logs) == 3 and logs[-1].startswith("audio stream back on 'system'") and "6 attempts" in logs[-1]
    assert sup.outages == [3.0] and sup.status == ""


def test_a_long_outage_reminds_every_ten_seconds_not_every_attempt():
    eng, clock = FakeEngine(down_for=10_000), Clock()
    sup, logs, _ = _supervisor(eng, clock)
    eng.lost = True
    sup.tick()
    for _ in range(int(30 / TICK)):        # 30 s down: 60 attempts
        clock.t += TICK
        sup.tick()
    reminders = [line for line in logs if "still reconnecting" in line]
    assert eng.attempts == 60 and len(reminders) == 1 + int(30 // RETRY_LOG_SECONDS) - 1, reminders


def test_a_stalled_stream_is_reported_and_its_recovery_too_but_never_closed():
    eng, clock = FakeEngine(), Clock()
    sup, logs, hooks = _supervisor(eng, clock)
    sup.tick()
    eng.running = False                    # callbacks stop; the stream still says it is active
    for _ in range(24):                    # 1.5 s without a callback
        clock.t += TICK
        sup.tick()
    assert sup.state == "stalled" and len(logs) == 1 and "stalled" in logs[0] and "AUDIO STALLED" in sup.status
    assert eng.attempts == 0 and hooks == []
    eng.running = True
    clock.t += TICK
    sup.tick()
    assert sup.state == "running" and "moving again" in logs[-1]


def test_frame_now_stops_with_the_stream():
    """The engine clock does not run on past the last block: a stream that stopped (lost,
    stalled) holds "now" within 0.25 s of the last processed frame."""
    with rc.Engine(48000, 1024) as eng:
        eng.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone", {})]))
        eng.render(4800)
        time.sleep(0.5)
        assert 4800 <= eng.frame_now() <= 4800 + int(0.25 * 48000)


def test_while_the_stream_is_down_inputs_play_when_it_is_back(write_patch):
    """'fixed' latency inputs and bundle times use the clock model, which knows nothing while no
    block runs: until the stream is back they go to the next block it plays."""
    path = write_patch("[midi]\nlatency = \"fixed\"\n[[node]]\nname = \"s\"\ntype = \"synth\"\n")
    with rc.Engine(48000, 1024) as eng:
        s = Session(eng, rc.load_patch(path), live=True)
        eng.render(4800)
        far = time.monotonic_ns() + 5_000_000_000          # 5 s on: the clock would extrapolate
        s.stream_lost()
        assert s.event_time(far) is None
        assert s.frame_at(far) <= 4800 + int(0.25 * 48000)
        assert s.now() <= 4800 + int(0.25 * 48000)
        s.stream_back()
        assert s.event_time(far) is not None
        s.close()
