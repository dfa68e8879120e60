"""The ``rtcore`` command: render, play, devices, nodes, check."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import RtCoreError


def _cmd_render(args: argparse.Namespace) -> int:
    from .patch import load_patch
    from .render import render_to_file

    patch = load_patch(args.patch, sample_rate=args.sample_rate, allow_any_path=args.allow_any_path)
    if args.midi is None and args.input is None and args.seconds is None:
        raise RtCoreError("render needs --midi, --input or --seconds (nothing to play)")
    if patch.uses_input and args.input is None:
        print(f"rtcore: note: {args.patch} has an input node but no --input was given (it hears silence)",
              file=sys.stderr)
    t0 = time.perf_counter()
    res = render_to_file(patch, args.out, bits=args.bits, midi=args.midi, input_wav=args.input,
                         seconds=args.seconds, block=args.block, midi_out=args.midi_out, plot=args.plot,
                         progress=False if args.no_progress else None)
    for w in res.warnings or []:
        print(f"rtcore: warning: {w}", file=sys.stderr)
    wall = res.render_seconds or (time.perf_counter() - t0)
    dur = res.audio.shape[0] / res.sample_rate
    peak = float(abs(res.audio).max()) if res.audio.size else 0.0
    peak_db = 20 * __import__("math").log10(peak) if peak > 0 else float("-inf")
    print(f"wrote {args.out}: {dur:.2f} s, {res.sample_rate} Hz, stereo, {args.bits}-bit, peak {peak_db:.1f} dBFS, "
          f"{res.events} events, rendered in {wall:.2f} s ({dur / wall if wall > 0 else 0:.0f}x real time)")
    if res.stats.ai_steps:
        print(f"AI: {res.stats.ai_steps} steps, {sum(1 for n in res.ai_notes if n[1])} notes played")
    for extra in (args.midi_out, args.plot):
        if extra is not None:
            print(f"wrote {extra}")
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    from .perform import PerformOptions, perform

    perform(PerformOptions(
        patch=args.patch, device=args.device, host_api=args.host_api, block=args.block,
        sample_rate=args.sample_rate, midi_file=args.midi_file, seconds=args.seconds, quiet=args.quiet,
        midi=not args.no_midi, midi_in=args.midi_in, midi_out=args.midi_out, midi_api=args.midi_api,
        osc=not args.no_osc, osc_host=args.osc_host, osc_port=args.osc_port,
        osc_allow=args.osc_allow, latency=args.latency, watch=args.watch, learn=args.learn or [],
        record=args.record, allow_any_path=args.allow_any_path))
    return 0


def _cmd_recover(args: argparse.Namespace) -> int:
    from .recover import recover

    r = recover(args.folder, wav=args.wav, mid=args.mid, bits=args.bits)
    print(f"recovered {r.seconds:.2f} s of audio and {r.events} events: wrote {r.wav} and {r.mid} "
          f"({r.input_notes} notes in, {r.ai_notes} AI notes"
          + (f", {r.gap_frames} frames lost to a full ring" if r.gap_frames else "")
          + (f", {r.torn_bytes} bytes of a torn last write dropped" if r.torn_bytes else "") + ")")
    return 0


def _cmd_devices(args: argparse.Namespace) -> int:
    from .devices import format_devices
    from .midi import format_ports

    if not args.midi_only:
        print(format_devices())
        print()
    print(format_ports())
    return 0


def _cmd_nodes(args: argparse.Namespace) -> int:
    from .params import node_types

    types = node_types()
    wanted = [args.type] if args.type else sorted(t for t in types if ":" not in t)   # plugins: `rtcore plugins`
    for t in wanted:
        if t not in types:
            raise RtCoreError(f"unknown node type '{t}' (types: {', '.join(sorted(types))})")
    if args.json:
        print(json.dumps({t: {"doc": types[t].doc, "params": [
            {"name": p.name, "unit": p.unit, "min": p.min, "max": p.max, "default": p.default,
             "kind": p.kind, "choices": list(p.choices), "doc": p.doc} for p in types[t].params]}
            for t in wanted}, indent=2))
        return 0
    for t in wanted:
        nt = types[t]
        print(f"{t}: {nt.doc}")
        for p in nt.params:
            rng = "|".join(p.choices) if p.kind == "enum" else ("true|false" if p.kind == "bool" else p.range_text())
            print(f"  {p.name:<18} {rng:<32} default {p.display(p.default)!s:<10} {p.doc}")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import ladspa_path, ladspa_plugins, load_ladspa, load_lv2, lv2_plugins

    formats = [args.format] if args.format else ["ladspa", "lv2"]
    found = []
    for fmt in formats:
        found += ladspa_plugins() if fmt == "ladspa" else lv2_plugins()
    rows = []
    for p in found:
        params = []
        if p.hostable:
            try:
                nt = (load_ladspa(Path(p.where), p.label) if p.format == "ladspa" else load_lv2(p.where))
                params = [{"name": q.name, "unit": q.unit, "min": q.min, "max": q.max, "default": q.default,
                           "kind": q.kind, "choices": list(q.choices), "doc": q.doc} for q in nt.params]
            except RtCoreError as exc:
                p = type(p)(**{**p.__dict__, "hostable": False, "problem": str(exc)})
        rows.append({**p.__dict__, "patch": p.patch_keys, "params": params})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for fmt in formats:
        mine = [r for r in rows if r["format"] == fmt]
        where = ":".join(str(x) for x in ladspa_path()) if fmt == "ladspa" else "LV2_PATH or lilv's default folders"
        print(f"{fmt.upper()}: {len(mine)} plugins ({where})")
        for r in mine:
            ident = f"{Path(r['where']).name} {r['label']} ({r['id']})" if fmt == "ladspa" else r["where"]
            ports = f"{r['audio_in']} in / {r['audio_out']} out" + (", MIDI" if r["midi_in"] else "")
            status = ", ".join(q["name"] for q in r["params"]) if r["hostable"] else f"NOT USABLE: {r['problem']}"
            print(f"  {ident}  {r['name']}  [{ports}]  {status}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .patch import load_patch

    for path in args.patches:
        p = load_patch(path, allow_any_path=args.allow_any_path)
        print(f"{path}: ok ({len(p.graph.nodes)} nodes, {len(p.graph.connections)} connections, "
              f"{len(p.cc_maps)} CC maps, {p.sample_rate} Hz, block {p.block}, {p.tempo:g} BPM)")
    return 0


def _add_allow_any_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-any-path", action="store_true", help="let the patch name files (model, "
                        "samples, a LADSPA library path, its MIDI-learn sidecar) outside its folder, RTCORE_PATH "
                        "and the LADSPA folders")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rtcore", description="Real-time plugin host and live performance engine.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("render", help="render a patch offline to a WAV file (no sound card needed)")
    r.add_argument("patch", type=Path, help="patch file (.toml)")
    r.add_argument("--midi", type=Path, help="MIDI file to play")
    r.add_argument("--input", type=Path, help="WAV file fed to the patch's input node")
    r.add_argument("--out", type=Path, required=True, help="WAV file to write")
    r.add_argument("--seconds", type=float, help="length in seconds (default: to the end plus the patch's tail)")
    r.add_argument("--block", type=int, help="host block in frames (default: the patch's)")
    r.add_argument("--sample-rate", type=int, help="override the patch's sample rate (Hz)")
    r.add_argument("--bits", choices=["16", "24", "32f"], default="24", help="WAV sample format (default 24)")
    r.add_argument("--midi-out", type=Path, help="also write a MIDI file: the player's track and the AI's voices")
    r.add_argument("--plot", type=Path, help="also write a piano-roll PNG (player and AI in different colours)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_allow_any_path(r)
    r.set_defaults(func=_cmd_render)

    p = sub.add_parser("play", help="play a patch live through PortAudio (Ctrl-C stops)")
    p.add_argument("patch", type=Path)
    p.add_argument("--device", help="output device index or name (see `rtcore devices`)")
    p.add_argument("--host-api", help="host API to pick the device from, e.g. JACK or ALSA")
    p.add_argument("--block", type=int, choices=[32, 64, 128, 256, 512, 1024], help="frames per callback")
    p.add_argument("--midi-file", type=Path, help="MIDI file to play through the patch")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument("--sample-rate", type=int, help="override the patch's sample rate (Hz)")
    p.add_argument("--quiet", action="store_true", help="no live status screen: log lines on stderr, the "
                   "final report on stdout")
    m = p.add_argument_group("MIDI (python-rtmidi)")
    m.add_argument("--midi-in", metavar="PORT", help="MIDI input port, index or part of its name (see "
                   "`rtcore devices`); default: a virtual input 'rtcore in'")
    m.add_argument("--midi-out", metavar="PORT", help="port that gets the AI's parts and MIDI clock; "
                   "default: a virtual output 'rtcore out'")
    m.add_argument("--midi-api", choices=["auto", "alsa", "jack"], help="MIDI system (default auto: the ALSA "
                   "sequencer if there is one, else JACK)")
    m.add_argument("--no-midi", action="store_true", help="open no MIDI ports")
    m.add_argument("--latency", choices=["lowest", "fixed"], help="live MIDI/OSC timing; default: the "
                   "patch's [midi] latency")
    m.add_argument("--learn", metavar="NODE.PARAM", action="append", help="MIDI learn: move a knob to map it "
                   "to this parameter (repeat for more); saved next to the patch as <patch>.learn.toml")
    o = p.add_argument_group("OSC (python-osc)")
    o.add_argument("--osc-host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; "
                   "0.0.0.0 = every network interface: give --osc-allow too)")
    o.add_argument("--osc-allow", metavar="CIDR[,CIDR...]", help="only these IPv4 senders may control the "
                   "engine, e.g. 192.168.1.0/24,10.0.0.5/32; other datagrams are dropped unread and counted "
                   "(osc_denied)")
    o.add_argument("--osc-port", type=int, default=9000, help="UDP port (default 9000; 0 = any free port)")
    o.add_argument("--no-osc", action="store_true", help="no OSC server")
    p.add_argument("--record", type=Path, metavar="DIR", help="journal everything (input, the AI's notes, "
                   "the master audio) into DIR as it happens; flushed every 0.1 s, so a crash loses at most that "
                   "(`rtcore recover DIR`); take.wav and take.mid are written at the end")
    p.add_argument("--watch", action="store_true", help="reload the patch when its file changes (no click; "
                   "a broken file keeps the old patch playing)")
    _add_allow_any_path(p)
    p.set_defaults(func=_cmd_play)

    d = sub.add_parser("devices", help="list audio devices and MIDI ports")
    d.add_argument("--midi", dest="midi_only", action="store_true", help="only the MIDI ports")
    d.set_defaults(func=_cmd_devices)

    n = sub.add_parser("nodes", help="list node types and their parameters")
    n.add_argument("type", nargs="?")
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=_cmd_nodes)

    rv = sub.add_parser("recover", help="turn a recording journal (play --record DIR) into a WAV and a MIDI file, "
                        "also after a crash")
    rv.add_argument("folder", type=Path)
    rv.add_argument("--wav", type=Path, help="WAV to write (default DIR/take.wav)")
    rv.add_argument("--mid", type=Path, help="MIDI file to write (default DIR/take.mid)")
    rv.add_argument("--bits", choices=["16", "24", "32f"], default="24")
    rv.set_defaults(func=_cmd_recover)

    pl = sub.add_parser("plugins", help="list the installed LADSPA and LV2 plugins and their parameters")
    pl.add_argument("--format", choices=["ladspa", "lv2"], help="only this plugin format")
    pl.add_argument("--json", action="store_true", help="JSON: every plugin with its ports, parameters and "
                    "the [[node]] keys that use it")
    pl.set_defaults(func=_cmd_plugins)

    c = sub.add_parser("check", help="validate patch files")
    c.add_argument("patches", nargs="+", type=Path)
    _add_allow_any_path(c)
    c.set_defaults(func=_cmd_check)

    from .accompany.commands import add_commands    # train, evaluate (the AI accompanist)
    add_commands(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RtCoreError as exc:
        print(f"rtcore: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rtcore: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
