"""benchmarks/bench_osc_access.py runs on a tiny input and writes its keys (no timing asserted)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_osc_access_smoke(tmp_path):
    out = tmp_path / "osc_access.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_osc_access.py"), "--json", str(out),
                        "--datagrams", "300", "--runs", "1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    f = json.loads(out.read_text())
    for case in ("open", "allowed", "denied"):
        assert f[f"osc_cpu_us_per_dgram_{case}"] > 0 and f[f"osc_dgrams_per_s_{case}"] > 0
    assert "engine events dropped" in r.stdout
