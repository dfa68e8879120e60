"""What rtcore does with each incoming MIDI message: one table that the session's dispatcher
(:meth:`rtcore.session.Session.midi`), the patch checks and the README's MIDI mapping section
all read, so the three cannot disagree.

MIDI numbers as on the wire: status bytes 0x80-0xFF, channels 1-16 (the low nibble + 1),
data bytes 0-127.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MidiMessage:
    """A channel message kind: ``status`` (high nibble, 0x80-0xE0), ``length`` in bytes with
    the status byte, ``handler`` the :class:`~rtcore.session.Session` method that plays it."""

    status: int
    name: str
    length: int
    handler: str
    effect: str


CHANNEL_MESSAGES: tuple[MidiMessage, ...] = (
    MidiMessage(0x90, "note on", 3, "_midi_note_on",
                "plays the note on every instrument whose `channel` matches (0 = all) and on the AI's "
                "ear; velocity 0 is a note off"),
    MidiMessage(0x80, "note off", 3, "_midi_note_off", "releases the note (the release velocity goes with it)"),
    MidiMessage(0xB0, "control change", 3, "_midi_cc",
                "moves every `[[midi.cc]]` map of that CC and channel (or is learned, when MIDI learn is "
                "armed); the instruments on the channel also get it (see the fixed controllers below)"),
    MidiMessage(0xE0, "pitch bend", 3, "_midi_bend",
                "bends the instruments on the channel by their `bend_range` (full deflection)"),
    MidiMessage(0xD0, "channel pressure", 2, "_midi_pressure",
                "aftertouch: drives `[[midi.cc]]` maps written with `cc = \"pressure\"`"),
    MidiMessage(0xC0, "program change", 2, "_midi_program",
                "recalls the `[[snapshot]]` whose `program` is this number (0-127); unknown programs are "
                "logged and ignored"),
    MidiMessage(0xA0, "poly pressure", 3, "_midi_ignore", "ignored (no built-in instrument uses it)"),
)
BY_STATUS: dict[int, MidiMessage] = {m.status: m for m in CHANNEL_MESSAGES}

#: system messages (status 0xF0-0xFF): none plays anything; the input drops them
SYSTEM_MESSAGES: tuple[tuple[str, str], ...] = (
    ("clock, start, continue, stop, song position", "followed when the patch says `[clock] source = \"midi\"` "
                                                     "(tempo, transport, position); else ignored"),
    ("SysEx, active sensing, MTC, tune request, reset", "ignored"),
)

#: controllers the built-in instruments answer by themselves (they also reach CC maps)
FIXED_CONTROLLERS: tuple[tuple[int, str, str], ...] = (
    (64, "sustain pedal", "≥ 64 holds released notes until the pedal goes up (synth, bass, sampler)"),
    (120, "all sound off", "every voice fades out at once; the AI forgets the notes it heard held"),
    (121, "reset all controllers", "pedal up, pitch bend centred (synth)"),
    (123, "all notes off", "every note is released"),
)

#: 120-127 are channel mode messages in the MIDI spec: never mapped, never learned
CHANNEL_MODE_CCS = range(120, 128)

#: the pseudo controller number of channel pressure in a CC map (``cc = "pressure"``)
PRESSURE_CC = 128
CC_NAMES = {"pressure": PRESSURE_CC}


def cc_label(cc: int) -> str:
    """``"CC 74"``, or ``"pressure"`` for :data:`PRESSURE_CC`."""
    return "pressure" if cc == PRESSURE_CC else f"CC {cc}"


def describe(msg: bytes) -> str:
    """A short human text for a channel message, e.g. ``"ch1 note on 60 100"``."""
    kind = BY_STATUS.get(msg[0] & 0xF0)
    name = kind.name if kind else f"status {msg[0]:#04x}"
    return f"ch{(msg[0] & 0x0F) + 1} {name} {' '.join(str(b) for b in msg[1:])}".rstrip()
