"""The Python side of jack_probe.c: a measuring JACK client whose process callback is C.

A Python JACK process callback needs the GIL in the JACK thread: python-rtmidi keeps the
GIL while it opens or closes a JACK client (a server round trip that waits for the graph to
finish a cycle, i.e. for that callback): a deadlock; and a Python callback is late now and
then (GIL, garbage collection), which the server counts as xruns. jack_probe runs in a
process of its own, driven by a line protocol on its stdin/stdout (see jack_probe.c), and
this process keeps only a JACK-Client client with **no callbacks and never activated**
(``client``: port listing, connections, libjack's clock).

    probe = JackProbe(server, "rtcore-recorder", audio_inputs=2, midi_in=True, midi_out=True)
    probe.connect(["PortAudio:out_0", "PortAudio:out_1"])
    probe.start(); ...; audio = probe.stop()          # (frames, 2) float32, NaN = unseen
    probe.queue_midi(probe.now()[1] + 4800, b"\\x90\\x3c\\x64")
    probe.midi_received()                             # [(JACK frame, bytes), ...]
    probe.close()

The program is compiled with gcc at first use into a directory of the temp dir named after a
hash of its source (so an edited source is rebuilt, and concurrent users share one build).
"""
from __future__ import annotations

import hashlib
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).resolve().with_name("jack_probe.c")
CFLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
LIBS = ["-ljack", "-lm"]


class ProbeError(RuntimeError):
    pass


def build() -> Path:
    """The compiled jack_probe (built once per source version)."""
    src = SOURCE.read_bytes()
    digest = hashlib.sha1(src + " ".join(CFLAGS + LIBS).encode()).hexdigest()[:16]
    base = Path(os.environ.get("RTCORE_PROBE_BUILD_DIR") or tempfile.gettempdir())
    exe = base / f"rtcore-jack-probe-{digest}" / "jack_probe"
    if exe.exists():
        return exe
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise ProbeError("no C compiler (gcc) to build benchmarks/jack_probe.c")
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp = exe.with_name(f"jack_probe.{os.getpid()}.{threading.get_ident()}.tmp")
    r = subprocess.run([gcc, *CFLAGS, "-o", str(tmp), str(SOURCE), *LIBS], capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ProbeError(f"jack_probe.c did not compile (is libjack-jackd2-dev installed?):\n{r.stderr.strip()}")
    os.replace(tmp, exe)                 # atomic: a concurrent build just replaces it
    return exe


class JackProbe:
    """A jack_probe process: ``audio_inputs`` (0-2) audio inputs recorded by JACK frame,
    optionally a MIDI input (every event logged with its JACK frame) and a MIDI output
    (messages queued for absolute JACK frames), and the server's xruns.

    ``ports``: the audio inputs' full names; ``midi_in_port`` / ``midi_out_port``: the MIDI
    ports' full names (or None). ``client``: a JACK-Client client of this process with no
    callbacks, never activated (``control_client=False``: none)."""

    def __init__(self, server: str, name: str = "rtcore-probe", audio_inputs: int = 2, midi_in: bool = False,
                 midi_out: bool = False, seconds: float = 12.0, control_client: bool = True,
                 timeout: float = 10.0) -> None:
        exe = build()
        midi = {(False, False): "-", (True, False): "in", (False, True): "out", (True, True): "inout"}[
            (bool(midi_in), bool(midi_out))]
        self.server = server
        self.client = None
        self._stderr: deque[str] = deque(maxlen=50)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen([str(exe), server, name, str(int(audio_inputs)), midi, f"{float(seconds):g}"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        # readers: the probe's answers into a queue (timeouts without select), libjack's
        # complaints kept for error messages
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines.put, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._stderr.append, False), daemon=True)]
        for t in self._readers:
            t.start()
        self.ports: list[str] = []
        self.midi_in_port: str | None = None
        self.midi_out_port: str | None = None
        try:
            while True:
                line = self._readline(timeout)
                kind, _, rest = line.partition(" ")
                if kind == "client":
                    self.name = rest
                elif kind == "port":
                    what, _, port = rest.partition(" ")
                    if what == "audio_in":
                        self.ports.append(port)
                    else:
                        setattr(self, f"{what}_port", port)
                elif kind == "ready":
                    rate, period = rest.split()
                    self.sample_rate, self.blocksize = int(rate), int(period)
                    break
                else:
                    raise ProbeError(f"jack_probe: {line}")
            if control_client:
                import jack
                self.client = jack.Client(f"{name}-ctl", servername=server, no_start_server=True)
        except BaseException:
            self.close()
            raise
        self.armed = False
        self.t_start = time.monotonic()
        self._xrun_base = 0
        self._xruns_frozen = 0
        self._xrun_times: list[float] = []
        self._xrun_frames: list[int] = []
        self._last: np.ndarray | None = None
        self.t0: int | None = None
        self._dir = tempfile.mkdtemp(prefix="rtcore-probe-")

    # ---- the protocol ----------------------------------------------------------------
    @staticmethod
    def _pump(stream, put, mark_end: bool) -> None:
        try:
            for line in stream:
                put(line.rstrip("\n"))
        except (OSError, ValueError):
            pass
        if mark_end:
            put(None)                   # the end of the answers

    def _readline(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ProbeError(f"jack_probe did not answer within {timeout:g} s") from None
        if line is None:
            time.sleep(0.1)
            raise ProbeError(f"jack_probe ended (exit code {self.proc.poll()}):\n" + "\n".join(self._stderr))
        return line

    def _send(self, lines: list[str]) -> None:
        if self.proc.poll() is not None:
            raise ProbeError(f"jack_probe is not running (exit code {self.proc.returncode}):\n"
                             + "\n".join(self._stderr))
        self.proc.stdin.write("".join(f"{line}\n" for line in lines))
        self.proc.stdin.flush()

    def call(self, line: str, timeout: float = 10.0) -> str:
        """Send one command; its answer after "ok" (ProbeError on "err")."""
        self._send([line])
        return self._answer(line, timeout)

    def _answer(self, line: str, timeout: float) -> str:
        ans = self._readline(timeout)
        if ans == "ok" or ans.startswith("ok "):
            return ans[3:]
        raise ProbeError(f"jack_probe: {line.split()[0]}: {ans}")

    def status(self) -> dict[str, int]:
        return {k: int(v) for k, v in (kv.split("=") for kv in self.call("status").split())}

    # ---- recording -------------------------------------------------------------------
    def connect(self, sources: list[str]) -> None:
        """Connect output ports (names) to the audio inputs, in order."""
        for src, dst in zip(sources, self.ports):
            self.client.connect(src, dst)

    def output_ports(self) -> set[str]:
        """Audio output ports of every client except the server's own (system:*)."""
        return {p.name for p in self.client.get_ports(is_output=True, is_audio=True)
                if not p.name.startswith("system:")}

    def start(self) -> None:
        """Record from the next cycle on (frame 0 = that cycle's first frame); the MIDI input
        log and the xrun count restart."""
        self._xrun_base = self.status()["xruns"]
        self.t_start = time.monotonic()
        self.call("arm")
        self.armed = True
        self._last = None

    arm = start

    def stop(self) -> np.ndarray:
        """Stop recording; the recording, (frames, channels) float32 by JACK frame - t0, NaN
        where this client never ran (a cycle the server skipped)."""
        if self.armed:
            self.call("disarm")
            self._freeze_xruns()
            self.armed = False
        return self.recording()

    def recording(self) -> np.ndarray:
        """The recording so far (also while recording)."""
        path = os.path.join(self._dir, "audio.f32")
        info = dict(kv.split("=") for kv in self.call(f"dump {path}").split())
        t0, frames, ch = int(info["t0"]), int(info["frames"]), int(info["channels"])
        self.t0 = None if t0 < 0 else t0
        data = np.fromfile(path, dtype=np.float32, count=frames * ch) if frames and ch else np.zeros(0, np.float32)
        os.unlink(path)
        self._last = data.reshape(frames, ch) if ch else np.zeros((0, 0), np.float32)
        return self._last

    def _freeze_xruns(self) -> None:
        log = [tok.split(":") for tok in self.call(f"xruns {self._xrun_base}").split()]
        self._xruns_frozen = self.status()["xruns"] - self._xrun_base
        self._xrun_frames = [int(f) for f, _ in log]
        self._xrun_times = [int(ns) / 1e9 - self.t_start for _, ns in log]

    @property
    def xruns(self) -> int:
        """Server xruns while recording (since start(), up to stop())."""
        if self.armed:
            return self.status()["xruns"] - self._xrun_base
        return self._xruns_frozen

    @property
    def xrun_times(self) -> list[float]:
        """When each of those xruns was reported, seconds after start() (time.monotonic)."""
        if self.armed:
            self._freeze_xruns()
        return list(self._xrun_times)

    @property
    def xrun_frames(self) -> list[int]:
        """The JACK frame (jack_frame_time) at each of those xruns."""
        if self.armed:
            self._freeze_xruns()
        return list(self._xrun_frames)

    @property
    def missed_frames(self) -> int:
        """Frames of the recording this client never saw."""
        rec = self.recording() if self.armed or self._last is None else self._last
        return int(np.isnan(rec[:, 0]).sum()) if rec.size else 0

    def reset(self) -> None:
        """Disarm, drop the queued MIDI and every connection of this client's ports."""
        if self.armed:
            self.stop()
        if self.midi_out_port:
            self.call("flush")
        for port in self.ports + [p for p in (self.midi_in_port, self.midi_out_port) if p]:
            for other in self.client.get_all_connections(port):
                if self.client.get_port_by_name(port).is_input:
                    self.client.disconnect(other, port)
                else:
                    self.client.disconnect(port, other)

    # ---- MIDI and time ---------------------------------------------------------------
    def now(self) -> tuple[int, int]:
        """(jack_frame_time() now, the first frame of the last cycle this client ran in)."""
        frame, cycle, _, _ = (int(x) for x in self.call("now").split())
        return frame, cycle

    def queue_midi(self, frame: int, data: bytes | list[int]) -> None:
        """Write ``data`` (one MIDI message) at absolute JACK frame ``frame`` (mod 2**32). Queue
        in frame order; a frame already past goes out at the next cycle's start (counted late)."""
        self.queue_midi_many([(frame, data)])

    def queue_midi_many(self, events) -> None:
        """Queue (frame, bytes) messages, sorted here by frame (pipelined: one round trip)."""
        lines = [f"midi {int(f) & 0xFFFFFFFF} " + " ".join(str(b) for b in bytes(d))
                 for f, d in sorted(events, key=lambda e: e[0])]
        for k in range(0, len(lines), 2048):        # the answers stay well inside a pipe buffer
            chunk = lines[k:k + 2048]
            self._send(chunk)
            for line in chunk:
                self._answer(line, 10.0)

    def flush(self) -> int:
        """Drop the queued messages not written yet; how many."""
        return int(self.call("flush"))

    def clear(self) -> None:
        """Restart the log of written MIDI (midi_sent) and the late/dropped counters."""
        self.call("clear")

    def midi_received(self) -> list[tuple[int, bytes]]:
        """MIDI that reached the MIDI input since start() (or the client's start): (frame, bytes)."""
        return [(int(f), bytes.fromhex(h)) for f, h in (tok.split(":") for tok in self.call("midi_in 0").split())]

    def midi_sent(self) -> list[tuple[int, int, int, bytes]]:
        """MIDI written since clear(): (frame written, frame queued for, frames into its cycle
        when written, bytes)."""
        return [(int(f), int(p), int(d), bytes.fromhex(h))
                for f, p, d, h in (tok.split(":") for tok in self.call("midi_out 0").split())]

    # ---- the end ---------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        """Close the callback-free client, then the probe ("quit"; killed by PID if it does
        not end). Safe before or after the server stops, and twice."""
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None
        p = self.proc
        if p.poll() is None:
            try:
                self._send(["quit"])
                p.wait(timeout=timeout)
            except (OSError, ValueError, ProbeError, subprocess.TimeoutExpired):
                pass
            if p.poll() is None:
                p.kill()                           # by PID
                p.wait(timeout=5)
        for t in self._readers:              # they reach the end of the pipes now
            t.join(timeout=2.0)
        for stream, reader in ((p.stdin, None), (p.stdout, self._readers[0]), (p.stderr, self._readers[1])):
            if reader is None or not reader.is_alive():
                try:
                    stream.close()
                except (OSError, ValueError):
                    pass
        if getattr(self, "_dir", None):
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> JackProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
