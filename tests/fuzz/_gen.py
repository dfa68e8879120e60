"""Plausible values drawn from fuzzer bytes (atheris' FuzzedDataProvider): numbers near a
range's edges, names from a vocabulary with now and then a random one, parameter values that
are mostly right and sometimes wrong in each way a user could get them wrong. Structured fuzzers
use these so that inputs get past the syntax and exercise the semantic checks."""
from __future__ import annotations

import datetime as dt
from typing import Any, Sequence, TypeVar

T = TypeVar("T")

SPECIAL_NUMBERS: tuple[Any, ...] = (0, 1, -1, 0.5, -0.0, 2**31 - 1, 2**31, 2**32, 2**63 - 1, -2**63, 2**64,
                                    10**30, -10**30, 1e308, -1e308, 5e-324, float("nan"), float("inf"),
                                    float("-inf"))
DATES: tuple[Any, ...] = (dt.datetime(1979, 5, 27, 7, 32, tzinfo=dt.timezone.utc), dt.date(2026, 11, 30),
                          dt.time(7, 32), dt.datetime(2000, 1, 1, 0, 0, 0, 999))


class Gen:
    """Draws from ``fdp`` (an ``atheris.FuzzedDataProvider``).

    Mistakes: every place that could be written wrong asks :meth:`wrong`. With ``wrong_at``
    = k only the k-th such place is wrong (an input that is right but for one thing, or right
    throughout when there are fewer places); with ``wrong_at`` None each place is wrong with its
    own small probability (inputs wrong in many places at once)."""

    def __init__(self, fdp, wrong_at: int | None = None) -> None:
        self.fdp = fdp
        self.wrong_at = wrong_at
        self._places = 0

    @classmethod
    def from_fdp(cls, fdp) -> "Gen":
        """One input in four wrong anywhere, the rest wrong in one place at most."""
        k = fdp.ConsumeIntInRange(0, 255)
        return cls(fdp, None if k < 64 else k - 63)

    def wrong(self, one_in: int = 8) -> bool:
        """Should this place be written wrong? (see the class doc)"""
        if self.wrong_at is None:
            return self.chance(one_in)
        self._places += 1
        return self._places == self.wrong_at

    def chance(self, one_in: int) -> bool:
        """True with probability 1/``one_in`` (for an exhausted input: always False)."""
        return self.fdp.ConsumeIntInRange(0, one_in - 1) == 0 if self.fdp.remaining_bytes() else False

    def count(self, hi: int) -> int:
        return self.fdp.ConsumeIntInRange(0, hi)

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.fdp.ConsumeIntInRange(0, len(seq) - 1)]

    def text(self, max_len: int = 12) -> str:
        return self.fdp.ConsumeUnicodeNoSurrogates(self.fdp.ConsumeIntInRange(0, max_len))

    def name(self, vocabulary: Sequence[str]) -> str:
        """A name from ``vocabulary``, or (when :meth:`wrong`) random text."""
        return self.text() if self.wrong() else self.pick(vocabulary)

    def number(self, lo: float, hi: float, integer: bool = False) -> Any:
        """A number in ``lo..hi`` (edges, inside), or (when :meth:`wrong`) just outside it or
        a special value (NaN, inf, huge integers ...)."""
        if self.wrong():
            k = self.fdp.ConsumeIntInRange(0, 5)
            if k == 0:
                return self.pick(SPECIAL_NUMBERS)
            if k == 1:
                return (lo - 1) if integer else lo - abs(lo) * 1e-6 - 1e-9
            if k == 2:
                return (hi + 1) if integer else hi + abs(hi) * 1e-6 + 1e-9
            if k == 3:
                return self.fdp.ConsumeRegularFloat()
            if k == 4:
                return self.fdp.ConsumeInt(4)
            return self.scalar()
        k = self.fdp.ConsumeIntInRange(0, 5)
        if k == 0:
            return int(lo) if integer else lo
        if k == 1:
            return int(hi) if integer else hi
        lo_c, hi_c = max(lo, -1e12), min(hi, 1e12)
        v = self.fdp.ConsumeFloatInRange(lo_c, hi_c) if lo_c <= hi_c else lo
        if integer:
            return min(max(int(round(v)), int(lo)), int(hi))
        return float(round(v)) if k == 2 and lo <= round(v) <= hi else v

    def scalar(self) -> Any:
        k = self.fdp.ConsumeIntInRange(0, 6)
        if k == 0:
            return self.fdp.ConsumeBool()
        if k == 1:
            return self.fdp.ConsumeInt(8)
        if k == 2:
            return self.fdp.ConsumeFloat()
        if k == 3:
            return self.pick(SPECIAL_NUMBERS)
        if k == 4:
            return self.pick(DATES)
        return self.text(24)

    def any_value(self, depth: int = 0) -> Any:
        """Any TOML value: a scalar, or (above depth 2) now and then an array or a table."""
        if depth < 2 and self.chance(6):
            if self.fdp.ConsumeBool():
                return [self.any_value(depth + 1) for _ in range(self.count(3))]
            return {self.text(8): self.any_value(depth + 1) for _ in range(self.count(3))}
        return self.scalar()

    def param_value(self, p) -> Any:
        """A value for parameter ``p`` (a ``rtcore.params.ParamInfo``) of its kind, or (when
        :meth:`wrong`) any value."""
        if self.wrong(16):
            return self.any_value()
        if p.kind == "enum":
            if self.fdp.ConsumeBool():
                return self.name(p.choices)
            return self.number(0, len(p.choices) - 1, integer=True)
        if p.kind == "bool":
            return self.pick((True, False, 0, 1)) if not self.wrong() else self.pick((2, "true", 0.5, -1))
        return self.number(p.min, p.max, integer=p.kind == "int")
