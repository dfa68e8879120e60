"""Fuzz the OSC packet path: ``rtcore.osc.wire`` parsing and the server's per-datagram handling
(``OscServer._datagram``), driven directly -- no socket -- with a Session on an offline Engine.

An input whose first byte is below 0x80 is one raw datagram. Any other input drives a
structured generator: messages to rtcore's addresses (fixed ones, every node parameter of the
patch, the AI shortcuts, unknown ones) with type tags and arguments that mostly fit the address
and are wrong in one place, and bundles of them (nested, with time tags now, past, ahead and
absurd), some truncated or with broken element sizes.

The contract checked for every datagram, as the receive thread handles it (inside
``Session.batch()``): ``_datagram`` raises nothing; every message in it ends handled or answered
with ``/rtcore/error`` (a datagram that cannot be read: exactly one error); every answer is a
well-formed OSC message; no error reason is an "internal error" or spans lines, nor does any
log line. Subscribers get one push after each datagram (meters, parameters, stats).

    python tests/fuzz/fuzz_osc.py --runs 100000        # or -atheris_runs=1000000
"""
from __future__ import annotations

import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _gen import Gen
from _harness import Finding, Fuzzer, OneInput, check_one_line

STRUCTURED = 0x80
SENDER = ("127.0.0.1", 50000)
OTHER_TAGS = "bNIctmr[]S"        # OSC tags rtcore does not read
PATCH = """
[engine]
tempo = 100

[[node]]
name = "keys"
type = "synth"
wave = "saw"

[[node]]
name = "beat"
type = "drums"
channel = 10

[[node]]
name = "echo"
type = "delay"
sync = "1/8"

[[node]]
name = "room"
type = "reverb"

[[node]]
name = "ai"
type = "ai"
model = "model.onnx"      # not a model: the node stays silent, its parameters still answer
to = "keys"

[[connect]]
from = "keys"
to = "echo"

[[connect]]
from = "echo"
to = "room"

[[midi.cc]]
cc = 74
to = "keys.cutoff"
curve = "exp"
min = 200
max = 8000

[[snapshot]]
name = "dark"
program = 3
glide = 0.05
keys = { cutoff = 500, wave = "square" }
room = { mix = 0.4 }

[[snapshot]]
name = "open"
keys = { cutoff = 6000 }
"""
LOAD_PATHS = ("p.toml", "other.toml", "broken.toml", "missing.toml", "", "/dev/null", "/dev/zero", ".", "sub",
              "p.learn.toml", "~/nope.toml", "x" * 300, "sub/../other.toml")


def write_fixtures(folder: Path) -> Path:
    (folder / "p.toml").write_text(PATCH)
    (folder / "other.toml").write_text('[[node]]\nname = "keys"\ntype = "synth"\n\n[[node]]\nname = "t"\ntype = "tone"\n')
    (folder / "broken.toml").write_text('[[node]]\nname = "keys"\ntype = "synht"\n')
    (folder / "model.onnx").write_bytes(b"not an onnx model")
    (folder / "sub").mkdir(exist_ok=True)
    return folder / "p.toml"


def osc_string(s: str | bytes) -> bytes:
    b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    return b + b"\x00" * (4 - len(b) % 4)


class Datagrams:
    """Builds OSC datagrams from fuzzer bytes for a session's patch."""

    def __init__(self, gen: Gen, session, wall_offset_ns: int) -> None:
        from rtcore.osc.addresses import ADDRESSES, AI_SHORTCUTS, FIXED
        from rtcore.params import node_types

        self.g = gen
        self.session = session
        self.wall_offset_ns = wall_offset_ns
        self.fixed = list(FIXED.values())
        self.node_entry, self.ai_entry = ADDRESSES[0], ADDRESSES[1]
        self.ai_shortcuts = AI_SHORTCUTS
        types = node_types()
        self.params = {n: types[t].params for n, t in session.nodes().items()}

    def datagram(self) -> bytes:
        g = self.g
        d = self.bundle(0) if g.chance(4) else self.message()
        if g.wrong(16):
            k = g.count(3)
            if k == 0:
                d = d[:g.count(len(d))]
            elif k == 1:
                d = d + g.fdp.ConsumeBytes(g.count(8))
            elif k == 2 and d:
                i = g.count(len(d) - 1)
                d = d[:i] + bytes([g.count(255)]) + d[i + 1:]
            else:
                d = b"\x00" * g.count(3) + d
        return d

    def timetag(self) -> int:
        from rtcore._native import lib
        from rtcore.osc.wire import unix_ns_to_ntp

        g = self.g
        k = g.count(5)
        if k == 0:
            return 1
        if k == 1:
            return g.pick((0, 2**64 - 1, 2**63, 1 << 32))
        now_unix = lib.rt_monotonic_ns() + self.wall_offset_ns
        ahead_ms = g.pick((-1000, -1, 0, 1, 5, 50, 500, 10_000, 10**9))
        return unix_ns_to_ntp(now_unix + ahead_ms * 1_000_000)

    def bundle(self, depth: int) -> bytes:
        g = self.g
        out = b"#bundle\x00" + struct.pack(">Q", self.timetag())
        for _ in range(g.count(4)):
            el = self.bundle(depth + 1) if depth < 9 and g.chance(4) else self.message()
            size = len(el) if not g.wrong(16) else g.pick((len(el) + 4, len(el) - 4, 0, -4, len(el) + 1, 2**31 - 1))
            out += struct.pack(">i", size) + el
        return out

    def message(self) -> bytes:
        g = self.g
        k = g.count(7)
        if k <= 2:
            entry = g.pick(self.fixed)
            address, spec, target = entry.pattern, entry.args, None
        elif k <= 5:
            node = g.pick(list(self.params))
            params = self.params[node]
            pname = g.pick([p.name for p in params]) if params and not g.wrong() else g.text(8)
            address = f"/rtcore/node/{node}/{pname}" if not g.wrong(16) else \
                g.pick((f"/rtcore/node/{node}", f"/rtcore/node/{node}/{pname}/x", f"/rtcore/node//{pname}",
                        f"/rtcore/node/{g.text(6)}/{pname}"))
            spec, target = self.node_entry.args, next((p for p in params if p.name == pname), None)
        elif k == 6:
            short = g.pick(list(self.ai_shortcuts)) if not g.wrong() else g.text(6)
            address, spec = f"/rtcore/ai/{short}", self.ai_entry.args
            target = next((p for p in self.params.get("ai", ()) if p.name == self.ai_shortcuts.get(short)), None)
        else:
            address = "/" + g.text(20) + (g.pick("*?[]{}") if g.chance(4) else "")
            spec, target = (), None
        tags, args = self.arguments(address, spec, target)
        return self.encode(address, tags, args)

    def arguments(self, address: str, spec, target) -> tuple[str, list[Any]]:
        g = self.g
        if g.wrong(8):                               # any tags, any values
            tags = "".join(g.pick("ifdhsTF" + OTHER_TAGS) for _ in range(g.count(5)))
            return tags, [self.raw_value(t) for t in tags]
        n = g.count(len(spec))
        if any(not a.optional for a in spec):
            n = max(n, sum(not a.optional for a in spec))
        tags, args = "", []
        for a in spec[:n]:
            t, v = self.argument(address, a.name, a.kind, target)
            tags += t
            args.append(v)
        return tags, args

    def argument(self, address: str, name: str, kind: str, target) -> tuple[str, Any]:
        g = self.g
        ranges = {"channel": (0, 16), "note": (0, 127), "velocity": (0, 127), "tempo": (20, 300), "bpm": (20, 300),
                  "glide": (0, 60), "rate": (1, 100), "port": (1, 65535), "snapshot": (0, 127)}
        if kind == "value" and target is not None:
            v = g.param_value(target)
        elif kind == "str":
            v = {"path": lambda: g.name(LOAD_PATHS), "target": lambda: g.name(self.learn_targets()),
                 "node": lambda: g.name(list(self.params))}.get(name, lambda: g.text())()
        elif kind == "name_or_program":
            v = g.name(("dark", "open")) if g.fdp.ConsumeBool() else g.number(0, 127, True)
        else:
            lo, hi = ranges.get(name, (0, 1))
            v = g.number(lo, hi, integer=kind == "int")
        return self.tag_for(v), v

    def learn_targets(self) -> list[str]:
        return [f"{n}.{p.name}" for n, ps in self.params.items() for p in ps[:3]] or ["keys.cutoff"]

    def tag_for(self, v: Any) -> str:
        g = self.g
        if isinstance(v, bool):
            return "T" if v else "F"
        if isinstance(v, int):
            if -2**31 <= v < 2**31:
                return "i" if not g.chance(6) else g.pick("fdh")
            return "h" if -2**63 <= v < 2**63 else "d"
        if isinstance(v, float):
            return "f" if not g.chance(4) else "d"
        if isinstance(v, str):
            return "s"
        return g.pick("ifs")

    def raw_value(self, tag: str) -> Any:
        g = self.g
        if tag in "ih":
            return g.fdp.ConsumeInt(4 if tag == "i" else 8)
        if tag in "fd":
            return g.fdp.ConsumeFloat()
        if tag == "s":
            return g.text()
        return g.fdp.ConsumeBytes(g.count(12))

    def encode(self, address: str, tags: str, args: list[Any]) -> bytes:
        g = self.g
        out = osc_string(address)
        if tags or not g.chance(8):
            out += osc_string("," + tags)
        for t, v in zip(tags, args):
            out += self.pack(t, v)
        return out

    @staticmethod
    def pack(tag: str, v: Any) -> bytes:
        def num(fmt: str, x: Any, lo: float, hi: float) -> bytes:
            try:
                return struct.pack(fmt, x)
            except (struct.error, OverflowError):
                x = float(x) if fmt in (">f", ">d") else int(min(max(float(x), lo), hi))
                return struct.pack(fmt, x if fmt not in (">f",) or abs(x) < 3.4e38 else float("inf"))

        if tag == "i":
            return num(">i", int(v) if isinstance(v, (int, bool)) else 0, -2**31, 2**31 - 1)
        if tag == "h":
            return num(">q", int(v) if isinstance(v, (int, bool)) else 0, -2**63, 2**63 - 1)
        if tag == "f":
            return num(">f", float(v) if isinstance(v, (int, float)) else 0.0, 0, 0)
        if tag == "d":
            return num(">d", float(v) if isinstance(v, (int, float)) else 0.0, 0, 0)
        if tag == "s":
            return osc_string(str(v))
        if tag in "TFNI[]":
            return b""
        if tag == "b":
            b = v if isinstance(v, bytes) else b""
            return struct.pack(">i", len(b)) + b + b"\x00" * (-len(b) % 4)
        if tag == "t":
            return b"\x00" * 7 + b"\x01"
        return (v if isinstance(v, bytes) else b"")[:4].ljust(4, b"\x00")


def make_target() -> OneInput:
    import atheris
    from rtcore._native import lib
    from rtcore.engine import Engine
    from rtcore.osc import wire
    from rtcore.osc.server import OscServer
    from rtcore.patch import load_patch
    from rtcore.session import Session

    folder = Path(tempfile.mkdtemp(prefix="rtcore-fuzz-osc-files-"))
    path = write_fixtures(folder)
    engine = Engine(48000, 1024)
    session = Session(engine, load_patch(path), live=False)
    base_patch = session.patch
    server = OscServer(session)
    pushed: list[tuple[bytes, tuple]] = []
    server._send = lambda dgram, dest: pushed.append((dgram, dest)) or True   # no socket: keep what is sent
    session.add_param_listener(server.subscribers.on_param)
    log: list[str] = []
    session.add_log_listener(log.append)
    reasons: list[str] = []
    report_error = server._error

    def spy_error(sender, address, reason) -> None:      # the reason as the handler gave it
        reasons.append(str(reason))
        report_error(sender, address, reason)

    server._error = spy_error

    def one_input(data: bytes) -> None:
        nonlocal base_patch
        if not data:
            return
        if data[0] < STRUCTURED:
            dgram = data
        else:
            g = Gen.from_fdp(atheris.FuzzedDataProvider(data[1:]))
            dgram = Datagrams(g, session, server.wall_offset_ns).datagram()
        log.clear()
        reasons.clear()
        pushed.clear()
        before = dict(server._c)
        server._outbox = []
        try:
            with session.batch():
                server._datagram(dgram, SENDER, lib.rt_monotonic_ns())
        except Exception as exc:  # noqa: BLE001 - in the server this becomes an "internal error" reply
            raise Finding(f"_datagram raised {type(exc).__name__}", str(exc)) from exc
        finally:
            outbox, server._outbox = server._outbox, None
        check_answers(dgram, before, dict(server._c), outbox, reasons, wire)
        if len(server.subscribers):
            server.subscribers._push_once(time.monotonic())
            for d, _dest in pushed:
                wire.parse_message(d)                  # every push is a well-formed message
        for line in log:
            check_one_line(line, "log line")
        engine.render(1024, block=256)      # drain the events, finish a reload's crossfade
        # the next input starts from the same state
        (folder / "p.learn.toml").unlink(missing_ok=True)
        session.learn_cancel()
        server.subscribers._subs.clear()
        if session.patch is not base_patch:
            session.load(path)
            base_patch = session.patch
            engine.render(1024, block=256)

    return one_input


def check_answers(dgram: bytes, before: dict, after: dict, outbox: list, reasons: list[str], wire) -> None:
    """Every message ended handled or with one /rtcore/error; the answers are well formed."""
    messages = after["messages"] - before["messages"]
    handled = after["handled"] - before["handled"]
    errors = after["errors"] - before["errors"]
    if messages == 0 and (errors != 1 or handled):
        raise Finding("unread datagram without exactly one error", f"{errors} errors for {dgram[:60]!r}")
    if messages and handled + errors < messages:
        raise Finding("message with neither a handled outcome nor an error",
                      f"{messages} messages, {handled} handled, {errors} errors: {dgram[:60]!r}")
    answered = 0
    for d, _dest in outbox:
        try:
            m = wire.parse_message(d)
        except wire.OscFormatError as exc:
            raise Finding("malformed answer", f"{exc.reason}: {d[:80]!r}") from None
        if m.address == "/rtcore/error":
            answered += 1
            if len(m.args) != 2 or not all(isinstance(a, str) for a in m.args):
                raise Finding("/rtcore/error without address and reason", repr(m.args))
            check_one_line(m.args[1], "OSC error reason")
            if m.args[1].startswith("internal error"):
                raise Finding("internal error: " + m.args[1].split(":", 2)[1].strip(), m.args[1])
        elif m.address != "/rtcore/reply":
            raise Finding("answer to an unexpected address", m.address)
    if answered != errors:
        raise Finding("error count differs from the /rtcore/error answers", f"{errors} vs {answered}")
    for r in reasons:
        check_one_line(r, "OSC error reason")


def seeds(corpus: Path) -> None:
    from rtcore.osc.wire import build, bundle

    samples = [build("/rtcore/node/keys/cutoff", 1200.0), build("/rtcore/node/keys/wave", "square"),
               build("/rtcore/node/keys/cutoff"), build("/rtcore/note", 1, 60, 100), build("/rtcore/note", 0, 60, 0),
               build("/rtcore/transport/play", 120.0), build("/rtcore/transport/stop"),
               build("/rtcore/transport/tempo", 90.0), build("/rtcore/snapshot", "dark", 0.5),
               build("/rtcore/snapshot", 3), build("/rtcore/learn", "keys.cutoff"), build("/rtcore/learn/cancel"),
               build("/rtcore/stats"), build("/rtcore/subscribe", 30.0), build("/rtcore/unsubscribe"),
               build("/rtcore/namespace"), build("/rtcore/namespace", "keys"), build("/rtcore/patch/load", "other.toml"),
               build("/rtcore/ai/temperature", 0.8), build("/rtcore/node/echo/sync", 2),
               bundle(1, build("/rtcore/note", 1, 60, 100), build("/rtcore/node/keys/cutoff", 900.0)),
               bundle(1, bundle(2**63, build("/rtcore/transport/stop")))]
    for i, d in enumerate(samples):
        (corpus / f"seed-{i:02d}").write_bytes(d)
    for i in range(16):
        (corpus / f"seed-structured-{i}").write_bytes(bytes([STRUCTURED + i]) + bytes((i * 53 + k * 7) % 256
                                                                                       for k in range(120)))


TOKENS = (b"/rtcore/", b"node/", b"keys/", b"cutoff\x00\x00", b"#bundle\x00", b",iii", b",f\x00\x00", b",s\x00\x00",
          b",\x00\x00\x00", b"/rtcore/note\x00\x00\x00\x00", b"/rtcore/snapshot", b"/rtcore/patch/load", b"dark",
          b"\x00\x00\x00\x01", b"\x7f\xc0\x00\x00", b"\x7f\x80\x00\x00")

FUZZER = Fuzzer("osc", make_target, seeds, instrument=("rtcore", "pythonosc"), max_len=2048, dictionary=TOKENS)

if __name__ == "__main__":
    sys.exit(FUZZER.main())
