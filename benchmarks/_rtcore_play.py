"""rtcore as a musician runs it -- ``rtcore play PATCH`` in a process of its own, on a JACK
server -- and what floods.py and soak.py do around it:

* :class:`RtcorePlay`: the ``rtcore play`` process (PortAudio's JACK host API, MIDI in/out on
  python-rtmidi's JACK API, OSC on a free UDP port, ``--quiet``); its stdout/stderr are
  collected; it is stopped with Ctrl-C (SIGINT, by PID), so its end-of-run report is printed.
* :class:`OscClient`: queries (``/rtcore/stats`` as a dict) and plain sends.
* :func:`rss_mb`, :class:`RssSampler`: the process's resident memory (``/proc/PID/status``).
* :class:`SharedProbe` + :class:`MidiFeeder`: MIDI written into "rtcore in" by
  benchmarks/jack_probe.c at planned JACK frames (no Python on any JACK thread), its queue kept
  a little ahead of time by a thread of this process.
* :func:`melody`: patches/melody.mid looped, as raw MIDI bytes on channel 1.
* :func:`jackd_late`: jackd's own account of the xruns in its log (who was late).

This process has no rtmidi and no JACK process callback; it talks to rtcore only through
JACK ports and OSC, like any other program on the machine. Times in seconds unless a name
says frames.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 48000
MELODY = ROOT / "patches" / "melody.mid"
MODEL = ROOT / "models" / "chorale.onnx"


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if this process dies."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def chorale_variants(workdir: Path) -> tuple[Path, Path]:
    """patches/chorale.toml (the AI's model by absolute path) and a variant for hot reloads:
    the lead synth's waveform changes (an enum: the node is rebuilt and crossfaded in), the
    room's mix and the AI's temperature change (floats: those nodes keep their state, the AI
    its performance, and glide)."""
    text = (ROOT / "patches" / "chorale.toml").read_text().replace('"../models/chorale.onnx"', f'"{MODEL}"')
    b = (text.replace('wave = "triangle"', 'wave = "saw"').replace("mix = 0.25", "mix = 0.35")
         .replace("temperature = 0.5 ", "temperature = 0.7 "))
    if b == text or str(MODEL) not in text:
        raise RuntimeError("patches/chorale.toml changed: the reload variant could not be made")
    pa, pb = workdir / "chorale_a.toml", workdir / "chorale_b.toml"
    pa.write_text(text)
    pb.write_text(b)
    return pa, pb


# ---- OSC ---------------------------------------------------------------------------------
class OscClient:
    """A UDP socket of its own that sends to rtcore's OSC server and reads its replies."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        from rtcore.osc import wire

        self.wire = wire
        self.dest = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sent = 0                     # datagrams sent (every one counts in rtcore's received/dropped)

    def send(self, address: str, *args) -> None:
        self.sock.sendto(self.wire.build(address, *args), self.dest)
        self.sent += 1

    def ask(self, address: str, *args, timeout: float = 3.0):
        """Send, then the first /rtcore/reply or /rtcore/error for ``address`` (TimeoutError)."""
        self.send(address, *args)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {address} within {timeout:g} s")
            self.sock.settimeout(left)
            try:
                m = self.wire.parse_message(self.sock.recv(65536))
            except socket.timeout:
                continue
            if m.address in ("/rtcore/reply", "/rtcore/error") and m.args and m.args[0] == address:
                return m

    def stats(self, timeout: float = 3.0) -> dict[str, float]:
        """The /rtcore/stats pairs as a dict."""
        m = self.ask("/rtcore/stats", timeout=timeout)
        if m.address != "/rtcore/reply":
            raise RuntimeError(f"/rtcore/stats failed: {m.args}")
        a = m.args[1:]
        return dict(zip(a[::2], a[1::2]))

    def close(self) -> None:
        self.sock.close()


# ---- the rtcore play process ---------------------------------------------------------------
def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class RtcorePlay:
    """``rtcore play PATCH --host-api JACK --quiet --midi-api jack --osc-port PORT --block BLOCK``
    on JACK server ``server`` (this worktree's rtcore). Stopped by :meth:`interrupt` (Ctrl-C);
    killed by PID if it does not stop."""

    READY = "MIDI in: rtcore in (jack)"

    def __init__(self, patch: Path, server: str, block: int, osc_port: int, extra: tuple[str, ...] = ()) -> None:
        env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        self.osc_port = osc_port
        self.cmd = [sys.executable, "-m", "rtcore", "play", str(patch), "--host-api", "JACK", "--quiet",
                    "--midi-api", "jack", "--osc-port", str(osc_port), "--block", str(block), *extra]
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, into), daemon=True)
                         for s, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_ready(self, osc: OscClient, timeout: float = 60.0) -> None:
        """Until its MIDI input is open and its OSC server answers (the stream runs)."""
        deadline = time.monotonic() + timeout
        while self.READY not in self.stderr:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(f"rtcore play exited ({self.proc.returncode}):\n{self.stderr}{''.join(self.out)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"rtcore play did not open its MIDI input within {timeout:g} s:\n{self.stderr}")
            time.sleep(0.05)
        while True:
            try:
                if osc.stats(timeout=1.0).get("events_in") is not None:
                    return
            except TimeoutError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"rtcore play's OSC server does not answer:\n{self.stderr}") from None

    def rss_mb(self) -> float | None:
        return rss_mb(self.pid)

    def interrupt(self, timeout: float = 30.0) -> tuple[int, str, str]:
        """Ctrl-C; (exit code, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)          # by PID
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        for t in self._readers:
            t.join(timeout=2.0)
        return self.proc.returncode, "".join(self.out), self.stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()                              # by PID
            self.proc.wait(timeout=10)


class RssSampler(threading.Thread):
    """RSS of process ``pid`` every ``period`` s: ``samples`` = [(s since start, MB)]."""

    def __init__(self, pid: int, period: float = 1.0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, float]] = []
        self._quit = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while True:
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic() - t0, mb))
            if self._quit.wait(self.period):
                return

    def stop(self) -> list[tuple[float, float]]:
        self._quit.set()
        self.join(timeout=5.0)
        return list(self.samples)


def window_growth_mb(samples: list[tuple[float, float]], window_s: float = 10.0) -> float | None:
    """Mean RSS of the last ``window_s`` seconds minus that of the first (MB); the windows
    shrink to half the run each for runs shorter than two windows."""
    if len(samples) < 2:
        return None
    span = samples[-1][0] - samples[0][0]
    w = min(window_s, span / 2)
    first = [mb for t, mb in samples if t - samples[0][0] <= w]
    last = [mb for t, mb in samples if samples[-1][0] - t <= w]
    return round(sum(last) / len(last) - sum(first) / len(first), 3)


# ---- MIDI through jack_probe -----------------------------------------------------------------
class SharedProbe:
    """A JackProbe whose line protocol several threads use, one call at a time."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.lock = threading.Lock()

    def __getattr__(self, name: str):
        attr = getattr(self.probe, name)
        if not callable(attr):
            return attr

        def locked(*args, **kw):
            with self.lock:
                return attr(*args, **kw)
        return locked


class MidiFeeder(threading.Thread):
    """Keeps ``writer`` (a :class:`SharedProbe` with a MIDI output) supplied with the messages of
    ``source`` -- (frame from the start, bytes), in time order -- from JACK frame ``start``
    until ``start + frames``, queueing each about ``ahead_s`` before its frame. ``queued``:
    messages handed to the writer (each written at its frame, or counted late by it)."""

    def __init__(self, writer: SharedProbe, source: Iterator[tuple[int, bytes]], start: int, frames: int,
                 ahead_s: float = 0.5, tick_s: float = 0.1) -> None:
        super().__init__(name="midi-feeder", daemon=True)
        self.writer, self.source, self.start_frame, self.frames = writer, source, start, frames
        self.ahead, self.tick_s = int(ahead_s * SAMPLE_RATE), tick_s
        self.queued = 0
        self.error: BaseException | None = None
        self._quit = threading.Event()

    def run(self) -> None:
        try:
            pending: tuple[int, bytes] | None = None
            src = iter(self.source)
            done = False
            while not done and not self._quit.is_set():
                _, cycle = self.writer.now()
                horizon = min(cycle + self.ahead, self.start_frame + self.frames) - self.start_frame
                batch = []
                while True:
                    if pending is None:
                        pending = next(src, None)
                        if pending is None or pending[0] >= self.frames:
                            done = True                  # the source or the time is over
                            break
                    if pending[0] >= horizon:
                        break
                    batch.append((self.start_frame + pending[0], pending[1]))
                    pending = None
                if batch:
                    self.writer.queue_midi_many(batch)
                    self.queued += len(batch)
                if not done:
                    self._quit.wait(self.tick_s)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=10.0)


def melody(loop_s: float | None = None) -> Iterator[tuple[int, bytes]]:
    """patches/melody.mid (20 s, 29 notes on channel 1) looped for ever: (frame, bytes)."""
    from rtcore._native import lib
    from rtcore.midifile import read_midi

    evs, last = read_midi(MELODY, SAMPLE_RATE)
    length = int((loop_s or (last / SAMPLE_RATE + 0.5)) * SAMPLE_RATE)
    notes = []
    for e in evs:
        if e.type == lib.RT_EV_NOTE_ON:
            notes.append((e.time, bytes((0x90 | (e.channel - 1), e.data1, e.data2))))
        elif e.type == lib.RT_EV_NOTE_OFF:
            notes.append((e.time, bytes((0x80 | (e.channel - 1), e.data1, 0))))
    k = 0
    while True:
        for t, b in notes:
            yield k * length + t, b
        k += 1


def merge(*sources: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Time-ordered merge of (frame, bytes) streams."""
    import heapq
    return heapq.merge(*sources, key=lambda e: e[0])


# ---- jackd's log -------------------------------------------------------------------------------
def jackd_late(log: Path, since: int = 0, until: int | None = None, probe_prefix: str = "rtcore-bench",
               midi_in_client: str | None = None) -> dict[str, int]:
    """jackd's account of the xruns in its log between bytes ``since`` and ``until`` (None =
    the end): cycles its driver's timer was late (``driver``), clients not finished in time:
    rtcore's (``rtcore``: PortAudio = the engine, ``rtcore*`` = its MIDI clients; ``midi_in``:
    of those, the client ``midi_in_client`` that owns "rtcore in"), the measuring clients
    (``probe``: names starting with ``probe_prefix``), others; ``*_running``: of those, still
    inside their callback (the rest had not been scheduled yet: a busy machine)."""
    out = {"driver": 0, "rtcore": 0, "probe": 0, "other": 0, "rtcore_running": 0, "probe_running": 0,
           "midi_in": 0}
    try:
        with open(log, "rb") as fh:
            fh.seek(since)
            text = fh.read(-1 if until is None else max(0, until - since)).decode(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if "JackTimedDriver::Process XRun" in line:
            out["driver"] += 1
            continue
        m = re.search(r"client = (\S+) was not finished(?:, state = (\w+))?", line)
        if m is None:
            continue
        name = m.group(1)
        kind = ("probe" if name.startswith(probe_prefix) else
                "rtcore" if name == "PortAudio" or name.startswith("rtcore") else "other")
        out[kind] += 1
        if name == midi_in_client:
            out["midi_in"] += 1
        if m.group(2) == "Running" and kind != "other":
            out[f"{kind}_running"] += 1
    return out


def log_size(log: Path) -> int:
    try:
        return log.stat().st_size
    except OSError:
        return 0
