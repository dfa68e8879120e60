"""Live playback: run an :class:`~rtcore.Engine` on a PortAudio device and feed it events.

The audio thread is the engine's C callback; this module only opens the stream, hands
timed events to the engine's lock-free ring a little ahead of time, and stops cleanly.

Timing: event times are frames relative to the start of playback. Once the first
callback has run, playback start is fixed at ``base = frame_now() + lead`` (``lead`` =
``lead_blocks`` host blocks, the scheduling latency), rounded up to the engine's
32-frame control grid. Every event is sent with absolute time ``base + time``, well
before that frame is processed, so it lands on its exact sample -- the same sample an
offline render of the same events would put it on.

Faults: a stream that is lost (its audio server or device went away) is reopened by a
:class:`~rtcore.supervisor.StreamSupervisor` until it is back; meanwhile the engine clock stands
still (:meth:`Engine.frame_now` does not run past the last block), so the events of a MIDI file
wait and the performance resumes where it stopped.
"""
from __future__ import annotations

import signal
import sys
import threading
from dataclasses import replace
import time as _time
from typing import Callable, Sequence

from ._native import ffi, lib
from .devices import quiet_stderr, resolve_device
from .engine import Engine, Event, Stats, events_sorted
from .errors import DeviceError, QueueFullError
from .supervisor import StreamSupervisor

OnTick = Callable[[Engine, int], "bool | None"]
Log = Callable[[str], None]

TICK_SECONDS = 0.05        # how often the waiting loop wakes (and calls on_tick)
AHEAD_SECONDS = 0.25       # events are sent this far ahead of their time
FIRST_CALLBACK_TIMEOUT = 3.0


def _first_callback(engine: Engine, timeout: float) -> None:
    """Wait until the stream has run a callback (the engine clock is then live)."""
    deadline = _time.monotonic() + timeout
    while engine.stats().callbacks == 0:
        if _time.monotonic() > deadline:
            raise DeviceError(f"the audio stream started but no callback ran within {timeout:.0f} s "
                              f"(is the audio server running and not stalled?)", lib.RT_ERR_DEVICE)
        _time.sleep(0.002)


class _Feeder(threading.Thread):
    """Sends events to the engine ahead of their time, from its own thread."""

    def __init__(self, engine: Engine, events: list[Event], base: int, ahead: int) -> None:
        super().__init__(name="rtcore-live-events", daemon=True)
        self.engine, self.events, self.base, self.ahead = engine, events, base, ahead
        self.stop_flag = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            evs, i, n = self.events, 0, len(self.events)
            cap = lib.RT_EVENT_RING_SIZE // 4
            while i < n and not self.stop_flag.is_set():
                horizon = self.engine.frame_now() - self.base + self.ahead
                j = i
                while j < n and j - i < cap and evs[j].time <= horizon:
                    j += 1
                if j > i:
                    batch = [replace(e, time=self.base + int(e.time)) for e in evs[i:j]]
                    k = 0
                    while k < len(batch) and not self.stop_flag.is_set():
                        try:
                            k += self.engine.send(batch[k:])
                        except QueueFullError:
                            self.stop_flag.wait(0.002)     # the audio thread drains it each block
                    self.sent += k
                    i = j
                    continue
                # sleep until the next event enters the window (at most one tick)
                wait = (evs[i].time - horizon) / self.engine.sample_rate
                self.stop_flag.wait(min(max(wait, 0.001), TICK_SECONDS))
        except BaseException as exc:  # reported by play()
            self.error = exc


def play(engine: Engine, events: Sequence[Event] | None = None, seconds: float | None = None,
         device: int | str | None = None, block: int = 128, quiet: bool = False,
         on_tick: OnTick | None = None, host_api: str | None = None, lead_blocks: int = 2,
         tail: float = 2.0, latency: float | None = None, log: Log | None = None,
         supervisor: StreamSupervisor | None = None) -> Stats:
    """Play ``engine``'s loaded graph live and return its :class:`Stats`.

    ``events``: :class:`Event` list whose ``time`` is in frames from the start of playback
    (None = at the start), e.g. from a MIDI file. ``seconds``: how long to play; when None
    and events are given, until the last event plus ``tail`` seconds (release tails); when
    both are None, until Ctrl-C. ``device``: PortAudio index or name substring (see
    ``rtcore devices``; ``host_api`` narrows it), None = default output. ``block``: frames
    per callback. ``on_tick(engine, frames_played)`` runs in this thread about 20 times a
    second from the moment the stream runs; returning True stops playback.
    Ctrl-C stops cleanly (all notes off, stream stopped). Unless ``quiet``, the end-of-run
    report (:meth:`Stats.summary`) is printed.

    A stream lost while playing (the audio server was killed, the device unplugged) is reopened
    on the same device every 0.5 s until it is back (see :mod:`rtcore.supervisor`); ``seconds``
    count played time, so the outage does not shorten the performance. ``log(line)`` gets its
    one-line reports (default: stderr); ``supervisor``: one made by the caller (its hooks), else
    one is made here.

    Raises :class:`DeviceError` (one line) when the device is missing, busy or refuses.
    """
    sr = engine.sample_rate
    evs: list[Event] = []
    if events:
        evs = events_sorted(e if e.time is not None else replace(e, time=0) for e in events)
        if evs[0].time < 0:
            raise ValueError(f"event times must be >= 0 frames (got {evs[0].time})")
    if seconds is not None and seconds < 0:
        raise ValueError(f"seconds must be >= 0 (got {seconds})")
    if seconds is None and evs:
        seconds = evs[-1].time / sr + tail
    end_frames = None if seconds is None else int(round(seconds * sr))

    # unknown nodes or parameters, values out of range: fail now, before any sound
    scratch = ffi.new("rt_event_t *")
    for ev in evs:
        engine._fill(scratch[0], ev)

    opened_here = engine._audio is None
    feeder: _Feeder | None = None
    interrupted = False
    try:
        if opened_here:
            _open(engine, device, host_api, block, latency)
        engine.start()
        _first_callback(engine, FIRST_CALLBACK_TIMEOUT)
        grid = lib.RT_CONTROL_FRAMES
        lead = max(1, lead_blocks) * (block if block > 0 else 512)
        base = -(-(engine.frame_now() + lead) // grid) * grid
        # the musical clock: beat 0 where playback starts (the AI prepares its first step now)
        tempo = float(getattr(engine, "tempo", 0.0) or 0.0)
        engine.send(Event.transport(True, tempo, time=base))
        if evs:
            feeder = _Feeder(engine, evs, base, int(AHEAD_SECONDS * sr))
            feeder.start()
        if supervisor is None:
            supervisor = StreamSupervisor(engine, log or _log_stderr)
        while True:
            supervisor.tick()
            pos = max(0, engine.frame_now() - base)
            if on_tick is not None and on_tick(engine, pos):
                break
            if feeder is not None and feeder.error is not None:
                raise feeder.error
            if end_frames is not None:
                left = end_frames - pos
                if left <= 0:
                    break
                _time.sleep(min(TICK_SECONDS, max(left / sr, 0.0005)))
            else:
                _time.sleep(TICK_SECONDS)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        _shutdown(engine, feeder, opened_here, block)
    stats = engine.stats()
    if not quiet:
        if interrupted:
            print("stopped (Ctrl-C)")
        print(stats.summary())
    return stats


def _log_stderr(line: str) -> None:
    print(f"rtcore: {line}", file=sys.stderr, flush=True)


def _open(engine: Engine, device: int | str | None, host_api: str | None, block: int,
          latency: float | None) -> None:
    dev = resolve_device(device, host_api) if (device is not None or host_api is not None) else None
    try:
        with quiet_stderr():      # PortAudio's ALSA/JACK probing noise
            engine.open_audio(device=dev, block=block, latency=latency)
    except DeviceError as exc:
        if dev is None and "no output device -1" in str(exc):
            raise DeviceError("no default audio output device (no sound card, and no JACK server "
                              "running?); see `rtcore devices`", exc.code) from None
        raise


def _shutdown(engine: Engine, feeder: _Feeder | None, close: bool, block: int) -> None:
    """All notes off, stream stopped (and closed if we opened it; a stream that failed to
    open leaves nothing to do). A second Ctrl-C
    during these few milliseconds is ignored so it cannot leave a stream running."""
    old = None
    if threading.current_thread() is threading.main_thread():
        try:
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except (ValueError, OSError):
            old = None
    try:
        if feeder is not None:
            feeder.stop_flag.set()
            feeder.join(timeout=1.0)
        if engine.audio_running:
            try:
                engine.send(Event.all_notes_off())
                # let two callbacks apply it (bounded: the stream may be stalled)
                target = engine.stats().blocks + 2
                deadline = _time.monotonic() + max(0.05, 4 * block / engine.sample_rate)
                while engine.stats().blocks < target and _time.monotonic() < deadline:
                    _time.sleep(0.002)
            except Exception:
                pass
        engine.stop()
        if close:
            with quiet_stderr():
                engine.close_audio()
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


__all__ = ["play"]

if __name__ == "__main__":  # pragma: no cover - manual sound check: a 1 kHz tone
    from .graphspec import GraphSpec, NodeSpec

    dev = sys.argv[1] if len(sys.argv) > 1 else None
    with Engine(48000, 1024) as eng:
        eng.load(GraphSpec(nodes=[NodeSpec("tone", "tone", {})]))
        play(eng, device=dev, seconds=float(sys.argv[2]) if len(sys.argv) > 2 else None)
