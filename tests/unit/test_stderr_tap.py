"""rtcore.stderr_tap: RtMidi's "message queue limit reached" lines become a count; every other
byte written to fd 2 still reaches the original stderr."""
from __future__ import annotations

import ctypes
import os
import threading

from rtcore import stderr_tap
from rtcore.stderr_tap import LOSS_LINES, split_loss_lines

JACK_LOSS, ALSA_LOSS = LOSS_LINES


def test_split_counts_and_removes_the_loss_lines():
    data = b"hello\n" + JACK_LOSS * 3 + b"world!" + ALSA_LOSS
    assert split_loss_lines(data) == (4, b"hello\nworld!", b"")


def test_split_holds_back_what_may_be_the_start_of_a_loss_line():
    count, passed, held = split_loss_lines(b"text" + JACK_LOSS[:20])
    assert (count, passed, held) == (0, b"text", JACK_LOSS[:20])
    assert split_loss_lines(held + JACK_LOSS[20:] + b"more") == (1, b"more", b"")
    assert split_loss_lines(b"no loss here: x") == (0, b"no loss here: x", b"")
    assert split_loss_lines(b"a line\n") == (0, b"a line", b"\n")     # passed on by the reader 20 ms later


def test_the_tap_counts_lines_written_to_fd_2_by_any_thread_and_passes_the_rest_on(capfd):
    libc = ctypes.CDLL(None, use_errno=True)
    tap = stderr_tap.acquire()
    try:
        base = tap.lost

        def rtmidi_like() -> None:          # what RtMidi's input thread does: write(2, line) per message
            for _ in range(500):
                libc.write(2, JACK_LOSS, len(JACK_LOSS))

        threads = [threading.Thread(target=rtmidi_like) for _ in range(2)]
        for t in threads:
            t.start()
        os.write(2, b"a log line\n")
        for t in threads:
            t.join()
        assert stderr_tap.acquire() is tap          # one tap per process, shared
        stderr_tap.release()
    finally:
        stderr_tap.release()                        # the last user: fd 2 is the original again
    assert tap.lost - base == 1000
    err = capfd.readouterr().err
    assert "a log line\n" in err and "queue limit" not in err
    os.write(2, JACK_LOSS)                          # no tap any more: it reaches stderr as written
    assert "MidiInJack: message queue limit reached!!" in capfd.readouterr().err
