"""``rtcore.Engine``: the Python handle on the C engine (non-real-time side).

The audio thread belongs to C. Python builds graphs, sends events through the
lock-free ring, renders offline, opens the live PortAudio stream, and reads
counters. All times are engine frames (samples per channel) unless noted.
"""
from __future__ import annotations

import threading
import time as _time
from dataclasses import dataclass, fields, replace
from typing import Iterable, Sequence

import numpy as np

from ._native import ffi, lib
from .errors import EngineStateError, NotFoundError, ParamRangeError, QueueFullError, check
from .graphspec import GraphSpec
from .params import NodeType, node_types

NOW: int | None = None
"""Pass as ``time`` to apply an event at the start of the next block."""

MAX_EXTRAPOLATION_S = 0.25
""":meth:`Engine.frame_now` runs ahead of the last processed block by at most this long (s): a
stream that stopped (a lost or stalled server) stops the clock instead of letting "now" run away
from the frames that will really play next."""


@dataclass(frozen=True)
class Event:
    """One engine event. ``time``: absolute engine frame or None (= next block).
    ``node``: target node name, or None to route by MIDI ``channel`` (0 = any)."""

    type: int
    time: int | None = None
    channel: int = 0
    data1: int = 0
    data2: int = 0
    node: str | None = None
    param: str | None = None
    value: float = 0.0

    @staticmethod
    def note_on(note: int, velocity: int = 100, channel: int = 0, time: int | None = None,
                node: str | None = None) -> "Event":
        return Event(lib.RT_EV_NOTE_ON, time, channel, note, velocity, node)

    @staticmethod
    def note_off(note: int, channel: int = 0, time: int | None = None, node: str | None = None,
                 velocity: int = 0) -> "Event":
        return Event(lib.RT_EV_NOTE_OFF, time, channel, note, velocity, node)

    @staticmethod
    def cc(controller: int, value: int, channel: int = 0, time: int | None = None,
           node: str | None = None) -> "Event":
        return Event(lib.RT_EV_CC, time, channel, controller, value, node)

    @staticmethod
    def pitch_bend(value: float, channel: int = 0, time: int | None = None,
                   node: str | None = None) -> "Event":
        """``value`` -1..+1 (full bend range of the instrument)."""
        return Event(lib.RT_EV_PITCH_BEND, time, channel, node=node, value=value)

    @staticmethod
    def param_set(node: str, param: str, value: float | str | bool, time: int | None = None) -> "Event":
        return Event(lib.RT_EV_PARAM, time, node=node, param=param, value=value)  # type: ignore[arg-type]

    @staticmethod
    def transport(play: bool = True, tempo: float = 0.0, time: int | None = None) -> "Event":
        """Start (beat 0 at ``time``) or stop the musical clock; ``tempo`` in BPM (0 = keep)."""
        return Event(lib.RT_EV_TRANSPORT, time, 0, 1 if play else 0, value=float(tempo))

    @staticmethod
    def tempo_change(tempo: float, time: int | None = None) -> "Event":
        """Change the musical clock's tempo (BPM) keeping the beat position (no jump)."""
        return Event(lib.RT_EV_TRANSPORT, time, 0, lib.RT_TRANSPORT_TEMPO, value=float(tempo))

    @staticmethod
    def all_notes_off(channel: int = 0, time: int | None = None, node: str | None = None) -> "Event":
        return Event(lib.RT_EV_ALL_NOTES_OFF, time, channel, node=node)


@dataclass(frozen=True)
class Stats:
    """Engine counters. Callback times (µs) are measured on the live stream only;
    ``*_pct`` give them as a percentage of the period (the time one block lasts)."""

    blocks: int
    frames: int
    xruns: int
    overruns: int
    events_in: int
    events_dropped: int
    events_late: int
    events_stale: int
    telemetry_dropped: int
    graph_swaps: int
    nonfinite_blocks: int
    callbacks: int
    cb_p50_us: float
    cb_p99_us: float
    cb_max_us: float
    cb_mean_us: float
    period_us: float
    sample_rate: float
    max_frames: int
    last_block: int
    graph_generation: int
    active_nodes: int
    notes_out: int
    notes_out_dropped: int
    ai_steps: int
    ai_missed_deadlines: int
    ai_late_notes: int
    ai_missed_notes: int
    transport_playing: int
    tempo: float
    transport_origin: int
    plugins_muted: int
    clock_anchors: int
    clock_jumps: int
    clock_error_ms: float
    record_frames: int
    record_dropped_frames: int
    record_dropped_events: int
    streams_lost: int          # live streams that stopped on their own (server or device gone)
    streams_reopened: int      # ... and were opened again (rtcore.live's reconnect)

    def pct(self, us: float) -> float:
        return 100.0 * us / self.period_us if self.period_us > 0 else 0.0

    @property
    def p50_pct(self) -> float:
        return self.pct(self.cb_p50_us)

    @property
    def p99_pct(self) -> float:
        return self.pct(self.cb_p99_us)

    @property
    def max_pct(self) -> float:
        return self.pct(self.cb_max_us)

    def summary(self) -> str:
        """The end-of-performance report printed by ``rtcore play``."""
        return (
            f"xruns {self.xruns}  overruns {self.overruns}  callbacks {self.callbacks}  "
            f"dropped events {self.events_dropped}\n"
            f"callback time  p50 {self.cb_p50_us:.0f} µs ({self.p50_pct:.1f} %)  "
            f"p99 {self.cb_p99_us:.0f} µs ({self.p99_pct:.1f} %)  "
            f"max {self.cb_max_us:.0f} µs ({self.max_pct:.1f} %)  of a {self.period_us:.0f} µs period"
            + (f"\nAI: {self.ai_steps} steps, {self.ai_missed_deadlines} missed deadlines (chord held), "
               f"{self.ai_late_notes} late notes re-harmonized"
               + (f" ({self.ai_missed_notes} not ready in time)" if self.ai_missed_notes else "")
               + f", {self.notes_out} notes played"
               if self.ai_steps else "")
            + (f"\naudio stream lost {self.streams_lost} time{'s' if self.streams_lost != 1 else ''}, "
               f"reopened {self.streams_reopened}" if self.streams_lost else "")
        )


def _c_array(a: np.ndarray):
    return ffi.cast("float *", a.ctypes.data)


class Engine:
    """The real-time engine.

    ``sample_rate`` in Hz; ``max_block`` is the largest block (frames) process() will be
    asked for at once (larger host blocks are split). Use as a context manager or call
    :meth:`close`; the C handle is also released when the object is collected.
    """

    def __init__(self, sample_rate: float = 48000.0, max_block: int = 1024) -> None:
        p = ffi.new("rt_engine_t **")
        check(lib.rt_engine_create(p), "create engine")
        self._h = ffi.gc(p[0], lib.rt_engine_destroy)
        check(lib.rt_engine_activate(self._h, float(sample_rate), int(max_block)),
              f"activate engine at {sample_rate} Hz, block {max_block}")
        self.sample_rate = float(sample_rate)
        self.max_block = int(max_block)
        self._audio = None
        self._reopen: dict | None = None    # how the last stream was opened (device by name), for reopen_audio()
        self._graph_lock = threading.Lock()
        # (node index by name, generation) of the last loaded graph, replaced as ONE object: a
        # sender on another thread never pairs one graph's node indices with another's generation
        # (since hot reload, an event for the previous generation still reaches kept nodes)
        self._live: tuple[dict[str, tuple[int, NodeType]], int] = ({}, 0)
        self._degraded: set[str] = set()   # nodes of the loaded graph whose settings failed (ai_errors="warn")
        self.spec: GraphSpec | None = None   # a copy of the loaded spec (rtcore.reload.snapshot)
        self.kept: dict[str, str] = {}
        """Nodes the last :meth:`load` asked to keep their state (new name -> old name)."""
        self.warnings: list[str] = []
        self.tempo: float = 0.0          # BPM the musical clock starts at (set from the patch)

    # ---- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        """Stop audio and free every C resource. Safe to call twice."""
        if self._h is None:
            return
        self.close_audio()
        ffi.release(self._h)  # runs rt_engine_destroy now
        self._h = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def handle(self):
        if self._h is None:
            raise EngineStateError("the engine is closed")
        return self._h

    # ---- graphs ------------------------------------------------------------------------
    @property
    def _nodes(self) -> dict[str, tuple[int, NodeType]]:
        return self._live[0]

    @property
    def _generation(self) -> int:
        return self._live[1]

    def load(self, spec: GraphSpec, timeout: float = 2.0, ai_errors: str = "raise",
             keep_state: bool = True) -> None:
        """Build ``spec`` off the audio thread and hand it over; the audio thread swaps it in
        at the next block boundary with a 10 ms crossfade. On any error the running graph
        keeps playing and the error is raised.

        ``keep_state`` (hot reload): every node whose definition did not change (see
        :mod:`rtcore.reload`: same name, type, channel, settings, samples and int/enum/bool
        parameters) takes over the live state of its predecessor -- held notes keep sounding,
        tails keep ringing, the AI keeps playing -- and glides to its new float parameter values
        (10 ms smoothing); the rest starts fresh and is crossfaded in over 10 ms. The pairs are
        in :attr:`kept`. ``keep_state=False``: every node starts fresh.
        ``timeout`` (s): how long to wait for the engine to accept the graph.

        ``ai_errors="warn"``: an AI node whose model cannot be loaded stays silent and the rest
        of the patch plays; the one-line reason is appended to ``self.warnings``."""
        from .plugins import ensure_type, is_plugin_type
        from .reload import kept_nodes, snapshot
        types = node_types()
        with self._graph_lock:
            gp = ffi.new("rt_graph_t **")
            check(lib.rt_graph_create(self.handle, gp), "create graph")
            g = gp[0]
            degraded: set[str] = set()
            try:
                index: dict[str, tuple[int, NodeType]] = {"master": (0, types["limiter"])}
                for name, value in spec.master.items():
                    p = types["limiter"].param(name)
                    check(lib.rt_graph_set_param(g, 0, p.index, float(value)), f"master.{name} = {value}")
                for n in spec.nodes:
                    nt = types.get(n.type)
                    if nt is None and is_plugin_type(n.type):       # not loaded in this process yet
                        nt = ensure_type(n.type, self.sample_rate)
                        types = node_types()
                    if nt is None:
                        raise NotFoundError(f"node '{n.name}': unknown type '{n.type}'", lib.RT_ERR_NOT_FOUND)
                    idx = check(lib.rt_graph_add_node(g, n.type.encode(), n.name.encode()),
                                f"add node '{n.name}' ({n.type})")
                    index[n.name] = (idx, nt)
                    check(lib.rt_graph_set_channel(g, idx, int(n.channel)), f"node '{n.name}' channel")
                    for pname, value in n.params.items():
                        p = nt.param(pname)
                        check(lib.rt_graph_set_param(g, idx, p.index, float(value)),
                              f"node '{n.name}' {pname} = {value}")
                    for key, value in n.config.items():
                        if not self._configure(g, idx, n, key, value, ai_errors):
                            degraded.add(n.name)
                    for z in n.samples:
                        data = np.ascontiguousarray(z.data, dtype=np.float32)
                        if data.ndim == 1:
                            data = data[:, None]
                        check(lib.rt_graph_node_add_sample(
                            g, idx, z.note_lo, z.note_hi, z.root, _c_array(data), data.shape[0], data.shape[1],
                            float(z.sample_rate), int(z.loop), int(z.loop_start), int(z.loop_end)),
                            f"node '{n.name}' sample {z.source or ''}")
                for a, b in spec.connections:
                    check(lib.rt_graph_connect(g, index[a][0], index[b][0]), f"connect {a} -> {b}")
                for a, b in spec.event_connections:
                    check(lib.rt_graph_connect_events(g, index[a][0], index[b][0]), f"send notes {a} -> {b}")
                old_index, old_generation = self._live
                kept: dict[str, str] = {}
                if keep_state and self.spec is not None and old_generation:
                    kept = kept_nodes(self.spec, spec, exclude=self._degraded)
                    for new_name, old_name in kept.items():
                        check(lib.rt_graph_keep_node(g, index[new_name][0], old_generation, old_index[old_name][0]),
                              f"keep the state of node '{old_name}'")
                generation = lib.rt_graph_generation(g)
                deadline = _time.monotonic() + timeout
                while True:
                    rc = lib.rt_engine_commit_graph(self.handle, g)
                    if rc != lib.RT_ERR_FULL or _time.monotonic() > deadline:
                        break
                    _time.sleep(0.002)      # a crossfade is running; it ends within 10 ms
                check(rc, "hand the graph to the engine")
            except BaseException:
                lib.rt_graph_destroy(g)     # never committed: ours to free
                raise
            self._live = (index, generation)
            self._degraded = degraded
            self.kept = kept
            self.spec = snapshot(spec)      # what the next load() compares with

    def _configure(self, g, idx: int, n, key: str, value: str, ai_errors: str) -> bool:
        """Apply one text setting; False when it failed and ``ai_errors="warn"`` let it pass."""
        from .errors import ModelError
        err = ffi.new("char[512]")
        if key == "model":             # the AI needs ONNX Runtime's C library first
            from .accompany.infer import ort_library_path
            try:
                lib_path = str(ort_library_path())
            except ModelError as exc:
                return self._ai_problem(str(exc), ai_errors)
            rc = lib.rt_graph_node_configure(g, idx, b"ort", lib_path.encode(), err, 512)
            if rc < 0:
                return self._ai_problem(ffi.string(err).decode() or f"{lib_path}: cannot load ONNX Runtime",
                                        ai_errors)
        rc = lib.rt_graph_node_configure(g, idx, key.encode(), str(value).encode(), err, 512)
        if rc < 0:
            text = ffi.string(err).decode() or f"node '{n.name}': {key} = {value!r}"
            if key == "model":
                return self._ai_problem(text, ai_errors)
            check(rc, text)
        return True

    def _ai_problem(self, text: str, ai_errors: str) -> bool:
        from .errors import ModelError
        if ai_errors == "warn":
            self.warnings.append(f"{text}; playing without the AI")
            return False
        raise ModelError(text)

    def node_names(self) -> list[str]:
        return list(self._nodes)

    def node_type(self, node: str) -> NodeType:
        return self._node(node)[1]

    def _node(self, name: str, nodes: dict[str, tuple[int, NodeType]] | None = None) -> tuple[int, NodeType]:
        nodes = self._nodes if nodes is None else nodes
        try:
            return nodes[name]
        except KeyError:
            raise NotFoundError(f"no node named '{name}' (nodes: {', '.join(nodes) or 'none'})",
                                lib.RT_ERR_NOT_FOUND) from None

    # ---- events ------------------------------------------------------------------------
    def _fill(self, c, ev: Event) -> None:
        nodes, generation = self._live          # one snapshot: indices and generation agree
        c.time = lib.RT_TIME_NOW if ev.time is None else int(ev.time)
        c.type = ev.type
        c.channel = ev.channel
        c.data1 = ev.data1
        c.data2 = ev.data2
        c.node = lib.RT_NODE_ROUTE
        c.graph = generation
        c.value = 0.0
        if ev.node is not None:
            idx, nt = self._node(ev.node, nodes)
            c.node = idx
            if ev.type == lib.RT_EV_PARAM:
                try:
                    p = nt.param(ev.param or "")
                except KeyError:
                    raise NotFoundError(f"node '{ev.node}' ({nt.name}) has no parameter '{ev.param}' "
                                        f"(parameters: {', '.join(nt.param_names())})",
                                        lib.RT_ERR_NOT_FOUND) from None
                c.param = p.index
                try:
                    c.value = p.coerce(ev.value)
                except ValueError as exc:
                    raise ParamRangeError(f"{ev.node}.{ev.param}: {exc}", lib.RT_ERR_RANGE) from None
                return
        c.value = float(ev.value)

    def send(self, events: Event | Sequence[Event]) -> int:
        """Queue events for the audio thread (any thread). Returns how many were queued;
        raises :class:`QueueFullError` if none fit. Events that did not fit are counted in
        ``stats().events_dropped``."""
        if isinstance(events, Event):
            events = [events]
        n = len(events)
        if n == 0:
            return 0
        arr = ffi.new("rt_event_t[]", n)
        for i, ev in enumerate(events):
            self._fill(arr[i], ev)
        sent = lib.rt_engine_send_many(self.handle, arr, n)
        check(sent, "send events")
        if sent == 0:
            raise QueueFullError("event ring full: the audio thread is not draining it", lib.RT_ERR_FULL)
        return sent

    def note_on(self, note: int, velocity: int = 100, channel: int = 0, time: int | None = None,
                node: str | None = None) -> None:
        """Note ``note`` (MIDI 0-127) at ``velocity`` (1-127)."""
        self.send(Event.note_on(note, velocity, channel, time, node))

    def note_off(self, note: int, channel: int = 0, time: int | None = None, node: str | None = None) -> None:
        self.send(Event.note_off(note, channel, time, node))

    def cc(self, controller: int, value: int, channel: int = 0, time: int | None = None,
           node: str | None = None) -> None:
        self.send(Event.cc(controller, value, channel, time, node))

    def pitch_bend(self, value: float, channel: int = 0, time: int | None = None,
                   node: str | None = None) -> None:
        self.send(Event.pitch_bend(value, channel, time, node))

    def set_param(self, node: str, param: str, value: float | str | bool, time: int | None = None) -> None:
        """Set ``node.param`` (in the parameter's unit; enum by name). The engine glides to
        it (10 ms) for continuous parameters."""
        self.send(Event.param_set(node, param, value, time))

    # ---- offline -------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        """Frames processed so far (the engine clock)."""
        return int(self.stats().frames)

    def render(self, frames: int, block: int = 128, input: np.ndarray | None = None) -> np.ndarray:
        """Process ``frames`` frames in host blocks of ``block`` frames and return the output,
        float32 with shape (frames, 2). ``input``: (frames, 2) or (frames,) float audio.
        Not allowed while a live stream runs."""
        frames = int(frames)
        out = np.zeros((2, frames), dtype=np.float32)
        in_l = in_r = ffi.NULL
        if input is not None:
            x = np.asarray(input, dtype=np.float32)
            if x.ndim == 1:
                x = np.stack([x, x], axis=1)
            if x.shape[0] < frames:
                x = np.concatenate([x, np.zeros((frames - x.shape[0], x.shape[1]), np.float32)])
            planar = np.ascontiguousarray(x[:frames, :2].T)
            if planar.shape[0] == 1:
                planar = np.ascontiguousarray(np.vstack([planar, planar]))
            in_l, in_r = _c_array(planar[0]), _c_array(planar[1])
        check(lib.rt_engine_render(self.handle, in_l, in_r, _c_array(out[0]), _c_array(out[1]),
                                   frames, int(block)), "render")
        lib.rt_engine_collect(self.handle)
        return out.T.copy()

    def render_events(self, events: Iterable[Event], frames: int, block: int = 128,
                      input: np.ndarray | None = None, progress=None) -> np.ndarray:
        """Render ``frames`` frames while playing ``events`` whose ``time`` is in frames from
        the start of this render (None = at the start). Events are fed to the ring in
        windows so any number of them fit; the output does not depend on ``block``.
        ``progress(done_frames)`` is called after each window. Returns (frames, 2) float32."""
        base = self.frame
        evs = [e if e.time is not None else replace(e, time=0) for e in events]
        evs = events_sorted(evs)
        window = max(block, int(self.sample_rate // block) * block)   # about one second
        cap = lib.RT_EVENT_RING_SIZE // 2
        out = np.zeros((int(frames), 2), dtype=np.float32)
        pos = i = 0
        while pos < frames:
            end = min(int(frames), pos + window)
            j = i
            while j < len(evs) and evs[j].time < end and j - i < cap:
                j += 1
            if j - i == cap and j < len(evs) and evs[j].time < end:
                end = max(pos + 1, int(evs[j].time))
                while j > i and evs[j - 1].time >= end:
                    j -= 1
            if j > i:
                shifted = [replace(e, time=int(e.time) + base) for e in evs[i:j]]
                self.send(shifted)
            chunk_in = None if input is None else input[pos:end]
            out[pos:end] = self.render(end - pos, block, chunk_in)
            i, pos = j, end
            if progress is not None:
                progress(pos)
        return out

    def set_freewheel(self, on: bool) -> None:
        """Offline renders freewheel (True, the default): the AI computes each step when it is
        needed, deterministic, as fast as the CPU goes. False: render() behaves like the live
        stream (the AI's inference thread and its deadlines apply) -- pace it in real time."""
        check(lib.rt_engine_set_freewheel(self.handle, 1 if on else 0), "set freewheel")

    # ---- live audio ------------------------------------------------------------------------
    def open_audio(self, device: int | None = None, block: int = 128, input_channels: int = 0,
                   output_channels: int = 2, latency: float | None = None,
                   input_device: int | None = None) -> None:
        """Open a PortAudio stream (device index as listed by ``rtcore devices``; None =
        default output) whose C callback runs the engine; ``block`` frames per callback
        (0 = the host's choice); ``latency`` suggested, in seconds."""
        if self._audio is not None:
            raise EngineStateError("an audio stream is already open", lib.RT_ERR_STATE)
        if block > self.max_block:
            raise ParamRangeError(f"block {block} is larger than the engine's max_block {self.max_block}",
                                  lib.RT_ERR_RANGE)
        p = ffi.new("rt_audio_t **")
        dev = -1 if device is None else int(device)
        check(lib.rt_audio_open(self.handle, dev, -1 if input_device is None else int(input_device),
                                int(block), int(input_channels), int(output_channels),
                                float(latency or 0.0), p),
              f"open audio device {'default' if device is None else device}")
        self._audio = p[0]
        name, api = ffi.new("char[128]"), ffi.new("char[64]")
        check(lib.rt_audio_device(self._audio, name, 128, api, 64), "audio device name")
        self._reopen = {"device": ffi.string(name).decode(errors="replace"),
                        "host_api": ffi.string(api).decode(errors="replace"), "block": int(block),
                        "input_channels": int(input_channels), "output_channels": int(output_channels),
                        "latency": float(latency or 0.0)}

    @property
    def audio_device(self) -> tuple[str, str] | None:
        """(device name, host API name) of the last stream opened, e.g. ("system", "JACK Audio
        Connection Kit"); None before any."""
        return None if self._reopen is None else (self._reopen["device"], self._reopen["host_api"])

    @property
    def audio_lost(self) -> bool:
        """True when the started stream stopped on its own: its audio server or device went away
        (counted in ``stats().streams_lost``). Close it and :meth:`reopen_audio`."""
        return self._audio is not None and lib.rt_audio_lost(self._audio) == 1

    def reopen_audio(self) -> None:
        """Close the stream (a lost one too) and open the same device again -- by its name, on a
        freshly initialised PortAudio, so a JACK server that was restarted is found although its
        device index may have changed -- with the same block, channels and latency. Raises a
        one-line :class:`DeviceError` while the device is not back; call again later. A
        successful reopening after a loss is counted in ``stats().streams_reopened``."""
        if self._reopen is None:
            raise EngineStateError("no audio stream was opened before", lib.RT_ERR_STATE)
        self.close_audio()
        r = self._reopen
        p = ffi.new("rt_audio_t **")
        # with an input, its device is the output's (the PortAudio default pairing of open_audio)
        check(lib.rt_audio_open_named(self.handle, r["device"].encode(), r["host_api"].encode(), r["block"],
                                      r["input_channels"], r["output_channels"], r["latency"], p),
              f"reopen audio device '{r['device']}' ({r['host_api'] or 'any host API'})")
        self._audio = p[0]

    def start(self) -> None:
        """Start the live stream opened by :meth:`open_audio`."""
        if self._audio is None:
            self.open_audio()
        check(lib.rt_audio_start(self._audio), "start audio")

    def stop(self) -> None:
        if self._audio is not None:
            check(lib.rt_audio_stop(self._audio), "stop audio")

    def close_audio(self) -> None:
        if self._audio is not None:
            lib.rt_audio_close(self._audio)
            self._audio = None

    @property
    def audio_running(self) -> bool:
        return self._audio is not None and lib.rt_audio_is_active(self._audio) == 1

    def audio_info(self) -> dict[str, float]:
        """The live stream's input/output latency (s) and sample rate (Hz)."""
        if self._audio is None:
            raise EngineStateError("no audio stream is open", lib.RT_ERR_STATE)
        i, o, sr = ffi.new("double *"), ffi.new("double *"), ffi.new("double *")
        check(lib.rt_audio_info(self._audio, i, o, sr), "audio info")
        return {"input_latency": i[0], "output_latency": o[0], "sample_rate": sr[0]}

    def frame_now(self) -> int:
        """Estimate of the engine frame playing right now (live), from the clock the audio
        thread publishes each block; use it to timestamp events."""
        f, t = ffi.new("int64_t *"), ffi.new("int64_t *")
        check(lib.rt_engine_clock(self.handle, f, t), "read clock")
        if t[0] == 0:
            return int(f[0])
        ahead = min((lib.rt_monotonic_ns() - t[0]) / 1e9, MAX_EXTRAPOLATION_S)
        return int(f[0] + ahead * self.sample_rate)

    # ---- telemetry -------------------------------------------------------------------------
    def stats(self) -> Stats:
        s = ffi.new("rt_stats_t *")
        check(lib.rt_engine_stats(self.handle, s), "read stats")
        lib.rt_engine_collect(self.handle)
        return Stats(**{f.name: getattr(s, f.name) for f in fields(Stats)})

    def reset_stats(self) -> None:
        check(lib.rt_engine_reset_stats(self.handle), "reset stats")

    def meters(self) -> dict[str, tuple[float, float, float, float]]:
        """Per node of the live graph: (peak L, peak R, RMS L, RMS R), linear, last block."""
        m = ffi.new("rt_meter_t[]", lib.RT_MAX_NODES + 1)
        n = check(lib.rt_engine_meters(self.handle, m, lib.RT_MAX_NODES + 1), "read meters")
        by_index = {idx: name for name, (idx, _) in self._nodes.items()}
        return {by_index.get(i, str(i)): (m[i].peak[0], m[i].peak[1], m[i].rms[0], m[i].rms[1])
                for i in range(n)}

    def muted_nodes(self) -> list[str]:
        """Plugin nodes of the live graph that output NaN/Inf and were muted for good."""
        m = ffi.new("rt_meter_t[]", lib.RT_MAX_NODES + 1)
        n = check(lib.rt_engine_meters(self.handle, m, lib.RT_MAX_NODES + 1), "read meters")
        by_index = {idx: name for name, (idx, _) in self._nodes.items()}
        return [by_index.get(i, str(i)) for i in range(n) if m[i].muted]

    def poll_notes(self, max_records: int = 4096) -> list[tuple[int, int, int, int, int]]:
        """Drain the notes the AI (controllers) played: (engine frame, RT_EV_NOTE_ON/OFF,
        channel 2 alto / 3 tenor / 4 bass, note, velocity)."""
        buf = ffi.new("rt_event_t[]", max_records)
        out = []
        while True:
            n = check(lib.rt_engine_poll_notes(self.handle, buf, max_records), "poll notes")
            out += [(buf[i].time, buf[i].type, buf[i].channel, buf[i].data1, buf[i].data2) for i in range(n)]
            if n < max_records:
                return out

    def telemetry(self, max_records: int = 256) -> list[tuple[int, int, int, float]]:
        """Drain telemetry records: (frame, RT_TM_* type, a, value)."""
        buf = ffi.new("rt_telemetry_t[]", max_records)
        n = check(lib.rt_engine_poll_telemetry(self.handle, buf, max_records), "poll telemetry")
        return [(buf[i].frame, buf[i].type, buf[i].a, buf[i].value) for i in range(n)]


def events_sorted(events: Iterable[Event]) -> list[Event]:
    """Events in time order (stable: equal times keep their order)."""
    return sorted(events, key=lambda e: -1 if e.time is None else e.time)
