"""Live MIDI ports through python-rtmidi: the input that plays the patch ("rtcore in") and the
output that carries the AI's parts and MIDI clock ("rtcore out").

**Which MIDI system.** python-rtmidi is built with several back ends (ALSA and JACK on
Linux). :func:`choose_api` picks one automatically -- the ALSA sequencer when the machine
has one (``/dev/snd/seq``), else a running JACK server (as in CI, where there is no sound
card) -- and ``--midi-api alsa|jack`` forces one. Problems are one-line :class:`DeviceError`\\ s
naming the API or the port and listing what exists.

**Reading the input without touching the JACK thread.** RtMidi's JACK back end runs a
python-rtmidi callback on JACK's real-time process thread, which then waits for the GIL: a
busy Python thread (the status screen, an OSC flood) would make that JACK client miss its
deadline and the server count an xrun. So by default (``read="poll"``) the input is drained
by a Python thread every :data:`POLL_SECONDS`; RtMidi queues the messages in between, and
:class:`~rtcore.midi_time.MidiTimestamper` recovers each message's time from RtMidi's deltas,
so the poll delay costs latency in ``lowest`` mode only (half a poll interval on average),
never timing accuracy. ``read="callback"`` is kept for measurement only
(``benchmarks/bench_latency.py --with-callback``): besides the GIL on JACK's thread, python-rtmidi
1.5.8 segfaulted in it once in our benchmark runs, so ``rtcore play`` does not offer it.

**Output.** Every note the AI plays (the session's note pump, within a millisecond of the
block that played it) leaves on the output at once; with ``[midi] clock_out = true`` the
output also carries MIDI clock (24 per beat) derived from the engine's transport (its beat
origin and tempo, the same ones the AI's step grid uses), with Start/Stop, and Song
Position + Continue when clock is switched on mid-song. Notes still sounding are released
when the port closes.

Threads: :class:`MidiInput` reads on its own thread (or rtmidi's); :class:`MidiOutput`
sends from the session's note pump and its own clock thread, one at a time (RtMidi's JACK
output queue has a single writer).
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any, Callable

from . import midi_spec
from .devices import quiet_stderr
from .errors import DeviceError, RtCoreError
from .midi_time import JACK_CLOCK, MidiTimestamper

CLIENT_NAME = "rtcore"
# Probing and listing use clients of their own names: jackd2 can hang a client opened under the
# name of one closed a moment before ("can't connect named futex jack_sem...").
PROBE_NAME = "rtcore-probe"
LIST_NAME = "rtcore-ports"
VIRTUAL_IN = "rtcore in"
VIRTUAL_OUT = "rtcore out"
POLL_SECONDS = 0.0005          # the input thread's poll interval (s)
POLL_PRIORITY = 20             # SCHED_FIFO priority of the poll thread, when allowed (JACK runs at 70)
QUEUE_SIZE = 4096              # messages RtMidi holds between two polls (0.4 s of a 10,000/s flood)
CLOCK_PPQN = 24                # MIDI clock ticks per quarter note
CLOCK_MAX_SLEEP = 0.005        # the clock thread re-reads tempo and transport at least this often (s)
READ_MODES = ("poll", "callback")

# MIDI system real-time and common messages the output sends
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - python-rtmidi is a dependency
        raise DeviceError(f"MIDI needs python-rtmidi (pip install python-rtmidi): {exc}") from None
    return rtmidi


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def api_name(api: int) -> str:
    """``"alsa"``, ``"jack"`` ... for an ``rtmidi.API_*`` constant."""
    return _rtmidi().get_api_name(api)


def compiled_apis() -> dict[str, int]:
    """Name -> rtmidi API constant of every back end python-rtmidi was built with."""
    rtmidi = _rtmidi()
    return {rtmidi.get_api_name(a): a for a in rtmidi.get_compiled_api()}


def _probe(api: int) -> str | None:
    """None when a client of ``api`` can be made now, else why not (one line)."""
    rtmidi = _rtmidi()
    try:
        with quiet_stderr():          # ALSA and libjack print their own complaints
            probe = rtmidi.MidiIn(api, name=PROBE_NAME)
            probe.delete()
    except (SystemError, RuntimeError, rtmidi.RtMidiError) as exc:
        return _one_line(exc)
    return None


def _preference() -> list[str]:
    if sys.platform.startswith("linux"):
        return ["alsa", "jack"] if os.path.exists("/dev/snd/seq") else ["jack", "alsa"]
    return []


def choose_api(name: str | None = None) -> int:
    """The rtmidi API to use: ``name`` ("alsa", "jack", ...; None or "auto" = pick: the ALSA
    sequencer when the machine has one, else a running JACK server). Raises a one-line
    :class:`DeviceError` when it (or every candidate) cannot be used."""
    apis = compiled_apis()
    if name and name.lower() != "auto":
        key = name.lower()
        if key not in apis:
            raise DeviceError(f"MIDI API '{name}' is not available (python-rtmidi here has: "
                              f"{', '.join(apis) or 'none'})")
        why = _probe(apis[key])
        if why is not None:
            raise DeviceError(f"MIDI API '{key}' cannot be used: {why}")
        return apis[key]
    order = [a for a in _preference() if a in apis] + [a for a in apis if a not in _preference()]
    reasons = []
    for key in order:
        why = _probe(apis[key])
        if why is None:
            return apis[key]
        reasons.append(f"{key}: {why}")
    hint = ("no ALSA sequencer (/dev/snd/seq) and no JACK server running (start one, e.g. "
            "`jackd -d dummy -r 48000 -p 128 &`)") if sys.platform.startswith("linux") else "; ".join(reasons)
    raise DeviceError(f"no MIDI system to connect to: {hint}")


def list_ports(api: int) -> tuple[list[str], list[str]]:
    """(input ports, output ports) that ``api`` sees now (ports to read from, ports to send to)."""
    rtmidi = _rtmidi()
    with quiet_stderr():
        mi = rtmidi.MidiIn(api, name=LIST_NAME)
        mo = rtmidi.MidiOut(api, name=LIST_NAME)
        try:
            return list(mi.get_ports()), list(mo.get_ports())
        finally:
            mi.delete()
            mo.delete()


def resolve_port(ports: list[str], spec: str | int, kind: str) -> int:
    """Index in ``ports`` of ``spec``: an index (int or digits) or a case-insensitive part of
    the name (an exact name wins). One-line :class:`DeviceError` listing the ports otherwise."""
    listing = "; ".join(f"{i} '{p}'" for i, p in enumerate(ports)) or "none"
    if isinstance(spec, int) or str(spec).strip().isdigit():
        i = int(spec)
        if 0 <= i < len(ports):
            return i
        raise DeviceError(f"no MIDI {kind} port {i} ({kind} ports: {listing})")
    text = str(spec).strip().lower()
    matches = [i for i, p in enumerate(ports) if text in p.lower()]
    exact = [i for i in matches if ports[i].lower() == text]
    if len(exact) == 1:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceError(f"no MIDI {kind} port matching '{spec}' ({kind} ports: {listing})")
    raise DeviceError(f"MIDI {kind} port '{spec}' is ambiguous: "
                      f"{'; '.join(f'{i} {ports[i]!r}' for i in matches)}; give an index or a longer name")


def format_ports() -> str:
    """The MIDI part of ``rtcore devices``: every usable API with its input and output ports."""
    lines = ["MIDI ports (python-rtmidi):"]
    apis = compiled_apis()
    for key in [a for a in _preference() if a in apis] + [a for a in apis if a not in _preference()]:
        why = _probe(apis[key])
        if why is not None:
            lines.append(f"  {key}: not available ({why})")
            continue
        ins, outs = list_ports(apis[key])
        lines.append(f"  {key}:")
        lines.append("    inputs  (--midi-in):  " + ("; ".join(f"{i} '{p}'" for i, p in enumerate(ins)) or "none"))
        lines.append("    outputs (--midi-out): " + ("; ".join(f"{i} '{p}'" for i, p in enumerate(outs)) or "none"))
    lines.append(f"  Without --midi-in / --midi-out rtcore opens virtual ports '{VIRTUAL_IN}' and "
                 f"'{VIRTUAL_OUT}' (connect them with aconnect, jack_connect or a patchbay).")
    return "\n".join(lines)


def _open_port(port_obj: Any, spec: str | int | None, virtual_name: str, kind: str) -> str:
    """Open ``spec`` (or a virtual port named ``virtual_name``) on an rtmidi object; its name."""
    rtmidi = _rtmidi()
    try:
        with quiet_stderr():
            if spec is None:
                port_obj.open_virtual_port(virtual_name)
                return virtual_name
            ports = list(port_obj.get_ports())
            idx = resolve_port(ports, spec, kind)
            port_obj.open_port(idx, virtual_name)
            return ports[idx]
    except (SystemError, RuntimeError, rtmidi.RtMidiError, rtmidi.InvalidUseError) as exc:
        what = f"virtual port '{virtual_name}'" if spec is None else f"port '{spec}'"
        raise DeviceError(f"cannot open MIDI {kind} {what}: {_one_line(exc)}") from None


def _raise_priority() -> None:
    """Make the calling thread (the MIDI input's poll thread) SCHED_FIFO at
    :data:`POLL_PRIORITY` when allowed: it then wakes on time however busy the other threads
    are, so an input reaches the engine within the block the "fixed" mode promises. Its work is
    bounded (it sleeps every :data:`POLL_SECONDS`), and the priority stays below JACK's (70) and
    the audio callback's. Without the privilege (no rtprio limit) it stays an ordinary thread."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(POLL_PRIORITY))   # 0: this thread
    except (AttributeError, OSError):
        pass


def _open_client(kind: str, api_spec: str | int | None, port: str | int | None,
                 configure: Callable[[Any], None] | None = None,
                 queue_size: int = QUEUE_SIZE) -> tuple[int, Any, str]:
    """(api, rtmidi MidiIn/MidiOut, port name) for a new ``kind`` ("input"/"output") client on
    ``port`` (None = rtcore's virtual port); an input holds ``queue_size`` messages between
    reads. One-line :class:`DeviceError` on failure."""
    rtmidi = _rtmidi()
    api = api_spec if isinstance(api_spec, int) else choose_api(api_spec)
    make, virtual = (rtmidi.MidiIn, VIRTUAL_IN) if kind == "input" else (rtmidi.MidiOut, VIRTUAL_OUT)
    kw = {"queue_size_limit": int(queue_size)} if kind == "input" else {}
    try:
        with quiet_stderr():
            client = make(api, name=CLIENT_NAME, **kw)
    except (SystemError, RuntimeError, rtmidi.RtMidiError) as exc:
        raise DeviceError(f"MIDI {kind} ({api_name(api)}): {_one_line(exc)}") from None
    if configure is not None:
        configure(client)
    try:
        return api, client, _open_port(client, port, virtual, kind)
    except DeviceError:
        client.delete()
        raise


def _close_client(client: Any) -> None:
    with quiet_stderr():
        client.close_port()
        client.delete()


class MidiInput:
    """Plays MIDI from one input port through ``session`` (:meth:`Session.midi`).

    ``port``: index or name part of an input port (see ``rtcore devices``); None = a virtual
    input named :data:`VIRTUAL_IN` that other software connects to. ``api``: rtmidi API name
    or constant, None = :func:`choose_api`. ``read``: "poll" (default) or "callback" (see the
    module doc). ``queue_size``: messages RtMidi holds until the poll thread reads them (more
    are lost, and counted). :meth:`open` raises a one-line :class:`DeviceError`; afterwards bad
    messages are logged and counted, never raised. Usable as a context manager.

    :attr:`counters`: messages ``received`` (read from RtMidi), ``handled`` (played),
    ``errors`` (malformed, logged), ``system`` (clock, SysEx ...: not played) and ``lost``:
    messages RtMidi dropped because its queue was full (see :mod:`rtcore.stderr_tap`), so that
    what a sender wrote = received + lost. ``loss_counted`` is False when those cannot be
    counted (stderr could not be tapped; logged once).
    """

    def __init__(self, session, port: str | int | None = None, api: str | int | None = None,
                 read: str = "poll", poll_seconds: float = POLL_SECONDS, queue_size: int = QUEUE_SIZE) -> None:
        if read not in READ_MODES:
            raise ValueError(f"read must be one of {READ_MODES} (got {read!r})")
        if not 2 <= int(queue_size) <= 1 << 20:
            raise ValueError(f"queue_size must be 2..{1 << 20} messages (got {queue_size})")
        self.session = session
        self.port = port
        self.api_spec = api
        self.read = read
        self.poll_seconds = float(poll_seconds)
        self.queue_size = int(queue_size)
        self.api: int | None = None
        self.name: str | None = None
        self._c = {"received": 0, "handled": 0, "errors": 0, "system": 0}
        self._tap: Any = None                    # rtcore.stderr_tap.StderrTap while open (poll mode)
        self._lost_base = 0
        self._lost_final = 0
        self.loss_counted = False
        self._in: Any = None
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._stamper: MidiTimestamper | None = None
        self._jack = False

    def open(self) -> "MidiInput":
        # Keep clock, SysEx and active sensing: RtMidi's JACK input measures each delta from the
        # previous message *including* the ones it filters, so filtering would lose time
        # (rtcore.midi_time). They are dropped here, in _handle.
        if self.read == "poll":
            self._start_loss_count()
        try:
            self.api, self._in, self.name = _open_client(
                "input", self.api_spec, self.port,
                lambda mi: mi.ignore_types(sysex=False, timing=False, active_sense=False), self.queue_size)
        except BaseException:
            self._stop_loss_count()
            raise
        # RtMidi's JACK deltas are whole µs of libjack's clock; ALSA's come from the sequencer
        # queue's timer, which runs on the system's monotonic clock
        self._jack = self.api == _rtmidi().API_UNIX_JACK
        self._stamper = MidiTimestamper(source_clock=JACK_CLOCK if self._jack else time.CLOCK_MONOTONIC)
        if self.read == "callback":
            self._in.set_callback(self._on_callback)
        else:
            self._thread = threading.Thread(target=self._poll, name="rtcore-midi-in", daemon=True)
            self._thread.start()
        self.session.add_counters("midi_in", lambda: self.counters)
        self.session.log(f"MIDI in: {self.name} ({api_name(self.api)})")
        return self

    @property
    def counters(self) -> dict[str, int]:
        """See the class doc: received, handled, errors, system, lost."""
        c = dict(self._c)
        c["lost"] = self._lost_final if self._tap is None else self._tap.lost - self._lost_base
        return c

    def _start_loss_count(self) -> None:
        """RtMidi reports a message its full queue drops only on stderr: count those lines."""
        from . import stderr_tap
        try:
            self._tap = stderr_tap.acquire()
        except OSError as exc:
            self.session.log(f"MIDI in: messages RtMidi drops when its queue is full cannot be counted "
                             f"(stderr cannot be tapped: {exc.strerror or exc})")
            return
        self._lost_base = self._tap.lost
        self.loss_counted = True

    def _stop_loss_count(self) -> None:
        if self._tap is None:
            return
        from . import stderr_tap
        self._lost_final = self._tap.lost - self._lost_base
        self._tap = None
        stderr_tap.release()

    def close(self) -> None:
        """Stop reading and close the port. Safe to call twice."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():            # never free the client under a reader: leak it
                self.session.log(f"MIDI in ({self.name}): the reading thread did not stop; port left open")
                self._in = None
            self._thread = None
        if self._in is not None:
            if self.read == "callback":
                # RtMidi's JACK thread may be inside our callback, waiting for the GIL; closing
                # the client (which waits for that cycle to end) while holding the GIL would then
                # deadlock. Stop new calls, then let a call in flight finish (sleep drops the GIL).
                self._in.cancel_callback()
                time.sleep(0.05)
            _close_client(self._in)
            self._in = None
        self._stop_loss_count()

    @property
    def needs_reopen_with_audio(self) -> bool:
        """True when its port lives in the JACK server (rtmidi's JACK API): it goes when the server
        goes, and must be opened again when the audio stream reconnects (:meth:`suspend`,
        :meth:`resume`)."""
        return self.api is not None and self.api == _rtmidi().API_UNIX_JACK

    def suspend(self) -> None:
        """The JACK server died: close the dead client now (about a second of libjack time-outs,
        better spent while nothing plays than when the sound comes back)."""
        self.close()

    def resume(self) -> None:
        """The server is back: open the same port again. A failure is logged, not raised."""
        self._quit.clear()
        try:
            self.open()
        except DeviceError as exc:
            self.session.log(f"MIDI in: not reopened after the audio server came back: {exc}")

    def __enter__(self) -> "MidiInput":
        return self.open() if self._in is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # [rtmidi's thread] in callback mode: the message and its delta (s)
    def _on_callback(self, event: tuple[list[int], float], data: Any = None) -> None:
        self._handle(event[0], event[1])

    def _poll(self) -> None:
        _raise_priority()
        get, wait = self._in.get_message, self._quit.wait
        while not wait(self.poll_seconds):
            while True:
                item = get()
                if item is None:
                    break
                self._handle(item[0], item[1])

    def _handle(self, message: list[int], delta: float) -> None:
        arrival = self._stamper.stamp(delta)      # every message, in order: the deltas must add up
        c = self._c
        c["received"] += 1
        if not message or message[0] >= 0xF0:      # clock, SysEx, active sensing ...: not played;
            c["system"] += 1                        # the clock follower takes clock and transport
            try:
                self.session.midi_system(bytes(message), arrival)
            except Exception as exc:  # noqa: BLE001 - the input thread must survive anything
                self.session.log(f"MIDI in ({self.name}): clock: {type(exc).__name__}: {exc}")
            return
        try:
            self.session.midi(message, arrival, cycle_start=self._jack)     # JACK: timed per cycle
            c["handled"] += 1
        except RtCoreError as exc:
            c["errors"] += 1
            self.session.log(f"MIDI in ({self.name}): {exc}")
        except Exception as exc:  # noqa: BLE001 - the input thread must survive anything
            c["errors"] += 1
            self.session.log(f"MIDI in ({self.name}): internal error: {type(exc).__name__}: {exc}")


class MidiOutput:
    """Sends the AI's notes (and, with ``clock``, MIDI clock) to one output port.

    ``port``: index or name part of an output port; None = a virtual output named
    :data:`VIRTUAL_OUT`. ``clock``: send MIDI clock; None = follow the patch's
    ``[midi] clock_out`` (re-read after every reload). ``counters``: notes, clock ticks,
    starts, stops and send errors. Usable as a context manager.
    """

    def __init__(self, session, port: str | int | None = None, api: str | int | None = None,
                 clock: bool | None = None) -> None:
        self.session = session
        self.port = port
        self.api_spec = api
        self.clock = clock
        self.api: int | None = None
        self.name: str | None = None
        self.counters = {"notes": 0, "clock_ticks": 0, "starts": 0, "stops": 0, "errors": 0}
        self._out: Any = None
        self._lock = threading.Lock()           # RtMidi's JACK output queue has one writer
        self._sounding: set[tuple[int, int]] = set()
        self._quit = threading.Event()
        self._clock_thread: threading.Thread | None = None

    def open(self) -> "MidiOutput":
        self.api, self._out, self.name = _open_client("output", self.api_spec, self.port)
        self.session.add_note_listener(self._note)
        if self.session.live:
            self._clock_thread = threading.Thread(target=self._clock_loop, name="rtcore-midi-clock", daemon=True)
            self._clock_thread.start()
        self.session.log(f"MIDI out: {self.name} ({api_name(self.api)})")
        return self

    def close(self) -> None:
        """Release the notes still sounding, stop the clock, close the port. Safe to call twice."""
        self._quit.set()
        self.session.remove_note_listener(self._note)
        if self._clock_thread is not None:
            self._clock_thread.join(timeout=1.0)
            self._clock_thread = None
        if self._out is not None:
            with self._lock:
                for ch, note in sorted(self._sounding):
                    self._send_locked([0x80 | (ch - 1), note, 0])
                self._sounding.clear()
            time.sleep(0.02)          # let RtMidi's JACK client deliver them before it goes
            _close_client(self._out)
            self._out = None

    @property
    def needs_reopen_with_audio(self) -> bool:
        """See :attr:`MidiInput.needs_reopen_with_audio`."""
        return self.api is not None and self.api == _rtmidi().API_UNIX_JACK

    def suspend(self) -> None:
        """The JACK server died: close the dead client (the notes it held went with it)."""
        self._sounding.clear()           # nothing to release on a dead port
        self.close()

    def resume(self) -> None:
        """The server is back: open the same port again. A failure is logged, not raised."""
        self._quit.clear()
        try:
            self.open()
        except DeviceError as exc:
            self.session.log(f"MIDI out: not reopened after the audio server came back: {exc}")

    def __enter__(self) -> "MidiOutput":
        return self.open() if self._out is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: list[int]) -> None:
        """Send one raw MIDI message now (any thread)."""
        with self._lock:
            self._send_locked(message)

    def _send_locked(self, message: list[int]) -> None:
        try:
            self._out.send_message(message)
        except Exception as exc:  # noqa: BLE001 - a send error must not stop the pump or the clock
            self.counters["errors"] += 1
            if self.counters["errors"] <= 3:
                self.session.log(f"MIDI out ({self.name}): {_one_line(exc)}")

    # [the session's note pump] a note the AI played: (frame, RT_EV_NOTE_ON/OFF, channel 1-16, note, velocity)
    def _note(self, frame: int, kind: int, channel: int, note: int, velocity: int) -> None:
        from ._native import lib

        ch = min(max(int(channel), 1), 16)
        with self._lock:
            if self._out is None:
                return
            if kind == lib.RT_EV_NOTE_ON and velocity > 0:
                self._send_locked([0x90 | (ch - 1), note & 0x7F, min(max(velocity, 1), 127)])
                self._sounding.add((ch, note))
                self.counters["notes"] += 1
            else:
                self._send_locked([0x80 | (ch - 1), note & 0x7F, 0])
                self._sounding.discard((ch, note))

    # ---- MIDI clock ----------------------------------------------------------------------
    def _clock_wanted(self) -> bool:
        return self.session.patch.clock_out if self.clock is None else bool(self.clock)

    def _clock_loop(self) -> None:
        """Ticks at the engine frames where beat k/24 falls: frame = origin + k * 60 * sr /
        (24 * tempo), from the engine's transport; each sent when CLOCK_MONOTONIC reaches that
        frame's time (:meth:`ClockModel.time_at`). Tempo and transport are re-read at least
        every :data:`CLOCK_MAX_SLEEP`, so a tempo change or a stop takes effect at once."""
        _raise_priority()            # SCHED_FIFO 20 when allowed: ticks leave on time on a busy machine
        sr = float(self.session.engine.sample_rate)
        running = False
        tick = 0                     # index of the next tick (beat = tick / 24)
        try:
            while not self._quit.is_set():
                st = self.session.engine.stats()
                wanted = self._clock_wanted() and bool(st.transport_playing) and st.tempo > 0
                if not wanted:
                    if running:
                        self.send([STOP])
                        self.counters["stops"] += 1
                        running = False
                    self._quit.wait(CLOCK_MAX_SLEEP)
                    continue
                frames_per_tick = 60.0 * sr / (CLOCK_PPQN * st.tempo)
                now = self.session.clock.now()
                position = (now - st.transport_origin) / frames_per_tick       # in ticks, may be < 0
                if running and position < tick - 2:     # the transport restarted (a tempo change
                    running = False                       # keeps the beat: the ticks go on)
                if not running:
                    if position <= 0.5:                  # from the top: Start, then tick 0 on beat 0
                        tick = 0
                        self._wait_frame(st.transport_origin)
                        self.send([START])
                    else:                                # mid-song: Song Position (16ths), Continue
                        sixteenth = math.ceil(position / 6.0)
                        tick = sixteenth * 6
                        self.send([SONG_POSITION, sixteenth & 0x7F, (sixteenth >> 7) & 0x7F])
                        self._wait_frame(st.transport_origin + tick * frames_per_tick)
                        self.send([CONTINUE])
                    self.counters["starts"] += 1
                    running = True
                target = st.transport_origin + tick * frames_per_tick
                if not self._wait_frame(target, CLOCK_MAX_SLEEP):
                    continue                             # not yet: re-read tempo and transport first
                # every tick is sent, late ones at once: a receiver counts ticks for its position
                # and its tempo, so a skipped tick would put it behind and slow it down
                self.send([CLOCK])
                self.counters["clock_ticks"] += 1
                tick += 1
        except RtCoreError as exc:          # the engine closed under us
            self.session.log(f"MIDI clock stopped: {exc}")

    def _wait_frame(self, frame: float, max_wait: float | None = None) -> bool:
        """Sleep until engine ``frame`` starts (True), or for ``max_wait`` s at most (False if
        it has not started by then). No clock yet (no block played): False after the wait."""
        t = self.session.clock.time_at(int(math.floor(frame)))
        if t is None:
            self._quit.wait(max_wait or CLOCK_MAX_SLEEP)
            return False
        left = (t - time.monotonic_ns()) / 1e9
        if left <= 0:
            return True
        if max_wait is not None and left > max_wait:
            self._quit.wait(max_wait)
            return False
        self._quit.wait(left)
        return not self._quit.is_set()
