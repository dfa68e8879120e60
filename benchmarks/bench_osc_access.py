"""What the OSC allow list (``--osc-allow``) costs the server's receive thread, and what a flood
from a denied sender costs it: CPU time of that thread per datagram (its own
CLOCK_THREAD_CPUTIME, ``time.pthread_getcpuclockid``) and datagrams per wall second.

Three cases, same datagrams (``/rtcore/node/keys/cutoff f``, a parameter set) from a sender on
127.0.0.1 to an ``OscServer`` on 127.0.0.1: no allow list; an allow list that admits the sender
(every datagram is checked, then handled); one that leaves it out (every datagram is dropped
unread). Datagrams go in chunks, each waited for before the next (no kernel drops), and the
engine renders between chunks so its event queue never fills. Median of --runs.

    python benchmarks/bench_osc_access.py [--json PATH] [--datagrams 20000] [--runs 3]
Keys: osc_cpu_us_per_dgram_{open,allowed,denied}, osc_dgrams_per_s_{open,allowed,denied}
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, write_json

PATCH = '[[node]]\nname = "keys"\ntype = "synth"\n'
CASES = {"open": None, "allowed": "10.0.0.0/8,127.0.0.1/32", "denied": "10.0.0.0/8,192.168.0.0/16"}
CHUNK = 500          # datagrams in flight at most: far below the receive buffer


def one_run(allow: str | None, datagrams: int, folder: Path) -> tuple[float, float, int]:
    """(server thread CPU µs per datagram, datagrams per wall second, engine events dropped)."""
    import rtcore as rc
    from rtcore.osc import OscServer, wire
    from rtcore.patch import load_patch
    from rtcore.session import Session

    (folder / "p.toml").write_text(PATCH)
    eng = rc.Engine(48000, 1024)
    session = Session(eng, load_patch(folder / "p.toml"), live=False)
    server = OscServer(session, port=0, allow=allow).start()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    dgram = wire.build("/rtcore/node/keys/cutoff", 1000.0)
    counter = "denied" if allow == CASES["denied"] else "received"
    clock = time.pthread_getcpuclockid(server._thread.ident)
    try:
        cpu0, wall0, sent = time.clock_gettime(clock), time.perf_counter(), 0
        while sent < datagrams:
            n = min(CHUNK, datagrams - sent)
            for _ in range(n):
                sender.sendto(dgram, server.address)
            sent += n
            deadline = time.monotonic() + 10
            while server.counters()[counter] < sent:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server handled {server.counters()[counter]} of {sent}")
                time.sleep(0.0002)
            eng.render(128)                    # drains the engine's event queue
        cpu, wall = time.clock_gettime(clock) - cpu0, time.perf_counter() - wall0
        dropped = eng.stats().events_dropped
    finally:
        sender.close()
        server.close()
        session.close()
        eng.close()
    return cpu / datagrams * 1e6, datagrams / wall, dropped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    ap.add_argument("--datagrams", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    results: dict[str, list[tuple[float, float, int]]] = {k: [] for k in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):              # cases interleaved: the machine's load hits each alike
            for name, allow in CASES.items():
                results[name].append(one_run(allow, args.datagrams, Path(tmp)))
    rows, figures = [], {}
    for name, allow in CASES.items():
        cpu = statistics.median(r[0] for r in results[name])
        rate = statistics.median(r[1] for r in results[name])
        dropped = max(r[2] for r in results[name])
        figures[f"osc_cpu_us_per_dgram_{name}"] = round(cpu, 2)
        figures[f"osc_dgrams_per_s_{name}"] = round(rate)
        rows.append([name, allow or "(none)", cpu, f"{rate:,.0f}", dropped])
    print_table(f"bench_osc_access: {args.datagrams} datagrams per run, median of {args.runs}",
                ["case", "--osc-allow", "receive thread µs/datagram", "datagrams/s", "engine events dropped"],
                rows)
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
