"""A piano-roll PNG of a duet: the player's notes and the AI's voices in different colours."""
from __future__ import annotations

from pathlib import Path

from .midifile import NoteRecord

COLOURS = {"player": "#1f1f1f", "alto": "#d95f02", "tenor": "#1b9e77", "bass": "#7570b3"}
AI_CHANNELS = {2: "alto", 3: "tenor", 4: "bass"}


def spans(records: list[NoteRecord], sample_rate: float, end_frame: int) -> list[tuple[int, float, float]]:
    """Note records -> (note, start s, length s); a note still held at the end lasts to it."""
    open_notes: dict[tuple[int, int], int] = {}
    out = []
    for frame, on, ch, note, _ in sorted(records, key=lambda r: (r[0], r[1])):
        key = (ch, note)
        if key in open_notes:
            start = open_notes.pop(key)
            out.append((note, start / sample_rate, (frame - start) / sample_rate))
        if on:
            open_notes[key] = frame
    for (ch, note), start in open_notes.items():
        out.append((note, start / sample_rate, (end_frame - start) / sample_rate))
    return out


def plot_duet(path: str | Path, player: list[NoteRecord], ai: list[NoteRecord], sample_rate: float,
              end_frame: int, title: str = "") -> None:
    """Write a PNG piano roll: time (s) across, MIDI pitch up; player black, AI voices coloured."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 6), dpi=100)
    groups = {"player": player}
    for ch, name in AI_CHANNELS.items():
        groups[name] = [r for r in ai if r[2] == ch]
    lo, hi = 127, 0
    for name, recs in groups.items():
        bars = spans(recs, sample_rate, end_frame)
        for note, start, length in bars:
            ax.broken_barh([(start, max(length, 0.01))], (note - 0.4, 0.8), facecolors=COLOURS[name],
                           edgecolors="none", alpha=0.9 if name == "player" else 0.75)
            lo, hi = min(lo, note), max(hi, note)
        ax.plot([], [], color=COLOURS[name], linewidth=8, label=f"{name} ({len(bars)} notes)"
                if name == "player" else f"AI {name} ({len(bars)} notes)")
    if lo > hi:
        lo, hi = 48, 84
    ax.set_ylim(lo - 2, hi + 2)
    ax.set_xlim(0, end_frame / sample_rate)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI note")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    ax.set_title(title or "rtcore duet: the player and the AI")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path))
    plt.close(fig)
