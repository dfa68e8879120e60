"""Faults survived while playing (offline sessions; the live versions are in tests/e2e):

* the AI's model file is replaced by garbage during a show: ``--watch`` notices (it watches the files
  the patch names, not only the patch), the reload is refused, the old graph and its running model
  play on, and the error is logged (and answered to the OSC sender of ``/rtcore/patch/load``);
* a plugin (LADSPA library or label, LV2 URI) or a sample file is missing, or a sample is garbage:
  the patch is refused with a one-line error naming the file and key, and the old patch plays on,
  sample for sample as if no load had been tried.
"""
from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore.engine import Event
from rtcore.errors import ModelError, PatchError
from rtcore.reload import kept_nodes
from rtcore.session import Session

ROOT = Path(__file__).resolve().parents[2]
SR = 48000
CMT = Path("/usr/lib/ladspa/cmt.so")

AI_PATCH = """
[engine]
sample_rate = 48000
block = 128
tempo = 120
[[node]]
name = "lead"
type = "synth"
channel = 1
[[node]]
name = "harmony"
type = "ai"
channel = 1
model = "model.onnx"
to = "choir"
[[node]]
name = "choir"
type = "synth"
"""


def _melody(start: int, bars: int = 2) -> list[Event]:
    step = SR * 60 // 120 // 4                      # a 16th at 120 BPM
    evs = []
    for i in range(bars * 4):
        n = (60, 64, 67, 65)[i % 4]
        t = start + i * 4 * step
        evs += [Event.note_on(n, 100, 1, t), Event.note_off(n, 1, t + 3 * step)]
    return evs


@pytest.fixture
def ai_session(tmp_path):
    pytest.importorskip("onnxruntime")
    model = ROOT / "models" / "chorale.onnx"
    if not model.is_file():
        pytest.skip("models/chorale.onnx is not built")
    shutil.copy(model, tmp_path / "model.onnx")
    patch = tmp_path / "ai.toml"
    patch.write_text(AI_PATCH)
    eng = rc.Engine(SR, 1024)
    s = Session(eng, rc.load_patch(patch), live=False)
    eng.send(Event.transport(True, 120.0, 0))
    s.logs = []
    s.add_log_listener(s.logs.append)
    yield s
    s.close()
    eng.close()


def _wait_for(pred, what: str, logs: list[str], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"{what}: {logs}"
        time.sleep(0.02)


def test_a_model_replaced_by_garbage_is_refused_and_the_running_model_plays_on(ai_session, monkeypatch):
    import rtcore.session as sess

    s, eng = ai_session, ai_session.engine
    monkeypatch.setattr(sess, "WATCH_SECONDS", 0.05)
    model = s.patch.path.parent / "model.onnx"
    eng.render_events(_melody(0), 2 * SR)                # the AI plays
    before, playing = eng.stats(), s.patch
    assert before.ai_steps > 10 and before.notes_out > 0
    s.watch()
    model.write_bytes(b"\x00garbage, not an ONNX model" * 100)            # mid-show
    _wait_for(lambda: any("reload failed" in line for line in s.logs), "the garbage model was not noticed", s.logs)
    line = next(line for line in s.logs if "reload failed" in line)
    assert "still playing ai.toml" in line and str(model) in line, line
    assert "\n" not in line
    assert s.patch is playing and eng.stats().graph_generation == before.graph_generation
    assert not any("playing without the AI" in line for line in s.logs)
    # the model that was loaded before keeps playing: more steps and notes, no missed deadline
    eng.render_events(_melody(0), 2 * SR)
    after = eng.stats()
    assert after.ai_steps >= before.ai_steps + 10 and after.notes_out > before.notes_out
    assert after.ai_missed_deadlines == 0
    # a good model written back is reloaded (and, being the same file, the AI keeps its state)
    shutil.copy(ROOT / "models" / "chorale.onnx", model)
    _wait_for(lambda: s.patch is not playing, "the restored model was not reloaded", s.logs)
    assert "harmony" in eng.kept


def test_patch_load_over_osc_with_a_garbage_model_answers_the_error(ai_session):
    from rtcore.osc import OscServer, wire

    s, eng = ai_session, ai_session.engine
    (s.patch.path.parent / "model.onnx").write_bytes(b"garbage")
    gen = eng.stats().graph_generation
    with OscServer(s, port=0) as server, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5.0)
        sock.sendto(wire.build("/rtcore/patch/load"), server.address)
        m = wire.parse_message(sock.recv(65536))
    assert m.address == "/rtcore/error" and m.args[0] == "/rtcore/patch/load", m
    assert "model.onnx" in m.args[1], m
    assert eng.stats().graph_generation == gen
    eng.render_events(_melody(0), SR // 2)
    assert eng.stats().ai_steps > 0


def test_a_reload_without_a_running_ai_may_still_play_without_it(tmp_path):
    """Only a running model is protected: a patch whose AI never loaded reloads with a warning."""
    pytest.importorskip("onnxruntime")
    (tmp_path / "model.onnx").write_bytes(b"garbage")
    patch = tmp_path / "ai.toml"
    patch.write_text(AI_PATCH)
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, rc.load_patch(patch), live=False)
        logs: list[str] = []
        s.add_log_listener(logs.append)
        assert eng.warnings                                 # started without its AI
        patch.write_text(AI_PATCH.replace("name = \"lead\"", "name = \"melody\""))
        s.load()
        assert "melody" in s.nodes() and any("playing without the AI" in line for line in logs)
        s.close()
    with rc.Engine(SR, 1024) as eng:                       # the engine alone: raise by default
        with pytest.raises(ModelError):
            eng.load(rc.load_patch(patch).graph)


def test_a_model_rewritten_under_the_same_name_is_not_kept():
    spec = lambda digest: rc.GraphSpec(nodes=[rc.NodeSpec("x", "ai", config={"model": "m.onnx", "to": "s"},  # noqa: E731
                                                          digests={"model": digest}),
                                               rc.NodeSpec("s", "synth")], event_connections=[("x", "s")])
    assert set(kept_nodes(spec("a"), spec("a"))) == {"master", "x", "s"}
    assert set(kept_nodes(spec("a"), spec("b"))) == {"master"}      # the AI and its instrument go together


# ---- missing plugins and samples --------------------------------------------------------------
BASE = """
[engine]
sample_rate = 48000
block = 128
[[node]]
name = "osc"
type = "tone"
freq = 330
level = -12
"""


def _base_graph() -> rc.GraphSpec:
    return rc.GraphSpec(nodes=[rc.NodeSpec("osc", "tone", {"freq": 330.0, "level": -12.0})])


BROKEN = {
    "ladspa library": ('[[node]]\nname = "fx"\ntype = "ladspa"\nplugin = "no_such_lib.so"\nlabel = "amp_mono"\n',
                       ["[[node]] 'fx'", "no LADSPA library 'no_such_lib.so'"]),
    "ladspa label": ('[[node]]\nname = "fx"\ntype = "ladspa"\nplugin = "cmt.so"\nlabel = "amp_monoo"\n',
                     ["[[node]] 'fx'", "has no plugin labelled 'amp_monoo'", "did you mean 'amp_mono'"]),
    "lv2 uri": ('[[node]]\nname = "fx"\ntype = "lv2"\nuri = "http://example.org/plugins/not-installed"\n',
                ["[[node]] 'fx'", "no LV2 plugin <http://example.org/plugins/not-installed> is installed"]),
    "sample file": ('[[node]]\nname = "smp"\ntype = "sampler"\n[[node.sample]]\nfile = "gone.wav"\n',
                    ["[[node]] 'smp' [[node.sample]] #1", "key 'file'", "gone.wav does not exist"]),
    "garbage sample": ('[[node]]\nname = "smp"\ntype = "sampler"\n[[node.sample]]\nfile = "garbage.wav"\n',
                       ["[[node]] 'smp' [[node.sample]] #1", "key 'file'", "garbage.wav"]),
}


@pytest.mark.parametrize("fault", list(BROKEN))
def test_a_missing_plugin_or_sample_is_refused_and_the_old_patch_plays_on(fault, tmp_path):
    if fault == "ladspa label" and not CMT.exists():
        pytest.skip("Debian's cmt LADSPA plugins are not installed (apt-get install cmt)")
    extra, expected = BROKEN[fault]
    (tmp_path / "garbage.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    patch = tmp_path / "show.toml"
    patch.write_text(BASE)
    with rc.Engine(SR, 1024) as eng:
        eng.load(_base_graph())
        ref = eng.render(3 * 4800)
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, rc.load_patch(patch), live=False)
        logs: list[str] = []
        s.add_log_listener(logs.append)
        first = eng.render(4800)
        broken = tmp_path / "broken.toml"
        broken.write_text(BASE + extra)
        with pytest.raises(PatchError) as ei:
            s.load(broken)
        middle = eng.render(4800)
        patch.write_text(BASE + extra)                   # the playing patch's own file, edited
        with pytest.raises(PatchError):
            s.load()
        last = eng.render(4800)
        st = eng.stats()
        s.close()
    msg = str(ei.value)
    assert "\n" not in msg and str(broken) in msg, msg
    for part in expected:
        assert part in msg, msg
    assert len(logs) == 2 and all(line.startswith("reload failed, still playing show.toml") for line in logs), logs
    assert s.patch.path == patch and [n.name for n in s.patch.graph.nodes] == ["osc"]
    assert st.graph_swaps == 1
    # the old patch played on as if nothing had been tried: the same samples
    assert np.array_equal(np.concatenate([first, middle, last]), ref)
