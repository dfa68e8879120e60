"""Personal accompaniment: a player's multi-track MIDI files -> tokens, `rtcore train --data`
(fine-tuning the shipped model lowers the held-out loss), the tuned model plays in the engine,
`rtcore evaluate --data` scores it against its base."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore.accompany.example_songs import write_example_songs, write_song
from rtcore.accompany.songs import SongError, choose_tracks, load_folder, read_midi_song, song_tokens
from rtcore.accompany.tokens import HOLD, PITCH0, PITCH_LO, REST
from rtcore.cli import main
from rtcore.engine import lib

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "models" / "chorale.onnx"


def tok(midi: int) -> int:
    return PITCH0 + midi - PITCH_LO


# ---- reading songs ------------------------------------------------------------------------------

def test_tracks_are_chosen_by_name_then_register(tmp_path):
    f = tmp_path / "a.mid"
    write_song(f, {"Piano LH": [(0, 960, 40)], "Guitar": [(0, 960, 55)], "Vocal": [(0, 480, 62)]})
    song = read_midi_song(f)
    assert [t.name for t in song.tracks] == ["Piano LH", "Guitar", "Vocal"]
    assert choose_tracks(song) == (2, [0, 1])                     # "Vocal" names the melody
    write_song(f, {"A": [(0, 960, 40)], "B": [(0, 960, 76)], "C": [(0, 960, 55)]})
    assert choose_tracks(read_midi_song(f)) == (1, [0, 2])        # else the highest track
    assert choose_tracks(read_midi_song(f), melody="c", accomp=["a"]) == (2, [0])
    with pytest.raises(SongError, match="no track named like 'drums'.*0 'A'; 1 'B'; 2 'C'"):
        choose_tracks(read_midi_song(f), melody="drums")


def test_a_chord_track_is_folded_into_alto_tenor_bass_by_register(tmp_path):
    f = tmp_path / "c.mid"
    # melody: C5 for a quarter then D5 held; one piano track: a C major triad for a half note
    write_song(f, {"Lead": [(0, 480, 72), (480, 960, 74)], "Piano": [(0, 960, 48), (0, 960, 52), (0, 960, 55)]})
    ts = song_tokens(read_midi_song(f))
    assert ts.tokens.shape == (8, 4)
    assert list(ts.tokens[:, 0]) == [tok(72), HOLD, HOLD, HOLD, tok(74), HOLD, HOLD, HOLD]
    assert list(ts.tokens[0, 1:]) == [tok(55), tok(52), tok(48)]  # alto = top, tenor, bass = lowest
    assert (ts.tokens[1:, 1:] == HOLD).all()
    assert list(ts.beats) == list(range(8))


def test_drums_and_unusable_files_are_skipped_with_one_line(tmp_path):
    import mido

    write_example_songs(tmp_path, 2, bars=2)
    (tmp_path / "broken.mid").write_bytes(b"MThd garbage")
    mid = mido.MidiFile(type=1)                  # a drum track only: nothing to learn from
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
                                      mido.Message("note_off", channel=9, note=36, velocity=0, time=240)]))
    mid.save(str(tmp_path / "drums.mid"))
    lines: list[str] = []
    songs = load_folder(tmp_path, warn=lines.append)
    assert sorted(s.id for s in songs) == ["song01.mid", "song02.mid"]
    assert len(lines) == 2 and all("\n" not in x for x in lines)
    assert any("broken.mid: not a readable MIDI file" in x for x in lines)
    assert any("drums.mid" in x and "accompaniment" in x for x in lines)


def test_a_folder_without_midi_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rtcore: error: {tmp_path}: no MIDI files (*.mid, *.midi) in it"]


# ---- fine-tuning --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    d = tmp_path_factory.mktemp("personal")
    write_example_songs(d / "songs", 8, bars=8)
    out = d / "mine.onnx"
    rc_ = main(["train", "--data", str(d / "songs"), "--base", str(BASE), "--out", str(out), "--epochs", "3",
                "--minutes", "5", "--no-progress"])
    assert rc_ == 0
    return d, out


def test_fine_tuning_lowers_the_held_out_loss(tuned):
    import onnx

    d, out = tuned
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["base"] == "chorale.onnx" and meta["songs_held_out"] == "1"
    assert float(meta["val_nll_tuned"]) < float(meta["val_nll_base"]) - 0.3, meta
    split = json.loads(out.with_suffix(".split.json").read_text())
    assert len(split["held_out"]) == 1 and not set(split["held_out"]) & set(split["train"])
    log = out.with_suffix(".train.log").read_text()
    assert "data: 7 training songs" in log and "held-out NLL of the base model" in log


def test_the_tuned_model_plays_in_the_engine(tuned):
    _, out = tuned
    ai = rc.NodeSpec("harm", "ai", {}, channel=1, config={"model": str(out)})
    g = rc.GraphSpec(nodes=[rc.NodeSpec("lead", "synth", {}, channel=1), ai, rc.NodeSpec("band", "synth", {}, channel=0)],
                     event_connections=[("harm", "band")])
    evs = [rc.Event.transport(True, 100.0, 0)]
    for i, n in enumerate([72, 74, 76, 79, 76, 74, 72, 71]):
        evs += [rc.Event.note_on(n, 100, 1, i * 28800), rc.Event.note_off(n, 1, i * 28800 + 24000)]
    with rc.Engine(48000, 1024) as e:
        e.load(g)
        y = e.render_events(evs, 48000 * 5)
        notes = e.poll_notes()
        st = e.stats()
    assert st.ai_steps >= 33 and np.abs(y).max() > 0.01 and np.isfinite(y).all()
    assert sum(1 for n in notes if n[1] == lib.RT_EV_NOTE_ON) > 10


def test_evaluate_scores_the_held_out_songs_against_the_base(tuned, capsys):
    d, out = tuned
    js = d / "eval.json"
    assert main(["evaluate", "--model", str(out), "--data", str(d / "songs"), "--json", str(js), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "1 held-out songs of 8" in text and "tuned model, teacher-forced" in text and "base model" in text
    r = json.loads(js.read_text())
    assert r["info_songs"] == 1 and Path(r["info_base"]).name == "chorale.onnx"
    assert r["nll_model"] < r["nll_base"]
    for key in ("note_in_chord_model", "parallels_per100_base", "crossing_original", "acc_model_tf_bass"):
        assert key in r


def test_a_corrupt_base_is_a_one_line_error(tmp_path, capsys):
    pytest.importorskip("torch")
    write_example_songs(tmp_path / "songs", 2, bars=2)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 100)
    assert main(["train", "--data", str(tmp_path / "songs"), "--base", str(bad), "--out", str(tmp_path / "m.onnx"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.onnx" in err[0], err


def test_a_corpus_style_reads_four_part_music_as_melody_and_three_voices():
    pytest.importorskip("music21")
    from rtcore.accompany.styles import load_style

    songs = load_style("renaissance", limit=1, progress=False)     # one Palestrina movement, not cached
    s = songs[0]
    assert s.id.startswith("palestrina/") and s.tokens.shape[1] == 4 and len(s.tokens) > 100
    assert (s.tokens[:, 0] >= PITCH0).any() and (s.tokens[:, 3] >= PITCH0).any()
    sounding = s.tokens[:, 1:] >= PITCH0
    assert sounding.mean() > 0.05
