"""``rtcore recover DIR``: a recorder's journal (rtcore/record.py) -> ``take.wav`` + ``take.mid``.

Works on a journal whatever state it was left in: a crash can only have torn the last write of
each file, so the audio is cut to whole frames, the events to whole records, and a last line of
``nodes.jsonl`` that does not parse is ignored. Times in the MIDI file count from the first
recorded frame (the WAV's first sample), at 120 BPM and 480 ticks per beat, so a DAW lines the
two up.

MIDI tracks: "input" (the notes, controllers, pitch bend and pressure the engine received, on
their channels; channel 0 = "any" becomes channel 1), one track per AI voice channel, and
"control" (parameter changes, snapshots' glides and transport as text events: ``keys.cutoff =
1200``), so nothing the journal holds is lost.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._native import lib
from .errors import RtCoreError
from .record import AUDIO_FILE, EVENT_DTYPE, EVENTS_FILE, GAPS_FILE, HEADER_FILE, NODES_FILE

TICKS_PER_BEAT = 480
TEMPO_US = 500_000            # 120 BPM: 960 ticks per second


@dataclass
class Recovered:
    wav: Path
    mid: Path
    seconds: float
    frames: int
    events: int
    input_notes: int
    ai_notes: int
    gap_frames: int
    torn_bytes: int           # bytes of a torn last write that were dropped


def _read_header(folder: Path) -> dict:
    try:
        return json.loads((folder / HEADER_FILE).read_text())
    except FileNotFoundError:
        raise RtCoreError(f"{folder}: not a recording (no {HEADER_FILE})") from None
    except (OSError, ValueError) as exc:
        raise RtCoreError(f"{folder}/{HEADER_FILE}: unreadable: {exc}") from None


def _graphs(folder: Path) -> dict[int, dict[int, tuple[str, list[str]]]]:
    out: dict[int, dict[int, tuple[str, list[str]]]] = {}
    path = folder / NODES_FILE
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        try:
            d = json.loads(line)
            out[int(d["graph"])] = {int(k): (v[0], list(v[1])) for k, v in d["nodes"].items()}
        except (ValueError, KeyError, TypeError, IndexError):
            continue                                 # the torn last line of a crash
    return out


def recover(folder: str | Path, wav: str | Path | None = None, mid: str | Path | None = None,
            bits: str = "24") -> Recovered:
    """Write the take of journal ``folder`` (default ``take.wav`` / ``take.mid`` inside it)."""
    import mido

    from .audiofile import write_wav

    folder = Path(folder)
    header = _read_header(folder)
    sr = float(header.get("sample_rate", 48000))
    first = header.get("first_frame")
    raw = (folder / AUDIO_FILE).read_bytes() if (folder / AUDIO_FILE).exists() else b""
    whole = len(raw) // 8 * 8
    audio = np.frombuffer(raw[:whole], dtype="<f4").reshape(-1, 2)
    ev_raw = (folder / EVENTS_FILE).read_bytes() if (folder / EVENTS_FILE).exists() else b""
    n_ev = len(ev_raw) // EVENT_DTYPE.itemsize
    events = np.frombuffer(ev_raw[:n_ev * EVENT_DTYPE.itemsize], dtype=EVENT_DTYPE)
    torn = (len(raw) - whole) + (len(ev_raw) - n_ev * EVENT_DTYPE.itemsize)
    if first is None:                                # no audio block was journaled yet
        first = int(events["frame"].min()) if n_ev else 0
    gaps = 0
    if (folder / GAPS_FILE).exists():
        for line in (folder / GAPS_FILE).read_text(errors="replace").splitlines():
            try:
                gaps += int(json.loads(line)["frames"])
            except (ValueError, KeyError, TypeError):
                continue
    wav = Path(wav) if wav else folder / "take.wav"
    mid = Path(mid) if mid else folder / "take.mid"
    write_wav(wav, audio if len(audio) else np.zeros((1, 2), np.float32), int(sr), bits)

    graphs = _graphs(folder)
    ticks_per_frame = TICKS_PER_BEAT * 1e6 / TEMPO_US / sr
    tracks: dict[str, list[tuple[int, object]]] = {"input": [], "control": []}
    names = {lib.RT_EV_NOTE_ON: "note_on", lib.RT_EV_NOTE_OFF: "note_off"}
    input_notes = ai_notes = 0
    for e in events:
        tick = max(0, int(round((int(e["frame"]) - first) * ticks_per_frame)))
        typ, ch = int(e["type"]), max(1, min(16, int(e["channel"]) or 1)) - 1
        generated = int(e["source"]) == lib.RT_REC_GENERATED
        if typ in names:
            msg = mido.Message(names[typ], channel=ch, note=int(e["data1"]),
                               velocity=int(e["data2"]) if typ == lib.RT_EV_NOTE_ON else int(e["data2"]) & 0x7F)
            track = f"AI channel {ch + 1}" if generated else "input"
            tracks.setdefault(track, []).append((tick, msg))
            if typ == lib.RT_EV_NOTE_ON:
                if generated:
                    ai_notes += 1
                else:
                    input_notes += 1
        elif typ == lib.RT_EV_CC:
            tracks["input"].append((tick, mido.Message("control_change", channel=ch, control=int(e["data1"]),
                                                       value=int(e["data2"]))))
        elif typ == lib.RT_EV_PITCH_BEND:
            pitch = int(max(-8192, min(8191, round(float(e["value"]) * 8192))))
            tracks["input"].append((tick, mido.Message("pitchwheel", channel=ch, pitch=pitch)))
        elif typ == lib.RT_EV_CHANNEL_PRESSURE:
            tracks["input"].append((tick, mido.Message("aftertouch", channel=ch,
                                                       value=int(max(0, min(127, round(float(e["value"]) * 127)))))))
        else:
            tracks["control"].append((tick, mido.MetaMessage("text", text=_describe(e, graphs))))
    mf = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    for name, items in tracks.items():
        if not items and name != "input":
            continue
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=name, time=0))
        if not mf.tracks:
            tr.append(mido.MetaMessage("set_tempo", tempo=TEMPO_US, time=0))
        last = 0
        for tick, msg in sorted(items, key=lambda x: x[0]):
            tr.append(msg.copy(time=tick - last))
            last = tick
        mf.tracks.append(tr)
    mf.save(mid)
    return Recovered(wav, mid, len(audio) / sr, len(audio), n_ev, input_notes, ai_notes, gaps, torn)


def _describe(e, graphs) -> str:
    """A control event as text: ``keys.cutoff = 1200``, ``transport play 96 BPM`` ..."""
    typ = int(e["type"])
    if typ == lib.RT_EV_PARAM:
        node, params = graphs.get(int(e["graph"]), {}).get(int(e["node"]), (f"node{int(e['node'])}", []))
        p = int(e["param"])
        pname = params[p] if p < len(params) else f"param{p}"
        return f"{node}.{pname} = {float(e['value']):g}"
    if typ == lib.RT_EV_TRANSPORT:
        what = {lib.RT_TRANSPORT_STOP: "stop", lib.RT_TRANSPORT_PLAY: "play", lib.RT_TRANSPORT_TEMPO: "tempo"}
        return f"transport {what.get(int(e['data1']), int(e['data1']))} {float(e['value']):g} BPM"
    if typ == lib.RT_EV_ALL_NOTES_OFF:
        return "all notes off"
    return f"event {typ}"
