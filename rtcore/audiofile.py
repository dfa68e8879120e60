"""WAV in and out (libsndfile through the ``soundfile`` package): float32 (frames, channels)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import MediaFileError
from .paths import is_file

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file. Returns (float32 array of shape (frames, channels), sample rate Hz).

    Raises :class:`MediaFileError` with one line naming the file when it is missing, empty,
    or not an audio file libsndfile understands (WAV, AIFF, FLAC, OGG)."""
    import soundfile as sf

    path = Path(path)
    if not is_file(path):
        raise MediaFileError(f"{path}: no such audio file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as exc:
        raise MediaFileError(f"{path}: not a readable audio file (WAV, AIFF, FLAC, OGG): {exc}") from None
    if data.shape[0] == 0:
        raise MediaFileError(f"{path}: the audio file has no frames")
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.ascontiguousarray(data), int(sr)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int, bits: str = "24") -> None:
    """Write (frames, channels) float audio as WAV. ``bits``: "16", "24" or "32f" (float)."""
    import soundfile as sf

    if bits not in SUBTYPES:
        raise ValueError(f"bits must be one of {', '.join(SUBTYPES)} (got {bits!r})")
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(audio, dtype=np.float32)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with sf.SoundFile(str(path), "w", int(sample_rate), channels, SUBTYPES[bits], format="WAV") as f:
        _no_peak_chunk(f)
        f.write(data)


_SFC_SET_ADD_PEAK_CHUNK = 0x1050   # sndfile.h


def _no_peak_chunk(f) -> None:
    """libsndfile adds a PEAK chunk holding the wall-clock time to float WAVs, which would make
    two renders of the same input differ. Turn it off (soundfile has no public call for it)."""
    try:
        from soundfile import _snd  # type: ignore[attr-defined]
        _snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf_null(), 0)
    except (ImportError, AttributeError):   # a soundfile without these internals: bytes may differ
        pass


def sf_null():
    from soundfile import _ffi  # type: ignore[attr-defined]
    return _ffi.NULL
