"""The OSC server over real loopback UDP: sets and queries, errors for every kind of bad input
(the server answers and the engine renders afterwards), subscriptions (meters, parameter
changes, stats, dropping unreachable subscribers), sample-accurate timetagged bundles, hot
reload, snapshots, MIDI learn and the namespace JSON.

The engine renders offline in the test thread while the server's threads run."""
from __future__ import annotations

import json
import random
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

import rtcore as rc
from rtcore._native import lib
from rtcore.errors import RtCoreError
from rtcore.osc import ADDRESSES, STATS_FIELDS, OscServer, wire
from rtcore.osc.addresses import MIDI_IN_FIELDS
from rtcore.osc.namespace import namespace_json, node_doc
from rtcore.session import Session

SR = 48000
ROOT = Path(__file__).resolve().parents[2]

# a synth whose notes start on their event sample (see test_synth), a reverb, one snapshot
PATCH = """
[engine]
sample_rate = 48000
block = 128
tempo = 100
limiter = false

[[node]]
name = "keys"
type = "synth"
wave = "saw"
attack = 5
decay = 0
sustain = 1
cutoff = 3000
resonance = 0
env_amount = 2
velocity_sens = 0
level = 0

[[node]]
name = "room"
type = "reverb"
mix = 0.2

[[connect]]
from = "keys"
to = "room"

[[snapshot]]
name = "dark"
program = 3
keys = { cutoff = 500, wave = "square" }
"""


class FakeClock:
    """Engine frame = whole frames since ``origin_ns`` (CLOCK_MONOTONIC), exactly."""

    def __init__(self, origin_ns: int) -> None:
        self.origin_ns = origin_ns

    def frame_at(self, ns: int) -> int:
        return (ns - self.origin_ns) * SR // 1_000_000_000

    def now(self) -> int:
        return self.frame_at(lib.rt_monotonic_ns())


class Rig:
    """An engine + session + OSC server on a free port, and a client socket for replies."""

    def __init__(self, path: Path, live: bool = False) -> None:
        self.path = path
        self.engine = rc.Engine(SR, 1024)
        self.session = Session(self.engine, rc.load_patch(path), live=live)
        self.server = OscServer(self.session, port=0).start()
        self.sock = self.client()
        self.backlog: list[wire.Message] = []      # pushes ask() skipped while waiting for its answer

    def client(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(3.0)
        return s

    def send(self, address: str, *args, sock: socket.socket | None = None) -> None:
        (sock or self.sock).sendto(wire.build(address, *args), self.server.address)

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server.address)

    def recv(self, sock: socket.socket | None = None) -> wire.Message:
        return wire.parse_message((sock or self.sock).recv(65536))

    def ask(self, address: str, *args) -> wire.Message:
        """Send and wait for the answer (a reply or an error about this address)."""
        self.send(address, *args)
        return self.answer()

    def answer(self, sock: socket.socket | None = None) -> wire.Message:
        """The next reply or error (subscription pushes before it go to the backlog)."""
        while True:
            m = self.recv(sock)
            if m.address in ("/rtcore/reply", "/rtcore/error"):
                return m
            if sock is None:
                self.backlog.append(m)

    def error(self, data_or_address, *args) -> str:
        """Send something bad; return the error reply's reason (its address is checked by callers)."""
        if isinstance(data_or_address, bytes):
            self.raw(data_or_address)
        else:
            self.send(data_or_address, *args)
        m = self.recv()
        assert m.address == "/rtcore/error", m
        return m

    def sync(self) -> None:
        """Every datagram sent before has been handled (replies come back in order)."""
        m = self.ask("/rtcore/transport/tempo")
        assert m.address == "/rtcore/reply"

    def close(self) -> None:
        self.server.close()
        self.session.close()
        self.engine.close()
        self.sock.close()


@pytest.fixture
def rig(write_patch):
    r = Rig(write_patch(PATCH))
    yield r
    r.close()


def first_nonzero(y: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(y).max(axis=1) > 0)[0])


# ---- set / query -------------------------------------------------------------------------
def test_set_a_parameter_and_read_it_back(rig):
    rig.send("/rtcore/node/keys/cutoff", 1234.5)
    m = rig.ask("/rtcore/node/keys/cutoff")
    assert m.address == "/rtcore/reply" and m.args == ("/rtcore/node/keys/cutoff", 1234.5)
    assert rig.session.get_param("keys", "cutoff") == 1234.5
    before = rig.engine.stats().events_in
    rig.engine.render(256)
    assert rig.engine.stats().events_in == before + 1          # the set reached the engine
    # python-osc's own client works too (it sends from another port: no reply expected)
    SimpleUDPClient(*rig.server.address).send_message("/rtcore/node/room/mix", 0.5)
    rig.sync()
    assert rig.session.get_param("room", "mix") == 0.5


def test_enums_by_name_or_index_and_bools(rig):
    rig.send("/rtcore/node/keys/wave", "square")
    assert rig.ask("/rtcore/node/keys/wave").args == ("/rtcore/node/keys/wave", 1.0, "square")
    rig.send("/rtcore/node/keys/wave", 2)
    assert rig.ask("/rtcore/node/keys/wave").args[1:] == (2.0, "triangle")
    rig.send("/rtcore/node/keys/voices", 4.0)                  # an integral float for an int param
    assert rig.ask("/rtcore/node/keys/voices").args[1:] == (4.0,)
    rig.send("/rtcore/node/master/enabled", True)
    assert rig.ask("/rtcore/node/master/enabled").args[1:] == (1.0,)
    rig.send("/rtcore/node/master/enabled", False)
    assert rig.ask("/rtcore/node/master/enabled").args[1:] == (0.0,)


def test_out_of_range_is_an_error_naming_the_address(rig):
    m = rig.error("/rtcore/node/keys/cutoff", 99999.0)
    assert m.args[0] == "/rtcore/node/keys/cutoff"
    assert "20..20000 Hz" in m.args[1] and "99999" in m.args[1]
    assert rig.session.get_param("keys", "cutoff") == 3000.0  # unchanged
    m = rig.error("/rtcore/node/keys/wave", "sawtooth")
    assert "saw, square, triangle, sine" in m.args[1]
    assert any("/rtcore/node/keys/cutoff" in line for line in rig.session.errors)  # logged, one line


@pytest.mark.parametrize("address, args, expect", [
    ("/rtcore/node/nope/cutoff", (1.0,), "no node named 'nope' (nodes: master, keys, room)"),
    ("/rtcore/node/keys/nope", (1.0,), "node 'keys' (synth) has no parameter 'nope'"),
    ("/rtcore/node/keys", (1.0,), "a node address is /rtcore/node/<name>/<param>"),
    ("/rtcore/nothing/here", (), "unknown address"),
    ("/rtcore/ai/temperature", (0.5,), "has no ai node"),
    ("/rtcore/ai/bogus", (), "unknown AI shortcut"),
    ("/rtcore/node/*/cutoff", (1.0,), "wildcards"),
    ("/rtcore/snapshot", ("bright",), "no snapshot 'bright' (snapshots: dark)"),
    ("/rtcore/snapshot", (3, 99.0), "glide 99.0 s is out of range"),
    ("/rtcore/learn", ("keys.nope",), "has no parameter 'nope'"),
    ("/rtcore/note", (17, 60, 100), "channel 17 is out of range 0..16"),
    ("/rtcore/note", (1, 128, 100), "note 128 is out of range 0..127"),
    ("/rtcore/transport/tempo", (500.0,), "tempo 500.0 BPM is out of range 20..300"),
    ("/rtcore/subscribe", (1000.0,), "rate 1000 Hz is out of range 1..100 Hz"),
    ("/rtcore/unsubscribe", (), "not subscribed"),
    ("/rtcore/namespace", ("nope",), "no node named 'nope'"),
])
def test_bad_requests_are_errors_naming_the_address(rig, address, args, expect):
    m = rig.error(address, *args)
    assert m.args[0] == address
    assert expect in m.args[1]
    assert "\n" not in m.args[1]


@pytest.mark.parametrize("args, expect", [
    (("x",), "takes i channel, i note, i velocity (got type tags ',s')"),
    ((1, 60), "(got type tags ',ii')"),
    ((1, 60, 100, 4), "(got type tags ',iiii')"),
    ((1.5, 60, 100), "argument 'channel' must be a whole number"),
    ((1, "60", 100), "argument 'note' must be a whole number"),
    ((1, 60, float("nan")), "argument 'velocity' must be a whole number"),
])
def test_wrong_argument_types(rig, args, expect):
    m = rig.error("/rtcore/note", *args)
    assert m.args[0] == "/rtcore/note" and expect in m.args[1]


def test_unsupported_type_tags_are_refused():
    b = OscMessageBuilder("/rtcore/node/keys/cutoff")
    b.add_arg(b"\x01\x02", OscMessageBuilder.ARG_TYPE_BLOB)
    blob = b.build().dgram
    assert wire.parse_message(wire.build("/a", 1, 2.5, "s", True)).args == (1, 2.5, "s", True)
    with pytest.raises(wire.OscFormatError, match="argument type 'b' is not one rtcore reads"):
        wire.parse_message(blob)


NOTE = wire.build("/rtcore/note", 1, 60, 100)
BAD_DATAGRAMS = [
    (b"", "?", "empty datagram"),
    (b"garbage!", "?", "not OSC"),
    (b"/rtcore/note", "?", "no terminating zero byte"),
    (NOTE[:-2], "/rtcore/note", "truncated message"),
    (NOTE[:-4], "/rtcore/note", "truncated message"),
    (NOTE[:16], "/rtcore/note", "takes i channel, i note, i velocity (got no arguments)"),
    (b"/rtcore/note\x00\x00\x00\x00iii\x00", "/rtcore/note", "must start with ','"),
    (b"/rtcore/note\x00\x00\x00\x00,iii", "/rtcore/note", "truncated message"),
    (NOTE + b"\x00\x00\x00\x07", "/rtcore/note", "4 bytes after the last argument"),
    (b"/rtc\xffore\x00\x00\x00\x00", "?", "not ASCII"),
    (b"#bundle\x00\x00\x00", "?", "truncated bundle: no time tag"),
    (wire.bundle(1, NOTE)[:-4], "?", "does not fit the bundle"),
    (wire.bundle(1, NOTE) + b"\x00\x00", "?", "an element size is cut off"),
    (wire.BUNDLE_PREFIX + struct.pack(">Q", 1) + struct.pack(">i", 8) + b"garbage!", "?",
     "neither a message nor a bundle"),
]


def test_malformed_datagrams_get_errors_and_the_engine_keeps_playing(rig):
    for data, address, reason in BAD_DATAGRAMS:
        m = rig.error(data)
        assert m.args[0] == address and reason in m.args[1], (data, m)
    rng = random.Random(1)
    for _ in range(50):                                     # random bytes: each gets an answer
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        assert rig.error(data).address == "/rtcore/error"
    c = rig.server.counters()
    assert c["errors"] == len(BAD_DATAGRAMS) + 50 and c["received"] == c["errors"]
    # still answering, still rendering
    rig.send("/rtcore/note", 1, 60, 100)
    rig.sync()
    y = rig.engine.render(4096)
    assert np.abs(y).max() > 0.05 and rig.engine.stats().nonfinite_blocks == 0
    assert rig.server.counters()["handled"] == 2                # the note and the tempo query


def test_a_malformed_message_in_a_bundle_does_not_stop_the_others(rig):
    rig.raw(wire.bundle(1, wire.build("/rtcore/node/keys/cutoff", 800.0),
                        wire.build("/rtcore/nowhere"),
                        wire.build("/rtcore/node/room/mix", 0.4)))
    m = rig.recv()
    assert m.address == "/rtcore/error" and m.args[0] == "/rtcore/nowhere"
    rig.sync()
    assert rig.session.get_param("keys", "cutoff") == 800.0 and rig.session.get_param("room", "mix") == pytest.approx(0.4)


def test_port_in_use_is_a_one_line_error(rig):
    port = rig.server.address[1]
    with pytest.raises(RtCoreError) as exc:
        OscServer(rig.session, port=port).start()
    assert str(exc.value) == f"OSC port {port} is in use (--osc-port to choose another)"


# ---- transport, stats --------------------------------------------------------------------
def test_transport_and_tempo(rig):
    rig.send("/rtcore/transport/play", 110.0)
    assert rig.ask("/rtcore/transport/tempo").args == ("/rtcore/transport/tempo", 110.0)
    rig.engine.render(256)
    st = rig.engine.stats()
    assert st.transport_playing == 1 and st.tempo == 110.0
    rig.send("/rtcore/transport/tempo", 90)
    rig.send("/rtcore/transport/stop")
    rig.sync()
    rig.engine.render(256)
    st = rig.engine.stats()
    assert st.transport_playing == 0 and rig.session.tempo == 90.0


def test_stats_are_name_value_pairs(rig):
    rig.send("/rtcore/note", 1, 60, 100)
    rig.sync()
    rig.engine.render(1024)
    m = rig.ask("/rtcore/stats")
    pairs = dict(zip(m.args[1::2], m.args[2::2]))
    names = list(pairs)
    assert names[:len(STATS_FIELDS)] == list(STATS_FIELDS)
    n_osc = len(rig.server.counters())
    assert names[len(STATS_FIELDS):len(STATS_FIELDS) + n_osc] == [f"osc_{k}" for k in rig.server.counters()]
    assert names[len(STATS_FIELDS) + n_osc:] == [f"midi_in_{k}" for k in MIDI_IN_FIELDS]
    assert all(pairs[f"midi_in_{k}"] == 0 for k in MIDI_IN_FIELDS)          # no MIDI input in this rig
    assert pairs["events_in"] == rig.engine.stats().events_in == 1
    assert pairs["osc_received"] == 3 and pairs["osc_handled"] == 2 and pairs["tempo"] == 100.0
    assert m.tags[1:] == "".join("s" + ("f" if isinstance(v, float) else "i") for v in pairs.values())


def test_a_burst_of_sets_reaches_the_engine(rig):
    n = 3000
    for i in range(n):
        rig.send("/rtcore/node/keys/cutoff", 100.0 + i)
    rig.sync()
    c = rig.server.counters()
    assert c["handled"] == n + 1 and c["errors"] == 0 and c["dropped"] == 0
    assert rig.session.get_param("keys", "cutoff") == 100.0 + n - 1
    rig.engine.render(256)
    st = rig.engine.stats()
    assert st.events_in == n and st.events_dropped == 0


def test_datagrams_the_kernel_drops_are_counted(write_patch, monkeypatch):
    """A tiny receive buffer and a receive thread held up: what the kernel drops is counted,
    and received + dropped adds up to what was sent."""
    import threading

    from rtcore.osc import server as server_module
    monkeypatch.setattr(server_module, "RCVBUF_BYTES", 4096)
    r = Rig(write_patch(PATCH))
    try:
        gate = threading.Event()
        save = r.session.learn_save
        r.session.learn_save = lambda: (gate.wait(3.0), save())[1]      # holds the receive thread
        r.send("/rtcore/learn/save")
        time.sleep(0.05)
        n = 300
        for i in range(n):
            r.send("/rtcore/node/keys/cutoff", 100.0 + i)
        gate.set()
        assert r.answer().args[0] == "/rtcore/learn/save"
        sent = n + 1
        r.sock.settimeout(0.2)
        for _ in range(20):     # the buffer may still be full: a query can be dropped too
            r.send("/rtcore/transport/tempo")
            sent += 1
            try:
                r.answer()
                break
            except (TimeoutError, socket.timeout):
                pass
        t0 = time.monotonic()   # queries still in flight are counted once they are read
        while sum(r.server.counters()[k] for k in ("received", "dropped")) < sent and time.monotonic() - t0 < 2:
            time.sleep(0.01)
        c = r.server.counters()
        assert c["dropped"] > 0 and c["received"] + c["dropped"] == sent
        assert c["handled"] == c["received"]
    finally:
        r.close()


# ---- subscriptions -----------------------------------------------------------------------
def collect(rig: Rig, seconds: float, sock=None, render: bool = True) -> list[wire.Message]:
    """Messages received for ``seconds`` while the engine renders about in real time."""
    out: list[wire.Message] = []
    if sock is None:
        sock, out, rig.backlog = rig.sock, rig.backlog, []
    sock.settimeout(0.005)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if render:
            rig.engine.render(256)
        try:
            out.append(wire.parse_message(sock.recv(65536)))
        except (TimeoutError, socket.timeout):
            pass
    sock.settimeout(3.0)
    return out


def test_subscribers_get_values_meters_changes_and_stats(rig):
    assert rig.ask("/rtcore/subscribe", 50).args == ("/rtcore/subscribe", 50.0)
    rig.send("/rtcore/note", 1, 60, 100)
    first = collect(rig, 0.3)
    by = {}
    for m in first:
        by.setdefault(m.address, []).append(m.args)
    # every parameter once at first
    assert by["/rtcore/node/room/mix"][0] == (pytest.approx(0.2),)
    assert by["/rtcore/node/keys/wave"][0] == (0.0,)
    # meters: four dBFS floats per node, the synth playing, the silent master floor at -120 or above
    meters = by["/rtcore/meter/keys"]
    assert len(meters) >= 3 and all(len(a) == 4 for a in meters)
    assert max(a[0] for a in meters) > -30.0
    assert all(-120.0 <= v <= 6.0 for a in meters for v in a)
    assert "/rtcore/meter/master" in by and "/rtcore/meter/room" in by
    stats = by["/rtcore/stats"][0]
    assert stats[0] == STATS_FIELDS[0] and stats[2] == STATS_FIELDS[1]
    # a change from another source (MIDI, the command line ...) is pushed
    rig.session.set_param("keys", "cutoff", 777.0)
    later = collect(rig, 0.2)
    assert ("/rtcore/node/keys/cutoff", (777.0,)) in [(m.address, m.args) for m in later]
    assert rig.ask("/rtcore/unsubscribe").address == "/rtcore/reply"
    assert rig.server.counters()["subscribers"] == 0


def test_subscribers_get_every_value_again_after_a_reload(rig, write_patch):
    other = write_patch(PATCH.replace('name = "room"', 'name = "hall"').replace('to = "room"', 'to = "hall"')
                        .replace("mix = 0.2", "mix = 0.25"), "other.toml")
    assert rig.ask("/rtcore/subscribe", 5.0).address == "/rtcore/reply"
    collect(rig, 0.1)
    rig.session.load(other)                        # from anywhere: the command line, --watch ...
    got = [(m.address, m.args) for m in collect(rig, 0.2)]
    assert ("/rtcore/node/hall/mix", (0.25,)) in got and ("/rtcore/node/keys/cutoff", (3000.0,)) in got


def test_subscribe_to_another_port(rig):
    listener = rig.client()
    port = listener.getsockname()[1]
    assert rig.ask("/rtcore/subscribe", 20.0, port).args == ("/rtcore/subscribe", 20.0)
    got = collect(rig, 0.2, sock=listener)
    assert any(m.address == "/rtcore/meter/keys" for m in got)
    assert rig.ask("/rtcore/unsubscribe", port).address == "/rtcore/reply"
    listener.close()


def test_unreachable_subscribers_are_dropped_and_the_count_is_capped(rig):
    gone = rig.client()
    rig.send("/rtcore/subscribe", 100.0, sock=gone)
    assert rig.answer(gone).address == "/rtcore/reply"
    gone.close()                                         # its port now answers ICMP "unreachable"
    t0 = time.monotonic()
    while rig.server.counters()["subscribers"] and time.monotonic() - t0 < 3.0:
        time.sleep(0.02)
    c = rig.server.counters()
    assert c["subscribers"] == 0 and c["subscribers_dropped"] == 1
    assert any("dropped: unreachable" in line for line in rig.session.errors)

    socks = [rig.client() for _ in range(9)]
    for s in socks[:8]:
        rig.send("/rtcore/subscribe", 1.0, sock=s)
        assert rig.answer(s).address == "/rtcore/reply"
    rig.send("/rtcore/subscribe", sock=socks[8])
    m = rig.answer(socks[8])
    assert m.address == "/rtcore/error" and "too many subscribers (8)" in m.args[1]
    for s in socks:
        s.close()


# ---- bundles -----------------------------------------------------------------------------
def test_a_timetagged_bundle_plays_on_its_sample(write_patch):
    r = Rig(write_patch(PATCH), live=True)
    try:
        # engine frame 0 is 1 s from now: the bundle's time lies ahead even on a slow machine
        clock = FakeClock(lib.rt_monotonic_ns() + 1_000_000_000)
        r.session.clock = clock
        t_ns = clock.origin_ns + 250_000_000                 # 0.25 s = 12000 frames after frame 0
        tt = wire.unix_ns_to_ntp(t_ns + r.server.wall_offset_ns)
        r.raw(wire.bundle(tt, wire.build("/rtcore/note", 1, 60, 100)))
        r.sync()
        assert r.server.counters()["late"] == 0
        y = r.engine.render(24000, block=128)
        assert first_nonzero(y) == 12000
    finally:
        r.close()


def test_bundles_nest_and_a_past_timetag_plays_at_once(write_patch):
    r = Rig(write_patch(PATCH), live=True)
    try:
        clock = FakeClock(lib.rt_monotonic_ns() + 1_000_000_000)
        r.session.clock = clock
        off = r.server.wall_offset_ns
        inner = wire.bundle(wire.unix_ns_to_ntp(clock.origin_ns + 100_000_000 + off),   # frame 4800
                            wire.build("/rtcore/node/keys/cutoff", 900.0))
        outer = wire.bundle(wire.unix_ns_to_ntp(clock.origin_ns + 50_000_000 + off),    # frame 2400
                            wire.build("/rtcore/note", 1, 64, 100), inner)
        r.raw(outer)
        r.sync()
        assert r.session.get_param("keys", "cutoff") == 900.0
        y = r.engine.render(9600)
        assert first_nonzero(y) == 2400
        # a time already past: at once (the next block), counted as late
        r.raw(wire.bundle(wire.unix_ns_to_ntp(time.time_ns() - 1_000_000_000), wire.build("/rtcore/note", 2, 72, 100)))
        r.sync()
        assert r.server.counters()["late"] == 1
    finally:
        r.close()


def test_ntp_conversion_is_exact():
    for ns in (0, 1, 999_999_999, 1_764_000_000_123_456_789, 2_000_000_000_000_000_001):
        assert wire.ntp_to_unix_ns(wire.unix_ns_to_ntp(ns)) == ns
    assert wire.unix_ns_to_ntp(0) == 2_208_988_800 << 32


# ---- patch, snapshots, learn ----------------------------------------------------------------
def test_patch_load_swaps_or_keeps_the_old_graph(rig, write_patch):
    good = write_patch(PATCH.replace('name = "room"', 'name = "hall"').replace('to = "room"', 'to = "hall"'),
                       "other.toml")
    m = rig.ask("/rtcore/patch/load", "other.toml")              # relative to the patch's folder
    assert m.address == "/rtcore/reply" and m.args[1] == str(good)
    assert "hall" in rig.session.nodes()
    assert rig.ask("/rtcore/node/hall/mix").args[1] == pytest.approx(0.2)
    rig.engine.render(1024)
    swaps = rig.engine.stats().graph_swaps

    broken = write_patch(PATCH.replace('type = "reverb"', 'type = "reverbb"'), "broken.toml")
    rig.send("/rtcore/note", 1, 60, 100)
    m = rig.ask("/rtcore/patch/load", str(broken))
    assert m.address == "/rtcore/error" and m.args[0] == "/rtcore/patch/load"
    assert "broken.toml" in m.args[1] and "reverbb" in m.args[1] and "\n" not in m.args[1]
    y = rig.engine.render(4096)
    assert np.abs(y[-1024:]).max() > 0.05                          # the old graph plays on
    assert rig.engine.stats().graph_swaps == swaps and "hall" in rig.session.nodes()
    m = rig.ask("/rtcore/patch/load", "missing.toml")
    assert m.address == "/rtcore/error" and "no such patch file" in m.args[1]


def test_snapshot_recall(rig):
    assert rig.ask("/rtcore/snapshot", "dark").args == ("/rtcore/snapshot", "dark")
    assert rig.ask("/rtcore/node/keys/cutoff").args[1] == 500.0
    assert rig.ask("/rtcore/node/keys/wave").args[2] == "square"
    rig.send("/rtcore/node/keys/cutoff", 2000.0)
    assert rig.ask("/rtcore/snapshot", 3, 0.0).args == ("/rtcore/snapshot", "dark")   # by program
    assert rig.ask("/rtcore/node/keys/cutoff").args[1] == 500.0


def test_learn_over_osc_then_a_cc_then_save(rig):
    before = rig.path.read_bytes()
    assert rig.ask("/rtcore/learn", "keys.cutoff").args == ("/rtcore/learn", "keys.cutoff")
    rig.session.midi([0xB0, 21, 64])                              # CC 21 on channel 1
    m = rig.ask("/rtcore/learn/save")
    path = Path(m.args[1])
    assert m.address == "/rtcore/reply" and path == rig.path.with_name("p.learn.toml")
    text = path.read_text()
    assert "cc = 21" in text and 'to = "keys.cutoff"' in text
    assert rig.path.read_bytes() == before
    assert rig.ask("/rtcore/learn", "room.mix").address == "/rtcore/reply"
    assert rig.ask("/rtcore/learn/cancel").address == "/rtcore/reply"
    assert rig.session.learning is None


def test_ai_shortcuts():
    r = Rig(ROOT / "patches" / "chorale.toml")
    try:
        r.send("/rtcore/ai/temperature", 1.25)
        assert r.ask("/rtcore/ai/temperature").args == ("/rtcore/ai/temperature", 1.25)
        assert r.session.get_param("harmony", "temperature") == 1.25
        r.send("/rtcore/ai/style", "arpeggio")
        r.send("/rtcore/ai/enable", False)
        r.send("/rtcore/ai/density", 0.5)
        r.sync()
        vals = r.session.params()["harmony"]
        assert (vals["style"], vals["enabled"], vals["density"]) == (1.0, 0.0, 0.5)
    finally:
        r.close()


# ---- namespace ---------------------------------------------------------------------------
def test_namespace_lists_every_address_node_and_parameter(rig):
    rig.send("/rtcore/node/keys/cutoff", 1500.0)
    index = json.loads(rig.ask("/rtcore/namespace").args[1])
    top = index["CONTENTS"]["rtcore"]["CONTENTS"]
    assert top["note"]["FULL_PATH"] == "/rtcore/note" and top["note"]["TYPE"] == "iii"
    assert [a["NAME"] for a in top["note"]["ARGUMENTS"]] == ["channel", "note", "velocity"]
    assert top["transport"]["CONTENTS"]["tempo"]["ACCESS"] == 3
    fixed = [a.pattern for a in ADDRESSES if "<" not in a.pattern and "{" not in a.pattern]
    found = []

    def walk(d):
        if "TYPE" in d:
            found.append(d["FULL_PATH"])
        for v in d.get("CONTENTS", {}).values():
            walk(v)
    walk(index)
    assert sorted(found) == sorted(fixed)
    nodes = top["node"]["CONTENTS"]
    assert set(nodes) == {"master", "keys", "room"}
    types = rc.node_types()
    for name, typ in rig.session.nodes().items():
        assert nodes[name]["NODE_TYPE"] == typ and nodes[name]["PARAMS"] == types[typ].param_names()
        doc = json.loads(rig.ask("/rtcore/namespace", name).args[1])
        assert list(doc["CONTENTS"]) == types[typ].param_names()
        for p in types[typ].params:
            e = doc["CONTENTS"][p.name]
            assert e["FULL_PATH"] == f"/rtcore/node/{name}/{p.name}"
            assert e["VALUE"] == [p.display(rig.session.get_param(name, p.name))]
            assert e.get("UNIT", [""]) == [p.unit]
            if p.kind == "enum":
                assert e["RANGE"] == [{"VALS": list(p.choices)}]
            elif p.kind != "bool":
                assert e["RANGE"] == [{"MIN": p.min, "MAX": p.max}]
    keys = json.loads(rig.ask("/rtcore/namespace", "keys").args[1])["CONTENTS"]
    assert keys["cutoff"]["VALUE"] == [1500.0] and keys["cutoff"]["UNIT"] == ["Hz"]
    assert keys["wave"]["VALUE"] == ["saw"] and keys["wave"]["TYPE"] == "s"


@pytest.mark.parametrize("patch", sorted(p.name for p in (ROOT / "patches").glob("*.toml")))
def test_namespace_replies_fit_a_small_datagram(patch):
    """Documented: every namespace reply of the shipped patches is under 8 KB."""
    p = rc.load_patch(ROOT / "patches" / patch)
    with rc.Engine(SR, 1024) as eng:
        eng.load(p.graph, ai_errors="warn")
        s = Session(eng, p, live=False, load=False)
        for name in [None, *s.nodes()]:
            reply = wire.build("/rtcore/reply", "/rtcore/namespace", namespace_json(s, ADDRESSES, name))
            assert len(reply) < 8192, (patch, name, len(reply))


def test_every_node_type_fits_a_small_datagram():
    """Documented: a node's namespace reply is under 8 KB whatever its type (longest name allowed)."""
    name = "n" * 47
    for t in rc.node_types().values():
        doc = json.dumps(node_doc(name, t, {p.name: p.default for p in t.params}), separators=(",", ":"))
        assert len(wire.build("/rtcore/reply", "/rtcore/namespace", doc)) < 8192, t.name
