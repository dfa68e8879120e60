"""Loads the compiled C core (``rtcore._rtcore``, built by cffi from csrc/)."""
from __future__ import annotations

try:
    from ._rtcore import ffi, lib  # type: ignore[attr-defined]
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "rtcore's C core is not built: run `pip install -e .` (or `make build`) in the "
        f"rtcore checkout ({exc})"
    ) from exc

__all__ = ["ffi", "lib"]
