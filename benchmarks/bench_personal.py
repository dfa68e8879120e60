"""Personal accompaniment: how long `rtcore train --data` takes on a few dozen songs on this CPU
and what it buys on held-out songs; and what the style memory costs the inference thread.

1. ``--songs`` generated band songs (rtcore.accompany.example_songs: Lead, Bass, offbeat Keys;
   ``--bars`` bars each) are written to a temporary folder; the shipped models/chorale.onnx is
   fine-tuned on them exactly as `rtcore train --data DIR --base models/chorale.onnx` does
   (15 % of the songs held out, early stopping, ``--minutes`` budget, 2 threads).
2. `rtcore evaluate --data` then scores tuned and base model on the held-out songs.
3. The style memory's prediction (the scan the inference thread runs once per step when
   ``personal`` > 0) is timed on a full memory, as the AI node's render cost with personal = 0
   and 1 side by side.

    python benchmarks/bench_personal.py --json bench-results/personal.json

Keys: ``finetune_minutes``, ``val_nll_base``, ``val_nll_tuned`` (held-out NLL, nats per step per
voice), ``finetune_epochs``, ``finetune_songs_train``, ``finetune_songs_held_out``,
``note_in_chord_{model,base,original}``, ``acc_{model,base}_tf_bass``,
``render_s_personal0``, ``render_s_personal1``, ``memory_overhead_ratio``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median_time, print_table, write_json


def memory_cost(runs: int) -> dict:
    """Offline render (the AI inline on the rendering thread) of 60 s of melody with personal = 0
    and 1, interleaved; medians."""
    import rtcore as rc

    sr, tempo = 48000, 120.0
    step = sr * 60 / tempo / 4
    phrase = [60, 64, 67, 72, 71, 67, 64, 62, 60, 62, 64, 65]
    evs = [rc.Event.transport(True, tempo, 0)]
    for i in range(int(60 * sr / (2 * step))):
        n = phrase[i % len(phrase)] + (i // 24) % 3
        evs += [rc.Event.note_on(n, 100, 1, int(i * 2 * step)), rc.Event.note_off(n, 1, int((i * 2 + 1.5) * step))]

    def render(personal: float) -> None:
        ai = rc.NodeSpec("harm", "ai", {"personal": personal}, channel=1,
                         config={"model": str(ROOT / "models" / "chorale.onnx")})
        g = rc.GraphSpec(nodes=[ai, rc.NodeSpec("band", "synth", {}, channel=0)], event_connections=[("harm", "band")])
        with rc.Engine(sr, 1024) as e:
            e.load(g)
            e.render_events(evs, 60 * sr, block=256, progress=lambda done: e.poll_notes())

    times0, times1 = [], []
    for _ in range(runs):
        times0.append(median_time(lambda: render(0.0), 1)[0])
        times1.append(median_time(lambda: render(1.0), 1)[0])
    t0, t1 = sorted(times0)[len(times0) // 2], sorted(times1)[len(times1) // 2]
    return {"render_s_personal0": round(t0, 3), "render_s_personal1": round(t1, 3),
            "memory_overhead_ratio": round(t1 / t0, 3)}


def plot_before_after(path: Path, song, tuned: Path, bars: int = 8) -> None:
    """The held-out song's first bars: its own band, the chorale model, the tuned model (both
    free-running on the song's melody, argmax, as `rtcore evaluate` plays them)."""
    import numpy as np

    from rtcore.accompany.evaluate import OnnxStepper
    from rtcore.pianoroll import plot_token_rolls

    n = min(len(song.tokens), bars * 16)
    mel, beats = song.tokens[:n, 0], song.beats[:n]
    rows = [("the song's own band (Bass, offbeat Keys)", song.tokens[:n])]
    for label, model in (("before: models/chorale.onnx (Bach chorales)", ROOT / "models" / "chorale.onnx"),
                         ("after: rtcore train --data (tuned on the other songs)", tuned)):
        ai, _ = OnnxStepper(model).run(mel, beats)
        rows.append((label, np.concatenate([mel[:, None], ai], axis=1)))
    plot_token_rolls(path, rows, title=f"the same melody (held-out {song.id}), three accompaniments")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the figures as flat JSON")
    ap.add_argument("--songs", type=int, default=32, help="generated songs (default 32)")
    ap.add_argument("--bars", type=int, default=32, help="bars per song (default 32)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--minutes", type=float, default=10.0, help="fine-tuning time budget (default 10)")
    ap.add_argument("--runs", type=int, default=3, help="renders per setting for the memory cost (default 3)")
    ap.add_argument("--plot", type=Path, help="write a before/after piano roll (PNG) of a held-out song")
    a = ap.parse_args(argv)

    from rtcore.accompany.evaluate import evaluate_songs, flat_songs, markdown_table_songs
    from rtcore.accompany.example_songs import write_example_songs
    from rtcore.accompany.finetune import FinetuneConfig, finetune
    from rtcore.accompany.songs import load_folder

    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="rtcore-personal-") as tmp:
        data, out = Path(tmp) / "songs", Path(tmp) / "mine.onnx"
        write_example_songs(data, a.songs, bars=a.bars)
        t0 = time.perf_counter()
        r = finetune(FinetuneConfig(out=out, base=ROOT / "models" / "chorale.onnx", data=data, epochs=a.epochs,
                                    minutes=a.minutes, progress=False))
        figures["finetune_minutes"] = round((time.perf_counter() - t0) / 60.0, 3)
        figures["val_nll_base"] = round(r["val_nll_base"], 4)
        figures["val_nll_tuned"] = round(r["val_nll_tuned"], 4)
        figures["finetune_epochs"] = len(r["history"])
        figures["finetune_songs_train"] = r["train_songs"]
        figures["finetune_songs_held_out"] = r["held_out_songs"]
        held = set(r["held_out"])
        songs = [s for s in load_folder(data, warn=lambda m: None) if s.id in held]
        ev = evaluate_songs(out, ROOT / "models" / "chorale.onnx", songs, progress=False)
        print(markdown_table_songs(ev))
        flat = flat_songs(ev)
        if a.plot is not None:
            plot_before_after(a.plot, songs[0], out)
            print(f"wrote {a.plot}")
        for k in ("note_in_chord_model", "note_in_chord_base", "note_in_chord_original",
                  "acc_model_tf_bass", "acc_base_tf_bass"):
            figures[k] = flat[k]
    figures.update(memory_cost(a.runs))
    print_table("bench_personal: fine-tuning the chorale model on generated band songs, the style memory's cost",
                ["figure", "value"], [[k, v] for k, v in figures.items()])
    write_json(a.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
