"""Helpers for the live end-to-end tests: a recording JACK client and port lookup.
(A module of its own, not conftest, so tests can import it by a unique name.)"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from jack_probe import JackProbe  # noqa: E402

SAMPLE_RATE = 48000
PERIOD = 128


class Recorder(JackProbe):
    """A JACK client with two audio inputs (and a MIDI input and output) that records into
    a preallocated buffer: benchmarks/jack_probe.c in a process of its own, so that no JACK
    process callback of this test process is Python (python-rtmidi keeps the GIL while it
    opens or closes a JACK client, a round trip that waits for the graph's cycle: a Python
    process callback here would wait for that GIL -- a deadlock -- and would be late now
    and then, a server xrun that is not rtcore's).

    The recording is indexed by JACK frame time (frame 0 = the first cycle after
    ``start()``), so the timeline stays exact even if the server skips this client in a
    cycle: frames it never saw are NaN. ``connect(sources)`` connects output ports (names)
    to its inputs in order; ``stop()`` returns the (frames, 2) float32 recording. ``xruns``
    counts the server's xrun notifications while armed (``xrun_times``: when). ``client``
    is a JACK-Client client with no callbacks (port listing, connections, frame_time). MIDI:
    ``midi_in_port``, ``midi_out_port``, ``queue_midi(frame, bytes)``, ``midi_received()``,
    ``now()``; see benchmarks/jack_probe.py."""

    def __init__(self, server: str, seconds: float = 12.0, name: str = "rtcore-recorder") -> None:
        super().__init__(server, name, audio_inputs=2, midi_in=True, midi_out=True, seconds=seconds)


def new_ports(recorder: Recorder, before: set[str], timeout: float = 2.0) -> list[str]:
    """Output ports that appeared since ``before`` (the rtcore stream's), sorted so that
    the left channel comes first (PortAudio names them out_0, out_1)."""
    deadline = time.monotonic() + timeout
    while True:
        ports = sorted(recorder.output_ports() - before)
        if len(ports) >= 2 or time.monotonic() > deadline:
            return ports
        time.sleep(0.01)



def start_recording_on_first_tick(recorder: Recorder, before: set[str]):
    """An ``on_tick`` for rtcore.live.play(): on its first call (the stream runs, its ports
    exist) connect the stream's new output ports to the recorder and start recording."""
    state = {"connected": False}

    def on_tick(engine, frames):
        if not state["connected"]:
            recorder.connect(new_ports(recorder, before))
            recorder.start()
            state["connected"] = True
        return None

    return on_tick


class RtcorePlay:
    """``rtcore play PATCH --host-api JACK --quiet ...`` in a subprocess on the test server
    (JACK_DEFAULT_SERVER is inherited), with its stderr collected by a thread. ``wait_for(text)``
    waits for a log line; ``interrupt()`` sends Ctrl-C (SIGINT) and returns (code, stdout,
    stderr). Killed by PID if it outlives the test."""

    def __init__(self, patch, *args: str) -> None:
        import os
        import subprocess
        import sys
        import threading
        from pathlib import Path

        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.cmd = [sys.executable, "-m", "rtcore", "play", str(patch), "--host-api", "JACK", "--quiet",
                    "--midi-api", "jack", *args]
        self.proc = subprocess.Popen(self.cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.err: list[str] = []
        self.out: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True)]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"rtcore play exited ({self.proc.returncode}) before '{text}':\n"
                                     f"{self.stderr}{''.join(self.out)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no '{text}' from rtcore play within {timeout:.0f} s:\n{self.stderr}")
            time.sleep(0.05)

    def interrupt(self, timeout: float = 20.0) -> tuple[int, str, str]:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"rtcore play did not stop within {timeout:.0f} s of Ctrl-C:\n{self.stderr}")
        for t in self._readers:
            t.join(timeout=2.0)
        return self.proc.returncode, "".join(self.out), self.stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()            # by PID
            self.proc.wait(timeout=10)


def jack_midi_port(client, suffix: str, is_input: bool, timeout: float = 10.0) -> str:
    """The full name of the one JACK MIDI port whose name ends with ``suffix`` (e.g. ':rtcore in')."""
    deadline = time.monotonic() + timeout
    while True:
        names = [p.name for p in client.get_ports(is_midi=True, is_input=is_input, is_output=not is_input)
                 if p.name.endswith(suffix)]
        if len(names) == 1:
            return names[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"expected one JACK MIDI port '*{suffix}', found {names}")
        time.sleep(0.05)


def fft_freq(x: np.ndarray, sr: float) -> float:
    """Peak frequency: Hann window, parabolic interpolation on the log magnitude."""
    w = np.hanning(len(x))
    mag = np.abs(np.fft.rfft((x - x.mean()) * w))
    k = int(np.argmax(mag[1:-1])) + 1
    a, b, c = np.log(mag[k - 1:k + 2] + 1e-30)
    delta = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + delta) * sr / len(x)


def longest_finite(x: np.ndarray) -> np.ndarray:
    """The longest stretch without NaN (frames the recorder never saw are NaN)."""
    ok = np.isfinite(x)
    d = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    k = int(np.argmax(ends - starts))
    return x[starts[k]:ends[k]]
