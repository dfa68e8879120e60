"""Smoke test of benchmarks/soak.py --minutes 0.1: the floor and the soak run on its own jackd at
block 64, every key is written, OSC and MIDI are accounted for, the subscriber hears rtcore,
and no process is left behind. Timings and xruns are not asserted."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_soak_smoke(tmp_path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    pytest.importorskip("jack", reason="JACK-Client is not installed")
    pytest.importorskip("rtmidi", reason="python-rtmidi is not installed")
    if not (ROOT / "models" / "chorale.onnx").exists():
        pytest.skip("models/chorale.onnx is missing (the soak plays the AI)")
    out = tmp_path / "soak.json"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--json", str(out), "--minutes", "0.1"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        p.kill()                          # by PID
        stdout, stderr = p.communicate()
        pytest.fail(f"soak.py took more than 180 s:\n{stdout}{stderr}")
    assert p.returncode == 0, stdout + stderr
    data = json.loads(out.read_text())
    for key in ("soak_xruns", "soak_floor_xruns", "soak_missed_deadlines", "soak_rss_growth_mb", "soak_overruns",
                "soak_events_dropped"):
        assert key in data and data[key] is not None, f"missing {key}: {data}"
    assert data["soak_block"] == 64 and data["soak_exit_code"] == 0
    assert data["soak_ai_steps"] > 10                          # 6 s at 96 BPM: ~38 sixteenths
    assert data["soak_osc_unaccounted"] == 0 and data["soak_osc_sent"] > 300          # a set every 10 ms
    assert data["soak_osc_handled"] == data["soak_osc_sent"] - data["soak_osc_dropped"]
    assert data["soak_midi_sent"] > 0
    if data["soak_xruns"] == 0:                                # else JACK may drop a missed cycle's MIDI
        assert data["soak_midi_unaccounted"] == 0, data
    assert data["soak_subscriber_meters"] > 0 and data["soak_subscriber_params"] > 0
    assert data["soak_rss_start_mb"] > 10
    assert "rtcore soak" in stdout and "RSS growth after the first minute" in stdout
    servers = re.findall(r"\(server (rtcore-soak-\d+)\)", stdout)
    assert len(servers) == 1, stdout
    ps = subprocess.run(["pgrep", "-af", f"{servers[0]}( |$)"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", f"soak.py left processes behind: {ps.stdout}"
