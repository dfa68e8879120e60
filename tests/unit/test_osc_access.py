"""``--osc-allow``: datagrams from senders outside the allow list are dropped before any parsing
and counted (``denied``, ``osc_denied`` in /rtcore/stats), nothing is ever sent to them, and a
server on a non-loopback address without an allow list warns loudly. Over real loopback UDP:
an allow list that leaves out 127.0.0.1 stands for a stranger on the network."""
from __future__ import annotations

import socket
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

import rtcore as rc
from rtcore.cli import main
from rtcore.errors import RtCoreError
from rtcore.osc import OscServer, wire
from rtcore.osc.access import AccessList, is_loopback, parse_allow_list
from rtcore.patch import load_patch
from rtcore.perform import PerformOptions, _open_surfaces
from rtcore.session import Session

PATCH = '[[node]]\nname = "keys"\ntype = "synth"\ncutoff = 3000\n'


@pytest.fixture
def session(write_patch):
    eng = rc.Engine(48000, 1024)
    s = Session(eng, load_patch(write_patch(PATCH)), live=False)
    yield s
    s.close()
    eng.close()


@pytest.fixture
def client():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


def wait_for(pred, seconds: float = 5.0) -> None:
    """Until ``pred()`` (the server's thread works on its own time); fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.005)


# ---- parsing the allow list --------------------------------------------------------------------
def test_parse_allow_list():
    acl = parse_allow_list("192.168.1.0/24, 10.0.0.5/32,127.0.0.1")
    assert str(acl) == "192.168.1.0/24,10.0.0.5/32,127.0.0.1/32"
    assert acl.allows("192.168.1.77") and acl.allows("10.0.0.5") and acl.allows("127.0.0.1")
    assert not acl.allows("192.168.2.1") and not acl.allows("10.0.0.6") and not acl.allows("127.0.0.2")
    assert not acl.allows("not-an-address")
    assert parse_allow_list("0.0.0.0/0").allows("203.0.113.9")


@pytest.mark.parametrize("text, expect", [
    ("192.168.1.7/24", "did you mean 192.168.1.0/24?"),
    ("192.168.1.0/33", "'192.168.1.0/33' is not an IPv4 network"),
    ("studio-ipad", "'studio-ipad' is not an IPv4 network"),
    ("fe80::/10", "is IPv6"),
    ("10.0.0.0/8,,127.0.0.1", "an empty entry"),
    ("", "give IPv4 networks"),
])
def test_a_bad_allow_list_is_a_one_line_error_naming_the_entry(text, expect):
    with pytest.raises(RtCoreError) as info:
        parse_allow_list(text)
    assert expect in str(info.value) and "\n" not in str(info.value) and "--osc-allow" in str(info.value)


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.10")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("localhost")


# ---- the server ---------------------------------------------------------------------------------
def test_senders_outside_the_allow_list_are_dropped_unread_and_never_answered(session, client):
    with OscServer(session, port=0, allow="10.0.0.0/8,192.168.1.0/24") as server:
        client.sendto(wire.build("/rtcore/node/keys/cutoff", 500.0), server.address)
        client.sendto(wire.build("/rtcore/stats"), server.address)        # would be answered
        client.sendto(b"garbage that would get an /rtcore/error", server.address)
        client.sendto(wire.build("/rtcore/subscribe", 30.0), server.address)
        wait_for(lambda: server.counters()["denied"] == 4)
        c = server.counters()
        assert (c["received"], c["messages"], c["errors"], c["replies"], c["subscribers"]) == (0, 0, 0, 0, 0)
        assert session.get_param("keys", "cutoff") == 3000.0             # the set never happened
        assert not any("OSC" in line for line in session.errors)          # a flood of them is not even logged
        client.setblocking(False)
        with pytest.raises(BlockingIOError):                              # and nothing came back
            client.recv(65536)


def test_senders_inside_the_allow_list_are_served_and_stats_count_the_denied(session, client):
    with OscServer(session, port=0, allow=["10.0.0.0/8", "127.0.0.1/32"]) as server:
        client.settimeout(5.0)
        client.sendto(wire.build("/rtcore/node/keys/cutoff", 500.0), server.address)
        client.sendto(wire.build("/rtcore/stats"), server.address)
        m = wire.parse_message(client.recv(65536))
        assert m.address == "/rtcore/reply" and session.get_param("keys", "cutoff") == 500.0
        pairs = dict(zip(m.args[1::2], m.args[2::2]))
        assert pairs["osc_denied"] == 0 and pairs["osc_received"] == 2
        assert server.counters()["denied"] == 0


def test_the_denied_count_reaches_the_stats_reply(session, client):
    """A stranger's datagrams are counted; a trusted client sees the count in /rtcore/stats."""
    with OscServer(session, port=0, allow="127.0.0.1/32") as server:
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.2", 0))               # another loopback address: outside 127.0.0.1/32
        try:
            for _ in range(3):
                stranger.sendto(wire.build("/rtcore/transport/play"), server.address)
            wait_for(lambda: server.counters()["denied"] == 3)
        finally:
            stranger.close()
        client.settimeout(5.0)
        client.sendto(wire.build("/rtcore/stats"), server.address)
        m = wire.parse_message(client.recv(65536))
        pairs = dict(zip(m.args[1::2], m.args[2::2]))
        assert pairs["osc_denied"] == 3 and pairs["osc_received"] == 1
        assert not session.playing


def test_nothing_is_sent_outside_the_allow_list(session):
    with OscServer(session, port=0, allow="127.0.0.1/32") as server:
        assert server._send(wire.build("/rtcore/stats"), ("127.0.0.2", 9)) is False
        assert server.counters()["replies"] == 0


def test_a_network_address_without_an_allow_list_warns(session):
    with OscServer(session, host="0.0.0.0", port=0) as server:
        assert server.open_to_network
        warning = [line for line in session.errors if line.startswith("WARNING")]
        assert len(warning) == 1 and warning[0] == f"WARNING: {server.network_warning()}"
        assert "anyone on the network can control the engine" in warning[0]
        assert "--osc-allow" in warning[0] and f"0.0.0.0:{server.address[1]}" in warning[0]
    session.errors.clear()
    with OscServer(session, host="0.0.0.0", port=0, allow="192.168.0.0/16") as server:
        assert not server.open_to_network
    with OscServer(session, port=0) as server:                       # loopback: only this machine
        assert not server.open_to_network
    assert not any(line.startswith("WARNING") for line in session.errors)


# ---- rtcore play ------------------------------------------------------------------------------------
def test_play_warns_on_stderr_and_the_status_line(session, patches_dir):
    warnings: list[str] = []
    with ExitStack() as stack:
        _open_surfaces(PerformOptions(patches_dir / "keys.toml", midi=False, osc_host="0.0.0.0", osc_port=0),
                       session, stack, warnings.append)
        assert "OPEN TO THE NETWORK" in session.surfaces["OscServer"]
    assert len(warnings) == 1 and "anyone on the network can control the engine" in warnings[0]
    assert f"WARNING: {warnings[0]}" in session.errors               # the status screen's log has it too
    warnings.clear()
    with ExitStack() as stack:
        _open_surfaces(PerformOptions(patches_dir / "keys.toml", midi=False, osc_host="0.0.0.0", osc_port=0,
                                      osc_allow="192.168.1.0/24"), session, stack, warnings.append)
        assert session.surfaces["OscServer"].endswith("(only from 192.168.1.0/24)")
    assert warnings == []


def test_a_bad_osc_allow_stops_play_before_anything_opens(capsys):
    patch = Path(__file__).resolve().parents[2] / "patches" / "keys.toml"
    assert main(["play", str(patch), "--osc-allow", "10.0.0.300/8", "--device", "no-such-device-anywhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtcore: error: --osc-allow: '10.0.0.300/8'") and "\n" not in err


def test_access_list_needs_a_network():
    with pytest.raises(RtCoreError, match="at least one network"):
        AccessList([])
