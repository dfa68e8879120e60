"""The journaling recorder offline: the recovered WAV is the engine's output sample for sample,
the MIDI file holds every note that came in and every note the AI played, parameter changes are
kept as text; a torn journal recovers; a full ring is counted and written as a gap; a full disk
stops the recording with one line while the audio plays on."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

import rtcore as rc
from rtcore._native import lib
from rtcore.errors import RtCoreError
from rtcore.record import AUDIO_FILE, EVENTS_FILE, EVENT_DTYPE, Recorder
from rtcore.recover import recover

ROOT = Path(__file__).resolve().parents[2]
SR = 48000

TONE_PATCH = """
[engine]
limiter = false
[[node]]
name = "keys"
type = "synth"
wave = "sine"
attack = 1
release = 5
level = -12
"""


def melody_events(n: int = 6, step: int = 12000, param: bool = True) -> list[rc.Event]:
    evs = [rc.Event.transport(True, 96.0, 0)]
    for i in range(n):
        evs += [rc.Event.note_on(60 + i, 90, 1, i * step), rc.Event.note_off(60 + i, 1, i * step + step // 2)]
    if param:
        evs.append(rc.Event.param_set("keys", "cutoff", 1500.0, step))
    return evs


def wait_written(rec: Recorder, frames: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while rec.counters.frames < frames and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_take_is_the_engine_output_and_every_event(tmp_path, write_patch):
    patch = rc.load_patch(write_patch(TONE_PATCH))
    folder = tmp_path / "take1"
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        rec = Recorder(eng, folder, patch.name).start()
        y = eng.render_events(melody_events(), 80000, block=100)
        wait_written(rec, 80000)
        rec.stop()
        st = eng.stats()
    assert st.record_frames == 80000 and st.record_dropped_frames == 0 and st.record_dropped_events == 0
    r = recover(folder, bits="32f")
    audio, sr = sf.read(r.wav, dtype="float32")
    assert sr == SR and audio.shape == y.shape and np.array_equal(audio, y)       # sample for sample
    mf = mido.MidiFile(r.mid)
    tracks = {t.name: t for t in mf.tracks}
    ons = [m for m in tracks["input"] if m.type == "note_on"]
    assert [m.note for m in ons] == [60, 61, 62, 63, 64, 65] and r.input_notes == 6
    texts = [m.text for m in tracks["control"] if m.type == "text"]
    assert "keys.cutoff = 1500" in texts and "transport play 96 BPM" in texts
    # note times in the MIDI file are the engine frames, at 960 ticks per second
    t, times = 0, []
    for m in tracks["input"]:
        t += m.time
        if m.type == "note_on":
            times.append(t)
    assert times == [round(i * 12000 / SR * 960) for i in range(6)]


def test_the_ai_s_notes_are_journaled(tmp_path):
    if not (ROOT / "models" / "chorale.onnx").exists():
        pytest.skip("models/chorale.onnx is not built")
    patch = rc.load_patch(ROOT / "patches" / "chorale.toml")
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        rec = Recorder(eng, tmp_path / "duet").start()
        eng.render_events(melody_events(8, 18000, param=False), 8 * 18000, block=128)
        wait_written(rec, 8 * 18000)
        rec.stop()
        played = [n for n in eng.poll_notes() if n[1] == lib.RT_EV_NOTE_ON]
    r = recover(tmp_path / "duet")
    assert r.ai_notes == len(played) > 8
    names = [t.name for t in mido.MidiFile(r.mid).tracks]
    assert {"AI channel 2", "AI channel 3", "AI channel 4"} <= set(names)


def test_a_torn_journal_recovers_to_the_last_whole_record(tmp_path, write_patch):
    patch = rc.load_patch(write_patch(TONE_PATCH))
    folder = tmp_path / "torn"
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        rec = Recorder(eng, folder).start()
        y = eng.render_events(melody_events(), 48000, block=128)
        wait_written(rec, 48000)
        rec.stop()
    # a crash in the middle of two writes: half a frame, half an event record
    with open(folder / AUDIO_FILE, "ab") as f:
        f.write(b"\x01\x02\x03")
    with open(folder / EVENTS_FILE, "ab") as f:
        f.write(bytes(EVENT_DTYPE.itemsize - 5))
    with open(folder / "nodes.jsonl", "a") as f:
        f.write('{"graph": 9, "nod')
    r = recover(folder, bits="32f")
    assert r.torn_bytes == 3 + EVENT_DTYPE.itemsize - 5 and r.frames == 48000 and r.input_notes == 4
    assert np.array_equal(sf.read(r.wav, dtype="float32")[0], y)


def test_a_full_ring_is_counted_and_written_as_a_gap(tmp_path, write_patch):
    """The writer stalls (a slow disk): the ring fills, the audio thread drops what does not fit
    and counts it, never waits; the journal writes the hole as silence where it was."""
    import threading

    patch = rc.load_patch(write_patch(TONE_PATCH))
    folder = tmp_path / "slow"
    chunk, cap = lib.RT_REC_CHUNK, lib.RT_REC_AUDIO_SLOTS * lib.RT_REC_CHUNK
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        rec = Recorder(eng, folder)
        disk_free = threading.Event()
        drain = rec._drain
        rec._drain = lambda: (disk_free.wait(), drain())   # a disk that does not take writes yet
        rec.start()
        try:
            eng.render(cap + 10 * chunk, block=chunk)
            st = eng.stats()
            assert st.record_frames == cap and st.record_dropped_frames == 10 * chunk
            disk_free.set()
            wait_written(rec, cap)
            eng.render(4 * chunk, block=chunk)             # journaled again, after the hole
            wait_written(rec, cap + 14 * chunk)
            disk_free.clear()                              # stalls again: a hole at the very end,
            time.sleep(0.1)                                # with no later chunk to reveal it
            eng.render(cap + 30 * chunk, block=chunk)
        finally:
            disk_free.set()
            rec.stop()
        lost = eng.stats().record_dropped_frames
    r = recover(folder)
    assert lost == 40 * chunk and r.gap_frames == lost
    assert r.frames == 2 * cap + 44 * chunk                 # every frame has its place in the WAV


def test_a_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "x").write_text("old take")
    with rc.Engine(SR, 1024) as eng:
        with pytest.raises(RtCoreError, match="not empty"):
            Recorder(eng, tmp_path).start()
    with pytest.raises(RtCoreError, match="not a recording"):
        recover(tmp_path)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (as root; skipped where mounting is not allowed)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.decode().strip()})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_stops_the_recording_and_the_audio_plays_on(small_disk, write_patch):
    patch = rc.load_patch(write_patch(TONE_PATCH))
    logs: list[str] = []
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        rec = Recorder(eng, small_disk / "take", log=logs.append).start()
        chunks = []
        for _ in range(8):                          # 8 s of audio: 3 MB, the disk holds 1 MB
            chunks.append(eng.render_events(melody_events(), SR, block=128))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while rec.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rec.error is not None and "No space left on device" in rec.error and "\n" not in rec.error
        assert not rec.recording and any("recording stopped" in line for line in logs)
        after = eng.render_events(melody_events(), SR, block=128)       # the engine plays on
        rec.stop()
    assert np.abs(after).max() > 0.1 and np.isfinite(after).all()
    r = recover(small_disk / "take", wav=small_disk.parent / "t.wav", mid=small_disk.parent / "t.mid")
    assert r.frames > SR and r.input_notes >= 6                      # what fit on the disk is kept
