"""Typed exceptions. Every C error code goes through :func:`check`, which raises the
matching subclass of :class:`RtCoreError` (each also inherits the closest built-in
exception, so ``except ValueError`` works where it should)."""
from __future__ import annotations


# line breaks (everything str.splitlines() splits on) and other control characters -> escapes
_ESCAPES = {c: repr(chr(c))[1:-1] for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]}


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters escaped as Python writes them
    (``\\n``, ``\\x1b`` ...): a message that quotes what the user wrote -- a TOML key, an OSC
    address, a file name -- still prints as one line."""
    return text.translate(_ESCAPES)


class RtCoreError(Exception):
    """Base class of every rtcore error. ``code`` is the C RT_ERR_* value (or 0).
    The message is always one line (see :func:`one_line`)."""

    code: int = 0

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(one_line(str(message)))
        if code is not None:
            self.code = code


class OutOfMemoryError(RtCoreError, MemoryError):
    code = -1


class InvalidArgumentError(RtCoreError, ValueError):
    code = -2


class EngineStateError(RtCoreError, RuntimeError):
    code = -3


class QueueFullError(RtCoreError, BufferError):
    code = -4


class NotFoundError(RtCoreError, KeyError):
    code = -5

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParamRangeError(RtCoreError, ValueError):
    code = -6


class GraphCycleError(RtCoreError, ValueError):
    code = -7


class DeviceError(RtCoreError, OSError):
    code = -8


class FormatError(RtCoreError, ValueError):
    code = -9


class PatchError(RtCoreError, ValueError):
    """A patch file is invalid. The message names the file, table, key and allowed values."""


class PathNotAllowedError(PatchError):
    """A patch (or an OSC ``/rtcore/patch/load``) names a file outside the folders it may read
    from (see :mod:`rtcore.allowed_paths`). The message names the file, the key and how to allow it."""


class MediaFileError(RtCoreError, ValueError):
    """A MIDI or audio file could not be read (not that format, or damaged)."""


class ModelError(RtCoreError, ValueError):
    """An AI step model (.onnx) is unusable: not ONNX, or not the step contract in rtcore.h.
    Also raised when ONNX Runtime itself cannot be loaded. The message names the file."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """The model file (or the ONNX Runtime library) does not exist."""


_BY_CODE: dict[int, type[RtCoreError]] = {
    cls.code: cls
    for cls in (OutOfMemoryError, InvalidArgumentError, EngineStateError, QueueFullError,
                NotFoundError, ParamRangeError, GraphCycleError, DeviceError, FormatError)
}


def check(code: int, what: str, *, detail: str = "",
          classes: dict[int, type[RtCoreError]] | None = None) -> int:
    """Return ``code`` if it is >= 0, else raise the matching :class:`RtCoreError`.

    ``what`` says what was being done, e.g. ``"add node 'pad' (synth)"``. ``detail``: a one-line
    message from the C side that already says everything (it replaces ``what: <error text>``).
    ``classes`` maps codes to more specific exception classes (e.g. :class:`ModelError`).
    """
    if code >= 0:
        return code
    from ._native import ffi, lib

    cls = (classes or {}).get(code) or _BY_CODE.get(code, RtCoreError)
    if detail:
        raise cls(detail, code)
    text = ffi.string(lib.rt_strerror(code)).decode()
    if code == lib.RT_ERR_DEVICE:
        detail = ffi.string(lib.rt_audio_last_error()).decode()
        if detail:
            text = f"{text}: {detail}"
    raise cls(f"{what}: {text}", code)
