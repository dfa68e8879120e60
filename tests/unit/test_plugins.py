"""Third-party plugins as graph nodes, with Debian's packages as fixtures (cmt and swh LADSPA
libraries; the LV2 example amp and mda's EPiano): analytic outputs, mono plugins on stereo buses,
MIDI into an LV2 instrument at the right sample, errors that name near matches, the NaN guard
(a tiny LADSPA plugin built here that emits NaN), and plugin parameters reached like built-in
ones (CC maps, snapshots, OSC names, hot reload)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc
from rtcore import plugins
from rtcore.errors import NotFoundError, PatchError
from rtcore.params import node_types
from rtcore.session import Session

ROOT = Path(__file__).resolve().parents[2]
SR = 48000
CMT = Path("/usr/lib/ladspa/cmt.so")
EG_AMP = "http://lv2plug.in/plugins/eg-amp"
EPIANO = "http://drobilla.net/plugins/mda/EPiano"

need_ladspa = pytest.mark.skipif(not CMT.exists(), reason="Debian's cmt LADSPA plugins are not installed "
                                                        "(apt-get install cmt; `make system` does)")


def _has_lv2(uri: str) -> bool:
    try:
        return any(p.where == uri for p in plugins.lv2_plugins())
    except Exception:  # noqa: BLE001
        return False


need_lv2 = pytest.mark.skipif(not (_has_lv2(EG_AMP) and _has_lv2(EPIANO)),
                              reason="lv2-examples and mda-lv2 are not installed (`make system` installs them)")

CHAIN = """
[engine]
limiter = false
[[node]]
name = "src"
type = "input"
[[node]]
name = "amp"
type = "ladspa"
plugin = "cmt.so"
label = "amp_mono"
gain = 2.0
[[node]]
name = "echo"
type = "ladspa"
plugin = "cmt"
id = 1056              # delay_5s, by its unique id
delay = 0.01           # seconds
dry_wet_balance = 0.25
[[connect]]
from = "src"
to = "amp"
[[connect]]
from = "amp"
to = "echo"
[[midi.cc]]
cc = 7
to = "amp.gain"
min = 0
max = 4
takeover = false
[[snapshot]]
name = "quiet"
program = 2
amp = { gain = 0.5 }
"""


def impulse(n: int = 4800, at: int = 100, left: float = 0.5, right: float = -0.25) -> np.ndarray:
    x = np.zeros((n, 2), np.float32)
    x[at] = (left, right)
    return x


@need_ladspa
def test_ladspa_amp_and_delay_give_the_analytic_output(write_patch):
    patch = rc.load_patch(write_patch(CHAIN))
    amp, echo = patch.graph.nodes[1], patch.graph.nodes[2]
    assert amp.type == f"ladspa:{CMT}:amp_mono" and echo.type == f"ladspa:{CMT}:delay_5s"
    delay = node_types()[echo.type].param("delay")
    assert (delay.unit, delay.min, delay.max, delay.default) == ("s", 0.0, 5.0, 1.0)
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        y = eng.render(4800, block=128, input=impulse())
    # gain 2 (linear), then (1 - w) * dry + w * (10 ms later), w = 0.25; both channels, each its
    # own mono instance
    for c, v in ((0, 0.5), (1, -0.25)):
        nz = np.flatnonzero(np.abs(y[:, c]) > 1e-9)
        assert nz.tolist() == [100, 580]
        assert y[nz, c] == pytest.approx([0.75 * 2 * v, 0.25 * 2 * v], abs=1e-7)


@need_ladspa
def test_plugin_output_does_not_depend_on_the_block_size(write_patch):
    patch = rc.load_patch(write_patch(CHAIN))
    x = (np.random.default_rng(1).standard_normal((9000, 2)) * 0.1).astype(np.float32)
    outs = []
    for block in (1, 64, 1024):
        with rc.Engine(SR, 1024) as eng:
            eng.load(patch.graph)
            outs.append(eng.render(9000, block=block, input=x))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[1], outs[2])


@need_ladspa
def test_plugin_parameters_are_ordinary_parameters(write_patch):
    patch = rc.load_patch(write_patch(CHAIN))
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, patch, live=False)
        assert s.get_param("amp", "gain") == 2.0
        s.midi([0xB0, 7, 127])                              # CC map: 0..4
        assert s.get_param("amp", "gain") == pytest.approx(4.0)
        s.midi([0xC0, 2])                                   # snapshot "quiet"
        assert s.get_param("amp", "gain") == 0.5
        eng.render(2048)
        y = eng.render(4800, block=128, input=impulse())
        assert y[100, 0] == pytest.approx(0.75 * 0.5 * 0.5, abs=1e-6)
        from rtcore.osc.namespace import namespace_json
        from rtcore.osc.addresses import ADDRESSES
        ns = json.loads(namespace_json(s, ADDRESSES, "amp"))
        assert "gain" in json.dumps(ns)
        s.close()


@need_ladspa
def test_hot_reload_keeps_a_plugin_s_state(write_patch):
    path = write_patch(CHAIN.replace("delay = 0.01", "delay = 0.5"))
    with rc.Engine(SR, 1024) as eng:
        s = Session(eng, rc.load_patch(path), live=False)
        y1 = eng.render(4800, block=128, input=impulse())          # the echo comes 0.5 s later
        path.write_text(path.read_text().replace("dry_wet_balance = 0.25", "dry_wet_balance = 0.5"))
        s.load()                                                    # float change: the state is kept
        assert eng.kept.get("echo") == "echo"
        y2 = eng.render(SR, block=128)
        echo_at = 24000 + 100 - 4800
        assert abs(y2[echo_at, 0]) > 0.2                            # the delay line survived the swap
        assert np.abs(y1[200:, 0]).max() < 1e-9
        s.close()


@need_lv2
def test_lv2_effect_and_instrument(write_patch):
    text = f"""
[engine]
limiter = false
[[node]]
name = "piano"
type = "lv2"
uri = "{EPIANO}"
channel = 1
[[node]]
name = "amp"
type = "lv2"
uri = "{EG_AMP}"
gain = -20.0           # dB
[[connect]]
from = "piano"
to = "amp"
"""
    patch = rc.load_patch(write_patch(text))
    amp_type = node_types()[patch.graph.nodes[1].type]
    assert amp_type.param("gain").unit == "dB" and amp_type.is_instrument is False
    piano_type = node_types()[patch.graph.nodes[0].type]
    assert piano_type.is_instrument and piano_type.param("polyphonic").kind == "bool"
    events = [rc.Event.note_on(69, 100, 1, 4800), rc.Event.note_off(69, 1, 4800 + 24000),
              rc.Event.note_on(81, 100, 2, 40000)]                  # channel 2: not for this piano
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        y = eng.render_events(events, 60000, block=100)
    onset = int(np.flatnonzero(np.abs(y[:, 0]) > 1e-6)[0])
    assert onset == 4800                                            # the note's own sample
    seg = y[7200:16800, 0].astype(np.float64)
    mag = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    assert np.argmax(mag) * SR / len(seg) == pytest.approx(440.0, abs=5.1)
    with rc.Engine(SR, 1024) as eng:                                # the amp: -20 dB exactly
        eng.load(rc.GraphSpec(nodes=[rc.NodeSpec("src", "input"), rc.NodeSpec("amp", amp_type.name, {"gain": -20.0})],
                              connections=[("src", "amp")], master={"enabled": 0.0}))
        z = eng.render(4800, block=128, input=impulse())
    assert z[100, 0] == pytest.approx(0.05, rel=1e-5) and z[100, 1] == pytest.approx(-0.025, rel=1e-5)


@need_ladspa
@pytest.mark.parametrize("keys, words", [
    ('plugin = "cmtt.so"\nlabel = "amp_mono"', ["no LADSPA library 'cmtt.so'", "did you mean 'cmt.so'"]),
    ('plugin = "cmt.so"\nlabel = "amp_mon"', ["has no plugin labelled 'amp_mon'", "did you mean 'amp_mono'",
                                            "delay_5s (1056)"]),
    ('plugin = "cmt.so"\nid = 999999', ["has no plugin with id 999999"]),
    ('plugin = "cmt.so"', ["give the plugin's 'label'"]),
    ('label = "amp_mono"', ["missing key 'plugin'"]),
    ('plugin = "cmt.so"\nlabel = "amp_mono"\nuri = "x"', ["key 'uri' is for an LV2 plugin"]),
    ('plugin = "cmt.so"\nlabel = "amp_mono"\ngian = 2', ["unknown key 'gian'", "did you mean 'gain'"]),
    ('plugin = "cmt.so"\nlabel = "amp_mono"\ngain = -1', ["key 'gain' must be within 0..1e+06"]),
])
def test_bad_ladspa_nodes_name_what_is_wrong(write_patch, keys, words):
    with pytest.raises(PatchError) as ei:
        rc.load_patch(write_patch(f'[[node]]\nname = "fx"\ntype = "ladspa"\n{keys}\n'))
    text = str(ei.value)
    assert "\n" not in text and "[[node]] 'fx'" in text
    for w in words:
        assert w in text, text


@need_lv2
def test_bad_lv2_uris_list_near_matches_and_unsupported_features(write_patch):
    with pytest.raises(PatchError) as ei:
        rc.load_patch(write_patch('[[node]]\nname = "fx"\ntype = "lv2"\nuri = "http://lv2plug.in/plugins/eg-amps"\n'))
    assert "no LV2 plugin <http://lv2plug.in/plugins/eg-amps> is installed" in str(ei.value)
    assert f"did you mean '{EG_AMP}'" in str(ei.value)
    if _has_lv2("http://lv2plug.in/plugins/eg-sampler"):      # needs the worker extension
        with pytest.raises(PatchError, match="requires .*http://lv2plug.in/ns/ext/worker#schedule.*which rtcore does not provide"):
            rc.load_patch(write_patch('[[node]]\nname = "s"\ntype = "lv2"\nuri = "http://lv2plug.in/plugins/eg-sampler"\n'))


@pytest.fixture(scope="module")
def nan_plugin_dir(tmp_path_factory):
    if shutil.which("gcc") is None or not Path("/usr/include/ladspa.h").exists():
        pytest.skip("gcc and ladspa.h (ladspa-sdk) are needed to build the test plugin")
    d = tmp_path_factory.mktemp("ladspa")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(d / "nan_ladspa.so"),
                    str(ROOT / "tests" / "fixtures" / "nan_ladspa.c")], check=True)
    return d


def test_a_plugin_that_outputs_nan_is_muted_and_reported(nan_plugin_dir, write_patch, monkeypatch):
    monkeypatch.setenv("LADSPA_PATH", str(nan_plugin_dir))
    patch = rc.load_patch(write_patch("""
[engine]
limiter = false
[[node]]
name = "tone"
type = "tone"
freq = 1000
level = -12
[[node]]
name = "bad"
type = "ladspa"
plugin = "nan_ladspa.so"
label = "nan_after_poison"
[[node]]
name = "voice"
type = "tone"
freq = 500
level = -6
[[connect]]
from = "tone"
to = "bad"
"""))
    with rc.Engine(SR, 1024) as eng:
        session = Session(eng, patch, live=False)
        logs: list[str] = []
        session.add_log_listener(logs.append)
        session.start()
        before = eng.render(4800, block=128)
        assert eng.stats().plugins_muted == 0 and eng.muted_nodes() == []
        eng.set_param("bad", "poison", True)
        after = eng.render(9600, block=128)
        deadline = time.monotonic() + 5
        while not logs and time.monotonic() < deadline:
            time.sleep(0.02)
        session.close()
        assert logs == ["plugin node 'bad' output NaN/Inf and was muted (the rest plays on; reload the patch "
                        "to bring it back)"]
        st = eng.stats()
        assert st.plugins_muted == 1 and eng.muted_nodes() == ["bad"]
        import io

        from rich.console import Console

        from rtcore.status import status_renderable
        screen = Console(file=io.StringIO(), width=140, record=True)
        screen.print(status_renderable(session))
        assert "MUTED (NaN/Inf)" in screen.export_text()            # the status screen says so
        assert np.isfinite(after).all() and st.nonfinite_blocks == 0      # the mix was never poisoned
        eng.set_param("bad", "poison", False)
        later = eng.render(4800, block=128)
    a, b = 10 ** (-12 / 20), 10 ** (-6 / 20)             # the two tones' peaks

    def rms(y):
        return float(np.sqrt(np.mean(y[:, 0].astype(np.float64) ** 2)))
    assert rms(before[480:]) == pytest.approx(np.sqrt((a * a + b * b) / 2), rel=2e-3)
    # the 500 Hz voice plays on alone: only the muted plugin's part is gone, for good
    for y in (after[4800:], later):
        assert rms(y) == pytest.approx(b / np.sqrt(2), rel=2e-3)


def test_plugin_types_stay_out_of_the_built_in_node_list():
    from rtcore.docs import node_tables
    assert "ladspa:" not in node_tables() and "lv2:" not in node_tables()


@need_ladspa
def test_rtcore_plugins_lists_and_describes(capsys):
    from rtcore.cli import main
    assert main(["plugins", "--format", "ladspa", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    amp = next(p for p in listing if p["label"] == "amp_mono" and p["where"].endswith("cmt.so"))
    assert amp["id"] == 1067 and amp["audio_in"] == 1 and amp["hostable"]
    assert [q["name"] for q in amp["params"]] == ["gain"]
    assert amp["patch"] == {"type": "ladspa", "plugin": "cmt.so", "label": "amp_mono"}
    assert main(["plugins", "--format", "ladspa"]) == 0
    text = capsys.readouterr().out
    assert "amp_mono" in text and "cmt.so" in text


@need_ladspa
@need_lv2
def test_bench_plugins_smoke(tmp_path):
    """benchmarks/bench_plugins.py runs on a second of audio and writes its keys (timings are
    measured there, never asserted here); its peer's output equals rtcore's."""
    import os
    import sys

    out = tmp_path / "plugins.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_plugins.py"), "--json", str(out),
                        "--seconds", "1", "--runs", "1"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    figures = json.loads(out.read_text())
    for key in ("ladspa_overhead_ratio", "ladspa_mono_overhead_ratio", "rtf_lv2_chain"):
        assert figures[key] > 0
    if shutil.which("lv2apply"):
        assert figures["overdrive_max_diff"] == 0.0          # lilv's own host gives the same samples


@need_ladspa
@need_lv2
def test_the_shipped_plugins_patch_plays(patches_dir):
    if not Path("/usr/lib/ladspa/tap_echo.so").exists():
        pytest.skip("tap-plugins is not installed")
    patch = rc.load_patch(patches_dir / "plugins.toml")
    events = [rc.Event.note_on(60, 100, 1, 0), rc.Event.note_off(60, 1, SR // 2)]
    with rc.Engine(SR, 1024) as eng:
        eng.load(patch.graph)
        y = eng.render_events(events, SR, block=128)
        s = Session(eng, patch, live=False, load=False)
        s.recall("dry")                                     # snapshots reach the LADSPA echo's levels
        assert s.get_param("echo", "l_echo_level") == -70
    assert np.isfinite(y).all() and 0.05 < np.abs(y).max() <= 1.0
