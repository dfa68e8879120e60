"""Evaluation metrics on hand-made voices, the baselines' token streams, and `rtcore evaluate`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rtcore.accompany.baselines import RuleHarmonizer, estimate_key, sounding
from rtcore.accompany.evaluate import crossing_rate, markdown_table, note_in_chord, parallels
from rtcore.accompany.tokens import HOLD, PITCH0, REST, VOCAB, VOICES, pitch_token

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "chorale.onnx"
C4, D4, E4, F4, G4, A4, B4, C5, D5 = 60, 62, 64, 65, 67, 69, 71, 72, 74


def test_sounding_follows_holds_and_rests():
    toks = np.array([HOLD, pitch_token(60), HOLD, REST, HOLD, pitch_token(62), pitch_token(62)])
    assert sounding(toks).tolist() == [-1, 60, 60, -1, -1, 62, 62]
    two = np.stack([toks, toks[::-1]], axis=1)
    assert sounding(two)[:, 0].tolist() == sounding(toks).tolist()


def test_a_parallel_fifth_is_counted_once():
    # soprano and alto move C5/F4 -> D5/G4 (fifths); tenor and bass hold
    p = np.array([[C5, F4, C4, 48], [D5, G4, C4, 48]])
    assert parallels(p) == 1
    # contrary motion into a different interval, or one voice holding: none
    assert parallels(np.array([[C5, F4, C4, 48], [B4, A4, C4, 48]])) == 0
    assert parallels(np.array([[C5, F4, C4, 48], [C5, G4, C4, 48]])) == 0
    # octaves (C4/C3 -> D4/D3) in the tenor and bass count too; a silent voice never does
    assert parallels(np.array([[C5, G4, C4, 48], [C5, G4, D4, 50]])) == 1
    assert parallels(np.array([[C5, G4, -1, 48], [C5, G4, D4, 50]])) == 0


def test_a_crossing():
    ok = np.array([[C5, G4, E4, 48], [C5, G4, G4, 48]])           # a unison is not a crossing
    assert crossing_rate(ok) == (0, 2)
    crossed = np.array([[C5, E4, G4, 48], [C5, G4, E4, 48], [C5, -1, -1, -1]])
    assert crossing_rate(crossed) == (1, 2)


def test_note_in_chord():
    assert note_in_chord(np.array([[C5, G4, E4, 48]])) == (3, 3)     # C major
    # D in the bass under C-E-G: C major keeps the soprano, the D is outside
    assert note_in_chord(np.array([[C5, G4, E4, 50]])) == (2, 3)
    assert note_in_chord(np.array([[C5, G4, -1, -1]])) == (1, 1)      # silent voices don't count
    # a G7 with the seventh (F) in the alto
    assert note_in_chord(np.array([[D5, F4, B4 - 12, 43]])) == (3, 3)


def test_key_estimate():
    c_major = np.zeros(12)
    c_major[[0, 2, 4, 5, 7, 9, 11]] = [4, 2, 3, 2, 4, 2, 1]
    assert estimate_key(c_major) == (0, "major")
    assert estimate_key(np.roll(c_major, 7)) == (7, "major")


def _melody():
    notes = [C5, D5, E4 + 12, D5, C5, B4, C5]
    mel, beats = [], []
    for i, n in enumerate(notes):
        mel += [pitch_token(n), HOLD, HOLD, HOLD]
    mel[8:12] = [REST] * 4
    return np.array(mel), np.arange(len(mel)) % 16


def _valid(ai, melody):
    assert ai.shape == (len(melody), VOICES) and ai.dtype.kind == "i"
    assert ((ai >= 0) & (ai < VOCAB)).all()


def test_rule_baseline_voices_triads_and_holds():
    mel, beats = _melody()
    ai = RuleHarmonizer().harmonize(mel, beats)
    _valid(ai, mel)
    assert (ai[8:12] == REST).all()                       # the melody rests
    assert (ai[1:4] == HOLD).all()                        # the melody holds
    full = sounding(np.concatenate([mel[:, None], ai], axis=1))
    sounding_rows = full[full[:, 0] >= 0]
    assert crossing_rate(sounding_rows)[0] == 0
    inside, total = note_in_chord(sounding_rows)
    assert inside == total > 0


def test_ngram_baseline_gives_valid_tokens_and_probabilities():
    pytest.importorskip("music21")
    from rtcore.accompany import data
    from rtcore.accompany.baselines import NgramHarmonizer

    train = data.split_arrays("train", transposed=True, limit=5, progress=False)
    ng = NgramHarmonizer().fit(train)
    c = data.split_arrays("test", limit=1, progress=False)[0]
    ai = ng.harmonize(c.melody, c.beats)
    _valid(ai, c.melody)
    lp = ng.log_probs(c.melody, c.beats, c.ai)
    assert lp.shape == (len(c.tokens), VOICES) and (lp < 0).all() and np.isfinite(lp).all()
    # the distributions sum to one
    from rtcore.accompany.baselines import _features
    f = _features(c.melody[:5], c.beats[:5], np.full((5, VOICES), REST))
    assert np.allclose(ng._dist(0, f[0]).sum(axis=1), 1.0)
    assert ai[ai >= PITCH0].size > 0


def test_markdown_table_has_every_system():
    r = {"accuracy": [0.5, 0.5, 0.5], "note_in_chord": 0.9, "parallels_per100": 1.0, "crossing": 0.01, "nll": None}
    results = {k: dict(r) for k in ("model_tf", "model", "bach", "ngram", "rules")}
    results["model_tf"]["nll"] = [0.5, 0.6, 0.7]
    results["_info"] = {"chorales": 2, "steps": 100, "temperature": 0.0}
    md = markdown_table(results)
    assert md.count("\n|") == 6 and "Bach" in md and "0.600" in md and "| - |" in md


@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
def test_rtcore_evaluate_on_the_shipped_model(tmp_path):
    pytest.importorskip("music21")
    out = tmp_path / "e.json"
    r = subprocess.run([sys.executable, "-m", "rtcore", "evaluate", "--limit", "3", "--json", str(out),
                        "--no-progress"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "| model, free-running |" in r.stdout and "| n-gram |" in r.stdout
    res = json.loads(out.read_text())
    for k in ("nll_model", "nll_ngram", "note_in_chord_model", "note_in_chord_bach"):
        assert isinstance(res[k], float)
    assert res["info_chorales"] == 3
    assert 0 < res["nll_model"] < 3 and res["note_in_chord_bach"] > 0.8
