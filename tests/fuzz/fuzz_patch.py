"""Fuzz the patch loader, ``rtcore.patch.load_patch``: TOML syntax and the patch semantics.

An input whose first byte is below 0x80 is the patch file itself (raw TOML: the seeds are the
shipped patches, mutated byte by byte). Any other input drives a structured generator that
writes valid TOML with plausible tables, keys and values (node types and their parameters,
sampler zones, connections, CC maps, snapshots, plugins, a MIDI-learn sidecar file), mostly
right and wrong in one place, so the semantic checks run rather than only the TOML parser.
A patch that loads is also built in an offline engine (1 time in 4).

The patch sits in a scratch folder next to the files its keys can name: WAVs (good, garbage,
empty), a model file, another patch, a sub-folder.

    python tests/fuzz/fuzz_patch.py --runs 100000        # or -atheris_runs=1000000
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from _gen import Gen
from _harness import ROOT, Finding, Fuzzer, OneInput, check_one_line
from _tomlgen import dumps

STRUCTURED = 0x80
NODE_NAMES = ("keys", "bass", "room", "mix", "ai", "drums", "smp", "fx", "master", "in", "a-b_1")
FILES = ("kick.wav", "stereo.wav", "garbage.wav", "empty.wav", "missing.wav", "p.toml", "other.toml", "sub",
         "model.onnx", "/dev/null", "../kick.wav", "sub/../kick.wav", "x" * 300, "", "sub/deep/none.wav")
LADSPA_LIBS = ("cmt.so", "cmt", "amp.so", "tap_echo.so", "nope.so", "./garbage.wav", "sub", "/dev/null")
LADSPA_LABELS = ("amp_mono", "amp_stereo", "delay_5s", "tap_stereo_echo", "amp_mon", "")
LADSPA_IDS = (1067, 1068, 2143, 0, -1, 2**32, 2**64, "1067", 1.5)
LV2_URIS = ("http://lv2plug.in/plugins/eg-amp", "http://drobilla.net/plugins/mda/EPiano",
            "http://drobilla.net/plugins/mda/Overdrive", "http://lv2plug.in/plugins/eg-sampler", "")


def write_fixtures(folder: Path) -> None:
    """The files a fuzzed patch can name, in ``folder``."""
    import numpy as np
    import soundfile as sf

    t = np.arange(2400) / 48000.0
    sf.write(folder / "kick.wav", (0.5 * np.sin(2 * np.pi * 80 * t)).astype(np.float32), 48000, "PCM_16")
    sf.write(folder / "stereo.wav", np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32) * 0.3,
             44100, "FLOAT")
    (folder / "garbage.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "model.onnx").write_bytes(b"not an onnx model")   # load_patch only checks that it exists
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "other.toml").write_text('[[node]]\nname = "tone"\ntype = "tone"\n')


class PatchDoc:
    """Builds a patch document (and maybe a MIDI-learn sidecar) from fuzzer bytes: a valid
    patch but for the places where ``gen.wrong()`` says otherwise."""

    def __init__(self, gen: Gen, types: dict) -> None:
        from rtcore.patch import CURVES, ENGINE_KEYS, LATENCY_MODES

        self.g = gen
        self.types = types
        self.builtin = sorted(t for t in types if ":" not in t and t != "limiter")
        self.engine_keys = list(ENGINE_KEYS)
        self.curves = CURVES
        self.latency = LATENCY_MODES
        self.nodes: list[tuple[str, str]] = []          # (name, type) of the nodes written so far

    def build(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        g = self.g
        doc: dict[str, Any] = {}
        if g.fdp.ConsumeBool():
            doc["engine"] = self.engine() if not g.wrong(16) else g.any_value()
        nodes = [self.node() for _ in range(g.count(4) + (0 if g.wrong(32) else 1))]
        doc["node"] = nodes if not g.wrong(32) else g.any_value()
        if g.fdp.ConsumeBool():
            conns = [c for c in (self.connection() for _ in range(1 + g.count(3))) if c]
            if conns:
                doc["connect"] = conns
        if g.fdp.ConsumeBool():
            doc["midi"] = self.midi()
        if g.chance(3):
            doc["snapshot"] = self.snapshots()
        if g.wrong(16):
            doc[g.text(10) if g.fdp.ConsumeBool() else g.pick(("nodes", "connections", "meta"))] = g.any_value()
        sidecar = None
        if g.chance(6):
            sidecar = {"midi": {"cc": [self.cc_map() for _ in range(1 + g.count(2))]}} if not g.wrong(4) else \
                {g.text(6): g.any_value()}
        return doc, sidecar

    def engine(self) -> dict[str, Any]:
        g = self.g
        ranges = {"sample_rate": (8000, 192000, True), "block": (1, 4096, True), "tempo": (20, 300, False),
                  "ceiling": (-24, 0, False), "release": (1, 2000, False), "tail": (0, 60, False)}
        out: dict[str, Any] = {}
        for _ in range(g.count(4)):
            k = g.name(self.engine_keys)
            if k in ranges:
                out[k] = g.number(*ranges[k])
            elif k == "limiter":
                out[k] = g.pick((True, False)) if not g.wrong() else g.pick((1, "on"))
            else:
                out[k] = g.text() if not g.wrong() else g.any_value()
        return out

    def node(self) -> dict[str, Any]:
        g = self.g
        used = {n for n, _ in self.nodes}
        if g.wrong(16):
            name = g.pick((g.text(), "master", "1st", g.scalar()) + tuple(used))
        else:
            free = [n for n in NODE_NAMES if n not in used and n != "master"]
            name = g.pick(free) if free else f"n{len(used)}"
        typ = g.pick(self.builtin + ["ladspa", "lv2"]) if not g.wrong(16) else \
            g.pick(("Synth", "reverb ", "plugin", "limiter", g.text()))
        out: dict[str, Any] = {}
        if not g.wrong(32):
            out["name"] = name
        if not g.wrong(32):
            out["type"] = typ
        if isinstance(name, str) and isinstance(typ, str):
            self.nodes.append((name, typ))
        nt = self.types.get(typ)
        if typ == "sampler" and not g.wrong(8):
            out["sample"] = [self.zone() for _ in range(1 + g.count(1))] if not g.wrong(16) else g.any_value()
        if typ == "ai" and not g.wrong(8):
            out["model"] = "model.onnx" if not g.wrong(4) else g.pick(FILES + (g.scalar(),))
            if g.fdp.ConsumeBool():
                out["to"] = self.instrument_refs()
        if typ == "ladspa":
            lib, label = g.pick((("cmt.so", "amp_mono"), ("cmt", "amp_stereo"), ("tap_echo.so", "tap_stereo_echo")))
            out["plugin"] = lib if not g.wrong(8) else g.pick(LADSPA_LIBS + (g.scalar(),))
            if g.chance(4):
                out["id"] = g.pick(LADSPA_IDS[:2]) if not g.wrong(4) else g.pick(LADSPA_IDS + (g.scalar(),))
                out.pop("plugin") if g.wrong(16) else None
            if "id" not in out or g.wrong(8):
                out["label"] = label if not g.wrong(8) else g.pick(LADSPA_LABELS + (g.scalar(),))
        if typ == "lv2":
            out["uri"] = g.pick(LV2_URIS[:3]) if not g.wrong(8) else g.pick(LV2_URIS + (g.scalar(),))
        if nt is not None and nt.is_instrument and g.chance(3):
            out["channel"] = g.number(0, 16, True)
        for _ in range(g.count(5)):
            if g.wrong(8):
                k = g.pick(("channel", "sample", "model", "to", "plugin", "label", "id", "uri", "gain", "cutof"))
                out[k] = g.number(0, 16, True) if k == "channel" else g.any_value()
            elif nt is not None and nt.params:
                p = g.pick(nt.params)
                out[p.name] = g.param_value(p)
            elif typ == "lv2" and out.get("uri") == LV2_URIS[0]:
                out["gain"] = g.number(-90, 24)        # eg-amp's one control
        return out

    def instrument_refs(self) -> Any:
        g = self.g
        names = [n for n, t in self.nodes if t in self.types and self.types[t].is_instrument
                 and not self.types[t].is_controller]
        if g.wrong(8) or not names:
            return g.pick(([g.text()], [], "nobody", g.scalar()) + tuple(n for n, _ in self.nodes))
        return g.pick(names) if g.fdp.ConsumeBool() else list(dict.fromkeys(g.pick(names) for _ in range(1 + g.count(2))))

    def zone(self) -> dict[str, Any]:
        g = self.g
        out: dict[str, Any] = {}
        if not g.wrong(16):
            out["file"] = g.pick(("kick.wav", "stereo.wav", "sub/../kick.wav")) if not g.wrong(8) else \
                g.pick(FILES + (g.scalar(),))
        if g.fdp.ConsumeBool():
            if g.fdp.ConsumeBool():
                out["note"] = g.number(0, 127, True)
            else:
                lo = g.number(0, 127, True)
                hi = g.number(lo if isinstance(lo, int) and 0 <= lo <= 127 else 0, 127, True)
                out["notes"] = [lo, hi] if not g.wrong(16) else g.pick(([lo], [lo, hi, hi], [hi, lo], "0-127"))
            if g.wrong(32):
                out["notes" if "note" in out else "note"] = 60
        if g.chance(3):
            out["root"] = g.number(0, 127, True)
        if g.chance(3):
            out["loop"] = g.pick((True, False)) if not g.wrong() else g.pick((1, "yes"))
            start = g.number(0, 2399, True)
            out["loop_start"] = start
            out["loop_end"] = g.number(start if isinstance(start, int) and 0 <= start <= 2400 else 0, 2400, True)
        if g.wrong(32):
            out[g.name(("loop_mode", "gain", "pitch"))] = g.any_value()
        return out

    def connection(self) -> dict[str, Any]:
        """From an earlier node into a later one that takes audio (or master): never a cycle."""
        g = self.g
        known = [(i, n, t) for i, (n, t) in enumerate(self.nodes)]
        if not known:
            return {}
        if g.wrong(8):
            names = [n for _, n, _ in known] + ["master", g.text()]
            return {k: g.pick(names) for k in g.pick((("from", "to"), ("from",), ("to",), ("from", "to", "gain")))}
        i, src, _ = g.pick(known)
        sinks = ["master"] + [n for j, n, t in known if j > i and (t in ("ladspa", "lv2") or
                                                                   (t in self.types and self.types[t].takes_audio))]
        return {"from": src, "to": g.pick(sinks)}

    def param_ref(self) -> tuple[str, Any]:
        """"node.param" of a built-in node written so far (or master), and that parameter."""
        g = self.g
        known = [(n, t) for n, t in self.nodes if t in self.types and self.types[t].params] + [("master", "limiter")]
        node, typ = g.pick(known)
        if g.wrong(8):
            return g.pick((f"{node}.{g.text(8)}", f"{g.text(6)}.level", node, f"{node}.")), None
        p = g.pick(self.types[typ].params)
        return f"{node}.{p.name}", p

    def cc_map(self) -> dict[str, Any]:
        g = self.g
        out: dict[str, Any] = {}
        if not g.wrong(16):
            out["cc"] = (g.number(0, 119, True) if not g.chance(6) else "pressure") if not g.wrong() else \
                g.pick(("mod", 74.5, 120, 127, 128, -1))
        if g.fdp.ConsumeBool():
            out["channel"] = g.number(0, 16, True)
        target, p = self.param_ref()
        if not g.wrong(16):
            out["to"] = target if not g.wrong(16) else g.scalar()
        lo, hi = (p.min, p.max) if p is not None else (0.0, 1.0)
        if g.fdp.ConsumeBool():
            out["min"] = g.number(lo, hi)
        if g.fdp.ConsumeBool():
            out["max"] = g.number(lo, hi)
        if g.fdp.ConsumeBool():
            positive = all(isinstance(out.get(k, d), (int, float)) and out.get(k, d) > 0
                           for k, d in (("min", lo), ("max", hi)))
            out["curve"] = g.name(self.curves if positive else ("lin", "log"))
        if g.chance(3):
            out["takeover"] = g.pick((True, False)) if not g.wrong() else g.pick(("yes", 0))
        if g.wrong(32):
            out[g.name(("target", "learned", "cc2"))] = g.any_value()
        return out

    def midi(self) -> dict[str, Any]:
        g = self.g
        out: dict[str, Any] = {}
        if g.fdp.ConsumeBool():
            out["cc"] = [self.cc_map() for _ in range(1 + g.count(3))] if not g.wrong(16) else g.any_value()
        if g.chance(3):
            out["latency"] = g.name(self.latency)
        if g.chance(3):
            out["clock_out"] = g.pick((True, False)) if not g.wrong() else g.pick((1, "true"))
        if g.chance(3):
            out["fixed_blocks"] = g.number(1, 16, True)
        if g.wrong(32):
            out[g.name(("clock", "latencies", "learn"))] = g.any_value()
        return out

    def snapshots(self) -> list[dict[str, Any]]:
        g = self.g
        out: list[dict[str, Any]] = []
        names = ["dry", "hall", "verse", "chorus"]
        for i in range(1 + g.count(2)):
            s: dict[str, Any] = {}
            if not g.wrong(16):
                s["name"] = names[i] if not g.wrong() else g.pick(("dry", "9lives", g.text(), 3))
            if g.fdp.ConsumeBool():
                s["program"] = g.number(0, 127, True) if not g.chance(2) else 10 + i
                if out and not g.wrong(4) and s["program"] in [x.get("program") for x in out]:
                    s["program"] = 100 + i
            if g.fdp.ConsumeBool():
                s["glide"] = g.number(0, 60)
            for _ in range(0 if g.wrong(16) else 1 + g.count(2)):
                target, p = self.param_ref()
                if "." not in target:
                    s[target] = g.scalar()
                    continue
                node, pname = target.split(".", 1)
                table = s.setdefault(node, {})
                if not isinstance(table, dict):
                    continue
                table[pname] = g.param_value(p) if p is not None else g.any_value()
                if g.wrong(32):
                    s[node] = g.scalar()
            out.append(s)
        return out


def make_target() -> OneInput:
    import atheris
    from rtcore.engine import Engine
    from rtcore.params import node_types
    from rtcore.patch import load_patch

    folder = Path(tempfile.mkdtemp(prefix="rtcore-fuzz-patch-files-"))
    write_fixtures(folder)
    path, sidecar = folder / "p.toml", folder / "p.learn.toml"
    engine = Engine(48000, 1024)

    def one_input(data: bytes) -> None:
        if not data:
            return
        if data[0] < STRUCTURED:
            path.write_bytes(data)
            sidecar.unlink(missing_ok=True)
            build = data[-1] % 4 == 0
        else:
            fdp = atheris.FuzzedDataProvider(data[1:])
            g = Gen.from_fdp(fdp)
            doc, learned = PatchDoc(g, node_types()).build()
            path.write_text(dumps(doc, inline=lambda: g.chance(4)), "utf-8")
            if learned is None:
                sidecar.unlink(missing_ok=True)
            else:
                sidecar.write_text(dumps(learned), "utf-8")
            build = data[0] % 4 == 0
        patch = load_patch(path)
        check_patch(patch)
        if build:
            engine.load(patch.graph, ai_errors="warn")
            engine.render(1024, block=256)      # finish the crossfade: the next load must not wait
            for line in engine.warnings:
                check_one_line(line, "engine warning")
            engine.warnings.clear()

    return one_input


def check_patch(patch) -> None:
    """What a loaded patch promises: connections and CC maps name nodes of the patch."""
    names = {n.name for n in patch.graph.nodes}
    for a, b in patch.graph.connections:
        if a not in names or (b not in names and b != "master"):
            raise Finding("connection to an unknown node", f"{a} -> {b}")
    for m in patch.cc_maps:
        if m.node not in names and m.node != "master":
            raise Finding("CC map to an unknown node", m.node)


def seeds(corpus: Path) -> None:
    for f in sorted((ROOT / "patches").glob("*.toml")):
        (corpus / f"seed-{f.stem}").write_bytes(f.read_bytes())
    for i in range(16):                 # structured seeds: the generator from varied bytes
        (corpus / f"seed-structured-{i}").write_bytes(bytes([STRUCTURED + i]) + bytes((i * 37 + k * 11) % 256
                                                                                       for k in range(200)))


TOKENS = (b"[[node]]", b"[engine]", b"[[connect]]", b"[midi]", b"[[midi.cc]]", b"[[snapshot]]",
          b"[[node.sample]]", b"type = ", b"name = ", b"sample_rate", b"\"sampler\"", b"\"synth\"", b"\"ai\"",
          b"\"ladspa\"", b"\"lv2\"", b"to = ", b"from = ", b"\"master\"", b"nan", b"inf", b"1e400",
          b"99999999999999999999", b"\"pressure\"", b"curve = \"exp\"", b"file = \"kick.wav\"")

FUZZER = Fuzzer("patch", make_target, seeds, instrument=("rtcore", "tomllib"), max_len=8192, dictionary=TOKENS)

if __name__ == "__main__":
    sys.exit(FUZZER.main())
