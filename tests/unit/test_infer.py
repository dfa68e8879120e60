"""C inference (csrc/infer.c via rtcore.accompany.infer) against Python onnxruntime, the sampler,
and the model-contract errors."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed (pip install '.[test]')")

import onnxruntime as ort  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ai_models  # noqa: E402

from rtcore._native import lib  # noqa: E402
from rtcore.accompany import tokens  # noqa: E402
from rtcore.accompany.infer import Model, ort_init, ort_library_path, sample_token  # noqa: E402
from rtcore.errors import ModelError, ModelNotFoundError, RtCoreError  # noqa: E402


@pytest.fixture(scope="module")
def gru_path(tmp_path_factory) -> Path:
    return ai_models.make_gru_model(tmp_path_factory.mktemp("ai") / "gru.onnx", layers=2, hidden=48, seed=3)


def test_helper_matches_header():
    assert (ai_models.VOCAB, ai_models.VOICES, ai_models.BEATS) == (tokens.VOCAB, tokens.VOICES, tokens.BEATS)


def test_library_found():
    p = ort_library_path()
    assert p.is_file() and p.name.startswith("libonnxruntime.so")


@pytest.mark.parametrize("layers,hidden", [(1, 64), (2, 48)])
def test_c_logits_match_python(tmp_path, layers, hidden):
    path = ai_models.make_gru_model(tmp_path / "m.onnx", layers=layers, hidden=hidden, seed=layers)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    with Model(path) as m:
        assert m.state_size == layers * hidden
        state = m.zero_state()
        py_state = np.zeros((layers, 1, hidden), np.float32)
        for i in range(300):
            melody, beat = int(rng.integers(tokens.VOCAB)), i % tokens.BEATS
            prev = rng.integers(0, tokens.VOCAB, tokens.VOICES)
            logits, state = m.step(melody, beat, prev, state)
            py_logits, py_state = sess.run(None, {
                "melody": np.array([melody], np.int64), "beat": np.array([beat], np.int64),
                "prev": prev.astype(np.int64), "state": py_state})
            assert logits.shape == (tokens.VOICES, tokens.VOCAB)
            np.testing.assert_allclose(logits, py_logits, atol=1e-5, rtol=0)
            np.testing.assert_allclose(state, py_state.ravel(), atol=1e-5, rtol=0)
        assert np.abs(state).max() > 1e-3          # the state really evolved


def test_state_in_place_and_bench(gru_path):
    with Model(gru_path) as m:
        s1 = m.zero_state()
        l1, s1 = m.step(10, 0, [2, 3, 4], s1)
        l2, s2 = m.step(11, 1, [2, 3, 4], s1)
        l2b, _ = m.step(11, 1, [2, 3, 4], s1)      # same input, same state -> same output
        np.testing.assert_array_equal(l2, l2b)
        assert not np.array_equal(l1, l2)
        us = m.bench(200)
        assert us.shape == (200,) and (us > 0).all() and np.median(us) < 5000


def test_step_rejects_bad_tokens(gru_path):
    with Model(gru_path) as m:
        for melody, beat, prev in [(tokens.VOCAB, 0, [0, 0, 0]), (-1, 0, [0, 0, 0]),
                                   (0, tokens.BEATS, [0, 0, 0]), (0, 0, [0, tokens.VOCAB, 0])]:
            with pytest.raises(RtCoreError):
                m.step(melody, beat, prev, m.zero_state())
        with pytest.raises(ModelError, match="state has 3 floats"):
            m.step(0, 0, [0, 0, 0], np.zeros(3, np.float32))
    with pytest.raises(ModelError, match="closed"):
        m.step(0, 0, [0, 0, 0])


def test_slow_model_is_slow(tmp_path):
    path = ai_models.make_slow_model(tmp_path / "slow.onnx", ms=10)
    with Model(path) as m:
        assert m.state_size == 64
        us = m.bench(10)
    assert 4000 < np.median(us) < 30000, us     # ~10 ms per step, loosely (machine load)


# ---- sampling ---------------------------------------------------------------------------------

def _logits(seed=0, n=tokens.VOCAB):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 2


def test_sample_argmax():
    x = _logits()
    assert sample_token(x, 0.0, 0, 1)[0] == int(np.argmax(x))
    assert sample_token(x, -1.0, 5, 1)[0] == int(np.argmax(x))
    assert sample_token(x, 1e-38, 0, 1)[0] == int(np.argmax(x))     # 1/T would overflow
    assert sample_token(x, 1e-3, 0, 1)[0] == int(np.argmax(x))      # nearly greedy
    for seed in range(1, 20):
        assert sample_token(x, 1.5, 1, seed)[0] == int(np.argmax(x))   # top_k=1 = argmax


def _draws(x, temperature, top_k, seed, count):
    out, rng = [], seed
    for _ in range(count):
        t, rng = sample_token(x, temperature, top_k, rng)
        out.append(t)
    return out


def test_sample_deterministic_per_seed():
    x = _logits(1)
    a = _draws(x, 1.0, 0, 12345, 200)
    assert a == _draws(x, 1.0, 0, 12345, 200)
    assert a != _draws(x, 1.0, 0, 54321, 200)
    assert all(0 <= t < tokens.VOCAB for t in a)


def test_sample_top_k_restricts():
    x = _logits(2)
    best5 = set(np.argsort(-x)[:5].tolist())
    got = set(_draws(x, 3.0, 5, 99, 2000))       # high temperature: all 5 should show up
    assert got == best5


def test_sample_follows_softmax():
    x = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0], np.float32)
    temperature, n = 0.8, 20000
    p = np.exp(x / temperature - np.max(x / temperature))
    p /= p.sum()
    counts = np.bincount(_draws(x, temperature, 0, 7, n), minlength=x.size)
    chi2 = float((((counts - n * p) ** 2) / (n * p)).sum())
    assert chi2 < 30, (counts, n * p)            # 5 dof: p(chi2 > 30) ~ 1e-5


def test_sample_bad_args():
    with pytest.raises(RtCoreError):
        sample_token(np.zeros(0, np.float32), 1.0, 0, 1)


# ---- errors -------------------------------------------------------------------------------------

def _one_line(e: BaseException, path: Path) -> str:
    s = str(e)
    assert "\n" not in s and str(path) in s, s
    return s


def test_missing_model(tmp_path):
    p = tmp_path / "nope.onnx"
    with pytest.raises(ModelNotFoundError) as ei:
        Model(p)
    assert isinstance(ei.value, FileNotFoundError)
    assert "no such model file" in _one_line(ei.value, p)


def test_corrupt_model(tmp_path):
    p = tmp_path / "corrupt.onnx"
    p.write_bytes(b"\x08\x07not a protobuf at all\xff\xfe" * 40)
    with pytest.raises(ModelError) as ei:
        Model(p)
    assert "not a valid ONNX model" in _one_line(ei.value, p)


def test_truncated_model(tmp_path, gru_path):
    p = tmp_path / "truncated.onnx"
    p.write_bytes(gru_path.read_bytes()[:500])
    with pytest.raises(ModelError) as ei:
        Model(p)
    _one_line(ei.value, p)


@pytest.mark.parametrize("kind", sorted(ai_models.BROKEN_KINDS))
def test_contract_violations(tmp_path, kind):
    p, text = ai_models.broken_model(tmp_path / f"{kind}.onnx", kind)
    with pytest.raises(ModelError) as ei:
        Model(p)
    assert ei.value.code == lib.RT_ERR_FORMAT
    assert text in _one_line(ei.value, p)


def test_stub_model_opens(tmp_path):
    with Model(ai_models.make_stub_model(tmp_path / "stub.onnx")) as m:
        assert m.state_size == 8
        logits, state = m.step(0, 0, [0, 0, 0])
        assert not logits.any() and not state.any()


def test_bad_library_path(tmp_path):
    from rtcore._native import ffi

    err = ffi.new("char[]", 256)
    # once ORT is loaded every later call is a no-op (RT_OK), as documented; so check the C
    # function in a child process where nothing is loaded yet
    import subprocess

    code = f"""
import sys
from rtcore._native import ffi, lib
from rtcore.errors import ModelError, ModelNotFoundError
from rtcore.accompany import infer
for path, cls in [({str(tmp_path / 'missing.so')!r}, ModelNotFoundError), ({str(tmp_path / 'fake.so')!r}, ModelError)]:
    try:
        infer.ort_init(path)
    except cls as e:
        assert path in str(e) and '\\n' not in str(e), str(e)
        print(type(e).__name__, e)
    else:
        sys.exit('no error for ' + path)
err = ffi.new('char[]', 256)
rc = lib.rt_model_open(b'/nonexistent.onnx', ffi.new('rt_model_t **'), err, 256)
assert rc == lib.RT_ERR_STATE and b'rt_ort_init' in ffi.string(err), ffi.string(err)
"""
    (tmp_path / "fake.so").write_bytes(b"not an ELF file")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=str(Path(__file__).resolve().parents[2]))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ModelNotFoundError" in r.stdout and "cannot load ONNX Runtime" in r.stdout
    ort_init()
    assert lib.rt_ort_init(b"/whatever", err, 256) == lib.RT_OK   # already loaded here: no-op


def test_bench_ai_smoke(tmp_path):
    """benchmarks/bench_ai.py runs on a few steps and writes every key."""
    import json
    import subprocess

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "ai.json"
    model = ai_models.make_gru_model(tmp_path / "m.onnx", hidden=32)
    r = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_ai.py"), "--json", str(out),
                        "--steps", "300", "--model", str(model), "--render-seconds", "2", "--live-seconds", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    figures = json.loads(out.read_text())
    for key in ("infer_p50_us", "infer_p99_us", "infer_max_us", "infer_steps", "infer_standin",
                "inline_p50_us", "inline_p99_us", "inline_max_us"):
        assert key in figures
    if (root / "models" / "chorale.onnx").exists():
        assert figures["rtf_chorale_ai"] > 0 and figures["render_ai_steps"] > 0
        for key in ("nll_model", "nll_ngram", "note_in_chord_model", "note_in_chord_bach"):
            assert key in figures
    assert figures["infer_steps"] == 300 and figures["infer_standin"] == 0
    assert 0 < figures["infer_p50_us"] <= figures["infer_p99_us"] <= figures["infer_max_us"]


def test_c_step_state_in_place(gru_path):
    """rt_model_step with state_in == state_out (what the engine does) equals separate buffers."""
    from rtcore._native import ffi

    with Model(gru_path) as m:
        n = m.state_size
        prev = ffi.new("int[]", [5, 6, 7])
        shared = ffi.new("float[]", n)
        a_in, a_out = ffi.new("float[]", n), ffi.new("float[]", n)
        la, lb = ffi.new("float[]", tokens.VOICES * tokens.VOCAB), ffi.new("float[]", tokens.VOICES * tokens.VOCAB)
        for i in range(50):
            assert lib.rt_model_step(m._m, i % tokens.VOCAB, i % tokens.BEATS, prev, shared, shared, la) == 0
            assert lib.rt_model_step(m._m, i % tokens.VOCAB, i % tokens.BEATS, prev, a_in, a_out, lb) == 0
            ffi.memmove(a_in, a_out, n * 4)
            assert bytes(ffi.buffer(shared)) == bytes(ffi.buffer(a_in)) and bytes(ffi.buffer(la)) == bytes(ffi.buffer(lb))
        assert lib.rt_model_step(m._m, 0, 0, ffi.NULL, shared, shared, la) == lib.RT_ERR_INVALID
        assert lib.rt_model_state_size(ffi.NULL) == lib.RT_ERR_INVALID
