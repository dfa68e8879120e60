"""benchmarks/bench_personal.py on a tiny budget: it runs and writes its keys."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_personal_smoke(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "personal.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_personal.py"), "--json", str(out),
                        "--songs", "4", "--bars", "4", "--epochs", "1", "--runs", "1"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    d = json.loads(out.read_text())
    for key in ("finetune_minutes", "val_nll_base", "val_nll_tuned", "memory_overhead_ratio"):
        assert key in d and d[key] > 0, (key, d)
    assert d["finetune_songs_held_out"] == 1 and d["finetune_epochs"] == 1
