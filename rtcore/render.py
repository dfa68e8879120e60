"""Offline rendering: a patch plus a MIDI file (and/or an input WAV) -> WAV, as fast as the CPU goes.

It drives the same C ``process()`` as the live stream, so live and offline give the
same samples for the same events. Deterministic: the same inputs give bit-identical output.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audiofile import read_audio, write_wav
from .engine import Engine, Event, Stats
from .errors import MediaFileError
from .midifile import apply_cc_maps, read_midi
from .patch import Patch

PROGRESS_MIN_SECONDS = 5.0   # show a progress bar on renders longer than this (audio seconds)


@dataclass
class RenderResult:
    """``audio``: float32 (frames, 2); ``sample_rate`` Hz; ``stats``: the engine's counters."""

    audio: np.ndarray
    sample_rate: int
    stats: Stats
    events: int


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
    if midi is not None:
        midi_events, last = read_midi(midi, sr)
        events += apply_cc_maps(midi_events, patch.cc_maps)
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

    def tick(pos: int) -> None:
        if bar is not None:
            bar.update(pos - done[0])
            done[0] = pos

    with Engine(sr, max(block, 1024)) as eng:
        eng.load(patch.graph)
        try:
            audio = eng.render_events(events, frames, block=block, input=audio_in, progress=tick)
        finally:
            if bar is not None:
                bar.close()
        stats = eng.stats()
    return RenderResult(audio=audio, sample_rate=sr, stats=stats, events=len(events))


def render_to_file(patch: Patch, out: str | Path, bits: str = "24", **kwargs) -> RenderResult:
    """:func:`render_patch`, then write the WAV ``out``."""
    result = render_patch(patch, **kwargs)
    write_wav(out, result.audio, result.sample_rate, bits)
    return result
