"""Helpers for the live end-to-end tests: a recording JACK client and port lookup.
(A module of its own, not conftest, so tests can import it by a unique name.)"""
from __future__ import annotations

import gc
import time

import numpy as np

SAMPLE_RATE = 48000
PERIOD = 128


class Recorder:
    """A JACK client with two input ports that records into a preallocated buffer.

    The recording is indexed by JACK frame time (frame 0 = the first cycle after
    ``start()``), so the timeline stays exact even if this Python client misses a cycle
    (its callback is late, the server counts an xrun): frames it never saw are NaN.
    ``connect(sources)`` connects output ports (names) to its inputs in order; ``stop()``
    returns the (frames, 2) float32 recording. ``xruns`` counts the server's xrun
    notifications while armed."""

    def __init__(self, server: str, seconds: float = 12.0, name: str = "rtcore-recorder") -> None:
        import jack

        self.client = jack.Client(name, servername=server, no_start_server=True)
        self.sample_rate = self.client.samplerate
        self.ports = [self.client.inports.register(f"in_{i + 1}") for i in range(2)]
        self.buf = np.full((int(seconds * self.sample_rate), 2), np.nan, dtype=np.float32)
        self.armed = False
        self.t0: int | None = None
        self.end = 0
        self.cycles = 0
        self.xruns = 0
        self.xrun_times: list[float] = []
        self.t_start = time.monotonic()
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    # [JACK thread] keep it tiny: copy two arrays at their place on the timeline
    def _process(self, frames: int) -> None:
        if not self.armed:
            return
        t = self.client.last_frame_time
        if self.t0 is None:
            self.t0 = t
        i = t - self.t0
        if 0 <= i and i + frames <= self.buf.shape[0]:
            self.buf[i:i + frames, 0] = self.ports[0].get_array()
            self.buf[i:i + frames, 1] = self.ports[1].get_array()
            self.end = i + frames
        self.cycles += 1

    def _xrun(self, delay_usecs: float) -> None:
        if self.armed:
            self.xruns += 1
            self.xrun_times.append(time.monotonic() - self.t_start)

    def output_ports(self) -> set[str]:
        """Audio output ports of every client except the server's own (system:*)."""
        return {p.name for p in self.client.get_ports(is_output=True, is_audio=True)
                if not p.name.startswith("system:")}

    def connect(self, sources: list[str]) -> None:
        for src, dst in zip(sources, self.ports):
            self.client.connect(src, dst)

    def start(self) -> None:
        # The process callback is Python: a garbage-collection pass over the test
        # session's heap inside it would make it miss the JACK deadline.
        gc.collect()
        gc.disable()
        self.buf[:] = np.nan
        self.t0 = None
        self.end = 0
        self.cycles = self.xruns = 0
        self.xrun_times.clear()
        self.t_start = time.monotonic()
        self.armed = True

    def stop(self) -> np.ndarray:
        self.armed = False
        gc.enable()
        time.sleep(3 * PERIOD / self.sample_rate)      # let a running cycle finish
        return self.buf[:self.end].copy()

    def reset(self) -> None:
        """Disarm and drop every connection (ready for the next test)."""
        self.armed = False
        gc.enable()
        for port in self.ports:
            port.disconnect()

    @property
    def missed_frames(self) -> int:
        return int(np.isnan(self.buf[:self.end, 0]).sum())

    def close(self) -> None:
        """Close the client. Do it after the server has stopped: deactivating a live client
        whose process callback is Python can hang (libjack cancels the callback thread)."""
        self.armed = False
        gc.enable()
        self.client.close()


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
