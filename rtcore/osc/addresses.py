"""The OSC address table: every address rtcore answers, its arguments (type tags, range,
unit), what it does and the handler that does it. The server's dispatcher, the
``/rtcore/namespace`` JSON and the README's OSC table are all generated from :data:`ADDRESSES`
(and the messages rtcore sends from :data:`OUTGOING`).

Handlers run on the server's receive thread: ``handler(server, request)`` calls the
:class:`~rtcore.session.Session` (which validates and raises one-line errors) and returns the
reply's arguments, or None when the message needs no answer (sets and notes: a flood of them
must not double the traffic).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..allowed_paths import check_osc_patch
from ..errors import RtCoreError
from .spec import AI_PREFIX, NODE_PREFIX, Arg, OscAddress
from .subscribers import MAX_SUBSCRIBERS

if TYPE_CHECKING:
    from .server import OscServer
AI_SHORTCUTS = {"enable": "enabled", "style": "style", "temperature": "temperature", "density": "density",
                "personal": "personal"}
"""``/rtcore/ai/<short>`` -> the ``ai`` node's parameter."""

STATS_FIELDS = ("xruns", "overruns", "cb_p50_us", "cb_p99_us", "cb_max_us", "period_us", "events_in",
                "events_dropped", "events_late", "events_stale", "graph_swaps", "nonfinite_blocks",
                "notes_out", "notes_out_dropped", "ai_steps", "ai_missed_deadlines", "ai_late_notes",
                "transport_playing", "tempo", "transport_tempo", "clock_jumps", "clock_error_ms")
"""Engine counters in the stats reply (names of :class:`rtcore.Stats`, µs; ``tempo`` is the
session's BPM in real time, ``transport_tempo`` the beats per minute of the engine's own frames,
which an external clock corrects for the device's real rate), in this order, followed by the
server's own counters prefixed ``osc_`` (see ``OscServer.counters()``), then
:data:`MIDI_IN_FIELDS` prefixed ``midi_in_``."""

MIDI_IN_FIELDS = ("received", "handled", "errors", "lost")
"""The MIDI input's counters in the stats reply (``rtcore.midi.MidiInput.counters``; 0 without
a MIDI input): messages read, played, malformed, and lost in RtMidi's full queue."""


@dataclass(frozen=True)
class Request:
    """One message for a handler. ``args``: checked Python values; ``time``: engine frame
    (None = the next block); ``sender``: (host, port); ``target``: (node, param) for the
    node and AI addresses."""

    address: str
    args: list[Any]
    time: int | None
    sender: tuple[str, int]
    target: tuple[str, str] | None = None


def param_value_args(session, node: str, param: str) -> list[Any]:
    """A parameter's value as OSC reply arguments: ``f value`` (its unit; enums and bools as
    the index / 0-1), plus ``s choice`` for enums."""
    p = session.param_info(node, param)
    v = float(session.get_param(node, param))
    return [v, p.choices[int(v)]] if p.kind == "enum" else [v]


# ---- handlers ---------------------------------------------------------------------------
def _param(srv: "OscServer", req: Request) -> list | None:
    node, param = req.target  # type: ignore[misc]
    if not req.args:
        return param_value_args(srv.session, node, param)
    srv.session.set_param(node, param, req.args[0], req.time)
    return None


def _note(srv: "OscServer", req: Request) -> None:
    channel, note, velocity = req.args
    srv.session.note(channel, note, velocity, req.time)


def _play(srv: "OscServer", req: Request) -> None:
    srv.session.play(req.time, tempo=req.args[0] if req.args else None)


def _stop(srv: "OscServer", req: Request) -> None:
    srv.session.stop(req.time)


def _tempo(srv: "OscServer", req: Request) -> list | None:
    if not req.args:
        return [float(srv.session.tempo)]
    srv.session.set_tempo(req.args[0], req.time)
    return None


def _tap(srv: "OscServer", req: Request) -> list:
    bpm = srv.session.tap()
    return [float(bpm)] if bpm is not None else []


def _load(srv: "OscServer", req: Request) -> list:
    path = None
    if req.args:    # only patches in the current patch's folder or on RTCORE_PATH (checked before opening)
        path = check_osc_patch(Path(req.args[0]).expanduser(), srv.session.patch.path.parent)
    patch = srv.session.load(path)
    return [str(patch.path)]


def _snapshot(srv: "OscServer", req: Request) -> list:
    glide = req.args[1] if len(req.args) > 1 else None
    if glide is not None and not (0.0 <= glide <= 60.0):
        raise RtCoreError(f"glide {glide} s is out of range 0..60 s")
    snap = srv.session.recall(req.args[0], glide=glide, time=req.time)
    return [snap.name]


def _learn(srv: "OscServer", req: Request) -> list:
    srv.session.learn(req.args[0])
    return [req.args[0]]


def _learn_cancel(srv: "OscServer", req: Request) -> list:
    srv.session.learn_cancel()
    return []


def _learn_save(srv: "OscServer", req: Request) -> list:
    return [str(srv.session.learn_save())]


def _stats(srv: "OscServer", req: Request) -> list:
    return srv.stats_args()


def _subscribe(srv: "OscServer", req: Request) -> list:
    rate = req.args[0] if req.args else None
    port = req.args[1] if len(req.args) > 1 else None
    return [srv.subscribe(req.sender, rate, port)]


def _unsubscribe(srv: "OscServer", req: Request) -> list:
    if not srv.unsubscribe(req.sender, req.args[0] if req.args else None):
        raise RtCoreError("not subscribed")
    return []


def _namespace(srv: "OscServer", req: Request) -> list:
    return [srv.namespace(req.args[0] if req.args else None)]


# ---- the table ---------------------------------------------------------------------------
_VALUE = Arg("value", "value", "the parameter's range and unit (see Node reference); enum: name or index; "
                               "bool: T/F or 0/1", optional=True)

ADDRESSES: tuple[OscAddress, ...] = (
    OscAddress(NODE_PREFIX + "<name>/<param>", (_VALUE,),
               "Set a parameter of the patch's node `<name>`. No argument: query; reply `f value` "
               "(enums also `s choice`)", _param, timed=True, query=True),
    OscAddress(AI_PREFIX + "{" + ",".join(AI_SHORTCUTS) + "}", (_VALUE,),
               "Shortcuts to the patch's `ai` node (`enable` is its `enabled`); set or query as above",
               _param, timed=True, query=True),
    OscAddress("/rtcore/note", (Arg("channel", "int", "MIDI channel 1–16, 0 = every instrument"),
                                Arg("note", "int", "MIDI note 0–127"),
                                Arg("velocity", "int", "0–127, 0 = note off")),
               "Play (velocity > 0) or release a note, routed like MIDI", _note, timed=True),
    OscAddress("/rtcore/transport/play", (Arg("tempo", "float", "20–300 BPM", optional=True),),
               "Start the musical clock: beat 0 at the next block (or the bundle's time)", _play, timed=True),
    OscAddress("/rtcore/transport/stop", (), "Stop the musical clock and release every note", _stop, timed=True),
    OscAddress("/rtcore/transport/tempo", (Arg("bpm", "float", "20–300 BPM", optional=True),),
               "Change the tempo keeping the beat. No argument: query; reply `f bpm`", _tempo, timed=True, query=True),
    OscAddress("/rtcore/transport/tap", (),
               "Tap tempo: the tempo becomes the median interval of the last taps (from the second tap on; "
               "a pause over 2 s starts again). Reply `f bpm` (nothing after the first tap)", _tap),
    OscAddress("/rtcore/patch/load", (Arg("path", "str", "patch file; relative to the current patch's folder, and "
                                          "inside it or a folder on RTCORE_PATH", optional=True),),
               "Hot reload: swap in the patch at a block boundary (unchanged nodes keep their state); no "
               "argument reloads the current file. Reply `s path`; on error the old patch keeps playing", _load),
    OscAddress("/rtcore/snapshot", (Arg("snapshot", "name_or_program", "a `[[snapshot]]` name, or its program 0–127"),
                                    Arg("glide", "float", "0–60 s (default: the snapshot's own)", optional=True)),
               "Recall a snapshot: float parameters glide, the others switch. Reply `s name`", _snapshot, timed=True),
    OscAddress("/rtcore/learn", (Arg("target", "str", "`node.param`"),),
               "Arm MIDI learn: the next CC received drives this parameter. Reply `s target`", _learn),
    OscAddress("/rtcore/learn/cancel", (), "Disarm MIDI learn", _learn_cancel),
    OscAddress("/rtcore/learn/save", (),
               "Write the learned CC maps to the patch's sidecar (`<patch>.learn.toml`; the patch file is not "
               "touched). Reply `s path`", _learn_save),
    OscAddress("/rtcore/stats", (),
               "Reply: engine and OSC counters as name/value pairs `s name, i|f value, ...`", _stats),
    OscAddress("/rtcore/subscribe", (Arg("rate", "float", "meters per second, 1–100 Hz (default 30)", optional=True),
                                     Arg("port", "int", "where to send, 1–65535 (default: the port it sent from)",
                                         optional=True)),
               f"Send this sender parameter changes (every value once at first and after a reload), meters "
               f"and stats (see below); at most {MAX_SUBSCRIBERS} subscribers. Reply `f rate`", _subscribe),
    OscAddress("/rtcore/unsubscribe", (Arg("port", "int", "as subscribed (default: this sender's subscription)",
                                           optional=True),),
               "Stop sending to this sender", _unsubscribe),
    OscAddress("/rtcore/namespace", (Arg("node", "str", "a node name", optional=True),),
               "Reply `s json` (OSCQuery-style): no argument: every address and the patch's nodes; with a "
               "node: its parameters with ranges, units and current values", _namespace),
)

FIXED: dict[str, OscAddress] = {a.pattern: a for a in ADDRESSES if "<" not in a.pattern and "{" not in a.pattern}
NODE_ADDRESS, AI_ADDRESS = ADDRESSES[0], ADDRESSES[1]

OUTGOING: tuple[tuple[str, str, str], ...] = (
    ("/rtcore/reply", "s address, values ...", "The answer to a query or command, sent to its sender"),
    ("/rtcore/error", "s address, s reason", "A message or datagram was refused (address `?` when it could not "
                                             "be read); the reason is one line. The engine plays on"),
    (NODE_PREFIX + "<name>/<param>", "f value",
     "To subscribers: a parameter changed, from any source (OSC, MIDI CC, snapshot, reload); "
     "the latest value every 10 ms at most"),
    ("/rtcore/meter/<node>", "f peakL, f peakR, f rmsL, f rmsR",
     "To subscribers, at their rate: the node's output level in the last block, dBFS (−120 = silence)"),
    ("/rtcore/stats", "s name, i|f value, ...", "To subscribers, once a second: the `/rtcore/stats` pairs"),
)
"""Messages rtcore sends: (address, arguments, meaning)."""
