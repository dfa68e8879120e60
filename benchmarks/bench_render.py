"""Real-time factor of every shipped patch: offline render at 48 kHz, block 128, one thread.

RTF = seconds of audio / seconds of wall time (higher is better; 1 = just real time).
Each patch plays the demo song (patches/band_demo.mid); patches with an input node also
get 20 s of pink-ish noise. Median of --runs runs.

    python benchmarks/bench_render.py [--json PATH] [--seconds 20] [--runs 3]
Keys: rtf_<patch file stem>
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import ROOT, median_time, print_table, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--patches", nargs="*", help="patch files (default: patches/*.toml)")
    args = ap.parse_args()

    from rtcore import Engine
    from rtcore.midifile import apply_cc_maps, read_midi
    from rtcore.patch import load_patch

    paths = [p for p in (args.patches or sorted((ROOT / "patches").glob("*.toml")))]
    rows, figures = [], {}
    for path in paths:
        patch = load_patch(path, sample_rate=48000)
        sr = patch.sample_rate
        frames = int(args.seconds * sr)
        evs, _ = read_midi(ROOT / "patches" / "band_demo.mid", sr)
        evs = apply_cc_maps(evs, patch.cc_maps)
        noise = None
        if patch.uses_input:
            rng = np.random.default_rng(7)
            white = rng.standard_normal((frames, 2)).astype(np.float32)
            noise = (np.cumsum(white, axis=0) * 0.02).astype(np.float32)
            noise -= np.convolve(noise[:, 0], np.ones(64) / 64, "same")[:, None].astype(np.float32)
            noise = np.clip(noise, -1, 1).astype(np.float32)
        eng = Engine(sr, 1024)
        eng.load(patch.graph)

        def run() -> None:
            eng.render_events(evs, frames, block=args.block, input=noise)

        med, times = median_time(run, args.runs)
        eng.close()
        rtf = args.seconds / med
        key = f"rtf_{path.stem}"
        figures[key] = round(rtf, 1)
        rows.append([path.name, f"{args.seconds:g} s", med, rtf, len(patch.graph.nodes)])
    print_table(f"bench_render: block {args.block}, 48 kHz, median of {args.runs}",
                ["patch", "audio", "wall s (median)", "RTF (x real time)", "nodes"], rows)
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
