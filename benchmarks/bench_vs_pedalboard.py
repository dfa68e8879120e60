"""rtcore vs Spotify's pedalboard on the same stereo chain and the same 60 s of audio.

Chain: EQ (low shelf 200 Hz +3 dB, peak 1 kHz -2 dB Q 1, high shelf 6 kHz +2 dB)
       -> compressor (-18 dB, 4:1, 5 ms, 100 ms) -> delay (250 ms, feedback 0.3, mix 0.25)
       -> reverb -> gain (-3 dB), 48 kHz stereo pink-ish noise. rtcore's master limiter is off
       (pedalboard's chain has none). Runs alternate (rtcore, pedalboard, rtcore, ...) so both
       see the same machine load; the medians are compared.

    python benchmarks/bench_vs_pedalboard.py [--json PATH] [--seconds 60] [--runs 5] [--block 1024]
Keys: rtcore_s, pedalboard_s, speedup (= pedalboard_s / rtcore_s), rtcore_block128_s
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from _common import print_table, write_json

SR = 48000


def rtcore_chain():
    from rtcore import GraphSpec, NodeSpec

    return GraphSpec(
        nodes=[
            NodeSpec("in", "input"),
            NodeSpec("eq", "eq", {"low_shelf_freq": 200.0, "low_shelf_gain": 3.0, "peak_freq": 1000.0,
                                  "peak_gain": -2.0, "peak_q": 1.0, "high_shelf_freq": 6000.0,
                                  "high_shelf_gain": 2.0}),
            NodeSpec("comp", "compressor", {"threshold": -18.0, "ratio": 4.0, "attack": 5.0, "release": 100.0}),
            NodeSpec("echo", "delay", {"time": 250.0, "feedback": 0.3, "mix": 0.25}),
            NodeSpec("verb", "reverb", {"decay": 1.5, "damping": 0.5, "mix": 0.3}),
            NodeSpec("out", "gain", {"gain": -3.0}),
        ],
        connections=[("in", "eq"), ("eq", "comp"), ("comp", "echo"), ("echo", "verb"), ("verb", "out")],
        master={"enabled": 0.0},
    )


def pedalboard_chain():
    import pedalboard as pb

    return pb.Pedalboard([
        pb.LowShelfFilter(cutoff_frequency_hz=200, gain_db=3, q=0.707),
        pb.PeakFilter(cutoff_frequency_hz=1000, gain_db=-2, q=1.0),
        pb.HighShelfFilter(cutoff_frequency_hz=6000, gain_db=2, q=0.707),
        pb.Compressor(threshold_db=-18, ratio=4, attack_ms=5, release_ms=100),
        pb.Delay(delay_seconds=0.25, feedback=0.3, mix=0.25),
        pb.Reverb(room_size=0.5, damping=0.5, wet_level=0.3, dry_level=0.7, width=1.0),
        pb.Gain(gain_db=-3),
    ])


def test_audio(seconds: float) -> np.ndarray:
    """Pink noise (1/f power, shaped in the frequency domain), peak 0.5, stereo."""
    rng = np.random.default_rng(2026)
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[:, 1:] /= np.sqrt(f[1:])
    spec[:, 0] = 0
    pink = np.fft.irfft(spec, n, axis=1).T
    return (pink / np.abs(pink).max() * 0.5).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--block", type=int, default=1024, help="rtcore host block (frames)")
    args = ap.parse_args()

    from rtcore import Engine

    audio = test_audio(args.seconds)
    frames = audio.shape[0]
    eng = Engine(SR, max(1024, args.block))
    eng.load(rtcore_chain())
    board = pedalboard_chain()
    planar = np.ascontiguousarray(audio.T)    # pedalboard takes (channels, frames)

    t_rt, t_pb, t_rt128 = [], [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        y = eng.render(frames, args.block, audio)
        t_rt.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        z = board(planar, SR)
        t_pb.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        eng.render(frames, 128, audio)
        t_rt128.append(time.perf_counter() - t0)
    eng.close()
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(z))
    rt, pbs, rt128 = statistics.median(t_rt), statistics.median(t_pb), statistics.median(t_rt128)
    figures = {"rtcore_s": round(rt, 4), "pedalboard_s": round(pbs, 4), "speedup": round(pbs / rt, 2),
               "rtcore_block128_s": round(rt128, 4)}
    print_table(f"bench_vs_pedalboard: {args.seconds:g} s stereo 48 kHz, EQ -> comp -> delay -> reverb -> gain, "
                f"median of {args.runs} alternating runs",
                ["engine", "median s", "x real time", "runs s"],
                [[f"rtcore (block {args.block})", rt, args.seconds / rt, " ".join(f"{t:.3f}" for t in t_rt)],
                 ["rtcore (block 128)", rt128, args.seconds / rt128, " ".join(f"{t:.3f}" for t in t_rt128)],
                 ["pedalboard 0.9", pbs, args.seconds / pbs, " ".join(f"{t:.3f}" for t in t_pb)],
                 ["speedup (pedalboard / rtcore)", pbs / rt, "", ""]])
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
