"""Reading files the user names (patches, samples, MIDI files, models, plugins) without being
tripped by what the name points at: a name the OS refuses (longer than NAME_MAX) is simply not a
file, and a patch is read only from a regular file of bounded size -- never from a device such
as /dev/zero, which would fill memory, or a FIFO, which would block the caller forever."""
from __future__ import annotations

import stat
from pathlib import Path


def is_file(path: Path) -> bool:
    """``path.is_file()``, but False (not an OSError) for a name the OS refuses (too long ...)."""
    try:
        return path.is_file()
    except OSError:
        return False


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes`` bytes.

    Raises ``FileNotFoundError``/``OSError`` as ``open`` does, and ``ValueError`` (one line)
    when it is not a regular file or is larger than ``max_bytes``."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("not a regular file")
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    return data
