"""AI step-model inference time through rtcore's C core (ONNX Runtime C API, csrc/infer.c).

Sections (one function each, all adding to one `figures` dict):
  threaded  rt_model_bench (a plain C loop timing every rt_model_step with CLOCK_MONOTONIC,
            random valid inputs, state carried) run on a background Python thread: the situation
            of the engine's C inference thread (one intra-op thread, no spinning).
The model is models/chorale.onnx if it exists, else a generated stand-in GRU (1 layer, hidden 256,
random weights, same step contract); the output says which.

    python benchmarks/bench_ai.py [--json PATH] [--steps 100000] [--model PATH]
Keys: infer_p50_us, infer_p99_us, infer_max_us, infer_mean_us, infer_steps, infer_state_size,
      infer_standin (1 = the generated stand-in model was used)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import tempfile
import threading
from pathlib import Path

import numpy as np

from _common import ROOT, looped, print_table, write_json

SHIPPED_MODEL = ROOT / "models" / "chorale.onnx"


def pick_model(arg: str | None, workdir: Path) -> tuple[Path, str, bool]:
    """(path, description, is_standin)"""
    if arg:
        return Path(arg), f"{arg} (given)", False
    if SHIPPED_MODEL.is_file():
        return SHIPPED_MODEL, str(SHIPPED_MODEL.relative_to(ROOT)), False
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    from ai_models import make_gru_model

    path = make_gru_model(workdir / "standin_gru256.onnx", layers=1, hidden=256, seed=0)
    return path, "stand-in: generated GRU, 1 layer, hidden 256, random weights (no models/chorale.onnx)", True


def percentiles(us: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(us, 50)), "p99": float(np.percentile(us, 99)),
            "max": float(us.max()), "mean": float(us.mean())}


def section_threaded(model_path: Path, steps: int, figures: dict, rows: list) -> None:
    """rt_model_bench on a background thread (cffi releases the GIL during the C call)."""
    from rtcore.accompany.infer import Model

    with Model(model_path) as m:
        box: dict[str, object] = {}

        def run() -> None:
            try:
                box["us"] = m.bench(steps)
            except BaseException as exc:     # re-raised on the main thread
                box["exc"] = exc

        t = threading.Thread(target=run, name="bench-infer")
        t.start()
        t.join()
        if "exc" in box:
            raise box["exc"]  # type: ignore[misc]
        us = box["us"]
        assert isinstance(us, np.ndarray)
        p = percentiles(us)
        figures.update(infer_p50_us=p["p50"], infer_p99_us=p["p99"], infer_max_us=p["max"],
                       infer_mean_us=p["mean"], infer_steps=steps, infer_state_size=m.state_size)
        rows.append(["threaded (rt_model_bench)", steps, p["p50"], p["p99"], p["max"], p["mean"]])


def section_realtime_thread(model_path: Path, steps: int, figures: dict, rows: list, pause_ms: float = 0.5) -> None:
    """Steps on a SCHED_FIFO thread (priority 70), one at a time with a pause between them, the
    way an audio callback would run them inline (a FIFO thread that spins without pausing is
    throttled by the kernel -- sched_rt_runtime_us -- and would measure that instead)."""
    from rtcore.accompany.infer import Model

    with Model(model_path) as m:
        box: dict[str, object] = {}

        def run() -> None:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(70))   # this thread only
                box["rt"] = True
            except (PermissionError, OSError, AttributeError):
                box["rt"] = False
            us = np.empty(steps, dtype=np.float32)
            for i in range(steps):
                us[i] = m.bench(1)[0]
                time.sleep(pause_ms / 1000.0)
            box["us"] = us

        t = threading.Thread(target=run, name="bench-infer-rt")
        t.start()
        t.join()
        us = box["us"]
        assert isinstance(us, np.ndarray)
        p = percentiles(us)
        figures.update(inline_p50_us=p["p50"], inline_p99_us=p["p99"], inline_max_us=p["max"],
                       inline_sched_fifo=int(bool(box["rt"])), inline_steps=steps)
        rows.append([f"callback-like ({'SCHED_FIFO 70' if box['rt'] else 'no RT permission'}, "
                     f"{pause_ms:g} ms pauses)", steps, p["p50"], p["p99"], p["max"], p["mean"]])


def looped_melody(seconds: float, sr: int):
    from rtcore.midifile import read_midi
    evs, last = read_midi(ROOT / "patches" / "melody.mid", sr)
    return looped(evs, last + sr // 2, seconds, sr)


def section_render(figures: dict, seconds: float = 60.0, runs: int = 3) -> None:
    """Offline real-time factor of patches/chorale.toml with the AI, block 128."""
    from rtcore import Engine
    from rtcore.engine import Event
    from rtcore.patch import load_patch

    patch = load_patch(ROOT / "patches" / "chorale.toml")
    evs = [Event.transport(True, patch.tempo, 0)] + looped_melody(seconds, patch.sample_rate)
    times, steps = [], 0
    for _ in range(runs):
        with Engine(patch.sample_rate, 1024) as e:
            e.load(patch.graph)
            t0 = time.perf_counter()
            e.render_events(evs, int(seconds * patch.sample_rate), block=128)
            times.append(time.perf_counter() - t0)
            steps = e.stats().ai_steps
    med = statistics.median(times)
    figures.update(rtf_chorale_ai=round(seconds / med, 1), render_ai_steps=int(steps))
    print(f"\noffline render, chorale.toml with the AI, {seconds:g} s at block 128: median {med:.3f} s "
          f"= {seconds / med:.0f}x real time ({steps} AI steps)")


def section_live(figures: dict, seconds: float, block: int = 128, floor_seconds: float = 0.0) -> None:
    """The chorale patch played live on jackd -R (dummy driver) with the melody looped:
    missed AI deadlines, server xruns, callback times; first, on the same server, a trivial
    pass-through C client for ``floor_seconds`` (the machine's own xrun floor)."""
    import bench_live as bl
    import rtcore as rc
    from rtcore.devices import JACK_HOST_API, resolve_device
    from rtcore.live import play
    from rtcore.patch import load_patch

    patch = load_patch(ROOT / "patches" / "chorale.toml")
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-ai-") as tmp:
        server = bl.JackServer(f"rtcore-bench-ai-{os.getpid()}", block, Path(tmp))
        server.start()
        monitor = None
        try:
            monitor = bl.XrunMonitor(server.name)
            if floor_seconds > 0:
                exe = bl.build_floor_client(Path(tmp))
                if exe is not None:
                    fx, _ = bl.run_floor(exe, server, monitor, floor_seconds)
                    figures.update(floor_xruns=int(fx), floor_seconds=floor_seconds)
                    print(f"\nfloor: a pass-through C client on the same jackd for {floor_seconds:g} s: {fx} xruns")
            d0, c0 = server.xrun_kinds()
            os.environ["JACK_DEFAULT_SERVER"] = server.name
            os.environ["JACK_NO_START_SERVER"] = "1"
            dev = resolve_device(None, JACK_HOST_API)
            x0, l0 = monitor.count, server.xrun_lines()
            with rc.Engine(patch.sample_rate, 1024) as e:
                e.tempo = patch.tempo
                e.load(patch.graph)
                st = play(e, events=looped_melody(seconds, patch.sample_rate), seconds=seconds, device=dev,
                          block=block, quiet=True)
            xr, lines = monitor.count - x0, server.xrun_lines() - l0
            d1, c1 = server.xrun_kinds()
            figures.update(xruns_driver_timer=d1 - d0, xruns_client_late=c1 - c0)
        finally:
            if monitor is not None:
                monitor.close()
            server.stop()
    period = 1e6 * block / patch.sample_rate
    figures.update(missed_deadlines=int(st.ai_missed_deadlines), xruns=int(xr), live_ai_steps=int(st.ai_steps),
                   live_seconds=seconds, live_overruns=int(st.overruns), live_engine_xruns=int(st.xruns),
                   live_p99_pct=round(100 * st.cb_p99_us / period, 2), live_max_pct=round(100 * st.cb_max_us / period, 2),
                   live_realtime=int(server.realtime))
    print(f"\nlive, chorale.toml on jackd {'-R' if server.realtime else '(non-RT)'} dummy, block {block}, "
          f"{seconds:g} s: {st.ai_steps} AI steps, {st.ai_missed_deadlines} missed deadlines, "
          f"{xr} server xruns, {st.overruns} overruns, callback p99 {st.cb_p99_us:.0f} µs "
          f"({100 * st.cb_p99_us / period:.1f} %), max {st.cb_max_us:.0f} µs ({100 * st.cb_max_us / period:.1f} %)")


def section_eval(figures: dict) -> None:
    """The evaluation headline, from models/chorale.eval.json (written by `rtcore evaluate`)."""
    import json
    path = ROOT / "models" / "chorale.eval.json"
    if not path.exists():
        print(f"\n(no {path.relative_to(ROOT)}: run `rtcore evaluate --json {path.relative_to(ROOT)}`)")
        return
    data = json.loads(path.read_text())
    for key in ("nll_model", "nll_ngram", "note_in_chord_model", "note_in_chord_bach"):
        if key in data:
            figures[key] = data[key]
    print("\nevaluation (held-out test chorales): " + ", ".join(f"{k} {figures[k]}" for k in
          ("nll_model", "nll_ngram", "note_in_chord_model", "note_in_chord_bach") if k in figures))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--model", help="step model .onnx (default: models/chorale.onnx or a stand-in)")
    ap.add_argument("--rt-steps", type=int, default=20000, help="steps of the callback-like SCHED_FIFO run")
    ap.add_argument("--render-seconds", type=float, default=60.0, help="offline render length (0 = skip)")
    ap.add_argument("--live-seconds", type=float, default=600.0, help="live run on jackd (0 = skip)")
    ap.add_argument("--floor-seconds", type=float, default=None,
                    help="pass-through floor client run before the live run (default: as long as it)")
    args = ap.parse_args()

    figures: dict[str, float | int] = {}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model, desc, standin = pick_model(args.model, Path(tmp))
        print(f"model: {desc}")
        figures["infer_standin"] = int(standin)
        section_threaded(model, args.steps, figures, rows)
        section_realtime_thread(model, min(args.rt_steps, args.steps), figures, rows)
    print_table("AI step inference (µs per step, ONNX Runtime C API, 1 intra-op thread)",
                ["mode", "steps", "p50", "p99", "max", "mean"], rows)
    chorale_model = (ROOT / "models" / "chorale.onnx").exists()
    if args.render_seconds > 0 and chorale_model:
        section_render(figures, args.render_seconds)
    if args.live_seconds > 0 and chorale_model:
        section_live(figures, args.live_seconds,
                     floor_seconds=args.live_seconds if args.floor_seconds is None else args.floor_seconds)
    section_eval(figures)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
