"""CLI commands of the AI accompanist (`rtcore train`, `rtcore evaluate`), registered by rtcore.cli."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import RtCoreError

TRAIN_HINT = "training needs torch and music21: pip install '.[train]'"


def _need(*modules: str, hint: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise RtCoreError(f"{' and '.join(missing)} not installed; {hint}")


def _cmd_train(args: argparse.Namespace) -> int:
    _need("torch", "music21", "onnx", hint=TRAIN_HINT)
    from .train import TrainConfig, train

    if args.minutes <= 0 or args.epochs < 1:
        raise RtCoreError("--minutes must be > 0 and --epochs >= 1")
    cfg = TrainConfig(out=args.out, seed=args.seed, epochs=args.epochs, minutes=args.minutes,
                      hidden=args.hidden, layers=args.layers, log=args.log,
                      limit_chorales=args.limit_chorales, progress=not args.no_progress)
    train(cfg)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    _need("music21", hint="evaluation reads the chorales with music21: pip install '.[train]'")
    from .evaluate import run_evaluation

    if not args.model.exists():
        raise RtCoreError(f"model {args.model} not found (train one with `rtcore train --out {args.model}`)")
    run_evaluation(args.model, limit=args.limit, json_path=args.json, markdown_path=args.markdown,
                   seed=args.seed, temperature=args.temperature, progress=not args.no_progress)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `rtcore` parser."""
    t = sub.add_parser("train", help="train the AI accompanist on the Bach chorales and export ONNX")
    t.add_argument("--out", type=Path, required=True, help="ONNX file to write, e.g. models/chorale.onnx")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--epochs", type=int, default=12, help="maximum epochs (default 12)")
    t.add_argument("--minutes", type=float, default=14.0,
                   help="time budget in minutes; stops cleanly after the batch that passes it (default 14)")
    t.add_argument("--log", type=Path, help="log file (default: next to --out, e.g. chorale.train.log)")
    t.add_argument("--hidden", type=int, default=256, help="GRU hidden size (default 256)")
    t.add_argument("--layers", type=int, default=2, help="GRU layers (default 2)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--limit-chorales", type=int, help=argparse.SUPPRESS)   # tests: a tiny subset
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="score the model and baselines on the held-out test chorales")
    e.add_argument("--model", type=Path, default=Path("models/chorale.onnx"),
                   help="ONNX step model (default models/chorale.onnx)")
    e.add_argument("--limit", type=int, help="only the first N test chorales")
    e.add_argument("--json", type=Path, help="write the results as flat JSON keys")
    e.add_argument("--markdown", type=Path, help="write the table as markdown")
    e.add_argument("--seed", type=int, default=0, help="seed for sampling (with --temperature > 0)")
    e.add_argument("--temperature", type=float, default=0.0,
                   help="free-running: 0 = argmax (default), > 0 = sample at this temperature")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_evaluate)
