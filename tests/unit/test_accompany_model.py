"""The causal model: it learns, its ONNX export follows the rtcore.h contract and matches torch,
and `rtcore train` runs end to end (and says what to install when torch is missing)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def rtcore(*args: str, timeout: float = 300, pre: str = "") -> subprocess.CompletedProcess:
    code = f"import sys; {pre}\nfrom rtcore.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_train_without_torch_says_what_to_install(tmp_path):
    r = rtcore("train", "--out", str(tmp_path / "m.onnx"), pre="sys.modules['torch'] = None")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install '.[train]'" in lines[0], r.stderr
    assert not (tmp_path / "m.onnx").exists()


torch = pytest.importorskip("torch")
pytest.importorskip("music21")
pytest.importorskip("onnx")

from rtcore.accompany import data  # noqa: E402
from rtcore.accompany.model import ChoraleGRU, export_onnx, shift_prev, verify_onnx  # noqa: E402
from rtcore.accompany.tokens import BEATS, VOCAB, VOICES  # noqa: E402


def test_tiny_model_loss_drops():
    torch.manual_seed(0)
    torch.set_num_threads(1)          # tiny: more threads only spin
    cs = data.split_arrays("train", limit=3, progress=False)
    n = min(len(c.tokens) for c in cs)
    tok = torch.as_tensor(np.stack([c.tokens[:n] for c in cs]))
    beat = torch.as_tensor(np.stack([c.beats[:n] for c in cs]))
    model = ChoraleGRU(hidden=48, layers=1, emb=16, beat_emb=4, voice_emb=8, dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        logits, _ = model(tok[..., 0], beat, shift_prev(tok[..., 1:]))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tok[..., 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_model_is_causal():
    torch.manual_seed(0)
    model = ChoraleGRU(hidden=32, layers=2).eval()
    mel = torch.randint(0, VOCAB, (1, 20))
    beat = torch.arange(20)[None] % BEATS
    prev = torch.randint(0, VOCAB, (1, 20, VOICES))
    a, _ = model(mel, beat, prev)
    mel2 = mel.clone()
    mel2[0, 12:] = 5
    b, _ = model(mel2, beat, prev)
    assert torch.allclose(a[:, :12], b[:, :12]) and not torch.allclose(a[:, 12:], b[:, 12:])


def test_export_matches_torch_and_the_contract(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(1)
    model = ChoraleGRU(hidden=40, layers=2)
    path = export_onnx(model, tmp_path / "m.onnx")
    assert verify_onnx(model, path, steps=48) < 1e-4
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ins = {i.name: (i.type, i.shape) for i in sess.get_inputs()}
    outs = {o.name: (o.type, o.shape) for o in sess.get_outputs()}
    assert ins == {"melody": ("tensor(int64)", [1]), "beat": ("tensor(int64)", [1]),
                   "prev": ("tensor(int64)", [VOICES]), "state": ("tensor(float)", [2, 1, 40])}
    assert outs == {"logits": ("tensor(float)", [VOICES, VOCAB]), "state_out": ("tensor(float)", [2, 1, 40])}
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["hidden"] == "40" and meta["layers"] == "2" and meta["vocab"] == str(VOCAB)


def test_rtcore_train_end_to_end(tmp_path):
    out = tmp_path / "m.onnx"
    r = rtcore("train", "--out", str(out), "--epochs", "1", "--minutes", "0.2", "--limit-chorales", "3",
               "--hidden", "32", "--layers", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert out.exists() and "wrote" in r.stdout
    log = (tmp_path / "m.train.log").read_text()
    for needle in ("seed: 0", "parameters", "epoch 1: train NLL", "valid NLL", "wall time", "max abs diff"):
        assert needle in log, log
