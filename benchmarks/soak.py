#!/usr/bin/env python3
"""Soak: rtcore plays for a long time under ordinary live traffic, on a real JACK server at
block 64 (its own `jackd -R -P 70 -d dummy -p 64`, --no-realtime if -R fails; stopped by PID).

First the floor: benchmarks/floor_client.c, a pass-through C client, alone on the server for
the same time, counting the server's xruns (what this machine and server do with no rtcore).
Then ``rtcore play patches/chorale.toml --block 64`` (this worktree's, a process of its own:
the AI accompanist, a pad, a reverb; MIDI in/out, OSC) for --minutes with
* patches/melody.mid looped into "rtcore in", written by benchmarks/jack_probe.c at planned
  JACK frames (so the AI accompanies all the time);
* a parameter set every 10 ms over OSC (``/rtcore/node/room/mix``, a slow sweep);
* an OSC subscriber (``/rtcore/subscribe 30``): parameter changes, meters at 30 Hz, stats
  every second, counted as they arrive.

Measured: server xruns (the probe's xrun callback, over the whole run), and from rtcore
(``/rtcore/stats`` after the first seconds and at the end, differences): the AI's missed
deadlines, engine overruns, events dropped and late, callback time; OSC and MIDI sent vs taken
+ counted drops; RSS of the rtcore process every second: growth = RSS at the end (mean of the
last 10 s) - RSS after the first minute (mean of 10 s from there; for runs under two minutes
from half the run). Progress is printed every minute.

JSON keys: soak_xruns, soak_floor_xruns, soak_missed_deadlines, soak_rss_growth_mb,
soak_overruns, soak_events_dropped, soak_events_late, soak_ai_steps, soak_cb_p99_us,
soak_cb_max_us, soak_rss_start_mb, soak_rss_ref_mb, soak_rss_end_mb, soak_osc_sent,
soak_osc_handled, soak_osc_dropped, soak_osc_unaccounted, soak_midi_sent, soak_midi_handled,
soak_midi_lost, soak_midi_unaccounted, soak_subscriber_{params,meters,stats}, soak_jackd_late_
{rtcore,midi_in,probe,driver,other}, soak_minutes, soak_block, soak_realtime.

Usage: soak.py --json PATH [--minutes 10] [--block 64] [--no-floor]
"""
from __future__ import annotations

import argparse
import math
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
                          _die_with_parent, chorale_variants, free_udp_port, jackd_late, log_size, melody)

PROBE_NAME = "rtcore-bench-soak-writer"
SET_PERIOD_S = 0.010           # a parameter set every 10 ms
SET_NODE, SET_PARAM, SET_RANGE = "room", "mix", (0.15, 0.35)
SUBSCRIBE_HZ = 30.0
WARMUP_S = 2.0


def note(msg: str) -> None:
    print(f"note: {msg}", flush=True)


class Setter(threading.Thread):
    """``/rtcore/node/room/mix f`` every :data:`SET_PERIOD_S` (absolute schedule), a sine sweep
    over :data:`SET_RANGE` with a 20 s period."""

    def __init__(self, port: int) -> None:
        super().__init__(name="osc-setter", daemon=True)
        self.osc = OscClient(port)
        self._quit = threading.Event()

    def run(self) -> None:
        lo, hi = SET_RANGE
        t0 = nxt = time.monotonic()
        while not self._quit.is_set():
            t = time.monotonic() - t0
            self.osc.send(f"/rtcore/node/{SET_NODE}/{SET_PARAM}", lo + (hi - lo) * 0.5 * (1 + math.sin(t * math.pi / 10)))
            nxt += SET_PERIOD_S
            self._quit.wait(max(0.0, nxt - time.monotonic()))

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=2.0)
        self.osc.close()


class Subscriber(threading.Thread):
    """Subscribes at :data:`SUBSCRIBE_HZ` and counts what rtcore pushes: parameter changes,
    meters, stats (``last_stats``: the latest pairs)."""

    def __init__(self, port: int) -> None:
        super().__init__(name="osc-subscriber", daemon=True)
        self.osc = OscClient(port)
        self.counts = {"params": 0, "meters": 0, "stats": 0, "other": 0}
        self.last_stats: dict[str, float] = {}
        self._quit = threading.Event()

    def subscribe(self) -> None:
        m = self.osc.ask("/rtcore/subscribe", SUBSCRIBE_HZ)
        if m.address != "/rtcore/reply":
            raise RuntimeError(f"/rtcore/subscribe refused: {m.args}")
        self.start()

    def run(self) -> None:
        self.osc.sock.settimeout(0.2)
        while not self._quit.is_set():
            try:
                m = self.osc.wire.parse_message(self.osc.sock.recv(65536))
            except socket.timeout:
                continue
            except OSError:
                return
            if m.address.startswith("/rtcore/meter/"):
                self.counts["meters"] += 1
            elif m.address.startswith("/rtcore/node/"):
                self.counts["params"] += 1
            elif m.address == "/rtcore/stats":
                self.counts["stats"] += 1
                self.last_stats = dict(zip(m.args[::2], m.args[1::2]))
            else:
                self.counts["other"] += 1

    def stop(self) -> None:
        self._quit.set()
        self.join(timeout=2.0)
        self.osc.close()


def run_floor(server, writer: SharedProbe, workdir: Path, seconds: float) -> int | None:
    """Server xruns while floor_client.c runs alone for ``seconds`` (None: no C compiler)."""
    import os

    from bench_live import build_floor_client

    exe = build_floor_client(workdir)
    if exe is None:
        return None
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    p = subprocess.Popen([str(exe), "rtcore-bench-floor"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=_die_with_parent)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"floor_client failed: {p.stderr.read() if p.poll() is not None else ''}")
        time.sleep(0.5)
        x0 = writer.status()["xruns"]
        time.sleep(seconds)
        return writer.status()["xruns"] - x0
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)                   # by PID
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def rss_after(samples: list[tuple[float, float]], at_s: float, window_s: float) -> float | None:
    """Mean RSS (MB) of the samples in [at_s, at_s + window_s)."""
    w = [mb for t, mb in samples if at_s <= t < at_s + window_s]
    return sum(w) / len(w) if w else None


def soak(server, writer: SharedProbe, patch: Path, seconds: float, block: int) -> dict[str, object]:
    port = free_udp_port()
    play = RtcorePlay(patch, server.name, block, port)
    osc = OscClient(port)
    setter = subscriber = feeder = sampler = None
    try:
        play.wait_ready(osc)
        client = writer.probe.client
        deadline = time.monotonic() + 10
        while True:
            names = [p.name for p in client.get_ports(is_midi=True, is_input=True) if p.name.endswith(":rtcore in")]
            if len(names) == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(names) != 1:
            raise RuntimeError(f"expected one JACK port '*:rtcore in', found {names}")
        client.connect(writer.midi_out_port, names[0])
        midi_in_client = names[0].split(":", 1)[0]
        time.sleep(WARMUP_S)
        writer.clear()
        _, cycle = writer.now()
        start = cycle + int(0.5 * SAMPLE_RATE)
        log0 = log_size(server.log)
        x0 = writer.status()["xruns"]
        s0 = osc.stats()
        q0 = osc.sent
        sampler = RssSampler(play.pid)
        sampler.start()
        feeder = MidiFeeder(writer, melody(), start, int(seconds * SAMPLE_RATE))
        feeder.start()
        subscriber = Subscriber(port)
        subscriber.subscribe()
        setter = Setter(port)
        setter.start()
        t0 = time.monotonic()
        next_report = 60.0
        while time.monotonic() - t0 < seconds:
            time.sleep(0.2)
            if play.proc.poll() is not None:
                raise RuntimeError(f"rtcore play ended during the soak ({play.proc.returncode}):\n{play.stderr[-3000:]}")
            if feeder.error is not None:
                raise feeder.error
            el = time.monotonic() - t0
            if el >= next_report:
                next_report += 60.0
                st = subscriber.last_stats
                print(f"  {el / 60:4.1f} min: xruns {writer.status()['xruns'] - x0}, RSS {play.rss_mb():.1f} MB, "
                      f"AI steps {int(st.get('ai_steps', 0) - s0['ai_steps'])}, missed deadlines "
                      f"{int(st.get('ai_missed_deadlines', 0) - s0['ai_missed_deadlines'])}, overruns "
                      f"{int(st.get('overruns', 0) - s0['overruns'])}", flush=True)
        x1 = writer.status()["xruns"]
        log1 = log_size(server.log)
        setter.stop()
        rss = sampler.stop()
        feeder.join(timeout=10.0)
        deadline = time.monotonic() + 10.0
        while writer.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        s1 = osc.stats()
        subscriber.stop()
        w = writer.status()
    finally:
        for t in (setter, subscriber):
            if t is not None and t.is_alive():
                t.stop()
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        if feeder is not None and feeder.is_alive():
            feeder.stop()
        code, report, err = play.interrupt()
        osc.close()
    if code != 0:
        note(f"rtcore play exited with {code}:\n{err[-2000:]}")
    for line in report.strip().splitlines():
        print(f"  rtcore play: {line}", flush=True)

    def d(key: str) -> int:
        return int(s1[key] - s0[key])

    ref_at = min(60.0, seconds / 2)
    window = min(10.0, max(1.0, seconds / 4))
    rss_ref = rss_after(rss, ref_at, window)
    rss_end = rss_after(rss, rss[-1][0] - window, window + 1.0) if rss else None
    osc_sent = setter.osc.sent + subscriber.osc.sent + (osc.sent - q0)
    written = int(w["midi_out"] + w["midi_out_overflow"])
    late = jackd_late(server.log, log0, log1, midi_in_client=midi_in_client)
    return {
        "soak_xruns": int(x1 - x0),
        "soak_missed_deadlines": d("ai_missed_deadlines"),
        "soak_rss_growth_mb": round(rss_end - rss_ref, 3) if rss_end is not None and rss_ref is not None else None,
        "soak_overruns": d("overruns"),
        "soak_events_dropped": d("events_dropped"),
        "soak_events_late": d("events_late"),
        "soak_ai_steps": d("ai_steps"),
        "soak_notes_out": d("notes_out"),
        "soak_cb_p99_us": round(float(s1["cb_p99_us"]), 1),
        "soak_cb_max_us": round(float(s1["cb_max_us"]), 1),
        "soak_period_us": round(float(s1["period_us"]), 1),
        "soak_rss_start_mb": round(rss[0][1], 2) if rss else None,
        "soak_rss_ref_mb": round(rss_ref, 2) if rss_ref is not None else None,
        "soak_rss_end_mb": round(rss_end, 2) if rss_end is not None else None,
        "soak_rss_max_mb": round(max(mb for _, mb in rss), 2) if rss else None,
        "soak_osc_sent": osc_sent,
        "soak_osc_handled": d("osc_handled"),
        "soak_osc_errors": d("osc_errors"),
        "soak_osc_dropped": d("osc_dropped"),
        "soak_osc_unaccounted": osc_sent - d("osc_received") - d("osc_dropped"),
        "soak_midi_sent": written,
        "soak_midi_handled": d("midi_in_handled"),
        "soak_midi_lost": d("midi_in_lost"),
        "soak_midi_unaccounted": written - d("midi_in_received") - d("midi_in_lost"),
        "soak_subscriber_params": subscriber.counts["params"],
        "soak_subscriber_meters": subscriber.counts["meters"],
        "soak_subscriber_stats": subscriber.counts["stats"],
        "soak_jackd_late_rtcore": late["rtcore"],
        "soak_jackd_running_rtcore": late["rtcore_running"],
        "soak_jackd_late_midi_in": late["midi_in"],
        "soak_jackd_late_probe": late["probe"],
        "soak_jackd_late_driver": late["driver"],
        "soak_jackd_late_other": late["other"],
        "soak_exit_code": code,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, help="write the flat JSON figures here")
    ap.add_argument("--minutes", type=float, default=10.0, help="soak time (default 10); the floor runs as long")
    ap.add_argument("--block", type=int, default=64, choices=[32, 64, 128, 256], help="JACK period and rtcore block")
    ap.add_argument("--no-floor", action="store_true", help="skip the pass-through client's floor run")
    ap.add_argument("--keep-log", type=Path, help="copy jackd's log (who was late at each xrun) to this file")
    args = ap.parse_args(argv)
    if args.minutes <= 0:
        ap.error("--minutes must be positive")
    from _common import print_table, require_jack_tools, write_json
    if require_jack_tools():
        return 2
    from bench_latency import free_server_name, remove_shm_leftovers
    from bench_live import JackServer
    from jack_probe import JackProbe

    seconds = args.minutes * 60.0
    fig: dict[str, object] = {"soak_minutes": args.minutes, "soak_block": args.block}
    with tempfile.TemporaryDirectory(prefix="rtcore-soak-") as tmp:
        workdir = Path(tmp)
        patch, _ = chorale_variants(workdir)
        server = JackServer(free_server_name("rtcore-soak"), args.block, workdir)
        server.start()
        fig["soak_realtime"] = server.realtime
        print(f"soak: jackd {'-R' if server.realtime else '--no-realtime'} dummy, block {args.block} "
              f"(server {server.name}), {args.minutes:g} min", flush=True)
        probe = None
        try:
            probe = JackProbe(server.name, PROBE_NAME, audio_inputs=0, midi_out=True, seconds=0)
            writer = SharedProbe(probe)
            if not args.no_floor:
                fig["soak_floor_xruns"] = run_floor(server, writer, workdir, seconds)
                print(f"  floor: a pass-through C client alone for {args.minutes:g} min: {fig['soak_floor_xruns']} xruns",
                      flush=True)
            fig.update(soak(server, writer, patch, seconds, args.block))
        finally:
            if probe is not None:
                probe.close()
            server.stop()
            remove_shm_leftovers(server.name)
            if args.keep_log:
                args.keep_log.parent.mkdir(parents=True, exist_ok=True)
                args.keep_log.write_bytes(server.log.read_bytes())
    rows = [
        ["server xruns", fig["soak_xruns"], "<= floor"],
        ["  floor: pass-through C client alone, same time", fig.get("soak_floor_xruns"), ""],
        ["  jackd: rtcore late (in its callback) / its MIDI input",
         f"{fig['soak_jackd_late_rtcore']} ({fig['soak_jackd_running_rtcore']}) / {fig['soak_jackd_late_midi_in']}", ""],
        ["AI steps / missed deadlines", f"{fig['soak_ai_steps']} / {fig['soak_missed_deadlines']}", "0 missed"],
        ["engine overruns", fig["soak_overruns"], "0"],
        ["events dropped / late", f"{fig['soak_events_dropped']} / {fig['soak_events_late']}", "0 / -"],
        ["callback p99 / max (µs) of a period of", f"{fig['soak_cb_p99_us']} / {fig['soak_cb_max_us']} / "
                                                   f"{fig['soak_period_us']}", ""],
        ["RSS start / after 1 min / end (MB)", f"{fig['soak_rss_start_mb']} / {fig['soak_rss_ref_mb']} / "
                                               f"{fig['soak_rss_end_mb']}", ""],
        ["RSS growth after the first minute (MB)", fig["soak_rss_growth_mb"], "~0"],
        ["OSC sent / handled / dropped / unaccounted", f"{fig['soak_osc_sent']} / {fig['soak_osc_handled']} / "
                                                       f"{fig['soak_osc_dropped']} / {fig['soak_osc_unaccounted']}", "- / - / 0 / 0"],
        ["MIDI written / handled / lost / unaccounted", f"{fig['soak_midi_sent']} / {fig['soak_midi_handled']} / "
                                                         f"{fig['soak_midi_lost']} / {fig['soak_midi_unaccounted']}", "- / - / 0 / 0"],
        ["subscriber: params / meters / stats received", f"{fig['soak_subscriber_params']} / "
                                                          f"{fig['soak_subscriber_meters']} / {fig['soak_subscriber_stats']}", ""],
    ]
    print_table(f"rtcore soak ({args.minutes:g} min, block {args.block}, jackd "
                f"{'-R' if fig['soak_realtime'] else '--no-realtime'} dummy; chorale patch with the AI, melody in, "
                f"an OSC set every 10 ms, a subscriber)", ["figure", "value", "target"], rows)
    write_json(args.json, fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
