"""MIDI that RtMidi drops because its input queue is full is counted, not lost silently:
a C JACK client (jack_probe) writes a burst into "rtcore in" while the MidiInput's poll thread
sleeps longer than the queue lasts; what was written = received + lost, exactly."""
from __future__ import annotations

import time

import pytest

from jack_helpers import jack_midi_port
from rtcore.engine import Engine
from rtcore.patch import load_patch
from rtcore.session import Session

pytestmark = pytest.mark.e2e

PATCH = """
[engine]
sample_rate = 48000
block = 128

[[node]]
name = "keys"
type = "synth"
"""

SENT = 400          # note-ons and note-offs, 64 frames apart: 0.53 s in all
QUEUE = 64          # RtMidi's queue: far fewer than the burst
POLL_S = 1.5        # the poll thread first reads after the whole burst has come


def _settled(mi, timeout: float = 10.0) -> dict[str, int]:
    """The input's counters once received + lost stop moving (every message accounted for)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        c = mi.counters
        total = c["received"] + c["lost"]
        if total == last and total >= SENT:
            return c
        last = total
        time.sleep(POLL_S / 2 + 0.3)
    return mi.counters


def test_a_burst_beyond_rtmidis_queue_is_counted_as_lost(recorder, tmp_path):
    pytest.importorskip("rtmidi")
    from rtcore.midi import MidiInput

    path = tmp_path / "keys.toml"
    path.write_text(PATCH)
    with Engine(48000, 1024) as eng:
        session = Session(eng, load_patch(path), live=False)
        logs: list[str] = []
        session.add_log_listener(logs.append)
        mi = MidiInput(session, api="jack", queue_size=QUEUE, poll_seconds=POLL_S)
        mi.open()
        try:
            assert mi.loss_counted, logs
            recorder.client.connect(recorder.midi_out_port, jack_midi_port(recorder.client, ":rtcore in", True))
            time.sleep(0.2)                                 # the connection is in the graph
            _, cycle = recorder.now()
            start = cycle + 4800
            burst = [(start + 64 * k, bytes((0x90 if k % 2 == 0 else 0x80, 60 + (k // 2) % 12, 100 if k % 2 == 0 else 0)))
                     for k in range(SENT)]
            recorder.clear()
            recorder.queue_midi_many(burst)
            while recorder.status()["queued"]:
                time.sleep(0.05)
            st = recorder.status()
            written = st["midi_out"] + st["midi_out_overflow"]
            c = _settled(mi)
        finally:
            mi.close()
        assert written == SENT and st["dropped"] == 0
        assert c["lost"] > 0, c                              # the queue did overflow ...
        assert c["received"] + c["lost"] == SENT, c          # ... and every message is accounted for
        assert c["handled"] == c["received"] and c["errors"] == 0
        assert mi.counters["lost"] == c["lost"]              # still readable after close
        eng.render(256)
        assert eng.stats().events_in == c["handled"]
