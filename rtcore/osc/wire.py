"""OSC on the wire: strict parsing of incoming datagrams and building of outgoing messages.

Argument decoding and message building use python-osc (``pythonosc.parsing.osc_types``,
``osc_message_builder``). Packet structure is checked here, strictly, because every bad
datagram must get a precise one-line reason: python-osc's own ``OscBundle`` silently cuts an
oversized bundle element short and only logs elements it cannot identify, and ``OscMessage``
logs (and skips) unknown type tags instead of failing.

Times: NTP time tags (seconds since 1900 as 32.32 fixed point) are converted to Unix
nanoseconds exactly, in integers (a float of today's Unix time only resolves ~240 ns).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

from ..errors import one_line

BUNDLE_PREFIX = b"#bundle\x00"
IMMEDIATELY = 1                      # the OSC time tag meaning "now"
NTP_UNIX_OFFSET_S = 2_208_988_800    # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
MAX_BUNDLE_DEPTH = 8
ARG_TAGS = "ifdhsTF"                 # argument types rtcore reads (int32, float32, double, int64, string, true, false)
WILDCARDS = set("*?[]{}")

_GETTERS = {"i": osc_types.get_int, "f": osc_types.get_float, "d": osc_types.get_double,
            "h": osc_types.get_int64, "s": osc_types.get_string}


class OscFormatError(Exception):
    """A datagram or message is not valid OSC. ``address``: the message's address, or "?"
    when it could not be read; ``reason``: one line."""

    def __init__(self, address: str, reason: str) -> None:
        reason = one_line(reason)       # it may quote the datagram's bytes
        super().__init__(reason)
        self.address = address
        self.reason = reason


@dataclass(frozen=True)
class Message:
    """One parsed OSC message: ``address``, ``tags`` (the type tags without the comma) and
    ``args`` (Python values: int, float, str, bool)."""

    address: str
    tags: str
    args: tuple[Any, ...]


def ntp_to_unix_ns(timetag: int) -> int:
    """Unix time in ns of a 64-bit NTP time tag (rounded to the nearest ns, so a time tag made
    from whole nanoseconds by truncation or rounding converts back to exactly those)."""
    seconds, fraction = timetag >> 32, timetag & 0xFFFF_FFFF
    return (seconds - NTP_UNIX_OFFSET_S) * 1_000_000_000 + ((fraction * 1_000_000_000 + (1 << 31)) >> 32)


def unix_ns_to_ntp(unix_ns: int) -> int:
    """The 64-bit NTP time tag of a Unix time in ns (fraction rounded to the nearest tick)."""
    seconds, ns = divmod(int(unix_ns), 1_000_000_000)
    return ((seconds + NTP_UNIX_OFFSET_S) << 32) + ((ns << 32) + 500_000_000) // 1_000_000_000


def _string_end(dgram: bytes, start: int, address: str, what: str) -> tuple[str, int]:
    """An OSC string at ``start``: (text, index after its padding)."""
    end = dgram.find(b"\x00", start)
    if end < 0:
        raise OscFormatError(address, f"truncated message: {what} has no terminating zero byte")
    after = (end + 4) & ~3
    if after > len(dgram):
        raise OscFormatError(address, f"truncated message: {what} is not padded to 4 bytes")
    try:
        return dgram[start:end].decode("ascii"), after
    except UnicodeDecodeError:
        raise OscFormatError(address, f"{what} is not ASCII text") from None


def parse_message(dgram: bytes) -> Message:
    """Parse one OSC message. Raises :class:`OscFormatError` naming the address (or "?")."""
    if not dgram.startswith(b"/"):
        raise OscFormatError("?", "an OSC message starts with '/'")
    address, pos = _string_end(dgram, 0, "?", "the address")
    if WILDCARDS & set(address):
        raise OscFormatError(address, "address patterns (wildcards) are not supported: send one message per address")
    if pos == len(dgram):                       # no type tag string: no arguments (old OSC 1.0 senders)
        return Message(address, "", ())
    if dgram[pos] != 0x2C:
        raise OscFormatError(address, "the type tag string must start with ','")
    tagstr, pos = _string_end(dgram, pos, address, "the type tag string")
    tags = tagstr[1:]
    for t in tags:
        if t not in ARG_TAGS:
            raise OscFormatError(address, f"argument type '{t}' is not one rtcore reads (types: i f d h s T F)")
    args: list[Any] = []
    for t in tags:
        if t == "T" or t == "F":
            args.append(t == "T")
            continue
        try:
            v, pos = _GETTERS[t](dgram, pos)
        except (osc_types.ParseError, UnicodeDecodeError, IndexError, struct.error):
            raise OscFormatError(address, f"truncated message: the arguments do not match the type tags ',{tags}'") from None
        if pos > len(dgram):       # python-osc pads a cut-off float (a Reaktor quirk): not here
            raise OscFormatError(address, f"truncated message: the arguments do not match the type tags ',{tags}'")
        args.append(v)
    if pos != len(dgram):
        raise OscFormatError(address, f"{len(dgram) - pos} bytes after the last argument (type tags ',{tags}')")
    return Message(address, tags, tuple(args))


def split_bundle(dgram: bytes, depth: int = 0) -> list[tuple[int, bytes]]:
    """The messages of a bundle (nested bundles flattened), each with the time tag of the
    bundle that holds it: [(NTP time tag, message datagram)]. Raises :class:`OscFormatError`
    (address "?") when the structure is broken; then none of its messages should run."""
    if len(dgram) < 16:
        raise OscFormatError("?", "truncated bundle: no time tag")
    if depth >= MAX_BUNDLE_DEPTH:
        raise OscFormatError("?", f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    timetag = int.from_bytes(dgram[8:16], "big")
    out: list[tuple[int, bytes]] = []
    pos = 16
    while pos < len(dgram):
        try:
            size, pos = osc_types.get_int(dgram, pos)
        except osc_types.ParseError:
            raise OscFormatError("?", "truncated bundle: an element size is cut off") from None
        if size <= 0 or size % 4 or pos + size > len(dgram):
            raise OscFormatError("?", f"bundle element of {size} bytes does not fit the bundle "
                                      f"({len(dgram) - pos} bytes left)")
        element = dgram[pos:pos + size]
        pos += size
        if element.startswith(BUNDLE_PREFIX):
            out += split_bundle(element, depth + 1)
        elif element.startswith(b"/"):
            out.append((timetag, element))
        else:
            raise OscFormatError("?", "a bundle element is neither a message nor a bundle")
    return out


def build(address: str, *args: Any) -> bytes:
    """One OSC message datagram. Python floats go as 'f', ints as 'i', str as 's', bools as T/F."""
    b = OscMessageBuilder(address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(a)
        elif isinstance(a, int):
            b.add_arg(max(-2**31, min(2**31 - 1, a)), OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(a, float):
            b.add_arg(a, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            b.add_arg(str(a), OscMessageBuilder.ARG_TYPE_STRING)
    return b.build().dgram


def bundle(timetag: int, *messages: bytes) -> bytes:
    """A bundle datagram of already-built messages with a 64-bit NTP ``timetag`` (1 = now)."""
    body = b"".join(struct.pack(">i", len(m)) + m for m in messages)
    return BUNDLE_PREFIX + struct.pack(">Q", timetag) + body
