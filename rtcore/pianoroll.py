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


def token_spans(tokens, voice: int) -> list[tuple[int, int, int]]:
    """One voice of a token stream [T, V] -> (MIDI note, first step, steps) per note."""
    from .accompany.tokens import HOLD, token_pitch

    out: list[tuple[int, int, int]] = []
    cur = None
    for t, tok in enumerate(int(x) for x in tokens[:, voice]):
        if tok == HOLD and cur is not None:
            cur[2] += 1
            continue
        if cur is not None:
            out.append(tuple(cur))
            cur = None
        p = token_pitch(tok)
        if p is not None:
            cur = [p, t, 1]
    if cur is not None:
        out.append(tuple(cur))
    return out


def plot_token_rolls(path: str | Path, rows: list[tuple[str, object]], steps_per_bar: int = 16,
                     title: str = "") -> None:
    """A PNG of stacked piano rolls, one per (label, tokens [T, 4]: melody, alto, tenor, bass),
    on one time axis in bars: the player's melody black, the AI's voices coloured."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ("player", "alto", "tenor", "bass")
    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 3.2 * len(rows)), dpi=100, sharex=True, sharey=True)
    axes = list(axes) if len(rows) > 1 else [axes]
    for ax, (label, tokens) in zip(axes, rows):
        for v, name in enumerate(names):
            for note, start, length in token_spans(tokens, v):
                ax.broken_barh([(start / steps_per_bar, (length - 0.15) / steps_per_bar)], (note - 0.4, 0.8),   # a gap: repeats show
                               facecolors=COLOURS[name], alpha=0.9 if v == 0 else 0.75)
        ax.set_title(label, loc="left", fontsize=11)
        ax.set_ylabel("MIDI note")
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1].set_xlabel("bars")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[n]) for n in names]
    axes[0].legend(handles, ["you (melody)", "alto", "tenor", "bass"], loc="upper right", ncol=4, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path))
    plt.close(fig)
