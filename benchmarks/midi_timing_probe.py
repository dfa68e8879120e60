#!/usr/bin/env python3
"""Probe: how well can live MIDI through python-rtmidi's JACK API be placed on engine frames?

For each block size it starts its own `jackd -d dummy -r 48000 -p <block>` (unique name,
stopped by PID) and runs, for --seconds:
  * rtcore's engine through PortAudio's JACK host API (a silent tone graph);
  * a "writer" whose MIDI out port writes note-ons at known JACK frames (a cycle's first
    frame + a random offset in the cycle, a note every 5..40 cycles, sometimes two in one
    cycle): benchmarks/jack_probe.c, a client whose process callback is C, in a process of
    its own, with the whole plan queued ahead (a Python process callback here would wait
    for the GIL, which python-rtmidi keeps while it opens a JACK client: a deadlock);
  * two python-rtmidi JACK-API virtual inputs connected to it: "rtcore in" with a
    callback (runs on rtmidi's JACK process thread, holding the GIL) and "rtcore in poll"
    read by a thread polling every 1 ms; both with ignore_types(False, False, False).
Meanwhile the main thread samples the engine clock (rt_engine_clock) and JACK's cycle
times (jack_get_cycle_times: each cycle's first frame and the time it began).

Figures, in frames (1 frame = 20.8 µs), p50 / p99 / max of |error| and the mean error:
  clock dense / 20 Hz : ClockModel.frame_at(the time JACK began cycle c) - the engine frame of
                        c, the model fed every block / one point every 50 ms (replayed from
                        the live points, each evaluated with the points published before it)
  <input> ts          : ClockModel.frame_at(MidiTimestamper's time) - the frame written
  <input> ts/cycle    : the same against the first frame of the cycle it was written in
  <input> arrival     : ClockModel.frame_at(Python arrival time) - the frame written
  <input> fixed+1blk  : "fixed latency" = ts + one block; the spread (max - min) of the
                        resulting latency is its jitter
Engine frames and JACK frames differ by a constant K (the engine's first block ran in JACK
cycle K), found as the cycle each block's processing began in.

jack_get_time() is CLOCK_MONOTONIC_RAW here (rtcore.midi_time.JACK_CLOCK); the engine uses
CLOCK_MONOTONIC: the probe converts with paired clock readings.

Usage: midi_timing_probe.py [--seconds 20] [--blocks 64,128] [--load] [--json PATH]
  --load: a Python thread keeps the GIL busy half the time (the app doing work).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, print_table, write_json  # noqa: E402,F401  (ROOT: puts rtcore on sys.path)
from bench_live import JackServer  # noqa: E402

SAMPLE_RATE = 48000
WARMUP_S = 2.0


class LibJack:
    """The libjack calls JACK-Client does not wrap (through the already loaded library)."""

    def __init__(self, client) -> None:
        import cffi
        import jack

        self.ffi = cffi.FFI()
        self.ffi.cdef("""uint64_t jack_get_time(void);
            int jack_get_cycle_times(void *c, uint32_t *frames, uint64_t *cur, uint64_t *next, float *period);""")
        self.lib = self.ffi.dlopen("libjack.so.0")
        self.ptr = self.ffi.cast("void *", int(jack._ffi.cast("uintptr_t", client._ptr)))
        self._f = self.ffi.new("uint32_t *")
        self._c, self._n = self.ffi.new("uint64_t *"), self.ffi.new("uint64_t *")
        self._p = self.ffi.new("float *")

    def cycle(self) -> tuple[int, int]:
        """(first JACK frame of the current cycle, libjack µs it began)."""
        self.lib.jack_get_cycle_times(self.ptr, self._f, self._c, self._n, self._p)
        return int(self._f[0]), int(self._c[0])


class Writer:
    """The note writer: a jack_probe with a MIDI output and nothing else; ``client`` is a
    JACK-Client client of this process with no callbacks (connections, libjack's clock)."""

    def __init__(self, server: str, rng: np.random.Generator) -> None:
        from jack_probe import JackProbe

        self.probe = JackProbe(server, "rtcore-probe-writer", audio_inputs=0, midi_out=True, seconds=0)
        self.client = self.probe.client
        self.port = self.probe.midi_out_port
        self.rng = rng

    def start(self, seconds: float) -> None:
        """Queue note-ons for ``seconds`` from 50 cycles on: a note every 5..40 cycles at a
        random offset, a fifth of them with a second one in the same cycle."""
        r, block = self.rng, self.probe.blocksize
        _, c = self.probe.now()
        c += 50 * block                           # let everything settle first
        end = c + int(seconds * SAMPLE_RATE)
        events = []
        while c < end:
            gap, a, b, chord = int(r.integers(5, 41)), float(r.random()), float(r.random()), float(r.random())
            offs = sorted({int(a * block), int(b * block)}) if chord < 0.2 else [int(a * block)]
            for off in offs:
                i = len(events)
                note, vel = i % 128, 1 + (i // 128) % 127        # (note, velocity) names the message
                events.append((c + off, bytes([0x90, note, vel])))
            c += gap * block
        self.probe.queue_midi_many(events)

    def stop(self) -> None:
        self.probe.flush()

    @property
    def written(self) -> list[tuple[int, int, int]]:
        """(JACK frame it was written at, note, velocity)."""
        return [(f, d[1], d[2]) for f, _, _, d in self.probe.midi_sent()]

    def close(self) -> None:
        self.probe.close()


def gil_hog(stop: threading.Event) -> None:
    """Keeps the GIL busy about half the time, in 5 ms slices."""
    while not stop.is_set():
        t = time.perf_counter() + 0.005
        x = 0
        while time.perf_counter() < t:
            x += 1
        time.sleep(0.005)


def stats(err: np.ndarray) -> tuple[float, float, float, float]:
    a = np.abs(err)
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max()), float(err.mean())


def run_block(block: int, seconds: float, load: bool, workdir: Path) -> dict[str, tuple[float, ...]]:
    import jack
    import rtmidi

    import rtcore as rc
    from rtcore.clock import ClockModel
    from rtcore.devices import JACK_HOST_API, quiet_stderr, resolve_device
    from rtcore.midi_time import JACK_CLOCK, MidiTimestamper, clock_pair

    server = JackServer(f"rtcore-midiprobe-{os.getpid()}-{block}", block, workdir)
    server.start()
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    pair = clock_pair(JACK_CLOCK)
    rng = np.random.default_rng(block)
    eng = rc.Engine(SAMPLE_RATE, max(1024, block))
    cb_in = poll_in = writer = None
    try:
        writer = Writer(server.name, rng)
        lj = LibJack(writer.client)
        eng.load(rc.GraphSpec(nodes=[rc.NodeSpec("t", "tone", {"level": -96.0})]))
        with quiet_stderr():
            eng.open_audio(device=resolve_device(None, JACK_HOST_API), block=block)
        eng.start()

        got_cb: list = []
        got_poll: list = []
        cb_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="rtcore-probe-cb")
        cb_in.ignore_types(sysex=False, timing=False, active_sense=False)   # else deltas get lost
        cb_in.open_virtual_port("rtcore in")
        cb_in.set_callback(lambda ev, _: got_cb.append((ev[0], ev[1], pair())))
        poll_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="rtcore-probe-poll")
        poll_in.ignore_types(sysex=False, timing=False, active_sense=False)
        poll_in.open_virtual_port("rtcore in poll")
        for p in writer.client.get_ports(is_midi=True, is_input=True):
            if p.name.startswith("rtcore-probe-cb:") or p.name.startswith("rtcore-probe-poll:"):
                writer.client.connect(writer.port, p)

        stop = threading.Event()

        def poller() -> None:
            while not stop.is_set():
                while True:
                    m = poll_in.get_message()
                    if m is None:
                        break
                    got_poll.append((m[0], m[1], pair()))
                time.sleep(0.001)

        threads = [threading.Thread(target=poller, daemon=True)]
        if load:
            threads.append(threading.Thread(target=gil_hog, args=(stop,), daemon=True))
        for t in threads:
            t.start()

        points: list[tuple[int, int]] = []          # engine (frame, mono ns)
        cycles: dict[int, int] = {}                 # JACK frame -> libjack µs
        pairs: list[tuple[int, int]] = []           # (libjack-clock ns, mono ns)
        f, t = rc.engine.ffi.new("int64_t *"), rc.engine.ffi.new("int64_t *")
        writer.start(seconds)
        end = time.monotonic() + seconds
        next_pair = 0.0
        while time.monotonic() < end:
            rc.engine.lib.rt_engine_clock(eng.handle, f, t)
            if t[0] and (not points or points[-1][0] != f[0]):
                points.append((int(f[0]), int(t[0])))
            cf, cu = lj.cycle()
            cycles[cf] = cu
            if time.monotonic() > next_pair:
                pairs.append(pair())
                next_pair = time.monotonic() + 0.1
            time.sleep(0.0002)
        stop.set()
        for t in threads:                        # before the ports go away under them
            t.join(timeout=2.0)
        writer.stop()
        written = writer.written
        time.sleep(0.1)
        cb_in.cancel_callback()
        stats_eng = eng.stats()
    finally:
        for m in (cb_in, poll_in):
            if m is not None:
                m.close_port()
                m.delete()
        try:
            eng.stop()
            eng.close_audio()
        finally:
            eng.close()
            if writer is not None:
                writer.close()
            server.stop()
    if os.environ.get("RTCORE_PROBE_DUMP"):              # raw data for a closer look
        import pickle
        with open(f"{os.environ['RTCORE_PROBE_DUMP']}-{block}.pkl", "wb") as fh:
            pickle.dump((points, cycles, pairs, written, got_cb, got_poll), fh)
    return analyse(block, points, cycles, pairs, written, got_cb, got_poll, stats_eng,
                   ClockModel, MidiTimestamper)


def analyse(block, points, cycles, pairs, written, got_cb, got_poll, st, ClockModel, MidiTimestamper):
    pr = np.array(pairs, dtype=float)

    def jack_to_mono(ns: float) -> float:
        i = min(int(np.searchsorted(pr[:, 0], ns)), len(pr) - 1)
        return ns + (pr[i, 1] - pr[i, 0])

    def mono_to_jack(ns: float) -> float:
        i = min(int(np.searchsorted(pr[:, 1], ns)), len(pr) - 1)
        return ns - (pr[i, 1] - pr[i, 0])

    cf = np.array(sorted(cycles), dtype=np.int64)
    cu = np.array([cycles[c] for c in cf], dtype=np.int64)
    # K per block: the JACK cycle in which the block began processing. It changes when the
    # engine's client misses cycles (an xrun: JACK frames go on, engine frames do not).
    k_of_cycle: dict[int, int] = {}
    cycle_of_frame: dict[int, int] = {}
    for fr, ns in points:
        # + 100 µs: a block seen to begin a few µs before JACK's recorded cycle start belongs
        # to that cycle (the two clocks are read on different threads)
        i = int(np.searchsorted(cu, mono_to_jack(ns) / 1000 + 100, side="right")) - 1
        if i >= 0 and (i + 1 == len(cu) or cf[i + 1] - cf[i] == block):
            k_of_cycle[int(cf[i])] = int(cf[i]) - fr
            cycle_of_frame[fr] = int(cf[i])
    k_cycles = np.array(sorted(k_of_cycle), dtype=np.int64)
    k_vals = np.array([k_of_cycle[c] for c in k_cycles], dtype=np.int64)
    skips = int(np.count_nonzero(np.diff(k_vals)))

    def k_at(jack_frame: int) -> int:
        """K of the engine block that processed the cycle of `jack_frame` (or the last before)."""
        i = max(0, int(np.searchsorted(k_cycles, jack_frame, side="right")) - 1)
        return int(k_vals[i])
    K = int(k_vals[-1])

    pts = np.array(points, dtype=np.int64)
    t_start = pts[0, 1] + WARMUP_S * 1e9

    def replay(every_ns: float):
        """Feed the points to a ClockModel as a reader polled every `every_ns` would see them;
        return (frame_at(truth) - frame) per block after the warm-up."""
        cur = [(0, 0)]
        model = ClockModel(reader=lambda: cur[0], sample_rate=SAMPLE_RATE)
        errs, last_fed = [], -1e30
        for i in range(1, len(pts)):
            fr = int(pts[i, 0])
            c = cycle_of_frame.get(fr)
            us = cycles.get(c) if c is not None else None
            if pts[i, 1] >= t_start and us is not None:
                errs.append(model.frame_at(int(jack_to_mono(us * 1000))) - fr)
            if pts[i, 1] - last_fed >= every_ns:
                cur[0] = (int(pts[i, 0]), int(pts[i, 1]))
                model.update()
                last_fed = pts[i, 1]
        return np.array(errs, dtype=float), model

    out: dict[str, tuple[float, ...]] = {}
    e_dense, model_dense = replay(0)
    out["clock dense"] = stats(e_dense)
    out["clock 20 Hz"] = stats(replay(50e6)[0])

    by_key = {(n, v): fr for fr, n, v in written}

    def midi(got):
        """(ts, ts vs cycle start, arrival) errors in frames for the messages written after the warm-up."""
        ts = MidiTimestamper()
        cur = [(0, 0)]
        model = ClockModel(reader=lambda: cur[0], sample_rate=SAMPLE_RATE)
        j = 0
        e_ts, e_cyc, e_arr = [], [], []
        for msg, delta, (src, mono) in got:
            est = ts.stamp(delta, (src, mono))
            while j < len(pts) and pts[j, 1] <= mono:      # the engine points published by then
                cur[0] = (int(pts[j, 0]), int(pts[j, 1]))
                model.update()
                j += 1
            jf = by_key.get((msg[1], msg[2])) if len(msg) == 3 else None
            if jf is None or mono < t_start:
                continue
            k = k_at(jf - jf % block)
            true = jf - k
            e_ts.append(model.frame_at(est) - true)
            e_cyc.append(model.frame_at(est) - (jf - jf % block - k))
            e_arr.append(model.frame_at(mono) - true)
        return np.array(e_ts, float), np.array(e_cyc, float), np.array(e_arr, float), ts

    for name, got in (("callback", got_cb), ("poll 1 ms", got_poll)):
        e_ts, e_cyc, e_arr, ts = midi(got)
        if not len(e_ts):
            continue
        out[f"{name} ts"] = stats(e_ts)
        out[f"{name} ts/cycle"] = stats(e_cyc)
        out[f"{name} arrival"] = stats(e_arr)
        lat = e_ts + block                                   # fixed mode: one block after the estimate
        out[f"{name} fixed+1blk"] = (float(np.percentile(lat, 50)), float(np.percentile(lat, 99)),
                                     float(lat.max()), float(lat.max() - lat.min()))
        out[f"{name} n"] = (float(len(e_ts)), float(len(got)), float(ts.reanchors), 0.0)
    out["info"] = (float(K), float(skips), float(model_dense.rate), float(st.xruns), float(model_dense.discontinuities))
    out["written"] = (float(len(written)), float(len(got_cb)), float(len(got_poll)), float(len(points)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring time per block size (default 20)")
    ap.add_argument("--blocks", default="64,128", help="comma-separated block sizes (default 64,128)")
    ap.add_argument("--load", action="store_true", help="keep the GIL busy half the time meanwhile")
    ap.add_argument("--json", default=None, help="write the flat JSON figures here")
    args = ap.parse_args(argv)
    from _common import require_jack_tools
    if require_jack_tools():
        return 2
    figures: dict[str, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="rtcore-midiprobe-"))
    try:
        for block in [int(b) for b in args.blocks.split(",") if b.strip()]:
            res = run_block(block, args.seconds, args.load, workdir)
            K, skips, rate, xruns, jumps = res.pop("info")
            nw, ncb, npoll, npts = res.pop("written")
            extra = {k: res.pop(k) for k in [k for k in res if k.endswith(" n")]}
            rows = [[k, *v] for k, v in res.items()]
            print_table(f"block {block}: error in frames (|err| p50 / p99 / max, mean err; fixed+1blk: latency "
                        f"p50 / p99 / max, spread)", ["figure", "p50", "p99", "max", "mean/spread"], rows)
            print(f"  engine frame + K = JACK frame, K = {K:.0f} at the end, changed {skips:.0f} times (cycles the "
                  f"engine missed; engine xruns {xruns:.0f}; ClockModel saw {jumps:.0f} discontinuities); measured "
                  f"rate {rate:.2f} Hz; {nw:.0f} notes written, {ncb:.0f} via callback, "
                  f"{npoll:.0f} polled, {npts:.0f} engine blocks sampled"
                  + "".join(f"; {k[:-2]}: {v[0]:.0f} measured, {v[2]:.0f} re-anchors" for k, v in extra.items()))
            for k, v in res.items():
                key = k.replace(" ", "_").replace("/", "_per_").replace("+", "_")
                figures.update({f"{key}_p50_{block}": v[0], f"{key}_p99_{block}": v[1], f"{key}_max_{block}": v[2]})
            figures[f"rate_{block}"] = rate
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
