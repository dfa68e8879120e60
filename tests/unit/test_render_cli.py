"""Offline render through the CLI: shipped patches work out of the box, renders are
deterministic and block-size independent, bad files give one clear line, never a traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rtcore import GraphSpec, NodeSpec  # noqa: F401 - import check
from rtcore.patch import load_patch
from rtcore.render import render_patch

ROOT = Path(__file__).resolve().parents[2]
PATCHES = ROOT / "patches"


def rtcore(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtcore", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("patch", sorted(p.name for p in PATCHES.glob("*.toml")))
def test_every_shipped_patch_validates(patch):
    p = load_patch(PATCHES / patch)
    assert p.graph.nodes


def test_demo_render_writes_the_song(tmp_path):
    out = tmp_path / "demo.wav"
    r = rtcore("render", "patches/band.toml", "--midi", "patches/band_demo.mid", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    assert "%|" in r.stderr                      # a progress bar: the song is 20 s long
    audio, sr = sf.read(str(out), always_2d=True)
    assert sr == 48000 and audio.shape[1] == 2
    assert audio.shape[0] == pytest.approx((20.0 + load_patch(PATCHES / "band.toml").tail) * sr, abs=sr * 0.1)
    assert np.abs(audio).max() <= 10 ** (-0.3 / 20) + 1e-4      # the master limiter's ceiling
    loud = [np.sqrt(np.mean(audio[i:i + sr] ** 2)) for i in range(0, 20 * sr, sr)]
    assert min(loud) > 0.01                      # every second of the song sounds


def test_render_is_bit_identical_and_block_size_independent(tmp_path):
    patch = load_patch(PATCHES / "band.toml")
    outs = [render_patch(patch, midi=PATCHES / "band_demo.mid", seconds=3.0, block=b, progress=False).audio
            for b in (1, 64, 1024)]
    again = render_patch(patch, midi=PATCHES / "band_demo.mid", seconds=3.0, block=64, progress=False).audio
    assert np.array_equal(outs[1], again)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])
    assert np.abs(outs[0]).max() > 0.05


def test_cli_render_files_are_identical(tmp_path):
    """Byte-identical files, even a second apart (libsndfile's float WAV PEAK chunk holds a
    timestamp; rtcore turns it off)."""
    import time
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    for k, out in enumerate((a, b)):
        if k:
            time.sleep(1.1)
        r = rtcore("render", "patches/keys.toml", "--midi", "patches/melody.mid", "--out", str(out),
                   "--seconds", "3", "--bits", "32f")
        assert r.returncode == 0, r.stderr
    assert a.read_bytes() == b.read_bytes()


def test_effects_chain_processes_an_input_wav(tmp_path):
    sr = 48000
    t = np.arange(sr) / sr
    x = np.zeros((2 * sr, 2), np.float32)
    x[:sr // 10, 0] = x[:sr // 10, 1] = 0.5 * np.sin(2 * np.pi * 440 * t[:sr // 10])
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(src), x, sr, subtype="FLOAT")
    r = rtcore("render", "patches/fx_chain.toml", "--input", str(src), "--out", str(out), "--bits", "32f")
    assert r.returncode == 0, r.stderr
    y, _ = sf.read(str(out), always_2d=True)
    assert y.shape[0] == 2 * sr + int(load_patch(PATCHES / "fx_chain.toml").tail * sr)
    assert np.abs(y[: sr // 10]).max() > 0.1                  # the dry sound passes
    assert np.sqrt(np.mean(y[sr // 2: sr] ** 2)) > 1e-3       # echoes and room after the burst ended
    assert np.abs(y[-sr // 10:]).max() < np.abs(y[: sr // 10]).max() * 0.05   # the tail decays


def test_not_a_midi_file(tmp_path):
    bad = tmp_path / "song.mid"
    bad.write_bytes(b"RIFF....WAVEfmt not midi at all")
    r = rtcore("render", "patches/keys.toml", "--midi", str(bad), "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "song.mid" in r.stderr and "not a readable MIDI file" in r.stderr
    assert "Traceback" not in r.stderr


def test_truncated_midi_file(tmp_path):
    good = (PATCHES / "melody.mid").read_bytes()
    bad = tmp_path / "cut.mid"
    bad.write_bytes(good[: len(good) // 2])
    r = rtcore("render", "patches/keys.toml", "--midi", str(bad), "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "cut.mid" in r.stderr and "Traceback" not in r.stderr


def test_not_a_wav_file(tmp_path):
    bad = tmp_path / "in.wav"
    bad.write_text("hello")
    r = rtcore("render", "patches/fx_chain.toml", "--input", str(bad), "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2
    assert "in.wav" in r.stderr and "not a readable audio file" in r.stderr and "Traceback" not in r.stderr


def test_wav_at_the_wrong_rate_is_explained(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(str(src), np.zeros((4410, 2), np.float32), 44100)
    r = rtcore("render", "patches/fx_chain.toml", "--input", str(src), "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "44100 Hz" in r.stderr and "--sample-rate 44100" in r.stderr
    r = rtcore("render", "patches/fx_chain.toml", "--input", str(src), "--out", str(tmp_path / "x.wav"),
               "--sample-rate", "44100")
    assert r.returncode == 0, r.stderr


def test_unknown_patch_key_via_cli(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[[node]]\nname = "amp"\ntype = "gain"\nvolume = 3\n')
    r = rtcore("check", str(p))
    assert r.returncode == 2
    assert r.stderr.strip() == (f"rtcore: error: {p}: [[node]] 'amp': unknown key 'volume': not a gain parameter "
                                "(allowed: gain, mute)")


def test_missing_inputs_and_patch(tmp_path):
    r = rtcore("render", "patches/keys.toml", "--midi", str(tmp_path / "none.mid"), "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "no such MIDI file" in r.stderr
    r = rtcore("render", str(tmp_path / "none.toml"), "--seconds", "1", "--out", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "no such patch file" in r.stderr


def test_nodes_lists_parameter_tables():
    r = rtcore("nodes", "gain")
    assert r.returncode == 0 and "gain" in r.stdout and "-96..24 dB" in r.stdout
    r = rtcore("nodes", "nope")
    assert r.returncode == 2 and "unknown node type" in r.stderr
