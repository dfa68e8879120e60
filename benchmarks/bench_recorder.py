#!/usr/bin/env python3
"""The recorder under a crash: `rtcore play --record DIR` on its own `jackd -d dummy`, notes sent
over OSC (--notes of them, --rate per second, each with its note-off), the process killed with
SIGKILL --after seconds after the last note, then `rtcore recover DIR`.

recorder_events_lost = notes sent - note-ons in the recovered MIDI file (target 0: everything
before the last flush survives); recorder_audio_missing_s = seconds of the performance (from the
first note's send to the kill) the recovered WAV lacks (bounded by the flush interval, 0.1 s,
plus the ring in flight); also the take's length, its dropped frames and the time recover took.

    python benchmarks/bench_recorder.py [--json PATH] [--notes 400] [--rate 40] [--after 0.5]
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, free_server_name, print_table, require_jack_tools, write_json
from bench_live import JackServer

PATCH = """
[engine]
limiter = false
[[node]]
name = "keys"
type = "synth"
wave = "sine"
attack = 1
release = 10
level = -12
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--notes", type=int, default=400)
    ap.add_argument("--rate", type=float, default=40.0, help="notes per second")
    ap.add_argument("--after", type=float, default=0.5, help="seconds between the last note and the kill")
    args = ap.parse_args()
    if require_jack_tools():
        return 2
    import mido
    import soundfile as sf

    from rtcore.osc import wire

    work = Path(tempfile.mkdtemp(prefix="rtcore-bench-rec-"))
    server = JackServer(free_server_name("rtcore-bench-rec"), 128, work)
    server.start()
    patch, take = work / "rec.toml", work / "take"
    patch.write_text(PATCH)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    proc = subprocess.Popen([sys.executable, "-m", "rtcore", "play", str(patch), "--host-api", "JACK", "--quiet",
                             "--no-midi", "--osc-port", str(port), "--record", str(take)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2.0)
        dest = ("127.0.0.1", port)
        deadline = time.monotonic() + 30
        while True:                                   # wait until the OSC server answers
            sock.sendto(wire.build("/rtcore/stats"), dest)
            try:
                sock.recv(65536)
                break
            except (socket.timeout, TimeoutError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"rtcore play did not come up: {proc.stderr.read() if proc.poll() is not None else ''}")
        t0 = time.monotonic()
        period = 1.0 / args.rate
        for k in range(args.notes):
            n = 36 + k % 60
            sock.sendto(wire.build("/rtcore/note", 1, n, 100), dest)
            time.sleep(period * 0.6)
            sock.sendto(wire.build("/rtcore/note", 1, n, 0), dest)
            time.sleep(period * 0.4)
        time.sleep(args.after)
        played = time.monotonic() - t0
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        server.stop()
    t1 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "rtcore", "recover", str(take)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    recover_s = time.perf_counter() - t1
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        return 1
    audio, sr = sf.read(take / "take.wav", dtype="float32")
    mf = mido.MidiFile(take / "take.mid")
    got = sum(1 for t in mf.tracks if t.name == "input" for m in t if m.type == "note_on")
    figures = {"recorder_events_lost": args.notes - got, "recorder_notes_sent": args.notes,
               "recorder_notes_recovered": got, "recorder_take_s": round(len(audio) / sr, 3),
               "recorder_played_s": round(played, 3),
               "recorder_audio_missing_s": round(max(0.0, played - len(audio) / sr), 3),
               "recorder_recover_s": round(recover_s, 3)}
    print_table("bench_recorder: kill -9 during a recorded performance, then rtcore recover",
                ["figure", "value"], [[k, v] for k, v in figures.items()])
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
