"""One Link peer for the sync tests and benchmarks: an rtcore engine playing on the JACK server
named by JACK_DEFAULT_SERVER, its clock following Ableton Link (rtcore.sync.LinkClock, as
`[clock] source = "link"` makes it), printing where its musical clock is.

Every --every seconds it prints ``beat <peer> <CLOCK_MONOTONIC ns> <beat> <bpm> <playing>``: the
beat of the engine's transport at that instant (from the engine's origin and tempo and the clock
model's frame for that time -- what the AI's grid and MIDI clock out follow). With --tempo-at T
--tempo BPM it asks the Link session for a new tempo T seconds in and prints ``tempo-set <ns>``.

    python benchmarks/link_peer.py NAME --seconds 8 [--every 0.02] [--tempo-at 4 --tempo 132]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import rtcore as rc  # noqa: E402
from rtcore._native import lib  # noqa: E402
from rtcore.devices import JACK_HOST_API, resolve_device  # noqa: E402
from rtcore.live import play  # noqa: E402
from rtcore.session import Session  # noqa: E402
from rtcore.sync import LinkClock  # noqa: E402

PATCH = """
[engine]
tempo = 120
[clock]
source = "link"
quantum = 4
[[node]]
name = "t"
type = "tone"
level = -40
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--every", type=float, default=0.02)
    ap.add_argument("--tempo-at", type=float)
    ap.add_argument("--tempo", type=float)
    ap.add_argument("--patch", type=Path)
    args = ap.parse_args()
    patch_path = args.patch
    if patch_path is None:
        patch_path = Path(f"/tmp/rtcore-link-peer-{args.name}.toml")
        patch_path.write_text(PATCH)
    patch = rc.load_patch(patch_path)
    with rc.Engine(patch.sample_rate, 1024) as eng:
        session = Session(eng, patch, live=True)
        clock = LinkClock(session, patch.quantum)
        state = {"started": False, "tempo_set": False, "next": 0.0, "t0": 0.0}

        def on_tick(engine, frames):
            now = time.monotonic()
            if not state["started"]:
                state["started"], state["t0"] = True, now
                session.clock_source = clock.start()
                clock.play()
            if args.tempo_at is not None and not state["tempo_set"] and now - state["t0"] >= args.tempo_at:
                state["tempo_set"] = True
                session.set_tempo(args.tempo)
                print(f"tempo-set {lib.rt_monotonic_ns()}", flush=True)
            return None

        def sample_loop():
            while not stop[0]:
                t = lib.rt_monotonic_ns()
                st = eng.stats()
                frame = session.clock.frame_at(t)
                beat = (frame - st.transport_origin) * st.tempo / (60.0 * eng.sample_rate)
                bpm = session.tempo
                print(f"beat {args.name} {t} {beat:.6f} {bpm:.4f} {st.transport_playing} {clock.peers}", flush=True)
                time.sleep(args.every)

        import threading
        stop = [False]
        sampler = threading.Thread(target=sample_loop, daemon=True)
        sampler.start()
        try:
            play(eng, seconds=args.seconds, device=resolve_device(None, JACK_HOST_API), block=128, quiet=True,
                 on_tick=on_tick)
        finally:
            stop[0] = True
            sampler.join(1.0)
            clock.stop()
            session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
