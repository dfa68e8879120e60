"""Patches: TOML files describing the rig (engine settings, nodes, connections, MIDI CC maps).

A patch is validated completely before anything touches the engine. Every error is a
:class:`PatchError` on one line naming the file, the table, the key and what is allowed,
e.g. ``patches/keys.toml: [[node]] 'pad' key 'cutof': not a synth parameter (allowed: ...)``.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import midi_spec
from .allowed_paths import check_patch_file
from .errors import PatchError, PathNotAllowedError, RtCoreError
from .graphspec import GraphSpec, NodeSpec, SampleZone
from .params import NodeType, ParamInfo, node_types
from .paths import is_file, read_regular_file
from .plugins import is_plugin_type, ladspa_library_path, node_type_for

ENGINE_KEYS = {
    "sample_rate": "Hz, 8000..192000",
    "block": "frames per callback, 1..4096",
    "tempo": "BPM, 20..300",
    "limiter": "true/false: the master limiter",
    "ceiling": "dB, master limiter ceiling -24..0",
    "release": "ms, master limiter release 1..2000",
    "tail": "s, extra seconds rendered after the last event, 0..60",
    "name": "text",
}
TOP_LEVEL = ("engine", "node", "connect", "midi", "snapshot", "clock")
CLOCK_KEYS = {        # [clock]: where the tempo and the beat come from (rtcore/sync.py)
    "source": "\"internal\" (default: the patch's tempo, OSC, tap), \"link\" (an Ableton Link session on the "
              "network) or \"midi\" (MIDI clock into \"rtcore in\")",
    "quantum": "beats per bar shared with a Link session (1-16, default 4): phases agree modulo this",
}
CLOCK_SOURCES = ("internal", "link", "midi")
NODE_KEYS = ("name", "type", "channel", "sample")
AI_KEYS = ("model", "to")
PLUGIN_KEYS = {"ladspa": ("plugin", "label", "id"), "lv2": ("uri",)}   # type = "ladspa" / "lv2"
SAMPLE_KEYS = ("file", "note", "notes", "root", "loop", "loop_start", "loop_end")
CC_KEYS = {       # [[midi.cc]] keys: these texts are the README's MIDI mapping table
    "cc": "controller number 0-119, or \"pressure\" (channel aftertouch)",
    "channel": "MIDI channel 1-16; 0 = any (default)",
    "to": "\"node.param\": the parameter it moves",
    "min": "parameter value at CC 0 (default: the parameter's minimum)",
    "max": "parameter value at CC 127 (default: the parameter's maximum); min > max turns the knob around",
    "curve": "\"lin\" (default), \"exp\" (equal ratios per step: Hz, times) or \"log\" (fast at first)",
    "takeover": "true (default): soft takeover -- after a snapshot, OSC or a reload moved the parameter, the knob "
                "acts only once it reaches the current value (no jump); false: it acts at once",
}
CURVES = ("lin", "exp", "log")
MIDI_KEYS = {
    "cc": "[[midi.cc]] tables: CC maps",
    "latency": "\"lowest\" (apply at the next block) or \"fixed\" (exactly one block later -- or fixed_blocks: "
               "no jitter)",
    "clock_out": "true/false: send MIDI clock (24 per beat) and start/stop on \"rtcore out\"",
    "fixed_blocks": "blocks of delay in \"fixed\" mode (1-16, default 1); more when a busy machine delivers "
                    "input late (`events_late` counts it)",
}
LATENCY_MODES = ("lowest", "fixed")
SNAPSHOT_KEYS = {
    "name": "the snapshot's name (OSC `/rtcore/snapshot s`)",
    "program": "MIDI program change 0-127 that recalls it (default: its position, from 0)",
    "glide": "seconds the float parameters take to reach their values (0-60, default 0); others switch at once",
}
LEARN_SUFFIX = ".learn.toml"     # MIDI-learn sidecar: keys.toml -> keys.learn.toml
MAX_PATCH_BYTES = 4 * 1024 * 1024   # a patch is a few KB: a bigger "patch" is a mistake (or /dev/zero)
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,46}$")


@dataclass(frozen=True)
class CCMap:
    """MIDI CC ``cc`` (0-119, or :data:`~rtcore.midi_spec.PRESSURE_CC` for channel pressure) on
    ``channel`` (0 = any) drives ``node.param`` between ``min`` and ``max`` (the parameter's
    unit) along ``curve`` (lin, exp, log)."""

    cc: int
    channel: int
    node: str
    param: str
    min: float
    max: float
    curve: str = "lin"
    stepped: bool = False      # int / enum / bool parameter: the value is rounded
    takeover: bool = True      # soft takeover: the knob acts once it reaches the current value
    learned: bool = False      # made by MIDI learn (saved to the sidecar file, not the patch)

    def value(self, cc_value: int) -> float:
        """Parameter value for a CC value 0-127."""
        x = max(0, min(127, cc_value)) / 127.0
        if self.curve == "exp":
            v = self.min * (self.max / self.min) ** x
        else:
            if self.curve == "log":
                x = math.log1p(9.0 * x) / math.log(10.0)
            v = self.min + (self.max - self.min) * x
        return float(round(v)) if self.stepped else v


@dataclass
class Patch:
    """A validated patch. ``graph`` is what the engine builds; times in frames, rates in Hz."""

    path: Path
    name: str
    sample_rate: int = 48000
    block: int = 128
    tempo: float = 120.0
    tail: float = 2.0
    graph: GraphSpec = field(default_factory=GraphSpec)
    cc_maps: list[CCMap] = field(default_factory=list)
    uses_input: bool = False
    latency: str = "lowest"          # live MIDI/OSC timing: "lowest" or "fixed"
    clock_out: bool = False          # MIDI clock on the output port
    clock_source: str = "internal"   # [clock] source: internal | link | midi
    quantum: float = 4.0             # [clock] quantum: beats per bar shared over Link
    fixed_blocks: int = 1            # "fixed" latency: this many blocks
    snapshots: list["Snapshot"] = field(default_factory=list)
    allow_any_path: bool = False     # loaded with --allow-any-path (reloads keep it)

    def referenced_files(self) -> list[Path]:
        """The files the patch's nodes read besides the patch itself: AI models and samples
        (``--watch`` reloads when one of them changes)."""
        out: list[Path] = []
        for n in self.graph.nodes:
            names = [n.config["model"]] if "model" in n.config else []
            names += [z.source for z in n.samples if z.source]
            for name in names:
                if Path(name) not in out:
                    out.append(Path(name))
        return out

    @property
    def learn_path(self) -> Path:
        """The MIDI-learn sidecar file next to the patch (``keys.toml`` -> ``keys.learn.toml``)."""
        return self.path.with_name(self.path.stem + LEARN_SUFFIX)

    def snapshot(self, name: str) -> "Snapshot":
        for s in self.snapshots:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class Snapshot:
    """A named set of parameter values, recalled by MIDI program change ``program`` (0-127)
    or by name over OSC; float parameters glide over ``glide`` seconds, others switch at once.
    ``values``: {(node, param): value in the parameter's unit (enums as indices)}."""

    name: str
    program: int
    glide: float
    values: dict[tuple[str, str], float]


class _Ctx:
    """Builds error messages that name the file and the table; checks the files a patch names."""

    def __init__(self, path: Path, allow_any_path: bool = False) -> None:
        self.path = path
        self.allow_any_path = allow_any_path

    def fail(self, table: str, msg: str) -> PatchError:
        return PatchError(f"{self.path}: {table}: {msg}")

    def named_file(self, table: str, key: str, name: str) -> Path:
        """The file ``name`` (absolute, or relative to the patch's folder) resolved, if the patch
        may read it (:mod:`rtcore.allowed_paths`); checked before it is opened."""
        if "\x00" in name:           # TOML allows it ("\u0000"); a file name cannot hold it
            raise self.fail(table, f"key '{key}' = {name!r}: a file name cannot hold a NUL character")
        folder = self.path.parent
        if self.allow_any_path:
            return (folder / name).resolve()
        try:
            return check_patch_file(Path(name), folder)
        except PathNotAllowedError as exc:
            raise PathNotAllowedError(f"{self.path}: {table}: key '{key}': {exc}") from None


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed(options: list[str] | tuple[str, ...]) -> str:
    return ", ".join(options) if options else "none"


def _number(ctx: _Ctx, table: str, key: str, value: Any, lo: float, hi: float, integer: bool = False,
            unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.fail(table, f"key '{key}' must be a number {lo:g}..{hi:g}{unit} (got {value!r})")
    if not (lo <= value <= hi):     # first: an int of any size compares exactly, float() would overflow
        raise ctx.fail(table, f"key '{key}' = {value!r} is out of range: allowed {lo:g}..{hi:g}{unit}")
    if integer and not float(value).is_integer():
        raise ctx.fail(table, f"key '{key}' must be a whole number {lo:g}..{hi:g}{unit} (got {value!r})")
    return float(value)


def load_patch(path: str | Path, sample_rate: int | None = None, allow_any_path: bool = False) -> Patch:
    """Read and validate a patch file. ``sample_rate`` (Hz) overrides the patch's own.
    ``allow_any_path``: the files the patch names (model, samples, a LADSPA library given as a
    path, the MIDI-learn sidecar) may lie anywhere; by default they must lie in the patch's
    folder, on RTCORE_PATH or in a LADSPA folder (:mod:`rtcore.allowed_paths`).

    Raises :class:`PatchError` (one line naming file, table, key, allowed values);
    :class:`~rtcore.errors.PathNotAllowedError` for a file outside those folders."""
    path = Path(path)
    ctx = _Ctx(path)
    text = _read_toml_bytes(path, "patch")
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise PatchError(f"{path}: not a text (UTF-8) file; a patch is TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise PatchError(f"{path}: TOML syntax error: {exc}") from None
    return parse_patch(doc, path, sample_rate, allow_any_path)


def _read_toml_bytes(path: Path, what: str) -> bytes:
    """The bytes of a patch (or MIDI-learn) file; one-line PatchError if it cannot be read."""
    try:
        return read_regular_file(path, MAX_PATCH_BYTES)
    except FileNotFoundError:
        raise PatchError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise PatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:       # a device, a FIFO, a huge file
        raise PatchError(f"{path}: cannot read: {exc} (a {what} is a small TOML text file)") from None


def parse_patch(doc: dict[str, Any], path: Path, sample_rate: int | None = None,
                allow_any_path: bool = False) -> Patch:
    """Validate an already-parsed TOML document (see :func:`load_patch`); relative file names
    start from ``path``'s folder."""
    ctx = _Ctx(path, allow_any_path)
    for key in doc:
        if key not in TOP_LEVEL:
            raise ctx.fail("top level", f"unknown table '{key}'{_suggest(key, list(TOP_LEVEL))} "
                                        f"(allowed: {_allowed(TOP_LEVEL)})")
    patch = Patch(path=path, name=path.stem, allow_any_path=allow_any_path)
    master: dict[str, float] = {}

    # ---- [engine]
    eng = doc.get("engine", {})
    if not isinstance(eng, dict):
        raise ctx.fail("[engine]", "must be a table")
    for key, value in eng.items():
        t = "[engine]"
        if key == "sample_rate":
            patch.sample_rate = int(_number(ctx, t, key, value, 8000, 192000, True, " Hz"))
        elif key == "block":
            patch.block = int(_number(ctx, t, key, value, 1, 4096, True, " frames"))
        elif key == "tempo":
            patch.tempo = _number(ctx, t, key, value, 20, 300, False, " BPM")
        elif key == "tail":
            patch.tail = _number(ctx, t, key, value, 0, 60, False, " s")
        elif key == "limiter":
            if not isinstance(value, bool):
                raise ctx.fail(t, f"key 'limiter' must be true or false (got {value!r})")
            master["enabled"] = 1.0 if value else 0.0
        elif key in ("ceiling", "release"):
            p = node_types()["limiter"].param(key)
            master[key] = _number(ctx, t, key, value, p.min, p.max, False, f" {p.unit}")
        elif key == "name":
            if not isinstance(value, str):
                raise ctx.fail(t, f"key 'name' must be text (got {value!r})")
            patch.name = value
        else:
            raise ctx.fail(t, f"unknown key '{key}'{_suggest(key, list(ENGINE_KEYS))} "
                              f"(allowed: {_allowed(list(ENGINE_KEYS))})")
    if sample_rate is not None:
        patch.sample_rate = int(sample_rate)

    # ---- [[node]]
    nodes_raw = doc.get("node", [])
    if not isinstance(nodes_raw, list):
        raise ctx.fail("[[node]]", "nodes are written as [[node]] tables (an array of tables)")
    types = node_types()
    graph = GraphSpec(master=master)
    for i, raw in enumerate(nodes_raw, 1):
        graph.nodes.append(_parse_node(ctx, i, raw, types, graph, patch))
        if is_plugin_type(graph.nodes[-1].type):
            types = node_types()                     # the plugin's type was registered just now
    if not graph.nodes:
        raise ctx.fail("[[node]]", "the patch has no nodes: add at least one [[node]] with a name and a type")

    # ---- the AI's notes go to instruments (key 'to' of an ai node)
    names = [n.name for n in graph.nodes]
    for n in graph.nodes:
        targets = n.config.pop("to", None)
        if targets is None:
            continue
        for tname in targets.split(","):
            t = f"[[node]] '{n.name}'"
            if tname not in names:
                raise ctx.fail(t, f"key 'to' = '{tname}' is not a node{_suggest(tname, names)} (nodes: {_allowed(names)})")
            tt = types[graph.node(tname).type]
            if not tt.is_instrument or tt.is_controller:
                raise ctx.fail(t, f"key 'to' = '{tname}': a {tt.name} cannot play notes (choose an instrument)")
            graph.event_connections.append((n.name, tname))

    # ---- [[connect]]
    conns_raw = doc.get("connect", [])
    if not isinstance(conns_raw, list):
        raise ctx.fail("[[connect]]", "connections are written as [[connect]] tables with from/to")
    for i, raw in enumerate(conns_raw, 1):
        t = f"[[connect]] #{i}"
        if not isinstance(raw, dict):
            raise ctx.fail(t, "must be a table with keys from, to")
        for key in raw:
            if key not in ("from", "to"):
                raise ctx.fail(t, f"unknown key '{key}' (allowed: from, to)")
        ends = []
        for key in ("from", "to"):
            if key not in raw:
                raise ctx.fail(t, f"missing key '{key}' (a node name: {_allowed(names)})")
            v = raw[key]
            if v == "master" and key == "to":
                ends.append(v)
                continue
            if not isinstance(v, str) or v not in names:
                raise ctx.fail(t, f"key '{key}' = {v!r} is not a node{_suggest(str(v), names)} "
                                  f"(nodes: {_allowed(names + (['master'] if key == 'to' else []))})")
            ends.append(v)
        src, dst = ends
        if src == dst:
            raise ctx.fail(t, f"'{src}' cannot feed itself")
        if dst != "master" and not types[graph.node(dst).type].takes_audio:
            raise ctx.fail(t, f"key 'to' = '{dst}': a {graph.node(dst).type} takes no audio input "
                              f"(connect into an effect, a mixer or master)")
        if (src, dst) not in graph.connections:
            graph.connections.append((src, dst))
    cycle = _find_cycle(names, graph.connections)
    if cycle:
        raise ctx.fail("[[connect]]", "the connections make a cycle: " + " -> ".join(cycle))

    # ---- [midi] / [[midi.cc]]
    midi = doc.get("midi", {})
    if not isinstance(midi, dict):
        raise ctx.fail("[midi]", "must be a table")
    for key, value in midi.items():
        if key not in MIDI_KEYS:
            raise ctx.fail("[midi]", f"unknown key '{key}'{_suggest(key, list(MIDI_KEYS))} "
                                     f"(allowed: {_allowed(list(MIDI_KEYS))})")
        if key == "latency":
            if value not in LATENCY_MODES:
                raise ctx.fail("[midi]", f"key 'latency' = {value!r} (allowed: {_allowed(LATENCY_MODES)})")
            patch.latency = value
        elif key == "clock_out":
            if not isinstance(value, bool):
                raise ctx.fail("[midi]", f"key 'clock_out' must be true or false (got {value!r})")
            patch.clock_out = value
        elif key == "fixed_blocks":
            patch.fixed_blocks = int(_number(ctx, "[midi]", key, value, 1, 16, True, " blocks"))
    cc_raw = midi.get("cc", []) or []
    if not isinstance(cc_raw, list):
        raise ctx.fail("[midi]", "CC maps are written as [[midi.cc]] tables")
    for i, raw in enumerate(cc_raw, 1):
        patch.cc_maps.append(_parse_cc(ctx, i, raw, graph, types))

    # ---- [clock]
    clock = doc.get("clock", {})
    if not isinstance(clock, dict):
        raise ctx.fail("[clock]", "must be a table")
    for key, value in clock.items():
        if key not in CLOCK_KEYS:
            raise ctx.fail("[clock]", f"unknown key '{key}'{_suggest(key, list(CLOCK_KEYS))} "
                                      f"(allowed: {_allowed(list(CLOCK_KEYS))})")
        if key == "source":
            if value not in CLOCK_SOURCES:
                raise ctx.fail("[clock]", f"key 'source' = {value!r} (allowed: {_allowed(CLOCK_SOURCES)})")
            patch.clock_source = value
        else:
            patch.quantum = _number(ctx, "[clock]", key, value, 1, 16, False, " beats")

    # ---- [[snapshot]]
    snaps_raw = doc.get("snapshot", [])
    if not isinstance(snaps_raw, list):
        raise ctx.fail("[[snapshot]]", "snapshots are written as [[snapshot]] tables")
    for i, raw in enumerate(snaps_raw):
        patch.snapshots.append(_parse_snapshot(ctx, i, raw, graph, types, patch.snapshots))

    # MIDI learn's sidecar file: its maps replace the patch's maps of the same CC and channel
    if path.name.endswith(LEARN_SUFFIX):
        raise ctx.fail("top level", f"this is a MIDI-learn sidecar file; load the patch it belongs to")
    sidecar = patch.learn_path
    if (sidecar.is_symlink() or sidecar.exists()) and not allow_any_path:   # a link out is refused, not followed
        try:
            sidecar = check_patch_file(sidecar, path.parent)
        except PathNotAllowedError as exc:
            raise PathNotAllowedError(f"{path}: its MIDI-learn sidecar {patch.learn_path.name}: {exc}") from None
    if is_file(sidecar):
        learned = load_learned(sidecar, graph, types)
        keys = {(m.cc, m.channel) for m in learned}
        patch.cc_maps = [m for m in patch.cc_maps if (m.cc, m.channel) not in keys] + learned

    # the engine tempo reaches every tempo-aware node that does not set its own
    for n in graph.nodes:
        nt = types[n.type]
        if "tempo" in nt.param_names() and "tempo" not in n.params:
            n.params["tempo"] = patch.tempo
    patch.graph = graph
    return patch


def _parse_node(ctx: _Ctx, i: int, raw: Any, types: dict[str, NodeType], graph: GraphSpec,
                patch: Patch) -> NodeSpec:
    t = f"[[node]] #{i}"
    if not isinstance(raw, dict):
        raise ctx.fail(t, "must be a table")
    name = raw.get("name")
    if name is None:
        raise ctx.fail(t, "missing key 'name' (a unique name, e.g. name = \"pad\")")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ctx.fail(t, f"key 'name' = {name!r}: use a letter then letters, digits, _ or - (max 47)")
    t = f"[[node]] '{name}'"
    if name == "master":
        raise ctx.fail(t, "key 'name': 'master' is reserved for the master limiter (set it in [engine])")
    if any(n.name == name for n in graph.nodes):
        raise ctx.fail(t, "key 'name': another node already has this name")
    typ = raw.get("type")
    type_names = (sorted(tn for tn in types if tn != "limiter" and not is_plugin_type(tn)) + ["limiter"]
                  + list(PLUGIN_KEYS))
    if typ is None:
        raise ctx.fail(t, f"missing key 'type' (allowed: {_allowed(type_names)})")
    if not isinstance(typ, str) or typ not in type_names:
        raise ctx.fail(t, f"key 'type' = {typ!r} is not a node type{_suggest(str(typ), type_names)} "
                          f"(allowed: {_allowed(type_names)})")
    plugin_keys: tuple[str, ...] = ()
    if typ in PLUGIN_KEYS:                 # a third-party plugin: its own node type, loaded now
        plugin_keys = PLUGIN_KEYS[typ]
        for key in raw:
            if key in ("uri",) + PLUGIN_KEYS["ladspa"] and key not in plugin_keys:
                raise ctx.fail(t, f"key '{key}' is for {'an LV2' if typ == 'ladspa' else 'a LADSPA'} plugin "
                                  f"(a {typ} node takes {_allowed(plugin_keys)})")
        plugin = raw.get("plugin")
        if typ == "ladspa" and isinstance(plugin, str) and plugin:
            library = ladspa_library_path(plugin, patch.path.parent)
            if library is not None:          # a path, not a name on LADSPA_PATH: loading it runs its code
                raw = {**raw, "plugin": str(ctx.named_file(t, "plugin", str(library)))}   # load what was checked
        try:
            nt = node_type_for(raw, patch.path.parent, patch.sample_rate)
        except RtCoreError as exc:
            raise ctx.fail(t, str(exc)) from None
        spec = NodeSpec(name=name, type=nt.name)
        typ = f"{typ} plugin"               # how the messages below name it
    else:
        nt = types[typ]
        spec = NodeSpec(name=name, type=typ)
    if typ == "input":
        patch.uses_input = True
    for key, value in raw.items():
        if key in ("name", "type") or key in plugin_keys:
            continue
        if key == "channel":
            if not nt.is_instrument:
                raise ctx.fail(t, f"key 'channel': a {typ} receives no notes (only instruments have a channel)")
            spec.channel = int(_number(ctx, t, key, value, 0, 16, True, " (0 = omni)"))
            continue
        if key in AI_KEYS and nt.is_controller:
            _parse_ai_key(ctx, t, key, value, spec, patch)
            continue
        if key == "sample":
            if not nt.takes_samples:
                raise ctx.fail(t, f"key 'sample': a {typ} plays no samples (use type = \"sampler\")")
            if not isinstance(value, list):
                raise ctx.fail(t, "samples are written as [[node.sample]] tables")
            for k, zraw in enumerate(value, 1):
                spec.samples.append(_parse_sample(ctx, f"{t} [[node.sample]] #{k}", zraw, patch))
            continue
        try:
            p = nt.param(key)
        except KeyError:
            allowed = nt.param_names() + [k for k in NODE_KEYS if k not in ("name", "type")
                                          and (k != "channel" or nt.is_instrument)
                                          and (k != "sample" or nt.takes_samples)]
            if nt.is_controller:
                allowed += list(AI_KEYS)
            allowed += list(plugin_keys)
            raise ctx.fail(t, f"unknown key '{key}': not a {typ} parameter{_suggest(key, allowed)} "
                              f"(allowed: {_allowed(allowed)})") from None
        try:
            spec.params[key] = p.coerce(value)
        except ValueError as exc:
            raise ctx.fail(t, f"key '{key}' {exc}") from None
    if nt.takes_samples and not spec.samples:
        raise ctx.fail(t, "a sampler needs at least one [[node.sample]] with a file")
    if nt.is_controller and "model" not in spec.config:
        raise ctx.fail(t, "missing key 'model' (the step model, e.g. model = \"../models/chorale.onnx\")")
    return spec


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content (hex); "" when it cannot be read (loading it will say why)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return ""
    return h.hexdigest()


def _parse_ai_key(ctx: _Ctx, t: str, key: str, value: Any, spec: NodeSpec, patch: Patch) -> None:
    if key == "model":
        if not isinstance(value, str) or not value:
            raise ctx.fail(t, "key 'model' must be a path to an .onnx step model")
        file = ctx.named_file(t, "model", value)
        if not is_file(file):
            raise ctx.fail(t, f"key 'model': {file} does not exist (train one with `rtcore train`)")
        spec.config["model"] = str(file)
        spec.digests["model"] = file_digest(file)
    else:   # to: the instrument(s) that play the AI's notes; checked once every node is known
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
            raise ctx.fail(t, "key 'to' must be a node name or a list of node names (instruments)")
        spec.config["to"] = ",".join(names)


def _parse_sample(ctx: _Ctx, t: str, raw: Any, patch: Patch) -> SampleZone:
    from .audiofile import read_audio

    if not isinstance(raw, dict):
        raise ctx.fail(t, "must be a table with a file")
    for key in raw:
        if key not in SAMPLE_KEYS:
            raise ctx.fail(t, f"unknown key '{key}'{_suggest(key, list(SAMPLE_KEYS))} "
                              f"(allowed: {_allowed(SAMPLE_KEYS)})")
    f = raw.get("file")
    if not isinstance(f, str) or not f:
        raise ctx.fail(t, "missing key 'file' (a WAV file, relative to the patch's folder)")
    file = ctx.named_file(t, "file", f)
    if not is_file(file):
        raise ctx.fail(t, f"key 'file': {file} does not exist")
    try:
        data, sr = read_audio(file)
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes one clear line
        raise ctx.fail(t, f"key 'file': {exc}") from None
    if data.shape[1] > 2:
        data = data[:, :2]
    lo, hi = 0, 127
    if "note" in raw and "notes" in raw:
        raise ctx.fail(t, "give either 'note' or 'notes', not both")
    if "note" in raw:
        lo = hi = int(_number(ctx, t, "note", raw["note"], 0, 127, True))
    if "notes" in raw:
        v = raw["notes"]
        if not (isinstance(v, list) and len(v) == 2):
            raise ctx.fail(t, f"key 'notes' must be [lowest, highest] MIDI notes 0..127 (got {v!r})")
        lo = int(_number(ctx, t, "notes", v[0], 0, 127, True))
        hi = int(_number(ctx, t, "notes", v[1], lo, 127, True))
    root = int(_number(ctx, t, "root", raw.get("root", lo if lo == hi else 60), 0, 127, True))
    loop = raw.get("loop", False)
    if not isinstance(loop, bool):
        raise ctx.fail(t, f"key 'loop' must be true or false (got {loop!r})")
    n = data.shape[0]
    ls = int(_number(ctx, t, "loop_start", raw.get("loop_start", 0), 0, max(0, n - 1), True, " frames"))
    le = int(_number(ctx, t, "loop_end", raw.get("loop_end", n), 0, n, True, " frames"))
    return SampleZone(data=np.ascontiguousarray(data, dtype=np.float32), sample_rate=float(sr),
                      note_lo=lo, note_hi=hi, root=root, loop=loop, loop_start=ls, loop_end=le,
                      source=str(file))


def _parse_cc(ctx: _Ctx, i: int, raw: Any, graph: GraphSpec, types: dict[str, NodeType]) -> CCMap:
    t = f"[[midi.cc]] #{i}"
    if not isinstance(raw, dict):
        raise ctx.fail(t, "must be a table with cc and to")
    for key in raw:
        if key not in CC_KEYS:
            raise ctx.fail(t, f"unknown key '{key}'{_suggest(key, list(CC_KEYS))} (allowed: {_allowed(list(CC_KEYS))})")
    if "cc" not in raw:
        raise ctx.fail(t, "missing key 'cc' (controller number 0..119, or \"pressure\")")
    if isinstance(raw["cc"], str):
        if raw["cc"] not in midi_spec.CC_NAMES:
            raise ctx.fail(t, f"key 'cc' = {raw['cc']!r} (allowed: a controller number 0..119, or "
                              f"{_allowed(list(midi_spec.CC_NAMES))})")
        cc = midi_spec.CC_NAMES[raw["cc"]]
    else:
        cc = int(_number(ctx, t, "cc", raw["cc"], 0, 127, True))
        if cc in midi_spec.CHANNEL_MODE_CCS:
            raise ctx.fail(t, f"key 'cc' = {cc}: CC 120..127 are MIDI channel mode messages (all notes off, "
                              f"...), not controllers (allowed: 0..119, or \"pressure\")")
    channel = int(_number(ctx, t, "channel", raw.get("channel", 0), 0, 16, True, " (0 = any)"))
    to = raw.get("to")
    if not isinstance(to, str) or "." not in to:
        raise ctx.fail(t, f"key 'to' must be \"node.parameter\" (got {to!r})")
    node_name, pname = to.split(".", 1)
    names = [n.name for n in graph.nodes]
    if node_name not in names:
        raise ctx.fail(t, f"key 'to' = '{to}': no node '{node_name}'{_suggest(node_name, names)} "
                          f"(nodes: {_allowed(names)})")
    nt = types[graph.node(node_name).type]
    try:
        p: ParamInfo = nt.param(pname)
    except KeyError:
        raise ctx.fail(t, f"key 'to' = '{to}': a {nt.name} has no parameter '{pname}'"
                          f"{_suggest(pname, nt.param_names())} (allowed: {_allowed(nt.param_names())})") from None
    lo = _number(ctx, t, "min", raw.get("min", p.min), p.min, p.max, False, f" {p.unit}".rstrip())
    hi = _number(ctx, t, "max", raw.get("max", p.max), p.min, p.max, False, f" {p.unit}".rstrip())
    curve = raw.get("curve", "lin")
    if curve not in CURVES:
        raise ctx.fail(t, f"key 'curve' = {curve!r} (allowed: {_allowed(CURVES)})")
    if curve == "exp" and (lo <= 0 or hi <= 0):
        raise ctx.fail(t, "key 'curve' = 'exp' needs min and max above 0")
    takeover = raw.get("takeover", True)
    if not isinstance(takeover, bool):
        raise ctx.fail(t, f"key 'takeover' must be true or false (got {takeover!r})")
    return CCMap(cc=cc, channel=channel, node=node_name, param=pname, min=lo, max=hi, curve=curve,
                 stepped=p.kind != "float", takeover=takeover)


def _parse_snapshot(ctx: _Ctx, i: int, raw: Any, graph: GraphSpec, types: dict[str, NodeType],
                    earlier: list[Snapshot]) -> Snapshot:
    t = f"[[snapshot]] #{i + 1}"
    if not isinstance(raw, dict):
        raise ctx.fail(t, "must be a table with a name and node = { param = value } entries")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ctx.fail(t, f"key 'name' = {name!r}: a snapshot needs a name (a letter, then letters, digits, _ or -)")
    t = f"[[snapshot]] '{name}'"
    if any(s.name == name for s in earlier):
        raise ctx.fail(t, "key 'name': another snapshot already has this name")
    program = int(_number(ctx, t, "program", raw.get("program", i), 0, 127, True, " (MIDI program)"))
    if any(s.program == program for s in earlier):
        raise ctx.fail(t, f"key 'program' = {program}: another snapshot already answers program {program}")
    glide = _number(ctx, t, "glide", raw.get("glide", 0.0), 0, 60, False, " s")
    names = [n.name for n in graph.nodes]
    values: dict[tuple[str, str], float] = {}
    for key, val in raw.items():
        if key in SNAPSHOT_KEYS:
            continue
        if key == "master":
            nt = types["limiter"]
        elif key in names:
            nt = types[graph.node(key).type]
        else:
            raise ctx.fail(t, f"unknown key '{key}': not a node{_suggest(key, names + list(SNAPSHOT_KEYS))} "
                              f"(allowed: {_allowed(list(SNAPSHOT_KEYS) + names)})")
        if not isinstance(val, dict):
            raise ctx.fail(t, f"key '{key}' must be a table of parameters, e.g. {key} = {{ level = -6 }}")
        for pname, pval in val.items():
            try:
                p = nt.param(pname)
            except KeyError:
                raise ctx.fail(t, f"key '{key}.{pname}': a {nt.name} has no parameter '{pname}'"
                                  f"{_suggest(pname, nt.param_names())} (allowed: {_allowed(nt.param_names())})") from None
            try:
                values[(key, pname)] = p.coerce(pval)
            except ValueError as exc:
                raise ctx.fail(t, f"key '{key}.{pname}' {exc}") from None
    if not values:
        raise ctx.fail(t, "no parameters: add node = { param = value } entries")
    return Snapshot(name=name, program=program, glide=glide, values=values)


def load_learned(path: Path, graph: GraphSpec, types: dict[str, NodeType] | None = None) -> list[CCMap]:
    """The CC maps of a MIDI-learn sidecar file (``[[midi.cc]]`` tables), checked against ``graph``.
    A map whose node no longer exists is an error naming the sidecar file."""
    types = types or node_types()
    ctx = _Ctx(path)
    try:
        doc = tomllib.loads(_read_toml_bytes(path, "MIDI-learn").decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PatchError(f"{path}: cannot read the MIDI-learn file: {exc}") from None
    for key in doc:
        if key != "midi":
            raise ctx.fail("top level", f"unknown table '{key}' (a MIDI-learn file holds only [[midi.cc]])")
    raw = doc.get("midi", {})
    if not isinstance(raw, dict) or set(raw) - {"cc"} or not isinstance(raw.get("cc", []), list):
        raise ctx.fail("[midi]", "a MIDI-learn file holds only [[midi.cc]] tables")
    return [replace(_parse_cc(ctx, i, r, graph, types), learned=True) for i, r in enumerate(raw.get("cc", []), 1)]


def save_learned(path: Path, maps: list[CCMap]) -> None:
    """Write ``maps`` as ``[[midi.cc]]`` tables to the sidecar ``path`` (atomically)."""
    lines = ["# MIDI learn: written by rtcore (/rtcore/learn/save); loaded with the patch next to it.",
             "# Edit freely; a map here replaces the patch's own map of the same cc and channel.", ""]
    for m in maps:
        cc = 'cc = "pressure"' if m.cc == midi_spec.PRESSURE_CC else f"cc = {m.cc}"
        lines += ["[[midi.cc]]", cc, f"channel = {m.channel}", f'to = "{m.node}.{m.param}"',
                  f"min = {m.min!r}", f"max = {m.max!r}", f'curve = "{m.curve}"',
                  f"takeover = {'true' if m.takeover else 'false'}", ""]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), "utf-8")
    tmp.replace(path)


def _find_cycle(names: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    adj: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        if b in adj:
            adj[a].append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in adj[u]:
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for n in names:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None
