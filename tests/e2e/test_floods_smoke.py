"""Smoke test of benchmarks/floods.py: tiny rates, one second per phase, on its own jackd. It
must run every phase, write the keys, account for every OSC datagram and every MIDI message,
do the reloads, and leave no process behind. Rates and timings are not asserted."""
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
KEYS = ("xruns", "overruns", "events_dropped", "osc_handled_per_s", "osc_dropped", "midi_handled", "midi_lost",
        "reloads", "rss_growth_mb")


def test_floods_smoke(tmp_path):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    pytest.importorskip("jack", reason="JACK-Client is not installed")
    pytest.importorskip("rtmidi", reason="python-rtmidi is not installed")
    if not (ROOT / "models" / "chorale.onnx").exists():
        pytest.skip("models/chorale.onnx is missing (the flooded patch plays the AI)")
    out = tmp_path / "floods.json"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "floods.py"), "--json", str(out), "--seconds", "1.5",
                          "--osc-rate", "400", "--midi-rate", "200", "--reload-ms", "250"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        p.kill()                          # by PID
        stdout, stderr = p.communicate()
        pytest.fail(f"floods.py took more than 240 s:\n{stdout}{stderr}")
    assert p.returncode == 0, stdout + stderr
    data = json.loads(out.read_text())

    for prefix in ("flood_", "flood_osc_only_", "flood_midi_only_", "flood_reload_only_"):
        for key in KEYS:
            assert prefix + key in data, f"missing {prefix + key}"
        assert data[prefix + "exit_code"] == 0
        assert data[prefix + "osc_unaccounted"] == 0, (prefix, data)        # sent = received + dropped
        assert data[prefix + "osc_errors"] == 0 and data[prefix + "midi_errors"] == 0
        assert data[prefix + "midi_sent"] > 0                              # the melody plays in every phase
        if data[prefix + "xruns"] == 0:                                     # else JACK may drop a missed cycle's MIDI
            assert data[prefix + "midi_unaccounted"] == 0, (prefix, data)
        assert data[prefix + "rss_samples"] >= 1 and data[prefix + "rss_start_mb"] > 10
    for prefix in ("flood_", "flood_osc_only_"):
        assert data[prefix + "osc_flood_sent"] == 600 and data[prefix + "osc_handled_per_s"] > 0
    for prefix in ("flood_", "flood_midi_only_"):
        assert data[prefix + "midi_sent"] >= 300                            # 200/s for 1.5 s, and the melody
    for prefix in ("flood_", "flood_reload_only_"):
        assert data[prefix + "reloads_sent"] >= 5
        assert data[prefix + "reload_errors"] == 0
        assert data[prefix + "reloads"] == data[prefix + "reload_replies"] == data[prefix + "reloads_sent"], data
    assert data["flood_midi_only_reloads"] == data["flood_osc_only_osc_flood_sent"] - 600 == 0
    assert isinstance(data["flood_floor_xruns"], int) and data["flood_floor_midi_written"] > 0

    assert "rtcore under floods" in stdout and "MIDI written / handled / lost" in stdout
    servers = re.findall(r"\(server (rtcore-floods-\d+)\)", stdout)
    assert len(servers) == 1, stdout
    ps = subprocess.run(["pgrep", "-af", f"{servers[0]}( |$)"], capture_output=True, text=True)
    assert ps.stdout.strip() == "", f"floods.py left processes behind: {ps.stdout}"
