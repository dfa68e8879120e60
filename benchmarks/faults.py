"""Faults survived, on a real JACK server (dummy driver, its own, killed and restarted by PID):

1. ``server_kill``: the audio server is SIGKILLed while a tone plays (its frequency set over the
   Session just before); rtcore must notice, keep its state and, once the server is started again
   under the same name, reopen its stream by itself and be heard again at that frequency.
2. ``model_garbage``: while the AI accompanies a looped melody, its model file is overwritten with
   garbage; ``--watch`` must notice, refuse the reload and keep the running model playing (new AI
   notes after the fault, the same graph).
3. ``missing_file``: while a tone plays, patches naming a missing LADSPA library, LV2 plugin and
   sample file are loaded; each must be refused on one line and the tone go on at the same level.
4. ``disk_full``: while a tone plays, ``--record``'s journal goes to a 1 MiB tmpfs (mounted here,
   as root) that fills within a second; the recording must stop with one line naming the error,
   the tone go on at the same level, and ``rtcore recover`` make a WAV of what fit on the disk.
   Skipped (not counted) where a tmpfs cannot be mounted.

Prints one table and, with ``--json PATH``, a flat JSON: ``faults_survived`` (out of
``faults_total``) and per-fault keys (times in ms or s as named). Takes about 20 s.

    python benchmarks/faults.py [--json bench-results/faults.json]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, print_table, require_jack_tools, write_json
from jack_probe import JackProbe
from killable_jackd import KillableJackd

SR = 48000
TONE = """
[engine]
sample_rate = 48000
block = 128
[[node]]
name = "tone"
type = "tone"
freq = 440.0
level = -12.0
"""
MISSING = {
    "ladspa": '[[node]]\nname = "fx"\ntype = "ladspa"\nplugin = "no_such_lib.so"\nlabel = "amp_mono"\n',
    "lv2": '[[node]]\nname = "fx"\ntype = "lv2"\nuri = "http://example.org/plugins/not-installed"\n',
    "sample": '[[node]]\nname = "smp"\ntype = "sampler"\n[[node.sample]]\nfile = "gone.wav"\n',
}
PHASE_TIMEOUT = 20.0


def note(msg: str) -> None:
    print(f"note: {msg}", flush=True)


def _stream_ports(probe: JackProbe, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        ports = sorted(p for p in probe.output_ports() if p.startswith("PortAudio:out_"))
        if len(ports) >= 2 or time.monotonic() > deadline:
            return ports
        time.sleep(0.02)


def _record(server: str, seconds: float) -> np.ndarray:
    """rtcore's stream, left channel, for ``seconds``, by a new C recorder (NaN = unseen)."""
    probe = JackProbe(server, "rtcore-fault-rec", audio_inputs=2, seconds=seconds + 2.0)
    try:
        probe.connect(_stream_ports(probe))
        probe.start()
        time.sleep(seconds)
        return probe.stop()[:, 0]
    finally:
        probe.close()


def _longest_finite(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    d = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    if len(starts) == 0:
        return x[:0]
    k = int(np.argmax(ends - starts))
    return x[starts[k]:ends[k]]


def _freq(x: np.ndarray) -> float:
    w = np.hanning(len(x))
    mag = np.abs(np.fft.rfft((x - x.mean()) * w))
    k = int(np.argmax(mag[1:-1])) + 1
    return k * SR / len(x)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


# ---- 1. the server is killed -------------------------------------------------------------------
def server_kill(server: KillableJackd, work: Path) -> dict[str, float]:
    from rtcore import Engine, load_patch
    from rtcore.devices import resolve_device
    from rtcore.live import play
    from rtcore.session import Session
    from rtcore.supervisor import StreamSupervisor

    (work / "tone.toml").write_text(TONE)
    logs: list[str] = []
    seen: dict = {}
    phase = {"n": 0, "t": time.monotonic()}
    with Engine(SR, 1024) as eng:
        session = Session(eng, load_patch(work / "tone.toml"), live=True)
        session.start()
        sup = StreamSupervisor(eng, logs.append, on_lost=session.stream_lost, on_back=session.stream_back)

        def step(engine, frames) -> bool | None:
            now = time.monotonic()
            if now - phase["t"] > PHASE_TIMEOUT:
                seen["error"] = f"phase {phase['n']} timed out; {logs}"
                return True
            if phase["n"] == 0:
                session.set_param("tone", "freq", 660.0)
                time.sleep(0.1)
                seen["before"] = _record(server.name, 0.5)
                seen["params"] = session.params()
                seen["generation"] = engine.stats().graph_generation
                seen["t_kill"] = time.monotonic()
                server.kill()
                phase.update(n=1, t=time.monotonic())
            elif phase["n"] == 1 and sup.state == "lost":
                seen["t_lost"] = now
                seen["t_spawn"] = time.monotonic()
                server.spawn()
                phase.update(n=2, t=time.monotonic())
            elif phase["n"] == 2 and sup.state == "running" and sup.outages:
                seen["t_back"] = now
                seen["after"] = _record(server.name, 0.5)
                seen["params_after"] = session.params()
                seen["generation_after"] = engine.stats().graph_generation
                return True
            return None

        stats = play(eng, device=resolve_device(None, "JACK"), block=128, quiet=True, on_tick=step,
                     supervisor=sup, log=logs.append)
        session.close()
    if "error" in seen:
        note(f"server_kill: {seen['error']}")
        return {"server_kill_survived": 0}
    before, after = _longest_finite(seen["before"]), _longest_finite(seen["after"])
    heard = len(after) > 4800 and _rms(after) > 0.05 and abs(_freq(after) - 660.0) < 10.0
    kept = (seen["params"] == seen["params_after"] and seen["generation"] == seen["generation_after"])
    one_line = sum(1 for line in logs if line.startswith("audio stream lost")) == 1
    return {
        "server_kill_survived": int(heard and kept and one_line and len(before) > 4800),
        "server_kill_detect_ms": 1e3 * (seen["t_lost"] - seen["t_kill"]),
        "server_kill_back_after_restart_s": seen["t_back"] - seen["t_spawn"],
        "server_kill_outage_s": sup.outages[-1],
        "server_kill_attempts": sup.attempts,
        "server_kill_streams_lost": stats.streams_lost,
        "server_kill_streams_reopened": stats.streams_reopened,
    }


# ---- 2. the AI's model becomes garbage --------------------------------------------------------
def model_garbage(server: KillableJackd, work: Path) -> dict[str, float]:
    from rtcore import Engine, load_patch
    from rtcore.devices import resolve_device
    from rtcore.engine import Event
    from rtcore.live import play
    from rtcore.session import Session

    model = ROOT / "models" / "chorale.onnx"
    if not model.is_file():
        note("model_garbage: models/chorale.onnx is not built; skipped (counted as not survived)")
        return {"model_garbage_survived": 0}
    shutil.copy(model, work / "model.onnx")
    text = (ROOT / "patches" / "chorale.toml").read_text().replace("../models/chorale.onnx", "model.onnx")
    (work / "chorale.toml").write_text(text)
    patch = load_patch(work / "chorale.toml")
    step = int(SR * 60 / patch.tempo / 4)
    melody = []
    for i in range(24):                       # 6 bars of quarter notes on channel 1
        n = (60, 62, 64, 65, 67, 65, 64, 62)[i % 8]
        melody += [Event.note_on(n, 100, 1, i * 4 * step), Event.note_off(n, 1, i * 4 * step + 3 * step)]
    logs: list[str] = []
    seen: dict = {}
    with Engine(SR, 1024) as eng:
        session = Session(eng, patch, live=True)
        session.add_log_listener(logs.append)
        session.start()
        session.watch()

        def tick(engine, frames) -> bool | None:
            now = time.monotonic()
            if "t0" not in seen:
                seen["t0"] = now
            if "t_fault" not in seen and now - seen["t0"] > 1.5:
                st = engine.stats()
                seen.update(steps=st.ai_steps, notes=st.notes_out, generation=st.graph_generation,
                            t_fault=time.monotonic())
                (work / "model.onnx").write_bytes(b"\x00 not an ONNX model " * 512)
            if "t_fault" in seen and "t_refused" not in seen and any("reload failed" in x for x in logs):
                seen["t_refused"] = now
            return "t_refused" in seen and now - seen["t_refused"] > 2.0 or now - seen["t0"] > PHASE_TIMEOUT

        stats = play(eng, events=melody, device=resolve_device(None, "JACK"), block=128, quiet=True,
                     on_tick=tick, log=logs.append)
        session.close()
    refused = "t_refused" in seen
    return {
        "model_garbage_survived": int(refused and stats.graph_generation == seen.get("generation")
                                      and stats.notes_out > seen.get("notes", 0)
                                      and stats.ai_steps > seen.get("steps", 0) + 8),
        "model_garbage_detect_s": (seen["t_refused"] - seen["t_fault"]) if refused else -1.0,
        "model_garbage_ai_steps_after": stats.ai_steps - seen.get("steps", 0),
        "model_garbage_notes_after": stats.notes_out - seen.get("notes", 0),
        "model_garbage_missed_deadlines": stats.ai_missed_deadlines,
        "model_garbage_xruns": stats.xruns,
    }


def _tone_through(server: KillableJackd, work: Path, fault, split_after: bool, settle: float,
                  seconds: float) -> tuple[float, int]:
    """A tone plays live on ``server`` through a Session while ``fault(engine, session)`` runs;
    the stream is recorded (JackProbe) and split at the fault (before it, or after it with
    ``split_after``). Returns (level change in % across the split, the graph generation after)."""
    from rtcore import Engine, load_patch
    from rtcore.devices import resolve_device
    from rtcore.live import play
    from rtcore.session import Session

    (work / "tone.toml").write_text(TONE)
    seen: dict = {}
    with Engine(SR, 1024) as eng:
        session = Session(eng, load_patch(work / "tone.toml"), live=True)
        session.start()

        def tick(engine, frames) -> bool | None:
            if "before" in seen:
                return True
            time.sleep(0.1)
            probe = JackProbe(server.name, "rtcore-fault-rec", audio_inputs=2, seconds=seconds)
            try:
                probe.connect(_stream_ports(probe))
                probe.start()
                time.sleep(settle)
                if not split_after:
                    seen["split"] = probe.now()[0]
                fault(engine, session)
                if split_after:
                    seen["split"] = probe.now()[0]
                time.sleep(0.5)
                audio = probe.stop()[:, 0]
                seen["before"], seen["after"] = audio[:seen["split"] - probe.t0], audio[seen["split"] - probe.t0:]
            finally:
                probe.close()
            seen["generation"] = engine.stats().graph_generation
            return True

        play(eng, device=resolve_device(None, "JACK"), block=128, quiet=True, on_tick=tick)
        session.close()
    before, after = _longest_finite(seen.get("before", np.zeros(0))), _longest_finite(seen.get("after", np.zeros(0)))
    a, b = _rms(before[-4800:]), _rms(after[:9600])
    return (100.0 * abs(b - a) / a if a > 0 else 100.0), seen.get("generation", -1)


# ---- 3. a plugin or a sample is missing -------------------------------------------------------
def missing_file(server: KillableJackd, work: Path) -> dict[str, float]:
    from rtcore.errors import PatchError

    refused: dict[str, float] = {}

    def load_missing(engine, session) -> None:
        for what, extra in MISSING.items():
            (work / f"{what}.toml").write_text(TONE + extra)
            t = time.perf_counter()
            try:
                session.load(work / f"{what}.toml")
            except PatchError as exc:
                if "\n" not in str(exc):
                    refused[what] = 1e3 * (time.perf_counter() - t)

    change, generation = _tone_through(server, work, load_missing, split_after=False, settle=0.5, seconds=4.0)
    return {
        "missing_file_survived": int(len(refused) == len(MISSING) and generation == 1 and change < 2.0),
        "missing_file_refused": len(refused),
        "missing_file_refuse_ms_max": max(refused.values()) if refused else -1.0,
        "missing_file_rms_change_pct": change,
    }


# ---- 4. the disk fills while recording -----------------------------------------------------------
def disk_full(server: KillableJackd, work: Path) -> dict[str, float]:
    import subprocess

    from rtcore.record import Recorder
    from rtcore.recover import recover

    disk = work / "small-disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True, text=True)
    if r.returncode != 0:
        note(f"disk_full skipped: cannot mount a tmpfs ({r.stderr.strip()})")
        return {}
    seen: dict = {}
    logs: list[str] = []

    def fill_the_disk(engine, session) -> None:
        rec = Recorder(engine, disk / "take", log=logs.append).start()
        t = time.perf_counter()
        while rec.error is None and time.perf_counter() - t < 5.0:
            time.sleep(0.01)
        seen.update(stop_s=time.perf_counter() - t, error=rec.error or "", recording_after=rec.recording)
        rec.stop()

    try:
        change, _ = _tone_through(server, work, fill_the_disk, split_after=True, settle=0.3, seconds=6.0)
        try:
            recovered_s = recover(disk / "take", wav=work / "take.wav", mid=work / "take.mid").seconds
        except Exception as exc:  # noqa: BLE001 - reported as a figure
            note(f"disk_full: recover failed: {exc}")
            recovered_s = 0.0
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    err = seen.get("error", "")
    one_line = "No space left on device" in err and "\n" not in err and any("recording stopped" in x for x in logs)
    return {
        "disk_full_survived": int(one_line and not seen.get("recording_after", True) and change < 2.0
                                  and recovered_s > 0.5),
        "disk_full_stop_s": seen.get("stop_s", -1.0),
        "disk_full_rms_change_pct": change,
        "disk_full_recovered_s": recovered_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="PATH", help="write the figures as flat JSON")
    args = ap.parse_args(argv)
    if require_jack_tools():
        return 2
    work = Path(tempfile.mkdtemp(prefix="rtcore-faults-"))
    server = KillableJackd(workdir=work)
    server.start()
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = server.name     # PortAudio's JACK host API reads it
    os.environ["JACK_NO_START_SERVER"] = "1"
    figures: dict[str, float | int] = {}
    try:
        for scenario in (server_kill, model_garbage, missing_file, disk_full):
            t = time.monotonic()
            figures.update(scenario(server, work))
            note(f"{scenario.__name__}: {time.monotonic() - t:.1f} s")
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(work, ignore_errors=True)
    names = tuple(n for n in ("server_kill", "model_garbage", "missing_file", "disk_full")
                  if f"{n}_survived" in figures or n != "disk_full")         # disk_full: skipped without tmpfs
    figures["faults_total"] = len(names)
    figures["faults_survived"] = sum(int(figures.get(f"{n}_survived", 0)) for n in names)
    rows = [[k, v] for k, v in sorted(figures.items())]
    print_table(f"Faults survived: {figures['faults_survived']} of {len(names)} (jackd dummy, block 128)",
                ["figure", "value"], rows)
    write_json(args.json, figures)
    return 0 if figures["faults_survived"] == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
