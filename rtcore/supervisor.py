"""Keeping the live stream alive: notice when the audio server or device goes away, say so once,
and reopen the same device (by name) until it is back -- the engine, its graph, parameters and
transport stay as they are meanwhile, and the performance resumes where it stopped.

:class:`StreamSupervisor` runs in the play loop's thread (``rtcore.live.play`` calls
:meth:`~StreamSupervisor.tick` about 20 times a second); it never touches the audio thread.
What it watches:

* **lost**: PortAudio reports the started stream inactive -- our callback never ends it, so its
  server or device is gone (a JACK server that was killed shuts its clients down at once). The
  stream is closed and the same device is opened again every :data:`RETRY_SECONDS`, looked up
  by name on a freshly initialised PortAudio (a restarted JACK server's device may have another
  index). Counted in ``Stats.streams_lost`` / ``Stats.streams_reopened``.
* **stalled**: the stream says it runs but no callback came for :data:`STALL_SECONDS` (a frozen
  server). Reported once, and again when it moves; the stream is not closed (stopping a stream
  whose server does not answer can block for minutes in PortAudio).

Times in seconds.
"""
from __future__ import annotations

import time as _time
from typing import Callable

from .devices import quiet_stderr
from .errors import RtCoreError

RETRY_SECONDS = 0.5        # a lost stream is reopened this often
STALL_SECONDS = 1.0        # no callback for this long (stream still "active"): stalled
RETRY_LOG_SECONDS = 10.0   # while reconnecting, a reminder line at most this often
FIRST_CALLBACK_SECONDS = 3.0   # a reopened stream must run a callback within this long

Log = Callable[[str], None]
Hook = Callable[[], None]


class StreamSupervisor:
    """Watches ``engine``'s live stream (opened and started before the first :meth:`tick`).

    ``log(line)`` gets one line per event (lost, still reconnecting, back, stalled, resumed).
    ``on_lost`` / ``on_back`` run in the caller's thread after a loss is noticed / after the
    reopened stream ran its first callback (e.g. to reopen JACK MIDI ports, reset a clock model).
    ``state`` is ``"running"``, ``"lost"`` (reconnecting) or ``"stalled"``; :attr:`status` is a
    line for a status screen ("" while running)."""

    def __init__(self, engine, log: Log, on_lost: Hook | None = None, on_back: Hook | None = None,
                 retry_seconds: float = RETRY_SECONDS, stall_seconds: float = STALL_SECONDS,
                 clock: Callable[[], float] = _time.monotonic) -> None:
        self.engine = engine
        self.log = log
        self.on_lost, self.on_back = on_lost, on_back
        self.retry_seconds = float(retry_seconds)
        self.stall_seconds = float(stall_seconds)
        self._now = clock
        self.state = "running"
        self.attempts = 0              # reopening attempts of the current outage
        self.outages: list[float] = []  # seconds each finished outage lasted (lost -> sound again)
        self._down_since = 0.0
        self._next_try = 0.0
        self._last_reminder = 0.0
        self._callbacks = -1
        self._moved_at = clock()

    # ---- what a status screen shows ---------------------------------------------------------
    @property
    def device(self) -> str:
        d = self.engine.audio_device
        return "the audio device" if d is None else f"'{d[0]}' ({d[1]})" if d[1] else f"'{d[0]}'"

    @property
    def status(self) -> str:
        if self.state == "lost":
            return (f"AUDIO LOST {self._now() - self._down_since:.1f} s ago: reconnecting to {self.device} "
                    f"(attempt {self.attempts})")
        if self.state == "stalled":
            return f"AUDIO STALLED: no callback for {self._now() - self._moved_at:.1f} s"
        return ""

    # ---- the loop ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Look at the stream once; reconnect when it is time. Never raises for a device that is
        not back yet (that is logged); other errors propagate."""
        now = self._now()
        if self.state == "lost":
            if now >= self._next_try:
                self._try_reopen(now)
            return
        if self.engine.audio_lost:
            self._lost(now)
            return
        callbacks = self.engine.stats().callbacks
        if callbacks != self._callbacks:
            if self.state == "stalled":
                self.log(f"audio stream moving again after {now - self._moved_at:.1f} s")
                self.state = "running"
            self._callbacks, self._moved_at = callbacks, now
        elif self.state == "running" and now - self._moved_at > self.stall_seconds:
            self.state = "stalled"
            self.log(f"audio stream stalled: no callback for {now - self._moved_at:.1f} s (is the audio "
                     f"server frozen?); waiting for it")

    def _lost(self, now: float) -> None:
        self.state = "lost"
        self._down_since = self._last_reminder = now
        self._next_try = now + self.retry_seconds
        self.attempts = 0
        self.log(f"audio stream lost ({self.device} went away): reconnecting every {self.retry_seconds:g} s; "
                 f"the patch, its parameters and the transport are kept")
        if self.on_lost is not None:
            self.on_lost()

    def _try_reopen(self, now: float) -> None:
        self.attempts += 1
        self._next_try = now + self.retry_seconds
        try:
            with quiet_stderr():          # PortAudio's ALSA/JACK probing noise, at every attempt
                self.engine.reopen_audio()
            self.engine.start()
            if not self._first_callback():
                raise RtCoreError("the reopened stream ran no callback")
        except RtCoreError as exc:
            if self.attempts == 1 or now - self._last_reminder >= RETRY_LOG_SECONDS:
                self._last_reminder = now
                self.log(f"audio stream: still reconnecting (attempt {self.attempts}): {exc}")
            return
        down = self._now() - self._down_since
        self.outages.append(down)
        self.state = "running"
        self._callbacks, self._moved_at = self.engine.stats().callbacks, self._now()
        self.log(f"audio stream back on {self.device} after {down:.1f} s ({self.attempts} attempt"
                 f"{'' if self.attempts == 1 else 's'}); playing on")
        if self.on_back is not None:
            self.on_back()

    def _first_callback(self) -> bool:
        start = self.engine.stats().callbacks
        deadline = self._now() + FIRST_CALLBACK_SECONDS
        while self._now() < deadline:
            if self.engine.stats().callbacks != start:
                return True
            _time.sleep(0.005)
        return False


__all__ = ["StreamSupervisor", "RETRY_SECONDS", "STALL_SECONDS"]
