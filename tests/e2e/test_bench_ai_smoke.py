"""benchmarks/bench_ai.py's live section (the chorale patch on jackd) on a 3-second run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not (ROOT / "models" / "chorale.onnx").exists(), reason="no shipped model")
def test_bench_ai_live_smoke(tmp_path):
    out = tmp_path / "ai.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_ai.py"), "--json", str(out), "--steps", "200",
                        "--render-seconds", "0", "--live-seconds", "3"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    f = json.loads(out.read_text())
    for key in ("missed_deadlines", "xruns", "live_ai_steps", "live_p99_pct"):
        assert key in f
    assert f["live_ai_steps"] > 10
