"""Files a patch names must lie in the patch's folder, on RTCORE_PATH (always with rtcore's own
models/ folder) or in a LADSPA folder -- after symlinks and ``..`` -- unless the patch is loaded
with ``allow_any_path`` (``--allow-any-path``); an OSC ``/rtcore/patch/load`` may only load
patches from the current patch's folder or RTCORE_PATH. Every refusal is one line naming the
patch, the table, the key, the file and how to allow it, and comes before the file is opened."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import rtcore as rc
from rtcore.allowed_paths import PROJECT_MODELS_DIR, check_patch_file, rtcore_path
from rtcore.cli import main
from rtcore.errors import PathNotAllowedError
from rtcore.osc import OscServer, wire
from rtcore.patch import load_patch
from rtcore.plugins import ladspa_path
from rtcore.session import Session

ROOT = Path(__file__).resolve().parents[2]
CMT = next((f / "cmt.so" for f in ladspa_path() if (f / "cmt.so").is_file()), None)

AI = '[[node]]\nname = "harm"\ntype = "ai"\nmodel = "{model}"\nto = "choir"\n[[node]]\nname = "choir"\ntype = "synth"\n'
SAMPLER = '[[node]]\nname = "kit"\ntype = "sampler"\n[[node.sample]]\nfile = "{file}"\nnote = 36\n'
LADSPA = '[[node]]\nname = "fx"\ntype = "ladspa"\nplugin = "{plugin}"\nlabel = "amp_mono"\n'
KEYS = '[[node]]\nname = "keys"\ntype = "synth"\n'


@pytest.fixture(autouse=True)
def default_paths(monkeypatch):
    """RTCORE_PATH unset and the default LADSPA folders, whatever the caller's environment says."""
    monkeypatch.delenv("RTCORE_PATH", raising=False)
    monkeypatch.delenv("LADSPA_PATH", raising=False)


@pytest.fixture
def gig(tmp_path) -> Path:
    """The patch's folder."""
    d = tmp_path / "gig"
    d.mkdir()
    return d


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder outside every allowed one, with a model and a WAV in it."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "m.onnx").write_bytes(b"not checked by load_patch; the engine opens it")
    sf.write(str(d / "kick.wav"), np.zeros(64, np.float32), 48000)
    return d


def refused(path: Path, *expect: str, **kwargs) -> str:
    with pytest.raises(PathNotAllowedError) as info:
        load_patch(path, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    assert "RTCORE_PATH" in msg and "--allow-any-path" in msg
    for e in expect:
        assert e in msg, msg
    return msg


# ---- refusals -----------------------------------------------------------------------------------
def test_a_model_outside_the_allowed_folders_is_refused(gig, elsewhere):
    p = gig / "p.toml"
    p.write_text(AI.format(model=elsewhere / "m.onnx"))
    refused(p, "[[node]] 'harm'", "key 'model'", str(elsewhere / "m.onnx"), f"the patch's folder {gig}",
            f"RTCORE_PATH (unset) + rtcore's models folder {PROJECT_MODELS_DIR}")
    assert load_patch(p, allow_any_path=True).graph.node("harm").config["model"] == str(elsewhere / "m.onnx")


def test_dotdot_does_not_escape(gig, elsewhere):
    p = gig / "p.toml"
    p.write_text(AI.format(model="../elsewhere/m.onnx"))
    refused(p, "key 'model'", str(elsewhere / "m.onnx"))
    p.write_text(SAMPLER.format(file="sub/../../elsewhere/kick.wav"))
    refused(p, "[[node]] 'kit' [[node.sample]] #1", "key 'file'", str(elsewhere / "kick.wav"))
    sibling = gig.parent / (gig.name + "-evil")                      # a name that merely starts like the folder
    sibling.mkdir()
    (sibling / "m.onnx").write_bytes(b"x")
    p.write_text(AI.format(model=f"../{sibling.name}/m.onnx"))
    refused(p, "key 'model'", str(sibling / "m.onnx"))


def test_a_symlink_is_judged_by_where_it_leads(gig, elsewhere):
    (gig / "m.onnx").symlink_to(elsewhere / "m.onnx")
    (gig / "real.onnx").write_bytes(b"x")
    (gig / "alias.onnx").symlink_to(gig / "real.onnx")
    p = gig / "p.toml"
    p.write_text(AI.format(model="m.onnx"))
    refused(p, "key 'model'", str(elsewhere / "m.onnx"))
    p.write_text(AI.format(model="alias.onnx"))                     # a link that stays inside is fine
    assert load_patch(p).graph.node("harm").config["model"] == str(gig / "real.onnx")
    (gig / "linked").symlink_to(elsewhere, target_is_directory=True)  # so is a linked folder leading out
    p.write_text(SAMPLER.format(file="linked/kick.wav"))
    refused(p, "key 'file'", str(elsewhere / "kick.wav"))


def test_a_missing_file_outside_is_refused_not_reported_missing(gig, tmp_path):
    """The refusal comes before any look at the file: it tells nothing about what exists there."""
    p = gig / "p.toml"
    p.write_text(AI.format(model="/etc/no-such-model.onnx"))
    refused(p, "/etc/no-such-model.onnx")
    p.write_text(AI.format(model="nope.onnx"))                      # inside: the usual error
    with pytest.raises(rc.PatchError, match="nope.onnx does not exist") as info:
        load_patch(p)
    assert not isinstance(info.value, PathNotAllowedError)


def test_a_sample_outside_is_refused(gig, elsewhere):
    p = gig / "p.toml"
    p.write_text(SAMPLER.format(file=elsewhere / "kick.wav"))
    refused(p, "[[node]] 'kit' [[node.sample]] #1", "key 'file'", str(elsewhere / "kick.wav"))
    zone = load_patch(p, allow_any_path=True).graph.node("kit").samples[0]
    assert zone.source == str(elsewhere / "kick.wav") and zone.data.shape == (64, 1)


def test_a_ladspa_library_given_as_a_path_outside_is_refused_before_it_is_loaded(gig, elsewhere):
    evil = elsewhere / "evil.so"
    evil.write_text("not a library: loading it would fail with another error")
    p = gig / "p.toml"
    p.write_text(LADSPA.format(plugin=evil))
    refused(p, "[[node]] 'fx'", "key 'plugin'", str(evil), "LADSPA folders")
    p.write_text(LADSPA.format(plugin="../elsewhere/evil.so"))
    refused(p, "key 'plugin'", str(evil))
    with pytest.raises(rc.RtCoreError) as info:                     # allowed: now it is really opened
        load_patch(p, allow_any_path=True)
    assert not isinstance(info.value, PathNotAllowedError) and "evil.so" in str(info.value)


@pytest.mark.skipif(CMT is None, reason="cmt LADSPA plugins not installed")
def test_ladspa_libraries_in_the_ladspa_folders_or_the_patch_folder_are_allowed(gig, elsewhere):
    p = gig / "p.toml"
    p.write_text(LADSPA.format(plugin=CMT))                         # an absolute path in a LADSPA folder
    assert load_patch(p).graph.node("fx").type.endswith(":amp_mono")
    shutil.copy(CMT, gig / "mycmt.so")
    p.write_text(LADSPA.format(plugin="./mycmt.so"))                # shipped next to the patch
    assert str(gig / "mycmt.so") in load_patch(p).graph.node("fx").type
    shutil.copy(CMT, elsewhere / "cmt_copy.so")
    p.write_text(LADSPA.format(plugin=elsewhere / "cmt_copy.so"))
    refused(p, "key 'plugin'")
    assert str(elsewhere / "cmt_copy.so") in load_patch(p, allow_any_path=True).graph.node("fx").type


def test_a_midi_learn_sidecar_linking_out_is_refused(gig, elsewhere):
    (elsewhere / "maps.toml").write_text('[[midi.cc]]\ncc = 21\nto = "keys.cutoff"\n')
    p = gig / "keys.toml"
    p.write_text(KEYS)
    (gig / "keys.learn.toml").symlink_to(elsewhere / "maps.toml")
    refused(p, "MIDI-learn sidecar keys.learn.toml", str(elsewhere / "maps.toml"))
    assert [m.cc for m in load_patch(p, allow_any_path=True).cc_maps] == [21]
    (gig / "keys.learn.toml").unlink()
    (gig / "keys.learn.toml").write_text('[[midi.cc]]\ncc = 22\nto = "keys.cutoff"\n')   # the normal case
    assert [m.cc for m in load_patch(p).cc_maps] == [22]


# ---- what is allowed -------------------------------------------------------------------------------
def test_rtcore_path_allows_its_folders(gig, elsewhere, tmp_path, monkeypatch):
    p = gig / "p.toml"
    p.write_text(AI.format(model=elsewhere / "m.onnx"))
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("RTCORE_PATH", f"{other}::~/nowhere-{id(p)}:{elsewhere}")     # empty entries are skipped
    assert load_patch(p).graph.node("harm").config["model"] == str(elsewhere / "m.onnx")
    assert rtcore_path() == [other, Path(f"~/nowhere-{id(p)}").expanduser(), elsewhere, PROJECT_MODELS_DIR]
    monkeypatch.setenv("RTCORE_PATH", str(other))
    refused(p, f"RTCORE_PATH {other} + rtcore's models folder {PROJECT_MODELS_DIR}")


def test_the_project_models_folder_is_always_allowed(gig, monkeypatch):
    model = PROJECT_MODELS_DIR / "chorale.onnx"
    p = gig / "p.toml"
    p.write_text(AI.format(model=model))
    monkeypatch.setenv("RTCORE_PATH", str(gig))                     # set to something else: models/ still counts
    assert check_patch_file(model, gig) == model.resolve()
    if model.is_file():
        assert load_patch(p).graph.node("harm").config["model"] == str(model.resolve())


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "patches").glob("*.toml")))
def test_every_shipped_patch_loads_without_the_flag(name):
    if name == "chorale.toml" and not (PROJECT_MODELS_DIR / "chorale.onnx").is_file():
        pytest.skip("models/chorale.onnx is not built")
    if name == "plugins.toml" and CMT is None:
        pytest.skip("LADSPA/LV2 plugins not installed")
    load_patch(ROOT / "patches" / name)


def test_reloads_keep_the_flag_the_patch_was_loaded_with(gig, elsewhere):
    p = gig / "p.toml"
    p.write_text(SAMPLER.format(file=elsewhere / "kick.wav"))
    with rc.Engine(48000, 1024) as eng:
        session = Session(eng, load_patch(p, allow_any_path=True), live=False)
        assert session.load().allow_any_path                         # --watch / OSC reload: still allowed
        session.patch = load_patch(gig / "p.toml", allow_any_path=True)
        session.patch.allow_any_path = False                         # as if loaded without the flag
        with pytest.raises(PathNotAllowedError, match="key 'file'"):
            session.load()
        session.close()


# ---- the command line ---------------------------------------------------------------------------------
def test_check_and_render_refuse_then_accept_with_the_flag(gig, elsewhere, capsys, tmp_path):
    p = gig / "p.toml"
    p.write_text(SAMPLER.format(file=elsewhere / "kick.wav"))
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rtcore: error: ") and "\n" not in err and "--allow-any-path" in err
    assert main(["check", "--allow-any-path", str(p)]) == 0
    assert main(["render", str(p), "--seconds", "0.1", "--out", str(tmp_path / "o.wav"), "--no-progress"]) == 2
    assert "key 'file'" in capsys.readouterr().err
    assert main(["render", str(p), "--seconds", "0.1", "--out", str(tmp_path / "o.wav"), "--no-progress",
                 "--allow-any-path"]) == 0
    assert (tmp_path / "o.wav").is_file()


def test_play_refuses_before_opening_anything(gig, elsewhere, capsys):
    p = gig / "p.toml"
    p.write_text(SAMPLER.format(file=elsewhere / "kick.wav"))
    assert main(["play", str(p), "--no-midi", "--no-osc", "--device", "no-such-device-anywhere"]) == 2
    err = capsys.readouterr().err                                    # the patch fails first, not the device
    assert "key 'file'" in err and "--allow-any-path" in err and "device" not in err


# ---- OSC /rtcore/patch/load ------------------------------------------------------------------------------
class OscRig:
    def __init__(self, patch: Path) -> None:
        self.engine = rc.Engine(48000, 1024)
        self.session = Session(self.engine, load_patch(patch), live=False)
        self.server = OscServer(self.session, port=0).start()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)

    def ask(self, address: str, *args) -> wire.Message:
        self.sock.sendto(wire.build(address, *args), self.server.address)
        return wire.parse_message(self.sock.recv(65536))

    def close(self) -> None:
        self.server.close()
        self.session.close()
        self.engine.close()
        self.sock.close()


@pytest.fixture
def osc(gig):
    (gig / "p.toml").write_text(KEYS)
    rig = OscRig(gig / "p.toml")
    yield rig
    rig.close()


def test_osc_patch_load_outside_the_folder_is_refused(osc, gig, elsewhere):
    (elsewhere / "other.toml").write_text('[[node]]\nname = "hall"\ntype = "reverb"\n')
    for path in (str(elsewhere / "other.toml"), "../elsewhere/other.toml", "/etc/does-not-exist.toml"):
        m = osc.ask("/rtcore/patch/load", path)
        assert m.address == "/rtcore/error" and m.args[0] == "/rtcore/patch/load", m
        assert "outside the current patch's folder" in m.args[1] and "RTCORE_PATH" in m.args[1]
        assert "no such patch file" not in m.args[1]                 # nothing said about what exists
    assert list(osc.session.nodes()) == ["master", "keys"]          # the old patch plays on
    (gig / "link.toml").symlink_to(elsewhere / "other.toml")
    assert osc.ask("/rtcore/patch/load", "link.toml").address == "/rtcore/error"


def test_osc_patch_load_inside_the_folder_or_rtcore_path(osc, gig, elsewhere, monkeypatch):
    (gig / "next.toml").write_text('[[node]]\nname = "pad"\ntype = "synth"\n')
    m = osc.ask("/rtcore/patch/load", "next.toml")
    assert m.address == "/rtcore/reply" and m.args[1] == str(gig / "next.toml") and "pad" in osc.session.nodes()
    (elsewhere / "other.toml").write_text('[[node]]\nname = "hall"\ntype = "reverb"\n')
    monkeypatch.setenv("RTCORE_PATH", str(elsewhere))
    m = osc.ask("/rtcore/patch/load", str(elsewhere / "other.toml"))
    assert m.address == "/rtcore/reply" and "hall" in osc.session.nodes()


def test_osc_loaded_patches_are_checked_like_any_other(osc, gig, elsewhere):
    (gig / "sneaky.toml").write_text(SAMPLER.format(file=elsewhere / "kick.wav"))
    m = osc.ask("/rtcore/patch/load", "sneaky.toml")
    assert m.address == "/rtcore/error" and "key 'file'" in m.args[1] and str(elsewhere / "kick.wav") in m.args[1]
    assert "keys" in osc.session.nodes()
