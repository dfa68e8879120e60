"""The built-in node types and their parameter tables, read from the C core.

This is the one table behind patches, OSC addresses, MIDI maps and the docs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ._native import ffi, lib

KIND_NAMES = {0: "float", 1: "int", 2: "enum", 3: "bool"}


@dataclass(frozen=True)
class ParamInfo:
    """One parameter: ``name``, ``unit`` ("Hz", "dB", "ms" ...), range ``min``..``max``,
    ``default``, ``kind`` ("float" smoothed; "int"/"enum"/"bool" stepped), ``choices``
    for enums, and ``doc``."""

    index: int
    name: str
    unit: str
    min: float
    max: float
    default: float
    kind: str
    choices: tuple[str, ...]
    doc: str

    def coerce(self, value: object) -> float:
        """Convert a patch/OSC value to the float the engine takes.

        Enums accept a choice name or its index; bools accept true/false/0/1.
        Raises ``ValueError`` naming the allowed values when ``value`` does not fit.
        """
        if self.kind == "enum":
            if isinstance(value, str):
                if value in self.choices:
                    return float(self.choices.index(value))
                raise ValueError(f"must be one of {', '.join(self.choices)} (got {value!r})")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < len(self.choices) \
                    and float(value).is_integer():       # range first: float() of a huge int overflows
                return float(value)
            raise ValueError(f"must be one of {', '.join(self.choices)} (got {value!r})")
        if self.kind == "bool":
            if isinstance(value, bool) or value in (0, 1):
                return 1.0 if value else 0.0
            raise ValueError(f"must be true or false (got {value!r})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number {self.range_text()} (got {value!r})")
        if not (self.min <= value <= self.max):       # before float(): a huge int would overflow
            raise ValueError(f"must be within {self.range_text()} (got {value!r})")
        v = float(value)
        if self.kind == "int" and not v.is_integer():
            raise ValueError(f"must be a whole number {self.range_text()} (got {value!r})")
        return v

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        fmt = (lambda x: f"{x:g}")
        return f"{fmt(self.min)}..{fmt(self.max)}{unit}"

    def display(self, value: float) -> object:
        """The patch-file form of an engine value (enum name, bool, int or float)."""
        if self.kind == "enum":
            return self.choices[int(value)]
        if self.kind == "bool":
            return bool(value)
        if self.kind == "int":
            return int(value)
        return float(value)


@dataclass(frozen=True)
class NodeType:
    """A built-in node type (``synth``, ``reverb`` ...) and its parameters."""

    index: int
    name: str
    doc: str
    flags: int
    params: tuple[ParamInfo, ...] = field(default_factory=tuple)

    @property
    def is_instrument(self) -> bool:
        return bool(self.flags & lib.RT_NODE_RECEIVES_NOTES)

    @property
    def is_controller(self) -> bool:
        """Emits note events to other nodes (the AI accompanist)."""
        return bool(self.flags & lib.RT_NODE_CONTROLLER)

    @property
    def takes_audio(self) -> bool:
        return bool(self.flags & (lib.RT_NODE_TAKES_AUDIO | lib.RT_NODE_MULTI_INPUT))

    @property
    def takes_samples(self) -> bool:
        return bool(self.flags & lib.RT_NODE_TAKES_SAMPLES)

    def param(self, name: str) -> ParamInfo:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def param_names(self) -> list[str]:
        return [p.name for p in self.params]


def _f32(x: float) -> float:
    """C stores float32: show -0.3, not -0.30000001192092896."""
    return float(f"{float(x):.7g}")


@lru_cache(maxsize=1)
def node_types() -> dict[str, NodeType]:
    """Every built-in node type by name, with its parameter table."""
    out: dict[str, NodeType] = {}
    info = ffi.new("rt_param_info_t *")
    for t in range(lib.rt_node_type_count()):
        params = []
        for p in range(lib.rt_node_type_param_count(t)):
            lib.rt_node_type_param_info(t, p, info)
            choices = ffi.string(info.choices).decode() if info.choices else ""
            params.append(ParamInfo(
                index=p,
                name=ffi.string(info.name).decode(),
                unit=ffi.string(info.unit).decode() if info.unit else "",
                min=_f32(info.min), max=_f32(info.max), default=_f32(getattr(info, "def")),
                kind=KIND_NAMES.get(info.kind, "float"),
                choices=tuple(choices.split("|")) if choices else (),
                doc=ffi.string(info.doc).decode() if info.doc else "",
            ))
        name = ffi.string(lib.rt_node_type_name(t)).decode()
        doc = lib.rt_node_type_doc(t)
        out[name] = NodeType(t, name, ffi.string(doc).decode() if doc else "", lib.rt_node_type_flags(t),
                             tuple(params))
    return out
