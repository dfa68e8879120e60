"""Third-party plugins: finding LADSPA libraries and LV2 plugins, loading them as node types,
and listing what is installed (``rtcore plugins``).

A loaded plugin is a node type of its own -- ``ladspa:<library path>:<label>`` or
``lv2:<uri>`` -- whose parameters are its control input ports, read from the C core like every
built-in type (:func:`rtcore.params.node_types`): patches, OSC addresses, CC maps, MIDI learn,
snapshots and hot reload treat them exactly like built-in parameters.

Search paths: LADSPA libraries are looked up on ``LADSPA_PATH`` (colon-separated), else
:data:`LADSPA_DEFAULT_PATH`; LV2 bundles on ``LV2_PATH``, else lilv's default folders
(``~/.lv2``, ``/usr/lib/<triplet>/lv2``, ``/usr/lib/lv2``, ``/usr/local/lib/lv2``).
Every lookup that fails names what it looked for, where, and the nearest names there.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from ._native import ffi, lib
from .errors import NotFoundError, PatchError, check
from .params import NodeType, node_types
from .paths import is_file

LADSPA_DEFAULT_PATH = ("/usr/local/lib/ladspa", "/usr/lib/ladspa", "/usr/lib/x86_64-linux-gnu/ladspa",
                       "~/.ladspa")
LADSPA_MAX_ID = 2**32 - 1          # rt_ladspa_load() takes the unique id as a uint32_t
LADSPA_PREFIX = "ladspa:"
LV2_PREFIX = "lv2:"
FORMATS = ("ladspa", "lv2")


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin. ``where``: the LADSPA library's path or the LV2 URI; ``label`` and
    ``id``: LADSPA's; port counts by kind; ``hostable`` False with the reason in ``problem``."""

    format: str
    where: str
    label: str
    id: int
    name: str
    maker: str
    audio_in: int
    audio_out: int
    control_in: int
    control_out: int
    midi_in: int
    hostable: bool
    problem: str

    @property
    def patch_keys(self) -> dict[str, str]:
        """What a patch's [[node]] says to use it."""
        if self.format == "lv2":
            return {"type": "lv2", "uri": self.where}
        return {"type": "ladspa", "plugin": Path(self.where).name, "label": self.label}


def is_plugin_type(type_name: str) -> bool:
    return type_name.startswith((LADSPA_PREFIX, LV2_PREFIX))


def ladspa_path() -> list[Path]:
    """The folders LADSPA libraries are looked up in (``LADSPA_PATH`` or the default)."""
    raw = os.environ.get("LADSPA_PATH")
    parts = raw.split(":") if raw else list(LADSPA_DEFAULT_PATH)
    return [Path(p).expanduser() for p in parts if p]


def ladspa_libraries() -> list[Path]:
    """Every ``*.so`` in the LADSPA folders (the first of a name wins), sorted by name."""
    seen: dict[str, Path] = {}
    for folder in ladspa_path():
        if folder.is_dir():
            for f in sorted(folder.glob("*.so")):
                seen.setdefault(f.name, f)
    return [seen[k] for k in sorted(seen)]


def _near(word: str, options: list[str], n: int = 3) -> str:
    close = difflib.get_close_matches(word, options, n=n, cutoff=0.5)
    close += [o for o in options if word.lower() in o.lower() and o not in close][: n - len(close)]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def ladspa_library_path(name: str, base: Path | None = None) -> Path | None:
    """The file a patch's ``plugin = name`` means when ``name`` is a path (absolute, ``~``, or
    with a folder part, "./x.so" included: relative to ``base``); None for a bare name looked up on
    the LADSPA path."""
    p = Path(name).expanduser()
    if p.is_absolute() or "/" in name:        # not Path.parts: Path("./x.so").parts is ("x.so",)
        return p if p.is_absolute() else (base or Path.cwd()) / p
    return None


def find_ladspa_library(name: str, base: Path | None = None) -> Path:
    """The LADSPA library ``name``: a path (absolute, or with a folder part: relative to ``base``)
    or a file name looked up on the LADSPA path ("cmt.so", or "cmt")."""
    full = ladspa_library_path(name, base)
    if full is not None:
        if is_file(full):
            return full.resolve()
        raise NotFoundError(f"LADSPA library {full} does not exist", lib.RT_ERR_NOT_FOUND)
    file = name if name.endswith(".so") else f"{name}.so"
    for folder in ladspa_path():
        if is_file(folder / file):
            return (folder / file).resolve()
    names = [f.name for f in ladspa_libraries()]
    where = ":".join(str(f) for f in ladspa_path())
    raise NotFoundError(f"no LADSPA library '{file}' on the LADSPA path ({where}){_near(file, names)}",
                        lib.RT_ERR_NOT_FOUND)


def _info(fmt: str, d) -> PluginInfo:
    s = lambda x: ffi.string(x).decode(errors="replace")  # noqa: E731
    return PluginInfo(fmt, s(d.uri), s(d.label), int(d.id), s(d.name), s(d.maker), d.audio_in, d.audio_out,
                      d.control_in, d.control_out, d.midi_in, bool(d.hostable), s(d.problem))


def describe_ladspa(library: Path) -> list[PluginInfo]:
    """Every plugin of one LADSPA library (raises for a file that is not one)."""
    out, d, err = [], ffi.new("rt_plugin_desc_t *"), ffi.new("char[512]")
    for i in range(10000):
        rc = lib.rt_ladspa_describe(str(library).encode(), i, d, err, 512)
        if rc == lib.RT_ERR_NOT_FOUND:
            break
        check(rc, f"{library}", detail=ffi.string(err).decode())
        out.append(_info("ladspa", d))
    return out


def ladspa_plugins() -> list[PluginInfo]:
    """Every plugin of every LADSPA library on the path (libraries that fail to load are skipped)."""
    out: list[PluginInfo] = []
    for f in ladspa_libraries():
        try:
            out += describe_ladspa(f)
        except Exception:  # noqa: BLE001 - a broken library must not hide the others
            continue
    return out


def lv2_plugins() -> list[PluginInfo]:
    """Every installed LV2 plugin."""
    err = ffi.new("char[512]")
    n = check(lib.rt_lv2_count(err, 512), "scan LV2 plugins", detail=ffi.string(err).decode())
    d = ffi.new("rt_plugin_desc_t *")
    out = []
    for i in range(n):
        check(lib.rt_lv2_describe(i, d), "describe an LV2 plugin")
        out.append(_info("lv2", d))
    return out


def _registered(type_index: int) -> NodeType:
    node_types.cache_clear()                 # a new type: the table is read again
    name = ffi.string(lib.rt_node_type_name(type_index)).decode()
    return node_types()[name]


def load_ladspa(library: Path, label: str | None = None, plugin_id: int | None = None,
                sample_rate: float = 48000.0) -> NodeType:
    """Load plugin ``label`` (or unique id ``plugin_id``) of ``library`` as a node type."""
    err = ffi.new("char[512]")
    rc = lib.rt_ladspa_load(str(library).encode(), (label or "").encode(), int(plugin_id or 0),
                            float(sample_rate), err, 512)
    if rc == lib.RT_ERR_NOT_FOUND and is_file(library):
        plugins = describe_ladspa(library)
        labels = [p.label for p in plugins]
        listing = ", ".join(f"{p.label} ({p.id})" for p in plugins) or "none"
        what = f"labelled '{label}'{_near(label, labels)}" if label else f"with id {plugin_id}"
        raise NotFoundError(f"{library} has no plugin {what} (plugins: {listing})", rc)
    check(rc, f"{library}", detail=ffi.string(err).decode())
    return _registered(rc)


def load_lv2(uri: str, sample_rate: float = 48000.0) -> NodeType:
    """Load the LV2 plugin ``uri`` as a node type."""
    err = ffi.new("char[512]")
    rc = lib.rt_lv2_load(uri.encode(), float(sample_rate), err, 512)
    if rc == lib.RT_ERR_NOT_FOUND:
        installed = lv2_plugins()
        uris = [p.where for p in installed]
        by_name = [p.where for p in installed if uri.rsplit("/", 1)[-1].lower() in p.name.lower()]
        hint = _near(uri, uris) or (f" (did you mean {', '.join(repr(u) for u in by_name[:3])}?)" if by_name else "")
        raise NotFoundError(f"no LV2 plugin <{uri}> is installed{hint} (`rtcore plugins --format lv2` lists "
                            f"{len(uris)})", rc)
    check(rc, f"LV2 plugin <{uri}>", detail=ffi.string(err).decode())
    return _registered(rc)


def ensure_type(type_name: str, sample_rate: float) -> NodeType:
    """The node type ``type_name``, loading its plugin first if it is a plugin type not loaded
    yet in this process (a graph built from a saved spec, another engine)."""
    types = node_types()
    if type_name in types:
        return types[type_name]
    if type_name.startswith(LV2_PREFIX):
        return load_lv2(type_name[len(LV2_PREFIX):], sample_rate)
    if type_name.startswith(LADSPA_PREFIX):
        path, _, label = type_name[len(LADSPA_PREFIX):].rpartition(":")
        return load_ladspa(Path(path), label, sample_rate=sample_rate)
    raise NotFoundError(f"unknown node type '{type_name}'", lib.RT_ERR_NOT_FOUND)


def node_type_for(raw: dict, base: Path, sample_rate: float) -> NodeType:
    """The node type a patch's ``[[node]]`` of type "ladspa" or "lv2" asks for (keys
    ``plugin`` + ``label`` or ``id``; ``uri``). Raises :class:`PatchError`-compatible
    one-line errors (the caller adds the file and table)."""
    for key in ("uri", "plugin", "label"):
        if isinstance(raw.get(key), str) and "\x00" in raw[key]:     # C would read it cut short
            raise PatchError(f"key '{key}' = {raw[key]!r} cannot hold a NUL character")
    if raw.get("type") == "lv2":
        uri = raw.get("uri")
        if not isinstance(uri, str) or not uri:
            raise PatchError("missing key 'uri' (the LV2 plugin's URI; `rtcore plugins --format lv2` lists them)")
        return load_lv2(uri, sample_rate)
    plugin = raw.get("plugin")
    if not isinstance(plugin, str) or not plugin:
        raise PatchError("missing key 'plugin' (a LADSPA library, e.g. plugin = \"cmt.so\"; "
                         "`rtcore plugins --format ladspa` lists them)")
    label, plugin_id = raw.get("label"), raw.get("id")
    if label is None and plugin_id is None:
        raise PatchError("give the plugin's 'label' (or its unique 'id')")
    if label is not None and not isinstance(label, str):
        raise PatchError(f"key 'label' must be text (got {label!r})")
    if plugin_id is not None and (isinstance(plugin_id, bool) or not isinstance(plugin_id, int)
                                  or not 0 < plugin_id <= LADSPA_MAX_ID):
        raise PatchError(f"key 'id' must be a LADSPA unique id, a whole number 1..{LADSPA_MAX_ID} (got {plugin_id!r})")
    library = find_ladspa_library(plugin, base)
    return load_ladspa(library, label, plugin_id, sample_rate)
