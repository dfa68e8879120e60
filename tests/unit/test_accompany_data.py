"""The chorale data pipeline: tokens and beats against a known score, holds/ties/rests, pickups and
3/4 bars, transposition bounds, the committed split, the cache."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("music21")

from rtcore.accompany import data  # noqa: E402
from rtcore.accompany.tokens import HOLD, PITCH0, PITCH_HI, PITCH_LO, REST, pitch_token  # noqa: E402

H = HOLD


def tok(name: str) -> int:
    from music21 import pitch

    return pitch_token(int(pitch.Pitch(name).midi))


@pytest.fixture(scope="module")
def chorales():
    return data.load_chorales(progress=False)


def test_bwv66_6_first_steps_match_the_score():
    c = data.parse_chorale("bach/bwv66.6")
    # a one-beat 4/4 pickup: soprano C#5 B4 (8ths), then bar 1: A4 B4 C#5 E5 (quarters)
    assert c.tokens[:12, 0].tolist() == [tok("C#5"), H, tok("B4"), H, tok("A4"), H, H, H, tok("B4"), H, H, H]
    assert c.tokens[:8, 1].tolist() == [tok("E4"), H, H, H, tok("F#4"), H, H, H]            # alto
    assert c.tokens[:8, 2].tolist() == [tok("A3"), H, tok("B3"), H, tok("C#4"), H, H, H]     # tenor
    assert c.tokens[:8, 3].tolist() == [tok("A3"), H, tok("G#3"), H, tok("F#3"), H, H, H]    # bass
    assert c.beats[:8].tolist() == [12, 13, 14, 15, 0, 1, 2, 3]
    assert c.beats.max() == 15 and c.beats.min() == 0


def _score(soprano, time_sig="4/4"):
    """A 4-part music21 score: the soprano from (name or 'r', quarterLength, tie) items, the others
    one whole rest per bar."""
    from music21 import meter, note, stream, tie

    sc = stream.Score()
    for pid in data.PART_IDS:
        p = stream.Part(id=pid)
        p.append(meter.TimeSignature(time_sig))
        if pid == "Soprano":
            for name, ql, t in soprano:
                n = note.Rest(quarterLength=ql) if name == "r" else note.Note(name, quarterLength=ql)
                if t:
                    n.tie = tie.Tie(t)
                p.append(n)
        else:
            total = sum(ql for _, ql, _ in soprano)
            p.append(note.Rest(quarterLength=total))
        m = p.makeMeasures()
        m.id = pid
        sc.insert(0, m)
    return sc


def test_hold_tie_and_rest_tokens():
    sc = _score([("C4", 1.0, "start"), ("C4", 0.5, "stop"), ("r", 0.5, None), ("D4", 0.25, None),
                 ("E4", 1.75, None)])
    c = data.parse_chorale(sc, "made")
    s = c.tokens[:, 0].tolist()
    assert s[:6] == [tok("C4"), H, H, H, H, H]          # tied C4 = one note of 6 16ths
    assert s[6:8] == [REST, REST]
    assert s[8:10] == [tok("D4"), tok("E4")]
    assert s[10:16] == [H] * 6
    assert (c.tokens[:, 1:] == REST).all()
    assert c.beats.tolist() == list(range(16))


def test_three_four_bars_count_to_eleven():
    sc = _score([("C4", 3.0, None), ("D4", 3.0, None)], "3/4")
    c = data.parse_chorale(sc, "waltz")
    assert c.beats.tolist() == list(range(12)) * 2


def test_non_satb_scores_are_dropped():
    from music21 import stream

    sc = _score([("C4", 4.0, None)])
    sc.remove(sc.parts[1])
    assert data.parse_chorale(sc, "three parts") is None
    assert isinstance(sc, stream.Score)


def test_transposition_stays_in_range():
    t = np.array([[REST, HOLD, pitch_token(PITCH_HI - 2), pitch_token(60)]])
    up2 = data.transpose(t, 2)
    assert up2.tolist() == [[REST, HOLD, pitch_token(PITCH_HI), pitch_token(62)]]
    assert data.transpose(t, 3) is None
    low = np.array([[pitch_token(PITCH_LO + 1)]])
    assert data.transpose(low, -1) is not None and data.transpose(low, -2) is None


def test_transposed_training_set(chorales):
    base = data.split_arrays("train", limit=10, progress=False)
    tr = data.split_arrays("train", transposed=True, limit=10, progress=False)
    assert len(base) < len(tr) <= 12 * len(base)
    for c in tr:
        assert c.tokens.min() >= 0 and c.tokens.max() <= PITCH0 + PITCH_HI - PITCH_LO
    first = {c.id: c for c in tr}
    b = base[0]
    up = first[f"{b.id}@+2"]
    pitched = b.tokens >= PITCH0
    assert (up.tokens[pitched] == b.tokens[pitched] + 2).all()
    assert (up.tokens[~pitched] == b.tokens[~pitched]).all()


def test_split_is_disjoint_covers_the_corpus_and_is_reproducible(chorales):
    split = data.load_split()
    sets = {k: set(v) for k, v in split.items()}
    assert not sets["train"] & sets["valid"] and not sets["train"] & sets["test"] and not sets["valid"] & sets["test"]
    ids = {c.id for c in chorales}
    assert sets["train"] | sets["valid"] | sets["test"] == ids
    assert len(ids) >= 340
    assert 0.75 < len(sets["train"]) / len(ids) < 0.85 and len(sets["test"]) >= 30
    assert data.make_split(sorted(ids), seed=json.loads(data.SPLIT_FILE.read_text())["seed"]) == split
    train_ids = {c.id.split("@")[0] for c in data.split_arrays("train", transposed=True, progress=False)}
    assert not train_ids & sets["test"]


def test_cache_round_trip(tmp_path, monkeypatch, chorales):
    monkeypatch.setenv("RTCORE_CACHE", str(tmp_path))
    few = chorales[:3]
    built = []
    monkeypatch.setattr(data, "build", lambda progress=True: built.append(1) or few)
    first = data.load_chorales(progress=False)               # missing -> built and written
    assert built == [1] and data.cache_path().exists()
    data._LOADED.clear()
    monkeypatch.setattr(data, "build", lambda progress=True: pytest.fail("rebuilt a valid cache"))
    again = data.load_chorales(progress=False)
    assert [c.id for c in again] == [c.id for c in few]
    for a, b in zip(again, first):
        assert (a.tokens == b.tokens).all() and (a.beats == b.beats).all()
    # another version is not read
    with np.load(data.cache_path()) as z:
        content = dict(z)
    content["version"] = np.int64(data.CACHE_VERSION + 1)
    np.savez(data.cache_path(), **content)
    assert data.read_cache(data.cache_path()) is None
    data._LOADED.clear()
