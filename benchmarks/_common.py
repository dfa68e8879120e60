"""Shared bits for the benchmark scripts: timing, medians, one table, flat JSON."""
from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header] + [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}  ({platform.node()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()})")
    for k, r in enumerate(cells):
        print("  ".join(c.ljust(w) if (k == 0 or i == 0) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def write_json(path: str | None, figures: dict[str, float | int]) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {path}")


def looped(events: list, length: int, seconds: float, sample_rate: int) -> list:
    """``events`` (times in frames, a piece ``length`` frames long) repeated to cover ``seconds``."""
    out, k = [], 0
    while k * length < seconds * sample_rate:
        out += [replace(e, time=e.time + k * length) for e in events]
        k += 1
    return out


def require_jack_tools() -> int:
    """0 when jackd, JACK-Client and python-rtmidi are there; else print why and return 2."""
    import shutil
    if shutil.which("jackd") is None:
        print("error: jackd is not installed (apt-get install jackd2)", file=sys.stderr)
        return 2
    try:
        import jack  # noqa: F401
        import rtmidi  # noqa: F401
    except ImportError as exc:
        print(f"error: {exc} (pip install JACK-Client python-rtmidi)", file=sys.stderr)
        return 2
    return 0


def free_server_name(prefix: str) -> str:
    """``<prefix>-<k>``, k the smallest with no server running under that name: unique among
    the running servers, and reused from run to run. jack2 keeps each server's name in a
    registry of 8 slots (/dev/shm/jack-shm-registry) and frees a slot when that server exits
    cleanly -- but a jackd stopped while its clients die with it (this script killed: every
    child gets SIGTERM at once) can leave its slot behind, and jack2 reclaims a dead server's
    slot only for a server of the same name. Names with a PID in them would fill the registry
    a killed run at a time (then no jackd starts on the machine: "Too many servers")."""
    import jack

    from rtcore.devices import quiet_stderr

    for k in range(64):
        name = f"{prefix}-{k}"
        try:
            with quiet_stderr():          # libjack complains when no server answers
                c = jack.Client("rtcore-name-probe", servername=name, no_start_server=True)
        except jack.JackError:
            return name
        c.close()
    raise RuntimeError(f"64 JACK servers named {prefix}-* are running")
