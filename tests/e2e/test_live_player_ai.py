"""A live player drives the AI exactly as a melody file does: a melody played through JACK MIDI
into "rtcore in" (fixed latency mode, so every note's engine frame is known) makes the
accompanist play, note for note and frame for frame, what an offline render of the same notes
at the same frames makes it play -- and those notes also leave on "rtcore out"."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import rtcore as rc
from rtcore._native import lib
from rtcore.devices import JACK_HOST_API, resolve_device
from rtcore.live import play
from rtcore.midi import MidiInput, MidiOutput
from rtcore.session import Session

from jack_helpers import PERIOD, SAMPLE_RATE, jack_midi_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MELODY = [67, 67, 69, 71, 72, 71, 69, 67, 69, 71, 69, 67]      # quarter notes at 96 BPM
BEAT = 60 / 96


def test_live_melody_through_rtcore_in_equals_the_offline_render(jack_server, recorder):
    rtmidi = pytest.importorskip("rtmidi")
    if not (ROOT / "models" / "chorale.onnx").exists():
        pytest.skip("models/chorale.onnx is not built")
    patch = rc.load_patch(ROOT / "patches" / "chorale.toml")
    sent: list[rc.Event] = []            # the player's notes as the engine got them
    ai_live: list[tuple] = []

    with rc.Engine(SAMPLE_RATE, 1024) as eng:
        # fixed latency: every note's engine frame is known here. Four blocks of it (10.7 ms), so
        # that a note reaching the engine late on a busy machine (it would play at once, off the
        # frame recorded here) cannot make the comparison fail; the stats below prove none did.
        session = Session(eng, patch, live=True, latency="fixed", fixed_blocks=4)
        engine_send = session.send

        def spy(events):
            for ev in [events] if isinstance(events, rc.Event) else events:
                if ev.type in (lib.RT_EV_NOTE_ON, lib.RT_EV_NOTE_OFF):
                    sent.append(ev)
            return engine_send(events)

        session.send = spy
        session.add_note_listener(lambda *n: ai_live.append(n))
        session.start()
        midi_in = MidiInput(session, api="jack").open()
        midi_outp = MidiOutput(session, api="jack").open()
        sender = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="player")
        sender.open_virtual_port("keys")
        c = recorder.client              # the recorder's MIDI input hears "rtcore out" (its callback is C)
        c.connect(jack_midi_port(c, "player:keys", is_input=False), jack_midi_port(c, ":rtcore in", is_input=True))
        c.connect(jack_midi_port(c, ":rtcore out", is_input=False), recorder.midi_in_port)
        recorder.start()

        started = threading.Event()

        def player() -> None:
            started.wait(10)
            time.sleep(0.5)
            for n in MELODY:
                sender.send_message([0x90, n, 96])
                time.sleep(BEAT * 0.9)
                sender.send_message([0x80, n, 0])
                time.sleep(BEAT * 0.1)

        t = threading.Thread(target=player, daemon=True)
        t.start()
        try:
            st = play(eng, seconds=0.5 + len(MELODY) * BEAT + 1.0, device=resolve_device(None, JACK_HOST_API),
                      block=PERIOD, quiet=True, on_tick=lambda e, f: started.set())
            t.join(5)
            time.sleep(0.05)
        finally:
            midi_in.close()
            midi_outp.close()
            session.close()
            sender.close_port()
            sender.delete()
        recorder.stop()
        midi_out = [list(data) for _, data in recorder.midi_received()]
        origin = st.transport_origin

    assert st.ai_missed_deadlines == 0 and st.events_dropped == 0 and st.events_late == 0
    ons = [e for e in sent if e.type == lib.RT_EV_NOTE_ON]
    assert [e.data1 for e in ons] == MELODY and all(e.time is not None for e in sent)
    end = max(e.time for e in sent) - origin

    # the same notes at the same frames (from the transport's beat 0), rendered offline
    offline_events = [rc.Event.transport(True, patch.tempo, 0)]
    offline_events += [rc.Event(e.type, e.time - origin, e.channel, e.data1, e.data2) for e in sent]
    with rc.Engine(SAMPLE_RATE, 1024) as off:
        off.load(patch.graph)
        off.render_events(offline_events, end + SAMPLE_RATE // 2, block=PERIOD)
        ai_offline = off.poll_notes()

    def ons_until(notes, shift):
        return [(f - shift, ch, n, v) for f, kind, ch, n, v in notes
                if kind == lib.RT_EV_NOTE_ON and 0 <= f - shift < end]

    live, offline = ons_until(ai_live, origin), ons_until(ai_offline, 0)
    assert len(offline) >= 8, offline             # the AI played (a held chord makes no new note)
    assert live == offline
    # the same notes left on "rtcore out", in order (the last ones may still be in flight when
    # the port closes)
    sent_out = [((m[0] & 0x0F) + 1, m[1]) for m in midi_out if m[0] & 0xF0 == 0x90 and m[2] > 0]
    expected = [(ch, n) for _, ch, n, _ in live]
    assert len(sent_out) >= len(expected) - 3 and sent_out[:len(expected)] == expected[:len(sent_out)]
