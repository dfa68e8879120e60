"""Shared fixtures. Unit tests need no audio server; tests/e2e start their own JACK dummy server."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATCHES = ROOT / "patches"


@pytest.fixture
def write_patch(tmp_path):
    """write_patch(text, name="p.toml") -> Path of a patch file in a temp folder."""
    def _write(text: str, name: str = "p.toml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p
    return _write


@pytest.fixture
def patches_dir() -> Path:
    """The shipped patches folder (read only: tests that write sidecar files copy patches first)."""
    return PATCHES
