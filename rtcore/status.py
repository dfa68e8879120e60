"""The one-screen live status of ``rtcore play``: tempo, DSP load, xruns, AI, MIDI, meters.

Drawn with ``rich`` (in place, no scrolling) from the main thread about ten times a second;
everything it shows is read from the :class:`~rtcore.session.Session` and the engine's
counters, so it never touches the audio thread.
"""
from __future__ import annotations

import math
import time as _time

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ._native import lib
from .session import Session

REFRESH_SECONDS = 0.1
METER_FLOOR_DB = -60.0
METER_WIDTH = 24


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 1e-9 else -math.inf


def meter_bar(peak: float, rms: float, width: int = METER_WIDTH) -> Text:
    """A bar from -60 dBFS to 0: RMS filled, peak as a tick; red when the peak is over -1 dBFS."""
    def cells(db: float) -> int:
        if db == -math.inf:
            return 0
        return max(0, min(width, int(round((db - METER_FLOOR_DB) / -METER_FLOOR_DB * width))))

    r, p = cells(_db(rms)), cells(_db(peak))
    bar = Text()
    bar.append("█" * r, style="green")
    if p > r:
        bar.append(" " * (p - r - 1))
        bar.append("▏", style="red" if _db(peak) > -1.0 else "yellow")
        bar.append(" " * (width - p))
    else:
        bar.append(" " * (width - r))
    return bar


def inputs_line(counters: dict[str, dict[str, int]]) -> str | None:
    """What the control surfaces received and lost (``Session.surface_counters()``): MIDI in
    (``lost``: dropped by RtMidi's full queue) and OSC (``dropped``: by the kernel's full
    receive buffer). None when neither is open."""
    parts = []
    mi = counters.get("midi_in")
    if mi is not None:
        parts.append(f"MIDI in: {mi.get('received', 0)} received, {mi.get('handled', 0)} played, "
                     f"{mi.get('lost', 0)} lost")
    osc = counters.get("osc")
    if osc is not None:
        parts.append(f"OSC: {osc.get('received', 0)} received, {osc.get('handled', 0)} handled, "
                     f"{osc.get('dropped', 0)} dropped")
    return "   ".join(parts) or None


def status_renderable(session: Session) -> Group:
    """Everything on the screen, as one rich renderable (testable without a terminal)."""
    st = session.engine.stats()
    head = Table.grid(padding=(0, 2))
    head.add_row(
        Text(session.patch.name, style="bold"),
        Text(f"{'▶ playing' if st.transport_playing else '■ stopped'}  "
             f"{(st.tempo if st.transport_playing else session.tempo):.1f} BPM"),
        Text(f"{st.sample_rate / 1000:.1f} kHz  block {st.last_block}"),
        Text(f"latency mode {session.latency}"),
    )
    load_style = "red" if st.p99_pct > 70 else ("yellow" if st.p99_pct > 40 else "green")
    dsp = Table.grid(padding=(0, 2))
    dsp.add_row(
        Text(f"DSP p50 {st.p50_pct:4.1f} %  p99 {st.p99_pct:4.1f} %  max {st.max_pct:5.1f} %", style=load_style),
        Text(f"xruns {st.xruns}", style="red" if st.xruns else ""),
        Text(f"overruns {st.overruns}", style="red" if st.overruns else ""),
        Text(f"dropped events {st.events_dropped}", style="red" if st.events_dropped else ""),
    )
    rows = [head, dsp]
    if session.audio_status:                  # the stream is lost (reconnecting) or stalled
        rows.append(Text(session.audio_status, style="bold red"))
    if st.streams_lost:
        rows.append(Text(f"audio stream lost {st.streams_lost}x, reopened {st.streams_reopened}x",
                         style="yellow"))
    if session.surfaces:
        rows.append(Text("   ".join(session.surfaces.values()), style="dim"))
    counters = session.surface_counters()
    line = inputs_line(counters)
    if line:
        lost = counters.get("midi_in", {}).get("lost", 0) + counters.get("osc", {}).get("dropped", 0)
        rows.append(Text(line, style="red" if lost else "dim"))
    if st.ai_steps or any(n.type == "ai" for n in session.patch.graph.nodes):
        rows.append(Text(f"AI  steps {st.ai_steps}  missed deadlines {st.ai_missed_deadlines}  "
                         f"late notes re-harmonized {st.ai_late_notes}  notes played {st.notes_out}",
                         style="red" if st.ai_missed_deadlines else "cyan"))
    rec = getattr(session, "recorder", None)
    if rec is not None:
        if rec.error:
            rows.append(Text(rec.error, style="bold red"))
        else:
            lost = st.record_dropped_frames + st.record_dropped_events
            rows.append(Text(f"● REC {rec.folder}  {rec.counters.frames / st.sample_rate:6.1f} s  "
                             f"{rec.counters.events} events" + (f"  LOST {lost}" if lost else ""),
                             style="bold red" if lost else "red"))
    learning = session.learning
    if learning:
        rows.append(Text(f"MIDI learn: move a knob for {learning}", style="bold magenta"))

    meters = Table(show_header=True, header_style="dim", box=None, padding=(0, 1))
    meters.add_column("node")
    meters.add_column("L")
    meters.add_column("R")
    meters.add_column("peak", justify="right")
    muted = set(session.engine.muted_nodes()) if st.plugins_muted else set()
    for name, (pl, pr, rl, rr) in session.engine.meters().items():
        pk = _db(max(pl, pr))
        if name in muted:                        # a plugin that output NaN/Inf: silenced for good
            meters.add_row(name, Text("MUTED (NaN/Inf)", style="bold red"), Text(""), Text(""))
            continue
        meters.add_row(name, meter_bar(pl, rl), meter_bar(pr, rr),
                       "-inf" if pk == -math.inf else f"{pk:5.1f} dB")

    midi = Table(show_header=True, header_style="dim", box=None, padding=(0, 1))
    midi.add_column("last MIDI in")
    now = lib.rt_monotonic_ns()          # the clock MIDI arrival times are stamped with
    for e in reversed(session.midi_log):
        midi.add_row(Text(f"{(now - e.arrival_ns) / 1e9:5.1f} s ago  {e.text}"))
    if not session.midi_log:
        midi.add_row(Text("(none yet)", style="dim"))
    lower = Table.grid(padding=(0, 4))
    lower.add_row(meters, midi)
    rows.append(lower)
    for line in list(session.errors)[-3:]:
        rows.append(Text(line, style="dim"))
    rows.append(Text("Ctrl-C stops", style="dim"))
    return Group(*rows)


class StatusDisplay:
    """Redraws :func:`status_renderable` in place; call :meth:`tick` often (it rate-limits)."""

    def __init__(self, session: Session, console: Console | None = None) -> None:
        self.session = session
        self.console = console or Console()
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        self._last = 0.0

    def __enter__(self) -> "StatusDisplay":
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.tick(force=True)
        self._live.__exit__(None, None, None)

    def tick(self, force: bool = False) -> None:
        t = _time.monotonic()
        if not force and t - self._last < REFRESH_SECONDS:
            return
        self._last = t
        self._live.update(status_renderable(self.session), refresh=True)
