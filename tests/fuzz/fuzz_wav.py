"""Fuzz audio file loading, ``rtcore.audiofile.read_audio`` (libsndfile through soundfile),
from arbitrary bytes written to a temporary file.

The seeds are small files written here by libsndfile in the formats a sampler patch may name:
WAV (16/24/32-bit PCM, 8-bit, float, double, u-law, a-law, IMA and MS ADPCM, GSM), WAVEX,
RF64, W64, AIFF, FLAC, OGG Vorbis, AU, CAF; mono and stereo, with odd lengths. libsndfile is C:
atheris cannot see its branches, so here the fuzzing is mutation-based around those seeds (with
a dictionary of chunk names), and coverage-guided only in rtcore's and soundfile's Python.

What a successful read promises (checked): a C-contiguous float32 array (frames, channels) with
at least one frame, 1 or more channels, only finite samples, and a positive sample rate. Any
failure must be a one-line MediaFileError naming the file.

    python tests/fuzz/fuzz_wav.py --runs 100000        # or -atheris_runs=1000000
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _harness import Finding, Fuzzer, OneInput

SEED_FORMATS = (("WAV", "PCM_16", 1), ("WAV", "PCM_24", 2), ("WAV", "PCM_32", 1), ("WAV", "PCM_U8", 1),
                ("WAV", "FLOAT", 2), ("WAV", "DOUBLE", 1), ("WAV", "ULAW", 1), ("WAV", "ALAW", 2),
                ("WAV", "IMA_ADPCM", 1), ("WAV", "MS_ADPCM", 2), ("WAV", "GSM610", 1), ("WAVEX", "PCM_16", 2),
                ("RF64", "PCM_16", 1), ("W64", "FLOAT", 1), ("AIFF", "PCM_16", 2), ("FLAC", "PCM_16", 1),
                ("FLAC", "PCM_24", 2), ("OGG", "VORBIS", 1), ("AU", "PCM_16", 1), ("CAF", "PCM_16", 1))


def make_target() -> OneInput:
    import numpy as np
    from rtcore.audiofile import read_audio

    path = Path(tempfile.mkdtemp(prefix="rtcore-fuzz-wav-")) / "in.wav"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        audio, sr = read_audio(path)
        if not (isinstance(audio, np.ndarray) and audio.dtype == np.float32 and audio.ndim == 2
                and audio.flags.c_contiguous):
            raise Finding("audio is not a C-contiguous float32 (frames, channels) array",
                          f"{type(audio).__name__} {getattr(audio, 'dtype', '')} {getattr(audio, 'shape', '')}")
        if audio.shape[0] < 1 or audio.shape[1] < 1:
            raise Finding("audio with no frames or no channels", str(audio.shape))
        if not np.all(np.isfinite(audio)):
            raise Finding("audio with NaN or Inf samples")
        if not (isinstance(sr, int) and sr > 0):
            raise Finding("sample rate not a positive integer", repr(sr))

    return one_input


def seeds(corpus: Path) -> None:
    import numpy as np
    import soundfile as sf

    for i, (fmt, subtype, channels) in enumerate(SEED_FORMATS):
        frames = 37 + 101 * (i % 3)
        t = np.arange(frames) / 8000.0
        x = 0.5 * np.sin(2 * np.pi * 440 * t)
        data = np.stack([x, -x], axis=1)[:, :channels] if channels == 2 else x
        ext = {"WAVEX": "wav", "RF64": "wav", "OGG": "ogg"}.get(fmt, fmt.lower())
        f = corpus / f"seed-{i:02d}-{fmt}-{subtype}.{ext}"
        try:
            sf.write(f, data, 8000 if fmt != "OGG" else 44100, subtype=subtype, format=fmt)
        except (RuntimeError, ValueError, TypeError):       # a libsndfile built without that codec
            f.unlink(missing_ok=True)


TOKENS = (b"RIFF", b"RIFX", b"RF64", b"WAVE", b"fmt ", b"data", b"fact", b"LIST", b"INFO", b"smpl", b"cue ",
          b"PEAK", b"ds64", b"FORM", b"AIFF", b"AIFC", b"COMM", b"SSND", b"fLaC", b"OggS", b"\x01vorbis",
          b".snd", b"caff", b"desc", b"\x01\x00", b"\x03\x00", b"\xfe\xff", b"\xff\xff\xff\xff", b"\x00\x00\x00\x80",
          b"\x80\xbb\x00\x00", b"\x44\xac\x00\x00")

FUZZER = Fuzzer("wav", make_target, seeds, instrument=("rtcore", "soundfile"), max_len=16384, dictionary=TOKENS)

if __name__ == "__main__":
    sys.exit(FUZZER.main())
