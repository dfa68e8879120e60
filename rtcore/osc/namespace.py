"""The ``/rtcore/namespace`` JSON, OSCQuery-style, from the address table and the live patch.

OSCQuery's tree (``FULL_PATH``, ``CONTENTS``, ``TYPE``, ``RANGE``, ``UNIT``, ``VALUE``,
``ACCESS``, ``DESCRIPTION``) in two parts, so that each reply fits one UDP datagram:

* no node: every fixed address with its arguments, plus each node of the patch as a container
  with its type and parameter names (``NODE_TYPE``, ``PARAMS``) but without its CONTENTS;
* a node: that node's parameters with type, range, unit and current value.

The largest node type (synth, 20 parameters) gives about 4 KB; the index of a 10-node patch
about 5 KB (tested below 8 KB for every shipped patch and node type).
Extra keys: ``ARGUMENTS`` lists every argument (name, accepted type tags, range text,
optional) where OSCQuery's single type tag string cannot say "s or i".
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from ..errors import NotFoundError
from ..params import NodeType, ParamInfo, node_types
from .addresses import AI_PREFIX, AI_SHORTCUTS, NODE_PREFIX
from .spec import OscAddress

ACCESS_WRITE, ACCESS_READ_WRITE = 2, 3
OSC_TYPE = {"float": "f", "int": "i", "enum": "s", "bool": "T"}


def param_entry(path: str, p: ParamInfo, value: float) -> dict[str, Any]:
    """One parameter as an OSCQuery leaf with its current value."""
    e: dict[str, Any] = {"FULL_PATH": path, "TYPE": OSC_TYPE[p.kind], "ACCESS": ACCESS_READ_WRITE}
    if p.kind == "enum":
        e["RANGE"] = [{"VALS": list(p.choices)}]
    elif p.kind == "bool":
        e["RANGE"] = [{"VALS": [False, True]}]
    else:
        e["RANGE"] = [{"MIN": p.min, "MAX": p.max}]
    if p.unit:
        e["UNIT"] = [p.unit]
    display = p.display(value)
    e["VALUE"] = [display]
    if p.doc:
        e["DESCRIPTION"] = p.doc
    return e


def _address_entry(a: OscAddress) -> dict[str, Any]:
    e: dict[str, Any] = {"FULL_PATH": a.pattern,
                         "TYPE": "".join(x.tags.split("|")[0] for x in a.args if not x.optional),
                         "ACCESS": ACCESS_READ_WRITE if a.query else ACCESS_WRITE,
                         "DESCRIPTION": a.doc}
    if a.args:
        e["ARGUMENTS"] = [{"NAME": x.name, "TYPES": x.tags, "RANGE": x.range, "OPTIONAL": x.optional}
                          for x in a.args]
    return e


def _insert(root: dict[str, Any], entry: dict[str, Any]) -> None:
    """Place ``entry`` in the tree under its FULL_PATH, creating containers."""
    parts = entry["FULL_PATH"].strip("/").split("/")
    node = root
    for i, part in enumerate(parts[:-1]):
        node = node.setdefault("CONTENTS", {}).setdefault(part, {"FULL_PATH": "/" + "/".join(parts[:i + 1])})
    leaf = node.setdefault("CONTENTS", {}).setdefault(parts[-1], {})
    leaf.update(entry)


def index(session, addresses: Iterable[OscAddress]) -> dict[str, Any]:
    """The top of the namespace: fixed addresses and the patch's nodes (without parameters)."""
    types = node_types()
    root: dict[str, Any] = {"FULL_PATH": "/", "DESCRIPTION":
                            f"rtcore, patch '{session.patch.name}'; a node's parameters: /rtcore/namespace s <node>"}
    for a in addresses:
        if a.pattern.startswith(NODE_PREFIX) or a.pattern.startswith(AI_PREFIX):
            continue
        _insert(root, _address_entry(a))
    nodes = session.nodes()
    for name, typ in nodes.items():
        _insert(root, {"FULL_PATH": NODE_PREFIX + name, "NODE_TYPE": typ,
                       "PARAMS": types[typ].param_names()})
    ai = ai_node(session)
    if ai is not None:
        values = session.params()[ai]
        for short, real in AI_SHORTCUTS.items():
            _insert(root, param_entry(AI_PREFIX + short, types["ai"].param(real), values[real]))
    return root


def node(session, name: str) -> dict[str, Any]:
    """One node of the patch as a container of its parameters with current values."""
    nodes = session.nodes()
    if name not in nodes:
        raise NotFoundError(f"no node named '{name}' (nodes: {', '.join(nodes)})")
    return node_doc(name, node_types()[nodes[name]], session.params()[name])


def node_doc(name: str, t: NodeType, values: dict[str, float]) -> dict[str, Any]:
    """Node ``name`` of type ``t`` with its parameters' ``values`` (their units)."""
    path = NODE_PREFIX + name
    return {"FULL_PATH": path, "NODE_TYPE": t.name, "DESCRIPTION": t.doc,
            "CONTENTS": {p.name: param_entry(f"{path}/{p.name}", p, values[p.name]) for p in t.params}}


def ai_node(session) -> str | None:
    """The patch's first ``ai`` node, if it has one."""
    return next((n for n, typ in session.nodes().items() if typ == "ai"), None)


def namespace_json(session, addresses: Iterable[OscAddress], name: str | None = None) -> str:
    """The reply of ``/rtcore/namespace`` (``name``: a node, or None for the index); compact JSON."""
    doc = index(session, addresses) if name is None else node(session, name)
    return json.dumps(doc, separators=(",", ":"))
