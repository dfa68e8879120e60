#!/usr/bin/env python3
"""Playing with others, measured: Ableton Link between two engines, and MIDI clock from one
engine to another, on a JACK server of its own (`jackd -R -d dummy`, by PID).

* Link: two `benchmarks/link_peer.py` processes inside one private network namespace
  (`unshare -n`, loopback up) join one session, both playing on the server; each prints the beat
  of its engine's transport every 5 ms. ``link_phase_err_p50_ms`` / ``_p99_ms``: |B's beat - A's
  beat at the same instant| (modulo the quantum), in ms, after B has been there 2 s, outside the
  0.5 s around a tempo change. ``link_tempo_propagation_ms``: from A asking the session for a new
  tempo to B's engine running at it (the samples' resolution: 5 ms).
* MIDI clock: `rtcore play` with `[midi] clock_out = true` at 123 BPM drives a second `rtcore
  play` with `[clock] source = "midi"` through JACK MIDI; ``midiclock_tempo_err_bpm``: the mean
  |follower's engine tempo - the leader's (123)| over --midi-seconds once settled (OSC stats'
  transport_tempo, every 0.25 s), and ``midiclock_tempo_err_max_bpm``.

    python benchmarks/bench_sync.py [--json PATH] [--link-seconds 30] [--midi-seconds 10]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, free_server_name, print_table, require_jack_tools, write_json
from bench_live import JackServer

PEER = ROOT / "benchmarks" / "link_peer.py"
QUANTUM = 4.0


def beats(text: str) -> dict[str, np.ndarray]:
    rows: dict[str, list] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == "beat":
            rows.setdefault(f[1], []).append([int(f[2]), float(f[3]), float(f[4]), int(f[5])])
    return {k: np.array(v) for k, v in rows.items()}


def link_figures(seconds: float, env: dict) -> dict[str, float]:
    py, change_at = sys.executable, seconds * 0.6
    script = (f"ip link set lo up && {py} {PEER} A --seconds {seconds} --every 0.005 --tempo-at {change_at} "
              f"--tempo 128 & sleep 1 && {py} {PEER} B --seconds {seconds - 1} --every 0.005; wait")
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=seconds + 120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    data = beats(r.stdout)
    a, b = data["A"], data["B"]
    set_at = int(next(line.split()[1] for line in r.stdout.splitlines() if line.startswith("tempo-set")))
    t0, t1 = max(a[0, 0], b[0, 0]) + int(2e9), min(a[-1, 0], b[-1, 0])
    m = (b[:, 0] > t0) & (b[:, 0] < t1) & (b[:, 3] == 1) & (np.abs(b[:, 0] - set_at) > 0.5e9)
    d = (b[m, 1] - np.interp(b[m, 0], a[:, 0], a[:, 1]) + QUANTUM / 2) % QUANTUM - QUANTUM / 2
    err = np.abs(d * 60.0 / b[m, 2] * 1000.0)
    after = b[(b[:, 0] > set_at) & (np.abs(b[:, 2] - 128.0) < 0.01)]
    return {"link_phase_err_p50_ms": round(float(np.median(err)), 4),
            "link_phase_err_p99_ms": round(float(np.percentile(err, 99)), 4),
            "link_phase_err_max_ms": round(float(err.max()), 3),
            "link_phase_samples": int(len(err)),
            "link_tempo_propagation_ms": round((after[0, 0] - set_at) / 1e6, 1) if len(after) else -1.0}


class Osc:
    def __init__(self, port: int) -> None:
        from rtcore.osc import wire
        self.wire, self.dest = wire, ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(3.0)

    def send(self, address: str, *args) -> None:
        self.sock.sendto(self.wire.build(address, *args), self.dest)

    def ask(self, address: str, *args):
        self.send(address, *args)
        while True:
            m = self.wire.parse_message(self.sock.recv(65536))
            if m.address in ("/rtcore/reply", "/rtcore/error"):
                return m


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def midi_clock_figures(seconds: float, env: dict, work: Path) -> dict[str, float]:
    import jack

    lead_patch, follow_patch = work / "lead.toml", work / "follow.toml"
    lead_patch.write_text('[engine]\ntempo = 123\n[midi]\nclock_out = true\n[[node]]\nname = "t"\ntype = "tone"\n'
                          'level = -40\n')
    follow_patch.write_text('[engine]\ntempo = 90\n[clock]\nsource = "midi"\n[[node]]\nname = "t"\ntype = "tone"\n'
                            'level = -40\n')
    ports = (free_port(), free_port())
    procs = []

    def start(patch: Path, port: int) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-m", "rtcore", "play", str(patch), "--host-api", "JACK", "--quiet",
                              "--midi-api", "jack", "--osc-port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        return p

    client = jack.Client("rtcore-bench-sync", servername=env["JACK_DEFAULT_SERVER"], no_start_server=True)
    try:
        def midi_ports(suffix: str, inp: bool) -> set[str]:
            return {p.name for p in client.get_ports(is_midi=True, is_input=inp, is_output=not inp)
                    if p.name.endswith(suffix)}
        start(lead_patch, ports[0])
        deadline = time.monotonic() + 20
        while not (midi_ports(":rtcore out", False) and midi_ports(":rtcore in", True)):
            assert time.monotonic() < deadline, "the leader's MIDI ports never appeared"
            time.sleep(0.1)
        lead_out, ins_before = midi_ports(":rtcore out", False).pop(), midi_ports(":rtcore in", True)
        time.sleep(0.5)
        start(follow_patch, ports[1])
        while not (midi_ports(":rtcore in", True) - ins_before):
            assert time.monotonic() < deadline, "the follower's MIDI input never appeared"
            time.sleep(0.1)
        client.connect(lead_out, (midi_ports(":rtcore in", True) - ins_before).pop())
        lead, follow = Osc(ports[0]), Osc(ports[1])
        time.sleep(1.0)
        lead.send("/rtcore/transport/stop")              # a restart: Stop, Start, ticks
        time.sleep(0.3)
        lead.send("/rtcore/transport/play")
        time.sleep(5.0)                                          # settle: 8 beats of ticks fill the fit
        tempos = []
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            # the follower's engine tempo (beats per minute of its frames) against the leader's
            # (123 in its frames): both run on the same server's clock, so this is agreement in
            # phase speed whatever the device's real rate (the dummy driver runs ~0.4 % slow: in
            # wall-clock time both play ~122.5 BPM)
            stats = follow.ask("/rtcore/stats").args[1:]
            tempos.append(float(dict(zip(stats[0::2], stats[1::2]))["transport_tempo"]))
            time.sleep(0.25)
    finally:
        client.close()
        for p in procs:
            p.send_signal(2)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
    err = np.abs(np.array(tempos) - 123.0)
    return {"midiclock_tempo_err_bpm": round(float(err.mean()), 4),
            "midiclock_tempo_err_max_bpm": round(float(err.max()), 4), "midiclock_samples": len(tempos)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--link-seconds", type=float, default=30.0)
    ap.add_argument("--midi-seconds", type=float, default=10.0)
    args = ap.parse_args()
    if require_jack_tools():
        return 2
    work = Path(tempfile.mkdtemp(prefix="rtcore-bench-sync-"))
    server = JackServer(free_server_name("rtcore-sync"), 128, work)
    server.start()
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1", PYTHONPATH=str(ROOT),
               PYTHONUNBUFFERED="1")
    figures: dict[str, float] = {"jackd_realtime": int(server.realtime)}
    try:
        if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
            figures.update(link_figures(args.link_seconds, env))
        else:
            print("note: `unshare -n` is not allowed here (root needed): Link figures skipped")
        figures.update(midi_clock_figures(args.midi_seconds, env, work))
    finally:
        server.stop()
    rows = [[k, v, {"link_phase_err_p99_ms": "<= 1 ms", "link_phase_err_p50_ms": "<= 1 ms",
                    "midiclock_tempo_err_bpm": "<= 0.1 BPM"}.get(k, "")] for k, v in figures.items()]
    print_table("bench_sync: Ableton Link between two engines, MIDI clock from one to another",
                ["figure", "value", "target"], rows)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
