"""A player's own music as training data: multi-track MIDI files (or any multi-part score) ->
the token rows the accompaniment model learns from (:mod:`rtcore.accompany.data` does the same
for the Bach chorales).

A song is a list of :class:`Track` (name + notes in quarter notes). One track is the **player's**
(the melody the model hears), the others the **accompaniment** it should answer with. Which is
which comes from options or is detected:

- ``melody``: a track index (0-based, among tracks that have notes) or a part of its name;
  default: the first track whose name says lead/melody/vocal/voice/soprano/right/solo/tune,
  else the track with the highest median pitch;
- ``accomp``: track indices or name parts; default: every other pitched track (drum tracks on
  MIDI channel 10 are never used).

The accompaniment is folded into the model's three voices (alto, tenor, bass) by register at
every 16th: the sounding accompaniment notes of the step, lowest to highest, give the bass
(lowest), the tenor and the alto (highest of the rest), so a single piano or guitar track of
chords works as well as three separate parts. A note starting on a step gives a pitch token,
its following steps HOLD, silence REST (as for the chorales). Notes are quantised to the 16th
grid; pitches outside the model's range are folded by octaves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RtCoreError
from .tokens import BEATS, HOLD, PITCH0, PITCH_HI, PITCH_LO, REST

MELODY_WORDS = ("lead", "melody", "vocal", "voice", "soprano", "right", "solo", "tune", "violin i", "violin 1")
MIDI_SUFFIXES = (".mid", ".midi", ".smf")
MAX_STEPS = 16 * 4 * 400          # 400 bars of 4/4: longer files are cut (a runaway tempo map)


class SongError(RtCoreError):
    """A MIDI file or folder that cannot be used for training (one line, naming the file)."""


@dataclass
class Note:
    start: float        # quarter notes from the song's start
    end: float          # quarter notes
    pitch: int          # MIDI 0-127


@dataclass
class Track:
    name: str
    notes: list[Note] = field(default_factory=list)
    drums: bool = False

    def median_pitch(self) -> float:
        return float(np.median([n.pitch for n in self.notes])) if self.notes else 0.0


@dataclass
class Song:
    """One song: its pitched tracks and the bar length in 16ths (from the first time signature)."""

    name: str
    tracks: list[Track]
    bar_steps: int = 16


@dataclass
class TokenSong:
    """A song as token rows: ``tokens`` int64 [T, 4] (melody, alto, tenor, bass), ``beats`` [T]."""

    id: str
    tokens: np.ndarray
    beats: np.ndarray
    melody_track: str = ""
    accomp_tracks: tuple[str, ...] = ()


# ---- reading --------------------------------------------------------------------------------

def read_midi_song(path: Path) -> Song:
    """A Standard MIDI File's note tracks (mido). Notes on MIDI channel 10 are drums."""
    import mido

    try:
        mid = mido.MidiFile(str(path))
    except Exception as exc:  # noqa: BLE001 - mido raises OSError, EOFError, ValueError, KeyError ...
        raise SongError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    tpq = mid.ticks_per_beat or 480
    bar_steps = 16
    tracks: list[Track] = []
    for i, trk in enumerate(mid.tracks):
        name, tick = "", 0
        on: dict[tuple[int, int], float] = {}
        by_channel: dict[bool, Track] = {}
        for msg in trk:
            tick += msg.time
            q = tick / tpq
            if msg.type == "track_name" and not name:
                name = str(msg.name).strip()
            elif msg.type == "time_signature" and tick == 0 and tracks == [] and not by_channel:
                bar_steps = max(1, min(BEATS, int(round(16 * msg.numerator / msg.denominator))))
            elif msg.type == "note_on" and msg.velocity > 0:
                on[(msg.channel, msg.note)] = q
            elif msg.type in ("note_off", "note_on"):
                start = on.pop((msg.channel, msg.note), None)
                if start is not None and q > start:
                    t = by_channel.setdefault(msg.channel == 9, Track("", drums=msg.channel == 9))
                    t.notes.append(Note(start, q, int(msg.note)))
        for drums, t in sorted(by_channel.items()):
            t.name = name or f"track {i + 1}"
            t.notes.sort(key=lambda n: (n.start, n.pitch))
            tracks.append(t)
    return Song(path.stem, [t for t in tracks if t.notes], bar_steps)


def score_song(score, name: str) -> Song:
    """A music21 score's parts as tracks (ties merged; chords keep all their notes)."""
    from music21 import chord

    tracks = []
    for i, part in enumerate(score.parts):
        t = Track(str(part.partName or part.id or f"part {i + 1}"))
        for el in part.stripTies().flatten().notes:
            ql = float(el.quarterLength)
            if ql <= 0:
                continue
            pitches = el.pitches if isinstance(el, chord.Chord) else (el.pitch,)
            for p in pitches:
                t.notes.append(Note(float(el.offset), float(el.offset) + ql, int(round(p.ps))))
        if t.notes:
            t.notes.sort(key=lambda n: (n.start, n.pitch))
            tracks.append(t)
    bar_steps = 16
    ts = score.recurse().getElementsByClass("TimeSignature")
    if ts:
        bar_steps = max(1, min(BEATS, int(round(4 * float(ts[0].barDuration.quarterLength)))))
    return Song(name, tracks, bar_steps)


def midi_files(folder: Path) -> list[Path]:
    """The MIDI files under ``folder`` (recursively), sorted; SongError if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SongError(f"{folder}: no such folder (--data names a folder of MIDI files)")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    if not files:
        raise SongError(f"{folder}: no MIDI files (*.mid, *.midi) in it")
    return files


# ---- choosing tracks ------------------------------------------------------------------------------

def _pick(tracks: list[Track], spec: str | int) -> int:
    if isinstance(spec, int) or str(spec).strip().isdigit():
        i = int(spec)
        if 0 <= i < len(tracks):
            return i
        raise SongError(f"no track {i} (tracks: {_listing(tracks)})")
    text = str(spec).strip().lower()
    hits = [i for i, t in enumerate(tracks) if text in t.name.lower()]
    if not hits:
        raise SongError(f"no track named like '{spec}' (tracks: {_listing(tracks)})")
    return hits[0]


def _listing(tracks: list[Track]) -> str:
    return "; ".join(f"{i} '{t.name}'" for i, t in enumerate(tracks)) or "none"


def choose_tracks(song: Song, melody: str | int | None = None,
                  accomp: list[str | int] | None = None) -> tuple[int, list[int]]:
    """(melody track index, accompaniment track indices) among ``song.tracks``."""
    pitched = [i for i, t in enumerate(song.tracks) if not t.drums]
    if len(pitched) < 2:
        raise SongError(f"{song.name}: needs a melody track and at least one accompaniment track "
                        f"(pitched tracks: {_listing([song.tracks[i] for i in pitched])})")
    if melody is not None:
        m = _pick(song.tracks, melody)
    else:
        named = [i for i in pitched if any(re.search(rf"\b{re.escape(w)}\b", song.tracks[i].name.lower())
                                           for w in MELODY_WORDS)]
        m = named[0] if named else max(pitched, key=lambda i: song.tracks[i].median_pitch())
    if accomp:
        acc = [_pick(song.tracks, a) for a in accomp]
        if m in acc:
            raise SongError(f"{song.name}: track {m} '{song.tracks[m].name}' is both the melody and accompaniment")
    else:
        acc = [i for i in pitched if i != m]
    return m, acc


# ---- tokens ---------------------------------------------------------------------------------------

def _fold(p: int) -> int:
    while p < PITCH_LO:
        p += 12
    while p > PITCH_HI:
        p -= 12
    return p


def _grid(notes: list[Note], n: int) -> list[tuple[int, int, int]]:
    """(start step, end step, pitch) per note on the 16th grid, shorter than a 16th dropped."""
    out = []
    for note in notes:
        s, e = int(round(note.start * 4)), min(int(round(note.end * 4)), n)
        if e > s and s < n:
            out.append((s, e, _fold(note.pitch)))
    return out


def melody_tokens(notes: list[Note], n: int) -> np.ndarray:
    """The player's line: at each step the highest note sounding (a new note: pitch, else HOLD)."""
    toks = np.full(n, REST, np.int64)
    top = np.full(n, -1, np.int64)
    start_of = np.full(n, -1, np.int64)
    for s, e, p in _grid(notes, n):
        seg = slice(s, e)
        better = p > top[seg]
        top[seg] = np.where(better, p, top[seg])
        start_of[seg] = np.where(better, s, start_of[seg])
    for t in range(n):
        if top[t] >= 0:
            new = start_of[t] == t or t == 0 or top[t - 1] != top[t] or start_of[t - 1] != start_of[t]
            toks[t] = PITCH0 + top[t] - PITCH_LO if new else HOLD
    return toks


def accomp_tokens(notes: list[Note], n: int) -> np.ndarray:
    """[n, 3] alto, tenor, bass: the sounding accompaniment notes per step, by register."""
    sounding: list[dict[int, int]] = [dict() for _ in range(n)]     # pitch -> start step
    for s, e, p in _grid(notes, n):
        for t in range(s, e):
            if sounding[t].get(p, -1) < s:
                sounding[t][p] = s
    out = np.full((n, 3), REST, np.int64)
    prev: list[int] = [-1, -1, -1]
    for t in range(n):
        ps = sorted(sounding[t])
        if not ps:
            prev = [-1, -1, -1]
            continue
        bass = ps[0]
        rest = ps[1:]
        alto = rest[-1] if rest else -1
        tenor = rest[-2] if len(rest) >= 2 else -1
        for v, p in enumerate((alto, tenor, bass)):
            if p < 0:
                continue
            new = sounding[t][p] == t or prev[v] != p
            out[t, v] = PITCH0 + p - PITCH_LO if new else HOLD
        prev = [alto, tenor, bass]
    return out


def song_tokens(song: Song, melody: str | int | None = None, accomp: list[str | int] | None = None) -> TokenSong:
    """The song as token rows (see the module docstring)."""
    m, acc = choose_tracks(song, melody, accomp)
    mel_notes = song.tracks[m].notes
    acc_notes = [n for i in acc for n in song.tracks[i].notes]
    end = max(n.end for n in mel_notes + acc_notes)
    n = min(int(round(end * 4)), MAX_STEPS)
    tokens = np.concatenate([melody_tokens(mel_notes, n)[:, None], accomp_tokens(acc_notes, n)], axis=1)
    beats = np.minimum(np.arange(n) % song.bar_steps, BEATS - 1).astype(np.int64)
    return TokenSong(song.name, tokens, beats, song.tracks[m].name, tuple(song.tracks[i].name for i in acc))


def load_folder(folder: Path, melody: str | int | None = None, accomp: list[str | int] | None = None,
                warn=print) -> list[TokenSong]:
    """Every usable song under ``folder``; a file that cannot be used is skipped with one line."""
    out = []
    for f in midi_files(folder):
        try:
            ts = song_tokens(read_midi_song(f), melody, accomp)
        except SongError as exc:
            msg = str(exc)
            warn(f"skipped {msg if msg.startswith(str(f)) else f'{f}: {msg}'}")
            continue
        ts.id = str(f.relative_to(folder))
        if (ts.tokens[:, 1:] != REST).any() and (ts.tokens[:, 0] != REST).any():
            out.append(ts)
        else:
            warn(f"skipped {f}: no melody or no accompaniment notes")
    if not out:
        raise SongError(f"{folder}: none of its {len(midi_files(folder))} MIDI files has a melody and an accompaniment")
    return out


def split_songs(songs: list[TokenSong], valid_fraction: float = 0.15, seed: int = 0) -> tuple[list, list]:
    """(train, held-out) by song, seeded; at least one song held out when there are two or more."""
    import random

    order = sorted(songs, key=lambda s: s.id)
    random.Random(seed).shuffle(order)
    k = max(1, int(round(len(order) * valid_fraction))) if len(order) >= 2 else 0
    return order[k:], order[:k]
