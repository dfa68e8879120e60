"""Writes the shipped demo MIDI files (patches/melody.mid and patches/band_demo.mid).

An original 8-bar tune in A minor at 96 BPM: Am - F - C - G, twice.
  melody.mid      the tune alone on channel 1 (for keys.toml, and for the AI to harmonize)
  band_demo.mid   channel 1 lead, 2 pad chords (+ a CC74 filter sweep), 3 bass, 10 drums
Run: python tools/make_demo_midi.py   (the files are committed; this documents how they were made)
"""
from __future__ import annotations

from pathlib import Path

import mido

TPB = 480                     # ticks per beat
BPM = 96
OUT = Path(__file__).resolve().parent.parent / "patches"

# (start beat, length in beats, MIDI note)
MELODY = [
    (0, 1.5, 69), (1.5, 0.5, 72), (2, 1, 76), (3, 1, 74),          # Am
    (4, 1, 77), (5, 1, 76), (6, 1, 74), (7, 1, 72),                  # F
    (8, 1.5, 76), (9.5, 0.5, 67), (10, 2, 72),                       # C
    (12, 1, 74), (13, 1, 71), (14, 2, 67),                           # G
    (16, 1, 69), (17, 1, 72), (18, 1, 76), (19, 1, 81),              # Am
    (20, 1, 79), (21, 1, 77), (22, 1, 76), (23, 1, 74),              # F
    (24, 1, 76), (25, 1, 72), (26, 1, 74), (27, 1, 71),              # C
    (28, 1, 72), (29, 1, 71), (30, 2, 69),                           # G -> home
]
CHORDS = [(57, 60, 64), (53, 57, 60), (55, 60, 64), (55, 59, 62)] * 2   # Am F C G (voiced close)
ROOTS = [45, 41, 48, 43] * 2                                            # A1.. bass roots


def _track(name: str) -> mido.MidiTrack:
    t = mido.MidiTrack()
    t.append(mido.MetaMessage("track_name", name=name, time=0))
    return t


def _note_messages(notes: list[tuple[float, float, int, int, int]]) -> list[tuple[int, int, mido.Message]]:
    """notes: (start beat, length beats, note, velocity, channel 0-15) -> (tick, order, message)."""
    msgs = []
    for start, length, note, vel, ch in notes:
        on, off = round(start * TPB), round((start + length) * TPB)
        msgs.append((on, 1, mido.Message("note_on", note=note, velocity=vel, channel=ch)))
        msgs.append((off, 0, mido.Message("note_off", note=note, velocity=0, channel=ch)))
    return msgs


def _notes_to_track(track: mido.MidiTrack, notes: list[tuple[float, float, int, int, int]]) -> None:
    """Append the notes to the track as delta-timed messages."""
    _append_sorted(track, _note_messages(notes))


def _append_sorted(track: mido.MidiTrack, msgs: list[tuple[int, int, mido.Message]]) -> None:
    now = 0
    for tick, _, msg in sorted(msgs, key=lambda m: (m[0], m[1])):   # note-offs before note-ons at a tick
        track.append(msg.copy(time=tick - now))
        now = tick


def melody_notes(channel: int = 0) -> list[tuple[float, float, int, int, int]]:
    return [(s, l * 0.95, n, 96 if s % 4 == 0 else 84, channel) for s, l, n in MELODY]


def tempo_track() -> mido.MidiTrack:
    t = _track("tempo")
    t.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    t.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    return t


def write_melody(path: Path) -> None:
    mid = mido.MidiFile(ticks_per_beat=TPB, type=1)
    mid.tracks.append(tempo_track())
    lead = _track("melody")
    _notes_to_track(lead, melody_notes(0))
    mid.tracks.append(lead)
    mid.save(str(path))


def write_band(path: Path) -> None:
    mid = mido.MidiFile(ticks_per_beat=TPB, type=1)
    mid.tracks.append(tempo_track())
    lead = _track("lead")
    _notes_to_track(lead, melody_notes(0))
    mid.tracks.append(lead)

    pad = _track("pad")
    msgs = _note_messages([(bar * 4, 4.0, n, 70, 1) for bar, chord in enumerate(CHORDS) for n in chord])
    # second half: open the pad's filter with CC74 (mapped in band.toml), one step per 16th
    for step in range(64):
        value = 20 + round(100 * step / 63)
        msgs.append((round((16 + step / 4) * TPB), 2, mido.Message("control_change", control=74, value=value, channel=1)))
    _append_sorted(pad, msgs)
    mid.tracks.append(pad)

    bass = _track("bass")
    bnotes = []
    for bar, root in enumerate(ROOTS):
        b = bar * 4
        bnotes += [(b, 0.9, root, 110, 2), (b + 1.5, 0.4, root, 90, 2), (b + 2, 0.9, root, 105, 2),
                   (b + 3, 0.45, root + 7, 90, 2), (b + 3.5, 0.45, root + 12, 95, 2)]
    _notes_to_track(bass, bnotes)
    mid.tracks.append(bass)

    drums = _track("drums")
    d = []
    for bar in range(8):
        b = bar * 4
        d += [(b, 0.1, 36, 120, 9), (b + 2, 0.1, 36, 110, 9), (b + 1, 0.1, 38, 110, 9), (b + 3, 0.1, 38, 115, 9)]
        if bar % 2 == 1:
            d.append((b + 2.5, 0.1, 36, 90, 9))
        for e in range(8):
            if bar % 2 == 1 and e == 7:
                d.append((b + 3.5, 0.4, 46, 90, 9))               # open hat into the next bar
            else:
                d.append((b + e / 2, 0.1, 42, 100 if e % 2 == 0 else 70, 9))
        if bar == 7:
            d.append((b + 3, 0.1, 39, 110, 9))                    # clap on the last backbeat
    _notes_to_track(drums, d)
    mid.tracks.append(drums)
    mid.save(str(path))


if __name__ == "__main__":
    write_melody(OUT / "melody.mid")
    write_band(OUT / "band_demo.mid")
    print(f"wrote {OUT / 'melody.mid'} and {OUT / 'band_demo.mid'}")
