"""Device listing and resolution work on any machine: with no sound card and no JACK
server they list what exists (possibly nothing), quietly, and errors are one line."""
from __future__ import annotations

import pytest

import rtcore as rc
from rtcore.devices import format_devices, list_devices, resolve_device


def test_format_devices_is_quiet_and_complete(capfd):
    text = format_devices()
    out, err = capfd.readouterr()
    assert err == ""                                  # PortAudio's ALSA probing noise is hidden
    assert "Host APIs" in text or "No audio host APIs" in text
    devs = list_devices()
    for d in devs:
        assert d.name in text
    if not devs:
        assert "No audio devices" in text


def test_resolve_device():
    assert resolve_device(None, None) is None          # PortAudio's default
    with pytest.raises(rc.DeviceError) as ei:
        resolve_device(999)
    assert "999" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(rc.DeviceError) as ei:
        resolve_device("no such card anywhere")
    assert "no such card anywhere" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(rc.DeviceError) as ei:
        resolve_device(None, "NoSuchHostApi")
    assert "NoSuchHostApi" in str(ei.value) and "available" in str(ei.value)
    for d in list_devices():
        if d.max_output_channels > 0:
            assert resolve_device(d.index) == d.index
            assert resolve_device(str(d.index)) == d.index
