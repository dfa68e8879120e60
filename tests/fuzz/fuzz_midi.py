"""Fuzz MIDI message handling: ``Session.midi`` with arbitrary byte strings, and the live
input's ``MidiInput._handle`` with arbitrary (message, delta) pairs, on an offline Engine.

The first byte of an input picks the path and the session's state:

* bit 0 clear: ``Session.midi(rest)`` -- the rest is one message, any bytes. Allowed outcomes:
  handled, or a one-line RtCoreError.
* bit 0 set: ``MidiInput._handle`` for a sequence of pairs decoded from the rest (a length
  byte, that many message bytes, a delta: a float64 or one of 0, tiny, negative, NaN, inf ...),
  as python-rtmidi hands them over. ``_handle`` must raise nothing, count every message, and log
  no internal error and no line break.
* bit 1: MIDI learn is armed first (the next CC makes a map); bit 2: the session's latency is
  "fixed" (times come from a fake clock; JACK cycle rounding with bit 3).

The patch has instruments on several channels, CC maps (one with soft takeover off, one on
channel pressure) and snapshots with glides (program changes recall them).

    python tests/fuzz/fuzz_midi.py --runs 100000       # or -atheris_runs=1000000
"""
from __future__ import annotations

import struct
import sys
import tempfile
from pathlib import Path

from _harness import Finding, Fuzzer, OneInput, check_one_line

PATCH = """
[[node]]
name = "keys"
type = "synth"
channel = 1

[[node]]
name = "bass"
type = "bass"
channel = 2

[[node]]
name = "beat"
type = "drums"
channel = 10

[[node]]
name = "room"
type = "reverb"

[[connect]]
from = "keys"
to = "room"

[[midi.cc]]
cc = 74
to = "keys.cutoff"
curve = "exp"
min = 200
max = 8000

[[midi.cc]]
cc = 1
channel = 2
to = "bass.cutoff"
takeover = false

[[midi.cc]]
cc = "pressure"
to = "room.mix"
curve = "log"

[[midi.cc]]
cc = 20
to = "keys.wave"

[[snapshot]]
name = "dark"
program = 3
glide = 0.2
keys = { cutoff = 500, wave = "square" }

[[snapshot]]
name = "wide"
program = 0
room = { mix = 0.5 }
"""
SPECIAL_DELTAS = (0.0, 1e-6, 0.000128, 0.5, -0.001, -1e300, 1e300, float("nan"), float("inf"), float("-inf"), 5e-324)


class FrameClock:
    """A stand-in for the live clock: engine frame = CLOCK_MONOTONIC ns at 48 kHz from an origin."""

    def __init__(self, origin_ns: int) -> None:
        self.origin_ns = origin_ns

    def frame_at(self, ns: int) -> int:
        return (ns - self.origin_ns) * 48000 // 1_000_000_000

    def now(self) -> int:
        from rtcore._native import lib
        return self.frame_at(lib.rt_monotonic_ns())


def pairs(data: bytes) -> list[tuple[list[int], float]]:
    """(message, delta) pairs from bytes: length byte, message bytes, delta selector (+ float64)."""
    out, i = [], 0
    while i < len(data) and len(out) < 64:
        n = data[i] % 8
        msg = list(data[i + 1:i + 1 + n])
        i += 1 + n
        sel = data[i] if i < len(data) else 0
        i += 1
        if sel < 0x80:
            delta = SPECIAL_DELTAS[sel % len(SPECIAL_DELTAS)]
        else:
            raw = data[i:i + 8].ljust(8, b"\x00")
            i += 8
            delta = struct.unpack("<d", raw)[0]
        out.append((msg, delta))
    return out


def make_target() -> OneInput:
    from rtcore._native import lib
    from rtcore.clock import ClockModel
    from rtcore.engine import Engine
    from rtcore.midi import MidiInput
    from rtcore.midi_time import MidiTimestamper
    from rtcore.patch import load_patch
    from rtcore.session import Session

    folder = Path(tempfile.mkdtemp(prefix="rtcore-fuzz-midi-files-"))
    (folder / "p.toml").write_text(PATCH)
    engine = Engine(48000, 1024)
    session = Session(engine, load_patch(folder / "p.toml"), live=False)
    maps = list(session.patch.cc_maps)
    log: list[str] = []
    session.add_log_listener(log.append)
    midi_in = MidiInput(session)
    midi_in.name = "fuzz"
    real_clock = session.clock
    fake_clock = FrameClock(lib.rt_monotonic_ns())

    def one_input(data: bytes) -> None:
        if not data:
            return
        mode, rest = data[0], data[1:]
        log.clear()
        session.patch.cc_maps = list(maps)      # forget maps learned by the previous input
        session.learn_cancel()
        if mode & 2:
            session.learn("room.decay" if mode & 16 else "keys.resonance")
        fixed = bool(mode & 4)
        session.latency = "fixed" if fixed else "lowest"
        session.live = fixed                  # "fixed" times need a clock: the fake one
        session.clock = fake_clock if fixed else real_clock
        try:
            if mode & 1 == 0:
                session.midi(rest, lib.rt_monotonic_ns() if fixed else None, cycle_start=bool(mode & 8))
            else:
                handle_pairs(midi_in, rest, jack=bool(mode & 8), stamper=MidiTimestamper())
            for line in log:
                check_one_line(line, "log line")
                if "internal error:" in line:     # MidiInput's catch-all: a bug, not bad input
                    raise Finding("internal error: " + line.split("internal error:", 1)[1].split(":")[0].strip(), line)
        finally:
            session.live, session.clock = False, real_clock
            engine.render(512, block=256)        # drain the events

    return one_input


def handle_pairs(midi_in, data: bytes, jack: bool, stamper) -> None:
    midi_in._jack = jack
    midi_in._stamper = stamper
    for msg, delta in pairs(data):
        before = dict(midi_in.counters)
        midi_in._handle(msg, delta)
        after = midi_in.counters
        if after["received"] != before["received"] + 1:
            raise Finding("message not counted as received", repr((msg, delta)))
        outcome = sum(after[k] - before[k] for k in ("handled", "errors", "system"))
        if outcome != 1:
            raise Finding("message without exactly one outcome", repr((msg, delta)))


def seeds(corpus: Path) -> None:
    messages = [b"\x90\x3c\x64", b"\x80\x3c\x40", b"\x90\x3c\x00", b"\xb0\x4a\x40", b"\xb1\x01\x7f", b"\xb0\x40\x7f",
                b"\xb0\x7b\x00", b"\xb0\x78\x00", b"\xe0\x00\x40", b"\xe1\x7f\x7f", b"\xd0\x50", b"\xc0\x03", b"\xc0\x07",
                b"\xa0\x3c\x40", b"\xf8", b"\xf0\x7e\x7f\x09\x01\xf7", b"\xb0\x14\x7f", b"\x99\x24\x7f"]
    for i, m in enumerate(messages):
        for mode in (0, 2, 4):
            (corpus / f"seed-msg-{i:02d}-{mode}").write_bytes(bytes([mode]) + m)
    stream = b"".join(bytes([len(m)]) + m + bytes([1]) for m in messages)
    for mode in (1, 3, 9):
        (corpus / f"seed-pairs-{mode}").write_bytes(bytes([mode]) + stream)


FUZZER = Fuzzer("midi", make_target, seeds, instrument=("rtcore",), max_len=512)

if __name__ == "__main__":
    sys.exit(FUZZER.main())
