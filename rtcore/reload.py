"""Hot reload: which nodes of a new graph can take over the live state of the running one.

A node keeps its state (a held note keeps sounding, a reverb tail keeps ringing, the AI keeps its
performance) when its *definition* did not change: same name, type, MIDI channel, text settings
(e.g. the AI's model path), sample zones, and the same value of every parameter that is not
continuous (int, enum and bool parameters may be used when the node is set up, e.g. a voice
count). Continuous (float) parameters may differ: the kept node glides to the new values with the
engine's usual 10 ms smoothing. Everything else starts fresh and is crossfaded as before.

A controller (the AI) and the instruments it sends notes to are kept together or not at all: a
kept AI with a fresh instrument would leave its held chord silent, a kept instrument with a fresh
AI would hold the old AI's notes forever. The C core enforces the same rule at commit.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

import numpy as np

from .graphspec import GraphSpec, NodeSpec, SampleZone
from .params import NodeType, node_types

MASTER = "master"


def stepped_params(nt: NodeType, params: Mapping[str, float]) -> dict[str, float]:
    """Every int/enum/bool parameter of a node of type ``nt``: its value in ``params`` or its
    default (so leaving a parameter out and writing its default compare equal)."""
    return {p.name: float(params.get(p.name, p.default)) for p in nt.params if p.kind != "float"}


def same_zones(a: list[SampleZone], b: list[SampleZone]) -> bool:
    """Same sample zones in the same order: mapping, root, loop points, rate and audio data."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x.note_lo, x.note_hi, x.root, bool(x.loop), x.loop_start, x.loop_end, float(x.sample_rate)) != \
                (y.note_lo, y.note_hi, y.root, bool(y.loop), y.loop_start, y.loop_end, float(y.sample_rate)):
            return False
        if not (x.data is y.data or np.array_equal(np.asarray(x.data), np.asarray(y.data))):
            return False
    return True


def same_definition(old: NodeSpec, new: NodeSpec, types: Mapping[str, NodeType] | None = None) -> bool:
    """True when ``new`` may take over the state of ``old`` (see the module doc); float
    parameter values are not compared."""
    types = types if types is not None else node_types()
    if old.type != new.type or old.channel != new.channel or dict(old.config) != dict(new.config):
        return False
    if dict(old.digests) != dict(new.digests):        # the same model path, another file there now
        return False
    nt = types[new.type]
    return stepped_params(nt, old.params) == stepped_params(nt, new.params) and same_zones(old.samples, new.samples)


def snapshot(spec: GraphSpec) -> GraphSpec:
    """A copy of ``spec`` to compare the next one with: a caller may edit a spec in place and load
    it again. Lists and dicts are copied; sample data arrays are shared (copying them would double
    the memory; they are compared by content, so only an in-place edit of the audio itself would
    go unnoticed)."""
    return GraphSpec(
        nodes=[replace(n, params=dict(n.params), config=dict(n.config), digests=dict(n.digests),
                       samples=[replace(z) for z in n.samples])
               for n in spec.nodes],
        connections=list(spec.connections), master=dict(spec.master),
        event_connections=list(spec.event_connections))


def _event_links(spec: GraphSpec) -> dict[str, set[tuple[str, str]]]:
    """Node name -> its note-event links: ("to", target) for a controller, ("from", source)
    for an instrument."""
    links: dict[str, set[tuple[str, str]]] = {}
    for a, b in spec.event_connections:
        links.setdefault(a, set()).add(("to", b))
        links.setdefault(b, set()).add(("from", a))
    return links


def kept_nodes(old: GraphSpec, new: GraphSpec, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Nodes of ``new`` that take over the state of a node of ``old``: new name -> old name.

    The master limiter is included as ``"master" -> "master"`` when its stepped settings are the
    same. ``exclude``: names of ``old`` nodes that must not be kept (e.g. an AI node whose model
    failed to load, so that a reload can bring it back)."""
    types = node_types()
    skip = set(exclude)
    by_name = {n.name: n for n in old.nodes}
    keep: dict[str, str] = {}
    if MASTER not in skip and stepped_params(types["limiter"], old.master) == stepped_params(types["limiter"], new.master):
        keep[MASTER] = MASTER
    for n in new.nodes:
        o = by_name.get(n.name)
        if o is not None and o.name not in skip and same_definition(o, n, types):
            keep[n.name] = o.name
    # controllers and their instruments: same note links on both sides, all of them kept
    old_links, new_links = _event_links(old), _event_links(new)
    changed = True
    while changed:
        changed = False
        for name in list(keep):
            links = new_links.get(name, set())
            if links != old_links.get(keep[name], set()) or any(other not in keep for _, other in links):
                del keep[name]
                changed = True
    return keep


__all__ = ["kept_nodes", "same_definition", "same_zones", "snapshot", "stepped_params"]
