"""Bach chorales as token streams (music21's offline corpus).

Per chorale, one row per 16th note (one step) with four tokens (soprano, alto, tenor, bass) and
the step's position in its bar. Tokens follow :mod:`rtcore.accompany.tokens`:

- a pitch token on the first step of a note (tied notes are merged into one note first),
- ``HOLD`` on the note's following steps,
- ``REST`` on every step of a rest (and where a part has nothing).

The beat is the 16th index inside the bar, from music21's measures: a pickup bar starts at its
``paddingLeft`` (so a one-beat 4/4 pickup starts at 12), 3/4 bars run 0..11, and longer bars
(3/2, 12/8) are clamped to ``BEATS - 1``.

Only four-part chorales are kept: parts whose ids are exactly Soprano, Alto, Tenor and Bass
(instrumental doublings in other parts are ignored; 5-voice and unnamed-part files are dropped).
The soprano is what the player plays; alto, tenor and bass are what the AI answers.

Parsing the corpus takes ~30 s, so the result is built once (with a progress bar) and cached as
``chorales-v{CACHE_VERSION}.npz`` in ``$RTCORE_CACHE`` (default ``~/.cache/rtcore``); it is rebuilt
when missing, unreadable or of another version. Transposition (all 12 keys for training) is done
on load, in numpy. The train/valid/test split is by chorale, fixed in ``split.json`` next to this
file (see :func:`make_split`); test chorales never reach training (:func:`split_arrays` asserts it).
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .tokens import BEATS, HOLD, PITCH0, PITCH_HI, PITCH_LO, REST

CACHE_VERSION = 1
PART_IDS = ("Soprano", "Alto", "Tenor", "Bass")
SPLIT_FILE = Path(__file__).with_name("split.json")
SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
SHIFTS = tuple(range(-5, 7))        # transpositions used for training: -5..+6 semitones


@dataclass
class Chorale:
    """One chorale: ``tokens`` int64 [T, 4] (S, A, T, B) and ``beats`` int64 [T]."""

    id: str
    tokens: np.ndarray
    beats: np.ndarray

    @property
    def melody(self) -> np.ndarray:
        return self.tokens[:, 0]

    @property
    def ai(self) -> np.ndarray:
        """Alto, tenor, bass tokens [T, 3]."""
        return self.tokens[:, 1:]


# ---- parsing ---------------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("RTCORE_CACHE") or Path.home() / ".cache" / "rtcore")


def cache_path() -> Path:
    return cache_dir() / f"chorales-v{CACHE_VERSION}.npz"


def corpus_ids() -> list[str]:
    """Corpus paths of the chorales music21 ships (e.g. 'bach/bwv269'), each once.

    ``corpus.chorales.Iterator()`` numbers by Riemenschneider (371 entries, but only 350 files:
    several numbers share a file); its 'bwv' numbering lists 353 files, a superset. Both are
    merged, first occurrence kept.
    """
    from music21 import corpus

    seen: dict[str, None] = {}
    for system in ("riemenschneider", "bwv"):
        for x in corpus.chorales.Iterator(numberingSystem=system, returnType="filename"):
            seen.setdefault(str(x), None)
    return list(seen)


def satb_parts(score) -> list | None:
    """The Soprano, Alto, Tenor and Bass parts of a music21 score, or None if not all four exist."""
    by_id = {str(p.id): p for p in score.parts}
    if not all(i in by_id for i in PART_IDS):
        return None
    return [by_id[i] for i in PART_IDS]


def _voice_tokens(part, n_steps: int, lowest: bool) -> np.ndarray:
    """Token stream of one part: pitch at a note's first 16th, HOLD after, REST for rests."""
    from music21 import chord

    toks = np.full(n_steps, REST, dtype=np.int64)
    for el in part.stripTies().flatten().notesAndRests:
        ql = float(el.quarterLength)
        if ql <= 0:                      # grace notes take no time
            continue
        start = int(round(float(el.offset) * 4))
        end = min(int(round((float(el.offset) + ql) * 4)), n_steps)
        if end <= start or start >= n_steps:
            continue                     # shorter than a 16th and swallowed by its neighbour
        if el.isRest:
            toks[start:end] = REST
            continue
        pitches = el.pitches if isinstance(el, chord.Chord) else (el.pitch,)
        midi = [int(round(p.ps)) for p in pitches]
        m = min(midi) if lowest else max(midi)
        if not PITCH_LO <= m <= PITCH_HI:
            raise ValueError(f"note {m} outside {PITCH_LO}..{PITCH_HI}")
        toks[start] = PITCH0 + m - PITCH_LO
        toks[start + 1:end] = HOLD
    return toks


def _beats(part, n_steps: int) -> np.ndarray:
    """16th index inside the bar for every step, from the part's measures (pickups included)."""
    beats = np.arange(n_steps, dtype=np.int64) % BEATS
    measures = list(part.getElementsByClass("Measure"))
    for i, m in enumerate(measures):
        start = float(m.offset)
        dur = float(m.duration.quarterLength)
        pad = float(m.paddingLeft or 0.0)
        if i == 0 and pad == 0.0:
            bar = float(m.barDuration.quarterLength)
            if 0 < dur < bar:
                pad = bar - dur          # an unmarked pickup
        s0 = int(round(start * 4))
        s1 = min(int(round((start + dur) * 4)), n_steps)
        for s in range(s0, s1):
            beats[s] = int(round((s / 4 - start + pad) * 4))
    return np.minimum(beats, BEATS - 1)


def parse_chorale(score_or_id, cid: str | None = None) -> Chorale | None:
    """Tokenize one chorale (a music21 score or a corpus path). None if it is not SATB."""
    from music21 import corpus

    score = corpus.parse(score_or_id) if isinstance(score_or_id, str) else score_or_id
    cid = cid or (score_or_id if isinstance(score_or_id, str) else str(score.metadata.title))
    parts = satb_parts(score)
    if parts is None:
        return None
    n_steps = int(round(max(float(p.highestTime) for p in parts) * 4))
    voices = [_voice_tokens(p, n_steps, lowest=(i == 3)) for i, p in enumerate(parts)]
    return Chorale(cid, np.stack(voices, axis=1), _beats(parts[0], n_steps))


def build(progress: bool = True) -> list[Chorale]:
    """Parse every SATB chorale of the corpus (~30 s)."""
    from tqdm import tqdm

    out = []
    for cid in tqdm(corpus_ids(), desc="parsing chorales", unit="chorale", disable=not progress):
        try:
            c = parse_chorale(cid, cid)
        except ValueError:
            c = None
        if c is not None and len(c.tokens):
            out.append(c)
    return out


def save_cache(chorales: list[Chorale], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(c.tokens) for c in chorales], dtype=np.int64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, version=np.int64(CACHE_VERSION), ids=np.array([c.id for c in chorales]),
                        lengths=lengths,
                        tokens=np.concatenate([c.tokens for c in chorales]).astype(np.int8),
                        beats=np.concatenate([c.beats for c in chorales]).astype(np.int8))
    os.replace(tmp, path)


def read_cache(path: Path) -> list[Chorale] | None:
    """The cached chorales, or None if the file is missing, damaged or of another version."""
    try:
        with np.load(path) as z:
            if int(z["version"]) != CACHE_VERSION:
                return None
            ids, lengths = z["ids"], z["lengths"]
            tokens, beats = z["tokens"].astype(np.int64), z["beats"].astype(np.int64)
    except (OSError, KeyError, ValueError):
        return None
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [Chorale(str(i), tokens[a:b], beats[a:b]) for i, a, b in zip(ids, bounds[:-1], bounds[1:])]


_LOADED: dict[str, list[Chorale]] = {}


def load_chorales(progress: bool = True, rebuild: bool = False) -> list[Chorale]:
    """All SATB chorales, from the cache (built on first use)."""
    path = cache_path()
    key = str(path)
    if not rebuild and key in _LOADED:
        return _LOADED[key]
    chorales = None if rebuild else read_cache(path)
    if chorales is None:
        chorales = build(progress)
        save_cache(chorales, path)
    _LOADED[key] = chorales
    return chorales


# ---- transposition ---------------------------------------------------------------------------

def transpose(tokens: np.ndarray, shift: int) -> np.ndarray | None:
    """Tokens moved by ``shift`` semitones, or None if a note would leave PITCH_LO..PITCH_HI."""
    if shift == 0:
        return tokens.copy()
    is_pitch = tokens >= PITCH0
    out = np.where(is_pitch, tokens + shift, tokens)
    if is_pitch.any():
        p = out[is_pitch]
        if p.min() < PITCH0 or p.max() > PITCH0 + PITCH_HI - PITCH_LO:
            return None
    return out


# ---- split -----------------------------------------------------------------------------------

def make_split(ids: list[str], seed: int = SPLIT_SEED,
               fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> dict[str, list[str]]:
    """The chorale split: sorted ids shuffled with ``random.Random(seed)``, cut 80/10/10.

    This generated the committed split.json (``write_split()``); it is never re-run implicitly,
    so the test set stays fixed even if the corpus or this code changes.
    """
    order = sorted(set(ids))
    random.Random(seed).shuffle(order)
    n_train = round(len(order) * fractions[0])
    n_valid = round(len(order) * fractions[1])
    return {"train": sorted(order[:n_train]), "valid": sorted(order[n_train:n_train + n_valid]),
            "test": sorted(order[n_train + n_valid:])}


def write_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    """Generate split.json from the SATB chorales of the corpus (run once; the file is committed)."""
    split = make_split([c.id for c in load_chorales()])
    doc = {"seed": SPLIT_SEED, "fractions": list(SPLIT_FRACTIONS),
           "made_by": "rtcore.accompany.data.write_split", **split}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return split


def load_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    doc = json.loads(path.read_text())
    return {k: list(doc[k]) for k in ("train", "valid", "test")}


def split_chorales(name: str, limit: int | None = None, progress: bool = True) -> list[Chorale]:
    """The untransposed chorales of one split ('train', 'valid' or 'test'), in split.json order."""
    split = load_split()
    if name not in split:
        raise ValueError(f"unknown split '{name}' (train, valid, test)")
    test = set(split["test"])
    if name != "test":
        assert not test & set(split[name]), "a test chorale is in the training data"
    by_id = {c.id: c for c in load_chorales(progress)}
    out = [by_id[i] for i in split[name] if i in by_id]
    return out[:limit] if limit is not None else out


def split_arrays(name: str, transposed: bool = False, limit: int | None = None,
                 progress: bool = True) -> list[Chorale]:
    """The chorales of a split; with ``transposed`` every key shift in SHIFTS that stays in range
    (ids get a ``@+3``-style suffix). Test chorales can never come out of 'train' or 'valid'."""
    base = split_chorales(name, limit, progress)
    if not transposed:
        return base
    out = []
    for c in base:
        for s in SHIFTS:
            t = transpose(c.tokens, s)
            if t is not None:
                out.append(Chorale(f"{c.id}@{s:+d}", t, c.beats))
    test = set(load_split()["test"])
    if name != "test":
        assert not any(c.id.split("@")[0] in test for c in out)
    return out
