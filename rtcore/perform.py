"""``rtcore play``: one live performance -- the engine on a sound card, the session, and every
control surface around it (MIDI in and out, the OSC server, MIDI learn, ``--watch``, the
status screen), opened in an order that fails early and closed in reverse.

Failures: anything the performer asked for explicitly (``--midi-in PORT``, ``--osc-port``)
that cannot be opened stops the start with a one-line error before any sound. The defaults
(virtual MIDI ports, OSC on 127.0.0.1:9000) degrade to a warning when the machine has no
MIDI system or the port is taken: the show goes on without that surface.
"""
from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .engine import Engine, Stats
from .errors import DeviceError, RtCoreError
from .supervisor import StreamSupervisor


@dataclass
class PerformOptions:
    """What ``rtcore play`` was asked for. Times in seconds; ``block`` in frames."""

    patch: Path
    device: str | None = None
    host_api: str | None = None
    block: int | None = None
    sample_rate: int | None = None
    midi_file: Path | None = None
    seconds: float | None = None
    quiet: bool = False
    midi: bool = True
    midi_in: str | None = None           # None = virtual "rtcore in"
    midi_out: str | None = None          # None = virtual "rtcore out"
    midi_api: str | None = None          # None/"auto", "alsa", "jack"
    osc: bool = True
    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    osc_allow: str | None = None         # "CIDR[,CIDR...]": the only senders OSC answers
    latency: str | None = None           # overrides the patch's [midi] latency
    watch: bool = False
    learn: list[str] = field(default_factory=list)
    record: Path | None = None           # journal folder (rtcore/record.py)
    allow_any_path: bool = False         # the patch may name files anywhere (rtcore.allowed_paths)


Warn = Callable[[str], None]

#: Python hands the GIL to a waiting thread after this long (s; CPython's default is 5 ms). The
#: MIDI input thread must not wait 5 ms behind the status screen or an OSC burst: with a 64-frame
#: block (1.3 ms) that is several blocks of added latency.
LIVE_SWITCH_INTERVAL = 0.0005


def tune_interpreter_for_live() -> None:
    """Short GIL hand-offs for a live performance (see :data:`LIVE_SWITCH_INTERVAL`)."""
    sys.setswitchinterval(LIVE_SWITCH_INTERVAL)


def _warn(text: str) -> None:
    print(f"rtcore: warning: {text}", file=sys.stderr)


def perform(opts: PerformOptions, warn: Warn = _warn) -> Stats:
    """Play ``opts.patch`` live until ``opts.seconds`` have passed, the MIDI file ended, or
    Ctrl-C; return the engine's final :class:`Stats`."""
    from .devices import resolve_device
    from .live import play
    from .midifile import apply_cc_maps, read_midi
    from .osc.access import parse_allow_list
    from .patch import LATENCY_MODES, load_patch
    from .session import Session

    if opts.osc_allow is not None:
        parse_allow_list(opts.osc_allow)        # a typo fails before anything opens
    patch = load_patch(opts.patch, sample_rate=opts.sample_rate, allow_any_path=opts.allow_any_path)
    if opts.latency is not None and opts.latency not in LATENCY_MODES:
        raise RtCoreError(f"latency must be one of {', '.join(LATENCY_MODES)} (got '{opts.latency}')")
    device = resolve_device(opts.device, opts.host_api)
    block = opts.block or patch.block
    events = None
    if opts.midi_file:
        evs, _ = read_midi(opts.midi_file, patch.sample_rate)
        events = apply_cc_maps(evs, patch.cc_maps)

    tune_interpreter_for_live()
    with ExitStack() as stack:
        eng = stack.enter_context(Engine(patch.sample_rate, max(block, 1024)))
        session = Session(eng, patch, live=True, latency=opts.latency)
        for w in eng.warnings:
            warn(w)
        stack.callback(session.close)
        if opts.quiet:                          # no screen to show the log on: stderr
            session.add_log_listener(lambda line: print(f"rtcore: {line}", file=sys.stderr))
        session.start()
        midi_surfaces = _open_surfaces(opts, session, stack, warn)
        if opts.watch:
            session.watch()
        learner = _Learner(session, opts.learn, warn) if opts.learn else None
        from .sync import make_clock
        clock = make_clock(session, patch.clock_source, patch.quantum)
        clock_started = [clock is None]
        recorder = None
        if opts.record is not None:
            from .record import Recorder
            recorder = Recorder(eng, opts.record, patch.name, log=session.log).start()
            session.recorder = recorder
            stack.callback(_finish_recording, recorder, warn)

        display = None
        if not opts.quiet:
            from .status import StatusDisplay
            display = stack.enter_context(StatusDisplay(session))

        reopeners = [s for s in midi_surfaces if getattr(s, "needs_reopen_with_audio", False)]

        def on_lost() -> None:
            session.stream_lost()
            for surface in reversed(reopeners):      # JACK MIDI ports went with the server
                surface.suspend()

        def on_back() -> None:
            session.stream_back()
            for surface in reopeners:        # the output first, the input last, as at the start
                surface.resume()

        supervisor = StreamSupervisor(eng, session.log, on_lost=on_lost, on_back=on_back)

        def on_tick(engine: Engine, frames: int) -> None:
            if not clock_started[0]:                 # the stream runs: the clock model has points
                clock_started[0] = True
                _start_clock(session, clock, stack)
            session.playing = bool(engine.stats().transport_playing)
            session.audio_status = supervisor.status
            if learner is not None:
                learner.tick()
            if display is not None:
                display.tick()

        stats = play(eng, events=events, seconds=opts.seconds, device=device, block=block,
                     quiet=False, on_tick=on_tick, supervisor=supervisor)   # the final report is printed either way
        from .status import inputs_line
        line = inputs_line(session.surface_counters())
        if line:
            print(line)                               # the surfaces' losses belong to the report too
        return stats


def _open_surfaces(opts: PerformOptions, session, stack: ExitStack, warn: Warn) -> list:
    """MIDI in, MIDI out and OSC, each registered for closing in reverse order; returns the MIDI
    surfaces opened."""
    opened: list = []
    if opts.midi:
        from .midi import MidiInput, MidiOutput, choose_api

        try:
            api = choose_api(opts.midi_api)
        except DeviceError as exc:
            if opts.midi_in is not None or opts.midi_out is not None or opts.midi_api not in (None, "auto"):
                raise
            warn(f"{exc}; playing without MIDI (--no-midi silences this)")
            api = None
        if api is not None:
            # the output first, the input last: nothing of the input may run while another rtmidi
            # JACK client opens (python-rtmidi holds the GIL through that server round trip)
            for cls, port in ((MidiOutput, opts.midi_out), (MidiInput, opts.midi_in)):
                surface = cls(session, port=port, api=api)
                try:
                    surface.open()
                except DeviceError:
                    if port is not None:
                        raise
                    warn(f"cannot open the virtual MIDI port of {cls.__name__}; playing without it")
                    continue
                stack.callback(surface.close)
                opened.append(surface)
                session.surfaces[cls.__name__] = f"{'MIDI in' if cls is MidiInput else 'MIDI out'} '{surface.name}'"
    if opts.osc:
        from .osc import OscServer
        from .osc.access import parse_allow_list

        allow = parse_allow_list(opts.osc_allow) if opts.osc_allow is not None else None
        server = OscServer(session, host=opts.osc_host, port=opts.osc_port, allow=allow)
        try:
            server.start()
        except RtCoreError as exc:
            if opts.osc_port != 9000 or opts.osc_host != "127.0.0.1" or allow is not None:
                raise
            warn(f"{exc}; playing without OSC")
            return opened
        stack.callback(server.close)
        host, port = server.address
        session.surfaces["OscServer"] = f"OSC udp://{host}:{port}"
        if server.access is not None:
            session.surfaces["OscServer"] += f" (only from {server.access})"
        elif server.open_to_network:            # the server logged it (status screen); stderr too
            session.surfaces["OscServer"] += " (OPEN TO THE NETWORK: see the warning)"
            if not opts.quiet:                  # --quiet: the session log already goes to stderr
                warn(server.network_warning())
    return opened


def _start_clock(session, clock, stack: ExitStack) -> None:
    """Follow the patch's external clock from now on. Link: join the session and ask it to play
    (every peer with start/stop sync starts too). MIDI clock: the transport waits for the
    clock's Start (or Continue) and its first ticks."""
    from .engine import Event
    from .sync import LinkClock

    session.clock_source = clock
    clock.start()
    stack.callback(clock.stop)
    session.surfaces["clock"] = f"clock: {clock.describe()}"
    if isinstance(clock, LinkClock):
        clock.play()
    else:
        session.send(Event.transport(False, 0.0, None))
        session.playing = False
        session.log("waiting for MIDI clock on the MIDI input (Start or Continue, then ticks)")


def _finish_recording(recorder, warn: Warn) -> None:
    """Stop the journal and write the take next to it (take.wav, take.mid)."""
    from .recover import recover

    recorder.stop()
    try:
        r = recover(recorder.folder)
    except RtCoreError as exc:
        warn(str(exc))
        return
    print(f"recorded {r.seconds:.1f} s: {r.wav}, {r.mid} ({r.input_notes} notes in, {r.ai_notes} AI notes"
          + (f", {r.gap_frames} frames lost" if r.gap_frames else "") + ")")


class _Learner:
    """``--learn node.param ...``: arms MIDI learn for each target in turn and writes the
    patch's sidecar file after each one is learned (the patch file itself is untouched)."""

    def __init__(self, session, targets: list[str], warn: Warn) -> None:
        self.session = session
        self.todo = list(targets)
        self.armed: str | None = None
        self.warn = warn
        for t in self.todo:                       # a typo fails before any sound
            if "." not in t:
                raise RtCoreError(f"--learn {t}: give node.param (e.g. keys.cutoff)")
            session.param_info(*t.split(".", 1))

    def tick(self) -> None:
        if self.armed is not None and self.session.learning is None:    # the knob moved
            try:
                self.session.learn_save()
            except RtCoreError as exc:
                self.warn(str(exc))
            self.armed = None
        if self.armed is None and self.todo:
            self.armed = self.todo.pop(0)
            self.session.learn(self.armed)
