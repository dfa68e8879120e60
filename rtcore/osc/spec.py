"""How an OSC address is described: its arguments (name, accepted type tags, range and unit)
and the checks that turn a message's arguments into Python values for the handler.

Control surfaces send what they send (TouchOSC sends every number as a float), so numeric
arguments accept any OSC number; whole-number arguments accept integral floats.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from .wire import OscFormatError

NODE_PREFIX = "/rtcore/node/"      # + <node name>/<param>: every parameter of the patch
AI_PREFIX = "/rtcore/ai/"          # + shortcut: the patch's ai node

KIND_TAGS = {
    "int": "i",                 # i h, or an integral f d
    "float": "f",               # i f d h (finite)
    "str": "s",
    "value": "f|i|s|T|F",       # a parameter value: number, enum name, bool
    "name_or_program": "s|i",   # a snapshot: name or MIDI program number
}
_NUMBER_TAGS = "ifdh"


@dataclass(frozen=True)
class Arg:
    """One argument of an address: ``kind`` is a key of :data:`KIND_TAGS`; ``range`` says
    what values mean, with their unit (for the docs and the namespace)."""

    name: str
    kind: str
    range: str = ""
    optional: bool = False

    @property
    def tags(self) -> str:
        return KIND_TAGS[self.kind]


@dataclass(frozen=True)
class OscAddress:
    """One address rtcore answers. ``pattern`` may hold ``<placeholders>`` or ``{a,b}``
    choices (docs only; the server resolves them). ``handler(server, request)`` returns the
    reply's arguments (sent as ``/rtcore/reply <address> ...``) or None for no reply.
    ``timed``: inside a timetagged bundle it happens at the bundle's time (sample-accurate);
    otherwise on arrival. ``query``: without arguments it answers with the current value."""

    pattern: str
    args: tuple[Arg, ...]
    doc: str
    handler: Callable[[Any, Any], list | None]
    timed: bool = False
    query: bool = False

    @property
    def signature(self) -> str:
        """Arguments as the docs show them, e.g. ``i channel, i note, i velocity``."""
        if not self.args:
            return "none"
        return ", ".join(f"{'[' if a.optional else ''}{a.tags} {a.name}{']' if a.optional else ''}"
                         for a in self.args)

    def convert(self, address: str, tags: str, args: tuple[Any, ...]) -> list[Any]:
        """Check a message's arguments against :attr:`args`; return them as Python values.
        Raises :class:`OscFormatError` naming ``address`` and what was expected."""
        required = sum(not a.optional for a in self.args)
        if not (required <= len(args) <= len(self.args)):
            got = f"type tags ',{tags}'" if tags else "no arguments"
            raise OscFormatError(address, f"takes {self.signature} (got {got})")
        return [_one(address, a, t, v) for a, t, v in zip(self.args, tags, args)]


def _one(address: str, a: Arg, tag: str, v: Any) -> Any:
    def bad(why: str) -> OscFormatError:
        return OscFormatError(address, f"argument '{a.name}' must be {why} (got '{tag}' {v!r})")

    if a.kind == "int":
        if tag in "ih":
            return int(v)
        if tag in "fd" and math.isfinite(v) and float(v).is_integer():
            return int(v)
        raise bad("a whole number")
    if a.kind == "float":
        if tag in _NUMBER_TAGS and math.isfinite(v):
            return float(v) if tag in "fd" else int(v)
        raise bad("a finite number")
    if a.kind == "str":
        if tag == "s":
            return v
        raise bad("a string")
    if a.kind == "value":
        if tag in _NUMBER_TAGS + "sTF":
            return v
        raise bad("a number, a name or T/F")
    if a.kind == "name_or_program":
        if tag == "s":
            return v
        if tag in "ih" or (tag in "fd" and math.isfinite(v) and float(v).is_integer()):
            return int(v)
        raise bad("a name (s) or a program number (i)")
    raise ValueError(f"unknown argument kind {a.kind!r}")
