"""The live status screen shows what the engine and the session report."""
import io

from rich.console import Console

from rtcore.engine import Engine
from rtcore.patch import load_patch
from rtcore.session import Session
from rtcore.status import StatusDisplay, meter_bar, status_renderable


def _text(session: Session) -> str:
    c = Console(file=io.StringIO(), width=140, record=True)
    c.print(status_renderable(session))
    return c.export_text()


def test_status_shows_tempo_meters_midi_and_counters(patches_dir):
    patch = load_patch(patches_dir / "band.toml")
    with Engine(48000, 1024) as eng:
        s = Session(eng, patch, live=False)
        s.midi([0x90, 64, 100])
        eng.render(4800)
        text = _text(s)
        assert "96.0 BPM" in text                  # the patch's tempo before the transport runs
        assert "xruns 0" in text and "dropped events 0" in text
        assert "ch1 note on 64 100" in text
        lines = {ln.split()[0]: ln for ln in text.splitlines() if ln.strip()}
        assert "█" in lines["lead"]                 # the lead played the note ...
        assert "-inf" in lines["pad"]               # ... the pad (channel 2) did not
        s.play(tempo=110)
        eng.render(256)
        s.learn("pad.cutoff")
        text = _text(s)
        assert "playing" in text and "110.0 BPM" in text
        assert "MIDI learn: move a knob for pad.cutoff" in text


def test_meter_bar_scale():
    assert str(meter_bar(0.0, 0.0)).strip() == ""
    full = meter_bar(1.0, 1.0)
    assert str(full).count("█") == 24
    half = meter_bar(10 ** (-30 / 20), 10 ** (-30 / 20))    # -30 dBFS = half of the -60..0 scale
    assert str(half).count("█") == 12


def test_display_draws_without_a_terminal(patches_dir):
    patch = load_patch(patches_dir / "keys.toml")
    with Engine(48000, 1024) as eng:
        s = Session(eng, patch, live=False)
        out = io.StringIO()
        with StatusDisplay(s, Console(file=out, width=100, force_terminal=False)) as d:
            d.tick(force=True)
        assert "keys" in out.getvalue() or patch.name in out.getvalue()


def test_status_shows_what_the_inputs_lost(patches_dir):
    from rtcore.status import inputs_line

    patch = load_patch(patches_dir / "keys.toml")
    with Engine(48000, 1024) as eng:
        s = Session(eng, patch, live=False)
        assert "MIDI in:" not in _text(s)           # no surface registered: no line
        midi = {"received": 120, "handled": 118, "errors": 2, "system": 0, "lost": 0}
        s.add_counters("midi_in", lambda: midi)
        s.add_counters("osc", lambda: {"received": 7, "handled": 7, "dropped": 0})
        assert "MIDI in: 120 received, 118 played, 0 lost   OSC: 7 received, 7 handled, 0 dropped" in _text(s)
        midi["lost"] = 35
        assert "MIDI in: 120 received, 118 played, 35 lost" in _text(s)
        s.add_counters("osc", lambda: 1 / 0)       # a surface that fails to answer is left out
        assert inputs_line(s.surface_counters()) == "MIDI in: 120 received, 118 played, 35 lost"
