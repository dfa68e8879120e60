"""rtcore play's control surfaces: explicit requests must work or stop the start with one line;
the defaults degrade to a warning (no MIDI system, OSC port taken) and the show goes on."""
from __future__ import annotations

import socket
from contextlib import ExitStack

import pytest

from rtcore.engine import Engine
from rtcore.errors import DeviceError, RtCoreError
from rtcore.patch import load_patch
from rtcore.perform import PerformOptions, _Learner, _open_surfaces
from rtcore.session import Session


@pytest.fixture
def session(patches_dir):
    eng = Engine(48000, 1024)
    s = Session(eng, load_patch(patches_dir / "keys.toml"), live=False)
    yield s
    s.close()
    eng.close()


def _no_midi(monkeypatch):
    def fail(name=None):
        raise DeviceError("no MIDI system to connect to: no ALSA sequencer and no JACK server running")
    monkeypatch.setattr("rtcore.midi.choose_api", fail)


def test_default_midi_degrades_to_a_warning(session, monkeypatch, patches_dir):
    _no_midi(monkeypatch)
    warnings: list[str] = []
    with ExitStack() as stack:
        _open_surfaces(PerformOptions(patches_dir / "keys.toml", osc_port=0, osc=False), session, stack,
                       warnings.append)
    assert len(warnings) == 1 and "playing without MIDI" in warnings[0] and "--no-midi" in warnings[0]
    assert session.surfaces == {}


@pytest.mark.parametrize("opts", [{"midi_in": "nanoKEY"}, {"midi_out": "1"}, {"midi_api": "alsa"}])
def test_explicit_midi_requests_fail_loudly(session, monkeypatch, patches_dir, opts):
    _no_midi(monkeypatch)
    with ExitStack() as stack, pytest.raises(DeviceError, match="no MIDI system"):
        _open_surfaces(PerformOptions(patches_dir / "keys.toml", osc=False, **opts), session, stack, print)


def test_osc_port_taken(session, patches_dir):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        with ExitStack() as stack, pytest.raises(RtCoreError, match=f"OSC port {port} is in use"):
            _open_surfaces(PerformOptions(patches_dir / "keys.toml", midi=False, osc_port=port), session,
                           stack, print)
        warnings: list[str] = []
        with ExitStack() as stack:
            _open_surfaces(PerformOptions(patches_dir / "keys.toml", midi=False, osc_port=0), session, stack,
                           warnings.append)
            assert session.surfaces["OscServer"].startswith("OSC udp://127.0.0.1:")
        assert warnings == []
    finally:
        taken.close()


def test_learner_arms_each_target_and_saves_after_each(session, tmp_path, patches_dir):
    import shutil

    shutil.copy(patches_dir / "keys.toml", tmp_path / "keys.toml")
    session.patch = load_patch(tmp_path / "keys.toml")
    with pytest.raises(RtCoreError, match="--learn keys: give node.param"):
        _Learner(session, ["keys"], print)
    with pytest.raises(RtCoreError, match="no parameter 'cutof'"):
        _Learner(session, ["keys.cutof"], print)
    learner = _Learner(session, ["keys.cutoff", "room.mix"], print)
    learner.tick()
    assert session.learning == "keys.cutoff"
    session.midi([0xB0, 21, 64])
    learner.tick()
    assert session.learning == "room.mix"
    text = (tmp_path / "keys.learn.toml").read_text()
    assert "cc = 21" in text and 'to = "keys.cutoff"' in text
    session.midi([0xB2, 22, 10])
    learner.tick()
    assert session.learning is None
    assert 'to = "room.mix"' in (tmp_path / "keys.learn.toml").read_text()
    assert (tmp_path / "keys.toml").read_text() == (patches_dir / "keys.toml").read_text()


def test_default_osc_port_taken_degrades_to_a_warning(session, patches_dir):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        taken.bind(("127.0.0.1", 9000))
    except OSError:
        pytest.skip("port 9000 is in use on this machine")
    try:
        warnings: list[str] = []
        with ExitStack() as stack:
            _open_surfaces(PerformOptions(patches_dir / "keys.toml", midi=False), session, stack, warnings.append)
        assert warnings == ["OSC port 9000 is in use (--osc-port to choose another); playing without OSC"]
        assert "OscServer" not in session.surfaces
    finally:
        taken.close()
