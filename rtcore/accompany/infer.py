"""The AI step model run by rtcore's C core through ONNX Runtime's C API (csrc/infer.c).

The C side dlopens ``libonnxruntime.so.*`` from the onnxruntime wheel (:func:`ort_library_path`);
the same code path is what the engine's inference thread uses, so these wrappers exist for tests,
benchmarks and offline generation.

    with Model("models/chorale.onnx") as m:
        state = m.zero_state()
        logits, state = m.step(melody, beat, prev, state)
        token, rng = sample_token(logits[0], temperature=0.9, top_k=8, rng_state=rng)
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .._native import ffi, lib
from ..errors import ModelError, ModelNotFoundError, RtCoreError, check
from .tokens import VOCAB, VOICES

_ERR_LEN = 512
_MODEL_ERRORS: dict[int, type[RtCoreError]] = {
    lib.RT_ERR_NOT_FOUND: ModelNotFoundError,
    lib.RT_ERR_FORMAT: ModelError,
    lib.RT_ERR_STATE: ModelError,
}
_init_lock = threading.Lock()
_initialized = False


def ort_library_path() -> Path:
    """``libonnxruntime.so.<version>`` shipped in the onnxruntime wheel (onnxruntime/capi/)."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"onnxruntime is not installed (pip install onnxruntime): {exc}") from exc
    capi = Path(onnxruntime.__file__).resolve().parent / "capi"
    libs = sorted(capi.glob("libonnxruntime.so*"), key=lambda p: len(p.name), reverse=True)
    if not libs:
        raise ModelNotFoundError(
            f"{capi}: the onnxruntime wheel has no libonnxruntime.so* (a build without the shared "
            "library?); rtcore's C inference needs it")
    return libs[0]


def ort_init(library: str | os.PathLike[str] | None = None) -> None:
    """Load ONNX Runtime into the C core once per process (later calls do nothing)."""
    global _initialized
    with _init_lock:
        if _initialized:
            return
        path = str(library if library is not None else ort_library_path())
        err = ffi.new("char[]", _ERR_LEN)
        rc = lib.rt_ort_init(path.encode(), err, _ERR_LEN)
        check(rc, f"load ONNX Runtime {path}", detail=ffi.string(err).decode(), classes=_MODEL_ERRORS)
        _initialized = True


class Model:
    """An ONNX step model (the contract in csrc/rtcore.h) opened by the C core. One thread at a time."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        ort_init()
        self.path = str(path)
        err = ffi.new("char[]", _ERR_LEN)
        out = ffi.new("rt_model_t **")
        rc = lib.rt_model_open(self.path.encode(), out, err, _ERR_LEN)
        check(rc, f"open model {self.path}", detail=ffi.string(err).decode(), classes=_MODEL_ERRORS)
        self._m = ffi.gc(out[0], lib.rt_model_close)
        self.state_size: int = lib.rt_model_state_size(self._m)
        self._logits = np.zeros((VOICES, VOCAB), np.float32)
        self._prev = ffi.new("int[]", VOICES)

    def _handle(self):
        if self._m is None:
            raise ModelError(f"{self.path}: model is closed")
        return self._m

    def zero_state(self) -> np.ndarray:
        return np.zeros(self.state_size, np.float32)

    def step(self, melody: int, beat: int, prev: Sequence[int],
             state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One step: returns (logits float32 [VOICES, VOCAB], new state float32 [state_size])."""
        m = self._handle()
        st = self.zero_state() if state is None else np.ascontiguousarray(state, np.float32).ravel()
        if st.size != self.state_size:
            raise ModelError(f"{self.path}: state has {st.size} floats, the model needs {self.state_size}")
        if len(prev) != VOICES:
            raise ModelError(f"{self.path}: prev needs {VOICES} tokens (alto, tenor, bass), got {len(prev)}")
        for i, t in enumerate(prev):
            self._prev[i] = int(t)
        logits = np.empty((VOICES, VOCAB), np.float32)
        new_state = np.empty(self.state_size, np.float32)
        rc = lib.rt_model_step(m, int(melody), int(beat), self._prev,
                               ffi.from_buffer("float[]", st), ffi.from_buffer("float[]", new_state),
                               ffi.from_buffer("float[]", logits))
        check(rc, f"{self.path}: step (melody {melody}, beat {beat}, prev {list(prev)})")
        return logits, new_state

    def bench(self, steps: int) -> np.ndarray:
        """Time ``steps`` C-side steps (random valid inputs, state carried): float32 µs per step."""
        m = self._handle()
        us = np.zeros(int(steps), np.float32)
        check(lib.rt_model_bench(m, int(steps), ffi.from_buffer("float[]", us)),
              f"{self.path}: bench {steps} steps")
        return us

    def close(self) -> None:
        m, self._m = self._m, None
        if m is not None:
            ffi.gc(m, None)            # detach the finalizer, then close now
            lib.rt_model_close(m)

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_token(logits_row: np.ndarray, temperature: float, top_k: int,
                 rng_state: int) -> tuple[int, int]:
    """Draw a token with the C sampler (softmax at ``temperature``, ``top_k`` <= 0 = all;
    temperature <= 0 = argmax). ``rng_state``: xorshift32 state; returns (token, new state)."""
    row = np.ascontiguousarray(logits_row, np.float32).ravel()
    rng = ffi.new("uint32_t *", int(rng_state) & 0xFFFFFFFF)
    tok = lib.rt_sample_token(ffi.from_buffer("float[]", row), row.size, float(temperature),
                              int(top_k), rng)
    check(tok, f"sample a token from {row.size} logits")
    return tok, int(rng[0])
