"""The journaling recorder: every event the engine applies (what came in, and what the AI played)
and the master audio, written to a folder as it happens, from a thread of its own, so that a take
survives a crash (``kill -9``, power) up to the last flush; ``rtcore recover DIR`` turns the
journal into a ``.wav`` and a ``.mid``.

The audio thread only copies into two rings (csrc/record.c); this module drains them every
:data:`DRAIN_SECONDS` and flushes the files to the disk (``fsync``) every :data:`FLUSH_SECONDS`.
What the rings could not hold is counted by the engine (``record_dropped_frames``,
``record_dropped_events``) and written into the journal as a gap. A write that fails (the disk
is full, the folder went away) stops the recording with one log line; the audio plays on.

Journal folder (all appended, never rewritten, so a torn last write is the only damage a crash
can do, and recover drops it):

* ``journal.json``  format, sample rate, first frame, patch (written once at the start)
* ``audio.f32``     master output, float32 interleaved stereo, from the first frame on; frames
  the ring dropped are zeros
* ``events.bin``    one :data:`EVENT_DTYPE` record per event (engine frame, source, type ...)
* ``nodes.jsonl``   one line per graph: ``{"graph": generation, "nodes": {index: [name, [params]]}}``
  (events name nodes and parameters by index; this says which)
* ``gaps.jsonl``    frames lost to a full ring: ``{"frame": f, "frames": n}``
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._native import ffi, lib
from .errors import RtCoreError

DRAIN_SECONDS = 0.02
FLUSH_SECONDS = 0.1           # the promise: nothing older than this is lost on a crash
FORMAT = 1
_EVENT_FIELDS = [("frame", "<i8"), ("graph", "<u4"), ("type", "<u2"), ("source", "u1"), ("channel", "u1"),
                 ("data1", "u1"), ("data2", "u1"), ("node", "<i2"), ("param", "<u2"), ("value", "<f4")]
#: one rt_record_event_t as the C compiler laid it out (offsets and padding read from the C
#: module, so the journal's records and this view cannot disagree)
EVENT_DTYPE = np.dtype({"names": [n for n, _ in _EVENT_FIELDS], "formats": [f for _, f in _EVENT_FIELDS],
                        "offsets": [ffi.offsetof("rt_record_event_t", n) for n, _ in _EVENT_FIELDS],
                        "itemsize": ffi.sizeof("rt_record_event_t")})
AUDIO_FILE, EVENTS_FILE, NODES_FILE, GAPS_FILE, HEADER_FILE = ("audio.f32", "events.bin", "nodes.jsonl",
                                                                "gaps.jsonl", "journal.json")

LogFn = Callable[[str], None]


@dataclass
class RecorderCounters:
    frames: int = 0            # audio frames written
    events: int = 0            # events written
    gap_frames: int = 0        # frames lost to a full ring (written as zeros)
    flushes: int = 0


class Recorder:
    """Journals ``engine`` into ``folder`` (created; must be empty or new) until :meth:`stop`.

    ``names``: a callable giving the live graph's ``{index: (node name, [param names])}``
    (the engine's, by default). ``log``: where one-line problems go (the session log).
    """

    def __init__(self, engine, folder: str | Path, patch_name: str = "", log: LogFn | None = None) -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.patch_name = patch_name
        self.log = log or (lambda text: None)
        self.counters = RecorderCounters()
        self.error: str | None = None
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._files: dict[str, object] = {}
        self._next_frame: int | None = None      # the audio file's next frame
        self._first_frame: int | None = None
        self._dropped_at_start = 0
        self._graphs_seen: set[int] = set()
        self._audio_buf = ffi.new("rt_record_audio_t[]", 64)
        self._event_buf = ffi.new("rt_record_event_t[]", 1024)

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Recorder":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if any(self.folder.iterdir()):
                raise RtCoreError(f"{self.folder}: the recording folder is not empty (choose a new one)")
            for name in (AUDIO_FILE, EVENTS_FILE, NODES_FILE, GAPS_FILE):
                self._files[name] = open(self.folder / name, "ab", buffering=0)
            self._write_header()
        except OSError as exc:
            self._close_files()
            raise RtCoreError(f"{self.folder}: cannot record there: {exc.strerror or exc}") from None
        self._dropped_at_start = self.engine.stats().record_dropped_frames
        lib.rt_engine_record(self.engine.handle, 1)
        self._thread = threading.Thread(target=self._run, name="rtcore-recorder", daemon=True)
        self._thread.start()
        self.log(f"recording to {self.folder}")
        return self

    def stop(self) -> None:
        """Stop journaling, write what is left, close the files. Safe to call twice."""
        lib.rt_engine_record(self.engine.handle, 0)
        self._quit.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
            if self.error is None:
                self._close_tail_gap()
        self._close_files()

    def _close_tail_gap(self) -> None:
        """Frames the ring dropped after the last chunk that reached us leave no later chunk to
        reveal the hole: the engine's counter does. They are written as silence at the end."""
        try:
            dropped = self.engine.stats().record_dropped_frames - self._dropped_at_start
            missing = dropped - self.counters.gap_frames
            if missing > 0 and self._next_frame is not None:
                self._write_audio(self._next_frame + missing, 0, None)
                self._flush()
        except (OSError, RtCoreError):
            pass

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def recording(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        last_flush = time.monotonic()
        try:
            while True:
                stopping = self._quit.wait(DRAIN_SECONDS)
                self._drain()
                now = time.monotonic()
                if stopping or now - last_flush >= FLUSH_SECONDS:
                    self._flush()
                    last_flush = now
                if stopping:
                    return
        except RtCoreError:                    # the engine was closed under us: nothing more to write
            return
        except OSError as exc:                 # disk full, folder removed ...: stop, play on
            lib.rt_engine_record(self.engine.handle, 0)
            self.error = f"recording stopped: {self.folder}: {exc.strerror or exc} (the audio plays on; " \
                         f"what was written is kept: rtcore recover {self.folder})"
            self.log(self.error)

    def _drain(self) -> None:
        self._note_graph()
        while True:
            n = lib.rt_engine_record_events(self.engine.handle, self._event_buf, 1024)
            if n <= 0:
                break
            data = bytes(ffi.buffer(self._event_buf, n * ffi.sizeof("rt_record_event_t")))
            self._write(EVENTS_FILE, data)
            self.counters.events += n
            if n < 1024:
                break
        while True:
            n = lib.rt_engine_record_audio(self.engine.handle, self._audio_buf, 64)
            for i in range(max(n, 0)):
                rec = self._audio_buf[i]
                self._write_audio(int(rec.frame), int(rec.frames), rec.data)
            if n < 64:
                break

    def _write_audio(self, frame: int, frames: int, data) -> None:
        if self._next_frame is None:
            self._next_frame = frame
            self._write_header(first_frame=frame)
        if frame > self._next_frame:            # chunks the ring dropped: silence, noted
            gap = frame - self._next_frame
            self._write(GAPS_FILE, (json.dumps({"frame": self._next_frame, "frames": gap}) + "\n").encode())
            self._write(AUDIO_FILE, bytes(gap * 8))
            self.counters.gap_frames += gap
        if frames:
            self._write(AUDIO_FILE, bytes(ffi.buffer(data, frames * 8)))
        self._next_frame = frame + frames
        self.counters.frames = self._next_frame - (self._first_frame or 0)

    def _note_graph(self) -> None:
        """Record which names the live graph's node indexes stand for (once per graph)."""
        gen = int(self.engine.stats().graph_generation)
        if gen in self._graphs_seen or not gen:
            return
        self._graphs_seen.add(gen)
        nodes = {str(idx): [name, nt.param_names()] for name, (idx, nt) in self.engine._nodes.items()}
        self._write(NODES_FILE, (json.dumps({"graph": gen, "nodes": nodes}) + "\n").encode())

    def _write(self, name: str, data: bytes) -> None:
        f = self._files[name]
        view = memoryview(data)
        while view:                              # unbuffered: a short write continues
            n = f.write(view)
            view = view[n:]

    def _flush(self) -> None:
        for f in self._files.values():
            os.fsync(f.fileno())
        self.counters.flushes += 1

    def _write_header(self, first_frame: int | None = None) -> None:
        self._first_frame = first_frame
        header = {"format": FORMAT, "sample_rate": float(self.engine.sample_rate), "channels": 2,
                  "first_frame": first_frame, "patch": self.patch_name, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                  "flush_seconds": FLUSH_SECONDS}
        tmp = self.folder / (HEADER_FILE + ".tmp")
        tmp.write_text(json.dumps(header, indent=1))
        os.replace(tmp, self.folder / HEADER_FILE)

    def _close_files(self) -> None:
        for f in self._files.values():
            try:
                f.close()
            except OSError:
                pass
        self._files.clear()
