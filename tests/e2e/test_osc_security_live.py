"""``rtcore play`` on the test JACK server: OSC open to the network without ``--osc-allow``
warns on stderr; with ``--osc-allow`` a sender outside the list is ignored (its set never
happens, ``osc_denied`` counts it) while an allowed one is answered."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from jack_helpers import RtcorePlay
from rtcore.osc import wire

pytestmark = pytest.mark.e2e
PATCH = Path(__file__).resolve().parents[2] / "patches" / "keys.toml"


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_socket(host: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.settimeout(5.0)
    return s


def test_open_osc_warns_on_stderr(jack_server):
    port = free_udp_port()
    play = RtcorePlay(PATCH, "--no-midi", "--osc-host", "0.0.0.0", "--osc-port", str(port))
    try:
        play.wait_for("anyone on the network can control the engine")
        line = next(x for x in play.stderr.splitlines() if "anyone on the network" in x)
        assert line.startswith(f"rtcore: WARNING: OSC listens on 0.0.0.0:{port} with no --osc-allow")
        assert "--osc-allow CIDR[,CIDR...]" in line
    finally:
        code, _out, err = play.interrupt()
    assert code in (0, 130), err


def test_osc_allow_ignores_strangers_and_serves_the_allowed(jack_server):
    port = free_udp_port()
    play = RtcorePlay(PATCH, "--no-midi", "--osc-port", str(port), "--osc-allow", "127.0.0.1/32")
    friend, stranger = udp_socket("127.0.0.1"), udp_socket("127.0.0.2")
    try:
        friend.settimeout(0.2)
        for _ in range(150):                # until the server answers (it opens after the audio stream)
            friend.sendto(wire.build("/rtcore/node/keys/cutoff"), ("127.0.0.1", port))
            try:
                m = wire.parse_message(friend.recv(65536))
                break
            except (TimeoutError, ConnectionRefusedError):
                continue
        else:
            raise AssertionError(f"rtcore play's OSC server never answered:\n{play.stderr}")
        friend.settimeout(5.0)
        before = m.args[1]
        for _ in range(5):                  # queued before the friend's next datagrams: handled first
            stranger.sendto(wire.build("/rtcore/node/keys/cutoff", 300.0), ("127.0.0.1", port))
        friend.sendto(wire.build("/rtcore/node/keys/cutoff"), ("127.0.0.1", port))
        assert wire.parse_message(friend.recv(65536)).args[1] == before      # the strangers' sets never happened
        friend.sendto(wire.build("/rtcore/stats"), ("127.0.0.1", port))
        while True:
            m = wire.parse_message(friend.recv(65536))
            if m.args and m.args[0] == "/rtcore/stats":
                break
        pairs = dict(zip(m.args[1::2], m.args[2::2]))
        assert pairs["osc_denied"] == 5
        stranger.setblocking(False)
        with pytest.raises(BlockingIOError):
            stranger.recv(65536)                                             # nothing went to the stranger
    finally:
        friend.close()
        stranger.close()
        code, _out, err = play.interrupt()
    assert code in (0, 130), err
    assert "anyone on the network" not in err
