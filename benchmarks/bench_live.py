#!/usr/bin/env python3
"""Live benchmark: rtcore on a real (dummy-clocked) JACK server, against the floor.

For each block size it starts its own `jackd -R -P 70 -d dummy -r 48000 -p <block>`
(SCHED_FIFO; falls back to --no-realtime with a note if that fails) under a unique
server name, then
  (a) runs benchmarks/floor_client.c -- a pass-through C client, the least a JACK client
      can do -- for the measuring time and counts the server's xruns: the floor of this
      machine and server configuration;
  (b) runs rtcore on a real patch (--patch, default patches/band.toml; when the patch
      module or file is not available, a graph of built-in nodes: tones -> gain -> master
      limiter) through PortAudio's JACK host API for the same time, counting the server's
      xruns and reading the engine's callback-time percentiles and overruns.
Xruns are counted by a JACK-Client monitor's xrun callback; jackd's own "XRun" log lines
are counted too. Each run gets WARMUP seconds before counting starts (client activation
itself can cause an xrun). Every jackd is stopped by its PID.

Usage: bench_live.py --json PATH [--seconds 60] [--blocks 64,128] [--patch PATH]
Writes flat JSON: p99_pct_<block>, max_pct_<block>, overruns_<block>, xruns_<block>,
floor_xruns_<block> (+ a few extra keys), and prints one table.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE_RATE = 48000
WARMUP = 0.5
DEFAULT_PATCH = ROOT / "patches" / "band.toml"
DEMO_SONG = ROOT / "patches" / "band_demo.mid"


from rtcore.devices import quiet_stderr  # noqa: E402


def note(msg: str) -> None:
    print(f"note: {msg}", flush=True)


# ---- jackd ----------------------------------------------------------------------------
class JackServer:
    """One jackd under a unique name, logging to a file; stopped by PID."""

    def __init__(self, name: str, block: int, workdir: Path) -> None:
        self.name, self.block = name, block
        self.log = workdir / f"jackd-{block}.log"
        self.proc: subprocess.Popen | None = None
        self.realtime = False

    @staticmethod
    def _die_with_parent() -> None:
        """preexec_fn: jackd gets SIGTERM if this process dies (e.g. killed by a test timeout)."""
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG

    def _spawn(self, realtime: bool) -> bool:
        mode = ["-R", "-P", "70"] if realtime else ["--no-realtime"]
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(["jackd", "-n", self.name, *mode, "-d", "dummy", "-r", str(SAMPLE_RATE),
                                          "-p", str(self.block)], stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=self._die_with_parent)
        ok = self._wait_ready()
        text = self.log.read_text(errors="replace")
        if ok and realtime and ("Cannot use real-time scheduling" in text or "cannot use real-time" in text.lower()):
            note(f"jackd -R started but could not get real-time scheduling (block {self.block})")
            self.realtime = False
            return True
        if ok:
            self.realtime = realtime
        return ok

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        import jack

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with quiet_stderr():      # libjack complains on stderr while the server boots
                    c = jack.Client("rtcore-bench-probe", servername=self.name, no_start_server=True)
            except jack.JackError:
                time.sleep(0.1)
                continue
            c.close()
            return True
        return False

    def start(self) -> None:
        if self._spawn(realtime=True):
            return
        self.stop()
        note(f"jackd -R -P 70 failed (block {self.block}); falling back to --no-realtime:\n"
             + self.log.read_text(errors="replace")[-400:])
        if not self._spawn(realtime=False):
            self.stop()
            raise RuntimeError(f"jackd would not start:\n{self.log.read_text(errors='replace')[-1000:]}")

    def xrun_lines(self) -> int:
        try:
            return sum(1 for line in self.log.read_text(errors="replace").splitlines() if "XRun" in line)
        except OSError:
            return 0

    def xrun_kinds(self) -> tuple[int, int]:
        """jackd's own account of its xruns: (its driver's timer was late, a client was late)."""
        try:
            lines = [l for l in self.log.read_text(errors="replace").splitlines() if "XRun" in l or "xrun" in l]
        except OSError:
            return 0, 0
        driver = sum(1 for l in lines if "Driver" in l)
        return driver, sum(1 for l in lines if "client" in l.lower() and "Driver" not in l)

    def stop(self) -> None:
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)          # by PID, never by name
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


class XrunMonitor:
    """A JACK client with no ports and no process callback: it only counts xruns."""

    def __init__(self, server: str) -> None:
        import jack

        self._lock = threading.Lock()
        self._n = 0
        self.client = jack.Client("rtcore-bench-monitor", servername=server, no_start_server=True)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delay_usecs: float) -> None:
        with self._lock:
            self._n += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._n

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


# ---- (a) the floor ---------------------------------------------------------------------
def build_floor_client(workdir: Path) -> Path | None:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        note("no C compiler: the floor run is skipped")
        return None
    exe = workdir / "floor_client"
    r = subprocess.run([gcc, "-O2", "-std=gnu11", "-Wall", "-Wextra", "-o", str(exe),
                        str(ROOT / "benchmarks" / "floor_client.c"), "-ljack"], capture_output=True, text=True)
    if r.returncode != 0:
        note(f"floor_client.c did not compile, the floor run is skipped:\n{r.stderr.strip()}")
        return None
    return exe


def run_floor(exe: Path, server: JackServer, monitor: XrunMonitor, seconds: float) -> tuple[int, int]:
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    p = subprocess.Popen([str(exe), "rtcore-floor"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"floor_client failed: {line} {p.stderr.read() if p.poll() is not None else ''}")
        time.sleep(WARMUP)
        x0, l0 = monitor.count, server.xrun_lines()
        time.sleep(seconds)
        return monitor.count - x0, server.xrun_lines() - l0
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)       # by PID
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        time.sleep(0.2)


# ---- (b) rtcore ------------------------------------------------------------------------
def builtin_graph():
    import rtcore as rc

    freqs = [110.0, 220.0, 330.0, 440.0, 550.0, 660.0, 880.0, 1320.0]
    nodes = [rc.NodeSpec(f"tone{i}", "tone", {"freq": f, "level": -30.0}) for i, f in enumerate(freqs)]
    nodes.append(rc.NodeSpec("bus", "gain", {"gain": -6.0}))
    return rc.GraphSpec(nodes=nodes, connections=[(n.name, "bus") for n in nodes[:-1]])


def load_graph(patch_path: Path | None):
    """The patch's graph, or the built-in fallback (with a printed reason)."""
    path = patch_path or DEFAULT_PATCH
    try:
        from rtcore import patch as patch_mod
    except ImportError:
        note("rtcore.patch is not available in this tree: using built-in nodes (8 tones -> gain)")
        return builtin_graph(), "builtin: 8 tones -> gain"
    if not path.exists():
        note(f"{path} does not exist: using built-in nodes (8 tones -> gain)")
        return builtin_graph(), "builtin: 8 tones -> gain"
    try:
        p = patch_mod.load_patch(path, sample_rate=SAMPLE_RATE)
        graph = patch_mod.build(p) if hasattr(patch_mod, "build") else p.graph
        return graph, str(path)
    except Exception as exc:  # a patch needing node types this tree lacks, etc.
        note(f"{path} could not be loaded ({exc}): using built-in nodes (8 tones -> gain)")
        return builtin_graph(), "builtin: 8 tones -> gain"


def song_events(seconds: float, patch_path: Path | None):
    """The demo song (patches/band_demo.mid, 20 s), looped to cover ``seconds``, so the
    instruments are busy while the callback is timed. None when it cannot be read."""
    try:
        from rtcore.midifile import apply_cc_maps, read_midi
        from rtcore.patch import load_patch
        evs, last = read_midi(DEMO_SONG, SAMPLE_RATE)
        path = patch_path or DEFAULT_PATCH
        if path.exists():
            evs = apply_cc_maps(evs, load_patch(path, sample_rate=SAMPLE_RATE).cc_maps)
    except Exception as exc:  # noqa: BLE001 - the benchmark still runs, idle
        note(f"demo song not played ({exc})")
        return None
    from _common import looped
    return looped(evs, last + SAMPLE_RATE // 2, seconds, SAMPLE_RATE)


def run_rtcore(graph, block: int, server: JackServer, monitor: XrunMonitor, seconds: float, events=None):
    """Play the graph (and the looped song) through PortAudio's JACK host API; measure
    ``seconds`` after a warm-up. Returns (stats, monitor xruns, jackd xrun lines)."""
    import rtcore as rc
    from rtcore.devices import JACK_HOST_API, resolve_device
    from rtcore.live import play

    os.environ["JACK_DEFAULT_SERVER"] = server.name     # read by libjack when PortAudio initialises
    os.environ["JACK_NO_START_SERVER"] = "1"
    dev = resolve_device(None, JACK_HOST_API)
    state: dict[str, object] = {}

    def on_tick(engine, frames: int):
        t = frames / SAMPLE_RATE
        if "x0" not in state and t >= WARMUP:
            engine.reset_stats()
            state["x0"], state["l0"] = monitor.count, server.xrun_lines()
        elif "x0" in state and t >= WARMUP + seconds:
            state["stats"] = engine.stats()
            state["xr"] = monitor.count - state["x0"]
            state["lines"] = server.xrun_lines() - state["l0"]
            return True
        return None

    with rc.Engine(SAMPLE_RATE, max(1024, block)) as eng:
        eng.load(graph)
        play(eng, events=events, seconds=WARMUP + seconds + 5.0, device=dev, block=block, quiet=True,
             on_tick=on_tick)
    time.sleep(0.2)
    if "stats" not in state:
        raise RuntimeError("the live run ended before the measurement finished")
    return state["stats"], state["xr"], state["lines"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", required=True, type=Path, help="write the flat JSON results here")
    ap.add_argument("--seconds", type=float, default=60.0, help="measuring time per run (default 60)")
    ap.add_argument("--blocks", default="64,128", help="comma-separated block sizes (default 64,128)")
    ap.add_argument("--patch", type=Path, default=None, help=f"patch to run (default {DEFAULT_PATCH.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    try:
        blocks = [int(b) for b in args.blocks.split(",") if b.strip()]
    except ValueError:
        ap.error(f"--blocks must be comma-separated integers (got {args.blocks!r})")
    if not blocks or any(b < 16 or b > 4096 for b in blocks):
        ap.error("block sizes must be 16..4096")
    if shutil.which("jackd") is None:
        print("error: jackd is not installed (apt-get install jackd2)", file=sys.stderr)
        return 2
    try:
        import jack  # noqa: F401
    except ImportError:
        print("error: JACK-Client is not installed (pip install JACK-Client)", file=sys.stderr)
        return 2

    graph, graph_name = load_graph(args.patch)
    events = song_events(WARMUP + args.seconds + 5.0, args.patch) if graph_name != "builtin: 8 tones -> gain" else None
    if events:
        graph_name += " playing patches/band_demo.mid (looped)"
    results: dict[str, object] = {"seconds": args.seconds, "sample_rate": SAMPLE_RATE, "graph": graph_name}
    rows = []
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-") as tmp:
        workdir = Path(tmp)
        floor_exe = build_floor_client(workdir)
        for block in blocks:
            server = JackServer(f"rtcore-bench-{os.getpid()}-{block}", block, workdir)
            server.start()
            monitor = None
            try:
                monitor = XrunMonitor(server.name)
                if floor_exe is not None:
                    floor_xr, floor_lines = run_floor(floor_exe, server, monitor, args.seconds)
                else:
                    floor_xr = floor_lines = None
                st, xr, lines = run_rtcore(graph, block, server, monitor, args.seconds, events)
            finally:
                if monitor is not None:
                    monitor.close()
                server.stop()
            period_us = 1e6 * block / SAMPLE_RATE
            results.update({
                f"p50_pct_{block}": round(100 * st.cb_p50_us / period_us, 3),
                f"p99_pct_{block}": round(100 * st.cb_p99_us / period_us, 3),
                f"max_pct_{block}": round(100 * st.cb_max_us / period_us, 3),
                f"overruns_{block}": int(st.overruns),
                f"xruns_{block}": int(xr),
                f"floor_xruns_{block}": floor_xr,
                f"engine_xruns_{block}": int(st.xruns),
                f"jackd_xrun_lines_{block}": int(lines),
                f"floor_jackd_xrun_lines_{block}": floor_lines,
                f"callbacks_{block}": int(st.callbacks),
                f"realtime_{block}": server.realtime,
            })
            rows.append((block, period_us, st, xr, floor_xr, lines, floor_lines, server.realtime))

    print()
    print(f"rtcore live benchmark: {args.seconds:g} s per run, 48 kHz, graph: {graph_name}")
    hdr = (f"{'block':>5} {'period':>9} {'sched':>6} {'cb p50':>8} {'cb p99':>8} {'cb max':>8} "
           f"{'p99 %':>6} {'max %':>6} {'overruns':>8} {'xruns':>6} {'floor xruns':>11} {'log rt/floor':>12}")
    print(hdr)
    print("-" * len(hdr))
    for block, period_us, st, xr, fx, lines, flines, rt in rows:
        print(f"{block:>5} {period_us:>7.0f}µs {'RT' if rt else 'non-RT':>6} {st.cb_p50_us:>6.0f}µs "
              f"{st.cb_p99_us:>6.0f}µs {st.cb_max_us:>6.0f}µs {100 * st.cb_p99_us / period_us:>6.1f} "
              f"{100 * st.cb_max_us / period_us:>6.1f} {st.overruns:>8} {xr:>6} "
              f"{'-' if fx is None else fx:>11} {lines:>5}/{'-' if flines is None else flines:<6}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
