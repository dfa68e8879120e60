#!/usr/bin/env python3
"""Floods: rtcore keeps playing -- and counts every message it could not take -- while its
control surfaces are flooded, on a real JACK server (its own `jackd -R -d dummy`, stopped by PID).

rtcore runs as a musician runs it: ``rtcore play`` (this worktree's) in a process of its own
with patches/chorale.toml (the AI accompanist, a pad, a reverb), its MIDI input "rtcore in"
and output, and its OSC server, block 128 by default. In every phase patches/melody.mid
(looped) is played into "rtcore in" so that the AI and the synths are sounding. Phases, each
with a fresh ``rtcore play`` for --seconds:

* ``osc``: a sender process paces ``/rtcore/node/lead/cutoff f`` (random values in range) at
  --osc-rate (default 50,000 messages/s) to rtcore's OSC port;
* ``midi``: benchmarks/jack_probe.c writes --midi-rate (default 10,000) MIDI messages per
  second into "rtcore in" at planned JACK frames, evenly spread (notes on and off, CC 1 -- the
  patch maps it to the AI's temperature -- and pitch bend, channel 1);
* ``reload``: ``/rtcore/patch/load`` every --reload-ms (default 100 ms) from another socket,
  alternating the patch and a variant (the lead's waveform, the room's mix and the AI's
  temperature differ: one node is rebuilt and crossfaded, the others keep their state);
* ``all``: the three at once.

Measured per phase: server xruns (the C probe's xrun callback, during the flood), and from
rtcore itself (``/rtcore/stats`` before and after, differences): engine overruns, events
dropped and late, the AI's missed deadlines, callback time, graph swaps (= reloads done), OSC
received/handled/dropped (dropped = the kernel's count, SO_RXQ_OVFL), MIDI received/handled/
lost (lost = RtMidi's full queue, rtcore.stderr_tap); memory: the RSS of the rtcore process
every second during the flood, growth = mean of the last 10 s - mean of the first 10 s (MB).

Accounting: ``*_osc_unaccounted`` = datagrams sent (flood, reloads, stats queries) -
(received + dropped), always 0; ``*_midi_unaccounted`` = messages the probe wrote - (received
+ lost): 0 unless the server had xruns in which rtcore's MIDI client missed its cycle -- JACK
then drops that cycle's MIDI before any client sees it (no JACK client can count that; the
server's xruns are counted instead). Context: the floor -- a pass-through C client
(benchmarks/floor_client.c) alone on the same server for --seconds; the MIDI flood into a C
MIDI sink instead of rtcore -- and jackd's own account of who was late (its log).

JSON keys: the ``all`` phase as ``flood_<figure>``, the others as ``flood_osc_only_<figure>``,
``flood_midi_only_<figure>``, ``flood_reload_only_<figure>``; figures: xruns, overruns,
events_dropped, events_late, ai_missed_deadlines, cb_p99_us, cb_max_us, osc_sent,
osc_received, osc_handled, osc_handled_per_s, osc_dropped, osc_unaccounted, midi_sent,
midi_received, midi_handled, midi_lost, midi_unaccounted, midi_writer_dropped, reloads_sent,
reloads (graph swaps), reload_errors, rss_start_mb, rss_end_mb, rss_growth_mb,
jackd_late_{rtcore,midi_in,probe,driver,other} (midi_in: rtcore's MIDI input client, one of
rtcore's), jackd_running_rtcore; and flood_floor_xruns,
flood_floor_midi_{xruns,written,delivered} (the MIDI flood into a C sink instead of rtcore: the
flood's own floor), flood_seconds, flood_block, flood_realtime.

Usage: floods.py --json PATH [--seconds 20] [--block 128] [--osc-rate 50000] [--midi-rate 10000]
                 [--reload-ms 100] [--phases osc,midi,reload,all] [--no-floor] [--keep-log FILE]
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _rtcore_play import (SAMPLE_RATE, MidiFeeder, OscClient, RssSampler, RtcorePlay, SharedProbe,  # noqa: E402
                          _die_with_parent, chorale_variants, free_udp_port, jackd_late, log_size, melody,
                          merge, window_growth_mb)

PHASES = ("osc", "midi", "reload", "all")
PREFIX = {"osc": "flood_osc_only_", "midi": "flood_midi_only_", "reload": "flood_reload_only_", "all": "flood_"}
PROBE_NAME = "rtcore-bench-floods-writer"
FLOOD_NODE, FLOOD_PARAM, FLOOD_RANGE = "lead", "cutoff", (200.0, 16000.0)
WARMUP_S = 2.0          # after rtcore answers, before the flood: the AI's first steps, the stream settled
LEAD_S = 0.5            # the first flood message is planned this far after it starts


def note(msg: str) -> None:
    print(f"note: {msg}", flush=True)


# ---- the OSC sender process ---------------------------------------------------------------------
def osc_sender(host: str, port: int, rate: float, seconds: float) -> int:
    """Prebuilt parameter datagrams paced at ``rate`` per second; prints one JSON line."""
    from rtcore.osc import wire

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = (host, port)
    rng = random.Random(3)
    msgs = [wire.build(f"/rtcore/node/{FLOOD_NODE}/{FLOOD_PARAM}", rng.uniform(*FLOOD_RANGE)) for _ in range(4096)]
    sent = errors = 0
    t0 = time.perf_counter()
    total = int(seconds * rate)
    while sent < total:
        due = min(int((time.perf_counter() - t0) * rate), total)
        while sent < due:
            try:
                sock.sendto(msgs[sent & 4095], addr)
            except OSError:
                errors += 1
            sent += 1
        time.sleep(0.0005)
    print(json.dumps({"sent": sent, "errors": errors, "seconds": time.perf_counter() - t0}), flush=True)
    return 0


# ---- MIDI ----------------------------------------------------------------------------------------
def midi_flood(rate: float):
    """``rate`` messages per second, evenly spread, for ever: (frame, bytes) on channel 1 -- of
    every 8: note on/off three times (C4..B4), CC 1 (sweeping), pitch bend (sweeping)."""
    step = SAMPLE_RATE / rate
    k = 0
    while True:
        j, n = k % 8, 60 + (k // 8) % 12
        v = (k // 8) % 128
        msg = (bytes((0x90, n + j // 2, 100)) if j in (0, 2, 4) else
               bytes((0x80, n + j // 2, 0)) if j in (1, 3, 5) else
               bytes((0xB0, 1, v)) if j == 6 else bytes((0xE0, 0, v)))
        yield int(k * step), msg
        k += 1


class Reloader(threading.Thread):
    """``/rtcore/patch/load`` every ``period`` s, alternating ``a`` and ``b``, from a socket of
    its own; counts replies and errors (read by a second thread)."""

    def __init__(self, port: int, a: Path, b: Path, period: float) -> None:
        super().__init__(name="reloader", daemon=True)
        self.osc = OscClient(port)
        self.paths, self.period = (str(a), str(b)), period
        self.ok = self.errors = 0
        self.first_errors: list[str] = []
        self._quit = threading.Event()
        self._reader = threading.Thread(target=self._read, name="reload-replies", daemon=True)

    @property
    def sent(self) -> int:
        return self.osc.sent

    def run(self) -> None:
        self._reader.start()
        k, nxt = 0, time.monotonic()
        while not self._quit.is_set():
            self.osc.send("/rtcore/patch/load", self.paths[k % 2])
            k += 1
            nxt += self.period
            self._quit.wait(max(0.0, nxt - time.monotonic()))

    def _read(self) -> None:
        self.osc.sock.settimeout(0.2)
        while not self._quit.is_set() or self._pending():
            try:
                m = self.osc.wire.parse_message(self.osc.sock.recv(65536))
            except socket.timeout:
                if self._quit.is_set():
                    return
                continue
            except OSError:
                return
            if m.args and m.args[0] == "/rtcore/patch/load":
                if m.address == "/rtcore/reply":
                    self.ok += 1
                else:
                    self.errors += 1
                    if len(self.first_errors) < 3:
                        self.first_errors.append(str(m.args[1:]))

    def _pending(self) -> bool:
        return self.ok + self.errors < self.sent

    def stop(self, drain_s: float = 3.0) -> None:
        """Stop sending; wait up to ``drain_s`` for the replies still coming."""
        self._quit.set()
        self.join(timeout=2.0)
        deadline = time.monotonic() + drain_s
        while self._pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._reader.join(timeout=1.0)
        self.osc.close()


# ---- one phase -----------------------------------------------------------------------------------
class Rig:
    """The server, the writer probe and the patches shared by the phases."""

    def __init__(self, server, writer: SharedProbe, patch_a: Path, patch_b: Path, args) -> None:
        self.server, self.writer, self.a, self.b, self.args = server, writer, patch_a, patch_b, args

    def connect_midi(self, timeout: float = 10.0) -> str:
        """The writer's MIDI output -> rtcore's "rtcore in" (the one port of that name); the
        JACK client that owns it."""
        client = self.writer.probe.client
        deadline = time.monotonic() + timeout
        while True:
            names = [p.name for p in client.get_ports(is_midi=True, is_input=True) if p.name.endswith(":rtcore in")]
            if len(names) == 1:
                client.connect(self.writer.midi_out_port, names[0])
                return names[0].split(":", 1)[0]
            if time.monotonic() > deadline:
                raise RuntimeError(f"expected one JACK port '*:rtcore in', found {names}")
            time.sleep(0.05)


def settle(osc: OscClient, timeout: float = 20.0) -> dict[str, float]:
    """Stats once everything sent has been taken or counted: queried until OSC received +
    dropped (less these queries), MIDI received + lost and the graph swaps stop moving."""
    prev = None
    deadline = time.monotonic() + timeout
    while True:
        s = osc.stats(timeout=5.0)
        key = (s["osc_received"] + s["osc_dropped"] - osc.sent, s["midi_in_received"] + s["midi_in_lost"],
               s["graph_swaps"])
        if key == prev or time.monotonic() > deadline:
            return s
        prev = key
        time.sleep(0.4)


def run_phase(phase: str, rig: Rig) -> dict[str, object]:
    args, writer = rig.args, rig.writer
    seconds = args.seconds
    osc_on, midi_on, reload_on = phase in ("osc", "all"), phase in ("midi", "all"), phase in ("reload", "all")
    port = free_udp_port()
    play = RtcorePlay(rig.a, rig.server.name, args.block, port)
    osc = OscClient(port)
    sender = reloader = feeder = sampler = None
    report = ""
    try:
        play.wait_ready(osc)
        midi_in_client = rig.connect_midi()
        time.sleep(WARMUP_S)
        writer.clear()                                        # the writer's counters: this phase only
        _, cycle = writer.now()
        start = cycle + int(LEAD_S * SAMPLE_RATE)
        frames = int(seconds * SAMPLE_RATE)
        source = merge(melody(), midi_flood(args.midi_rate)) if midi_on else melody()
        log0 = log_size(rig.server.log)
        x0 = writer.status()["xruns"]
        s0 = osc.stats()
        q0 = osc.sent
        sampler = RssSampler(play.pid)
        sampler.start()
        feeder = MidiFeeder(writer, source, start, frames)
        feeder.start()
        time.sleep(LEAD_S)
        t_start = time.monotonic()
        if osc_on:
            sender = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--osc-sender", "127.0.0.1",
                                       str(port), str(args.osc_rate), str(seconds)], stdout=subprocess.PIPE,
                                      text=True, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        if reload_on:
            reloader = Reloader(port, rig.a, rig.b, args.reload_ms / 1000.0)
            reloader.start()
        while time.monotonic() - t_start < seconds:
            time.sleep(0.05)
            if play.proc.poll() is not None:
                raise RuntimeError(f"rtcore play ended during the flood ({play.proc.returncode}):\n{play.stderr[-3000:]}")
        x1 = writer.status()["xruns"]                         # the flood's, not the drain's
        log1 = log_size(rig.server.log)
        rss = sampler.stop()
        if reloader is not None:
            reloader.stop()
        sent_osc = 0
        if sender is not None:
            out, _ = sender.communicate(timeout=seconds + 30)
            res = json.loads(out.strip().splitlines()[-1])
            sent_osc, osc_seconds = int(res["sent"]) + int(res["errors"]), float(res["seconds"])
        feeder.join(timeout=10.0)
        if feeder.error is not None:
            raise feeder.error
        deadline = time.monotonic() + 10.0
        while writer.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.05)
        s1 = settle(osc)
        w = writer.status()
    finally:
        for p in (sender,):
            if p is not None and p.poll() is None:
                p.kill()                                      # by PID
                p.wait(timeout=5)
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        if reloader is not None and reloader.is_alive():
            reloader.stop(drain_s=0)
        code, report, err = play.interrupt()
        osc.close()
    if code != 0:
        note(f"rtcore play exited with {code} after the {phase} phase:\n{err[-2000:]}")

    def d(key: str) -> int:
        return int(s1[key] - s0[key])

    sent_total = sent_osc + (reloader.sent if reloader else 0) + (osc.sent - q0)
    written = int(w["midi_out"] + w["midi_out_overflow"])
    flood_late = jackd_late(rig.server.log, log0, log1, midi_in_client=midi_in_client)   # the flood's lines
    fig: dict[str, object] = {
        "xruns": int(x1 - x0),
        "overruns": d("overruns"),
        "events_dropped": d("events_dropped"),
        "events_late": d("events_late"),
        "ai_missed_deadlines": d("ai_missed_deadlines"),
        "ai_steps": d("ai_steps"),
        "cb_p99_us": round(float(s1["cb_p99_us"]), 1),
        "cb_max_us": round(float(s1["cb_max_us"]), 1),
        "osc_sent": sent_total,
        "osc_flood_sent": sent_osc,
        "osc_received": d("osc_received"),
        "osc_handled": d("osc_handled"),
        "osc_errors": d("osc_errors"),
        "osc_handled_per_s": round(d("osc_handled") / osc_seconds, 1) if sender is not None else 0.0,
        "osc_dropped": d("osc_dropped"),
        "osc_unaccounted": sent_total - d("osc_received") - d("osc_dropped"),
        "midi_sent": written,
        "midi_received": d("midi_in_received"),
        "midi_handled": d("midi_in_handled"),
        "midi_errors": d("midi_in_errors"),
        "midi_lost": d("midi_in_lost"),
        "midi_unaccounted": written - d("midi_in_received") - d("midi_in_lost"),
        "midi_writer_dropped": int(w["dropped"]),
        "midi_writer_late": int(w["late"]),
        "reloads_sent": reloader.sent if reloader else 0,
        "reloads": d("graph_swaps"),
        "reload_replies": reloader.ok if reloader else 0,
        "reload_errors": reloader.errors if reloader else 0,
        "rss_start_mb": round(rss[0][1], 2) if rss else None,
        "rss_end_mb": round(rss[-1][1], 2) if rss else None,
        "rss_growth_mb": window_growth_mb(rss),
        "rss_samples": len(rss),
        "jackd_late_rtcore": flood_late["rtcore"],
        "jackd_running_rtcore": flood_late["rtcore_running"],
        "jackd_late_midi_in": flood_late["midi_in"],
        "jackd_late_probe": flood_late["probe"],
        "jackd_late_driver": flood_late["driver"],
        "jackd_late_other": flood_late["other"],
        "exit_code": code,
    }
    if reloader is not None and reloader.first_errors:
        note(f"reload errors ({phase}): {'; '.join(reloader.first_errors)}")
    for line in report.strip().splitlines():
        print(f"  [{phase}] rtcore play: {line}", flush=True)
    if rss:
        print(f"  [{phase}] RSS every 10 s (MB): " + " ".join(f"{mb:.1f}" for t, mb in rss if int(t) % 10 == 0), flush=True)
    print(f"  [{phase}] xruns {fig['xruns']}, overruns {fig['overruns']}, OSC {fig['osc_received']} received "
          f"({fig['osc_handled_per_s']}/s handled) {fig['osc_dropped']} dropped, MIDI {fig['midi_sent']} written "
          f"{fig['midi_handled']} handled {fig['midi_lost']} lost, reloads {fig['reloads']}/{fig['reloads_sent']}, "
          f"RSS {fig['rss_start_mb']} MB, growth {fig['rss_growth_mb']} MB", flush=True)
    return fig


# ---- the floor ----------------------------------------------------------------------------------
def run_floor(rig: Rig, workdir: Path, seconds: float) -> int | None:
    """Server xruns while a pass-through C client runs alone for ``seconds`` (None: no compiler)."""
    from bench_live import build_floor_client

    exe = build_floor_client(workdir)
    if exe is None:
        return None
    import os
    env = dict(os.environ, JACK_DEFAULT_SERVER=rig.server.name, JACK_NO_START_SERVER="1")
    p = subprocess.Popen([str(exe), "rtcore-bench-floor"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=_die_with_parent)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"floor_client failed: {p.stderr.read() if p.poll() is not None else ''}")
        time.sleep(WARMUP_S / 4)
        x0 = rig.writer.status()["xruns"]
        time.sleep(seconds)
        return rig.writer.status()["xruns"] - x0
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)                     # by PID
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_midi_floor(rig: Rig, seconds: float) -> dict[str, int]:
    """The MIDI flood's own floor: the same messages written into a C MIDI sink (a second
    jack_probe) instead of rtcore, for ``seconds``: server xruns, and whether JACK delivered
    every message (``delivered`` = written when no client missed a cycle)."""
    from jack_probe import JackProbe

    sink = JackProbe(rig.server.name, "rtcore-bench-floods-sink", audio_inputs=0, midi_in=True, seconds=0,
                     control_client=False)
    writer = rig.writer
    try:
        writer.probe.client.connect(writer.midi_out_port, sink.midi_in_port)
        time.sleep(0.2)
        writer.clear()
        _, cycle = writer.now()
        start = cycle + int(LEAD_S * SAMPLE_RATE)
        feeder = MidiFeeder(writer, merge(melody(), midi_flood(rig.args.midi_rate)), start, int(seconds * SAMPLE_RATE))
        x0 = writer.status()["xruns"]
        feeder.start()
        feeder.join(timeout=seconds + 30)
        deadline = time.monotonic() + 10.0
        while writer.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.05)
        x1 = writer.status()["xruns"]
        time.sleep(0.2)
        w, r = writer.status(), sink.status()
    finally:
        sink.close()
    return {"xruns": int(x1 - x0), "written": int(w["midi_out"] + w["midi_out_overflow"]),
            "delivered": int(r["midi_in"] + r["midi_in_overflow"])}


# ---- the table -----------------------------------------------------------------------------------
ROWS = [
    ("server xruns (floor: see below)", "xruns"), ("  jackd: rtcore late (in its callback)", None),
    ("  jackd: of which rtcore's MIDI input", "jackd_late_midi_in"),
    ("engine overruns", "overruns"), ("events dropped / late", None), ("AI missed deadlines", "ai_missed_deadlines"),
    ("callback p99 / max (µs, whole run)", None), ("OSC sent / received / dropped", None),
    ("OSC handled per s", "osc_handled_per_s"), ("OSC unaccounted (must be 0)", "osc_unaccounted"),
    ("MIDI written / handled / lost", None), ("MIDI unaccounted (0 but for JACK xruns)", "midi_unaccounted"),
    ("reloads done / sent (errors)", None), ("RSS start / growth (MB)", None),
]


def cell(f: dict[str, object], label: str, key: str | None) -> str:
    if key is not None:
        return str(f.get(key))
    if label.startswith("  jackd"):
        return f"{f['jackd_late_rtcore']} ({f['jackd_running_rtcore']})"
    if label.startswith("events"):
        return f"{f['events_dropped']} / {f['events_late']}"
    if label.startswith("callback"):
        return f"{f['cb_p99_us']} / {f['cb_max_us']}"
    if label.startswith("OSC sent"):
        return f"{f['osc_sent']} / {f['osc_received']} / {f['osc_dropped']}"
    if label.startswith("MIDI written"):
        return f"{f['midi_sent']} / {f['midi_handled']} / {f['midi_lost']}"
    if label.startswith("reloads"):
        return f"{f['reloads']} / {f['reloads_sent']} ({f['reload_errors']})"
    return f"{f['rss_start_mb']} / {f['rss_growth_mb']}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--osc-sender"]:
        return osc_sender(argv[1], int(argv[2]), float(argv[3]), float(argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="write the flat JSON figures here")
    ap.add_argument("--seconds", type=float, default=20.0, help="flood time per phase (default 20)")
    ap.add_argument("--block", type=int, default=128, choices=[64, 128, 256], help="JACK period and rtcore block")
    ap.add_argument("--osc-rate", type=float, default=50000.0, help="OSC messages per second (default 50000)")
    ap.add_argument("--midi-rate", type=float, default=10000.0, help="MIDI messages per second (default 10000)")
    ap.add_argument("--reload-ms", type=float, default=100.0, help="a patch reload every this many ms (default 100)")
    ap.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    ap.add_argument("--no-floor", action="store_true", help="skip the pass-through client's floor run")
    ap.add_argument("--keep-log", type=Path, help="copy jackd's log (who was late at each xrun) to this file")
    ap.add_argument("--osc-sender", nargs=4, metavar=("HOST", "PORT", "RATE", "SECONDS"), help="(internal)")
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or set(phases) - set(PHASES):
        ap.error(f"--phases takes {', '.join(PHASES)} (got {args.phases!r})")
    if args.seconds <= 0 or args.osc_rate <= 0 or args.midi_rate <= 0 or args.reload_ms <= 0:
        ap.error("--seconds, --osc-rate, --midi-rate and --reload-ms must be positive")
    from _common import print_table, require_jack_tools, write_json
    if require_jack_tools():
        return 2
    from bench_latency import free_server_name, remove_shm_leftovers
    from bench_live import JackServer
    from jack_probe import JackProbe

    figures: dict[str, object] = {"flood_seconds": args.seconds, "flood_block": args.block,
                                  "flood_osc_rate": args.osc_rate, "flood_midi_rate": args.midi_rate,
                                  "flood_reload_ms": args.reload_ms}
    per_phase: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="rtcore-floods-") as tmp:
        workdir = Path(tmp)
        a, b = chorale_variants(workdir)
        server = JackServer(free_server_name("rtcore-floods"), args.block, workdir)
        server.start()
        print(f"floods: jackd {'-R' if server.realtime else '--no-realtime'} dummy, block {args.block} "
              f"(server {server.name})", flush=True)
        figures["flood_realtime"] = server.realtime
        probe = None
        try:
            probe = JackProbe(server.name, PROBE_NAME, audio_inputs=0, midi_out=True, seconds=0)
            rig = Rig(server, SharedProbe(probe), a, b, args)
            if not args.no_floor:
                figures["flood_floor_xruns"] = run_floor(rig, workdir, args.seconds)
                print(f"  floor: a pass-through C client alone for {args.seconds:g} s: "
                      f"{figures['flood_floor_xruns']} xruns", flush=True)
                if "midi" in phases or "all" in phases:
                    mf = run_midi_floor(rig, args.seconds)
                    figures.update({f"flood_floor_midi_{k}": v for k, v in mf.items()})
                    print(f"  floor of the MIDI flood: the same messages into a C MIDI sink for {args.seconds:g} s: "
                          f"{mf['xruns']} xruns, {mf['written']} written, {mf['delivered']} delivered", flush=True)
            for phase in phases:
                print(f"phase {phase}: {args.seconds:g} s", flush=True)
                fig = run_phase(phase, rig)
                per_phase[phase] = fig
                figures.update({PREFIX[phase] + k: v for k, v in fig.items()})
        finally:
            if probe is not None:
                probe.close()
            server.stop()
            remove_shm_leftovers(server.name)
            if args.keep_log:
                args.keep_log.parent.mkdir(parents=True, exist_ok=True)
                args.keep_log.write_bytes(server.log.read_bytes())
    rows = [[label] + [cell(per_phase[p], label, key) for p in phases] for label, key in ROWS]
    rows.append(["floor: pass-through client's xruns", str(figures.get("flood_floor_xruns"))] + [""] * (len(phases) - 1))
    if "flood_floor_midi_xruns" in figures:
        rows.append(["floor: MIDI flood into a C sink: xruns (lost)",
                     f"{figures['flood_floor_midi_xruns']} "
                     f"({figures['flood_floor_midi_written'] - figures['flood_floor_midi_delivered']})"]
                    + [""] * (len(phases) - 1))
    print_table(f"rtcore under floods ({args.seconds:g} s per phase, block {args.block}; OSC {args.osc_rate:g}/s, "
                f"MIDI {args.midi_rate:g}/s, a reload every {args.reload_ms:g} ms)", ["figure"] + phases, rows)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
