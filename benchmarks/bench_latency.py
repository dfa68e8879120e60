#!/usr/bin/env python3
"""End-to-end live latency of rtcore on a real JACK server (dummy driver, no sound card).

Every latency here is measured on one clock, JACK's frame counter: a note is *written*
at a known JACK frame and its *onset* is found in audio recorded by JACK frame, so no clock
conversion enters the MIDI figures. For each block size (JACK period) it starts its own
`jackd -R -P 70 -d dummy -r 48000 -p <block>` (falls back to --no-realtime, as
bench_live.py does) under a unique name, stopped by its PID, and runs in this process:

* rtcore as `rtcore play` composes it: an Engine + Session (live, latency mode "lowest" or
  "fixed") playing a one-instrument probe patch (a square-wave synth, attack 0, sustain 1,
  release 1 ms, filter open, level 0 dB, master limiter off: its first sample after a
  note-on is ~0.69, so the onset is found on the note's own frame), through PortAudio's
  JACK host API (rtcore.live.play, host_api "JACK"), the MIDI input
  ``rtcore.midi.MidiInput(session, api="jack")`` (virtual port "rtcore in");
* a **writer** whose MIDI out port, connected to "rtcore in", writes a note-on every
  60-120 ms (held 30 ms, pitches alternating) at a planned JACK frame: half of them at
  offset 0 of a cycle (what RtMidi senders themselves do: these give the main keys), half at
  a random offset (``_anyoffset`` keys; RtMidi's JACK input times every event of a cycle at
  the cycle, see rtcore/midi_time.py, so these carry up to a period of jitter in any mode);
* a **recorder** recording the PortAudio stream's two output ports by JACK frame (and, in
  the AI run, "rtcore out" by its MIDI input), whose C xrun callback counts the server's xruns.

The writer and the recorder are benchmarks/jack_probe.c (driven through jack_probe.py), each
a JACK client in a process of its own whose process callback is C: real time, no allocation,
no lock, no GIL. The whole note plan is queued on the writer before it starts (absolute JACK
frames; a note it could only write after its frame would be written at the next cycle's
start and counted: ``writer_late_*``). A Python process callback would wait for the GIL,
which python-rtmidi keeps while it opens or closes a JACK client (a server round trip that
waits for the graph to finish a cycle): that deadlocks in this process, and in a helper
process it is still late now and then (jackd blamed most of the xruns at block 64 on the
Python writer and recorder). This process keeps only a JACK client with no callbacks (ports,
connections, libjack's clock).

Latency of a note = first recorded frame at or after the written frame whose |sample|
exceeds 0.1 after at least 0.5 ms below it - the written frame. A note with no onset
within 50 ms is *missed*. It is the latency at the JACK graph (what any client downstream
of rtcore hears); a sound card adds its playback latency (``driver_latency_ms_<block>``).
Statistics over the notes of a run: p50, p99, max; **jitter = p99 - p1** (robust to one
outlier; max - min is larger by the outliers and can be read off max).

Runs per block: MIDI in both latency modes with MidiInput read "poll" (what rtcore play uses:
main keys) -- and with --with-callback "callback" (``_callback`` keys); OSC notes; at block 128
the AI's reaction.
Then the OSC flood on a fresh server at block 128.

OSC -> audio: ``rtcore.osc.OscServer(session, port=0)`` in this process; a sender
*subprocess* (``--osc-sender``) sends ``/rtcore/note 0 <note> 100`` (then velocity 0) and
prints CLOCK_MONOTONIC just before each sendto; this process turns it into a JACK frame at
once: CLOCK_MONOTONIC -> libjack's clock (jack_get_time(); CLOCK_MONOTONIC_RAW here, checked
at start) with back-to-back clock readings, then ``jack_time_to_frames()``.

AI reaction (block 128): a patch whose ai node (models/chorale.onnx, follow "reactive",
mode "thread") hears channel 1, where nothing sounds, and plays three percussive square
synths on channels 2-4 (decay 8 ms, sustain 0: every AI note-on is a fresh onset). The
writer plays a melody on channel 1 (pitch changes on every note, at cycle offset 0, every
100-200 ms); the AI's notes leave on ``rtcore.midi.MidiOutput`` ("rtcore out"), recorded
by the recorder's MIDI input (frame = last_frame_time + offset). Reaction = first AI
onset (audio) / first AI note-on (MIDI) after the player's note and before the next one
(at most 100 ms) - written frame; a note without one is missed (an unchanged chord makes
no new onset: counted, not hidden). Tempo 96 BPM, the player's notes held 90 ms. The AI's
own changes on its 16th grid (note-ons the session's note listener reports on a step's
first control tick, placed on JACK frames with the engine-to-JACK frame offset sampled
every tick) are not taken as reactions.

OSC flood: a sender process (``--flood-sender``) paces prebuilt ``/rtcore/node/synth/cutoff
f`` datagrams (random values in range) at --flood-rate for --flood-seconds while the engine
plays notes at block 128, on a server with no Python process callbacks (an xrun there is
rtcore's, not a GIL-starved measuring client's; a jack_probe with no ports counts them).
``osc_flood_dropped`` = sent - received by the server (this already includes the datagrams
the kernel dropped; those alone are ``osc_flood_kernel_dropped``).

Keys (ms unless said): midi_{p50,p99,max,jitter}_ms_<block>_<mode>[_anyoffset][_callback],
midi_missed_<block>_<mode>[...], midi_notes_<block>_<mode>[...] (notes measured),
driver_latency_ms_<block>, period_ms_<block>, xruns_<block> (server xruns during the
measured runs, seen by the recorder's xrun callback; jackd's own account, which client was
late, is jackd_late_{rtcore,probe,driver}_<block>, and jackd_running_{rtcore,probe}_<block> of those
inside their own callback), osc_{p50,p99,max}_ms_<block>, osc_missed_<block>,
ai_react_{p50,p99,max}_ms_128, ai_react_midi_{p50,p99,max}_ms_128, ai_react_missed_128,
ai_react_midi_missed_128, ai_react_notes_128, osc_flood_handled_per_s, osc_flood_dropped,
osc_flood_kernel_dropped, osc_flood_xruns, osc_flood_sent, osc_flood_overruns; for
reading outliers: writer_done_{p50,max}_ms_<block>_<mode>[_callback] (how far into its cycle
the writer had written a note), writer_late_<block>_<mode>[...] (notes written after their
frame), engine_late_events_<block>_<mode>[...]
(fixed-mode events that reached the engine after their frame), clock_discontinuities_...
(ClockModel), gc_max_ms_<block> (longest garbage collection in this process while measuring).

RTCORE_LATENCY_DUMP=DIR writes every run's raw latencies (frames) there.

Usage: bench_latency.py --json PATH [--seconds 20] [--blocks 64,128] [--flood-seconds 30]
       [--flood-rate 20000] [--skip callback,osc,ai,flood]
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import free_server_name  # noqa: E402

SAMPLE_RATE = 48000
THRESHOLD = 0.1              # |sample| of an onset (the probe synth's first sample is ~0.69)
QUIET_FRAMES = 24            # ... after at least this many frames (0.5 ms) below it
WINDOW_MS = 50.0             # a note's onset must come within this, else it is missed
WARMUP_S = 1.0               # the stream and the clock model settle before the first note
GRACE_S = 0.3                # after the last note, for its onset
HOLD_MS = 30.0               # every note is held this long
GAP_MS = (60.0, 120.0)       # between note-ons
PITCHES = (60, 64, 67, 72)   # alternated
AI_GAP_MS = (100.0, 200.0)
AI_WINDOW_MS = 100.0
AI_TEMPO = 96.0              # BPM (patches/chorale.toml's): a 16th = 156 ms
AI_HOLD_MS = 90.0            # the player's notes are legato-ish (the next one comes 100-200 ms later)
AI_MODEL = HERE.parent / "models" / "chorale.onnx"
FLOOD_NODE, FLOOD_PARAM, FLOOD_RANGE = "synth", "cutoff", (200.0, 16000.0)
SKIPPABLE = ("callback", "osc", "ai", "flood")

SYNTH_PATCH = """# bench_latency.py: one instrument with an instant onset
[engine]
sample_rate = 48000
block = {block}
tempo = 120
limiter = false

[[node]]
name = "synth"
type = "synth"
voices = 8
wave = "square"
attack = 0
decay = 0
sustain = 1
release = 1
cutoff = 20000
resonance = 0
env_amount = 0
velocity_sens = 0
level = 0
"""

AI_VOICE = """
[[node]]
name = "{name}"
type = "synth"
channel = {channel}
voices = 4
wave = "square"
attack = 0
decay = 8
sustain = 0
release = 1
cutoff = 20000
resonance = 0
env_amount = 0
velocity_sens = 0
level = -6
"""

AI_PATCH = """# bench_latency.py: the AI hears channel 1 (nothing sounds there) and plays percussive voices
[engine]
sample_rate = 48000
block = 128
tempo = {tempo}
limiter = false

[[node]]
name = "harmony"
type = "ai"
channel = 1
model = "{model}"
to = "alto,tenor,bass"
follow = "reactive"
mode = "thread"
""" + "".join(AI_VOICE.format(name=n, channel=c) for n, c in (("alto", 2), ("tenor", 3), ("bass", 4)))


def note(msg: str) -> None:
    print(f"note: {msg}", flush=True)


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if this process dies."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


# ---- the sender processes (no rtcore, no JACK: they start fast) ---------------------------
def osc_message(address: str, tags: str, *args: float) -> bytes:
    def pad(b: bytes) -> bytes:
        return b + b"\0" * (4 - len(b) % 4)
    out = pad(address.encode()) + pad(("," + tags).encode())
    for t, a in zip(tags, args):
        out += struct.pack(">i" if t == "i" else ">f", a)
    return out


def osc_sender(host: str, port: int, seconds: float) -> int:
    """Notes over OSC; prints ``on <CLOCK_MONOTONIC ns just before sendto> <note>`` per note-on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = (host, port)
    rng = random.Random(7)
    time.sleep(0.3)
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        n = PITCHES[k % len(PITCHES)]
        k += 1
        on, off = osc_message("/rtcore/note", "iii", 0, n, 100), osc_message("/rtcore/note", "iii", 0, n, 0)
        t = time.monotonic_ns()
        sock.sendto(on, addr)
        print(f"on {t} {n}", flush=True)
        time.sleep(HOLD_MS / 1000)
        sock.sendto(off, addr)
        time.sleep(rng.uniform(*GAP_MS) / 1000 - HOLD_MS / 1000)
    print("done", flush=True)
    return 0


def flood_sender(host: str, port: int, rate: float, seconds: float) -> int:
    """Prebuilt parameter datagrams paced at ``rate`` per second; prints one JSON line."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = (host, port)
    rng = random.Random(3)
    msgs = [osc_message(f"/rtcore/node/{FLOOD_NODE}/{FLOOD_PARAM}", "f", rng.uniform(*FLOOD_RANGE))
            for _ in range(4096)]
    sent = errors = 0
    t0 = time.perf_counter()
    while True:
        el = time.perf_counter() - t0
        if el >= seconds:
            break
        due = min(int(el * rate), int(seconds * rate))
        while sent < due:
            try:
                sock.sendto(msgs[sent & 4095], addr)
            except OSError:
                errors += 1
            sent += 1
        time.sleep(0.0005)
    print(json.dumps({"sent": sent, "errors": errors, "seconds": time.perf_counter() - t0}), flush=True)
    return 0


# ---- JACK -------------------------------------------------------------------------------
class JackLib:
    """The libjack calls JACK-Client does not wrap (jack_get_time, jack_time_to_frames,
    jack_get_cycle_times, port latency ranges), through the already loaded library."""

    def __init__(self, client) -> None:
        import cffi
        import jack

        from rtcore.midi_time import JACK_CLOCK, clock_pair

        self.ffi = cffi.FFI()
        self.ffi.cdef("""
            typedef struct { uint32_t min; uint32_t max; } jack_latency_range_t;
            uint64_t jack_get_time(void);
            uint32_t jack_time_to_frames(void *client, uint64_t usecs);
            int jack_get_cycle_times(void *c, uint32_t *frames, uint64_t *cur, uint64_t *next, float *period);
            void *jack_port_by_name(void *client, const char *name);
            void jack_port_get_latency_range(void *port, int mode, jack_latency_range_t *range);""")
        self.lib = self.ffi.dlopen("libjack.so.0")
        self.ptr = self.ffi.cast("void *", int(jack._ffi.cast("uintptr_t", client._ptr)))
        self._f = self.ffi.new("uint32_t *")
        self._c, self._n = self.ffi.new("uint64_t *"), self.ffi.new("uint64_t *")
        self._p = self.ffi.new("float *")
        # which clock is libjack's? (rtcore.midi_time.JACK_CLOCK says CLOCK_MONOTONIC_RAW)
        cands = {c: 0 for c in {JACK_CLOCK, time.CLOCK_MONOTONIC}}
        for c in cands:
            a = time.clock_gettime_ns(c)
            j = int(self.lib.jack_get_time())
            b = time.clock_gettime_ns(c)
            cands[c] = abs(j * 1000 - (a + b) / 2)
        self.clock = min(cands, key=cands.get)
        self.clock_error_us = cands[self.clock] / 1000
        if self.clock != JACK_CLOCK:
            note(f"jack_get_time() follows clock {self.clock}, not rtcore.midi_time.JACK_CLOCK ({JACK_CLOCK})")
        self.pair = clock_pair(self.clock)

    def cycle(self) -> tuple[int, int, float]:
        """(first JACK frame of the current cycle, libjack µs it began, period µs)."""
        self.lib.jack_get_cycle_times(self.ptr, self._f, self._c, self._n, self._p)
        return int(self._f[0]), int(self._c[0]), float(self._p[0])

    def mono_to_frame(self, mono_ns: int) -> int:
        """JACK frame at CLOCK_MONOTONIC ``mono_ns`` (a recent time)."""
        src, mono = self.pair()
        return int(self.lib.jack_time_to_frames(self.ptr, (mono_ns + src - mono) // 1000))

    def mono_to_jack_us(self, mono_ns: int) -> float:
        src, mono = self.pair()
        return (mono_ns + src - mono) / 1000

    def playback_latency(self, port: str) -> tuple[int, int]:
        p = self.lib.jack_port_by_name(self.ptr, port.encode())
        if p == self.ffi.NULL:
            raise RuntimeError(f"no JACK port {port}")
        r = self.ffi.new("jack_latency_range_t *")
        self.lib.jack_port_get_latency_range(p, 1, r)         # JackPlaybackLatency
        return int(r.min), int(r.max)


class Probe:
    """The measuring clients of one server: the writer and the recorder (jack_probe.c
    processes: their process callbacks are C) and a JACK-Client client of this process with
    no callbacks, never activated (the recorder's ``client``: ports, connections, libjack's
    clock)."""

    def __init__(self, server: str, record_s: float) -> None:
        from jack_probe import JackProbe

        self.writer = self.recorder = None
        try:
            self.writer = JackProbe(server, "rtcore-latency-writer", audio_inputs=0, midi_out=True, seconds=0,
                                    control_client=False)
            self.recorder = JackProbe(server, "rtcore-latency-recorder", audio_inputs=2, midi_in=True,
                                      seconds=record_s)
        except BaseException:
            self.close()
            raise
        self.client = self.recorder.client
        self.jl = JackLib(self.client)
        self.WRITER_OUT = self.writer.midi_out_port
        self.RECORDER_IN = tuple(self.recorder.ports)
        self.RECORDER_MIDI = self.recorder.midi_in_port

    def output_ports(self) -> set[str]:
        return self.recorder.output_ports()

    def connect(self, src: str, dst: str) -> None:
        self.client.connect(src, dst)

    def close(self) -> None:
        """Before the server stops: nothing of them is Python in the JACK cycle."""
        for p in (self.writer, self.recorder):
            if p is not None:
                p.close()


def midi_ports(client, is_input: bool) -> set[str]:
    return {p.name for p in client.get_ports(is_midi=True, is_input=is_input, is_output=not is_input)}


def new_port(client, before: set[str], suffix: str, is_input: bool, timeout: float = 2.0) -> str:
    """The MIDI port named ``<client>:<suffix>`` that appeared since ``before``."""
    deadline = time.monotonic() + timeout
    while True:
        names = sorted(n for n in midi_ports(client, is_input) - before if n.endswith(":" + suffix))
        if len(names) == 1:
            return names[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"expected one new JACK MIDI port '*:{suffix}', found {names} "
                               f"(all: {sorted(midi_ports(client, is_input))})")
        time.sleep(0.01)


# ---- analysis ---------------------------------------------------------------------------
def onset_frames(audio, exclude=None):
    """Frames (from the recording's start) where |sample| rises above THRESHOLD after at
    least QUIET_FRAMES below it; NaN (a cycle the recorder missed) counts as loud.
    ``exclude``: onsets to drop (frames, sorted), matched within 2 frames."""
    import numpy as np

    a = np.abs(audio)
    loud = np.isnan(a).any(axis=1) | (np.nan_to_num(a) > THRESHOLD).any(axis=1)
    c = np.concatenate([[0], np.cumsum(loud)])
    idx = np.nonzero(loud)[0]
    idx = idx[idx >= QUIET_FRAMES]
    on = idx[c[idx] - c[idx - QUIET_FRAMES] == 0]
    on = on[~np.isnan(a[on]).any(axis=1)]
    if exclude is not None and len(exclude) and len(on):
        ex = np.asarray(exclude)
        j = np.clip(np.searchsorted(ex, on), 1, len(ex) - 1) if len(ex) > 1 else np.zeros(len(on), int)
        near = np.minimum(np.abs(on - ex[j]), np.abs(on - ex[np.maximum(j - 1, 0)]))
        on = on[near > 2]
    return on


def match(written, events, limit_frames, nexts=True, matched=None):
    """For each written frame, the first event frame >= it, before the next written frame
    (``nexts``) and within ``limit_frames``: (latencies in frames, missed count). ``matched``
    (a list) gets the index of each note that has a latency."""
    import numpy as np

    ev = np.asarray(sorted(events), dtype=np.int64)
    w = np.asarray(written, dtype=np.int64)
    lat, missed = [], 0
    for k, f in enumerate(w):
        end = f + limit_frames
        if nexts and k + 1 < len(w):
            end = min(end, w[k + 1])
        j = int(np.searchsorted(ev, f))
        if j < len(ev) and ev[j] < end:
            lat.append(int(ev[j] - f))
            if matched is not None:
                matched.append(k)
        else:
            missed += 1
    return lat, missed


def dump(name: str, values) -> None:
    """RTCORE_LATENCY_DUMP=DIR: every run's raw latencies (frames) as DIR/<name>.json."""
    d = os.environ.get("RTCORE_LATENCY_DUMP")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        (Path(d) / f"{name}.json").write_text(json.dumps([int(v) for v in values]))


def stats_ms(lat_frames) -> dict[str, float]:
    import numpy as np

    if not len(lat_frames):
        return {}
    a = np.asarray(lat_frames, dtype=float) * 1000.0 / SAMPLE_RATE
    p1, p50, p99 = np.percentile(a, [1, 50, 99])
    return {"p50": round(float(p50), 4), "p99": round(float(p99), 4), "max": round(float(a.max()), 4),
            "min": round(float(a.min()), 4), "jitter": round(float(p99 - p1), 4), "n": int(len(a))}


# ---- a live run ---------------------------------------------------------------------------
class Bench:
    """One block size: its jackd, the writer, the recorder, the probe patches."""

    def __init__(self, block: int, workdir: Path, args) -> None:
        self.block, self.workdir, self.args = block, workdir, args
        self.synth_patch = workdir / f"synth-{block}.toml"
        self.synth_patch.write_text(SYNTH_PATCH.format(block=block))
        self.ai_patch = workdir / "ai.toml"
        self.ai_patch.write_text(AI_PATCH.format(tempo=AI_TEMPO, model=AI_MODEL))
        self.figures: dict[str, object] = {}
        self.xruns = 0
        self.gc_max_ms = 0.0
        self.seed = 1000 * block

    # -- plans
    def plan(self, gap_ms, anyoffset_share: float, pitches=None):
        """Enough notes for the run: (cycles to the next, offset fraction, note, on, off)."""
        rng = random.Random(self.seed)
        self.seed += 1
        lo, hi = (math.ceil(g / 1000 * SAMPLE_RATE / self.block) for g in gap_ms)
        n = int(self.args.seconds * 1000 / gap_ms[0]) + 10
        notes = pitches(rng, n) if pitches else [PITCHES[k % len(PITCHES)] for k in range(n)]
        out = []
        for k in range(n):
            frac = rng.random() * 0.999 if rng.random() < anyoffset_share else 0.0
            nt = notes[k]
            out.append((rng.randint(lo, hi), frac, nt, bytes((0x90, nt, 100)), bytes((0x80, nt, 0))))
        return out

    def write(self, plan, hold_ms: float = HOLD_MS) -> None:
        """Queue ``plan`` on the writer: its first note in the cycle that begins WARMUP_S from
        now, each next one ``gap`` cycles later (at ``frac`` of its cycle), for --seconds;
        every note-off ``hold_ms`` after its note-on."""
        w = self.probe.writer
        _, cycle = w.now()                              # the first frame of a cycle
        start = cycle + math.ceil(WARMUP_S * SAMPLE_RATE / self.block) * self.block
        end = start + int(self.args.seconds * SAMPLE_RATE)
        hold = int(hold_ms / 1000 * SAMPLE_RATE)
        events, c = [], start
        for gap, frac, _, on, off in plan:
            if c >= end:
                break
            f = c + int(frac * self.block)
            events += [(f, on), (f + hold, off)]
            c += gap * self.block
        self.write_start = start
        w.queue_midi_many(events)

    # -- the common part of every run: stream up, recording connected, something started
    def play(self, eng, start, done, tick=None, events=None):
        from rtcore.live import play

        probe = self.probe
        before = probe.output_ports()
        state: dict[str, object] = {}
        record_s = self.record_s
        pauses: list[float] = []
        t_gc = [0.0]

        def gc_timer(phase, info) -> None:       # Python's collector stops every thread meanwhile
            if phase == "start":
                t_gc[0] = time.perf_counter()
            elif "started" in state:
                pauses.append(time.perf_counter() - t_gc[0])

        def on_tick(engine, frames):
            if "started" not in state:
                deadline = time.monotonic() + 2.0
                while len(ports := sorted(probe.output_ports() - before)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                if len(ports) < 2:
                    raise RuntimeError(f"the stream's output ports did not appear (new ports: {ports})")
                for src, dst in zip(ports, probe.RECORDER_IN):
                    probe.connect(src, dst)
                probe.recorder.start()                 # its xrun count restarts too
                start()
                state["started"] = time.monotonic()
                return None
            if tick is not None:
                tick(engine)
            state["x1"] = probe.recorder.xruns          # up to the end of the run, not the close
            if time.monotonic() - state["started"] > record_s - 0.5:
                state["full"] = True
                return True
            if done is None and time.monotonic() - state["started"] < WARMUP_S + self.args.seconds:
                return None
            if probe.writer.status()["queued"] == 0 if done is None else done():
                t = state.setdefault("t_done", time.monotonic())
                if time.monotonic() - t >= GRACE_S:
                    return True
            return None

        probe.writer.clear()                            # its log: this run's notes only
        self.write_start = 0
        gc.callbacks.append(gc_timer)
        try:
            play(eng, events=events, seconds=self.args.seconds + WARMUP_S + 15.0, device=self.device,
                 block=self.block, quiet=True, on_tick=on_tick)
        finally:
            gc.callbacks.remove(gc_timer)
            audio = probe.recorder.stop()
            t0 = probe.recorder.t0
            midi = probe.recorder.midi_received()
            probe.writer.flush()                        # what a run cut short did not write
            sent = probe.writer.midi_sent()
            late = probe.writer.status()["late"]
        if "started" not in state:
            raise RuntimeError("the live run never started")
        if "full" in state:
            note("the recording buffer filled up before the run ended")
        # the note-ons written: (JACK frame, note, planned offset in its cycle, frames into
        # the cycle when written)
        self.written = [(f, d[1], (p - self.write_start) % self.block, done) for f, p, done, d in sent
                        if len(d) == 3 and d[0] & 0xF0 == 0x90 and d[2] > 0]
        self.writer_late = late
        self.xrun_frames = [f - t0 for f in probe.recorder.xrun_frames] if t0 is not None else []
        xr = state.get("x1", probe.recorder.xruns)
        self.xruns += xr
        self.gc_max_ms = max([self.gc_max_ms] + [1000 * p for p in pauses])
        return t0, audio, midi, xr

    def start_midi_in(self, session, read: str):
        from rtcore.midi import MidiInput

        before = midi_ports(self.probe.client, True)
        mi = MidiInput(session, port=None, api="jack", read=read)
        mi.open()
        self.probe.connect(self.probe.WRITER_OUT, new_port(self.probe.client, before, "rtcore in", True))
        return mi

    # -- (1) MIDI in -> audio out
    def run_midi(self, mode: str, read: str) -> None:
        import rtcore as rc
        from rtcore.patch import load_patch
        from rtcore.session import Session

        plan = self.plan(GAP_MS, 0.5)
        with rc.Engine(SAMPLE_RATE, max(1024, self.block)) as eng:
            session = Session(eng, load_patch(self.synth_patch), live=True, latency=mode,
                              fixed_blocks=self.args.fixed_blocks)
            session.start()
            mi = None
            try:
                mi = self.start_midi_in(session, read)
                t0, audio, _, xr = self.play(eng, start=lambda: self.write(plan), done=None)
                st = eng.stats()
                self.figures[f"clock_discontinuities_{self.block}_{mode}{'' if read == 'poll' else '_callback'}"] = \
                    int(session.clock.discontinuities)
            finally:
                if mi is not None:
                    mi.close()
                session.close()
        written = self.written
        on = onset_frames(audio)
        limit = int(WINDOW_MS / 1000 * SAMPLE_RATE)
        suffix = "" if read == "poll" else "_callback"
        for pop, sel in (("", lambda o: o == 0), ("_anyoffset", lambda o: o != 0)):
            notes = [(f - t0, done) for f, _, o, done in written if sel(o)]
            idx: list[int] = []
            lat, missed = match([f for f, _ in notes], on, limit, nexts=False, matched=idx)
            s = stats_ms(lat)
            tag = f"{self.block}_{mode}{pop}{suffix}"
            dump(f"midi_{tag}", lat)
            dump(f"midi_{tag}_frames", [notes[i][0] for i in idx])
            dump(f"midi_{tag}_xruns", self.xrun_frames)
            for k in ("p50", "p99", "max", "jitter"):
                self.figures[f"midi_{k}_ms_{tag}"] = s.get(k)
            self.figures[f"midi_missed_{tag}"] = missed
            self.figures[f"midi_notes_{tag}"] = s.get("n", 0)
        done = stats_ms([d for *_, d in written])
        self.figures[f"writer_done_p50_ms_{self.block}_{mode}{suffix}"] = done.get("p50")
        self.figures[f"writer_done_max_ms_{self.block}_{mode}{suffix}"] = done.get("max")
        self.figures[f"writer_late_{self.block}_{mode}{suffix}"] = self.writer_late
        self.figures[f"engine_late_events_{self.block}_{mode}{suffix}"] = int(st.events_late)
        print(f"  block {self.block} {mode:6} {read:8}: {len(written)} notes written, "
              f"offset 0: p50 {self.figures[f'midi_p50_ms_{self.block}_{mode}{suffix}']} ms "
              f"p99 {self.figures[f'midi_p99_ms_{self.block}_{mode}{suffix}']} ms "
              f"jitter {self.figures[f'midi_jitter_ms_{self.block}_{mode}{suffix}']} ms, "
              f"missed {self.figures[f'midi_missed_{self.block}_{mode}{suffix}']}; xruns {xr}, "
              f"engine overruns {st.overruns}, late events {st.events_late}", flush=True)

    # -- (2) OSC -> audio out
    def run_osc(self) -> None:
        import rtcore as rc
        from rtcore.osc import OscServer
        from rtcore.patch import load_patch
        from rtcore.session import Session

        sends: list[int] = []
        state: dict[str, object] = {}
        with rc.Engine(SAMPLE_RATE, max(1024, self.block)) as eng:
            session = Session(eng, load_patch(self.synth_patch), live=True, latency="lowest")
            session.start()
            server = OscServer(session, port=0).start()
            host, port = server.address

            def reader(proc) -> None:
                for line in proc.stdout:
                    if line.startswith("on "):
                        sends.append(self.jl.mono_to_frame(int(line.split()[1])))

            def start() -> None:
                proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--osc-sender", host,
                                         str(port), str(self.args.seconds)], stdout=subprocess.PIPE, text=True,
                                        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
                th = threading.Thread(target=reader, args=(proc,), daemon=True)
                th.start()
                state["proc"], state["reader"] = proc, th

            def done() -> bool:
                return state["proc"].poll() is not None and not state["reader"].is_alive()

            try:
                t0, audio, _, xr = self.play(eng, start, done)
            finally:
                proc = state.get("proc")
                if proc is not None and proc.poll() is None:
                    proc.terminate()                 # by PID
                    proc.wait(timeout=5)
                server.close()
                session.close()
        on = onset_frames(audio)
        lat, missed = match([f - t0 for f in sends], on, int(WINDOW_MS / 1000 * SAMPLE_RATE), nexts=False)
        s = stats_ms(lat)
        dump(f"osc_{self.block}", lat)
        dump(f"osc_{self.block}_sends", [f - t0 for f in sends])
        dump(f"osc_{self.block}_onsets", on)
        dump(f"osc_{self.block}_xruns", self.xrun_frames)
        for k in ("p50", "p99", "max", "jitter"):
            self.figures[f"osc_{k}_ms_{self.block}"] = s.get(k)
        self.figures[f"osc_missed_{self.block}"] = missed
        self.figures[f"osc_notes_{self.block}"] = s.get("n", 0)
        print(f"  block {self.block} OSC            : {len(sends)} notes sent, p50 {s.get('p50')} ms "
              f"p99 {s.get('p99')} ms, missed {missed}; xruns {xr}", flush=True)

    # -- (3) the AI's reaction
    def run_ai(self) -> None:
        import numpy as np

        import rtcore as rc
        from rtcore._native import lib
        from rtcore.clock import engine_reader
        from rtcore.midi import MidiOutput
        from rtcore.patch import load_patch
        from rtcore.session import Session

        def melody(rng, n):
            scale = [62, 64, 65, 67, 69, 71, 72, 74, 76]
            i, out = 4, []
            for _ in range(n):
                i = min(max(i + rng.choice((-3, -2, -1, 1, 2, 3)), 0), len(scale) - 1)
                if out and scale[i] == out[-1]:
                    i = i - 1 if i else 1
                out.append(scale[i])
            return out

        plan = self.plan(AI_GAP_MS, 0.0, melody)
        ai_notes: list[tuple[int, int, int, int, int]] = []
        ksamples: list[tuple[int, int]] = []          # (engine frame, K = JACK frame - engine frame)
        st_run: dict[str, object] = {}
        with rc.Engine(SAMPLE_RATE, 1024) as eng:
            session = Session(eng, load_patch(self.ai_patch), live=True)
            for w in eng.warnings:
                note(w)
            session.start()
            session.add_note_listener(lambda *n: ai_notes.append(n))
            read_clock = engine_reader(eng)
            mi = mo = None

            def tick(engine) -> None:
                # K: the JACK cycle in which the engine's latest block began
                f, ns = read_clock()
                if ns:
                    j, us, period = self.jl.cycle()
                    cyc = j + math.floor((self.jl.mono_to_jack_us(ns) - us + 100) / period) * self.block
                    ksamples.append((f, cyc - f))
                st_run["stats"] = engine.stats()

            try:
                mi = self.start_midi_in(session, "poll")
                before = midi_ports(self.probe.client, False)
                mo = MidiOutput(session, api="jack").open()
                self.probe.connect(new_port(self.probe.client, before, "rtcore out", False), self.probe.RECORDER_MIDI)
                t0, audio, midi, xr = self.play(eng, start=lambda: self.write(plan, AI_HOLD_MS), done=None,
                                                tick=tick)
            finally:
                for s in (mo, mi):
                    if s is not None:
                        s.close()
                session.close()
        st = st_run["stats"]
        if not ksamples:
            raise RuntimeError("no engine clock samples in the AI run")
        kf = np.array([f for f, _ in ksamples], dtype=np.int64)
        kv = np.array([k for _, k in ksamples], dtype=np.int64)

        def to_jack(frame: int) -> int:
            i = int(np.clip(np.searchsorted(kf, frame), 0, len(kf) - 1))
            return int(frame + kv[i])

        # the AI's own step changes (a 16th's first control tick) are not reactions
        step = SAMPLE_RATE * 60.0 / (float(st.tempo) * 4.0)
        origin = int(st.transport_origin)
        ons = [(f, ch, n) for f, kind, ch, n, v in ai_notes if kind == lib.RT_EV_NOTE_ON and v > 0]
        grid = [(to_jack(f), ch, n) for f, ch, n in ons if 0 <= (f - origin) - math.floor((f - origin) / step) * step
                < lib.RT_CONTROL_FRAMES + 1]
        grid_audio = sorted({g - t0 for g, _, _ in grid})
        limit20 = int(0.020 * SAMPLE_RATE)
        midi_ons = [(f - t0, d[0] & 0x0F, d[1]) for f, d in midi
                    if len(d) == 3 and d[0] & 0xF0 == 0x90 and d[2] > 0]
        midi_react = [f for f, ch, n in midi_ons
                      if not any(0 <= f - (g - t0) <= limit20 and ch + 1 == gch and n == gn for g, gch, gn in grid)]
        written = [f - t0 for f, *_ in self.written]
        limit = int(AI_WINDOW_MS / 1000 * SAMPLE_RATE)
        lat_a, miss_a = match(written, onset_frames(audio, grid_audio), limit)
        lat_m, miss_m = match(written, midi_react, limit)
        sa, sm = stats_ms(lat_a), stats_ms(lat_m)
        for k in ("p50", "p99", "max"):
            self.figures[f"ai_react_{k}_ms_128"] = sa.get(k)
            self.figures[f"ai_react_midi_{k}_ms_128"] = sm.get(k)
        self.figures.update({
            "ai_react_missed_128": miss_a, "ai_react_midi_missed_128": miss_m, "ai_react_notes_128": len(written),
            "ai_notes_on_128": len(ons), "ai_grid_notes_on_128": len(grid), "ai_midi_out_notes_on_128": len(midi_ons),
            "ai_missed_deadlines_128": int(st.ai_missed_deadlines), "ai_missed_notes_128": int(st.ai_missed_notes),
            "ai_k_values_128": int(len(set(kv.tolist()))),
        })
        print(f"  block 128 AI reaction   : {len(written)} player notes, {len(ons)} AI note-ons "
              f"({len(grid)} on its own steps), {len(midi_ons)} on MIDI out; audio p50 {sa.get('p50')} ms "
              f"p99 {sa.get('p99')} ms missed {miss_a}; MIDI p50 {sm.get('p50')} ms p99 {sm.get('p99')} ms "
              f"missed {miss_m}; xruns {xr}, missed deadlines {st.ai_missed_deadlines}", flush=True)

    # -- the whole block size
    def run(self) -> None:
        from bench_live import JackServer

        from rtcore.devices import JACK_HOST_API, resolve_device

        server = JackServer(free_server_name(f"rtcore-latency-{self.block}"), self.block, self.workdir)
        server.start()
        os.environ["JACK_DEFAULT_SERVER"] = server.name     # PortAudio, rtmidi and JACK-Client read it
        os.environ["JACK_NO_START_SERVER"] = "1"
        self.probe = None
        self.record_s = self.args.seconds + WARMUP_S + 4.0
        try:
            self.probe = Probe(server.name, self.record_s + 1.0)
            self.jl = self.probe.jl
            self.device = resolve_device(None, JACK_HOST_API)
            lat = self.jl.playback_latency("system:playback_1")
            period_ms = 1000.0 * self.block / SAMPLE_RATE
            self.figures.update({f"driver_latency_ms_{self.block}": round(1000.0 * lat[1] / SAMPLE_RATE, 4),
                                 f"period_ms_{self.block}": round(period_ms, 4),
                                 f"realtime_{self.block}": server.realtime})
            print(f"block {self.block}: jackd {'-R' if server.realtime else '--no-realtime'} (server {server.name}), period "
                  f"{period_ms:.3f} ms, system:playback_1 latency {lat[0]}..{lat[1]} frames; libjack clock "
                  f"{self.jl.clock} (|jack_get_time - clock| {self.jl.clock_error_us:.1f} µs)", flush=True)
            reads = ["poll"] + (["callback"] if self.args.with_callback else [])
            for mode in ("lowest", "fixed"):
                for read in reads:
                    self.run_midi(mode, read)
            if "osc" not in self.args.skip:
                self.run_osc()
            if "ai" not in self.args.skip and self.block == 128:
                if AI_MODEL.exists():
                    self.run_ai()
                else:
                    note(f"{AI_MODEL} does not exist: the AI reaction is not measured")
            self.figures[f"xruns_{self.block}"] = self.xruns
            self.figures[f"gc_max_ms_{self.block}"] = round(self.gc_max_ms, 3)
            self.figures[f"jackd_xrun_lines_{self.block}"] = server.xrun_lines()
            self.figures.update({f"{k}_{self.block}": v for k, v in late_clients(server.log).items()})
            if os.environ.get("RTCORE_LATENCY_DUMP"):
                shutil.copy(server.log, Path(os.environ["RTCORE_LATENCY_DUMP"]) / server.log.name)
        finally:
            if self.probe is not None:
                self.probe.close()             # C callbacks only: closed while the server runs
            server.stop()
            remove_shm_leftovers(server.name)


def late_clients(log: Path) -> dict[str, int]:
    """jackd's own account of its xruns (its log): cycles its driver's timer was late, and
    how often a client of each kind was not finished in time: rtcore's (PortAudio: the
    engine; "rtcore": its MIDI ports) or this benchmark's writer and recorder.
    ``jackd_running_<kind>`` counts those still inside their process callback (state
    Running); the others had been triggered but their thread had not run yet (a machine
    busy elsewhere, or a client upstream finishing just before the deadline)."""
    import re

    out = {"jackd_late_driver": 0, "jackd_late_rtcore": 0, "jackd_late_probe": 0, "jackd_late_other": 0,
           "jackd_running_rtcore": 0, "jackd_running_probe": 0, "jackd_running_other": 0}
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if "JackTimedDriver::Process XRun" in line:
            out["jackd_late_driver"] += 1
            continue
        m = re.search(r"client = (\S+) was not finished(?:, state = (\w+))?", line)
        if m is None:
            continue
        name = m.group(1)
        kind = ("probe" if name.startswith("rtcore-latency-") else
                "rtcore" if name == "PortAudio" or name.startswith("rtcore") else "other")
        out[f"jackd_late_{kind}"] += 1
        if m.group(2) == "Running":
            out[f"jackd_running_{kind}"] += 1
    return out


def remove_shm_leftovers(server: str) -> None:
    """jack2 leaves the semaphores of clients closed after their server in /dev/shm: remove
    this (stopped, uniquely named) server's."""
    import glob
    for f in glob.glob(f"/dev/shm/jack_sem.*_{server}_*") + glob.glob(f"/dev/shm/jack_{server}_*"):
        try:
            os.unlink(f)
        except OSError:
            pass


# ---- (4) the OSC flood ---------------------------------------------------------------------
def run_flood(workdir: Path, seconds: float, rate: float) -> dict[str, object]:
    from bench_live import JackServer
    from jack_probe import JackProbe

    import rtcore as rc
    from rtcore.devices import JACK_HOST_API, resolve_device
    from rtcore.engine import Event
    from rtcore.live import play
    from rtcore.osc import OscServer
    from rtcore.patch import load_patch
    from rtcore.session import Session

    block = 128
    path = workdir / "flood.toml"
    path.write_text(SYNTH_PATCH.format(block=block))
    server = JackServer(free_server_name("rtcore-latency-flood"), block, workdir)
    server.start()
    print(f"OSC flood: jackd {'-R' if server.realtime else '--no-realtime'} (server {server.name})", flush=True)
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    monitor = None
    state: dict[str, object] = {}
    try:
        # its xruns: a jack_probe with no ports (the xrun callback is C: nothing of this
        # process runs in the server's threads)
        monitor = JackProbe(server.name, "rtcore-latency-monitor", audio_inputs=0, seconds=0, control_client=False)
        dev = resolve_device(None, JACK_HOST_API)
        total = seconds + WARMUP_S + 10.0
        events = []
        for k in range(int(total / 0.25)):                 # a note every 250 ms, held 100 ms
            n, t = PITCHES[k % len(PITCHES)], int(k * 0.25 * SAMPLE_RATE)
            events += [Event.note_on(n, 100, 0, t), Event.note_off(n, 0, t + SAMPLE_RATE // 10)]
        with rc.Engine(SAMPLE_RATE, 1024) as eng:
            session = Session(eng, load_patch(path), live=True)
            session.start()
            osc = OscServer(session, port=0).start()
            host, port = osc.address

            def on_tick(engine, frames):
                if "proc" not in state:
                    if frames < WARMUP_S * SAMPLE_RATE:
                        return None
                    engine.reset_stats()
                    state["c0"], state["x0"] = osc.counters(), monitor.status()["xruns"]
                    state["proc"] = subprocess.Popen(
                        [sys.executable, str(Path(__file__).resolve()), "--flood-sender", host, str(port), str(rate),
                         str(seconds)], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent)
                    return None
                proc = state["proc"]
                if proc.poll() is None:
                    return None
                if "x1" not in state:
                    state["x1"], state["stats"] = monitor.status()["xruns"], engine.stats()
                # the server drains its socket: wait until "received" stops moving
                c = osc.counters()["received"]
                if c != state.get("last_received"):
                    state["last_received"], state["t_still"] = c, time.monotonic()
                    return None
                return time.monotonic() - state["t_still"] >= 0.3

            try:
                play(eng, events=events, seconds=total + seconds, device=dev, block=block, quiet=True,
                     on_tick=on_tick)
                c1 = osc.counters()
            finally:
                proc = state.get("proc")
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                osc.close()
                session.close()
        proc = state.get("proc")
        if proc is None or "stats" not in state:
            raise RuntimeError("the flood never ran")
        out = json.loads(proc.stdout.read().strip().splitlines()[-1])
        proc.wait(timeout=5)
    finally:
        if monitor is not None:
            monitor.close()
        server.stop()
        remove_shm_leftovers(server.name)
    c0, st = state["c0"], state["stats"]
    sent = int(out["sent"])
    received = c1["received"] - c0["received"]
    res = {
        "osc_flood_sent": sent,
        "osc_flood_seconds": round(float(out["seconds"]), 3),
        "osc_flood_received": received,
        "osc_flood_handled_per_s": round((c1["handled"] - c0["handled"]) / float(out["seconds"]), 1),
        "osc_flood_dropped": sent - received,
        "osc_flood_kernel_dropped": c1["dropped"] - c0["dropped"],
        "osc_flood_errors": c1["errors"] - c0["errors"],
        "osc_flood_send_errors": int(out["errors"]),
        "osc_flood_xruns": state["x1"] - state["x0"],
        "osc_flood_overruns": int(st.overruns),
        "osc_flood_cb_p99_us": round(float(st.cb_p99_us), 1),
        "osc_flood_cb_max_us": round(float(st.cb_max_us), 1),
        "osc_flood_realtime": server.realtime,
    }
    res.update({f"osc_flood_{k}": v for k, v in late_clients(server.log).items()})
    print(f"  OSC flood (block 128): {sent} sent in {out['seconds']:.1f} s, {received} received, "
          f"handled {res['osc_flood_handled_per_s']}/s, kernel drops {res['osc_flood_kernel_dropped']}, "
          f"xruns {res['osc_flood_xruns']}, engine overruns {st.overruns}, callback max {st.cb_max_us:.0f} µs",
          flush=True)
    return res


# ---- the table -----------------------------------------------------------------------------
def table_rows(fig: dict[str, object], blocks: list[int]) -> list[list[object]]:
    def v(key, unit=" ms"):
        x = fig.get(key)
        return "-" if x is None else (f"{x:.3f}{unit}" if isinstance(x, float) else str(x))

    rows: list[list[object]] = []
    for b in blocks:
        period, drv = fig.get(f"period_ms_{b}"), fig.get(f"driver_latency_ms_{b}")
        if period is None:
            continue
        bound = period + (drv or 0.0)
        rows.append([f"block {b}: period / driver playback latency", f"{v(f'period_ms_{b}')} / "
                     f"{v(f'driver_latency_ms_{b}')}", ""])
        for mode in ("lowest", "fixed"):
            for suffix in ("", "_callback"):
                for pop in ("", "_anyoffset"):
                    tag = f"{b}_{mode}{pop}{suffix}"
                    if fig.get(f"midi_notes_{tag}") is None:
                        continue
                    name = (f"MIDI->audio {b} {mode}, {'poll' if not suffix else 'callback'}, "
                            f"{'offset 0' if not pop else 'any offset'}")
                    if mode == "lowest":
                        target = f"p99 <= {bound:.3f} ms"
                    else:
                        target = "jitter <= 0.1 ms" if not pop else "(a period of jitter: RtMidi)"
                    rows.append([name, f"p50 {v('midi_p50_ms_' + tag)}  p99 {v('midi_p99_ms_' + tag)}  "
                                       f"max {v('midi_max_ms_' + tag)}  jitter {v('midi_jitter_ms_' + tag)}  "
                                       f"missed {fig.get('midi_missed_' + tag)}/{fig.get('midi_notes_' + tag, 0) + fig.get('midi_missed_' + tag, 0)}",
                                 target + ", missed 0"])
        if fig.get(f"osc_notes_{b}") is not None:
            rows.append([f"OSC->audio {b} lowest", f"p50 {v(f'osc_p50_ms_{b}')}  p99 {v(f'osc_p99_ms_{b}')}  "
                                                   f"max {v(f'osc_max_ms_{b}')}  missed {fig.get(f'osc_missed_{b}')}",
                         f"p99 <= {bound:.3f} ms"])
        rows.append([f"server xruns during the block {b} runs", str(fig.get(f"xruns_{b}")), "0"])
        rows.append([f"  jackd's log: late rtcore client / late writer+recorder / driver timer",
                     f"{fig.get(f'jackd_late_rtcore_{b}')} / {fig.get(f'jackd_late_probe_{b}')} / "
                     f"{fig.get(f'jackd_late_driver_{b}')}", ""])
        rows.append(["    of which inside their own callback: rtcore / writer+recorder",
                     f"{fig.get(f'jackd_running_rtcore_{b}')} / {fig.get(f'jackd_running_probe_{b}')}", ""])
    if fig.get("ai_react_notes_128") is not None:
        bound = fig["period_ms_128"] + fig["driver_latency_ms_128"]
        rows.append(["AI reaction 128 (audio onset)", f"p50 {v('ai_react_p50_ms_128')}  p99 {v('ai_react_p99_ms_128')}  "
                                                      f"missed {fig['ai_react_missed_128']}/{fig['ai_react_notes_128']}",
                     f"<= {bound:.3f} ms"])
        rows.append(["AI reaction 128 (MIDI out)", f"p50 {v('ai_react_midi_p50_ms_128')}  "
                                                   f"p99 {v('ai_react_midi_p99_ms_128')}  "
                                                   f"missed {fig['ai_react_midi_missed_128']}/{fig['ai_react_notes_128']}",
                     f"<= {bound:.3f} ms"])
    if fig.get("osc_flood_sent") is not None:
        rows.append(["OSC flood: sent / handled per s", f"{fig['osc_flood_sent']} / {fig['osc_flood_handled_per_s']}", ""])
        rows.append(["OSC flood: dropped (kernel)", f"{fig['osc_flood_dropped']} ({fig['osc_flood_kernel_dropped']})", "0"])
        rows.append(["OSC flood: server xruns / engine overruns",
                     f"{fig['osc_flood_xruns']} / {fig['osc_flood_overruns']}", "0 xruns"])
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--osc-sender"]:
        return osc_sender(argv[1], int(argv[2]), float(argv[3]))
    if argv[:1] == ["--flood-sender"]:
        return flood_sender(argv[1], int(argv[2]), float(argv[3]), float(argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="write the flat JSON figures here")
    ap.add_argument("--seconds", type=float, default=20.0, help="notes written per run, in seconds (default 20)")
    ap.add_argument("--blocks", default="64,128", help="comma-separated block sizes (default 64,128)")
    ap.add_argument("--flood-seconds", type=float, default=30.0, help="OSC flood duration (default 30)")
    ap.add_argument("--flood-rate", type=float, default=20000.0, help="OSC flood messages per second (default 20000)")
    ap.add_argument("--skip", default="", help=f"comma-separated parts to skip: {', '.join(SKIPPABLE)}")
    ap.add_argument("--fixed-blocks", type=int, default=1,
                    help="blocks of delay in fixed mode (the patch's [midi] fixed_blocks; default 1)")
    ap.add_argument("--with-callback", action="store_true",
                    help="also measure MidiInput(read='callback') (python-rtmidi segfaulted in it once: not offered "
                         "by rtcore play)")
    ap.add_argument("--osc-sender", nargs=3, metavar=("HOST", "PORT", "SECONDS"), help="(internal) the OSC note sender")
    ap.add_argument("--flood-sender", nargs=4, metavar=("HOST", "PORT", "RATE", "SECONDS"),
                    help="(internal) the OSC flood sender")
    args = ap.parse_args(argv)
    try:
        blocks = [int(b) for b in args.blocks.split(",") if b.strip()]
    except ValueError:
        ap.error(f"--blocks must be comma-separated integers (got {args.blocks!r})")
    if not blocks or any(b < 16 or b > 1024 for b in blocks):
        ap.error("block sizes must be 16..1024")
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(SKIPPABLE):
        ap.error(f"--skip takes {', '.join(SKIPPABLE)} (got {', '.join(sorted(args.skip))})")
    from _common import require_jack_tools
    if require_jack_tools():
        return 2
    from _common import print_table, write_json

    from rtcore.perform import tune_interpreter_for_live
    tune_interpreter_for_live()          # as `rtcore play` does: short GIL hand-offs
    figures: dict[str, object] = {"sample_rate": SAMPLE_RATE, "seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="rtcore-latency-") as tmp:
        workdir = Path(tmp)
        for block in blocks:
            b = Bench(block, workdir, args)
            try:
                b.run()
            finally:
                figures.update(b.figures)
        if "flood" not in args.skip:
            figures.update(run_flood(workdir, args.flood_seconds, args.flood_rate))
    print_table(f"rtcore live latency ({args.seconds:g} s of notes per run, jackd dummy 48 kHz; at the JACK "
                f"graph, a sound card adds its driver latency)", ["figure", "value", "target"],
                table_rows(figures, blocks))
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
