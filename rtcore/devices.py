"""Audio devices as PortAudio sees them (host APIs such as ALSA or JACK, and their devices).

Indexes are PortAudio device indexes, the numbers :meth:`rtcore.Engine.open_audio` takes.
Enumeration goes through pyaudio, which loads the same libportaudio as the engine's C
callback, so the numbers agree. With no sound card and no JACK server the list is simply
short (possibly empty); nothing here raises for that.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Iterator

from .errors import DeviceError

JACK_HOST_API = "JACK Audio Connection Kit"


@dataclass(frozen=True)
class Device:
    """One PortAudio device. Latencies in seconds, sample rate in Hz."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    default_low_output_latency: float
    default_low_input_latency: float
    is_default_output: bool = False
    is_default_input: bool = False
    is_host_api_default_output: bool = False

    def describe(self) -> str:
        return (f"{self.index} '{self.name}' ({self.host_api}, {self.max_input_channels} in/"
                f"{self.max_output_channels} out)")


@dataclass(frozen=True)
class HostApi:
    index: int
    name: str
    device_count: int
    default_output: int | None   # device index, None if the API has no output device
    is_default: bool = False


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration: PortAudio's ALSA and JACK back
    ends print probing noise ("ALSA lib ... Unknown PCM", "Cannot connect to server
    socket") there while they look for hardware. Python's own sys.stderr is flushed first."""
    try:
        sys.stderr.flush()
    except Exception:
        pass
    try:
        saved = os.dup(2)
    except OSError:          # no fd 2 at all: nothing to hide
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _enumerate() -> tuple[list[HostApi], list[Device]]:
    try:
        import pyaudio
    except ImportError as exc:  # pragma: no cover - pyaudio is a dependency
        raise DeviceError(f"cannot list audio devices: pyaudio is not installed ({exc})") from None
    with quiet_stderr():
        pa = pyaudio.PyAudio()
        try:
            try:
                default_api = pa.get_default_host_api_info()["index"]
            except (IOError, OSError):
                default_api = -1
            try:
                default_out = pa.get_default_output_device_info()["index"]
            except (IOError, OSError):
                default_out = -1
            try:
                default_in = pa.get_default_input_device_info()["index"]
            except (IOError, OSError):
                default_in = -1
            apis: list[HostApi] = []
            api_default_out: dict[int, int] = {}
            for i in range(pa.get_host_api_count()):
                a = pa.get_host_api_info_by_index(i)
                d = a.get("defaultOutputDevice", -1)
                api_default_out[i] = d
                apis.append(HostApi(i, a["name"], a["deviceCount"], d if d >= 0 else None, i == default_api))
            devices: list[Device] = []
            for i in range(pa.get_device_count()):
                d = pa.get_device_info_by_index(i)
                api = d["hostApi"]
                devices.append(Device(
                    index=i, name=d["name"], host_api=apis[api].name if 0 <= api < len(apis) else "?",
                    max_input_channels=int(d["maxInputChannels"]),
                    max_output_channels=int(d["maxOutputChannels"]),
                    default_sample_rate=float(d["defaultSampleRate"]),
                    default_low_output_latency=float(d["defaultLowOutputLatency"]),
                    default_low_input_latency=float(d["defaultLowInputLatency"]),
                    is_default_output=i == default_out, is_default_input=i == default_in,
                    is_host_api_default_output=api_default_out.get(api, -1) == i))
        finally:
            pa.terminate()
    return apis, devices


def host_apis() -> list[HostApi]:
    """The host APIs PortAudio was built with and could initialise."""
    return _enumerate()[0]


def list_devices() -> list[Device]:
    """Every device PortAudio found, in index order."""
    return _enumerate()[1]


def _choices(devs: list[Device], hint: bool = True) -> str:
    if devs:
        return "; ".join(d.describe() for d in devs)
    return "none (no sound card and no JACK server?)" if hint else "none"


def resolve_device(spec: str | int | None, host_api: str | None = None, kind: str = "output") -> int | None:
    """PortAudio device index for ``spec``: an index (int or digits), or a case-insensitive
    substring of the device name; ``host_api`` (case-insensitive substring, e.g. "jack",
    "alsa") restricts the search. ``kind`` is "output" or "input": devices without such
    channels are not candidates. ``spec=None`` gives the host API's default device, or None
    (= PortAudio's default) when no host API is named either.

    Raises :class:`DeviceError` with a one-line message listing the choices when nothing or
    more than one device matches."""
    if kind not in ("output", "input"):
        raise ValueError(f"kind must be 'output' or 'input' (got {kind!r})")
    if spec is None and host_api is None:
        return None
    apis, devices = _enumerate()

    def has_channels(d: Device) -> bool:
        return (d.max_output_channels if kind == "output" else d.max_input_channels) > 0

    if host_api is not None:
        want = host_api.lower()
        api_names = [a.name for a in apis if want in a.name.lower()]
        if not api_names:
            raise DeviceError(f"no audio host API matching '{host_api}' "
                              f"(available: {', '.join(a.name for a in apis) or 'none'})")
        pool = [d for d in devices if d.host_api in api_names]
    else:
        pool = devices
    candidates = [d for d in pool if has_channels(d)]
    where = f" of host API '{host_api}'" if host_api else ""

    if spec is None:
        for a in apis:
            if a.name in api_names and a.default_output is not None and kind == "output":
                return a.default_output
        if candidates:
            return candidates[0].index
        raise DeviceError(f"no {kind} device{where} (devices: {_choices(devices)})")

    if isinstance(spec, bool):
        raise DeviceError(f"device must be an index or a name (got {spec!r})")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        idx = int(spec)
        for d in pool:
            if d.index == idx:
                if not has_channels(d):
                    raise DeviceError(f"device {d.describe()} has no {kind} channels "
                                      f"({kind} devices{where}: {_choices(candidates)})")
                return idx
        raise DeviceError(f"no audio device {idx}{where} ({kind} devices: {_choices(candidates)})")

    text = str(spec).strip().lower()
    matches = [d for d in candidates if text in d.name.lower()]
    if len(matches) > 1:
        exact = [d for d in matches if d.name.lower() == text]
        if len(exact) == 1:
            matches = exact
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise DeviceError(f"no {kind} device{where} matching '{spec}' "
                          f"({kind} devices{where}: {_choices(candidates, hint=host_api is None)})")
    raise DeviceError(f"device name '{spec}' is ambiguous: {_choices(matches)}; give an index or "
                      f"a longer name, or --host-api")


def format_devices() -> str:
    """The text of ``rtcore devices``: host APIs, then devices with channels, default rate
    and default low latency; ``*`` marks the default output (``<`` the default input)."""
    apis, devices = _enumerate()
    lines: list[str] = []
    if not apis:
        lines.append("No audio host APIs (PortAudio found nothing to talk to).")
    else:
        lines.append("Host APIs:")
        for a in apis:
            mark = "*" if a.is_default else " "
            lines.append(f" {mark} {a.index}  {a.name}  ({a.device_count} device"
                         f"{'' if a.device_count == 1 else 's'})")
    lines.append("")
    if not devices:
        lines.append("No audio devices. (No sound card found; start a JACK server, e.g. "
                     "`jackd -d dummy -r 48000 -p 128`, to get one.)")
        return "\n".join(lines)
    width = max(len(d.name) for d in devices)
    api_w = max(len(d.host_api) for d in devices)
    lines.append(f"    {'#':>3}  {'name':<{width}}  {'host API':<{api_w}}  {'in':>3} {'out':>3}  "
                 f"{'rate Hz':>8}  {'low latency ms (out/in)':>23}")
    for d in devices:
        mark = ("*" if d.is_default_output else " ") + ("<" if d.is_default_input else " ")
        lat = f"{d.default_low_output_latency * 1e3:.1f} / {d.default_low_input_latency * 1e3:.1f}"
        lines.append(f" {mark} {d.index:>3}  {d.name:<{width}}  {d.host_api:<{api_w}}  "
                     f"{d.max_input_channels:>3} {d.max_output_channels:>3}  {d.default_sample_rate:>8.0f}  "
                     f"{lat:>23}")
    lines.append("")
    lines.append("* default output   < default input   (use the index or part of the name with --device)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(format_devices())
