"""`rtcore train`: fit the causal chorale model and export it as the ONNX step model.

Data: the train split in all 12 keys (:func:`rtcore.accompany.data.split_arrays`), chopped into
windows of ``WINDOW`` steps, shuffled (seeded) into batches of ``BATCH``,
teacher forcing (the AI's true tokens at t-1 are the inputs at t). Loss: cross-entropy per step
per voice (NLL in nats). After each epoch the validation NLL (untransposed valid chorales, run
from their start) is measured and the best weights are kept; training stops after ``--epochs``
or when ``--minutes`` is used up (checked between batches; the partial epoch is validated too).
The learning rate follows a cosine from ``lr`` to 0 over the planned batches, or over the time
budget if that runs out first (see the loop).
The best weights are exported (:func:`rtcore.accompany.model.export_onnx`) and checked against
onnxruntime, and a log goes next to the output.
"""
from __future__ import annotations

import copy
import json
import math
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .tokens import REST, VOICES

WINDOW = 128
BATCH = 64


@dataclass
class TrainConfig:
    out: Path
    seed: int = 0
    epochs: int = 12
    minutes: float = 14.0
    hidden: int = 256
    layers: int = 2
    lr: float = 2e-3
    weight_decay: float = 0.01
    dropout: float = 0.0
    window: int = WINDOW
    batch: int = BATCH
    threads: int = 2
    log: Path | None = None
    limit_chorales: int | None = None
    progress: bool = True
    extra: dict = field(default_factory=dict)


def default_log_path(out: Path) -> Path:
    """models/chorale.onnx -> models/chorale.train.log"""
    return out.with_suffix(".train.log")


def make_windows(seqs: list[tuple[np.ndarray, np.ndarray]],
                 window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chop (tokens [T, 4], beats [T]) sequences into windows of ``window`` steps.

    Cuts at multiples of ``window`` (the first window starts at step 0 with a REST history, as at
    inference; later windows start from a zero state with their true history). Returns
    tokens [N, W, 4], beats [N, W], prev [N, W, 3] (the AI tokens at t-1, REST before the start)
    and pads with REST / target -1 (masked).
    """
    toks, beats, prevs = [], [], []
    for tok, beat in seqs:
        n = len(tok)
        prev = np.concatenate([np.full((1, VOICES), REST, np.int64), tok[:-1, 1:]])
        cuts = list(range(0, n, window)) + [n]
        for s, e in zip(cuts[:-1], cuts[1:]):
            w_tok = np.full((window, 4), -1, np.int64)
            w_beat = np.zeros(window, np.int64)
            w_prev = np.full((window, VOICES), REST, np.int64)
            w_tok[:e - s], w_beat[:e - s], w_prev[:e - s] = tok[s:e], beat[s:e], prev[s:e]
            toks.append(w_tok), beats.append(w_beat), prevs.append(w_prev)
    return np.stack(toks), np.stack(beats), np.stack(prevs)


def evaluate_nll(model, seqs: list[tuple[np.ndarray, np.ndarray]], batch: int = 16) -> np.ndarray:
    """Teacher-forced NLL per step per voice [3] (nats) over whole sequences, from their start."""
    import torch
    import torch.nn.functional as F

    model.eval()
    total = np.zeros(VOICES)
    count = 0
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))
    with torch.no_grad():
        for b in range(0, len(order), batch):
            group = [seqs[i] for i in order[b:b + batch]]
            n = max(len(t) for t, _ in group)
            tok = np.full((len(group), n, 4), -1, np.int64)
            beat = np.zeros((len(group), n), np.int64)
            for j, (t, bt) in enumerate(group):
                tok[j, :len(t)], beat[j, :len(t)] = t, bt
            tok_t = torch.as_tensor(tok)
            ai = tok_t[..., 1:]
            prev = torch.cat([torch.full_like(ai[:, :1], REST), ai[:, :-1]], dim=1).clamp(min=0)
            logits, _ = model(tok_t[..., 0].clamp(min=0), torch.as_tensor(beat), prev)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ai.reshape(-1),
                                  ignore_index=-1, reduction="none").view(ai.shape)
            total += nll.sum(dim=(0, 1)).numpy()
            count += int((ai[..., 0] >= 0).sum())
    model.train()
    return total / max(count, 1)


class _Log:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = path.open("w")

    def __call__(self, line: str) -> None:
        self.f.write(line + "\n")
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def train(cfg: TrainConfig) -> dict:
    """Train, keep the best-on-validation weights, export ONNX, write the log. Returns a summary."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from . import data
    from .model import ChoraleGRU, export_onnx, param_count, verify_onnx

    t_start = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    rng = np.random.default_rng(cfg.seed)

    train_set = data.split_arrays("train", transposed=True, limit=cfg.limit_chorales, progress=cfg.progress)
    valid_set = data.split_arrays("valid", transposed=False, limit=cfg.limit_chorales, progress=cfg.progress)
    test_ids = set(data.load_split()["test"])
    assert not any(c.id.split("@")[0] in test_ids for c in train_set + valid_set), "test chorale in training"
    train_seqs = [(c.tokens, c.beats) for c in train_set]
    valid_seqs = [(c.tokens, c.beats) for c in valid_set]

    model = ChoraleGRU(hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout)
    n_params = param_count(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    log_path = cfg.log or default_log_path(cfg.out)
    log = _Log(log_path)
    log(f"rtcore train  {time.strftime('%Y-%m-%d %H:%M:%S')}")
    log(f"args: {json.dumps({k: str(v) for k, v in vars(cfg).items() if k != 'extra'})}")
    log(f"seed: {cfg.seed}  torch {torch.__version__}  numpy {np.__version__}  python {platform.python_version()}"
        f"  threads {cfg.threads}")
    log(f"data: train {len({c.id.split('@')[0] for c in train_set})} chorales -> {len(train_set)} transposed "
        f"sequences, {sum(len(c.tokens) for c in train_set)} steps; valid {len(valid_set)} chorales, "
        f"{sum(len(c.tokens) for c in valid_set)} steps (untransposed)")
    log(f"model: GRU layers {cfg.layers} hidden {cfg.hidden}, {n_params} parameters")
    print(f"model: {n_params:,} parameters; train {len(train_set)} sequences, valid {len(valid_set)} chorales")

    tok, beat, prev = make_windows(train_seqs, cfg.window)
    log(f"windows: {len(tok)} of {cfg.window} steps, batch {cfg.batch}")
    budget_s = cfg.minutes * 60.0
    deadline = t_start + budget_s
    total_batches_guess = None
    best = (math.inf, None, -1)
    history = []
    stopped = "epochs"
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        t_ep = time.perf_counter()
        order = rng.permutation(len(tok))
        n_batches = math.ceil(len(order) / cfg.batch)
        if total_batches_guess is None:
            total_batches_guess = n_batches * cfg.epochs
        model.train()
        run_loss, run_n = 0.0, 0
        bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch",
                   disable=not cfg.progress, leave=True)
        out_of_time = False
        for b in bar:
            # cosine learning rate; progress = batches done / planned, or time used / budget when
            # that is further along (so a run cut by the budget still ends at a low rate; runs that
            # finish their epochs in time are deterministic)
            progress = max(step / max(total_batches_guess, 1), (time.perf_counter() - t_start) / budget_s)
            lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = order[b * cfg.batch:(b + 1) * cfg.batch]
            t_tok = torch.as_tensor(tok[idx])
            target = t_tok[..., 1:]
            logits, _ = model(t_tok[..., 0].clamp(min=0), torch.as_tensor(beat[idx]),
                              torch.as_tensor(prev[idx]))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            run_loss += loss.item() * len(idx)
            run_n += len(idx)
            bar.set_postfix(loss=f"{run_loss / run_n:.3f}", lr=f"{lr:.1e}")
            if time.perf_counter() > deadline:
                out_of_time = True
                break
        bar.close()
        valid = evaluate_nll(model, valid_seqs)
        v = float(valid.mean())
        ep_time = time.perf_counter() - t_ep
        partial = f" (partial: {b + 1}/{n_batches} batches, time budget)" if out_of_time else ""
        history.append({"epoch": epoch, "train_nll": run_loss / max(run_n, 1), "valid_nll": v,
                        "valid_nll_voices": valid.tolist(), "seconds": ep_time})
        is_best = v < best[0]
        if is_best:
            best = (v, copy.deepcopy(model.state_dict()), epoch)
        line = (f"epoch {epoch}: train NLL {run_loss / max(run_n, 1):.4f}  valid NLL {v:.4f} "
                f"(alto {valid[0]:.3f} tenor {valid[1]:.3f} bass {valid[2]:.3f})  {ep_time:.0f} s"
                f"{'  *best' if is_best else ''}{partial}")
        log(line)
        print(line)
        if out_of_time:
            stopped = "time budget"
            break

    model.load_state_dict(best[1])
    model.eval()
    meta = {"seed": str(cfg.seed), "valid_nll": f"{best[0]:.4f}", "epoch": str(best[2])}
    export_onnx(model, cfg.out, meta)
    diff = verify_onnx(model, cfg.out)
    wall = time.perf_counter() - t_start
    log(f"stopped by: {stopped}; best epoch {best[2]} valid NLL {best[0]:.4f}")
    log(f"exported {cfg.out} ({cfg.out.stat().st_size} bytes); onnxruntime vs torch max abs diff {diff:.2e}")
    log(f"wall time: {wall:.1f} s")
    log.close()
    if diff >= 1e-4:
        raise RuntimeError(f"ONNX export does not match torch (max abs diff {diff:.2e})")
    print(f"wrote {cfg.out} (best epoch {best[2]}, valid NLL {best[0]:.4f}, {n_params:,} parameters, "
          f"onnx diff {diff:.1e}) and {log_path} in {wall / 60:.1f} min")
    return {"params": n_params, "best_epoch": best[2], "valid_nll": best[0], "history": history,
            "onnx_diff": diff, "wall_s": wall, "log": str(log_path), "model": model}
