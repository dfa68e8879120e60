"""MIDI ports and messages without a MIDI system: port and API selection errors, the input's
message handling (timestamps, system messages, malformed input), the output's notes, CC maps
on channel pressure, channel mode controllers, and the message table the README is built from."""
from __future__ import annotations

import pytest

from rtcore import midi_spec
from rtcore._native import lib
from rtcore.engine import Engine
from rtcore.errors import DeviceError, PatchError
from rtcore.midi import MidiInput, MidiOutput, choose_api, resolve_port
from rtcore.midi_time import MidiTimestamper
from rtcore.patch import load_patch
from rtcore.session import Session

PATCH = """
[[node]]
name = "keys"
type = "synth"
cutoff = 1000
[[midi.cc]]
cc = "pressure"
to = "keys.cutoff"
min = 200
max = 5000
takeover = false
[[midi.cc]]
cc = 1
channel = 2
to = "keys.level"
min = -40
max = 0
takeover = false
"""


@pytest.fixture
def session(write_patch):
    eng = Engine(48000, 1024)
    s = Session(eng, load_patch(write_patch(PATCH)), live=False)
    yield s
    s.close()
    eng.close()


PORTS = ["Midi Through:Midi Through Port-0 14:0", "nanoKEY2:nanoKEY2 KEYBOARD 20:0", "rtcore-01:rtcore out"]


def test_resolve_port_by_index_name_part_and_exact_name():
    assert resolve_port(PORTS, 1, "input") == 1
    assert resolve_port(PORTS, "2", "input") == 2
    assert resolve_port(PORTS, "nanokey", "input") == 1
    assert resolve_port(PORTS, "rtcore-01:rtcore out", "output") == 2


@pytest.mark.parametrize("spec, words", [
    (7, ["no MIDI input port 7", "0 'Midi Through", "1 'nanoKEY2"]),
    ("launchpad", ["no MIDI input port matching 'launchpad'", "2 'rtcore-01:rtcore out'"]),
    (":", ["ambiguous", "give an index"]),
])
def test_resolve_port_errors_list_the_ports(spec, words):
    with pytest.raises(DeviceError) as ei:
        resolve_port(PORTS, spec, "input")
    text = str(ei.value)
    assert "\n" not in text
    for w in words:
        assert w in text
    with pytest.raises(DeviceError, match=r"\(input ports: none\)"):
        resolve_port([], "x", "input")


def test_no_midi_system_is_one_clear_line(monkeypatch):
    # no JACK server of this name, and this machine has no ALSA sequencer
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "rtcore-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    monkeypatch.setattr("rtcore.midi.os.path.exists", lambda p: False)
    monkeypatch.setattr("rtcore.midi._probe", lambda api: "not reachable")
    with pytest.raises(DeviceError) as ei:
        choose_api(None)
    assert "no MIDI system" in str(ei.value) and "jackd" in str(ei.value)
    with pytest.raises(DeviceError, match="MIDI API 'jack' cannot be used: not reachable"):
        choose_api("jack")
    with pytest.raises(DeviceError, match=r"MIDI API 'coremidi' is not available \(python-rtmidi here has: "):
        choose_api("coremidi")


def test_auto_prefers_alsa_when_the_machine_has_a_sequencer(monkeypatch):
    import rtmidi

    tried = []
    monkeypatch.setattr("rtcore.midi.os.path.exists", lambda p: p == "/dev/snd/seq")
    monkeypatch.setattr("rtcore.midi._probe", lambda api: tried.append(api) or None)
    assert choose_api("auto") == rtmidi.API_LINUX_ALSA
    monkeypatch.setattr("rtcore.midi.os.path.exists", lambda p: False)
    tried.clear()
    monkeypatch.setattr("rtcore.midi._probe", lambda api: tried.append(api) or None)
    assert choose_api(None) == rtmidi.API_UNIX_JACK and tried == [rtmidi.API_UNIX_JACK]


class _Clock:
    """A source clock equal to CLOCK_MONOTONIC, advanced by hand (ns)."""

    def __init__(self) -> None:
        self.t = 1_000_000_000

    def __call__(self) -> tuple[int, int]:
        return self.t, self.t


def _input(session) -> tuple[MidiInput, _Clock, list]:
    got: list = []
    mi = MidiInput(session)
    clock = _Clock()
    mi._stamper = MidiTimestamper(now=clock)
    mi.name = "test in"
    session.midi = lambda msg, arrival, **kw: got.append((list(msg), arrival)) or type(session).midi(session, msg, arrival)
    return mi, clock, got


def test_input_stamps_every_message_and_drops_system_ones(session):
    mi, clock, got = _input(session)
    logs: list[str] = []
    session.add_log_listener(logs.append)
    mi._handle([0x90, 60, 100], 0.0)
    clock.t += 5_000_000                      # the next one reaches Python 5 ms after it came ...
    mi._handle([0xF8], 0.001)                 # a clock tick 1 ms later: dropped, but its delta counts
    clock.t += 1_000_000
    mi._handle([0x80, 60, 0], 0.002)          # ... this one 2 ms after the tick
    assert [m for m, _ in got] == [[0x90, 60, 100], [0x80, 60, 0]]
    assert got[1][1] - got[0][1] == pytest.approx(3_000_000, abs=1_000)   # from the deltas, not the arrivals
    mi._handle([0x90, 61], 0.0)               # truncated
    mi._handle([0x95, 61, 130], 0.0)          # data byte out of range
    assert mi.counters == {"received": 5, "handled": 2, "errors": 2, "system": 1, "lost": 0}
    assert any("MIDI in (test in): MIDI: malformed note on message 90 3d" in line for line in logs)
    assert any("95 3d 82" in line for line in logs)


def test_channel_pressure_drives_a_pressure_map_and_channel_filters(session):
    session.midi([0xD0, 127])
    assert session.get_param("keys", "cutoff") == pytest.approx(5000)
    session.midi([0xD3, 0])                   # any channel (the map's channel is 0)
    assert session.get_param("keys", "cutoff") == pytest.approx(200)
    session.midi([0xB0, 1, 0])                # CC 1 on channel 1: the map listens on channel 2
    assert session.get_param("keys", "level") == pytest.approx(-6)
    session.midi([0xB1, 1, 0])
    assert session.get_param("keys", "level") == pytest.approx(-40)


def test_learn_takes_pressure_but_not_channel_mode_controllers(session):
    session.learn("keys.level")
    session.midi([0xB0, 123, 0])              # all notes off: a channel mode message, not a knob
    assert session.learning == "keys.level"
    session.midi([0xD0, 40])
    assert session.learning is None
    path = session.learn_save()
    assert 'cc = "pressure"' in path.read_text()
    again = load_patch(session.patch.path)
    learned = [m for m in again.cc_maps if m.learned]
    assert len(learned) == 1 and learned[0].cc == midi_spec.PRESSURE_CC and learned[0].param == "level"


@pytest.mark.parametrize("cc, words", [
    (121, "CC 120..127 are MIDI channel mode messages"),
    ('"aftertouch"', "key 'cc' = 'aftertouch' (allowed: a controller number 0..119, or pressure)"),
])
def test_cc_maps_refuse_channel_mode_and_unknown_names(write_patch, cc, words):
    text = PATCH.replace('cc = "pressure"', f"cc = {cc}")
    with pytest.raises(PatchError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_patch(write_patch(text))


class _FakeOut:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def send_message(self, msg) -> None:
        self.sent.append(list(msg))

    def close_port(self) -> None:
        pass

    def delete(self) -> None:
        pass


def test_output_sends_the_ai_notes_and_releases_them_on_close(session):
    mo = MidiOutput(session)
    mo._out = _FakeOut()
    mo.name = "test out"
    session.add_note_listener(mo._note)
    fake = mo._out
    mo._note(100, lib.RT_EV_NOTE_ON, 2, 64, 72)
    mo._note(100, lib.RT_EV_NOTE_ON, 4, 40, 72)
    mo._note(900, lib.RT_EV_NOTE_OFF, 2, 64, 0)
    assert fake.sent == [[0x91, 64, 72], [0x93, 40, 72], [0x81, 64, 0]]
    mo.close()                                   # the bass note still sounds: released
    assert fake.sent[-1] == [0x83, 40, 0]
    assert mo.counters["notes"] == 2
    assert mo._note not in session._note_listeners


def test_the_message_table_covers_every_channel_message():
    assert sorted(m.status for m in midi_spec.CHANNEL_MESSAGES) == list(range(0x80, 0xF0, 0x10))
    for m in midi_spec.CHANNEL_MESSAGES:
        assert callable(getattr(Session, m.handler))
    assert midi_spec.describe(bytes([0x93, 60, 1])) == "ch4 note on 60 1"
