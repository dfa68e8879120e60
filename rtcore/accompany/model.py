"""The causal accompaniment model (torch; imported only for training, export and tests).

At step t the model sees the melody token, the beat position and the AI's own tokens at t-1
(alto, tenor, bass; REST at t = 0) and predicts the AI's three tokens at t:

    embed(melody) ++ embed(beat) ++ embed_alto(prev) ++ embed_tenor(prev) ++ embed_bass(prev)
      -> GRU (L layers, hidden H) -> 3 linear heads of VOCAB logits

:class:`StepModel` wraps it for ONNX with the step interface of csrc/rtcore.h:
``melody`` int64 [1], ``beat`` int64 [1], ``prev`` int64 [3], ``state`` float32 [L, 1, H] ->
``logits`` float32 [3, VOCAB], ``state_out`` float32 [L, 1, H]. The ONNX file also carries
metadata (``hidden``, ``layers``, ``vocab``, ``beats``) so a runner can size the state.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .tokens import BEATS, REST, VOCAB, VOICES

INPUT_NAMES = ["melody", "beat", "prev", "state"]
OUTPUT_NAMES = ["logits", "state_out"]


class ChoraleGRU(nn.Module):
    def __init__(self, hidden: int = 256, layers: int = 2, emb: int = 64, beat_emb: int = 16,
                 voice_emb: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.config = dict(hidden=hidden, layers=layers, emb=emb, beat_emb=beat_emb,
                           voice_emb=voice_emb, dropout=dropout)
        self.mel = nn.Embedding(VOCAB, emb)
        self.beat = nn.Embedding(BEATS, beat_emb)
        self.prev = nn.ModuleList(nn.Embedding(VOCAB, voice_emb) for _ in range(VOICES))
        self.gru = nn.GRU(emb + beat_emb + VOICES * voice_emb, hidden, num_layers=layers,
                          batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.heads = nn.Linear(hidden, VOICES * VOCAB)     # the 3 heads, one matrix

    def features(self, melody: torch.Tensor, beat: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """melody, beat: [B, T]; prev: [B, T, 3] -> [B, T, F]."""
        parts = [self.mel(melody), self.beat(beat)] + [e(prev[..., v]) for v, e in enumerate(self.prev)]
        return torch.cat(parts, dim=-1)

    def forward(self, melody: torch.Tensor, beat: torch.Tensor, prev: torch.Tensor,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> logits [B, T, 3, VOCAB], state [L, B, H]."""
        out, state = self.gru(self.features(melody, beat, prev), state)
        logits = self.heads(self.drop(out))
        return logits.view(*logits.shape[:2], VOICES, VOCAB), state

    def zero_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(self.layers, batch, self.hidden)


def shift_prev(ai: torch.Tensor) -> torch.Tensor:
    """Teacher forcing inputs: the AI tokens [B, T, 3] moved one step later, REST at t = 0."""
    first = torch.full_like(ai[:, :1], REST)
    return torch.cat([first, ai[:, :-1]], dim=1)


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class StepModel(nn.Module):
    """One step with the exact ONNX interface of csrc/rtcore.h (batch 1, static shapes)."""

    def __init__(self, model: ChoraleGRU) -> None:
        super().__init__()
        self.model = model

    def forward(self, melody: torch.Tensor, beat: torch.Tensor, prev: torch.Tensor,
                state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        x = torch.cat([m.mel(melody), m.beat(beat)] + [e(prev[v:v + 1]) for v, e in enumerate(m.prev)],
                      dim=-1)                              # [1, F]
        out, state_out = m.gru(x.unsqueeze(0), state)      # [1, 1, H]
        logits = m.heads(out[0]).view(VOICES, VOCAB)
        return logits, state_out


def export_onnx(model: ChoraleGRU, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the step model as ONNX (TorchScript exporter, opset 17) with the contract's names."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    step = StepModel(model).eval()
    args = (torch.zeros(1, dtype=torch.int64), torch.zeros(1, dtype=torch.int64),
            torch.zeros(VOICES, dtype=torch.int64), model.zero_state(1))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")          # tracer chatter about the GRU's batch size
        torch.onnx.export(step, args, str(path), input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
                          opset_version=17, dynamo=False, do_constant_folding=True)
    proto = onnx.load(str(path))
    meta = {"hidden": str(model.hidden), "layers": str(model.layers), "vocab": str(VOCAB),
            "beats": str(BEATS), "voices": str(VOICES), "producer": "rtcore train"}
    meta.update(metadata or {})
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, str(v)
    onnx.save(proto, str(path))
    return path


def torch_free_run_logits(model: ChoraleGRU, melody: np.ndarray, beat: np.ndarray,
                          prev: np.ndarray) -> np.ndarray:
    """Logits [T, 3, VOCAB] of the torch model stepped with given inputs (prev [T, 3])."""
    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(melody)[None], torch.as_tensor(beat)[None],
                          torch.as_tensor(prev)[None])
    return logits[0].numpy()


def verify_onnx(model: ChoraleGRU, path: str | Path, steps: int = 64, seed: int = 0) -> float:
    """Run ``steps`` steps of random inputs through onnxruntime and torch; return the max abs
    difference of the logits (the caller checks it against 1e-4)."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    melody = rng.integers(0, VOCAB, steps)
    beat = np.arange(steps) % BEATS
    prev = rng.integers(0, VOCAB, (steps, VOICES))
    ref = torch_free_run_logits(model, melody, beat, prev)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    state = np.zeros((model.layers, 1, model.hidden), np.float32)
    worst = 0.0
    for t in range(steps):
        logits, state = sess.run(OUTPUT_NAMES, {"melody": melody[t:t + 1].astype(np.int64),
                                                "beat": beat[t:t + 1].astype(np.int64),
                                                "prev": prev[t].astype(np.int64), "state": state})
        worst = max(worst, float(np.abs(logits - ref[t]).max()))
    return worst
