"""rtcore: a real-time plugin host and live performance engine for live AI accompaniment.

The audio thread is C (csrc/); this package builds graphs, loads patches, renders
offline, plays live through PortAudio and exposes the engine's counters.
"""
from __future__ import annotations

from .engine import NOW, Engine, Event, Stats
from .errors import (DeviceError, EngineStateError, FormatError, GraphCycleError, InvalidArgumentError,
                     MediaFileError, NotFoundError, OutOfMemoryError, ParamRangeError, PatchError,
                     PathNotAllowedError, QueueFullError, RtCoreError)
from .graphspec import GraphSpec, NodeSpec, SampleZone
from .params import NodeType, ParamInfo, node_types
from .patch import CCMap, Patch, load_patch

__version__ = "0.1.0"

__all__ = [
    "Engine", "Event", "Stats", "NOW", "GraphSpec", "NodeSpec", "SampleZone", "NodeType", "ParamInfo",
    "node_types", "load_patch", "Patch", "CCMap", "RtCoreError", "DeviceError", "EngineStateError", "FormatError", "GraphCycleError",
    "InvalidArgumentError", "MediaFileError", "NotFoundError", "OutOfMemoryError", "ParamRangeError",
    "PatchError", "PathNotAllowedError", "QueueFullError",
]
