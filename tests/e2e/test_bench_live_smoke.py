"""Smoke test of benchmarks/bench_live.py: a short run must work and write every key.
(It starts and stops its own jackd servers, under names of its own.)"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_bench_live_smoke(tmp_path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    pytest.importorskip("jack", reason="JACK-Client is not installed")
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    p = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench_live.py"), "--json", str(out),
                          "--seconds", "2", "--blocks", "128"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()                          # by PID
        stdout, stderr = p.communicate()
        pytest.fail(f"bench_live.py took more than 120 s:\n{stdout}{stderr}")
    assert p.returncode == 0, stdout + stderr
    data = json.loads(out.read_text())
    for key in ("p99_pct_128", "max_pct_128", "overruns_128", "xruns_128", "floor_xruns_128"):
        assert key in data, f"{key} missing from {sorted(data)}"
    assert isinstance(data["xruns_128"], int) and isinstance(data["overruns_128"], int)
    assert data["callbacks_128"] > 0.8 * 2 * 48000 / 128
    assert 0 < data["p99_pct_128"] <= data["max_pct_128"] + 0.1
    assert "block" in stdout and "floor xruns" in stdout     # the table
    # every jackd it started (named rtcore-bench-<its pid>-<block>) is gone
    ps = subprocess.run(["pgrep", "-f", f"rtcore-bench-{p.pid}-"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", f"bench_live left processes behind: {ps.stdout}"
