"""MIDI end to end on a real JACK server (dummy driver): `rtcore play` runs as its own process,
exactly as a performer starts it; a second rtmidi client (this test) plays into its virtual
input "rtcore in" through JACK MIDI, an independent JACK client records its audio, and the
test reads parameters back over OSC.

Checked: the notes sent arrive as sound (the right pitch, for as long as they are held); a CC
map moves its parameter (through soft takeover: the knob acts once it passes the current value);
a program change recalls a snapshot; malformed MIDI is logged and the performance goes on; the
AI's notes and MIDI clock leave on "rtcore out"; Ctrl-C ends it cleanly with the final report.
"""
from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from jack_helpers import SAMPLE_RATE, RtcorePlay, fft_freq, jack_midi_port, longest_finite, new_ports

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

PATCH = """
[engine]
sample_rate = 48000
block = 128
tempo = 120
limiter = false

[[node]]
name = "keys"
type = "synth"
channel = 1
wave = "sine"
attack = 2
decay = 0
sustain = 1
release = 20
velocity_sens = 0
env_amount = 0
cutoff = 1800
level = -6

[midi]
latency = "fixed"

[[midi.cc]]
cc = 74
to = "keys.cutoff"
min = 300
max = 9000
curve = "exp"

[[snapshot]]
name = "dark"
program = 4
keys = { cutoff = 500, level = -12 }
"""

AI_PATCH = """
[engine]
sample_rate = 48000
block = 128
tempo = 120

[midi]
clock_out = true

[[node]]
name = "harmony"
type = "ai"
channel = 1
model = "{model}"
to = "choir"
temperature = 0
follow = "reactive"

[[node]]
name = "choir"
type = "synth"
voices = 12
level = -16
"""


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OscAsk:
    """Queries rtcore's OSC server and waits for the answer."""

    def __init__(self, port: int) -> None:
        from rtcore.osc import wire

        self.wire = wire
        self.dest = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3.0)

    def ask(self, address: str, *args):
        self.sock.sendto(self.wire.build(address, *args), self.dest)
        while True:
            m = self.wire.parse_message(self.sock.recv(65536))
            if m.address in ("/rtcore/reply", "/rtcore/error"):
                return m

    def value(self, node: str, param: str) -> float:
        m = self.ask(f"/rtcore/node/{node}/{param}")
        assert m.address == "/rtcore/reply", m
        return float(m.args[1])

    def close(self) -> None:
        self.sock.close()


def rtmidi_sender(name: str):
    import rtmidi

    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=name)
    out.open_virtual_port("out")
    return out


def sounding_runs(x: np.ndarray, threshold: float, gap: int) -> list[tuple[int, int]]:
    """(start, end) frames of stretches where |x| exceeds ``threshold``; gaps shorter than
    ``gap`` frames (a sine's zero crossings) do not split a stretch."""
    idx = np.flatnonzero(np.nan_to_num(np.abs(x)) > threshold)
    if not len(idx):
        return []
    splits = np.flatnonzero(np.diff(idx) > gap)
    starts = np.concatenate([[idx[0]], idx[splits + 1]])
    ends = np.concatenate([idx[splits], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))


@pytest.fixture
def midi_patch(tmp_path):
    p = tmp_path / "live.toml"
    p.write_text(PATCH)
    return p


def test_notes_cc_and_program_change_through_jack_midi(recorder, midi_patch):
    pytest.importorskip("rtmidi")
    before = recorder.output_ports()
    osc_port = free_udp_port()
    play = RtcorePlay(midi_patch, "--osc-port", str(osc_port))
    sender = osc = None
    try:
        play.wait_for("MIDI in: rtcore in (jack)")
        rtcore_in = jack_midi_port(recorder.client, ":rtcore in", is_input=True)
        sender = rtmidi_sender("midi-e2e-sender")
        src = jack_midi_port(recorder.client, "midi-e2e-sender:out", is_input=False)
        recorder.client.connect(src, rtcore_in)
        ports = []
        deadline = time.monotonic() + 20
        while len(ports) < 2 and time.monotonic() < deadline:
            ports = new_ports(recorder, before, timeout=0.5)
        assert len(ports) == 2, f"no stream ports from rtcore play: {ports}\n{play.stderr}"
        recorder.connect(ports)
        osc = OscAsk(osc_port)
        deadline = time.monotonic() + 10
        while True:                                     # the OSC server answers once the stream runs
            try:
                assert osc.value("keys", "cutoff") == pytest.approx(1800)
                break
            except (socket.timeout, TimeoutError):
                assert time.monotonic() < deadline, play.stderr
        recorder.start()
        time.sleep(0.3)
        # two notes, held 0.4 s each, 0.3 s apart: A4 then E5
        for note in (69, 76):
            sender.send_message([0x90, note, 100])
            time.sleep(0.4)
            sender.send_message([0x80, note, 0])
            time.sleep(0.3)
        sender.send_message([0x91, 200, 100])           # malformed (data byte > 127): logged, ignored
        # CC 74 sweeps down from 100 to 0: soft takeover picks it up where it passes 1800 Hz
        sender.send_message([0xB0, 74, 100])
        time.sleep(0.05)
        assert osc.value("keys", "cutoff") == pytest.approx(1800)     # not yet picked up: no jump
        for v in range(99, -1, -3):
            sender.send_message([0xB0, 74, v])
            time.sleep(0.005)
        sender.send_message([0xB0, 74, 0])
        time.sleep(0.2)
        assert osc.value("keys", "cutoff") == pytest.approx(300, rel=1e-4)
        sender.send_message([0xC0, 4])                  # program 4 = snapshot "dark"
        time.sleep(0.2)
        assert osc.value("keys", "cutoff") == pytest.approx(500)
        assert osc.value("keys", "level") == pytest.approx(-12)
        sender.send_message([0xC0, 9])                  # no such snapshot: logged
        time.sleep(0.2)
        audio = recorder.stop()
        stats = dict(zip(*[iter(osc.ask("/rtcore/stats").args[1:])] * 2))
    finally:
        if osc is not None:
            osc.close()
        if sender is not None:
            sender.close_port()
            sender.delete()
        code, out, err = play.interrupt()
    assert code == 0, err
    assert "xruns" in out and "callback time" in out          # the final report
    assert "malformed note on message 91 c8 64" in err
    assert "no snapshot program 9" in err
    assert "snapshot 'dark'" in err
    assert stats["events_dropped"] == 0

    left = audio[:, 0]
    runs = sounding_runs(left, 0.05, gap=SAMPLE_RATE // 100)
    assert len(runs) == 2, runs
    for (a, b), freq in zip(runs, (440.0, 659.26)):
        held = (b - a) / SAMPLE_RATE
        assert 0.3 < held < 0.55, (a, b)                     # 0.4 s + release, within the poll/cycle slack
        held_audio = longest_finite(left[a + 2400:b - 2400])     # frames the recorder missed are NaN
        assert len(held_audio) > 4800, (a, b)
        assert fft_freq(held_audio, SAMPLE_RATE) == pytest.approx(freq, rel=2e-3)
    gap = (runs[1][0] - runs[0][0]) / SAMPLE_RATE
    assert 0.6 < gap < 0.9, gap                               # 0.7 s apart as sent


def test_ai_notes_and_midi_clock_leave_on_rtcore_out(recorder, tmp_path):
    rtmidi = pytest.importorskip("rtmidi")
    model = ROOT / "models" / "chorale.onnx"
    if not model.exists():
        pytest.skip("models/chorale.onnx is not built")
    patch = tmp_path / "ai.toml"
    patch.write_text(AI_PATCH.replace("{model}", str(model)))
    osc_port = free_udp_port()
    play = RtcorePlay(patch, "--osc-port", str(osc_port))
    sender = osc = None
    received: list[tuple[float, list[int]]] = []     # (JACK frame / rate: seconds, message)

    def heard() -> list[tuple[float, list[int]]]:
        return [(f / SAMPLE_RATE, list(d)) for f, d in recorder.midi_received()
                if d[:1] not in (b"\xf0", b"\xfe")]                    # no sysex, no active sensing
    try:
        play.wait_for("MIDI out: rtcore out (jack)")
        rtcore_in = jack_midi_port(recorder.client, ":rtcore in", is_input=True)
        rtcore_out = jack_midi_port(recorder.client, ":rtcore out", is_input=False)
        sender = rtmidi_sender("ai-e2e-sender")
        recorder.client.connect(jack_midi_port(recorder.client, "ai-e2e-sender:out", is_input=False), rtcore_in)
        recorder.client.connect(rtcore_out, recorder.midi_in_port)     # its MIDI input (a C callback)
        recorder.start()
        deadline = time.monotonic() + 20
        while not any(m[0] == 0xF8 for _, m in heard()):         # the stream runs: clock ticks arrive
            assert time.monotonic() < deadline, f"no MIDI clock on rtcore out\n{play.stderr}"
            time.sleep(0.05)
        osc = OscAsk(osc_port)              # restart the transport: Stop, then Start and ticks again
        osc.sock.sendto(osc.wire.build("/rtcore/transport/stop"), osc.dest)
        time.sleep(0.3)
        osc.sock.sendto(osc.wire.build("/rtcore/transport/play"), osc.dest)
        time.sleep(0.2)
        t0 = recorder.now()[0] / SAMPLE_RATE                   # JACK time, as the messages'
        for note in (67, 69, 71, 72, 74, 72, 71, 69):          # a melody: quarter notes at 120 BPM
            sender.send_message([0x90, note, 90])
            time.sleep(0.45)
            sender.send_message([0x80, note, 0])
            time.sleep(0.05)
        t1 = recorder.now()[0] / SAMPLE_RATE
    finally:
        if osc is not None:
            osc.close()
        code, out, err = play.interrupt()
        received = heard()                   # up to the end (the notes released on Ctrl-C too)
        if sender is not None:
            sender.close_port()
            sender.delete()
    assert code == 0, err
    ai_on = [(t, m) for t, m in received if t0 <= t <= t1 + 0.1 and m[0] & 0xF0 == 0x90 and m[2] > 0]
    channels = {(m[0] & 0x0F) + 1 for _, m in ai_on}
    assert len(ai_on) >= 8 and channels <= {2, 3, 4} and len(channels) >= 2, ai_on[:12]
    ticks = [t for t, m in received if m == [0xF8] and t0 <= t <= t1]
    rate = (len(ticks) - 1) / (ticks[-1] - ticks[0])
    assert rate == pytest.approx(24 * 120 / 60, rel=0.02)     # 24 ticks per beat at 120 BPM
    kinds = [m[0] for _, m in received if m[0] in (0xFA, 0xFC)]
    assert [0xFC, 0xFA] in [kinds[i:i + 2] for i in range(len(kinds))], kinds   # Stop, then Start again
    offs = [m for _, m in received if m[0] & 0xF0 == 0x80 or (m[0] & 0xF0 == 0x90 and m[2] == 0)]
    assert offs, "the AI's notes are released"
