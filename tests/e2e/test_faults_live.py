"""Faults survived live: the audio server is killed mid-performance (SIGKILL, by PID) and started
again under the same name; rtcore reports it on one line, keeps its engine, patch, parameter values
and transport, reopens its stream on the new server by itself and is heard again.

Each test runs its own killable jackd (never the session-wide server of conftest), points this
process at it with JACK_DEFAULT_SERVER, and records with a C JACK client (jack_helpers.Recorder)
started anew on each incarnation of the server.
"""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from jack_helpers import Recorder, RtcorePlay, fft_freq, jack_midi_port, longest_finite

jack = pytest.importorskip("jack", reason="JACK-Client is not installed (pip install JACK-Client)")

import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from killable_jackd import KillableJackd  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("jackd") is None, reason="jackd is not installed (apt-get install jackd2)")

TONE_PATCH = """
[engine]
sample_rate = 48000
block = 128
[[node]]
name = "tone"
type = "tone"
freq = 440.0
level = -12.0
"""
PHASE_TIMEOUT = 20.0      # s: a phase that does not end by then fails the test


@pytest.fixture
def own_server(monkeypatch, tmp_path):
    server = KillableJackd(workdir=tmp_path)
    server.start()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)   # PortAudio's JACK host API and rtmidi
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    try:
        yield server
    finally:
        server.stop()


def _stream_ports(rec: Recorder, timeout: float = 5.0) -> list[str]:
    """rtcore's stream's output ports on the server (PortAudio names them out_0, out_1)."""
    deadline = time.monotonic() + timeout
    while True:
        ports = sorted(p for p in rec.output_ports() if p.startswith("PortAudio:out_"))
        if len(ports) >= 2 or time.monotonic() > deadline:
            return ports
        time.sleep(0.02)


def _record(server: str, seconds: float) -> np.ndarray:
    """Record rtcore's stream on ``server`` for ``seconds`` with a new C recorder (left channel)."""
    rec = Recorder(server, seconds=seconds + 2.0, name="rtcore-fault-rec")
    try:
        rec.connect(_stream_ports(rec))
        rec.start()
        time.sleep(seconds)
        return rec.stop()[:, 0]
    finally:
        rec.close()


def test_server_killed_mid_performance_reconnects_with_state_kept(own_server, tmp_path):
    from rtcore import Engine, load_patch
    from rtcore.devices import resolve_device
    from rtcore.live import play
    from rtcore.session import Session
    from rtcore.supervisor import StreamSupervisor

    patch_file = tmp_path / "tone.toml"
    patch_file.write_text(TONE_PATCH)
    patch = load_patch(patch_file)
    logs: list[str] = []
    seen: dict = {}
    failures: list[str] = []

    with Engine(48000, 1024) as eng:
        session = Session(eng, patch, live=True)
        session.start()
        sup = StreamSupervisor(eng, logs.append, on_lost=session.stream_lost, on_back=session.stream_back)
        phase = {"n": 0, "t": time.monotonic()}

        def next_phase() -> None:
            phase["n"] += 1
            phase["t"] = time.monotonic()

        def scenario(engine, frames) -> bool | None:
            try:
                return step(engine)
            except Exception as exc:  # noqa: BLE001 - reported by the test, never left hanging
                failures.append(f"phase {phase['n']}: {type(exc).__name__}: {exc}")
                return True

        def step(engine) -> bool | None:
            if time.monotonic() - phase["t"] > PHASE_TIMEOUT:
                failures.append(f"phase {phase['n']} did not end within {PHASE_TIMEOUT:.0f} s; log: {logs}; "
                                f"jackd: {own_server.log.read_text(errors='replace')[-800:]}")
                return True
            n = phase["n"]
            if n == 0:                            # playing: move a parameter, hear it, kill the server
                session.set_param("tone", "freq", 660.0)
                time.sleep(0.1)
                seen["before"] = _record(own_server.name, 0.6)
                seen["stats_before"] = engine.stats()
                seen["params_before"] = session.params()
                own_server.kill()                 # SIGKILL by PID, mid-performance
                next_phase()
            elif n == 1:                          # the supervisor notices on its next look
                if sup.state == "lost":
                    seen["params_down"] = session.params()
                    seen["stats_down"] = engine.stats()
                    seen["spec_down"] = engine.spec
                    own_server.spawn()                # the server comes back (rtcore retries meanwhile)
                    next_phase()
            elif n == 2:
                if sup.state == "running" and sup.outages:
                    time.sleep(0.2)
                    seen["after"] = _record(own_server.name, 0.6)
                    seen["stats_after"] = engine.stats()
                    seen["params_after"] = session.params()
                    return True
            return None

        device = resolve_device(None, "JACK")
        stats = play(eng, device=device, block=128, quiet=True, on_tick=scenario, supervisor=sup,
                     log=logs.append)
        session.close()

    assert not failures, failures
    # one line says the stream was lost, one that it is back; the counters agree
    lost = [line for line in logs if line.startswith("audio stream lost")]
    back = [line for line in logs if line.startswith("audio stream back")]
    assert len(lost) == 1 and len(back) == 1, logs
    assert "'system' (JACK Audio Connection Kit)" in lost[0], lost
    assert stats.streams_lost == 1 and stats.streams_reopened == 1, stats
    # heard before the kill and again after the reconnect, at the pitch set before the kill
    for key in ("before", "after"):
        x = longest_finite(seen[key])
        assert len(x) > 9600 and np.sqrt(np.mean(x ** 2)) > 0.05, (key, len(x))
        assert fft_freq(x, 48000) == pytest.approx(660.0, rel=0.01), key
    # the engine, its graph, the parameter values and the transport stayed
    b, d, a = seen["stats_before"], seen["stats_down"], seen["stats_after"]
    assert seen["params_before"] == seen["params_down"] == seen["params_after"]
    assert seen["params_after"]["tone"]["freq"] == 660.0
    assert b.graph_generation == d.graph_generation == a.graph_generation
    assert [n.name for n in seen["spec_down"].nodes] == ["tone"]
    assert b.transport_playing == d.transport_playing == a.transport_playing == 1
    assert b.transport_origin == d.transport_origin == a.transport_origin     # the beat's frame stayed
    assert d.frames >= b.frames and a.frames > d.frames      # the engine clock went on, never restarted


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _osc_query(port: str | int, address: str, timeout: float = 3.0) -> list:
    from pythonosc.osc_message import OscMessage
    from pythonosc.osc_message_builder import OscMessageBuilder

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(OscMessageBuilder(address=address).build().dgram, ("127.0.0.1", int(port)))
        msg = OscMessage(s.recv(65536))
        return [msg.address, *msg.params]


def _wait_for_stream(server: str, proc: RtcorePlay, timeout: float = 20.0) -> None:
    """Until rtcore's audio stream has its ports on ``server`` (it opens after the MIDI ports)."""
    from rtcore.devices import quiet_stderr

    with quiet_stderr():
        c = jack.Client("rtcore-fault-watch", servername=server, no_start_server=True)
    try:
        deadline = time.monotonic() + timeout
        while not c.get_ports("PortAudio:out_"):
            assert proc.proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
    finally:
        c.close()


def test_rtcore_play_survives_server_kill_osc_and_midi_stay(own_server, tmp_path):
    """The command a musician runs: one 'lost' line, OSC answers during the outage, and after the
    server is back the stream and the JACK MIDI input are reopened: a note sent to 'rtcore in' on
    the new server is heard."""
    patch = tmp_path / "synth.toml"
    patch.write_text("[engine]\nsample_rate = 48000\nblock = 128\n"
                     "[[node]]\nname = \"keys\"\ntype = \"synth\"\n")
    port = _free_udp_port()
    proc = RtcorePlay(patch, "--block", "128", "--osc-port", str(port))
    try:
        proc.wait_for("MIDI in: rtcore in")
        _wait_for_stream(own_server.name, proc)
        own_server.kill()
        proc.wait_for("audio stream lost")
        reply = _osc_query(port, "/rtcore/node/keys/cutoff")     # OSC is up while the audio is not
        assert reply[0] == "/rtcore/reply" and reply[1] == "/rtcore/node/keys/cutoff", reply
        own_server.start()
        proc.wait_for("audio stream back")
        deadline = time.monotonic() + 15
        while proc.stderr.count("MIDI in: rtcore in") < 2:      # reopened on the new server
            assert time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        rec = Recorder(own_server.name, seconds=6.0, name="rtcore-fault-rec")
        try:
            rec.connect(_stream_ports(rec))
            rec.client.connect(rec.midi_out_port, jack_midi_port(rec.client, ":rtcore in", is_input=True))
            rec.start()
            time.sleep(0.3)
            rec.queue_midi(rec.now()[1] + 4800, bytes([0x90, 69, 100]))     # A4 = 440 Hz
            time.sleep(1.2)
            audio = rec.stop()[:, 0]
        finally:
            rec.close()
        code, out, err = proc.interrupt()
    finally:
        proc.kill()
    assert code == 0, err
    assert err.count("audio stream lost") == 1, err
    assert "audio stream lost 1 time, reopened 1" in out, out
    x = longest_finite(audio)
    loud = x[np.abs(x) > 0.01]
    assert len(loud) > 4800, "the note sent after the reconnect was not heard"
    assert fft_freq(x[np.argmax(np.abs(x) > 0.01):][:24000], 48000) == pytest.approx(440.0, rel=0.02)


MISSING = {
    "plugin": '[[node]]\nname = "fx"\ntype = "ladspa"\nplugin = "no_such_lib.so"\nlabel = "amp_mono"\n',
    "lv2": '[[node]]\nname = "fx"\ntype = "lv2"\nuri = "http://example.org/plugins/not-installed"\n',
    "sample": '[[node]]\nname = "smp"\ntype = "sampler"\n[[node.sample]]\nfile = "gone.wav"\n',
}


def test_missing_plugin_or_sample_is_refused_live_and_the_tone_plays_on(jack_server, recorder, tmp_path):
    """On the session's JACK server: while a tone plays, three patches naming a missing LADSPA
    library, LV2 plugin and sample are loaded through the Session; each is refused with a one-line
    error, and the recording goes on at the same pitch and level, on the same graph."""
    from rtcore import Engine, load_patch
    from rtcore.devices import resolve_device
    from rtcore.errors import PatchError
    from rtcore.live import play
    from rtcore.session import Session

    from jack_helpers import start_recording_on_first_tick

    patch_file = tmp_path / "tone.toml"
    patch_file.write_text(TONE_PATCH)
    errors: dict[str, str] = {}
    marks: dict[str, int] = {}
    with Engine(48000, 1024) as eng:
        session = Session(eng, load_patch(patch_file), live=True)
        session.start()
        first = start_recording_on_first_tick(recorder, recorder.output_ports())
        t0: list[float] = []

        def on_tick(engine, frames) -> bool | None:
            first(engine, frames)
            if not t0:
                t0.append(time.monotonic())
            elapsed = time.monotonic() - t0[0]
            if elapsed > 0.8 and not errors:
                marks["load"] = recorder.now()[0]
                for what, extra in MISSING.items():
                    broken = tmp_path / f"{what}.toml"
                    broken.write_text(TONE_PATCH + extra)
                    try:
                        session.load(broken)
                        errors[what] = "loaded"
                    except PatchError as exc:
                        errors[what] = str(exc)
            return elapsed > 1.8

        play(eng, device=resolve_device(None, "JACK"), block=128, quiet=True, on_tick=on_tick)
        audio = recorder.stop()[:, 0]
        st = eng.stats()
        session.close()

    assert "no LADSPA library 'no_such_lib.so'" in errors["plugin"], errors
    assert "no LV2 plugin <http://example.org/plugins/not-installed> is installed" in errors["lv2"], errors
    assert "gone.wav does not exist" in errors["sample"], errors
    assert all("\n" not in e and "[[node]]" in e for e in errors.values()), errors
    assert st.graph_swaps == 1 and session.patch.path == patch_file
    split = marks["load"] - recorder.t0
    assert 4800 < split < len(audio) - 9600, (split, len(audio))
    before, after = longest_finite(audio[:split]), longest_finite(audio[split:])
    assert len(before) > 4800 and len(after) > 9600, (len(before), len(after))
    for part in (before, after):
        assert fft_freq(part, 48000) == pytest.approx(440.0, rel=0.01)
    # the 0.1 s just before the loads and the 0.2 s after them (not the end: the stream stops there)
    rms = [float(np.sqrt(np.mean(p ** 2))) for p in (before[-4800:], after[:9600])]
    assert rms[1] == pytest.approx(rms[0], rel=0.02), rms
    assert rms[0] == pytest.approx(0.251 / np.sqrt(2), rel=0.02)        # -12 dBFS sine
