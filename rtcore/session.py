"""A live session: one engine playing one patch, driven from MIDI, OSC and the command line.

Every control surface goes through :class:`Session`, from any thread: it validates input
(one-line :class:`~rtcore.errors.RtCoreError` on bad input, the engine keeps running), keeps
the current value of every parameter (for queries, soft takeover and subscribers), turns
arrival times into engine frames (the patch's latency mode), recalls snapshots with glides,
does MIDI learn and hot-reloads the patch.

Times: ``arrival_ns`` are CLOCK_MONOTONIC nanoseconds (``rtcore._native.lib.rt_monotonic_ns``);
event times are engine frames; glides are in seconds.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time as _time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import midi_spec
from ._native import lib
from .clock import ClockModel
from .engine import Engine, Event
from .errors import NotFoundError, ParamRangeError, PatchError, RtCoreError, one_line
from .params import ParamInfo, node_types
from .patch import CCMap, Patch, Snapshot, load_patch, save_learned

GLIDE_STEP_SECONDS = 0.010      # snapshot glides send a value every 10 ms (the engine smooths between)
SCHEDULE_AHEAD_SECONDS = 0.200  # scheduled events go to the engine this far ahead of their time
WATCH_SECONDS = 0.5             # --watch polls the patch file this often

ParamListener = Callable[[str, str, float], None]
"""``(node, param, value)``: a parameter's target value changed (value in its unit)."""
NoteListener = Callable[[int, int, int, int, int], None]
"""``(frame, type RT_EV_NOTE_ON/OFF, channel, note, velocity)``: a note the AI played."""
LogListener = Callable[[str], None]
CounterSource = Callable[[], dict[str, int]]
"""Reads a control surface's counters, e.g. ``MidiInput.counters`` (any thread)."""


@dataclass(frozen=True)
class MidiLogEntry:
    """One incoming MIDI message for the status display."""
    arrival_ns: int
    text: str


class _Scheduler(threading.Thread):
    """Holds events whose time lies further ahead than the engine's queues should hold, and
    sends each one :data:`SCHEDULE_AHEAD_SECONDS` before its frame (snapshot glides, far
    OSC timetags). Offline (no live clock) everything is sent at once."""

    def __init__(self, session: "Session") -> None:
        super().__init__(name="rtcore-scheduler", daemon=True)
        self.session = session
        self.heap: list[tuple[int, int, Event]] = []
        self.seq = itertools.count()
        self.cv = threading.Condition()
        self.quit = False

    def add(self, events: Iterable[Event]) -> None:
        with self.cv:
            for ev in events:
                heapq.heappush(self.heap, (int(ev.time or 0), next(self.seq), ev))
            self.cv.notify()

    def cancel(self, pred: Callable[[Event], bool]) -> None:
        with self.cv:
            self.heap = [x for x in self.heap if not pred(x[2])]
            heapq.heapify(self.heap)

    def run(self) -> None:
        ahead = int(SCHEDULE_AHEAD_SECONDS * self.session.engine.sample_rate)
        while True:
            with self.cv:
                if self.quit:
                    return
                horizon = self.session.now() + ahead
                due = []
                while self.heap and self.heap[0][0] <= horizon:
                    due.append(heapq.heappop(self.heap)[2])
                if not due:
                    self.cv.wait(0.010)
                    continue
            self.session.send(due)

    def stop(self) -> None:
        with self.cv:
            self.quit = True
            self.cv.notify()


class Session:
    """``engine`` plays ``patch`` (already loaded or loaded here). ``live``: the engine runs on an
    audio stream (times come from the :class:`ClockModel`); False for offline tests, where
    "now" is the engine's render position."""

    def __init__(self, engine: Engine, patch: Patch, live: bool = True, load: bool = True,
                 latency: str | None = None, fixed_blocks: int | None = None) -> None:
        self.engine = engine
        self.patch = patch
        self.live = live
        self.latency = latency or patch.latency
        self.fixed_blocks = int(fixed_blocks or patch.fixed_blocks)
        self.clock = ClockModel(engine)
        self._lock = threading.RLock()
        self._values: dict[str, dict[str, float]] = {}
        self._param_listeners: list[ParamListener] = []
        self._note_listeners: list[NoteListener] = []
        self._log_listeners: list[LogListener] = []
        # soft takeover: which knob (cc, channel) owns a parameter, and each knob's last value
        self._picked_up: set[tuple[int, int]] = set()
        self._owner: dict[tuple[str, str], tuple[int, int]] = {}
        self._last_cc_value: dict[tuple[int, int], float] = {}
        self._learn: tuple[str, str] | None = None
        self.midi_log: deque[MidiLogEntry] = deque(maxlen=8)
        self.errors: deque[str] = deque(maxlen=8)
        self.tempo = patch.tempo
        self.playing = False
        self.surfaces: dict[str, str] = {}   # control surfaces attached (for the status screen)
        self.clock_source = None             # rtcore.sync.ClockSource when [clock] source is link/midi
        from .sync import TapTempo
        self._tap = TapTempo()
        self.recorder = None                 # the journaling recorder, when --record is on
        self.audio_status = ""    # while the audio stream is lost or stalled: a line for the status screen
        self._stream_down = False
        self._counter_sources: dict[str, CounterSource] = {}
        self._block_cache, self._block_read_at = int(patch.block), -1.0
        self._muted_logged: set[str] = set()
        self._scheduler = _Scheduler(self)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._tls = threading.local()     # per thread: the events of an open batch()
        if load:
            engine.tempo = patch.tempo
            engine.load(patch.graph, ai_errors="warn")
        self._reset_values()

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the background threads: scheduler and the AI-notes pump."""
        self._scheduler.start()
        pump = threading.Thread(target=self._pump_notes, name="rtcore-notes", daemon=True)
        pump.start()
        self._threads = [self._scheduler, pump]

    def close(self) -> None:
        self._stop.set()
        self._scheduler.stop()
        for t in self._threads:
            t.join(timeout=1.0)

    def watch(self) -> None:
        """Reload the patch whenever its file, its MIDI-learn sidecar or a file it references (an
        AI model, a sample) changes on disk; a reload that fails leaves the old patch playing."""
        first = self._watch_stamp()      # now: a change right after this call is seen
        t = threading.Thread(target=self._watch, args=(first,), name="rtcore-watch", daemon=True)
        t.start()
        self._threads.append(t)

    # ---- the control surfaces' counters ----------------------------------------------------
    def add_counters(self, name: str, read: CounterSource) -> None:
        """Register a surface's counters under ``name`` ("midi_in", "osc"): the status screen,
        ``/rtcore/stats`` and the end-of-run report show them (a later one of the same name
        replaces it)."""
        with self._lock:
            self._counter_sources[name] = read

    def surface_counters(self) -> dict[str, dict[str, int]]:
        """Every registered surface's counters, by name (a source that fails is left out)."""
        with self._lock:
            sources = dict(self._counter_sources)
        out: dict[str, dict[str, int]] = {}
        for name, read in sources.items():
            try:
                out[name] = dict(read())
            except Exception:  # noqa: BLE001 - a closed surface must not break the screen
                continue
        return out

    # ---- time ----------------------------------------------------------------------------
    def now(self) -> int:
        """Engine frame now (live: from the clock model; offline: the render position)."""
        if self.live and self._stream_down:      # the clock stopped with the stream
            return self.engine.frame_now()
        return self.clock.now() if self.live else self.engine.frame

    def frame_at(self, arrival_ns: int) -> int:
        if self.live and self._stream_down:      # no clock: the frame that plays when it is back
            return self.engine.frame_now()
        return self.clock.frame_at(arrival_ns) if self.live else self.engine.frame

    def event_time(self, arrival_ns: int | None, cycle_start: bool = False) -> int | None:
        """When an input that arrived at ``arrival_ns`` plays, per the latency mode:
        ``lowest`` -> None (the start of the next block); ``fixed`` -> exactly
        :attr:`fixed_blocks` blocks (the patch's ``[midi] fixed_blocks``, default 1) after the
        frame at which it arrived (constant latency, no jitter; an input that reaches the engine
        later than that plays at once and is counted in ``events_late``).

        ``cycle_start``: the time is that of the audio cycle that delivered the input, not of
        the input itself (RtMidi's JACK API stamps every message with the moment its client ran
        in the cycle, a scheduling delay after the cycle began). The frame is then rounded to
        the nearest block boundary -- that cycle's first frame -- so the delay does not show as
        jitter."""
        if self.latency != "fixed" or arrival_ns is None or not self.live or self._stream_down:
            return None          # (no stream: no clock to place it by; it plays when the stream is back)
        block = self.block
        frame = self.frame_at(arrival_ns)
        if cycle_start:
            frame = (frame + block // 2) // block * block
        return frame + block * self.fixed_blocks

    @property
    def block(self) -> int:
        """Frames per host block of the stream (the last block's size; cached: this is read
        for every timed message)."""
        now = _time.monotonic()
        if now - self._block_read_at > 0.5:
            self._block_read_at = now
            self._block_cache = int(self.engine.stats().last_block or self.patch.block)
        return self._block_cache

    def stream_lost(self) -> None:
        """The audio stream went away (rtcore.supervisor): inputs play at the next block it runs,
        not at a time extrapolated from a clock that stopped."""
        self._stream_down = True

    def stream_back(self) -> None:
        """The audio stream runs again: the clock model starts afresh from its blocks."""
        self.clock.reset()
        self._stream_down = False

    # ---- events --------------------------------------------------------------------------
    def send(self, events: Event | list[Event]) -> int:
        """Queue events (any thread); a full queue is counted by the engine, never raised.
        Inside :meth:`batch` the events are collected and queued when the batch ends."""
        pending = getattr(self._tls, "batch", None)
        if pending is not None:
            if isinstance(events, Event):
                pending.append(events)
                return 1
            pending.extend(events)
            return len(events)
        try:
            return self.engine.send(events)
        except RtCoreError as exc:
            self.log(f"engine queue: {exc}")
            return 0

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect every event this thread sends inside the ``with`` block and queue them with
        one engine call at its end (:meth:`schedule`: far-ahead times wait in the scheduler).
        For bursts of control messages (OSC floods); nested batches join the outer one."""
        if getattr(self._tls, "batch", None) is not None:
            yield
            return
        self._tls.batch = []
        try:
            yield
        finally:
            self._flush_batch(reopen=False)

    def _flush_batch(self, reopen: bool = True) -> None:
        """Queue this thread's batched events now (before a graph swap renames nodes)."""
        events = getattr(self._tls, "batch", None)
        self._tls.batch = None           # schedule() -> send() must reach the engine
        try:
            if events:
                self.schedule(events)
        finally:
            self._tls.batch = [] if reopen and events is not None else None

    def schedule(self, events: list[Event]) -> None:
        """Queue events with absolute frame times, possibly far ahead (sent just in time)."""
        now = self.now()
        ahead = int(SCHEDULE_AHEAD_SECONDS * self.engine.sample_rate)
        soon = [e for e in events if e.time is None or e.time <= now + ahead]
        later = [e for e in events if e.time is not None and e.time > now + ahead]
        if soon:
            self.send(soon)
        if later:
            if self.live and self._scheduler.is_alive():
                self._scheduler.add(later)
            else:
                self.send(later)

    def note(self, channel: int, note: int, velocity: int, time: int | None = None) -> None:
        """Note on (velocity 1-127) or off (velocity 0) on MIDI ``channel`` 1-16 (0 = every
        instrument); routed like MIDI to the instruments listening on that channel."""
        for name, v, lo, hi in (("channel", channel, 0, 16), ("note", note, 0, 127), ("velocity", velocity, 0, 127)):
            if not (lo <= int(v) <= hi):
                raise ParamRangeError(f"{name} {v} is out of range {lo}..{hi}", lib.RT_ERR_RANGE)
        ev = (Event.note_on(note, velocity, channel, time) if velocity > 0
              else Event.note_off(note, channel, time))
        self.send(ev)

    # ---- parameters ----------------------------------------------------------------------
    def _reset_values(self) -> None:
        types = node_types()
        vals: dict[str, dict[str, float]] = {"master": {p.name: p.default for p in types["limiter"].params}}
        vals["master"].update(self.patch.graph.master)
        for n in self.patch.graph.nodes:
            d = {p.name: p.default for p in types[n.type].params}
            d.update(n.params)
            vals[n.name] = d
        with self._lock:
            self._values = vals

    def param_info(self, node: str, param: str) -> ParamInfo:
        nt = self.engine.node_type(node)          # NotFoundError names the nodes
        try:
            return nt.param(param)
        except KeyError:
            raise NotFoundError(f"node '{node}' ({nt.name}) has no parameter '{param}' "
                                f"(parameters: {', '.join(nt.param_names())})", lib.RT_ERR_NOT_FOUND) from None

    def nodes(self) -> dict[str, str]:
        """Node name -> type, master included, in patch order."""
        out = {"master": "limiter"}
        out.update({n.name: n.type for n in self.patch.graph.nodes})
        return out

    def get_param(self, node: str, param: str) -> float:
        """The parameter's current target value (its unit; enums as index)."""
        self.param_info(node, param)
        with self._lock:
            return self._values[node][param]

    def params(self) -> dict[str, dict[str, float]]:
        with self._lock:
            return {n: dict(v) for n, v in self._values.items()}

    def set_param(self, node: str, param: str, value: float | str | bool, time: int | None = None,
                  notify: bool = True, from_knob: bool = False) -> float:
        """Set ``node.param`` (its unit; enum by name or index). Returns the value the engine
        got. Raises a one-line RtCoreError for an unknown node/param or a value out of range."""
        p = self.param_info(node, param)
        try:
            v = p.coerce(value)
        except (ValueError, TypeError) as exc:
            raise ParamRangeError(f"{node}.{param}: {exc}", lib.RT_ERR_RANGE) from None
        self.send(Event.param_set(node, param, v, time))
        if not from_knob:
            self._release_takeover(node, param)
        self._changed(node, param, v, notify)
        return v

    def _changed(self, node: str, param: str, v: float, notify: bool = True) -> None:
        with self._lock:
            self._values.setdefault(node, {})[param] = v
            listeners = list(self._param_listeners) if notify else []
        for cb in listeners:
            try:
                cb(node, param, v)
            except Exception as exc:  # noqa: BLE001 - a subscriber must not break the session
                self.log(f"parameter listener failed: {exc}")

    # ---- transport -----------------------------------------------------------------------
    def play(self, time: int | None = None, tempo: float | None = None) -> None:
        """Start the musical clock (beat 0 at ``time``, None = next block). With an external
        clock (Link) the request goes to it and every peer starts."""
        if tempo is not None:
            self.set_tempo(tempo)
        if self.clock_source is not None:
            self.clock_source.play()
            return
        self.send(Event.transport(True, self.tempo, time))
        self.playing = True

    def stop(self, time: int | None = None) -> None:
        if self.clock_source is not None:
            self.clock_source.halt()
        else:
            self.send(Event.transport(False, 0.0, time))
        self.send(Event.all_notes_off(time=time))
        self.playing = False

    def set_tempo(self, bpm: float, time: int | None = None) -> None:
        """Change the tempo (BPM 20-300) keeping the beat; tempo-synced nodes follow. With an
        external clock the request goes to it (Link: every peer; MIDI clock: refused)."""
        self._check_tempo(bpm)
        if self.clock_source is not None:
            self.clock_source.set_tempo(float(bpm))
            return
        self.send(Event.tempo_change(bpm, time))
        self.follow_tempo(float(bpm), time)

    def follow_tempo(self, bpm: float, time: int | None = None) -> None:
        """The tempo is now ``bpm`` (from this session or an external clock): the session's
        tempo, the status screen, OSC subscribers and every tempo-synced parameter follow."""
        self.tempo = float(bpm)
        self.engine.tempo = self.tempo
        sync = min(300.0, max(20.0, self.tempo))
        for name, typ in self.nodes().items():
            if "tempo" in node_types()[typ].param_names():
                self.set_param(name, "tempo", sync, time)

    def tap(self) -> float | None:
        """Tap tempo (OSC /rtcore/transport/tap): the new tempo once two taps came, else None."""
        bpm = self._tap.tap()
        if bpm is not None:
            self.set_tempo(bpm)
        return bpm

    def midi_system(self, message: bytes, arrival_ns: int | None) -> None:
        """A MIDI system message (clock, start, stop, song position ...): to the MIDI clock
        follower when the patch's clock source is "midi", else ignored."""
        from .sync import MidiClockIn
        if isinstance(self.clock_source, MidiClockIn) and message:
            self.clock_source.message(bytes(message), arrival_ns if arrival_ns is not None else lib.rt_monotonic_ns())

    @staticmethod
    def _check_tempo(bpm: float) -> None:
        if not (20.0 <= float(bpm) <= 300.0):
            raise ParamRangeError(f"tempo {bpm} BPM is out of range 20..300", lib.RT_ERR_RANGE)

    # ---- snapshots -----------------------------------------------------------------------
    def snapshot(self, name_or_program: str | int) -> Snapshot:
        for s in self.patch.snapshots:
            if s.name == name_or_program or s.program == name_or_program:
                return s
        names = ", ".join(s.name for s in self.patch.snapshots) or "none in this patch"
        what = f"program {name_or_program}" if isinstance(name_or_program, int) else f"'{name_or_program}'"
        raise NotFoundError(f"no snapshot {what} (snapshots: {names})", lib.RT_ERR_NOT_FOUND)

    def recall(self, name_or_program: str | int, glide: float | None = None, time: int | None = None) -> Snapshot:
        """Recall a snapshot: float parameters glide over ``glide`` seconds (default: the
        snapshot's own), the others switch at the start."""
        snap = self.snapshot(name_or_program)
        glide = snap.glide if glide is None else float(glide)
        sr = self.engine.sample_rate
        start = self.now() + self.block if time is None else int(time)
        steps = max(1, int(round(glide / GLIDE_STEP_SECONDS)))
        stride = glide * sr / steps
        events: list[Event] = []
        # a new recall replaces the rest of any glide still running
        self._scheduler.cancel(lambda e: e.type == lib.RT_EV_PARAM)
        for (node, param), target in snap.values.items():
            p = self.param_info(node, param)
            if p.kind != "float" or glide <= 0:
                events.append(Event.param_set(node, param, target, start))
                continue
            v0 = self.get_param(node, param)
            for k in range(1, steps + 1):
                v = v0 + (target - v0) * k / steps
                events.append(Event.param_set(node, param, v, start + int(round((k - 1) * stride))))
        events.sort(key=lambda e: e.time)
        self.schedule(events)
        for (node, param), target in snap.values.items():
            self._release_takeover(node, param)
            self._changed(node, param, target)
        self.log(f"snapshot '{snap.name}' (glide {glide:g} s)")
        return snap

    # ---- MIDI ----------------------------------------------------------------------------
    def midi(self, message: bytes | list[int] | tuple[int, ...], arrival_ns: int | None = None,
             cycle_start: bool = False) -> None:
        """One raw MIDI message (status byte first) that arrived at ``arrival_ns``: notes,
        CC (maps, learn, sustain ...), pitch bend, channel pressure, program change (snapshots);
        what each does is :data:`rtcore.midi_spec.CHANNEL_MESSAGES`. System messages (clock,
        SysEx ...) are ignored. Malformed messages raise a one-line :class:`RtCoreError`.
        ``cycle_start``: see :meth:`event_time`."""
        msg = bytes(message)
        if not msg or msg[0] < 0x80:
            raise RtCoreError(f"MIDI: not a status byte first: {msg.hex(' ') or 'empty message'}")
        kind = midi_spec.BY_STATUS.get(msg[0] & 0xF0)
        if kind is None:          # system messages (clock, sysex ...) are not played
            return
        if len(msg) < kind.length or any(b > 0x7F for b in msg[1:kind.length]):
            raise RtCoreError(f"MIDI: malformed {kind.name} message {msg.hex(' ')}")
        t = self.event_time(arrival_ns, cycle_start)
        self.midi_log.append(MidiLogEntry(arrival_ns or lib.rt_monotonic_ns(), midi_spec.describe(msg[:kind.length])))
        getattr(self, kind.handler)((msg[0] & 0x0F) + 1, msg, t)

    def _midi_note_on(self, ch: int, msg: bytes, t: int | None) -> None:
        if msg[2] == 0:
            self._midi_note_off(ch, msg, t)
        else:
            self.send(Event.note_on(msg[1], msg[2], ch, t))

    def _midi_note_off(self, ch: int, msg: bytes, t: int | None) -> None:
        self.send(Event.note_off(msg[1], ch, t, velocity=msg[2] if msg[0] & 0xF0 == 0x80 else 0))

    def _midi_cc(self, ch: int, msg: bytes, t: int | None) -> None:
        self.send(Event.cc(msg[1], msg[2], ch, t))      # instruments still see it (sustain, all notes off ...)
        self._controller(ch, msg[1], msg[2], t)

    def _midi_bend(self, ch: int, msg: bytes, t: int | None) -> None:
        bend = ((msg[2] << 7) | msg[1]) - 8192
        self.send(Event.pitch_bend(max(-1.0, bend / 8192.0), ch, t))

    def _midi_pressure(self, ch: int, msg: bytes, t: int | None) -> None:
        self.send(Event(lib.RT_EV_CHANNEL_PRESSURE, t, ch, value=msg[1] / 127.0))
        self._controller(ch, midi_spec.PRESSURE_CC, msg[1], t)

    def _midi_program(self, ch: int, msg: bytes, t: int | None) -> None:
        try:
            self.recall(msg[1], time=t)
        except NotFoundError as exc:
            self.log(f"MIDI program change {msg[1]} on channel {ch}: {exc}")

    def _midi_ignore(self, ch: int, msg: bytes, t: int | None) -> None:
        pass

    def _controller(self, ch: int, cc: int, value: int, t: int | None) -> None:
        """A controller moved (a CC 0-127, or :data:`~rtcore.midi_spec.PRESSURE_CC`): learn it
        if MIDI learn is armed, then move every CC map of that controller and channel."""
        if cc in midi_spec.CHANNEL_MODE_CCS:
            return
        with self._lock:
            learn, self._learn = self._learn, None
        if learn is not None:
            self._make_learned(learn, cc, ch)
        for m in self.patch.cc_maps:
            if m.cc != cc or (m.channel and m.channel != ch):
                continue
            new = m.value(value)
            if m.takeover and not self._takeover(m, new):
                continue
            self.set_param(m.node, m.param, new, t, from_knob=True)

    def _takeover(self, m: CCMap, new: float) -> bool:
        """Soft takeover: a knob whose position disagrees with the parameter (changed by a
        snapshot, OSC or a reload) acts only once it reaches or crosses the current value."""
        key = (m.cc, m.channel)
        cur = self.get_param(m.node, m.param)
        step = abs(m.value(127) - m.value(0)) / 127.0 * 1.5 + 1e-9
        with self._lock:
            last = self._last_cc_value.get(key)
            self._last_cc_value[key] = new
            if key in self._picked_up and self._owner.get((m.node, m.param)) == key:
                return True
            crossed = last is not None and (last - cur) * (new - cur) <= 0
            if crossed or abs(new - cur) <= step:
                self._picked_up.add(key)
                self._owner[(m.node, m.param)] = key
                return True
            return False

    def _release_takeover(self, node: str, param: str) -> None:
        """Something other than the knob set the parameter: the knob must pick it up again."""
        with self._lock:
            key = self._owner.pop((node, param), None)
            if key is not None:
                self._picked_up.discard(key)

    # ---- MIDI learn ----------------------------------------------------------------------
    def learn(self, target: str) -> None:
        """Arm MIDI learn for ``"node.param"``: the next CC received is mapped to it."""
        if "." not in target:
            raise RtCoreError(f"learn: target '{target}' must be node.param")
        node, param = target.split(".", 1)
        self.param_info(node, param)
        with self._lock:
            self._learn = (node, param)
        self.log(f"MIDI learn armed for {node}.{param}: move a knob")

    def learn_cancel(self) -> None:
        with self._lock:
            self._learn = None

    @property
    def learning(self) -> str | None:
        with self._lock:
            return None if self._learn is None else ".".join(self._learn)

    def _make_learned(self, target: tuple[str, str], cc: int, ch: int) -> CCMap:
        node, param = target
        p = self.param_info(node, param)
        curve = "exp" if p.unit == "Hz" and p.min > 0 else "lin"
        m = CCMap(cc=cc, channel=ch, node=node, param=param, min=p.min, max=p.max, curve=curve,
                  stepped=p.kind != "float", takeover=True, learned=True)
        with self._lock:
            self.patch.cc_maps = [x for x in self.patch.cc_maps
                                  if (x.cc, x.channel) != (cc, ch) and not (x.learned and (x.node, x.param) == target)]
            self.patch.cc_maps.append(m)
        self.log(f"MIDI learn: {midi_spec.cc_label(cc)} on channel {ch} -> {node}.{param}")
        return m

    def learn_save(self) -> Path:
        """Write the learned maps to the patch's sidecar file (the patch itself is untouched)."""
        with self._lock:
            learned = [m for m in self.patch.cc_maps if m.learned]
        path = self.patch.learn_path
        try:
            save_learned(path, learned)
        except OSError as exc:
            raise RtCoreError(f"{path}: cannot write the MIDI-learn file: {exc.strerror or exc}") from None
        self.log(f"wrote {len(learned)} learned CC map(s) to {path}")
        return path

    # ---- hot reload ----------------------------------------------------------------------
    def load(self, path: str | Path | None = None) -> Patch:
        """Load a patch (default: reload the current one) and swap it in at a block boundary;
        unchanged nodes keep their state. On any error the old patch keeps playing and the
        one-line error is raised (and logged): a missing plugin or sample, and an AI model that
        does not load while the playing patch has a running AI (a reload never trades a running
        model for a silent one; only when no AI runs now does the new patch play without it)."""
        path = Path(path) if path is not None else self.patch.path
        self._flush_batch()              # events batched for the old graph go to the old graph
        warned = len(self.engine.warnings)
        try:
            new = load_patch(path, sample_rate=int(self.engine.sample_rate),
                             allow_any_path=self.patch.allow_any_path)
            if new.sample_rate != int(self.engine.sample_rate):
                raise PatchError(f"{path}: sample_rate cannot change while playing")
            self.engine.load(new.graph, ai_errors="raise" if self._ai_running() else "warn")
        except RtCoreError as exc:
            self.log(f"reload failed, still playing {self.patch.path.name}: {exc}")
            raise
        for w in self.engine.warnings[warned:]:
            self.log(w)
        with self._lock:
            self.patch = new
            self._picked_up.clear()
            self._owner.clear()
            self._muted_logged.clear()
        self._reset_values()
        self.log(f"loaded {path}")
        return new

    def _ai_running(self) -> bool:
        """An AI node of the playing graph has its model loaded (it was not degraded)."""
        types = node_types()
        degraded = self.engine._degraded
        return any(types[n.type].is_controller and n.name not in degraded for n in self.patch.graph.nodes
                   if n.type in types)

    def _watch_stamp(self) -> tuple:
        """(mtime, size) of the patch, its sidecar and every file it references (None: missing)."""
        out = []
        for p in (self.patch.path, self.patch.learn_path, *self.patch.referenced_files()):
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def _watch(self, last: tuple) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            cur = self._watch_stamp()
            if cur != last and cur[0] is not None:
                try:
                    self.load()
                except RtCoreError:
                    pass             # logged by load(); the old patch plays on
                last = self._watch_stamp()       # (a new patch may reference other files)

    # ---- AI notes and logs ---------------------------------------------------------------
    def _report_muted(self, seen: int) -> int:
        """Log plugin nodes muted since ``seen`` (the engine's plugins_muted count); the new count."""
        count = self.engine.stats().plugins_muted
        if count > seen:
            for name in self.engine.muted_nodes():
                if name not in self._muted_logged:
                    self._muted_logged.add(name)
                    self.log(f"plugin node '{name}' output NaN/Inf and was muted (the rest plays on; reload the "
                             f"patch to bring it back)")
        return count

    def add_param_listener(self, cb: ParamListener) -> None:
        with self._lock:
            self._param_listeners.append(cb)

    def remove_param_listener(self, cb: ParamListener) -> None:
        with self._lock:
            if cb in self._param_listeners:
                self._param_listeners.remove(cb)

    def add_note_listener(self, cb: NoteListener) -> None:
        """``cb`` gets every note the AI plays (from the pump thread, within ~1 ms)."""
        with self._lock:
            self._note_listeners.append(cb)

    def remove_note_listener(self, cb: NoteListener) -> None:
        with self._lock:
            if cb in self._note_listeners:
                self._note_listeners.remove(cb)

    def add_log_listener(self, cb: LogListener) -> None:
        with self._lock:
            self._log_listeners.append(cb)

    def log(self, text: str) -> None:
        """A one-line message for the log and the status display (line breaks and control
        characters in it -- an OSC address, a port name -- are escaped)."""
        text = one_line(text)
        self.errors.append(text)
        with self._lock:
            listeners = list(self._log_listeners)
        for cb in listeners:
            try:
                cb(text)
            except Exception:  # noqa: BLE001
                pass

    def _pump_notes(self) -> None:
        """The AI's notes to the listeners (every ms); muted plugins to the log (every 0.1 s)."""
        muted_seen, k = 0, 0
        while not self._stop.wait(0.001):
            try:
                notes = self.engine.poll_notes()
                k += 1
                if k % 100 == 0:
                    muted_seen = self._report_muted(muted_seen)
            except RtCoreError:
                return
            if not notes:
                continue
            with self._lock:
                listeners = list(self._note_listeners)
            for n in notes:
                for cb in listeners:
                    try:
                        cb(*n)
                    except Exception as exc:  # noqa: BLE001
                        self.log(f"note listener failed: {exc}")

