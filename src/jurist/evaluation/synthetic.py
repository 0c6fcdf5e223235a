"""A seeded synthetic judge whose chance of agreeing with the human is a known function of its confidence.

Each item has a raw confidence signal s ~ Uniform(0, 1) and agrees with the human with probability
``truth(s) = floor + (1 − floor)·s^power``: increasing in s, so the signal ranks items correctly, but not
a probability (s itself is over- or under-confident). Because ``truth`` is known, the agreement of any
threshold rule on the whole population is exact, which is what the guarantee check compares with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SyntheticJudge:
    floor: float = 0.5
    power: float = 1.0

    def truth(self, signal: Floats) -> Floats:
        return np.asarray(self.floor + (1 - self.floor) * signal**self.power, dtype=np.float64)

    def draw(self, n: int, seed: int) -> tuple[Floats, Bools]:
        """``n`` items: (signal, agreed)."""
        rng = np.random.default_rng(seed)
        signal = rng.random(n)
        return signal, rng.random(n) < self.truth(signal)

    def agreement_above(self, threshold: float) -> float:
        """Exact P(agree | s ≥ threshold) on the population."""
        t = min(max(threshold, 0.0), 1.0)
        if t >= 1.0:
            return 1.0
        k = self.power + 1
        mean_power = (1 - t**k) / (k * (1 - t))  # E[s^power | s ≥ t]
        return float(self.floor + (1 - self.floor) * mean_power)

    def oracle_threshold(self, target: float) -> float | None:
        """The most lenient threshold whose population agreement reaches ``target`` (None: none does)."""
        if self.agreement_above(0.0) >= target:
            return 0.0
        low, high = 0.0, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            if self.agreement_above(mid) >= target:
                high = mid
            else:
                low = mid
        return high if self.agreement_above(high) >= target else None


@dataclass(frozen=True)
class SyntheticPair:
    """Two judges on the same items, a cheap one and a strong one, correlated through item difficulty.

    Each item has an ease u ~ U(0, 1) (1 − difficulty). The cheap judge's signal is u with probability
    ``cheap_share``, else an independent U(0, 1) draw; the strong judge's likewise with ``strong_share``
    (so both signals are U(0, 1) and their correlation is ``cheap_share · strong_share``). Given its
    signal, each judge agrees with the human independently with probability ``floor + slope · signal``
    (cheap 0.5 + 0.35·s, strong 0.6 + 0.4·s' by default). Items the cheap judge is unsure of are harder on
    average, so the strong judge agrees less often on the items a cascade escalates to it than on all.
    """

    cheap_floor: float = 0.5
    cheap_slope: float = 0.35
    strong_floor: float = 0.6
    strong_slope: float = 0.4
    cheap_share: float = 0.5
    strong_share: float = 0.8

    def draw(self, n: int, seed: int) -> tuple[Floats, Bools]:
        """``n`` items: signal and agreed, each of shape (2, n), row 0 the cheap judge, row 1 the strong."""
        rng = np.random.default_rng(seed)
        ease = rng.random(n)
        signal = np.empty((2, n), dtype=np.float64)
        for row, share in enumerate((self.cheap_share, self.strong_share)):
            signal[row] = np.where(rng.random(n) < share, ease, rng.random(n))
        return signal, rng.random((2, n)) < self.truth(signal)

    def truth(self, signal: Floats) -> Floats:
        """P(agree) of each judge given its signal, shape (2, n)."""
        return np.stack(
            [
                self.cheap_floor + self.cheap_slope * signal[0],
                self.strong_floor + self.strong_slope * signal[1],
            ]
        )
