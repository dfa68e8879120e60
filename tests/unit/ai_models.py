"""ONNX step models for tests and benchmarks, built with onnx.helper (no torch).

All follow the step contract in csrc/rtcore.h unless made broken on purpose:
  inputs  melody int64 [1], beat int64 [1], prev int64 [3], state float [L,1,H]
  outputs logits float [3, VOCAB], state_out float [L,1,H]

    make_gru_model(path, layers=1, hidden=64, seed=0)   embeddings -> GRU layers -> 3 heads
    make_slow_model(path, ms=20)                         same, plus a MatMul chain of ~ms per Run
    make_stub_model(path, inputs=..., outputs=...)       constant outputs; for contract tests
    make_lookup_model(path, table)                       voice tokens looked up from the melody token
    broken_model(path, kind)                             kind in BROKEN_KINDS
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB = 71          # RT_AI_VOCAB (checked against the C header in the tests)
VOICES = 3
BEATS = 16
OPSET = 17
IR_VERSION = 8      # loadable by every onnxruntime >= 1.10

F32, I64 = TensorProto.FLOAT, TensorProto.INT64
CONTRACT_INPUTS = {"melody": (I64, [1]), "beat": (I64, [1]), "prev": (I64, [VOICES])}


def _save(graph: onnx.GraphProto, path: str | Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="rtcore-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _io(layers: int, hidden: int):
    inputs = [helper.make_tensor_value_info(n, t, s) for n, (t, s) in CONTRACT_INPUTS.items()]
    inputs.append(helper.make_tensor_value_info("state", F32, [layers, 1, hidden]))
    outputs = [helper.make_tensor_value_info("logits", F32, [VOICES, VOCAB]),
               helper.make_tensor_value_info("state_out", F32, [layers, 1, hidden])]
    return inputs, outputs


def _gru_graph(layers: int, hidden: int, seed: int, embed: int = 16, slow_links: int = 0,
               slow_size: int = 256):
    """Nodes + initializers of the GRU step model (optionally with a slow MatMul chain)."""
    rng = np.random.default_rng(seed)

    def w(name: str, *shape: int, scale: float | None = None) -> str:
        s = scale if scale is not None else 1.0 / np.sqrt(shape[-2] if len(shape) > 1 else shape[0])
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name))
        return name

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    D, H = embed, hidden
    w("E_mel", VOCAB, D, scale=1.0)
    w("E_beat", BEATS, D, scale=1.0)
    w("E_prev", VOCAB, D, scale=1.0)
    nodes += [
        helper.make_node("Gather", ["E_mel", "melody"], ["e_mel"], axis=0),     # [1, D]
        helper.make_node("Gather", ["E_beat", "beat"], ["e_beat"], axis=0),     # [1, D]
        helper.make_node("Gather", ["E_prev", "prev"], ["e_prev3"], axis=0),    # [3, D]
        helper.make_node("Reshape", ["e_prev3", const("shape_1_3D", np.array([1, VOICES * D], np.int64))],
                         ["e_prev"]),
        helper.make_node("Concat", ["e_mel", "e_beat", "e_prev"], ["x2"], axis=1),   # [1, 5D]
        helper.make_node("Reshape", ["x2", const("shape_1_1_m1", np.array([1, 1, -1], np.int64))], ["x_0"]),
    ]
    in_size = (2 + VOICES) * D
    hs = []
    for layer in range(layers):
        nodes.append(helper.make_node(
            "Slice", ["state", const(f"st{layer}", np.array([layer], np.int64)),
                      const(f"en{layer}", np.array([layer + 1], np.int64)),
                      const(f"ax{layer}", np.array([0], np.int64))], [f"h0_{layer}"]))      # [1,1,H]
        w(f"W{layer}", 1, 3 * H, in_size, scale=1.0 / np.sqrt(in_size))
        w(f"R{layer}", 1, 3 * H, H, scale=1.0 / np.sqrt(H))
        w(f"B{layer}", 1, 6 * H, scale=0.1)
        nodes.append(helper.make_node(
            "GRU", [f"x_{layer}", f"W{layer}", f"R{layer}", f"B{layer}", "", f"h0_{layer}"],
            [f"y_{layer}", f"h_{layer}"], hidden_size=H, linear_before_reset=1))      # Y [1,1,1,H]
        nodes.append(helper.make_node("Reshape", [f"y_{layer}", "shape_1_1_m1"], [f"x_{layer + 1}"]))
        hs.append(f"h_{layer}")
        in_size = H
    if layers > 1:
        nodes.append(helper.make_node("Concat", hs, ["state_out"], axis=0))
    else:
        nodes.append(helper.make_node("Identity", hs, ["state_out"]))
    nodes.append(helper.make_node("Reshape", [f"x_{layers}", const("shape_1_m1", np.array([1, -1], np.int64))],
                                  ["top"]))                                                 # [1, H]
    if slow_links > 0:
        N = slow_size
        w("P_slow", H, N)
        w("W_slow", N, N)
        w("Q_slow", N, H, scale=1e-3)
        nodes += [helper.make_node("MatMul", ["top", "P_slow"], ["s_in"]),
                  helper.make_node("Expand", ["s_in", const("shape_NN", np.array([N, N], np.int64))], ["s_0"])]
        for k in range(slow_links):
            nodes += [helper.make_node("MatMul", [f"s_{k}", "W_slow"], [f"sm_{k}"]),
                      helper.make_node("Tanh", [f"sm_{k}"], [f"s_{k + 1}"])]
        nodes += [helper.make_node("ReduceMean", [f"s_{slow_links}"], ["s_mean"], axes=[0], keepdims=1),
                  helper.make_node("MatMul", ["s_mean", "Q_slow"], ["s_back"]),
                  helper.make_node("Add", ["top", "s_back"], ["top2"])]
        top = "top2"
    else:
        top = "top"
    w("W_out", H, VOICES * VOCAB)
    w("b_out", VOICES * VOCAB, scale=0.1)
    nodes += [helper.make_node("MatMul", [top, "W_out"], ["l_mm"]),
              helper.make_node("Add", ["l_mm", "b_out"], ["l_flat"]),
              helper.make_node("Reshape", ["l_flat", const("shape_logits", np.array([VOICES, VOCAB], np.int64))],
                               ["logits"])]
    return nodes, inits


def make_gru_model(path: str | Path, layers: int = 1, hidden: int = 64, seed: int = 0) -> Path:
    """A random-weight GRU step model satisfying the contract (state [layers, 1, hidden])."""
    nodes, inits = _gru_graph(layers, hidden, seed)
    inputs, outputs = _io(layers, hidden)
    return _save(helper.make_graph(nodes, "gru_step", inputs, outputs, inits), path)


def _time_run(path: Path, runs: int = 5) -> float:
    """Median seconds per Run of a step model with python onnxruntime, one thread, warm."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    shape = [d for d in sess.get_inputs()[[i.name for i in sess.get_inputs()].index("state")].shape]
    feed = {"melody": np.array([5], np.int64), "beat": np.array([0], np.int64),
            "prev": np.array([1, 2, 3], np.int64), "state": np.zeros(shape, np.float32)}
    sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def make_slow_model(path: str | Path, ms: float = 20.0, layers: int = 1, hidden: int = 64,
                    seed: int = 0) -> Path:
    """Contract-conforming but slow: a chain of [256,256] MatMul+Tanh links sized (measured on this
    machine, one thread) so that one Run takes roughly ``ms`` milliseconds."""
    probe_links = 4
    nodes, inits = _gru_graph(layers, hidden, seed, slow_links=probe_links)
    inputs, outputs = _io(layers, hidden)
    path = _save(helper.make_graph(nodes, "slow_step", inputs, outputs, inits), path)
    base = _time_run(make_gru_model(Path(path).with_suffix(".base.onnx"), layers, hidden, seed))
    Path(path).with_suffix(".base.onnx").unlink()
    per_link = max((_time_run(path) - base) / probe_links, 1e-6)
    links = max(1, int(round((ms / 1000.0 - base) / per_link)))
    for _ in range(2):      # build, measure, rescale once
        nodes, inits = _gru_graph(layers, hidden, seed, slow_links=links)
        _save(helper.make_graph(nodes, "slow_step", inputs, outputs, inits), path)
        took = _time_run(path)
        links = max(1, int(round(links * (ms / 1000.0 - base) / max(took - base, 1e-6))))
    return Path(path)


def make_stub_model(path: str | Path, inputs: dict[str, tuple[int, list]] | None = None,
                    outputs: dict[str, tuple[int, list]] | None = None) -> Path:
    """A valid ONNX model whose outputs are constants: declare any inputs/outputs (name ->
    (TensorProto type, shape)); defaults are the contract with L=1, H=8."""
    ins = dict(CONTRACT_INPUTS, state=(F32, [1, 1, 8])) if inputs is None else inputs
    outs = {"logits": (F32, [VOICES, VOCAB]), "state_out": (F32, [1, 1, 8])} if outputs is None else outputs
    np_type = {F32: np.float32, I64: np.int64, TensorProto.INT32: np.int32,
               TensorProto.DOUBLE: np.float64}
    nodes, inits = [], []
    for name, (t, shape) in outs.items():
        value = np.zeros([d if isinstance(d, int) else 1 for d in shape], np_type[t])
        inits.append(numpy_helper.from_array(value, f"c_{name}"))
        nodes.append(helper.make_node("Identity", [f"c_{name}"], [name]))
    graph = helper.make_graph(
        nodes, "stub",
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in ins.items()],
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in outs.items()], inits)
    return _save(graph, path)


def make_lookup_model(path: str | Path, table: dict[int, tuple[int, int, int]], default=(1, 1, 1)) -> Path:
    """A model that plays a fixed answer per melody token: ``table[melody] = (alto, tenor,
    bass)`` tokens (others: ``default``), as logits far apart so any temperature <= 1 with
    top_k = 1 or temperature 0 picks them; the state passes through unchanged (H=8)."""
    logits = np.zeros((VOCAB, VOICES, VOCAB), np.float32)
    for m in range(VOCAB):
        for v, tok in enumerate(table.get(m, default)):
            logits[m, v, tok] = 50.0
    nodes = [helper.make_node("Gather", ["L", "melody"], ["l1"], axis=0),          # [1, 3, VOCAB]
             helper.make_node("Reshape", ["l1", "shape"], ["logits"]),
             helper.make_node("Identity", ["state"], ["state_out"])]
    inits = [numpy_helper.from_array(logits, "L"),
             numpy_helper.from_array(np.array([VOICES, VOCAB], np.int64), "shape")]
    inputs, outputs = _io(1, 8)
    return _save(helper.make_graph(nodes, "lookup", inputs, outputs, inits), path)


def _contract(**changes):
    ins = dict(CONTRACT_INPUTS, state=(F32, [2, 1, 8]))
    outs = {"logits": (F32, [VOICES, VOCAB]), "state_out": (F32, [2, 1, 8])}
    for key, value in changes.items():
        where, name = key.split("__")
        d = ins if where == "in" else outs
        if value is None:
            del d[name]
        elif isinstance(value, str):           # rename
            d[value] = d.pop(name)
        else:
            d[name] = value
    return ins, outs


# kind -> (inputs, outputs, text the error must contain)
BROKEN_KINDS: dict[str, tuple[dict, dict, str]] = {
    "input_name": (*_contract(in__melody="tune"), "'tune'"),
    "missing_input": (*_contract(in__beat=None), "no input 'beat'"),
    "input_shape": (*_contract(in__melody=(I64, [1, 4])), "input 'melody' must be int64 [1] (found int64 [1,4])"),
    "input_dtype": (*_contract(in__melody=(F32, [1])), "input 'melody' must be int64 [1] (found float [1])"),
    "prev_shape": (*_contract(in__prev=(I64, [4])), "input 'prev' must be int64 [3] (found int64 [4])"),
    "state_shape": (*_contract(in__state=(F32, [2, 8])), "input 'state' must be float [L,1,H] (found float [2,8])"),
    "state_dtype": (*_contract(in__state=(TensorProto.DOUBLE, [2, 1, 8])), "input 'state' must be float"),
    "logits_shape": (*_contract(out__logits=(F32, [VOICES, VOCAB - 1])),
                     f"output 'logits' must be float [{VOICES},{VOCAB}] (found float [{VOICES},{VOCAB - 1}])"),
    "state_out_mismatch": (*_contract(out__state_out=(F32, [2, 1, 16])), "output 'state_out' must be float [2,1,8]"),
    "output_name": (*_contract(out__logits="probs"), "'probs'"),
}


def broken_model(path: str | Path, kind: str) -> tuple[Path, str]:
    """A valid ONNX file that breaks the step contract; returns (path, expected message part)."""
    ins, outs, text = BROKEN_KINDS[kind]
    return make_stub_model(path, ins, outs), text
