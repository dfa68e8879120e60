"""A validated description of a graph (what a patch becomes), ready to build in C."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SampleZone:
    """A WAV mapped to notes ``note_lo``..``note_hi`` (MIDI 0-127), played at its own
    pitch on ``root``. ``data`` is float32 with shape (frames, channels), channels 1 or 2;
    ``sample_rate`` in Hz. ``loop``: False = one-shot, True = loop ``loop_start``..``loop_end``
    (frames; 0/0 = the whole file)."""

    data: np.ndarray
    sample_rate: float
    note_lo: int = 0
    note_hi: int = 127
    root: int = 60
    loop: bool = False
    loop_start: int = 0
    loop_end: int = 0
    source: str = ""


@dataclass
class NodeSpec:
    """One node: unique ``name``, built-in ``type``, parameter values (engine units,
    enums as indices), MIDI ``channel`` filter (0 = omni, 1-16), sample zones."""

    name: str
    type: str
    params: dict[str, float] = field(default_factory=dict)
    channel: int = 0
    samples: list[SampleZone] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)   # text settings, e.g. the AI's "model"
    # content digests of the files settings name (e.g. {"model": sha256 hex}): a reload notices a
    # file that changed under the same name (a node is kept only while they are the same)
    digests: dict[str, str] = field(default_factory=dict)


@dataclass
class GraphSpec:
    """Nodes in declaration order and connections ``(from_name, to_name)``. Nodes that feed
    nothing are summed into the master limiter (named ``master``). ``event_connections``:
    a controller (the AI) sends its notes to these instruments."""

    nodes: list[NodeSpec] = field(default_factory=list)
    connections: list[tuple[str, str]] = field(default_factory=list)
    master: dict[str, float] = field(default_factory=dict)
    event_connections: list[tuple[str, str]] = field(default_factory=list)  # AI node -> instrument

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)
