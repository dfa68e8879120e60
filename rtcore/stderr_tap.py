"""Counting the MIDI messages RtMidi drops, which it reports only as a line on stderr.

RtMidi (5.0, inside python-rtmidi 1.5.8) keeps incoming messages in a ring of
``queue_size_limit`` entries until they are read. When the ring is full, its input thread
(JACK's process thread, or its ALSA thread) throws the message away and writes
``"\\nMidiInJack: message queue limit reached!!\\n\\n"`` (``MidiInAlsa`` with ALSA) to
``std::cerr`` -- one write per lost message, and no counter, no callback, no error code.

:class:`StderrTap` turns those lines into a count: while it is open, file descriptor 2 is a
pipe whose reading thread counts (and swallows) RtMidi's loss lines and passes every other
byte on to the original stderr unchanged. The pipe is enlarged (1 MiB where the kernel
allows) so that RtMidi's thread, which blocks on a full pipe, never waits for the reader:
that would take 20,000+ lost messages the reader had not yet read.

The tap is process-wide (there is only one fd 2): :func:`acquire` opens it on first use and
:func:`release` closes it after the last user. Counts are shared by every input of the
process; a user reads the difference of :attr:`StderrTap.lost` since it started.
"""
from __future__ import annotations

import fcntl
import os
import select
import sys
import threading

LOSS_LINES = (b"\nMidiInJack: message queue limit reached!!\n\n",
              b"\nMidiInAlsa: message queue limit reached!!\n\n")
"""What RtMidi 5.0 writes to std::cerr for each message its full input queue drops."""
PIPE_BYTES = 1 << 20            # requested pipe capacity (Linux F_SETPIPE_SZ; else the default 64 KiB)
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)     # Linux
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_READ_BYTES = 65536
_PARTIAL_WAIT_S = 0.02          # a held partial line is passed on if nothing follows within this


class StderrTap:
    """fd 2 through a pipe: counts :data:`LOSS_LINES`, forwards the rest. Use :func:`acquire`."""

    def __init__(self) -> None:
        self.lost = 0                    # loss lines seen so far (only the reader thread writes it)
        self.capacity = 0                # the pipe's capacity in bytes
        self._saved: int | None = None   # the original fd 2
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Put the pipe on fd 2 and start the reader. Raises OSError when that cannot be done
        (no fd 2, no pipes left); fd 2 is then unchanged."""
        _flush_python_stderr()
        saved = os.dup(2)                                  # OSError if there is no fd 2
        try:
            r, w = os.pipe2(os.O_CLOEXEC)
        except OSError:
            os.close(saved)
            raise
        try:
            fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass                                           # not Linux, or above pipe-max-size: keep the default
        try:
            self.capacity = fcntl.fcntl(w, _F_GETPIPE_SZ)
        except OSError:
            self.capacity = 65536
        os.set_inheritable(saved, False)
        os.dup2(w, 2)                                      # fd 2 keeps its inheritable flag
        os.close(w)
        self._saved = saved
        out = os.dup(saved)                                # the reader's own: it closes r and out
        os.set_inheritable(out, False)
        self._thread = threading.Thread(target=self._run, args=(r, out), name="rtcore-stderr-tap", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Give fd 2 back and stop the reader once it has passed on what was written."""
        if self._saved is None:
            return
        _flush_python_stderr()
        os.dup2(self._saved, 2)            # normally the pipe's last writer: the reader sees EOF and ends
        os.close(self._saved)
        self._saved = None
        if self._thread is not None:       # (a copy of the write end elsewhere, e.g. in a child process,
            self._thread.join(timeout=2.0)  # keeps the reader passing its output on until it closes)
        self._thread = None

    # [the reader thread]
    def _run(self, fd: int, out: int) -> None:
        try:
            self._pump(fd, out)
        finally:
            os.close(fd)
            os.close(out)

    def _pump(self, fd: int, out: int) -> None:
        held = b""
        while True:
            if held:                        # a partial line: the rest is normally in the pipe already
                ready, _, _ = select.select([fd], [], [], _PARTIAL_WAIT_S)
                if not ready:
                    _write_all(out, held)
                    held = b""
                    continue
            try:
                chunk = os.read(fd, _READ_BYTES)
            except InterruptedError:
                continue
            except OSError:
                break
            if not chunk:                   # every writer closed: fd 2 was given back
                break
            counted, passed, held = split_loss_lines(held + chunk)
            self.lost += counted
            if passed:
                _write_all(out, passed)
        if held:
            _write_all(out, held)


def split_loss_lines(data: bytes) -> tuple[int, bytes, bytes]:
    """(loss lines in ``data``, the other bytes to pass on, a tail to hold back because it may
    be the start of a loss line whose rest has not been read yet)."""
    count = 0
    for line in LOSS_LINES:
        n = data.count(line)
        if n:
            count += n
            data = data.replace(line, b"")
    keep = 0
    for line in LOSS_LINES:
        for k in range(min(len(line) - 1, len(data)), keep, -1):
            if data.endswith(line[:k]):
                keep = k
                break
    return count, data[:len(data) - keep], data[len(data) - keep:]


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        except OSError:
            return                           # the original stderr is gone: nothing to pass on to
        data = data[n:]


def _flush_python_stderr() -> None:
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - no usable sys.stderr
        pass


_lock = threading.Lock()
_tap: StderrTap | None = None
_users = 0


def acquire() -> StderrTap:
    """The process's tap, opened by the first user (OSError if it cannot be opened)."""
    global _tap, _users
    with _lock:
        if _tap is None:
            tap = StderrTap()
            tap.open()
            _tap = tap
        _users += 1
        return _tap


def release() -> None:
    """One user less; the last one closes the tap (fd 2 is the original again)."""
    global _tap, _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0 and _tap is not None:
            _tap.close()
            _tap = None
