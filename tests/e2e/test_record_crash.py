"""The recorder survives `kill -9`: `rtcore play --record DIR` runs as its own process on a JACK
server and gets notes over OSC; the process is killed with SIGKILL half a second after the last
note; `rtcore recover DIR` then gives a WAV as long as the performance ran (up to the last flush)
and a MIDI file with every note that was played before the last flush -- nothing lost."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mido
import pytest
import soundfile as sf

from jack_helpers import RtcorePlay

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

PATCH = """
[engine]
limiter = false
[[node]]
name = "keys"
type = "synth"
wave = "sine"
attack = 1
release = 10
level = -12
"""


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_kill_9_loses_nothing_before_the_last_flush(jack_server, tmp_path):
    from rtcore.osc import wire

    patch = tmp_path / "rec.toml"
    patch.write_text(PATCH)
    take = tmp_path / "take"
    port = free_udp_port()
    play = RtcorePlay(patch, "--osc-port", str(port), "--no-midi", "--record", str(take))
    try:
        play.wait_for(f"recording to {take}")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(3.0)
        deadline = time.monotonic() + 15
        while True:                                   # the OSC server answers: the stream runs
            sock.sendto(wire.build("/rtcore/stats"), ("127.0.0.1", port))
            try:
                sock.recv(65536)
                break
            except (socket.timeout, TimeoutError):
                assert time.monotonic() < deadline, play.stderr
        t0 = time.monotonic()
        notes = list(range(60, 84))                   # 24 notes, 80 ms apart
        for n in notes:
            sock.sendto(wire.build("/rtcore/note", 1, n, 100), ("127.0.0.1", port))
            time.sleep(0.05)
            sock.sendto(wire.build("/rtcore/note", 1, n, 0), ("127.0.0.1", port))
            time.sleep(0.03)
        time.sleep(0.5)                               # > one flush (0.1 s) after the last note
        played = time.monotonic() - t0
        play.proc.send_signal(signal.SIGKILL)         # no goodbye: the journal is all there is
        play.proc.wait(timeout=10)
        sock.close()
    finally:
        play.kill()
    assert play.proc.returncode == -signal.SIGKILL
    assert not (take / "take.wav").exists()           # nobody wrote the take: recover must
    r = subprocess.run([sys.executable, "-m", "rtcore", "recover", str(take)], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    audio, sr = sf.read(take / "take.wav", dtype="float32")
    seconds = len(audio) / sr
    assert seconds >= played - 0.25, (seconds, played)     # the audio up to (nearly) the kill
    mf = mido.MidiFile(take / "take.mid")
    got = [m.note for t in mf.tracks if t.name == "input" for m in t if m.type == "note_on"]
    assert got == notes                                # every note: recorder_events_lost = 0
    offs = [m.note for t in mf.tracks if t.name == "input" for m in t if m.type == "note_off"]
    assert offs == notes
    assert abs(audio).max() > 0.1                      # and they sound in the recovered audio


def test_a_normal_end_writes_the_take(jack_server, tmp_path):
    patch = tmp_path / "rec.toml"
    patch.write_text(PATCH)
    take = tmp_path / "take"
    play = RtcorePlay(patch, "--no-osc", "--no-midi", "--seconds", "1.5", "--record", str(take))
    try:
        code = play.proc.wait(timeout=60)
    finally:
        play.kill()
    out = "".join(play.out)
    assert code == 0, play.stderr
    assert f"recorded " in out and str(take / "take.wav") in out
    audio, sr = sf.read(take / "take.wav")
    assert 1.4 <= len(audio) / sr <= 2.5
    assert mido.MidiFile(take / "take.mid").tracks


def test_bench_recorder_smoke(tmp_path):
    """benchmarks/bench_recorder.py on a few notes: it runs, writes its keys, loses nothing."""
    import json
    import os

    out = tmp_path / "rec.json"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_recorder.py"), "--json", str(out),
                        "--notes", "10", "--rate", "20"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["recorder_notes_sent"] == 10 and data["recorder_events_lost"] == 0
