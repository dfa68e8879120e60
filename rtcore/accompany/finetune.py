"""`rtcore train --data DIR --base models/chorale.onnx --out models/mine.onnx`: adapt a shipped
accompaniment model to a player's own songs, on the CPU, in minutes.

1. The base model's weights are read back from its ONNX file (:func:`load_base`: embeddings and
   heads by name, the GRU's gates reordered from ONNX's z-r-h to torch's r-z-n) and checked:
   the rebuilt torch model must give the ONNX file's logits (max abs diff < 1e-4).
2. The songs (:mod:`rtcore.accompany.songs`) are split by song into training and held-out
   (15 %, seeded; the held-out names are written next to the model, ``mine.split.json``, so that
   ``rtcore evaluate --data`` scores the same songs). Training songs are used in all keys
   that stay in range (-5..+6 semitones).
3. Teacher-forced cross-entropy, AdamW at a learning rate well below the base's (``lr``, cosine
   to 0), dropout, gradient clipping. After each epoch the held-out NLL is measured; the best
   weights are kept and training stops after ``patience`` epochs without improvement, after
   ``epochs`` or when ``minutes`` run out. The held-out NLL of the untouched base model is
   measured first, so the report says what the tuning bought.
4. The best weights are exported as ONNX (same step contract: the engine plays it like the base)
   with metadata naming the base, the data and both NLLs, and checked against onnxruntime.
"""
from __future__ import annotations

import copy
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelError, RtCoreError
from .data import SHIFTS, transpose
from .songs import TokenSong, load_folder, split_songs


@dataclass
class FinetuneConfig:
    out: Path
    base: Path
    data: Path | None = None                  # a folder of MIDI files ...
    songs: list[TokenSong] | None = None      # ... or songs already tokenised (corpus styles)
    melody: str | int | None = None
    accomp: list[str | int] | None = None
    seed: int = 0
    epochs: int = 20
    minutes: float = 10.0
    patience: int = 3
    lr: float = 5e-4
    weight_decay: float = 0.01
    dropout: float = 0.1
    window: int = 128
    batch: int = 32
    threads: int = 2
    valid_fraction: float = 0.15
    transpose: bool = True
    log: Path | None = None
    progress: bool = True
    describe: str = ""                        # what the data is, for the metadata and the log
    extra_meta: dict = field(default_factory=dict)


# ---- the base model back from ONNX ---------------------------------------------------------------

def _gru_gates_onnx_to_torch(w: np.ndarray, hidden: int) -> np.ndarray:
    """ONNX orders a GRU's gates z, r, h; torch orders them r, z, n (axis 0)."""
    z, r, h = w[:hidden], w[hidden:2 * hidden], w[2 * hidden:]
    return np.concatenate([r, z, h], axis=0)


def load_base(path: Path):
    """The torch :class:`ChoraleGRU` whose export is ``path`` (an ONNX file written by
    ``rtcore train``). Raises ModelError (one line) for a file that is not one."""
    import onnx
    import torch
    from onnx import numpy_helper

    from .model import ChoraleGRU, verify_onnx

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file (the shipped base is models/chorale.onnx)")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf raises many things for a corrupt file
        raise ModelError(f"{path}: not an ONNX model ({type(exc).__name__}: {exc})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    init = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    grus = [n for n in proto.graph.node if n.op_type == "GRU"]
    try:
        hidden, layers = int(meta["hidden"]), int(meta["layers"])
        emb = init["model.mel.weight"].shape[1]
        beat_emb = init["model.beat.weight"].shape[1]
        voice_emb = init["model.prev.0.weight"].shape[1]
    except (KeyError, ValueError) as exc:
        raise ModelError(f"{path}: not an rtcore accompaniment model (missing {exc})") from None
    if len(grus) != layers:
        raise ModelError(f"{path}: {len(grus)} GRU layers in the graph, metadata says {layers}")
    model = ChoraleGRU(hidden=hidden, layers=layers, emb=emb, beat_emb=beat_emb, voice_emb=voice_emb)
    state = {k: torch.as_tensor(v.copy()) for k, v in init.items() if k.startswith("model.")}
    state = {k[len("model."):]: v for k, v in state.items()}
    for layer, node in enumerate(grus):
        w, r, b = (init[name] for name in node.input[1:4])
        state[f"gru.weight_ih_l{layer}"] = torch.as_tensor(_gru_gates_onnx_to_torch(w[0], hidden))
        state[f"gru.weight_hh_l{layer}"] = torch.as_tensor(_gru_gates_onnx_to_torch(r[0], hidden))
        state[f"gru.bias_ih_l{layer}"] = torch.as_tensor(_gru_gates_onnx_to_torch(b[0, :3 * hidden], hidden))
        state[f"gru.bias_hh_l{layer}"] = torch.as_tensor(_gru_gates_onnx_to_torch(b[0, 3 * hidden:], hidden))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not fit the accompaniment model: {str(exc).splitlines()[0]}") from None
    diff = verify_onnx(model, path, steps=32)
    if diff >= 1e-4:
        raise ModelError(f"{path}: rebuilt weights differ from the ONNX model (max abs diff {diff:.1e})")
    return model.eval()


# ---- data --------------------------------------------------------------------------------------

def all_keys(songs: list[TokenSong]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(tokens, beats) of every song in every key of SHIFTS that stays in the model's range."""
    out = []
    for s in songs:
        for k in SHIFTS:
            t = transpose(s.tokens, k)
            if t is not None:
                out.append((t, s.beats))
    return out


def split_path(model_out: Path) -> Path:
    """models/mine.onnx -> models/mine.split.json (which songs were held out)."""
    return model_out.with_suffix(".split.json")


def data_report(train: list[TokenSong], held: list[TokenSong], n_seqs: int) -> str:
    steps = sum(len(s.tokens) for s in train)
    notes = int(sum(((s.tokens[:, 0] >= 3)).sum() for s in train))
    acc = int(sum(((s.tokens[:, 1:] >= 3)).sum() for s in train))
    return (f"data: {len(train)} training songs ({steps} 16ths = {steps / 16:.0f} bars of 4/4, {notes} melody notes, "
            f"{acc} accompaniment notes; {n_seqs} sequences in all keys), {len(held)} held-out songs "
            f"({sum(len(s.tokens) for s in held)} 16ths)")


# ---- training ------------------------------------------------------------------------------------

def finetune(cfg: FinetuneConfig, say: Callable[[str], None] = print) -> dict:
    """Fine-tune ``cfg.base`` on the songs; export ``cfg.out``. Returns a summary dict."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from .model import export_onnx, verify_onnx
    from .train import _Log, evaluate_nll, make_windows

    t0 = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    if cfg.songs is not None:
        songs = cfg.songs
    elif cfg.data is not None:
        songs = load_folder(cfg.data, cfg.melody, cfg.accomp, warn=lambda m: say(f"warning: {m}"))
    else:
        raise RtCoreError("fine-tuning needs --data DIR (a folder of MIDI files)")
    train_songs, held = split_songs(songs, cfg.valid_fraction, cfg.seed)
    if not held:
        raise RtCoreError(f"{cfg.data or cfg.describe}: only {len(songs)} usable song(s): at least 2 are needed "
                          "(one is held out to measure the tuning)")
    model = load_base(cfg.base)
    for m in model.modules():                   # the base was trained without dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = cfg.dropout
    train_seqs = all_keys(train_songs) if cfg.transpose else [(s.tokens, s.beats) for s in train_songs]
    held_seqs = [(s.tokens, s.beats) for s in held]
    log_path = cfg.log or cfg.out.with_suffix(".train.log")
    log = _Log(log_path)

    def both(line: str) -> None:
        log(line)
        say(line)

    what = f"--data {cfg.data}" if cfg.data is not None else (cfg.describe or "songs given")
    both(f"rtcore train {what}  {time.strftime('%Y-%m-%d %H:%M:%S')}  base {cfg.base}")
    both(data_report(train_songs, held, len(train_seqs)))
    if cfg.data is not None:
        for s in songs[:50]:
            log(f"  {s.id}: melody '{s.melody_track}', accompaniment {list(s.accomp_tracks)}, {len(s.tokens)} 16ths")
    base_nll = float(evaluate_nll(model, held_seqs).mean())
    both(f"held-out NLL of the base model: {base_nll:.4f} nats per step per voice")

    tok, beat, prev = make_windows(train_seqs, cfg.window)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    budget = cfg.minutes * 60.0
    n_batches = math.ceil(len(tok) / cfg.batch)
    planned = n_batches * cfg.epochs
    best = (base_nll, copy.deepcopy(model.state_dict()), 0)
    history, stopped, step, since_best = [], "epochs", 0, 0
    for epoch in range(1, cfg.epochs + 1):
        t_ep = time.perf_counter()
        order = rng.permutation(len(tok))
        model.train()
        run, count = 0.0, 0
        bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", disable=not cfg.progress)
        out_of_time = False
        for b in bar:
            progress = max(step / planned, (time.perf_counter() - t0) / budget)
            for g in opt.param_groups:
                g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            idx = order[b * cfg.batch:(b + 1) * cfg.batch]
            t_tok = torch.as_tensor(tok[idx])
            logits, _ = model(t_tok[..., 0].clamp(min=0), torch.as_tensor(beat[idx]), torch.as_tensor(prev[idx]))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t_tok[..., 1:].reshape(-1), ignore_index=-1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            run += loss.item() * len(idx)
            count += len(idx)
            bar.set_postfix(loss=f"{run / count:.3f}")
            if time.perf_counter() - t0 > budget:
                out_of_time = True
                break
        bar.close()
        v = float(evaluate_nll(model, held_seqs).mean())
        improved = v < best[0] - 1e-4
        if improved:
            best, since_best = (v, copy.deepcopy(model.state_dict()), epoch), 0
        else:
            since_best += 1
        history.append({"epoch": epoch, "train_nll": run / max(count, 1), "valid_nll": v})
        both(f"epoch {epoch}: train NLL {run / max(count, 1):.4f}  held-out NLL {v:.4f}  "
             f"{time.perf_counter() - t_ep:.0f} s{'  *best' if improved else ''}"
             f"{' (time budget)' if out_of_time else ''}")
        if out_of_time:
            stopped = "time budget"
            break
        if since_best >= cfg.patience:
            stopped = f"early stopping ({cfg.patience} epochs without improvement)"
            break
    model.load_state_dict(best[1])
    model.eval()
    meta = {"base": Path(cfg.base).name, "data": str(cfg.data or cfg.describe), "songs_train": str(len(train_songs)),
            "songs_held_out": str(len(held)), "val_nll_base": f"{base_nll:.4f}", "val_nll_tuned": f"{best[0]:.4f}",
            "epoch": str(best[2]), "seed": str(cfg.seed), "producer": "rtcore train --data", **cfg.extra_meta}
    export_onnx(model, cfg.out, meta)
    diff = verify_onnx(model, cfg.out)
    if diff >= 1e-4:
        raise ModelError(f"{cfg.out}: the exported model does not match torch (max abs diff {diff:.1e})")
    split_path(cfg.out).write_text(json.dumps({"data": str(cfg.data or cfg.describe), "seed": cfg.seed,
                                               "held_out": sorted(s.id for s in held),
                                               "train": sorted(s.id for s in train_songs)}, indent=1) + "\n")
    minutes = (time.perf_counter() - t0) / 60.0
    both(f"stopped by: {stopped}; best epoch {best[2]}: held-out NLL {best[0]:.4f} (base {base_nll:.4f})")
    both(f"wrote {cfg.out} and {split_path(cfg.out).name} in {minutes:.1f} min (onnx diff {diff:.1e})")
    log.close()
    return {"val_nll_base": base_nll, "val_nll_tuned": best[0], "best_epoch": best[2], "minutes": minutes,
            "history": history, "train_songs": len(train_songs), "held_out_songs": len(held),
            "held_out": [s.id for s in held], "model": model}
