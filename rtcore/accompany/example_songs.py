"""A small band's songs, generated: multi-track MIDI files to try `rtcore train --data` with (and
what the tests and benchmarks/bench_personal.py tune on). Nothing like Bach on purpose: a pop
band in 4/4 -- a "Lead" melody over a four-chord loop, a "Bass" track on the root in 8ths, and a
"Keys" track that plays the chord on the offbeats (skank) -- so a model that learned it plays
audibly differently from the chorale model.

    python -m rtcore.accompany.example_songs DIR [--songs 24] [--seed 0]
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

TPQ = 480
PROGRESSIONS = ([0, 5, 7, 9], [0, 7, 9, 5], [9, 5, 0, 7], [0, 9, 5, 7], [5, 7, 0, 0], [0, 4, 5, 7])
MAJOR = [0, 2, 4, 5, 7, 9, 11]


def _chord(root_pc: int) -> list[int]:
    """Triad pitch classes on a degree of C major (minor on E and A, as the scale gives)."""
    minor = root_pc in (2, 4, 9)
    return [root_pc, (root_pc + (3 if minor else 4)) % 12, (root_pc + 7) % 12]


def song_notes(seed: int, bars: int = 16) -> dict[str, list[tuple[int, int, int]]]:
    """{track name: [(start tick, end tick, MIDI note)]} for one song."""
    rng = random.Random(seed)
    key = rng.choice([0, 2, 5, 7, -3])                 # transposition of the whole song
    prog = rng.choice(PROGRESSIONS)
    lead, bass, keys = [], [], []
    pitch = 72
    for bar in range(bars):
        root = prog[bar % 4]
        chord = _chord(root)
        t0 = bar * 4 * TPQ
        for eighth in range(8):                      # bass: root in 8ths, octave jump on the "and" of 4
            s = t0 + eighth * TPQ // 2
            note = 36 + (root + key) % 12 + (12 if eighth == 7 else 0)
            bass.append((s, s + TPQ // 2 - 30, note))
        for beat in range(4):                        # keys: the chord on every offbeat, short
            s = t0 + beat * TPQ + TPQ // 2
            for pc in chord:
                keys.append((s, s + TPQ // 4, 60 + (pc + key) % 12))
        t = 0
        while t < 4 * TPQ:                           # lead: chord tones on strong beats, steps between
            dur = rng.choice([TPQ // 2, TPQ // 2, TPQ, TPQ, 2 * TPQ]) if t % TPQ == 0 else TPQ // 2
            dur = min(dur, 4 * TPQ - t)
            if rng.random() < 0.12:
                t += dur                             # a breath
                continue
            pcs = chord if t % TPQ == 0 else MAJOR
            options = [p for p in range(64, 84) if p % 12 in pcs]
            pitch = min(options, key=lambda p: (abs(p - pitch - rng.choice([-2, -1, 1, 2])), p))
            lead.append((t0 + t, t0 + t + dur - 20, pitch + key))
            t += dur
    return {"Lead": lead, "Bass": bass, "Keys": keys}


def write_song(path: Path, tracks: dict[str, list[tuple[int, int, int]]], tempo_bpm: float = 100.0) -> None:
    """A type-1 MIDI file: a conductor track, then one track per part (channels 1, 2, 3...)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0),
                                mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)])
    mid.tracks.append(conductor)
    for ch, (name, notes) in enumerate(tracks.items()):
        evs = []
        for s, e, n in notes:
            evs.append((s, 1, n))
            evs.append((e, 0, n))
        evs.sort()
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        now = 0
        for tick, on, n in evs:
            track.append(mido.Message("note_on" if on else "note_off", channel=ch, note=n,
                                      velocity=90 if on else 0, time=tick - now))
            now = tick
        mid.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))


def write_example_songs(folder: str | Path, songs: int = 24, seed: int = 0, bars: int = 16) -> list[Path]:
    """Write ``songs`` songs (song01.mid ...) into ``folder``; their paths."""
    folder = Path(folder)
    out = []
    for i in range(songs):
        p = folder / f"song{i + 1:02d}.mid"
        write_song(p, song_notes(seed * 1000 + i, bars), tempo_bpm=90 + (i * 7) % 40)
        out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--songs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bars", type=int, default=16)
    a = ap.parse_args(argv)
    paths = write_example_songs(a.folder, a.songs, a.seed, a.bars)
    print(f"wrote {len(paths)} songs to {a.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
