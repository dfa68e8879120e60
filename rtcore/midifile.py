"""Standard MIDI files in (mido) -> engine events with times in frames."""
from __future__ import annotations

from pathlib import Path

from .engine import Event
from .errors import MediaFileError
from .patch import CCMap
from .paths import is_file


MAX_SECONDS = 24 * 3600.0      # no piece lasts a day: an event later than this means damaged delta times


def read_midi(path: str | Path, sample_rate: float) -> tuple[list[Event], int]:
    """Read a MIDI file. Returns (events with ``time`` in frames from the start, frame of the
    last event). Tempo changes are honoured. MIDI channels 0-15 become rtcore channels 1-16.

    Raises :class:`MediaFileError` (one line naming the file) if it is not a MIDI file, uses
    SMPTE timing, or has an event later than :data:`MAX_SECONDS`."""
    import mido

    path = Path(path)
    if not is_file(path):
        raise MediaFileError(f"{path}: no such MIDI file")
    try:
        mid = mido.MidiFile(str(path))
        if mid.ticks_per_beat <= 0:     # mido reads an SMPTE division (negative) as ticks per beat
            raise MediaFileError(f"{path}: time division {mid.ticks_per_beat}: SMPTE frame-based timing (or 0) "
                                 f"is not supported (save the file with ticks per beat)")
        messages = list(mid)            # merged tracks, delta times in seconds (tempo map applied)
    except MediaFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - mido raises OSError, EOFError, ValueError, KeyError ...
        raise MediaFileError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    events: list[Event] = []
    t = 0.0
    last = 0
    for msg in messages:
        t += msg.time
        if t > MAX_SECONDS:          # mido reads delta times of any length (the standard allows 4 bytes)
            raise MediaFileError(f"{path}: an event at {t:.0f} s, later than {MAX_SECONDS:.0f} s: the file's "
                                 f"delta times are damaged")
        frame = int(round(t * sample_rate))
        ev = midi_message_event(msg, frame)
        if ev is not None:
            events.append(ev)
            last = frame
    return events, last


def midi_message_event(msg, frame: int | None) -> Event | None:
    """One mido message -> an engine Event (None for messages the engine does not take)."""
    kind = msg.type
    if not hasattr(msg, "channel"):
        return None
    ch = msg.channel + 1
    if kind == "note_on":
        if msg.velocity == 0:
            return Event.note_off(msg.note, ch, frame)
        return Event.note_on(msg.note, msg.velocity, ch, frame)
    if kind == "note_off":
        return Event.note_off(msg.note, ch, frame, velocity=msg.velocity)
    if kind == "control_change":
        return Event.cc(msg.control, msg.value, ch, frame)
    if kind == "pitchwheel":
        return Event.pitch_bend(max(-1.0, msg.pitch / 8192.0), ch, frame)
    if kind == "aftertouch":
        from ._native import lib
        return Event(lib.RT_EV_CHANNEL_PRESSURE, frame, ch, value=msg.value / 127.0)
    return None


def apply_cc_maps(events: list[Event], maps: list[CCMap]) -> list[Event]:
    """Add a parameter change after every CC event that a patch's [[midi.cc]] maps; the CC
    itself stays (instruments still see sustain etc.)."""
    if not maps:
        return list(events)
    from ._native import lib

    out: list[Event] = []
    for ev in events:
        out.append(ev)
        if ev.type != lib.RT_EV_CC:
            continue
        for m in maps:
            if m.cc == ev.data1 and (m.channel == 0 or m.channel == ev.channel):
                out.append(Event.param_set(m.node, m.param, m.value(ev.data2), ev.time))
    return out


NoteRecord = tuple[int, bool, int, int, int]
"""(frame, is_note_on, channel 1-16, note, velocity)"""


def write_midi(path: str | Path, tracks: dict[str, list[NoteRecord]], sample_rate: float,
               tempo: float) -> None:
    """Write a type-1 MIDI file: one track per entry of ``tracks`` (name -> note records with
    times in frames from the start), at ``tempo`` BPM (frames -> ticks at 480 per beat)."""
    import mido

    tpb = 480
    mid = mido.MidiFile(ticks_per_beat=tpb, type=1)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    mid.tracks.append(meta)
    for name, notes in tracks.items():
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=name, time=0))
        now = 0
        for frame, on, ch, note, vel in sorted(notes, key=lambda r: (r[0], r[1])):   # offs first
            tick = int(round(frame / sample_rate * tempo / 60.0 * tpb))
            kind = "note_on" if on else "note_off"
            tr.append(mido.Message(kind, note=int(note), velocity=int(vel) if on else 0,
                                   channel=max(0, min(15, int(ch) - 1)), time=max(0, tick - now)))
            now = max(now, tick)
        mid.tracks.append(tr)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))


def melody_records(events: list[Event]) -> list[NoteRecord]:
    """The note events of a MIDI file as note records (for --midi-out and --plot)."""
    from ._native import lib

    out: list[NoteRecord] = []
    for e in events:
        if e.type == lib.RT_EV_NOTE_ON and e.data2 > 0:
            out.append((int(e.time or 0), True, e.channel or 1, e.data1, e.data2))
        elif e.type in (lib.RT_EV_NOTE_OFF, lib.RT_EV_NOTE_ON):
            out.append((int(e.time or 0), False, e.channel or 1, e.data1, 0))
    return out
