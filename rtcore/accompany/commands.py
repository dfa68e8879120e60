"""CLI commands of the AI accompanist (`rtcore train`, `rtcore evaluate`), registered by rtcore.cli."""
from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to the `rtcore` parser."""
    return None
