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
import tempfile
import threading
from pathlib import Path

import numpy as np

from _common import ROOT, print_table, write_json

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--model", help="step model .onnx (default: models/chorale.onnx or a stand-in)")
    args = ap.parse_args()

    figures: dict[str, float | int] = {}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        model, desc, standin = pick_model(args.model, Path(tmp))
        print(f"model: {desc}")
        figures["infer_standin"] = int(standin)
        section_threaded(model, args.steps, figures, rows)
    print_table("AI step inference (µs per step, ONNX Runtime C API, 1 intra-op thread)",
                ["mode", "steps", "p50", "p99", "max", "mean"], rows)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
