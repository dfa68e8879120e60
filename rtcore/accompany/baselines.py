"""Two baselines that answer a melody with alto, tenor and bass token streams, like the model.

- :class:`NgramHarmonizer`: per voice, P(token at t | context) with Witten-Bell interpolated
  backoff over five nested contexts (most specific first):

  4. melody token, sounding melody pitch, beat, own previous token, own last pitch, the other
     two AI voices' last pitches
  3. melody token, sounding melody pitch, beat, own previous token, own last pitch
  2. sounding melody pitch, melody attacks now (yes/no), own previous token, own last pitch
  1. own previous token, own last pitch
  0. nothing (unigram), which backs off to uniform over the vocabulary.

  "Last pitch" is the pitch sounding at t-1 (-1 when silent), so HOLD tokens keep their pitch.
  Trained on the train split in all 12 keys. :meth:`NgramHarmonizer.nll` scores Bach's parts
  teacher-forced; :meth:`NgramHarmonizer.harmonize` runs free (argmax, its own outputs fed back).

- :class:`RuleHarmonizer`: at each melody attack, a diatonic triad containing the melody note
  (key from the melody so far by Krumhansl-Kessler profiles, or given), root in the bass,
  voiced within SATB-like ranges below the soprano by the cheapest voice leading (nearest notes,
  no crossing, complete triad preferred, parallel 5ths/8ves penalised). All voices hold while
  the melody holds and rest while it rests.
"""
from __future__ import annotations

import itertools

import numpy as np

from .tokens import HOLD, PITCH0, PITCH_HI, PITCH_LO, REST, VOCAB, VOICES


def sounding(tokens: np.ndarray) -> np.ndarray:
    """Sounding MIDI pitch per step (-1 = silent) of a token stream [T] or [T, V].

    A pitch token starts a note, HOLD continues the sounding note (or the silence: HOLD after a
    REST or at the start is silent), REST silences.
    """
    tokens = np.asarray(tokens)
    pitch = np.where(tokens >= PITCH0, tokens - PITCH0 + PITCH_LO, -1)
    defined = tokens != HOLD                      # steps that set the state (pitch or REST)
    idx = np.where(defined, np.arange(len(tokens)).reshape(-1, *([1] * (tokens.ndim - 1))), -1)
    idx = np.maximum.accumulate(idx, axis=0)
    out = np.take_along_axis(pitch, np.maximum(idx, 0), axis=0)
    return np.where(idx >= 0, out, -1)


# ---- n-gram -------------------------------------------------------------------------------------

_RADIX = 130           # every feature is shifted into 0..129 (-1 -> 0)
_LEVELS = 5


def _features(mel: np.ndarray, beats: np.ndarray, ai_prev: np.ndarray) -> list[np.ndarray]:
    """Context keys per voice (a list of 3 arrays [levels, T]); ``ai_prev`` [T, 3] holds the AI
    tokens at t-1 (REST at t = 0), so its sounding pitch at t is the pitch sounding at t-1."""
    return _keys(mel, sounding(mel), beats, ai_prev, sounding(ai_prev))


def _keys(mel, mel_pitch, beats, own_prev, last_pitch) -> list[np.ndarray]:
    mp = np.asarray(mel_pitch, np.int64) + 1
    attack = (np.asarray(mel) >= PITCH0).astype(np.int64)
    lp = np.asarray(last_pitch, np.int64) + 1
    n = len(mp)

    def key(*cols):
        k = np.zeros(n, np.int64)
        for c in cols:
            k = k * _RADIX + np.asarray(c, np.int64)
        return k

    out = []
    for v in range(VOICES):
        own, olp = own_prev[:, v], lp[:, v]
        o1, o2 = [lp[:, u] for u in range(VOICES) if u != v]
        out.append(np.stack([
            np.zeros(n, np.int64),
            key(1, own, olp),
            key(2, mp, attack, own, olp),
            key(3, mel, mp, beats, own, olp),
            key(4, mel, mp, beats, own, olp, o1, o2),
        ]))
    return out


class NgramHarmonizer:
    def __init__(self) -> None:
        self.tables: list[list[tuple]] = []       # [voice][level] -> (joint, jcount, ctx, total, types)

    @staticmethod
    def _prev(ai: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full((1, VOICES), REST, ai.dtype), ai[:-1]])

    def fit(self, chorales) -> "NgramHarmonizer":
        """Count contexts on chorales (objects with ``.tokens`` [T, 4] and ``.beats`` [T])."""
        feats = [[] for _ in range(VOICES)]
        targets = [[] for _ in range(VOICES)]
        for c in chorales:
            ai = c.tokens[:, 1:]
            f = _features(c.tokens[:, 0], c.beats, self._prev(ai))
            for v in range(VOICES):
                feats[v].append(f[v])
                targets[v].append(ai[:, v])
        self.tables = []
        for v in range(VOICES):
            ctx_all = np.concatenate(feats[v], axis=1)
            w = np.concatenate(targets[v]).astype(np.int64)
            levels = []
            for lv in range(_LEVELS):
                joint, jcount = np.unique(ctx_all[lv] * VOCAB + w, return_counts=True)
                ctx_of_joint = joint // VOCAB
                ctx, first, types = np.unique(ctx_of_joint, return_index=True, return_counts=True)
                total = np.add.reduceat(jcount, first)
                levels.append((joint, jcount, ctx, total, types))
            self.tables.append(levels)
        return self

    def _dist(self, v: int, ctx_keys: np.ndarray) -> np.ndarray:
        """P(token | contexts) [N, VOCAB] for context keys [levels, N] of voice v."""
        n = ctx_keys.shape[1]
        p = np.full((n, VOCAB), 1.0 / VOCAB)
        words = np.arange(VOCAB)
        for lv in range(_LEVELS):
            joint, jcount, ctx, total, types = self.tables[v][lv]
            k = ctx_keys[lv]
            i = np.clip(np.searchsorted(ctx, k), 0, len(ctx) - 1)
            seen = ctx[i] == k
            tot = np.where(seen, total[i], 0).astype(float)
            typ = np.where(seen, types[i], 0).astype(float)
            q = (k[:, None] * VOCAB + words[None, :])
            j = np.clip(np.searchsorted(joint, q), 0, len(joint) - 1)
            cnt = np.where(joint[j] == q, jcount[j], 0).astype(float)
            p = np.where(seen[:, None], (cnt + typ[:, None] * p) / np.maximum(tot + typ, 1)[:, None], p)
        return p

    def log_probs(self, melody: np.ndarray, beats: np.ndarray, ai: np.ndarray) -> np.ndarray:
        """Teacher-forced log P of each true AI token [T, 3] (natural log)."""
        f = _features(melody, beats, self._prev(ai))
        out = np.empty(ai.shape)
        for v in range(VOICES):
            p = self._dist(v, f[v])
            out[:, v] = np.log(p[np.arange(len(ai)), ai[:, v]])
        return out

    def harmonize(self, melody: np.ndarray, beats: np.ndarray) -> np.ndarray:
        """Free-running argmax tokens [T, 3] for a melody (its own outputs are fed back)."""
        n = len(melody)
        ai = np.full((n, VOICES), REST, np.int64)
        mel_p = sounding(melody)
        prev = np.full((1, VOICES), REST, np.int64)
        last = np.full((1, VOICES), -1, np.int64)        # pitch sounding at t-1 per voice
        for t in range(n):
            f = _keys(melody[t:t + 1], mel_p[t:t + 1], beats[t:t + 1], prev, last)
            for v in range(VOICES):
                tok = int(np.argmax(self._dist(v, f[v])[0]))
                ai[t, v] = tok
                if tok >= PITCH0:
                    last[0, v] = tok - PITCH0 + PITCH_LO
                elif tok == REST:
                    last[0, v] = -1
            prev = ai[t:t + 1].copy()
        return ai


# ---- rules --------------------------------------------------------------------------------------

_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# diatonic triads as (root offset from the tonic, quality intervals), in order of preference
_MAJOR_TRIADS = [(0, (0, 4, 7)), (7, (0, 4, 7)), (5, (0, 4, 7)), (9, (0, 3, 7)), (2, (0, 3, 7)),
                 (4, (0, 3, 7)), (11, (0, 3, 6))]
_MINOR_TRIADS = [(0, (0, 3, 7)), (7, (0, 4, 7)), (5, (0, 3, 7)), (8, (0, 4, 7)), (3, (0, 4, 7)),
                 (10, (0, 4, 7)), (2, (0, 3, 6))]
RANGES = {"alto": (55, 74), "tenor": (48, 67), "bass": (40, 62)}


def estimate_key(pc_weights: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, 'major'|'minor') best correlated with a pitch-class histogram."""
    if pc_weights.sum() <= 0:
        return 0, "major"
    best = (-2.0, 0, "major")
    for tonic in range(12):
        for mode, prof in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
            r = float(np.corrcoef(pc_weights, np.roll(prof, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def choose_triad(pc: int, key: tuple[int, str], prev: tuple[int, ...] | None, strong: bool) -> tuple[int, ...]:
    """Pitch classes (root first) of a triad containing ``pc``: keep ``prev`` on weak steps if it
    fits, else the first diatonic triad in preference order, else a major triad with ``pc`` as
    its third (a secondary-dominant colour for chromatic notes)."""
    if prev is not None and not strong and pc in prev:
        return prev
    tonic, mode = key
    for root, q in (_MAJOR_TRIADS if mode == "major" else _MINOR_TRIADS):
        chord = tuple((tonic + root + i) % 12 for i in q)
        if pc in chord and chord != prev:
            return chord
    for root, q in (_MAJOR_TRIADS if mode == "major" else _MINOR_TRIADS):
        chord = tuple((tonic + root + i) % 12 for i in q)
        if pc in chord:
            return chord
    root = (pc - 4) % 12
    return (root, (root + 4) % 12, (root + 7) % 12)


def _candidates(chord, lo: int, hi: int) -> list[int]:
    return [p for p in range(lo, hi + 1) if p % 12 in chord]


def voice_chord(soprano: int, chord: tuple[int, ...], last: tuple[int, int, int] | None,
                last_soprano: int = -1) -> tuple[int, int, int]:
    """(alto, tenor, bass) for a chord under ``soprano``: bass on the root, no crossing, alto and
    tenor within an octave of their upper neighbour, cheapest movement from ``last`` (the previous
    alto, tenor, bass; ``last_soprano`` the previous melody pitch, for the parallels check)."""
    best, best_cost = None, float("inf")
    basses = [p for p in _candidates(chord[:1], *RANGES["bass"]) if p <= soprano]
    altos = [p for p in _candidates(chord, *RANGES["alto"]) if p <= soprano and soprano - p <= 12]
    tenors = _candidates(chord, *RANGES["tenor"])
    s_pc = soprano % 12
    for a, t, b in itertools.product(altos, tenors, basses):
        if not (b <= t <= a) or a - t > 12 or t - b > 19:
            continue
        cost = 0.0
        missing = len(set(chord) - {s_pc, a % 12, t % 12, b % 12})
        cost += 8.0 * missing
        if last is not None:
            la, lt, lb = last
            cost += abs(a - la) + abs(t - lt) + 0.5 * abs(b - lb)
            now, before = (soprano, a, t, b), (last_soprano, la, lt, lb)
            for i, j in itertools.combinations(range(4), 2):
                if before[i] >= 0 and now[i] != before[i] and now[j] != before[j] \
                        and abs(now[i] - now[j]) % 12 in (0, 7) \
                        and abs(now[i] - now[j]) % 12 == abs(before[i] - before[j]) % 12:
                    cost += 20.0
        else:
            cost += abs(a - 64) * 0.2 + abs(t - 57) * 0.2 + abs(b - 48) * 0.2
        if cost < best_cost:
            best, best_cost = (a, t, b), cost
    if best is None:                                # a very low soprano: stack below it
        b = max(p for p in range(PITCH_LO, soprano + 1) if p % 12 == chord[0])
        best = (soprano, soprano, b)
    return best


class RuleHarmonizer:
    def __init__(self, key: tuple[int, str] | None = None) -> None:
        self.key = key

    def harmonize(self, melody: np.ndarray, beats: np.ndarray) -> np.ndarray:
        n = len(melody)
        ai = np.full((n, VOICES), REST, np.int64)
        hist = np.zeros(12)
        mel_p = sounding(melody)
        chord, last, silent, last_s = None, None, True, -1
        for t in range(n):
            if mel_p[t] >= 0:
                hist[mel_p[t] % 12] += 1
            tok = int(melody[t])
            if tok >= PITCH0:
                key = self.key or estimate_key(hist)
                new_chord = choose_triad(mel_p[t] % 12, key, chord, strong=beats[t] % 4 == 0)
                voices = voice_chord(int(mel_p[t]), new_chord, last, last_s)
                for v in range(VOICES):
                    same = last is not None and not silent and voices[v] == last[v] and new_chord == chord
                    ai[t, v] = HOLD if same else PITCH0 + min(max(voices[v], PITCH_LO), PITCH_HI) - PITCH_LO
                chord, last, silent, last_s = new_chord, voices, False, int(mel_p[t])
            elif tok == HOLD and not silent:
                ai[t] = HOLD
            else:
                ai[t] = REST
                silent = True
        return ai
