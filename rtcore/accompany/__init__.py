"""Live AI accompaniment: data (Bach chorales via music21), the causal step model, training,
ONNX export, evaluation and baselines. The token contract is defined once, in csrc/rtcore.h
(RT_AI_*), and read here through :mod:`rtcore.accompany.tokens`."""
