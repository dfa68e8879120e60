"""Regression tests for what the fuzzers (tests/fuzz/) found: each test names the input that
broke rtcore and checks the one-line error (or the handled outcome) it gets now."""
from __future__ import annotations

import math
import os

import pytest

import rtcore as rc
from rtcore._native import lib
from rtcore.errors import MediaFileError, ParamRangeError, PatchError, RtCoreError, one_line
from rtcore.midi import MidiInput
from rtcore.midi_time import MidiTimestamper
from rtcore.midifile import read_midi
from rtcore.osc import wire
from rtcore.osc.server import OscServer
from rtcore.patch import load_patch
from rtcore.session import Session

TONE = '[[node]]\nname = "t"\ntype = "tone"\n'
LONG = "x" * 300          # longer than NAME_MAX (255): stat() fails with ENAMETOOLONG


def patch_error(write_patch, text: str) -> str:
    path = write_patch(text)
    with pytest.raises(PatchError) as info:
        load_patch(path)
    msg = str(info.value)
    assert msg.splitlines() == [msg], "one line"
    assert str(path) in msg
    return msg


# ---- fuzz_patch: multi-line PatchError messages ------------------------------------------------
@pytest.mark.parametrize("text, shown", [
    ('[engine]\n"HS^it\\n +6" = 1\n', "'HS^it\\n +6'"),                      # an unknown [engine] key
    ('"[fq|\\r(3>" = 1\n' + TONE, "'[fq|\\r(3>'"),                           # an unknown top-level table
    (TONE + '[[midi.cc]]\ncc = 7\nto = "t\\u2028x.level"\n', "t\\u2028x"),   # a CC map's target
    ('[[node]]\nname = "a"\ntype = "ai"\nmodel = "m.onnx"\nto = "k\\u0085"\n', None),
])
def test_patch_errors_quoting_a_line_break_stay_one_line(write_patch, text, shown):
    """Input: TOML keys and values holding \\n, \\r, U+2028, U+0085 (quoted in the message)."""
    if "m.onnx" in text:
        (write_patch("", "m.onnx")).write_bytes(b"x")
    msg = patch_error(write_patch, text)
    if shown:
        assert shown in msg


def test_every_rtcore_error_is_one_line():
    for text in ("a\nb", "a\r\nb", "a\x0bb\x0cc", "a\x1cb", "a\x85b", "a\u2028b\u2029"):
        err = RtCoreError(f"bad: {text}")
        assert str(err).splitlines() == [str(err)]
    assert one_line("key 'a\nb'\t\x1b") == "key 'a\\nb'\\t\\x1b"
    assert one_line("naïve — ok") == "naïve — ok"


# ---- fuzz_patch: OSError from a file name the OS refuses ----------------------------------------
def test_sample_file_name_too_long_is_a_patch_error(write_patch):
    """Input: [[node.sample]] file = "xxx...x" (300 characters): Path.is_file() raised OSError."""
    msg = patch_error(write_patch, f'[[node]]\nname = "s"\ntype = "sampler"\n[[node.sample]]\nfile = "{LONG}"\n')
    assert "key 'file'" in msg and "does not exist" in msg


def test_model_and_plugin_names_too_long_are_patch_errors(write_patch):
    msg = patch_error(write_patch, f'[[node]]\nname = "a"\ntype = "ai"\nmodel = "{LONG}.onnx"\n')
    assert "key 'model'" in msg
    msg = patch_error(write_patch, f'[[node]]\nname = "p"\ntype = "ladspa"\nplugin = "{LONG}.so"\nlabel = "x"\n')
    assert "no LADSPA library" in msg


def test_patch_file_name_too_long(tmp_path):
    with pytest.raises(PatchError, match="cannot read"):
        load_patch(tmp_path / f"{LONG}.toml")


# ---- fuzz_osc: /rtcore/patch/load s /dev/zero filled memory ---------------------------------------
def test_patch_from_a_device_is_refused():
    """Input: OSC /rtcore/patch/load "/dev/zero" -- read_bytes() never ended (out of memory)."""
    with pytest.raises(PatchError, match="not a regular file"):
        load_patch("/dev/zero")


def test_patch_from_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    with pytest.raises(PatchError, match="not a regular file"):
        load_patch(fifo)          # opening it would wait for a writer forever


def test_patch_larger_than_the_limit_is_refused(tmp_path):
    from rtcore.patch import MAX_PATCH_BYTES
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (MAX_PATCH_BYTES + 1))
    with pytest.raises(PatchError, match="larger than"):
        load_patch(big)


# ---- fuzz_patch: OverflowError from huge integers ---------------------------------------------
@pytest.mark.parametrize("text, expect", [
    (TONE + "freq = " + "1" * 330 + "\n", "must be within 20..20000 Hz"),                 # float parameter
    ('[engine]\nsample_rate = ' + "9" * 330 + "\n" + TONE, "out of range"),                # whole-number key
    ('[[node]]\nname = "d"\ntype = "delay"\nsync = ' + "9" * 330 + "\n", "must be one of"),  # enum index
    (TONE + "[[snapshot]]\nname = \"s\"\nt = { level = -" + "9" * 330 + " }\n", "must be within"),
])
def test_huge_integer_values_are_range_errors(write_patch, text, expect):
    """Input: an integer of 330 digits (TOML integers have no size limit in tomllib): float()
    raised OverflowError."""
    assert expect in patch_error(write_patch, text)


def test_ladspa_id_above_32_bits_is_a_patch_error(write_patch):
    """Input: [[node]] type = "ladspa", id = 4294967296: cffi raised OverflowError (uint32_t)."""
    msg = patch_error(write_patch, '[[node]]\nname = "p"\ntype = "ladspa"\nplugin = "cmt.so"\nid = 4294967296\n')
    assert "key 'id'" in msg and "1..4294967295" in msg


# ---- the engine side of the same values --------------------------------------------------------
@pytest.fixture
def offline_session(write_patch):
    eng = rc.Engine(48000, 1024)
    s = Session(eng, load_patch(write_patch('[[node]]\nname = "keys"\ntype = "synth"\n')), live=False)
    yield s
    s.close()
    eng.close()


def test_set_param_with_a_huge_integer_is_a_range_error(offline_session):
    with pytest.raises(ParamRangeError, match="keys.cutoff"):
        offline_session.set_param("keys", "cutoff", 10**400)


# ---- fuzz_osc: an empty bundle got no answer -----------------------------------------------------
def test_osc_empty_bundle_is_answered_with_an_error(offline_session):
    """Input: b"#bundle\\x00" + an 8-byte time tag and no element: neither handled nor answered."""
    server = OscServer(offline_session)
    server._outbox = []
    server._datagram(b"#bundle\x00\xee\xc7+\xb6\x14\xf7\xcb,", ("127.0.0.1", 9), lib.rt_monotonic_ns())
    nested = wire.bundle(1, wire.bundle(1))           # a bundle holding only an empty bundle
    server._datagram(nested, ("127.0.0.1", 9), lib.rt_monotonic_ns())
    answers = [wire.parse_message(d) for d, _ in server._outbox]
    assert [(m.address, m.args[0]) for m in answers] == [("/rtcore/error", "?")] * 2
    assert all("empty bundle" in m.args[1] for m in answers)
    assert server.counters()["errors"] == 2


# ---- fuzz_midi: NaN / inf / absurd deltas killed the MIDI input thread ---------------------------
@pytest.mark.parametrize("delta", [float("nan"), float("inf"), float("-inf"), -0.001, 1e300])
def test_midi_input_survives_a_delta_rtmidi_cannot_give(offline_session, delta):
    """Input: MidiInput._handle([0x90, 60, 100], nan) (and inf, negative, 1e300): round(nan)
    raised ValueError, inf OverflowError, 1e300 overflowed float() -- outside _handle's try."""
    logs: list[str] = []
    offline_session.add_log_listener(logs.append)
    mi = MidiInput(offline_session)
    mi._stamper = MidiTimestamper()
    mi._handle([0x90, 60, 100], 0.0)
    mi._handle([0x90, 60, 100], delta)
    mi._handle([0x80, 60, 0], 0.001)
    assert mi.counters == {"received": 3, "handled": 3, "errors": 0, "system": 0, "lost": 0}
    assert mi._stamper.bad_deltas == 1 and not logs


def test_timestamper_restarts_at_the_arrival_after_a_bad_delta():
    clock = iter([(1_000_000, 5_000_000), (2_000_000, 6_000_000), (3_000_000, 7_000_000)])
    st = MidiTimestamper(max_drift_ppm=0.0, now=lambda: next(clock))
    assert st.stamp(0.0) == 5_000_000
    assert st.stamp(float("nan")) == 6_000_000          # stamped at its arrival
    assert st.stamp(0.0005) == 6_500_000                # the sum goes on from there
    assert st.bad_deltas == 1 and math.isfinite(st.offset_ns)


# ---- fuzz_midifile: SMPTE time division made event times run backwards ---------------------------
SMPTE_FILE = (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe0`MTrk\x00\x00\x00\x0c"
              b"\x00\x90<Z\x05\x80<\x00\x00\xff/\x00")


def test_midi_file_with_smpte_division_is_a_media_error(tmp_path):
    """Input: an MThd with division 0xE060 (-32 fps, 96 ticks per frame): mido read it as
    ticks_per_beat = -8096 and every event time came out negative."""
    f = tmp_path / "smpte.mid"
    f.write_bytes(SMPTE_FILE)
    with pytest.raises(MediaFileError, match="SMPTE") as info:
        read_midi(f, 48000)
    assert str(f) in str(info.value)


def test_midi_file_with_zero_division_is_a_media_error(tmp_path):
    f = tmp_path / "zero.mid"
    f.write_bytes(SMPTE_FILE.replace(b"\x00\x01\xe0`", b"\x00\x01\x00\x00"))
    with pytest.raises(MediaFileError, match="time division 0"):
        read_midi(f, 48000)


def test_read_audio_and_midi_with_names_too_long(tmp_path):
    from rtcore.audiofile import read_audio
    with pytest.raises(MediaFileError, match="no such audio file"):
        read_audio(tmp_path / LONG)
    with pytest.raises(MediaFileError, match="no such MIDI file"):
        read_midi(tmp_path / LONG, 48000)


# ---- fuzz_osc: a control character in an OSC address broke the log line ---------------------------
def test_osc_address_with_a_control_character_logs_one_line(offline_session):
    """Input: the datagram b"/\\x1e%,\\x00\\x00\\x00\\x00" (address "/\\x1e%,": \\x1e is a line
    break to str.splitlines): the log line quoted the address raw."""
    logs: list[str] = []
    offline_session.add_log_listener(logs.append)
    server = OscServer(offline_session)
    server._outbox = []
    server._datagram(b"/\x1e%,\x00\x00\x00\x00", ("127.0.0.1", 9), lib.rt_monotonic_ns())
    (reply,) = [wire.parse_message(d) for d, _ in server._outbox]
    assert reply.address == "/rtcore/error" and reply.args[0] == "/\x1e%,"   # the sender gets its address back
    assert len(logs) == 1 and logs[0].splitlines() == [logs[0]] and "/\\x1e%," in logs[0]


def test_osc_type_tag_with_a_newline_gives_a_one_line_reason(offline_session):
    """Input: the datagram b"/a\\x00\\x00,\\n\\x00\\x00" (type tag '\\n'): the reason quoted it raw."""
    server = OscServer(offline_session)
    server._outbox = []
    with pytest.raises(wire.OscFormatError) as info:
        wire.parse_message(b"/a\x00\x00,\n\x00\x00")
    assert info.value.reason == "argument type '\\n' is not one rtcore reads (types: i f d h s T F)"
    server._datagram(b"/a\x00\x00,\n\x00\x00", ("127.0.0.1", 9), lib.rt_monotonic_ns())
    (reply,) = [wire.parse_message(d) for d, _ in server._outbox]
    assert reply.args == ("/a", info.value.reason)


# ---- fuzz_midifile: delta times longer than 4 bytes overflowed the engine's frame counter ----------
def test_midi_file_with_an_absurd_delta_time_is_a_media_error(tmp_path):
    """Input: a track whose delta time is a 10-byte variable-length number (the standard allows 4;
    mido reads any length): the event landed at frame 1.4e19, past the engine's int64 frames."""
    track = b"\x00\xff\x51\x03\xff\xff\xff" + b"\xff" * 9 + b"\x7f\x90\x3c\x64" + b"\x00\xff\x2f\x00"
    data = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + len(track).to_bytes(4, "big") + track
    f = tmp_path / "long.mid"
    f.write_bytes(data)
    with pytest.raises(MediaFileError, match="delta times are damaged"):
        read_midi(f, 48000)


# ---- fuzz_patch: a NUL character in a file or plugin name ---------------------------------------
@pytest.mark.parametrize("node, key", [
    ('type = "ai"\nmodel = "m\\u0000.onnx"', "model"),                                    # ValueError in resolve()
    ('type = "sampler"\n[[node.sample]]\nfile = "kick\\u0000.wav"', "file"),              # ValueError in resolve()
    ('type = "ladspa"\nplugin = "cmt.so"\nlabel = "amp_mono\\u0000x"', "label"),          # C read "amp_mono"
    ('type = "lv2"\nuri = "http://lv2plug.in/plugins/eg-amp\\u0000x"', "uri"),            # C read the URI cut short
])
def test_nul_character_in_a_name_is_a_patch_error(write_patch, node, key):
    """Input: TOML strings with \\u0000 in a model or sample file name (Path.resolve() raised
    ValueError: embedded null byte) or a plugin label/URI (the C side silently read it cut short
    and loaded another plugin than the patch names)."""
    msg = patch_error(write_patch, f'[[node]]\nname = "n"\n{node}\n')
    assert f"key '{key}'" in msg and "NUL" in msg
