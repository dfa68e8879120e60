"""Following a shared clock: Ableton Link and MIDI clock in (``[clock] source`` in the patch).

A clock source reads where the shared beat is -- Link's session timeline, or the MIDI clock
ticks coming into "rtcore in" -- and hands the engine *anchors* (``rt_engine_clock_anchor``):
"at engine frame F the beat is B, going at T BPM". The audio thread takes them at block starts
and extrapolates in between (csrc/clock.c), slewing small phase errors away, so it never waits
for Python; everything that follows the beat -- the AI's 16th grid, tempo-synced delays, MIDI
clock out -- follows the shared one.

Times: Link's clock is CLOCK_MONOTONIC_RAW (µs); MIDI arrival times are CLOCK_MONOTONIC (ns,
rtcore.midi_time); both become engine frames through the session's clock model, whose measured
rate also corrects the tempo the engine counts in (a device is never exactly at its nominal rate,
and beats must pass at the shared rate in real time).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

from ._native import ffi, lib
from .errors import ParamRangeError, RtCoreError
from .midi_time import clock_pair

ANCHOR_SECONDS = 0.01          # Link: a reading every 10 ms
MIDI_CLOCK_PPQN = 24
MIDI_FIT_TICKS = 192           # MIDI clock: tempo from a line through the last 8 beats of ticks
MIDI_MIN_TICKS = 12            # ... once half a beat of them has come
TEMPO_NOTICE_BPM = 0.05        # smaller tempo changes do not re-send tempo-synced parameters


def send_anchor(session, frame: int, beat: float, bpm: float, playing: int, jump: bool = False) -> bool:
    """Queue one anchor: at engine ``frame`` the beat is ``beat`` at ``bpm`` (real time; converted
    to the engine's frames with the clock model's measured rate). False when the ring is full."""
    rate = session.clock.rate or session.engine.sample_rate
    a = ffi.new("rt_clock_anchor_t *")
    a.frame, a.beat = int(frame), float(beat)
    a.tempo = float(bpm) * float(session.engine.sample_rate) / float(rate)
    a.playing, a.jump = int(playing), 1 if jump else 0
    return lib.rt_engine_clock_anchor(session.engine.handle, a) == 0


class ClockSource:
    """A source of tempo and beat outside the engine. :meth:`start` / :meth:`stop` run it;
    the session routes transport and tempo requests to it (:meth:`play`, :meth:`halt`,
    :meth:`set_tempo`)."""

    name = "internal"

    def __init__(self, session) -> None:
        self.session = session
        self.counters: dict[str, int] = {"anchors": 0, "anchors_dropped": 0}

    def start(self) -> "ClockSource":
        return self

    def stop(self) -> None:
        pass

    def play(self) -> None:
        raise RtCoreError(f"the transport follows {self.name}: start it there")

    def halt(self) -> None:
        raise RtCoreError(f"the transport follows {self.name}: stop it there")

    def set_tempo(self, bpm: float) -> None:
        raise RtCoreError(f"the tempo follows {self.name}")

    def describe(self) -> str:
        return self.name

    def _anchor(self, frame: int, beat: float, bpm: float, playing: int, jump: bool = False) -> None:
        if send_anchor(self.session, frame, beat, bpm, playing, jump):
            self.counters["anchors"] += 1
        else:
            self.counters["anchors_dropped"] += 1


class LinkClock(ClockSource):
    """Ableton Link through aalink: the engine's beat follows the session's timeline (phase
    aligned modulo ``quantum`` beats), its tempo the session's tempo, its transport the
    session's start/stop. Our own tempo and play/stop requests go to the session (every peer
    follows). aalink runs on an asyncio loop of its own thread."""

    name = "Ableton Link"

    def __init__(self, session, quantum: float = 4.0) -> None:
        super().__init__(session)
        self.quantum = float(quantum)
        self._link: Any = None
        self._loop: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._quit = threading.Event()
        self._error: BaseException | None = None
        self._pair = clock_pair(time.CLOCK_MONOTONIC_RAW)      # Link's clock on Linux
        self._tempo_seen = 0.0
        self._playing_seen: bool | None = None
        self.peers = 0

    def start(self) -> "LinkClock":
        try:
            import aalink  # noqa: F401
        except ImportError as exc:
            raise RtCoreError(f"[clock] source = \"link\" needs aalink (pip install aalink): {exc}") from None
        self._thread = threading.Thread(target=self._run, name="rtcore-link", daemon=True)
        self._thread.start()
        if not self._ready.wait(5.0) or self._error is not None:
            raise RtCoreError(f"Ableton Link did not start: {self._error or 'timeout'}")
        self.session.log(f"Ableton Link: joined (quantum {self.quantum:g}, {self.peers} peer(s))")
        return self

    def stop(self) -> None:
        self._quit.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def describe(self) -> str:
        return f"Link ({self.peers} peer{'s' if self.peers != 1 else ''})"

    # requests from this engine (OSC, the CLI) go to the session, every peer follows
    def set_tempo(self, bpm: float) -> None:
        self._call(lambda link: setattr(link, "tempo", float(bpm)))

    def play(self) -> None:
        self._call(lambda link: setattr(link, "playing", True))

    def halt(self) -> None:
        self._call(lambda link: setattr(link, "playing", False))

    def _call(self, fn) -> None:
        if self._loop is None:
            raise RtCoreError("Ableton Link is not running")
        self._loop.call_soon_threadsafe(fn, self._link)

    def _run(self) -> None:
        import asyncio

        async def main() -> None:
            import aalink
            self._loop = asyncio.get_running_loop()
            self._link = link = aalink.Link(float(self.session.tempo), self._loop)
            link.quantum = self.quantum
            link.start_stop_sync_enabled = True
            link.enabled = True
            self._ready.set()
            while not self._quit.is_set():
                self._read(link)
                await asyncio.sleep(ANCHOR_SECONDS)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by start() or the log
            self._error = exc
            self._ready.set()
            self.session.log(f"Ableton Link stopped: {exc}")

    def _read(self, link) -> None:
        """One reading: the beat now, on CLOCK_MONOTONIC, as an engine frame."""
        raw0, mono0 = self._pair()
        beat, tempo, playing = float(link.beat), float(link.tempo), bool(link.playing)
        raw1, mono1 = self._pair()
        self.peers = int(link.num_peers)
        mono = (mono0 + mono1) // 2                          # when the beat was read
        if abs(tempo - self._tempo_seen) >= TEMPO_NOTICE_BPM * 0.01:
            self._tempo_seen = tempo
            self.session.follow_tempo(tempo)                 # delays, the status screen, OSC
        if playing != self._playing_seen:
            self._playing_seen = playing
            self.session.log(f"Ableton Link: {'playing' if playing else 'stopped'} at {tempo:.2f} BPM")
            self.session.playing = playing
        self._anchor(self.session.frame_at(mono), beat, tempo, 1 if playing else 0)


class MidiClockIn(ClockSource):
    """MIDI clock into "rtcore in" (24 ticks per beat, Start / Continue / Stop, Song Position).
    Each tick is timed by the MIDI input (RtMidi's deltas); the tempo is the slope of a line
    fitted through the last :data:`MIDI_FIT_TICKS` tick times, which averages away the jitter of
    tick delivery (with RtMidi's JACK API a tick is timed at its JACK cycle: up to a period off),
    and the beat is anchored on that line."""

    name = "MIDI clock"

    def __init__(self, session) -> None:
        super().__init__(session)
        self.ticks: deque[tuple[int, int]] = deque(maxlen=MIDI_FIT_TICKS)   # (tick index, arrival ns)
        self.position = 0            # ticks from beat 0 of the next tick
        self.running = False
        self.bpm = 0.0
        self._tempo_seen = 0.0
        self.counters.update(ticks=0, starts=0, stops=0)

    def describe(self) -> str:
        return f"MIDI clock ({self.bpm:.2f} BPM)" if self.running else "MIDI clock (stopped)"

    def message(self, msg: bytes, arrival_ns: int) -> None:
        """A system real-time / common message from the MIDI input."""
        status = msg[0]
        if status == 0xFA:                                   # Start: the next tick is beat 0
            self.position, self.running = 0, True
            self.ticks.clear()
            self.counters["starts"] += 1
        elif status == 0xFB:                                 # Continue from the song position
            self.running = True
            self.ticks.clear()
        elif status == 0xFC:                                 # Stop
            self.running = False
            self.counters["stops"] += 1
            self._anchor(self.session.frame_at(arrival_ns), self.position / MIDI_CLOCK_PPQN, self.bpm or
                         self.session.tempo, 0)
            self.session.playing = False
        elif status == 0xF2 and len(msg) >= 3:               # Song Position Pointer, in 16ths
            self.position = ((msg[2] & 0x7F) << 7 | (msg[1] & 0x7F)) * 6
            self.ticks.clear()
        elif status == 0xF8:
            self._tick(arrival_ns)

    def _tick(self, arrival_ns: int) -> None:
        """A clock tick. The tempo follows every tick (many devices send clock while stopped);
        the beat and the transport only between Start/Continue and Stop."""
        k = self.position
        self.position += 1
        self.counters["ticks"] += 1
        self.ticks.append((k, arrival_ns))
        if len(self.ticks) < MIDI_MIN_TICKS:
            return
        slope, at_k = self._fit(k)                           # ns per tick, fitted time of tick k
        if slope <= 0:
            return
        self.bpm = 60e9 / (slope * MIDI_CLOCK_PPQN)
        if abs(self.bpm - self._tempo_seen) >= TEMPO_NOTICE_BPM:
            self._tempo_seen = self.bpm
            self.session.follow_tempo(self.bpm)
        if not self.running:
            return
        first = not self.session.playing
        if first:
            self.session.playing = True
        self._anchor(self.session.frame_at(int(at_k)), k / MIDI_CLOCK_PPQN, self.bpm, 1, jump=first)

    def _fit(self, k_last: int) -> tuple[float, float]:
        """Least squares time = a + b * k over the window; (b, a + b * k_last)."""
        ks = [k for k, _ in self.ticks]
        t0 = self.ticks[0][1]
        ts = [t - t0 for _, t in self.ticks]
        n = len(ks)
        mk, mt = sum(ks) / n, sum(ts) / n
        sxx = sum((k - mk) ** 2 for k in ks)
        if sxx <= 0:
            return 0.0, 0.0
        b = sum((k - mk) * (t - mt) for k, t in zip(ks, ts)) / sxx
        return b, t0 + mt + b * (k_last - mk)


def make_clock(session, source: str, quantum: float = 4.0) -> ClockSource | None:
    """The clock source a patch's ``[clock] source`` asks for (None for "internal")."""
    if source == "link":
        return LinkClock(session, quantum)
    if source == "midi":
        return MidiClockIn(session)
    if source == "internal":
        return None
    raise ParamRangeError(f"[clock] source must be internal, link or midi (got {source!r})", lib.RT_ERR_RANGE)


class TapTempo:
    """Tap tempo: the median interval of the last taps (a pause over 2 s starts again)."""

    def __init__(self, max_taps: int = 6, reset_s: float = 2.0) -> None:
        self.times: deque[float] = deque(maxlen=max_taps)
        self.reset_s = reset_s

    def tap(self, now: float | None = None) -> float | None:
        """Register a tap at ``now`` (s, monotonic); the tempo in BPM once two taps came."""
        now = time.monotonic() if now is None else now
        if self.times and now - self.times[-1] > self.reset_s:
            self.times.clear()
        self.times.append(now)
        if len(self.times) < 2:
            return None
        gaps = sorted(b - a for a, b in zip(self.times, list(self.times)[1:]))
        mid = gaps[len(gaps) // 2] if len(gaps) % 2 else (gaps[len(gaps) // 2 - 1] + gaps[len(gaps) // 2]) / 2
        bpm = 60.0 / mid if mid > 0 else None
        return None if bpm is None or not math.isfinite(bpm) else min(300.0, max(20.0, bpm))
