"""The token contract shared by the data pipeline, the model, the C engine and the baselines.

Values come from csrc/rtcore.h (RT_AI_*), so Python and C cannot disagree.
One step = one 16th note. Per voice a token is REST, HOLD (the previous note continues) or a
pitch: ``PITCH0 + (midi - PITCH_LO)`` for MIDI notes PITCH_LO..PITCH_HI.
"""
from __future__ import annotations

from .._native import lib

REST: int = lib.RT_AI_REST
HOLD: int = lib.RT_AI_HOLD
PITCH0: int = lib.RT_AI_PITCH0
PITCH_LO: int = lib.RT_AI_PITCH_LO
PITCH_HI: int = lib.RT_AI_PITCH_HI
VOCAB: int = lib.RT_AI_VOCAB
VOICES: int = lib.RT_AI_VOICES          # alto, tenor, bass
BEATS: int = lib.RT_AI_BEATS            # 16ths in a bar
VOICE_NAMES = ("alto", "tenor", "bass")

assert VOCAB == PITCH0 + PITCH_HI - PITCH_LO + 1


def pitch_token(midi: int) -> int:
    """MIDI note -> token (raises ValueError outside PITCH_LO..PITCH_HI)."""
    if not PITCH_LO <= midi <= PITCH_HI:
        raise ValueError(f"MIDI note {midi} is outside the model's range {PITCH_LO}..{PITCH_HI}")
    return PITCH0 + midi - PITCH_LO


def token_pitch(tok: int) -> int | None:
    """Token -> MIDI note, or None for REST/HOLD."""
    return PITCH_LO + tok - PITCH0 if tok >= PITCH0 else None
