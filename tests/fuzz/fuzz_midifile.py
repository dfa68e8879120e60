"""Fuzz MIDI file loading, ``rtcore.midifile.read_midi`` (mido), from arbitrary bytes written
to a temporary file.

Seeds: the shipped ``patches/*.mid`` and small files written here with mido (format 0, 1 and 2,
tempo and time-signature changes, running status, SysEx, pitch bend, aftertouch, meta events,
SMPTE division). What a successful read promises (checked): engine events with whole-frame times
from 0 upwards, in order, that fit the engine's 64-bit frame counter, and a ``last`` frame that is
the time of the last event; every event goes through the engine's event encoding
(``Engine.send``) without error. Any failure must be a one-line MediaFileError naming the file.

    python tests/fuzz/fuzz_midifile.py --runs 100000   # or -atheris_runs=1000000
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _harness import ROOT, Finding, Fuzzer, OneInput

FRAME_LIMIT = 2**63


def make_target() -> OneInput:
    from rtcore.engine import Engine
    from rtcore.midifile import read_midi

    path = Path(tempfile.mkdtemp(prefix="rtcore-fuzz-midifile-")) / "in.mid"
    engine = Engine(48000, 1024)

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        events, last = read_midi(path, 48000)
        prev = 0
        for ev in events:
            if not isinstance(ev.time, int) or not prev <= ev.time < FRAME_LIMIT:
                raise Finding("event time not a whole frame in order from 0", f"{ev.time!r} after {prev}")
            prev = ev.time
        if not isinstance(last, int) or last != (events[-1].time if events else 0):
            raise Finding("last frame is not the last event's time", repr(last))
        if events:
            engine.send(events[:256])        # times far ahead wait in the engine's queue or are counted
            engine.render(256, block=256)

    return one_input


def seeds(corpus: Path) -> None:
    import mido

    for f in sorted((ROOT / "patches").glob("*.mid")):
        (corpus / f"seed-{f.stem}.mid").write_bytes(f.read_bytes())

    def save(name: str, mid: mido.MidiFile) -> None:
        mid.save(str(corpus / f"seed-{name}.mid"))

    m = mido.MidiFile(type=0, ticks_per_beat=96)
    t = mido.MidiTrack()
    t += [mido.MetaMessage("set_tempo", tempo=400000), mido.MetaMessage("time_signature", numerator=3, denominator=4),
          mido.Message("program_change", program=3), mido.Message("note_on", note=60, velocity=90, time=10),
          mido.Message("control_change", control=74, value=10, time=5), mido.Message("pitchwheel", pitch=-8192),
          mido.Message("aftertouch", value=64, time=3), mido.Message("polytouch", note=60, value=3),
          mido.Message("note_on", note=60, velocity=0, time=96), mido.Message("sysex", data=[1, 2, 3]),
          mido.MetaMessage("set_tempo", tempo=1, time=1), mido.Message("note_off", note=61, velocity=5, time=2**20)]
    m.tracks.append(t)
    save("type0", m)
    m1 = mido.MidiFile(type=1, ticks_per_beat=480)
    for ch in range(3):
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=f"t{ch}")])
        tr += [mido.Message("note_on", channel=ch, note=48 + ch, velocity=100, time=240 * ch),
               mido.Message("note_off", channel=ch, note=48 + ch, time=480)]
        m1.tracks.append(tr)
    save("type1", m1)
    m2 = mido.MidiFile(type=2, ticks_per_beat=1)
    m2.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=16777215),
                                     mido.Message("note_on", note=1, time=0x0FFFFFFF)]))
    m2.tracks.append(mido.MidiTrack([mido.Message("note_on", note=2, channel=15, time=1)]))
    save("type2", m2)


TOKENS = (b"MThd", b"MTrk", b"\x00\x00\x00\x06", b"\x00\x01", b"\x01\xe0", b"\xe7\x28", b"\xff\x51\x03",
          b"\xff\x58\x04", b"\xff\x2f\x00", b"\xff\x03", b"\xf0", b"\xf7", b"\x90\x3c\x64", b"\x80\x3c\x00",
          b"\xb0\x40\x7f", b"\xe0\x00\x40", b"\x8f\xff\xff\x7f", b"\xff\xff\xff\x7f")

FUZZER = Fuzzer("midifile", make_target, seeds, instrument=("rtcore", "mido"), max_len=8192, dictionary=TOKENS)

if __name__ == "__main__":
    sys.exit(FUZZER.main())
