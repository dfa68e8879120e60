#!/usr/bin/env python3
"""Plugin hosting cost: third-party plugins in rtcore's graph against built-in nodes and a peer.

* ``ladspa_overhead_ratio``: the same 60 s of stereo noise through a LADSPA gain (cmt
  ``amp_stereo``, gain 2) and through the built-in ``gain`` node (+6.02 dB = x2), rendered
  offline at --block frames, runs alternating, medians; ratio = LADSPA time / built-in time.
  ``ladspa_mono_overhead_ratio``: cmt ``amp_mono``, which runs as two instances on the stereo bus.
* ``rtf_lv2_chain``: real-time factor (audio seconds per wall second, one thread) of the chain
  eg-amp -> mda Overdrive -> mda Delay -> mda Ambience (LV2, Debian's lv2-examples and mda-lv2).
* Peer, same run: Debian's ``lv2apply`` (lilv's own host) applying mda Overdrive (stereo) to a
  60 s stereo float WAV, against ``rtcore render`` of a patch with the same plugin on the same
  file (both whole processes, file in and out; rtcore's includes starting Python, ~0.5 s).

    python benchmarks/bench_plugins.py [--json PATH] [--seconds 60] [--runs 5] [--block 128]
Keys: ladspa_overhead_ratio, ladspa_mono_overhead_ratio, rtf_lv2_chain, builtin_gain_s, ladspa_gain_s,
lv2_chain_s, lv2apply_s, rtcore_render_overdrive_s
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, print_table, write_json

SR = 48000
CMT = "/usr/lib/ladspa/cmt.so"
CHAIN = ["http://lv2plug.in/plugins/eg-amp", "http://drobilla.net/plugins/mda/Overdrive",
         "http://drobilla.net/plugins/mda/Delay", "http://drobilla.net/plugins/mda/Ambience"]


def noise(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.standard_normal((int(seconds * SR), 2)) * 0.1).astype(np.float32)


def graph(*nodes):
    """input -> nodes... (a chain), master limiter off."""
    import rtcore as rc
    specs = [rc.NodeSpec("src", "input")] + [rc.NodeSpec(f"n{i}", t, p) for i, (t, p) in enumerate(nodes)]
    names = [s.name for s in specs]
    return rc.GraphSpec(nodes=specs, connections=list(zip(names, names[1:])), master={"enabled": 0.0})


def timed_render(spec, x: np.ndarray, block: int) -> float:
    import rtcore as rc
    with rc.Engine(SR, 1024) as eng:
        eng.load(spec)
        t0 = time.perf_counter()
        eng.render(x.shape[0], block=block, input=x)
        return time.perf_counter() - t0


def alternate(specs: dict, x: np.ndarray, block: int, runs: int) -> dict[str, float]:
    """Median wall time of each spec, the runs interleaved (the machine's noise hits all alike)."""
    times: dict[str, list[float]] = {k: [] for k in specs}
    for _ in range(runs):
        for k, spec in specs.items():
            times[k].append(timed_render(spec, x, block))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--block", type=int, default=128)
    args = ap.parse_args()

    from rtcore import plugins

    x = noise(args.seconds)
    figures: dict[str, float] = {}
    rows: list[list[object]] = []
    if not Path(CMT).exists():
        print("note: cmt LADSPA plugins not installed (apt-get install cmt): LADSPA figures skipped")
    else:
        stereo = plugins.load_ladspa(Path(CMT), "amp_stereo", sample_rate=SR).name
        mono = plugins.load_ladspa(Path(CMT), "amp_mono", sample_rate=SR).name
        med = alternate({"builtin": graph(("gain", {"gain": 20 * np.log10(2.0)})),
                         "ladspa": graph((stereo, {"gain": 2.0})),
                         "ladspa_mono": graph((mono, {"gain": 2.0}))}, x, args.block, args.runs)
        figures.update(builtin_gain_s=round(med["builtin"], 4), ladspa_gain_s=round(med["ladspa"], 4),
                       ladspa_overhead_ratio=round(med["ladspa"] / med["builtin"], 3),
                       ladspa_mono_overhead_ratio=round(med["ladspa_mono"] / med["builtin"], 3))
        rows += [[f"built-in gain x2, {args.seconds:g} s stereo", f"{med['builtin']:.3f} s", "", ""],
                 ["LADSPA cmt amp_stereo x2 (1 instance)", f"{med['ladspa']:.3f} s", "",
                  f"{figures['ladspa_overhead_ratio']:.2f}x built-in"],
                 ["LADSPA cmt amp_mono x2 (2 instances)", f"{med['ladspa_mono']:.3f} s", "",
                  f"{figures['ladspa_mono_overhead_ratio']:.2f}x built-in"]]
    installed = {p.where for p in plugins.lv2_plugins()}
    missing = [u for u in CHAIN if u not in installed]
    if missing:
        print(f"note: LV2 plugins not installed ({', '.join(missing)}; apt-get install lv2-examples mda-lv2): "
              f"LV2 figures skipped")
    else:
        chain = graph(*[(plugins.load_lv2(u, SR).name, {}) for u in CHAIN])
        med = alternate({"chain": chain}, x, args.block, args.runs)["chain"]
        figures.update(lv2_chain_s=round(med, 4), rtf_lv2_chain=round(args.seconds / med, 1))
        rows.append(["LV2 eg-amp -> mda Overdrive -> Delay -> Ambience", f"{med:.3f} s",
                     f"{args.seconds / med:.0f}x real time", ""])
        if shutil.which("lv2apply"):
            rows += peer(x, args.runs, figures)
    print_table(f"bench_plugins: 48 kHz, block {args.block}, medians of {args.runs} (runs interleaved)",
                ["figure", "wall time", "RTF", "ratio"], rows)
    write_json(args.json, figures)
    return 0


def peer(x: np.ndarray, runs: int, figures: dict) -> list[list[object]]:
    """lv2apply vs `rtcore render` applying mda Overdrive to the same stereo float WAV, whole processes."""
    import soundfile as sf
    uri = CHAIN[1]
    with tempfile.TemporaryDirectory() as d:
        wav, out1, out2, patch = (Path(d) / n for n in ("in.wav", "lv2apply.wav", "rtcore.wav", "fx.toml"))
        sf.write(wav, x, SR, subtype="FLOAT")
        patch.write_text('[engine]\nlimiter = false\ntail = 0\n[[node]]\nname = "src"\ntype = "input"\n'
                         f'[[node]]\nname = "fx"\ntype = "lv2"\nuri = "{uri}"\n'
                         '[[connect]]\nfrom = "src"\nto = "fx"\n')
        cmds = {"lv2apply": ["lv2apply", "-i", str(wav), "-o", str(out1), uri],
                "rtcore": [sys.executable, "-m", "rtcore", "render", str(patch), "--input", str(wav), "--out",
                           str(out2), "--bits", "32f", "--no-progress"]}
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(runs):
            for k, cmd in cmds.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
                times[k].append(time.perf_counter() - t0)
        a, b = sf.read(out1, dtype="float32")[0], sf.read(out2, dtype="float32")[0]
        n = min(len(a), len(b))
        diff = float(np.abs(a[:n] - b[:n]).max())
    med = {k: statistics.median(v) for k, v in times.items()}
    figures.update(lv2apply_s=round(med["lv2apply"], 3), rtcore_render_overdrive_s=round(med["rtcore"], 3),
                   overdrive_max_diff=diff)
    return [[f"peer: lv2apply mda Overdrive, {len(x) / SR:g} s stereo float WAV -> WAV", f"{med['lv2apply']:.3f} s",
             "", ""],
            ["rtcore render, same plugin and file (incl. Python start)", f"{med['rtcore']:.3f} s", "",
             f"{med['rtcore'] / med['lv2apply']:.2f}x lv2apply (outputs differ by at most {diff:.1e})"]]


if __name__ == "__main__":
    sys.exit(main())
