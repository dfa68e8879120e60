"""Helpers shared by the node tests: render one node in isolation (master limiter off)."""
from __future__ import annotations

import numpy as np

import rtcore as rc

SR = 48000


def run_effect(node_type: str, params: dict, x: np.ndarray, block: int = 256, events=(),
               sr: int = SR) -> np.ndarray:
    """Feed ``x`` (frames, 2) through one ``node_type`` node named "fx"; ``events`` have times in
    frames from the start. Returns the (frames, 2) output."""
    with rc.Engine(sample_rate=sr, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("in", "input"), rc.NodeSpec("fx", node_type, params)],
                            connections=[("in", "fx")], master={"enabled": 0.0}))
        if events:
            return e.render_events(list(events), len(x), block=block, input=x)
        return e.render(len(x), block=block, input=x)
