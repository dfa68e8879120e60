"""Offline rendering: a patch plus a MIDI file (and/or an input WAV) -> WAV, as fast as the CPU goes.

It drives the same C ``process()`` as the live stream, so live and offline give the
same samples for the same events. Deterministic: the same inputs give bit-identical output.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audiofile import read_audio, write_wav
from .engine import Engine, Event, Stats
from .errors import MediaFileError
from .midifile import apply_cc_maps, melody_records, read_midi, write_midi
from .patch import Patch

PROGRESS_MIN_SECONDS = 5.0   # show a progress bar on renders longer than this (audio seconds)


@dataclass
class RenderResult:
    """``audio``: float32 (frames, 2); ``sample_rate`` Hz; ``stats``: the engine's counters."""

    audio: np.ndarray
    sample_rate: int
    stats: Stats
    events: int
    ai_notes: list = None            # (frame, is_on, channel 2-4, note, velocity): what the AI played
    melody: list = None              # the same for the MIDI file's notes
    warnings: list = None
    render_seconds: float = 0.0      # wall time of the rendering itself


def render_patch(patch: Patch, midi: str | Path | None = None, input_wav: str | Path | None = None,
                 seconds: float | None = None, block: int | None = None,
                 progress: bool | None = None, extra_events: list[Event] | None = None) -> RenderResult:
    """Render ``patch`` with the notes of ``midi`` and/or the audio of ``input_wav``.

    Length: ``seconds`` if given, else the last MIDI event or the end of the input, plus the
    patch's ``tail`` (seconds). ``block``: host block in frames (default: the patch's).
    ``progress``: None = a bar when the render is longer than a few seconds."""
    sr = patch.sample_rate
    # the musical clock starts with the render: beat 0 at frame 0, at the patch's tempo
    events: list[Event] = [Event.transport(True, patch.tempo, 0)] + list(extra_events or [])
    end = 0
    melody: list = []
    if midi is not None:
        midi_events, last = read_midi(midi, sr)
        events += apply_cc_maps(midi_events, patch.cc_maps)
        melody = melody_records(midi_events)
        end = max(end, last)
    audio_in = None
    if input_wav is not None:
        audio_in, in_sr = read_audio(input_wav)
        if in_sr != sr:
            raise MediaFileError(f"{input_wav}: recorded at {in_sr} Hz but the patch runs at {sr} Hz "
                                 f"(use --sample-rate {in_sr})")
        if audio_in.shape[1] == 1:
            audio_in = np.repeat(audio_in, 2, axis=1)
        audio_in = audio_in[:, :2]
        end = max(end, audio_in.shape[0])
    if seconds is not None:
        frames = int(round(seconds * sr))
    else:
        frames = end + int(round(patch.tail * sr))
    frames = max(frames, 1)
    block = int(block or patch.block)
    if audio_in is not None and audio_in.shape[0] < frames:
        audio_in = np.concatenate([audio_in, np.zeros((frames - audio_in.shape[0], 2), np.float32)])

    show = (frames / sr > PROGRESS_MIN_SECONDS) if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm
        # counted in frames (exact), shown in seconds of audio
        bar = tqdm(total=frames, unit="s", unit_scale=1.0 / sr, desc=f"render {patch.name}", file=sys.stderr,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]")
    done = [0]
    ai_notes: list = []

    def tick(pos: int) -> None:
        ai_notes.extend((f - base, t == on_type, ch, n, v) for f, t, ch, n, v in eng.poll_notes())
        if bar is not None:
            bar.update(pos - done[0])
            done[0] = pos

    from ._native import lib
    on_type = lib.RT_EV_NOTE_ON
    with Engine(sr, max(block, 1024)) as eng:
        eng.load(patch.graph, ai_errors="warn")
        base = eng.frame
        t0 = time.perf_counter()
        try:
            audio = eng.render_events(events, frames, block=block, input=audio_in, progress=tick)
            render_seconds = time.perf_counter() - t0
        finally:
            if bar is not None:
                bar.close()
        stats = eng.stats()
        warnings = list(eng.warnings)
        warnings += [f"plugin node '{name}' output NaN/Inf and was muted from then on" for name in eng.muted_nodes()]
    return RenderResult(audio=audio, sample_rate=sr, stats=stats, events=len(events), ai_notes=ai_notes,
                        melody=melody, warnings=warnings, render_seconds=render_seconds)


def render_to_file(patch: Patch, out: str | Path, bits: str = "24", midi_out: str | Path | None = None,
                   plot: str | Path | None = None, **kwargs) -> RenderResult:
    """:func:`render_patch`, then write the WAV ``out``; ``midi_out``: a MIDI file with the
    player's track and one track per AI voice; ``plot``: a piano-roll PNG of the same."""
    result = render_patch(patch, **kwargs)
    write_wav(out, result.audio, result.sample_rate, bits)
    sr = result.sample_rate
    if midi_out is not None:
        from .pianoroll import AI_CHANNELS
        tracks = {"player": result.melody}
        for ch, name in AI_CHANNELS.items():
            tracks[f"AI {name}"] = [r for r in result.ai_notes if r[2] == ch]
        write_midi(midi_out, tracks, sr, patch.tempo)
    if plot is not None:
        from .pianoroll import plot_duet
        plot_duet(plot, result.melody, result.ai_notes, sr, result.audio.shape[0],
                  title=f"{patch.name}: the player (black) and the AI")
    return result
