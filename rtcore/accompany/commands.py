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


def _tracks(value: str | None) -> list[str | int] | None:
    if value is None:
        return None
    items = [x.strip() for x in value.split(",") if x.strip()]
    return [int(x) if x.isdigit() else x for x in items] or None


def _one_track(value: str | None) -> str | int | None:
    items = _tracks(value)
    return items[0] if items else None


def _cmd_finetune(args: argparse.Namespace) -> int:
    """--data DIR or --style NAME: fine-tune --base on those songs."""
    _need("torch", "onnx", "mido", hint=TRAIN_HINT)
    from .finetune import FinetuneConfig, finetune

    base = args.base or Path("models/chorale.onnx")
    if not base.is_file():
        raise RtCoreError(f"--base {base}: no such model file (the shipped base is models/chorale.onnx)")
    songs, describe, minutes = None, "", args.minutes
    if args.style:
        _need("music21", hint=TRAIN_HINT)
        from .styles import STYLES, load_style

        songs = load_style(args.style, progress=not args.no_progress)
        describe = f"style {args.style}: {STYLES[args.style]}"
    cfg = FinetuneConfig(out=args.out, base=base, data=args.data, songs=songs, melody=_one_track(args.melody_track),
                         accomp=_tracks(args.accomp_tracks), seed=args.seed,
                         epochs=args.epochs, minutes=minutes, patience=args.patience, log=args.log,
                         progress=not args.no_progress, describe=describe,
                         extra_meta={"style": args.style} if args.style else {})
    finetune(cfg)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    if args.minutes <= 0 or args.epochs < 1:
        raise RtCoreError("--minutes must be > 0 and --epochs >= 1")
    if args.data is not None or args.style is not None:
        if args.data is not None and args.style is not None:
            raise RtCoreError("give either --data DIR (your songs) or --style NAME, not both")
        return _cmd_finetune(args)
    if args.base is not None:
        raise RtCoreError("--base needs --data DIR (the songs to adapt it to) or --style NAME")
    _need("torch", "music21", "onnx", hint=TRAIN_HINT)
    from .train import TrainConfig, train

    cfg = TrainConfig(out=args.out, seed=args.seed, epochs=args.epochs, minutes=args.minutes,
                      hidden=args.hidden, layers=args.layers, log=args.log,
                      limit_chorales=args.limit_chorales, progress=not args.no_progress)
    train(cfg)
    return 0


def _cmd_evaluate_songs(args: argparse.Namespace) -> int:
    """--data DIR: the tuned model against its base on the held-out songs of DIR."""
    import json

    from .evaluate import evaluate_songs, flat_songs, markdown_table_songs
    from .finetune import split_path
    from .songs import load_folder

    songs = load_folder(args.data, _one_track(args.melody_track), _tracks(args.accomp_tracks), warn=lambda m: print(f"warning: {m}"))
    split = split_path(args.model)
    if split.is_file():
        held = set(json.loads(split.read_text()).get("held_out", []))
        chosen = [s for s in songs if s.id in held]
        if not chosen:
            raise RtCoreError(f"{split}: none of its held-out songs is in {args.data} (was the model tuned on it?)")
        print(f"{len(chosen)} held-out songs of {len(songs)} (from {split.name})")
    else:
        chosen = songs
        print(f"no {split.name} next to the model: all {len(songs)} songs are scored (none was held out)")
    base = args.base or _base_of(args.model)
    results = evaluate_songs(args.model, base, chosen, seed=args.seed, temperature=args.temperature,
                             progress=not args.no_progress)
    table = markdown_table_songs(results)
    print(table)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(flat_songs(results), indent=1, sort_keys=True) + "\n")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table + "\n")
    return 0


def _base_of(model: Path) -> Path:
    """The base a tuned model names in its metadata (next to it, else in models/)."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    name = meta.get("base")
    if not name:
        raise RtCoreError(f"{model}: not a fine-tuned model (no 'base' in its metadata); give --base")
    for candidate in (model.parent / name, Path("models") / name):
        if candidate.is_file():
            return candidate
    raise RtCoreError(f"{model}: its base {name} is not next to it or in models/; give --base")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if not args.model.exists():
        raise RtCoreError(f"model {args.model} not found (train one with `rtcore train --out {args.model}`)")
    if args.data is not None:
        return _cmd_evaluate_songs(args)
    _need("music21", hint="evaluation reads the chorales with music21: pip install '.[train]'")
    from .evaluate import run_evaluation

    run_evaluation(args.model, limit=args.limit, json_path=args.json, markdown_path=args.markdown,
                   seed=args.seed, temperature=args.temperature, progress=not args.no_progress)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `rtcore` parser."""
    t = sub.add_parser("train", help="train the AI accompanist on the Bach chorales, or adapt it to your songs "
                                     "(--data) or a corpus style (--style), and export ONNX")
    t.add_argument("--out", type=Path, required=True, help="ONNX file to write, e.g. models/chorale.onnx")
    t.add_argument("--data", type=Path, help="fine-tune on your own multi-track MIDI files in this folder")
    t.add_argument("--style", choices=("renaissance", "quartet"),
                   help="fine-tune on a style from music21's corpus (renaissance: Palestrina; quartet: "
                        "Haydn/Mozart/Beethoven string quartets)")
    t.add_argument("--base", type=Path, help="with --data/--style: the model to start from (default models/chorale.onnx)")
    t.add_argument("--melody-track", help="with --data: the player's track, by index or name part "
                                          "(default: named lead/melody/vocal/..., else the highest)")
    t.add_argument("--accomp-tracks", help="with --data: accompaniment tracks, comma-separated indices or name "
                                           "parts (default: every other pitched track)")
    t.add_argument("--patience", type=int, default=3,
                   help="with --data/--style: stop after this many epochs without a better held-out loss (default 3)")
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
    e.add_argument("--data", type=Path, help="score on your own MIDI folder (its held-out songs when the model "
                                             "was tuned on it) against the base model")
    e.add_argument("--base", type=Path, help="with --data: the base model (default: the one the model names)")
    e.add_argument("--melody-track", help="with --data: as for rtcore train")
    e.add_argument("--accomp-tracks", help="with --data: as for rtcore train")
    e.add_argument("--json", type=Path, help="write the results as flat JSON keys")
    e.add_argument("--markdown", type=Path, help="write the table as markdown")
    e.add_argument("--seed", type=int, default=0, help="seed for sampling (with --temperature > 0)")
    e.add_argument("--temperature", type=float, default=0.0,
                   help="free-running: 0 = argmax (default), > 0 = sample at this temperature")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")
    e.set_defaults(func=_cmd_evaluate)
