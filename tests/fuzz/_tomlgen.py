"""A small TOML writer for the structured patch fuzzer: Python values (dict, list, str, int,
float, bool, datetime/date/time) to TOML text that ``tomllib`` reads back as the same values.

Tables are written as ``[header]`` sections and arrays of tables as ``[[header]]`` sections, or
inline (``{ a = 1 }``, ``[{...}, {...}]``) where ``inline()`` says so -- both syntaxes reach the
patch loader. Keys that are not bare (``A-Za-z0-9_-``) are quoted; strings escape their control
characters, so any text round-trips (surrogates excepted: TOML cannot hold them).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Callable

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(doc: dict[str, Any], inline: Callable[[], bool] = lambda: False) -> str:
    """TOML text for ``doc``. ``inline()`` is asked for every table or array of tables below
    the top level: True writes it inline."""
    lines: list[str] = []
    _table(lines, [], doc, False, inline)
    return "\n".join(lines) + "\n"


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(lines: list[str], path: list[str], d: dict[str, Any], array_item: bool,
           inline: Callable[[], bool]) -> None:
    sections = [k for k, v in d.items() if (isinstance(v, dict) or _is_table_array(v)) and not (path and inline())]
    if path:
        header = ".".join(key(k) for k in path)
        lines.append(f"[[{header}]]" if array_item else f"[{header}]")
    for k, v in d.items():
        if k not in sections:
            lines.append(f"{key(k)} = {value(v)}")
    for k in sections:
        v = d[k]
        if isinstance(v, dict):
            _table(lines, path + [k], v, False, inline)
        else:
            for item in v:
                _table(lines, path + [k], item, True, inline)


def key(k: str) -> str:
    return k if _BARE_KEY.match(k) else string(k)


def string(s: str) -> str:
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {type(v).__name__}")
