"""Smoke test of benchmarks/faults.py: the fault scenarios (four where a tmpfs can be mounted) on its own jackd (killed and
restarted by PID) must run, be survived and write every key."""
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


def test_bench_faults_smoke(tmp_path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    pytest.importorskip("jack", reason="JACK-Client is not installed")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    if not (ROOT / "models" / "chorale.onnx").is_file():
        pytest.skip("models/chorale.onnx is not built")
    out = tmp_path / "faults.json"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    p = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "faults.py"), "--json", str(out)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        p.kill()                          # by PID
        stdout, stderr = p.communicate()
        pytest.fail(f"faults.py took more than 180 s:\n{stdout}{stderr}")
    assert p.returncode == 0, stdout + stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["faults_total"] in (3, 4) and data["faults_survived"] == data["faults_total"], data
    for key in ("server_kill_detect_ms", "server_kill_back_after_restart_s", "server_kill_attempts",
                "model_garbage_detect_s", "model_garbage_notes_after", "missing_file_refused",
                "missing_file_rms_change_pct"):
        assert key in data, f"{key} missing from {sorted(data)}"
    assert data["server_kill_streams_lost"] == 1 and data["server_kill_streams_reopened"] == 1
    assert data["missing_file_refused"] == 3
    assert f"Faults survived: {data['faults_total']} of {data['faults_total']}" in stdout
