"""`rtcore evaluate`: the model and the baselines on the held-out test chorales (untransposed).

Systems (rows), each given Bach's real soprano:

- ``model_tf``  the ONNX model teacher-forced (its inputs are Bach's alto/tenor/bass at t-1);
  its stream is the argmax at each step under that true history.
- ``model``     the ONNX model free-running (run step by step with onnxruntime; argmax, or
  sampled with ``temperature`` > 0, fed back as the next step's ``prev``), as it plays live.
- ``bach``      Bach's own alto, tenor and bass.
- ``ngram``     :class:`~rtcore.accompany.baselines.NgramHarmonizer` (trained on the train split,
  12 keys): NLL teacher-forced, the other columns free-running.
- ``rules``     :class:`~rtcore.accompany.baselines.RuleHarmonizer`.

Metrics (columns); the soprano counts as a voice where four voices are mentioned:

- **NLL** per step per voice, nats, teacher-forced on Bach's tokens (model_tf, ngram only).
- **accuracy** per voice: fraction of steps whose token equals Bach's (REST/HOLD/pitch).
- **note-in-chord** (:func:`note_in_chord`): over all steps and AI voices that sound, the
  fraction of AI notes whose pitch class is in the step's best chord template. The templates are
  the major, minor, diminished and augmented triads and the dominant, minor, major,
  half-diminished and diminished seventh chords on all 12 roots; the best one covers the most of
  the four sounding voices' pitch classes (ties: the one containing the soprano, then the one
  covering most AI voices, then the smaller chord, then the lowest root in template order).
- **parallels per 100 steps** (:func:`parallels`): consecutive steps t-1 -> t at which, for a pair
  of the four voices, both voices sound at both steps, both change pitch, and their interval
  (absolute semitones mod 12) is the same perfect class, unison/octave (0) or fifth (7), at both.
- **crossing** (:func:`crossing_rate`): among steps with at least two sounding voices, the
  fraction where some higher voice (S > A > T > B order) sounds below a lower one (unisons allowed).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .baselines import NgramHarmonizer, RuleHarmonizer, sounding
from .tokens import REST, VOCAB, VOICE_NAMES, VOICES

SYSTEMS = (("model_tf", "model, teacher-forced"), ("model", "model, free-running"), ("bach", "Bach"),
           ("ngram", "n-gram"), ("rules", "rule-based triads"))

_QUALITIES = [(0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 8),
              (0, 4, 7, 10), (0, 3, 7, 10), (0, 4, 7, 11), (0, 3, 6, 10), (0, 3, 6, 9)]
TEMPLATES = np.array([[((pc - r) % 12) in q for pc in range(12)] for q in _QUALITIES for r in range(12)])
_TEMPLATE_SIZE = TEMPLATES.sum(axis=1)


# ---- metrics on sounding pitches [T, 4] (S, A, T, B; -1 = silent) --------------------------------

def note_in_chord(pitches: np.ndarray) -> tuple[int, int]:
    """(AI notes inside the step's best chord template, AI notes sounding), summed over steps."""
    pitches = np.asarray(pitches)
    sound = pitches >= 0
    pcs = np.where(sound, pitches % 12, 0)
    # member[t, k, v]: voice v's pitch class is in template k (and v sounds)
    member = TEMPLATES[:, pcs].transpose(1, 0, 2) & sound[:, None, :]
    all_cov = member.sum(axis=2)
    ai_cov = member[:, :, 1:].sum(axis=2)
    score = all_cov * 1000 + member[:, :, 0] * 100 + ai_cov * 10 - _TEMPLATE_SIZE[None, :]
    best = np.argmax(score, axis=1)
    inside = ai_cov[np.arange(len(pitches)), best]
    return int(inside.sum()), int(sound[:, 1:].sum())


def parallels(pitches: np.ndarray) -> int:
    """Number of parallel (consecutive) perfect unisons/octaves/fifths between any two voices."""
    p = np.asarray(pitches)
    if len(p) < 2:
        return 0
    a, b = p[:-1], p[1:]
    count = 0
    for i in range(p.shape[1]):
        for j in range(i + 1, p.shape[1]):
            ok = (a[:, i] >= 0) & (a[:, j] >= 0) & (b[:, i] >= 0) & (b[:, j] >= 0)
            moving = (a[:, i] != b[:, i]) & (a[:, j] != b[:, j])
            before = np.abs(a[:, i] - a[:, j]) % 12
            after = np.abs(b[:, i] - b[:, j]) % 12
            count += int((ok & moving & (before == after) & ((after == 0) | (after == 7))).sum())
    return count


def crossing_rate(pitches: np.ndarray) -> tuple[int, int]:
    """(steps with a crossing, steps with >= 2 sounding voices)."""
    p = np.asarray(pitches)
    sound = p >= 0
    crossed = np.zeros(len(p), bool)
    for i in range(p.shape[1]):
        for j in range(i + 1, p.shape[1]):
            crossed |= sound[:, i] & sound[:, j] & (p[:, i] < p[:, j])
    return int(crossed.sum()), int((sound.sum(axis=1) >= 2).sum())


class _Acc:
    """Sums of one system's metrics over chorales."""

    def __init__(self) -> None:
        self.nll = np.zeros(VOICES)
        self.nll_n = 0
        self.correct = np.zeros(VOICES)
        self.steps = 0
        self.in_chord = self.ai_notes = 0
        self.par = 0
        self.cross = self.cross_n = 0

    def add(self, soprano: np.ndarray, ai: np.ndarray, bach_ai: np.ndarray, logp: np.ndarray | None) -> None:
        full = np.concatenate([soprano[:, None], ai], axis=1)
        pitches = sounding(full)
        self.correct += (ai == bach_ai).sum(axis=0)
        self.steps += len(ai)
        i, n = note_in_chord(pitches)
        self.in_chord += i
        self.ai_notes += n
        self.par += parallels(pitches)
        c, cn = crossing_rate(pitches)
        self.cross += c
        self.cross_n += cn
        if logp is not None:
            self.nll -= logp.sum(axis=0)
            self.nll_n += len(logp)

    def result(self) -> dict:
        r = {"accuracy": (self.correct / max(self.steps, 1)).tolist(),
             "note_in_chord": self.in_chord / max(self.ai_notes, 1),
             "parallels_per100": 100.0 * self.par / max(self.steps, 1),
             "crossing": self.cross / max(self.cross_n, 1)}
        r["nll"] = (self.nll / self.nll_n).tolist() if self.nll_n else None
        return r


# ---- the ONNX model -------------------------------------------------------------------------------

class OnnxStepper:
    """The exported step model run with onnxruntime's Python API (1 thread)."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        shape = {i.name: i.shape for i in self.sess.get_inputs()}["state"]
        self.state_shape = tuple(int(x) for x in shape)

    def run(self, melody: np.ndarray, beats: np.ndarray, ai_true: np.ndarray | None = None,
            temperature: float = 0.0, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Step through a melody. Teacher-forced when ``ai_true`` [T, 3] is given (prev = the true
        tokens at t-1), else free-running (prev = its own output). Returns (tokens [T, 3],
        log-softmax [T, 3, VOCAB])."""
        n = len(melody)
        state = np.zeros(self.state_shape, np.float32)
        prev = np.full(VOICES, REST, np.int64)
        out = np.zeros((n, VOICES), np.int64)
        logp = np.zeros((n, VOICES, VOCAB), np.float32)
        for t in range(n):
            logits, state = self.sess.run(None, {"melody": np.array([melody[t]], np.int64),
                                                 "beat": np.array([beats[t]], np.int64),
                                                 "prev": prev, "state": state})
            lp = logits - logits.max(axis=1, keepdims=True)
            lp = lp - np.log(np.exp(lp).sum(axis=1, keepdims=True))
            logp[t] = lp
            if temperature > 0 and ai_true is None:
                z = np.exp(lp / temperature)
                z /= z.sum(axis=1, keepdims=True)
                tok = np.array([rng.choice(VOCAB, p=z[v]) for v in range(VOICES)], np.int64)
            else:
                tok = lp.argmax(axis=1).astype(np.int64)
            out[t] = tok
            prev = ai_true[t].astype(np.int64) if ai_true is not None else tok
        return out, logp


# ---- the whole evaluation ----------------------------------------------------------------------

def evaluate(model_path: str | Path, limit: int | None = None, seed: int = 0, temperature: float = 0.0,
             progress: bool = True) -> dict:
    """Score every system on the test chorales; returns {system: metrics, '_info': {...}}."""
    from tqdm import tqdm

    from . import data

    test = data.split_arrays("test", transposed=False, limit=limit, progress=progress)
    train = data.split_arrays("train", transposed=True, progress=progress)
    assert not {c.id.split("@")[0] for c in train} & {c.id for c in test}
    ngram = NgramHarmonizer().fit(train)
    rules = RuleHarmonizer()
    stepper = OnnxStepper(model_path)
    rng = np.random.default_rng(seed)
    acc = {k: _Acc() for k, _ in SYSTEMS}
    for c in tqdm(test, desc="evaluating", unit="chorale", disable=not progress):
        mel, beats, bach = c.melody, c.beats, c.ai
        tf_out, tf_logp = stepper.run(mel, beats, ai_true=bach)
        tf_true = np.take_along_axis(tf_logp, bach[:, :, None], axis=2)[..., 0]
        acc["model_tf"].add(mel, tf_out, bach, tf_true)
        fr_out, _ = stepper.run(mel, beats, temperature=temperature, rng=rng)
        acc["model"].add(mel, fr_out, bach, None)
        acc["bach"].add(mel, bach, bach, None)
        acc["ngram"].add(mel, ngram.harmonize(mel, beats), bach, ngram.log_probs(mel, beats, bach))
        acc["rules"].add(mel, rules.harmonize(mel, beats), bach, None)
    results = {k: a.result() for k, a in acc.items()}
    results["_info"] = {"model": str(model_path), "chorales": len(test),
                        "steps": int(sum(len(c.tokens) for c in test)), "temperature": temperature,
                        "seed": seed}
    return results


def flat(results: dict) -> dict:
    """Flat JSON keys: nll_<sys>[_<voice>], acc_<sys>_<voice>, note_in_chord_<sys>,
    parallels_per100_<sys>, crossing_<sys>; nll_<sys> is the mean over the three voices.
    ``model`` is the free-running model, ``model_tf`` the teacher-forced one; ``nll_model`` is
    the model's (teacher-forced) NLL."""
    out: dict = {f"info_{k}": v for k, v in results["_info"].items()}
    for sys_key, _ in SYSTEMS:
        r = results[sys_key]
        for v, name in enumerate(VOICE_NAMES):
            out[f"acc_{sys_key}_{name}"] = round(r["accuracy"][v], 5)
        out[f"note_in_chord_{sys_key}"] = round(r["note_in_chord"], 5)
        out[f"parallels_per100_{sys_key}"] = round(r["parallels_per100"], 5)
        out[f"crossing_{sys_key}"] = round(r["crossing"], 5)
        if r["nll"] is not None:
            name = "model" if sys_key == "model_tf" else sys_key
            out[f"nll_{name}"] = round(float(np.mean(r["nll"])), 5)
            for v, vn in enumerate(VOICE_NAMES):
                out[f"nll_{name}_{vn}"] = round(r["nll"][v], 5)
    return out


def markdown_table(results: dict) -> str:
    """The results as one markdown table (the README's)."""
    head = ["system", "NLL alto", "NLL tenor", "NLL bass", "acc alto", "acc tenor", "acc bass",
            "note-in-chord", "par. 5ths/8ves per 100 steps", "crossing"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for key, label in SYSTEMS:
        r = results[key]
        nll = [f"{x:.3f}" for x in r["nll"]] if r["nll"] is not None else ["-"] * 3
        row = [label, *nll, *[f"{x:.3f}" for x in r["accuracy"]], f"{r['note_in_chord']:.3f}",
               f"{r['parallels_per100']:.2f}", f"{r['crossing']:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
    info = results["_info"]
    lines.append("")
    lines.append(f"{info['chorales']} held-out test chorales, {info['steps']} steps (16ths), untransposed; "
                 f"NLL in nats per step per voice; free-running = "
                 f"{'argmax' if not info['temperature'] else 'sampled at T=%g' % info['temperature']}.")
    return "\n".join(lines)


def run_evaluation(model_path: Path, limit: int | None = None, json_path: Path | None = None,
                   markdown_path: Path | None = None, seed: int = 0, temperature: float = 0.0,
                   progress: bool = True) -> dict:
    results = evaluate(model_path, limit=limit, seed=seed, temperature=temperature, progress=progress)
    table = markdown_table(results)
    print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(flat(results), indent=1, sort_keys=True) + "\n")
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(table + "\n")
    return results


# ---- a player's own songs (rtcore evaluate --data) -----------------------------------------------

SONG_SYSTEMS = (("model_tf", "tuned model, teacher-forced"), ("model", "tuned model, free-running"),
                ("base_tf", "base model, teacher-forced"), ("base", "base model, free-running"),
                ("original", "the songs' own accompaniment"))


def evaluate_songs(model_path: str | Path, base_path: str | Path, songs: list, seed: int = 0,
                   temperature: float = 0.0, progress: bool = True) -> dict:
    """The chorale metrics on ``songs`` (TokenSong: tokens [T, 4], beats [T]) for the tuned model
    and the base model, each teacher-forced (NLL, accuracy) and free-running, and for the songs'
    own accompaniment (the reference)."""
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    steppers = {"model": OnnxStepper(model_path), "base": OnnxStepper(base_path)}
    acc = {k: _Acc() for k, _ in SONG_SYSTEMS}
    for s in tqdm(songs, desc="evaluating", unit="song", disable=not progress):
        mel, beats, ref = s.tokens[:, 0], s.beats, s.tokens[:, 1:]
        for name, stepper in steppers.items():
            tf_out, tf_logp = stepper.run(mel, beats, ai_true=ref)
            true = np.take_along_axis(tf_logp, ref[:, :, None], axis=2)[..., 0]
            acc[f"{name}_tf"].add(mel, tf_out, ref, true)
            fr_out, _ = stepper.run(mel, beats, temperature=temperature, rng=rng)
            acc[name].add(mel, fr_out, ref, None)
        acc["original"].add(mel, ref, ref, None)
    results = {k: a.result() for k, a in acc.items()}
    results["_info"] = {"model": str(model_path), "base": str(base_path), "songs": len(songs),
                        "steps": int(sum(len(s.tokens) for s in songs)), "temperature": temperature, "seed": seed}
    return results


def flat_songs(results: dict) -> dict:
    """Flat JSON keys as :func:`flat`, for the song systems (nll_model, nll_base, ...)."""
    out: dict = {f"info_{k}": v for k, v in results["_info"].items()}
    for key, _ in SONG_SYSTEMS:
        r = results[key]
        for v, name in enumerate(VOICE_NAMES):
            out[f"acc_{key}_{name}"] = round(r["accuracy"][v], 5)
        out[f"note_in_chord_{key}"] = round(r["note_in_chord"], 5)
        out[f"parallels_per100_{key}"] = round(r["parallels_per100"], 5)
        out[f"crossing_{key}"] = round(r["crossing"], 5)
        if r["nll"] is not None:
            name = key[:-3]
            out[f"nll_{name}"] = round(float(np.mean(r["nll"])), 5)
    return out


def markdown_table_songs(results: dict) -> str:
    head = ["system", "NLL", "acc alto", "acc tenor", "acc bass", "note-in-chord",
            "par. 5ths/8ves per 100 steps", "crossing"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for key, label in SONG_SYSTEMS:
        r = results[key]
        nll = f"{np.mean(r['nll']):.3f}" if r["nll"] is not None else "-"
        lines.append("| " + " | ".join([label, nll, *[f"{x:.3f}" for x in r["accuracy"]], f"{r['note_in_chord']:.3f}",
                                        f"{r['parallels_per100']:.2f}", f"{r['crossing']:.3f}"]) + " |")
    info = results["_info"]
    lines += ["", f"{info['songs']} held-out songs, {info['steps']} steps (16ths); NLL in nats per step per voice "
                  f"(mean of alto, tenor, bass); base = {Path(info['base']).name}."]
    return "\n".join(lines)
